//! Component schemas in kube-apiserver's OpenAPI 3.0 form: generated from
//! k8s-openapi's `schemars` impls for the built-in types (Go: the
//! `openapi-gen` definitions), normalised the way `builder3` writes them, and
//! built from a CRD's `openAPIV3Schema` for custom resources (Go:
//! apiextensions-apiserver's `controller/openapi/builder`).
//!
//! Normalisation:
//! - JSON-Schema keywords OpenAPI 3.0 lacks are dropped or rewritten
//!   (`const` → `enum`, `examples` → `example`, `type: [T, "null"]` →
//!   `type: T, nullable: true`);
//! - the data table of [`crate::extensions`] is applied;
//! - a `$ref` with siblings becomes `{"allOf": [{"$ref": …}], …siblings}`
//!   (Go: `builder3/util.WrapRefs`).

mod custom;

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde_json::{Map, Value, json};

use crate::extensions;

pub(crate) use custom::{custom_definitions, custom_list_name, custom_name};

/// Component schemas by name.
pub(crate) type Definitions = Map<String, Value>;

/// Where OpenAPI 3.0 definitions live.
pub(crate) const V3_REF_PREFIX: &str = "#/components/schemas/";

pub(crate) const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
pub(crate) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub(crate) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(crate) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(crate) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub(crate) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub(crate) const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";
pub(crate) const API_GROUP: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup";
pub(crate) const API_GROUP_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList";
pub(crate) const API_VERSIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions";
pub(crate) const VERSION_INFO: &str = "io.k8s.apimachinery.pkg.version.Info";
pub(crate) const SCALE: &str = "io.k8s.api.autoscaling.v1.Scale";

/// The extension naming the kinds a schema is registered as.
pub(crate) const GVK_EXTENSION: &str = "x-kubernetes-group-version-kind";

/// TypeMeta's `apiVersion` property.
pub(crate) const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
/// TypeMeta's `kind` property.
pub(crate) const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// The reference to a definition.
pub(crate) fn v3_ref(name: &str) -> Value {
    json!({ "$ref": format!("{V3_REF_PREFIX}{name}") })
}

/// A `{group, kind, version}` object.
pub(crate) fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({ "group": group, "kind": kind, "version": version })
}

/// Adds `(group, version, kind)` to a schema's GVK extension unless present.
pub(crate) fn add_gvk(schema: &mut Value, group: &str, version: &str, kind: &str) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let entry = gvk(group, version, kind);
    let list = object
        .entry(GVK_EXTENSION)
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(items) = list
        && !items.contains(&entry)
    {
        items.push(entry);
    }
}

/// The definitions of `T` and everything it references, normalised, plus the
/// name of `T`'s own definition.
pub(crate) fn generate<T: JsonSchema>() -> (String, Definitions) {
    let mut settings = schemars::generate::SchemaSettings::openapi3();
    settings.meta_schema = None;
    settings.transforms = Vec::new();
    let mut generator = settings.into_generator();
    let root = generator.subschema_for::<T>();
    let name = root
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|reference| reference.strip_prefix(V3_REF_PREFIX))
        .map_or_else(|| T::schema_name().into_owned(), str::to_owned);
    let mut definitions = Definitions::new();
    for (key, value) in generator.take_definitions(false) {
        let schema = normalize(&key, value);
        definitions.insert(key, schema);
    }
    (name, definitions)
}

/// Normalises one built-in definition: OpenAPI 3.0 keywords only, the data
/// table applied, `$ref` siblings wrapped.
pub(crate) fn normalize(name: &str, mut schema: Value) -> Value {
    to_openapi_30(&mut schema);
    extensions::apply(name, &mut schema);
    wrap_refs(&mut schema);
    schema
}

/// The definitions kube-apiserver's documents always use: meta types of the
/// paths (`Status`, `DeleteOptions`, `WatchEvent`, `Patch`,
/// `APIResourceList`, discovery roots, `version.Info`) with their GVKs.
pub(crate) fn meta_definitions() -> Definitions {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
    let mut definitions = Definitions::new();
    let mut take = |(_, generated): (String, Definitions)| {
        for (name, schema) in generated {
            definitions.entry(name).or_insert(schema);
        }
    };
    take(generate::<meta::Status>());
    take(generate::<meta::DeleteOptions>());
    take(generate::<meta::WatchEvent<meta::Status>>());
    take(generate::<meta::Patch>());
    take(generate::<meta::APIResourceList>());
    take(generate::<meta::APIGroup>());
    take(generate::<meta::APIGroupList>());
    take(generate::<meta::APIVersions>());
    take(generate::<meta::ListMeta>());
    take(generate::<meta::ObjectMeta>());
    take(generate::<k8s_openapi::apimachinery::pkg::version::Info>());
    take(generate::<k8s_openapi::api::autoscaling::v1::Scale>());
    for (name, kind) in [
        (STATUS, "Status"),
        (API_RESOURCE_LIST, "APIResourceList"),
        (API_GROUP, "APIGroup"),
        (API_GROUP_LIST, "APIGroupList"),
        (API_VERSIONS, "APIVersions"),
    ] {
        if let Some(schema) = definitions.get_mut(name) {
            add_gvk(schema, "", "v1", kind);
        }
    }
    if let Some(schema) = definitions.get_mut(SCALE) {
        add_gvk(schema, "autoscaling", "v1", "Scale");
    }
    definitions
}

