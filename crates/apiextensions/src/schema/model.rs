//! The parsed form of a `JSONSchemaProps` (Go: the internal
//! `apiextensions.JSONSchemaProps` and the `Structural` /
//! `NestedValueValidation` built from it): one [`Node`] type for both the
//! structural schema and the value validations nested under `allOf`,
//! `anyOf`, `oneOf` and `not`, with the unsupported keywords kept so that
//! the CRD checks can reject them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One schema of the tree. Absent keywords have their zero value, as in Go
/// (`type: ""`, `nullable: false`, no properties).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Node {
    pub(crate) ty: String,
    pub(crate) description: String,
    pub(crate) title: String,
    /// `default` as written; `Some(Null)` for `default: null`.
    pub(crate) default: Option<Value>,
    /// `example` when it is not null.
    pub(crate) example: Option<Value>,
    pub(crate) external_docs: Option<Value>,
    pub(crate) nullable: bool,

    pub(crate) format: String,
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_maximum: bool,
    pub(crate) minimum: Option<f64>,
    pub(crate) exclusive_minimum: bool,
    pub(crate) max_length: Option<i64>,
    pub(crate) min_length: Option<i64>,
    pub(crate) pattern: String,
    pub(crate) max_items: Option<i64>,
    pub(crate) min_items: Option<i64>,
    pub(crate) unique_items: bool,
    pub(crate) multiple_of: Option<f64>,
    pub(crate) enum_values: Vec<Value>,
    pub(crate) max_properties: Option<i64>,
    pub(crate) min_properties: Option<i64>,
    pub(crate) required: Vec<String>,
    pub(crate) all_of: Vec<Node>,
    pub(crate) any_of: Vec<Node>,
    pub(crate) one_of: Vec<Node>,
    pub(crate) not: Option<Box<Node>>,

    pub(crate) items: Option<Box<Node>>,
    /// `items` given as an array of schemas (not supported by CRDs).
    pub(crate) items_array: Option<Vec<Node>>,
    pub(crate) properties: BTreeMap<String, Node>,
    pub(crate) additional_properties: Option<Additional>,

    pub(crate) preserve_unknown_fields: Option<bool>,
    pub(crate) embedded_resource: bool,
    pub(crate) int_or_string: bool,
    pub(crate) list_map_keys: Vec<String>,
    pub(crate) list_type: Option<String>,
    pub(crate) map_type: Option<String>,
    /// `x-kubernetes-validations` rules, kept as written (CEL is not run).
    pub(crate) validations: Vec<Value>,

    pub(crate) id: String,
    pub(crate) schema_uri: String,
    pub(crate) reference: Option<String>,
    pub(crate) pattern_properties: BTreeMap<String, Node>,
    pub(crate) dependencies: Option<BTreeMap<String, Dependency>>,
    pub(crate) additional_items: Option<Additional>,
    pub(crate) definitions: BTreeMap<String, Node>,
}

/// `additionalProperties` / `additionalItems`: a boolean or a schema (Go:
/// `JSONSchemaPropsOrBool`; a schema means `Allows: true`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Additional {
    Allows(bool),
    Schema(Box<Node>),
}

/// One entry of `dependencies`: a schema or a list of property names.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Dependency {
    pub(crate) schema: Option<Node>,
}

