//! Definitions of a custom resource built from its CRD version's
//! `openAPIV3Schema` (Go: apiextensions-apiserver `controller/openapi/builder`
//! `buildKubeNative` and `buildListSchema`, with the structural schema's
//! `ToKubeOpenAPI`, `Unfold` and, for OpenAPI v2, `ToStructuralOpenAPIV2`).

use serde_json::{Map, Value, json};

use super::{
    API_VERSION_DESCRIPTION, Definitions, KIND_DESCRIPTION, LIST_META, OBJECT_META, V3_REF_PREFIX,
    add_gvk, wrap_refs,
};
use crate::spec::ResourceSpec;

const METADATA_DESCRIPTION: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DESCRIPTION: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const EMBEDDED_API_VERSION_DESCRIPTION: &str = "apiVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const EMBEDDED_KIND_DESCRIPTION: &str = "kind is a string value representing the type of this object. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// Keys a structural schema node keeps (Go: the fields of `Structural`).
const STRUCTURAL_KEYS: [&str; 35] = [
    "type",
    "nullable",
    "description",
    "title",
    "default",
    "items",
    "properties",
    "additionalProperties",
    "format",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "enum",
    "maxProperties",
    "minProperties",
    "required",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
];

/// Keys a nested value validation (inside `allOf`, `anyOf`, `oneOf`, `not`)
/// keeps.
const NESTED_KEYS: [&str; 25] = [
    "type",
    "items",
    "properties",
    "format",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "enum",
    "maxProperties",
    "minProperties",
    "required",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "x-kubernetes-validations",
    "x-kubernetes-int-or-string",
];

/// Flags Go writes only when true.
const TRUE_ONLY: [&str; 7] = [
    "nullable",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "uniqueItems",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string",
];

/// The definition name of a custom kind: the group reversed, then version
/// and kind (Go: `util.ToRESTFriendlyName("<group>/<version>.<kind>")`),
/// e.g. `com.example.stable.v1.CronTab`.
pub(crate) fn custom_name(group: &str, version: &str, kind: &str) -> String {
    let group = if group.contains('.') {
        group.split('.').rev().collect::<Vec<_>>().join(".")
    } else {
        group.to_owned()
    };
    format!("{group}.{version}.{kind}")
}

/// The definition name of a custom list kind.
pub(crate) fn custom_list_name(spec: &ResourceSpec) -> String {
    custom_name(&spec.group, &spec.version, &spec.list_kind)
}

/// The kind and list definitions of a custom resource, for OpenAPI v3
/// (`v2 == false`, refs to `#/components/schemas/`) or in the structural
/// subset OpenAPI v2 gets (still with v3 refs; the v2 writer rewrites them).
pub(crate) fn custom_definitions(spec: &ResourceSpec, schema: &Value, v2: bool) -> Definitions {
    let name = custom_name(&spec.group, &spec.version, &spec.kind);
    let list_name = custom_list_name(spec);
    let mut kind_schema = kind_schema(schema, v2);
    add_gvk(&mut kind_schema, &spec.group, &spec.version, &spec.kind);
    let mut list = json!({
        "description": format!("{} is a list of {}", spec.list_kind, spec.kind),
        "type": "object",
        "properties": {
            "apiVersion": {"description": API_VERSION_DESCRIPTION, "type": "string"},
            "items": {
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", spec.resource),
                "type": "array",
                "items": {"$ref": format!("{V3_REF_PREFIX}{name}")},
            },
            "kind": {"description": KIND_DESCRIPTION, "type": "string"},
            "metadata": {
                "description": LIST_METADATA_DESCRIPTION,
                "$ref": format!("{V3_REF_PREFIX}{LIST_META}"),
            },
        },
        "required": ["items"],
    });
    add_gvk(&mut list, &spec.group, &spec.version, &spec.list_kind);
    if !spec.selectable_fields.is_empty() {
        let fields: Vec<Value> = spec
            .selectable_fields
            .iter()
            .map(|path| json!({"fieldPath": path.strip_prefix('.').unwrap_or(path)}))
            .collect();
        for schema in [&mut kind_schema, &mut list] {
            if let Some(object) = schema.as_object_mut() {
                object.insert(
                    "x-kubernetes-selectable-fields".to_owned(),
                    Value::Array(fields.clone()),
                );
            }
        }
    }
    wrap_refs(&mut kind_schema);
    wrap_refs(&mut list);
    let mut definitions = Definitions::new();
    definitions.insert(name, kind_schema);
    definitions.insert(list_name, list);
    definitions
}