/// The list kind of a built-in kind, as Go's generated `<Kind>List` types
/// read: `apiVersion`, `items` (required), `kind`, `metadata` (ListMeta).
pub(crate) fn list_definition(
    list_name: &str,
    item_name: &str,
    list_kind: &str,
    kind: &str,
) -> Value {
    let schema = json!({
        "description": format!("{list_kind} is a list of {kind} objects."),
        "type": "object",
        "properties": {
            "apiVersion": {"description": API_VERSION_DESCRIPTION, "type": "string"},
            "items": {
                "description": format!("Items is the list of {kind} objects."),
                "type": "array",
                "items": v3_ref(item_name),
            },
            "kind": {"description": KIND_DESCRIPTION, "type": "string"},
            "metadata": {
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
                "$ref": format!("{V3_REF_PREFIX}{LIST_META}"),
            },
        },
        "required": ["items"],
    });
    normalize(list_name, schema)
}

/// The definition names `schema` references directly.
pub(crate) fn references(schema: &Value, out: &mut BTreeSet<String>) {
    match schema {
        Value::Object(object) => {
            for (key, value) in object {
                if key == "$ref"
                    && let Some(name) = value.as_str().and_then(|r| r.strip_prefix(V3_REF_PREFIX))
                {
                    out.insert(name.to_owned());
                } else {
                    references(value, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, out)),
        _ => {}
    }
}

/// `roots` and every definition they reach, looked up in `pools` in order.
pub(crate) fn closure<'a>(
    pools: &[&Definitions],
    roots: impl IntoIterator<Item = &'a str>,
) -> Definitions {
    let mut out = Definitions::new();
    let mut pending: Vec<String> = roots.into_iter().map(str::to_owned).collect();
    while let Some(name) = pending.pop() {
        if out.contains_key(&name) {
            continue;
        }
        let Some(schema) = pools.iter().find_map(|pool| pool.get(&name)) else {
            continue;
        };
        let mut refs = BTreeSet::new();
        references(schema, &mut refs);
        out.insert(name, schema.clone());
        pending.extend(refs.into_iter().filter(|r| !out.contains_key(r)));
    }
    out
}

/// The sub-schemas of a schema node, by the keywords that hold schemas.
pub(crate) fn for_each_subschema(schema: &mut Map<String, Value>, f: &mut impl FnMut(&mut Value)) {
    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(properties)) = schema.get_mut(key) {
            properties.values_mut().for_each(&mut *f);
        }
    }
    for key in ["additionalProperties", "not", "items"] {
        match schema.get_mut(key) {
            Some(Value::Array(items)) => items.iter_mut().for_each(&mut *f),
            Some(value @ Value::Object(_)) => f(value),
            _ => {}
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(items)) = schema.get_mut(key) {
            items.iter_mut().for_each(&mut *f);
        }
    }
}

/// Rewrites JSON-Schema keywords OpenAPI 3.0 does not have.
pub(crate) fn to_openapi_30(schema: &mut Value) {
    let Value::Object(object) = schema else {
        return;
    };
    for key in [
        "$schema",
        "$id",
        "$defs",
        "definitions",
        "$comment",
        "unevaluatedProperties",
        "unevaluatedItems",
        "dependentRequired",
        "dependentSchemas",
        "propertyNames",
        "contains",
        "if",
        "then",
        "else",
    ] {
        object.remove(key);
    }
    if let Some(value) = object.remove("const") {
        object.insert("enum".to_owned(), Value::Array(vec![value]));
    }
    if let Some(Value::Array(mut examples)) = object.remove("examples")
        && !examples.is_empty()
        && !object.contains_key("example")
    {
        object.insert("example".to_owned(), examples.swap_remove(0));
    }
    if let Some(Value::Array(prefix)) = object.remove("prefixItems")
        && !object.contains_key("items")
    {
        let items = prefix.into_iter().next().unwrap_or_else(|| json!({}));
        object.insert("items".to_owned(), items);
    }
    if let Some(Value::Array(types)) = object.get("type") {
        let nullable = types.iter().any(|t| t == "null");
        let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        match rest.as_slice() {
            [single] => {
                object.insert("type".to_owned(), single.clone());
            }
            _ => {
                object.remove("type");
            }
        }
        if nullable {
            object.insert("nullable".to_owned(), Value::Bool(true));
        }
    }
    for_each_subschema(object, &mut to_openapi_30);
}