impl Node {
    /// Parses a `JSONSchemaProps` JSON object; keywords of the wrong JSON
    /// type count as absent (the API decoder rejects those before).
    pub(crate) fn parse(value: &Value) -> Node {
        let Some(obj) = value.as_object() else {
            return Node::default();
        };
        let mut node = Node {
            ty: string(obj, "type"),
            description: string(obj, "description"),
            title: string(obj, "title"),
            default: obj.get("default").cloned(),
            example: obj.get("example").filter(|v| !v.is_null()).cloned(),
            external_docs: obj.get("externalDocs").filter(|v| !v.is_null()).cloned(),
            nullable: boolean(obj, "nullable"),
            format: string(obj, "format"),
            maximum: float(obj, "maximum"),
            exclusive_maximum: boolean(obj, "exclusiveMaximum"),
            minimum: float(obj, "minimum"),
            exclusive_minimum: boolean(obj, "exclusiveMinimum"),
            max_length: int(obj, "maxLength"),
            min_length: int(obj, "minLength"),
            pattern: string(obj, "pattern"),
            max_items: int(obj, "maxItems"),
            min_items: int(obj, "minItems"),
            unique_items: boolean(obj, "uniqueItems"),
            multiple_of: float(obj, "multipleOf"),
            enum_values: obj
                .get("enum")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            max_properties: int(obj, "maxProperties"),
            min_properties: int(obj, "minProperties"),
            required: strings(obj, "required"),
            all_of: nodes(obj, "allOf"),
            any_of: nodes(obj, "anyOf"),
            one_of: nodes(obj, "oneOf"),
            not: obj
                .get("not")
                .filter(|v| v.is_object())
                .map(|v| Box::new(Node::parse(v))),
            properties: node_map(obj, "properties"),
            additional_properties: obj.get("additionalProperties").and_then(additional),
            preserve_unknown_fields: obj
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool),
            embedded_resource: boolean(obj, "x-kubernetes-embedded-resource"),
            int_or_string: boolean(obj, "x-kubernetes-int-or-string"),
            list_map_keys: strings(obj, "x-kubernetes-list-map-keys"),
            list_type: obj
                .get("x-kubernetes-list-type")
                .and_then(Value::as_str)
                .map(str::to_owned),
            map_type: obj
                .get("x-kubernetes-map-type")
                .and_then(Value::as_str)
                .map(str::to_owned),
            validations: obj
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            id: string(obj, "id"),
            schema_uri: string(obj, "$schema"),
            reference: obj.get("$ref").and_then(Value::as_str).map(str::to_owned),
            pattern_properties: node_map(obj, "patternProperties"),
            dependencies: obj
                .get("dependencies")
                .and_then(Value::as_object)
                .map(|deps| {
                    deps.iter()
                        .map(|(k, v)| {
                            let schema = v.is_object().then(|| Node::parse(v));
                            (k.clone(), Dependency { schema })
                        })
                        .collect()
                }),
            additional_items: obj.get("additionalItems").and_then(additional),
            definitions: node_map(obj, "definitions"),
            ..Node::default()
        };
        match obj.get("items") {
            Some(items @ Value::Object(_)) => node.items = Some(Box::new(Node::parse(items))),
            Some(Value::Array(list)) => {
                node.items_array = Some(list.iter().map(Node::parse).collect())
            }
            _ => {}
        }
        node
    }

    /// A node with only `type` set (the halves of the int-or-string
    /// `anyOf` pattern).
    pub(crate) fn bare(ty: &str) -> Node {
        Node {
            ty: ty.to_owned(),
            ..Node::default()
        }
    }

    /// `x-kubernetes-preserve-unknown-fields: true`.
    pub(crate) fn preserves_unknown(&self) -> bool {
        self.preserve_unknown_fields == Some(true)
    }

    /// The default value, if one is set and not null (Go:
    /// `Generic.Default.Object`).
    pub(crate) fn default_value(&self) -> Option<&Value> {
        self.default.as_ref().filter(|v| !v.is_null())
    }

    /// The schema of `additionalProperties`, if it is one.
    pub(crate) fn additional_schema(&self) -> Option<&Node> {
        match &self.additional_properties {
            Some(Additional::Schema(node)) => Some(node),
            _ => None,
        }
    }

    /// The schema that applies to the value under `key` of an object:
    /// its property, else `additionalProperties` (Go: the lookup of
    /// pruning, defaulting and the list-type checks). The outer `Option`
    /// says whether the key is known at all, the inner one whether a
    /// schema applies (`additionalProperties: true` has none).
    pub(crate) fn field(&self, key: &str) -> Option<Option<&Node>> {
        if let Some(prop) = self.properties.get(key) {
            Some(Some(prop))
        } else if self.additional_properties.is_some() {
            Some(self.additional_schema())
        } else {
            None
        }
    }
}

fn string(obj: &Map<String, Value>, key: &str) -> String {
    obj.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn boolean(obj: &Map<String, Value>, key: &str) -> bool {
    obj.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn float(obj: &Map<String, Value>, key: &str) -> Option<f64> {
    obj.get(key).and_then(Value::as_f64)
}

fn int(obj: &Map<String, Value>, key: &str) -> Option<i64> {
    let value = obj.get(key)?;
    value.as_i64().or_else(|| {
        let f = value.as_f64()?;
        // Only whole numbers fit Go's *int64 fields.
        (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
    })
}

fn strings(obj: &Map<String, Value>, key: &str) -> Vec<String> {
    obj.get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn nodes(obj: &Map<String, Value>, key: &str) -> Vec<Node> {
    obj.get(key)
        .and_then(Value::as_array)
        .map(|list| list.iter().map(Node::parse).collect())
        .unwrap_or_default()
}

fn node_map(obj: &Map<String, Value>, key: &str) -> BTreeMap<String, Node> {
    obj.get(key)
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(k, v)| (k.clone(), Node::parse(v)))
                .collect()
        })
        .unwrap_or_default()
}

fn additional(value: &Value) -> Option<Additional> {
    match value {
        Value::Bool(allows) => Some(Additional::Allows(*allows)),
        Value::Object(_) => Some(Additional::Schema(Box::new(Node::parse(value)))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_keywords_and_forms() {
        let node = Node::parse(&json!({
            "type": "object",
            "properties": {"a": {"type": "integer", "maximum": 3, "maxLength": 2.0}},
            "additionalProperties": false,
            "items": [{"type": "string"}],
            "default": null,
            "x-kubernetes-preserve-unknown-fields": true,
        }));
        assert_eq!(node.ty, "object");
        assert_eq!(node.properties["a"].maximum, Some(3.0));
        assert_eq!(node.properties["a"].max_length, Some(2));
        assert_eq!(node.additional_properties, Some(Additional::Allows(false)));
        assert_eq!(node.items_array.as_ref().map(Vec::len), Some(1));
        assert_eq!(node.default, Some(Value::Null));
        assert_eq!(node.default_value(), None);
        assert!(node.preserves_unknown());
        assert_eq!(
            node.field("a").map(|s| s.map(|n| n.ty.as_str())),
            Some(Some("integer"))
        );
        assert_eq!(node.field("b"), Some(None));
    }
}
