//! The table of what kube-apiserver's OpenAPI carries on the built-in types
//! beyond k8s-openapi's schemas, kept as data in `extensions.json`.
//!
//! The table was taken from the Kubernetes 1.33 OpenAPI document for the types
//! kapi serves and the types they reference. Per definition name it may hold:
//!
//! - `set`: keys set on the definition itself (`x-kubernetes-map-type`, a
//!   list kind's `description`);
//! - `properties`: keys set on single properties (`x-kubernetes-list-type`,
//!   `x-kubernetes-list-map-keys`, `x-kubernetes-patch-strategy`,
//!   `x-kubernetes-patch-merge-key`, descriptions of list kinds);
//! - `required`: the `required` list upstream has, where k8s-openapi's differs
//!   (k8s-openapi marks every non-optional Rust field required);
//! - `replace`: the definition's body upstream (everything but its
//!   description), for types with a custom JSON form (`IntOrString`,
//!   `Quantity`, `JSONSchemaPropsOrArray`, …).

use std::sync::LazyLock;

use serde_json::{Map, Value};

static TABLE_JSON: &str = include_str!("extensions.json");

static TABLE: LazyLock<Map<String, Value>> = LazyLock::new(|| {
    // Invariant: extensions.json is part of the crate and a test parses it.
    serde_json::from_str(TABLE_JSON).expect("extensions.json is a JSON object")
});

/// Applies the table's entry for `name` (if any) to its schema.
pub(crate) fn apply(name: &str, schema: &mut Value) {
    let Some(entry) = TABLE.get(name).and_then(Value::as_object) else {
        return;
    };
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(replace) = entry.get("replace").and_then(Value::as_object) {
        let description = object.remove("description");
        object.clear();
        if let Some(description) = description {
            object.insert("description".to_owned(), description);
        }
        for (key, value) in replace {
            object.insert(key.clone(), value.clone());
        }
    }
    if let Some(set) = entry.get("set").and_then(Value::as_object) {
        for (key, value) in set {
            object.insert(key.clone(), value.clone());
        }
    }
    if let Some(required) = entry.get("required").and_then(Value::as_array) {
        if required.is_empty() {
            object.remove("required");
        } else {
            object.insert("required".to_owned(), Value::Array(required.clone()));
        }
    }
    if let Some(properties) = entry.get("properties").and_then(Value::as_object)
        && let Some(schema_properties) = object.get_mut("properties").and_then(Value::as_object_mut)
    {
        for (property, keys) in properties {
            let (Some(target), Some(keys)) = (
                schema_properties
                    .get_mut(property)
                    .and_then(Value::as_object_mut),
                keys.as_object(),
            ) else {
                continue;
            };
            for (key, value) in keys {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn table_parses_and_names_definitions() {
        assert!(TABLE.len() > 40);
        for name in TABLE.keys() {
            assert!(name.starts_with("io.k8s."), "{name}");
        }
    }

    fn check(name: &str, input: Value, expected: Value) {
        let mut schema = input;
        apply(name, &mut schema);
        assert_eq!(schema, expected, "{name}");
    }

    #[test]
    fn applies_entries() {
        check(
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            json!({"type": "object", "properties": {"finalizers": {"type": "array"}}}),
            json!({"type": "object", "properties": {"finalizers": {
                "type": "array",
                "x-kubernetes-list-type": "set",
                "x-kubernetes-patch-strategy": "merge",
            }}}),
        );
        check(
            "io.k8s.api.core.v1.ConfigMap",
            json!({"type": "object", "required": ["metadata"]}),
            json!({"type": "object"}),
        );
        check(
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
            json!({"description": "d", "x-kubernetes-int-or-string": true}),
            json!({"description": "d", "format": "int-or-string",
                   "oneOf": [{"type": "integer"}, {"type": "string"}]}),
        );
        check(
            "io.k8s.not.in.Table",
            json!({"type": "object"}),
            json!({"type": "object"}),
        );
    }
}