/// Wraps every `$ref` that has sibling keys into `allOf`.
pub(crate) fn wrap_refs(schema: &mut Value) {
    let Value::Object(object) = schema else {
        return;
    };
    if object.len() > 1
        && let Some(reference) = object.remove("$ref")
    {
        let mut wrapped = Map::new();
        wrapped.insert("$ref".to_owned(), reference);
        object.insert(
            "allOf".to_owned(),
            Value::Array(vec![Value::Object(wrapped)]),
        );
    }
    for_each_subschema(object, &mut wrap_refs);
}

/// The `$ref` of a schema, direct or through a one-element `allOf`.
pub(crate) fn ref_of(schema: &Map<String, Value>) -> Option<&str> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return Some(reference);
    }
    match schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([only]) => only.get("$ref").and_then(Value::as_str),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    fn has_ref_with_siblings(value: &Value) -> bool {
        match value {
            Value::Object(object) => {
                (object.contains_key("$ref") && object.len() > 1 && object["$ref"].is_string())
                    || object.values().any(has_ref_with_siblings)
            }
            Value::Array(items) => items.iter().any(has_ref_with_siblings),
            _ => false,
        }
    }

    #[test]
    fn configmap_definitions_are_normalised() {
        let (name, definitions) = generate::<ConfigMap>();
        assert_eq!(name, "io.k8s.api.core.v1.ConfigMap");
        let configmap = &definitions[&name];
        assert!(configmap.get("required").is_none(), "{configmap}");
        assert_eq!(
            configmap["properties"]["metadata"]["allOf"],
            json!([{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}])
        );
        let owner_references = &definitions[OBJECT_META]["properties"]["ownerReferences"];
        assert_eq!(owner_references["x-kubernetes-list-type"], "map");
        assert_eq!(
            owner_references["x-kubernetes-list-map-keys"],
            json!(["uid"])
        );
        assert_eq!(owner_references["x-kubernetes-patch-merge-key"], "uid");
        assert_eq!(owner_references["x-kubernetes-patch-strategy"], "merge");
        assert!(!has_ref_with_siblings(&Value::Object(definitions)));
    }

    #[test]
    fn meta_definitions_carry_gvks() {
        let definitions = meta_definitions();
        assert_eq!(
            definitions[STATUS][GVK_EXTENSION],
            json!([{"group": "", "kind": "Status", "version": "v1"}])
        );
        assert_eq!(
            definitions[SCALE][GVK_EXTENSION],
            json!([{"group": "autoscaling", "kind": "Scale", "version": "v1"}])
        );
        assert_eq!(definitions[PATCH]["type"], "object");
        assert!(!has_ref_with_siblings(&Value::Object(definitions)));
    }

    fn check_openapi_30(input: Value, expected: Value) {
        let mut schema = input;
        to_openapi_30(&mut schema);
        assert_eq!(schema, expected);
    }

    #[test]
    fn rewrites_json_schema_keywords() {
        check_openapi_30(
            json!({"$schema": "x", "const": 1, "examples": [2, 3]}),
            json!({"enum": [1], "example": 2}),
        );
        check_openapi_30(
            json!({"type": ["string", "null"], "properties": {"a": {"type": ["integer"]}}}),
            json!({"type": "string", "nullable": true, "properties": {"a": {"type": "integer"}}}),
        );
    }

    fn check_wrap(input: Value, expected: Value) {
        let mut schema = input;
        wrap_refs(&mut schema);
        assert_eq!(schema, expected);
    }

    #[test]
    fn wraps_refs_with_siblings() {
        check_wrap(json!({"$ref": "#/x"}), json!({"$ref": "#/x"}));
        check_wrap(
            json!({"$ref": "#/x", "description": "d"}),
            json!({"allOf": [{"$ref": "#/x"}], "description": "d"}),
        );
        check_wrap(
            json!({"items": {"$ref": "#/x", "default": {}}}),
            json!({"items": {"allOf": [{"$ref": "#/x"}], "default": {}}}),
        );
        // A property called "$ref" (JSONSchemaProps has one) is not a reference.
        check_wrap(
            json!({"properties": {"$ref": {"type": "string"}}}),
            json!({"properties": {"$ref": {"type": "string"}}}),
        );
    }
}
