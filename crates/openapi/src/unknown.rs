//! [`unknown_fields`]: the fields of an object its type does not know, as
//! Go's strict JSON decoding into the typed struct reports them (Go:
//! `sigs.k8s.io/json` `UnmarshalStrict`, whose paths join field names with
//! `.`, map keys likewise, and array elements as `[i]`).

use serde_json::{Map, Value};

use crate::schema::{V3_REF_PREFIX, ref_of};
use crate::service::TypeSchema;

/// How deep `$ref`s are followed without reaching an object; beyond it a
/// schema is treated as accepting anything (a guard against reference
/// cycles that do not descend into the value).
const MAX_REF_CHAIN: usize = 32;

/// The paths of the fields of `object` that its type (`schema`) does not
/// know, in the object's key order: `spec.foo`, `metadata.labelz`,
/// `rules[0].verbz`, `data.key.x` for a key of a map of objects.
///
/// Known are: declared `properties`; anything under `additionalProperties`
/// (map values are checked against it), `x-kubernetes-preserve-unknown-fields`,
/// or a schema that declares neither properties nor additional properties
/// (raw JSON, `IntOrString`, `Quantity`, …). `apiVersion` and `kind` are
/// always known at the top. An unknown field's own content is not reported
/// (Go skips its value), and values of the wrong JSON type are not this
/// function's business.
pub fn unknown_fields(schema: &TypeSchema, object: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(root) = schema.schema() else {
        return out;
    };
    if let Value::Object(fields) = object {
        let mut top = fields.clone();
        top.remove("apiVersion");
        top.remove("kind");
        walk(schema, root, &Value::Object(top), "", &mut out, 0);
    }
    out
}

fn resolve<'a>(
    schema: &'a TypeSchema,
    node: &'a Value,
    depth: usize,
) -> Option<&'a Map<String, Value>> {
    let object = node.as_object()?;
    if depth > MAX_REF_CHAIN {
        return None;
    }
    let has_shape =
        object.contains_key("properties") || object.contains_key("additionalProperties");
    if !has_shape && let Some(reference) = ref_of(object) {
        let name = reference.strip_prefix(V3_REF_PREFIX).unwrap_or(reference);
        let target = schema.definitions.get(name)?;
        return resolve(schema, target, depth + 1);
    }
    Some(object)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk(
    schema: &TypeSchema,
    node: &Value,
    value: &Value,
    path: &str,
    out: &mut Vec<String>,
    depth: usize,
) {
    let Some(node) = resolve(schema, node, depth) else {
        return;
    };
    if node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match value {
        Value::Object(fields) => {
            let properties = node.get("properties").and_then(Value::as_object);
            let additional = node.get("additionalProperties");
            match (properties, additional) {
                (Some(properties), _) => {
                    for (key, child) in fields {
                        match properties.get(key) {
                            Some(property) => {
                                walk(schema, property, child, &join(path, key), out, 0)
                            }
                            None => match additional {
                                Some(additional @ Value::Object(_)) => {
                                    walk(schema, additional, child, &join(path, key), out, 0);
                                }
                                Some(Value::Bool(true)) => {}
                                _ => out.push(join(path, key)),
                            },
                        }
                    }
                }
                (None, Some(additional @ Value::Object(_))) => {
                    for (key, child) in fields {
                        walk(schema, additional, child, &join(path, key), out, 0);
                    }
                }
                _ => {}
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = node.get("items").filter(|items| items.is_object()) {
                for (index, item) in items.iter().enumerate() {
                    walk(
                        schema,
                        item_schema,
                        item,
                        &format!("{path}[{index}]"),
                        out,
                        0,
                    );
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::api::rbac::v1::ClusterRole;
    use serde_json::json;

    use super::*;
    use crate::schema;

    fn type_schema<K: schemars::JsonSchema>() -> TypeSchema {
        let (name, definitions) = schema::generate::<K>();
        TypeSchema {
            name,
            definitions: Arc::new(definitions),
        }
    }

    fn check(schema: &TypeSchema, object: Value, expected: &[&str]) {
        assert_eq!(unknown_fields(schema, &object), expected, "{object}");
    }

    #[test]
    fn configmap_fields() {
        let schema = type_schema::<ConfigMap>();
        check(
            &schema,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}),
            &[],
        );
        check(
            &schema,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "datta": {"a": "b"}, "metadata": {"name": "x", "labelz": {}}}),
            &["datta", "metadata.labelz"],
        );
        // A map of strings takes any key; an unknown field's contents are not reported.
        check(
            &schema,
            json!({"data": {"anything": "x"}, "spec": {"foo": 1}}),
            &["spec"],
        );
        // ownerReferences is an array of objects; managedFields' fieldsV1 is raw.
        check(
            &schema,
            json!({"metadata": {
                "ownerReferences": [{"uid": "u", "kind": "K", "name": "n", "apiVersion": "v1", "bogus": 1}],
                "managedFields": [{"fieldsV1": {"f:data": {}}, "manager": "m"}],
                "creationTimestamp": "2024-01-01T00:00:00Z",
            }}),
            &["metadata.ownerReferences[0].bogus"],
        );
        // Values of the wrong type are not unknown fields.
        check(&schema, json!({"data": 3, "metadata": "x"}), &[]);
    }

    #[test]
    fn rbac_rules() {
        let schema = type_schema::<ClusterRole>();
        check(
            &schema,
            json!({"rules": [{"verbs": ["get"]}, {"verbz": ["get"], "apiGroups": [""]}],
                   "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"a": "b"}, "matchLabelz": {}}]}}),
            &[
                "aggregationRule.clusterRoleSelectors[0].matchLabelz",
                "rules[1].verbz",
            ],
        );
    }

    #[test]
    fn maps_of_objects_and_preserved_fields() {
        let schema = TypeSchema {
            name: "t".to_owned(),
            definitions: Arc::new(
                json!({
                    "t": {"type": "object", "properties": {
                        "m": {"type": "object", "additionalProperties": {"allOf": [{"$ref": "#/components/schemas/o"}], "description": "d"}},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"a": {}}},
                        "ios": {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]},
                    }},
                    "o": {"type": "object", "properties": {"x": {"type": "string"}}},
                })
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ),
        };
        check(
            &schema,
            json!({"m": {"k": {"x": "1", "y": 2}}, "free": {"b": 1}, "ios": 3, "kind": "T"}),
            &["m.k.y"],
        );
    }
}