fn kind_schema(schema: &Value, v2: bool) -> Value {
    let Some(object) = schema.as_object() else {
        return json!({"type": "object"});
    };
    let preserve = object.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if v2 && preserve {
        return json!({"type": "object"});
    }
    let mut out = structural(object, false);
    unfold(&mut out);
    if v2 {
        to_structural_v2(&mut out);
    }
    add_embedded_properties(&mut out, v2);
    if let Value::Object(root) = &mut out {
        let properties = root
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(properties) = properties {
            properties.insert(
                "metadata".to_owned(),
                json!({"$ref": format!("{V3_REF_PREFIX}{OBJECT_META}"), "description": METADATA_DESCRIPTION}),
            );
            properties.insert(
                "apiVersion".to_owned(),
                json!({"description": API_VERSION_DESCRIPTION, "type": "string"}),
            );
            properties.insert(
                "kind".to_owned(),
                json!({"description": KIND_DESCRIPTION, "type": "string"}),
            );
        }
    }
    out
}

/// Keeps what a structural schema can hold (Go: `NewStructural` followed by
/// `ToKubeOpenAPI`).
fn structural(object: &Map<String, Value>, nested: bool) -> Value {
    let mut out = Map::new();
    for (key, value) in object {
        let kept = if nested {
            NESTED_KEYS.contains(&key.as_str())
        } else {
            STRUCTURAL_KEYS.contains(&key.as_str())
        };
        if !kept || (TRUE_ONLY.contains(&key.as_str()) && value != &Value::Bool(true)) {
            continue;
        }
        let value = match (key.as_str(), value) {
            ("properties", Value::Object(properties)) => Value::Object(
                properties
                    .iter()
                    .map(|(name, schema)| (name.clone(), sub(schema, nested)))
                    .collect(),
            ),
            ("items" | "not", schema @ Value::Object(_)) => sub(schema, nested),
            ("items", Value::Array(_)) => continue,
            ("additionalProperties", schema @ Value::Object(_)) => sub(schema, nested),
            ("allOf" | "anyOf" | "oneOf", Value::Array(items)) => {
                Value::Array(items.iter().map(|schema| sub(schema, true)).collect())
            }
            (_, value) => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

fn sub(schema: &Value, nested: bool) -> Value {
    match schema {
        Value::Object(object) => structural(object, nested),
        other => other.clone(),
    }
}

fn is_int_or_string_any_of(value: Option<&Value>) -> bool {
    let Some(Value::Array(items)) = value else {
        return false;
    };
    items.len() == 2
        && items[0] == json!({"type": "integer"})
        && items[1] == json!({"type": "string"})
}

/// Spells out `x-kubernetes-int-or-string` as `anyOf` (Go: `Unfold`).
fn unfold(schema: &mut Value) {
    let Value::Object(object) = schema else {
        return;
    };
    if object.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        let any_of_pattern = is_int_or_string_any_of(object.get("anyOf"));
        let all_of_pattern = object
            .get("allOf")
            .and_then(Value::as_array)
            .and_then(|all| all.first())
            .is_some_and(|first| is_int_or_string_any_of(first.get("anyOf")));
        if !any_of_pattern && !all_of_pattern {
            let pair = json!([{"type": "integer"}, {"type": "string"}]);
            if object.contains_key("anyOf") {
                let all = object
                    .entry("allOf")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(all) = all {
                    all.insert(0, json!({"anyOf": pair}));
                }
            } else {
                object.insert("anyOf".to_owned(), pair);
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = object.get_mut(key) {
            unfold(child);
        }
    }
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        properties.values_mut().for_each(unfold);
    }
}

/// Drops what OpenAPI v2 cannot say (Go: `ToStructuralOpenAPIV2`).
fn to_structural_v2(schema: &mut Value) {
    let Value::Object(object) = schema else {
        return;
    };
    for key in ["allOf", "oneOf", "anyOf", "not"] {
        object.remove(key);
    }
    let flag = |object: &Map<String, Value>, key: &str| object.get(key) == Some(&Value::Bool(true));
    if flag(object, "nullable") {
        for key in ["type", "nullable", "items", "properties"] {
            object.remove(key);
        }
    }
    let preserve = flag(object, "x-kubernetes-preserve-unknown-fields");
    if preserve {
        object.remove("items");
        object.remove("properties");
    }
    if !object.contains_key("items") && object.get("type") == Some(&json!("array")) {
        object.remove("type");
    }
    if preserve && object.get("type") == Some(&json!("object")) {
        object.remove("type");
    }
    let nullable_properties: Vec<String> = object
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| {
            properties
                .iter()
                .filter(|(_, schema)| schema.get("nullable") == Some(&Value::Bool(true)))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Array(required)) = object.get_mut("required") {
        required.retain(|name| !nullable_properties.iter().any(|n| name == n.as_str()));
        if required.is_empty() {
            object.remove("required");
        }
    }
    if object
        .get("additionalProperties")
        .is_some_and(|additional| additional.get("nullable") == Some(&Value::Bool(true)))
    {
        object.remove("required");
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = object.get_mut(key) {
            to_structural_v2(child);
        }
    }
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        properties.values_mut().for_each(to_structural_v2);
    }
}

/// Adds `apiVersion`, `kind` and `metadata` to embedded resources (Go:
/// `addEmbeddedProperties`).
fn add_embedded_properties(schema: &mut Value, v2: bool) {
    let Value::Object(object) = schema else {
        return;
    };
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        properties
            .values_mut()
            .for_each(|child| add_embedded_properties(child, v2));
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = object.get_mut(key) {
            add_embedded_properties(child, v2);
        }
    }
    let flag = |key: &str| object.get(key) == Some(&Value::Bool(true));
    if v2 && flag("x-kubernetes-preserve-unknown-fields") {
        return;
    }
    if !flag("x-kubernetes-embedded-resource") {
        return;
    }
    let properties = object
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(properties) = properties {
        properties.insert(
            "apiVersion".to_owned(),
            json!({"description": EMBEDDED_API_VERSION_DESCRIPTION, "type": "string"}),
        );
        properties.insert(
            "kind".to_owned(),
            json!({"description": EMBEDDED_KIND_DESCRIPTION, "type": "string"}),
        );
        properties.insert(
            "metadata".to_owned(),
            json!({"$ref": format!("{V3_REF_PREFIX}{OBJECT_META}"), "description": METADATA_DESCRIPTION}),
        );
    }
    let required = object
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(required) = required {
        for name in ["kind", "apiVersion"] {
            if !required.iter().any(|r| r == name) {
                required.push(Value::String(name.to_owned()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ResourceSpec {
        ResourceSpec::new("stable.example.com", "v1", "crontabs", "CronTab", true)
    }

    #[test]
    fn names_like_upstream() {
        assert_eq!(
            custom_name("stable.example.com", "v1", "CronTab"),
            "com.example.stable.v1.CronTab"
        );
        assert_eq!(custom_name("example", "v1", "Foo"), "example.v1.Foo");
        assert_eq!(
            custom_list_name(&spec()),
            "com.example.stable.v1.CronTabList"
        );
    }

    fn crontab_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "cronSpec": {"type": "string", "example": "* * * * */5"},
                        "replicas": {"x-kubernetes-int-or-string": true},
                        "note": {"type": "string", "nullable": true},
                        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                     "x-kubernetes-preserve-unknown-fields": true},
                    },
                    "required": ["note"],
                },
            },
        })
    }

    #[test]
    fn v3_kind_schema() {
        let definitions = custom_definitions(&spec(), &crontab_schema(), false);
        let kind = &definitions["com.example.stable.v1.CronTab"];
        assert_eq!(
            kind["x-kubernetes-group-version-kind"],
            json!([{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}])
        );
        assert_eq!(
            kind["properties"]["metadata"]["allOf"],
            json!([{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}])
        );
        let spec_props = &kind["properties"]["spec"]["properties"];
        assert_eq!(spec_props["cronSpec"], json!({"type": "string"}));
        assert_eq!(
            spec_props["replicas"]["anyOf"],
            json!([{"type": "integer"}, {"type": "string"}])
        );
        assert_eq!(
            spec_props["template"]["required"],
            json!(["kind", "apiVersion"])
        );
        let list = &definitions["com.example.stable.v1.CronTabList"];
        assert_eq!(list["description"], "CronTabList is a list of CronTab");
        assert_eq!(
            list["properties"]["items"]["items"],
            json!({"$ref": "#/components/schemas/com.example.stable.v1.CronTab"})
        );
    }

    #[test]
    fn v2_kind_schema() {
        let definitions = custom_definitions(&spec(), &crontab_schema(), true);
        let kind = &definitions["com.example.stable.v1.CronTab"];
        let spec_schema = &kind["properties"]["spec"];
        assert!(spec_schema.get("required").is_none(), "{spec_schema}");
        assert_eq!(spec_schema["properties"]["note"], json!({}));
        assert_eq!(
            spec_schema["properties"]["replicas"],
            json!({"x-kubernetes-int-or-string": true})
        );
        // preserve-unknown-fields: no type, no embedded properties in v2.
        assert_eq!(
            spec_schema["properties"]["template"],
            json!({"x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true})
        );
        let preserving = custom_definitions(
            &spec(),
            &json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            true,
        );
        assert_eq!(
            preserving["com.example.stable.v1.CronTab"],
            json!({"type": "object", "x-kubernetes-group-version-kind": [
                {"group": "stable.example.com", "kind": "CronTab", "version": "v1"}]})
        );
    }

    #[test]
    fn selectable_fields_extension() {
        let spec = spec().with_selectable_fields([".spec.color"]);
        let definitions = custom_definitions(&spec, &json!({"type": "object"}), false);
        for name in [
            "com.example.stable.v1.CronTab",
            "com.example.stable.v1.CronTabList",
        ] {
            assert_eq!(
                definitions[name]["x-kubernetes-selectable-fields"],
                json!([{"fieldPath": "spec.color"}])
            );
        }
    }
}
