//! Type information for server-side apply: the public [`TypeSchema`] input
//! (OpenAPI v3 `components.schemas` plus a root, an inline CRD schema, or no
//! schema at all) and the structured-merge-diff type model it is converted
//! into: scalars, lists (atomic, set, map with keys) and maps (struct
//! fields, additional properties, atomic or granular).
//!
//! Mirrors `k8s.io/kube-openapi/pkg/schemaconv` (`ToSchemaFromOpenAPI`)
//! and `sigs.k8s.io/structured-merge-diff/v6/schema` (`Schema.Resolve`,
//! the `__untyped_atomic_` and `__untyped_deduced_` types).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::Error;

/// Where the type of a resource's objects comes from.
///
/// Build it from a definition name plus the OpenAPI v3 `components.schemas`
/// map ([`TypeSchema::named`]), from a CRD's `openAPIV3Schema`
/// ([`TypeSchema::custom_resource`], [`TypeSchema::inline`]), or use
/// [`TypeSchema::deduced`] when there is no schema: maps are then granular
/// and lists atomic.
#[derive(Debug, Clone)]
pub struct TypeSchema {
    root: Root,
    definitions: Arc<Map<String, Value>>,
    preserve_unknown_fields: bool,
}

#[derive(Debug, Clone)]
enum Root {
    Named(String),
    Inline(Value),
    Deduced,
}

/// The prefix of references into `components.schemas`.
const COMPONENTS_PREFIX: &str = "#/components/schemas/";
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const RAW_EXTENSION: &str = "io.k8s.apimachinery.pkg.runtime.RawExtension";
pub(crate) const UNTYPED_ATOMIC: &str = "__untyped_atomic_";
pub(crate) const UNTYPED_DEDUCED: &str = "__untyped_deduced_";

impl TypeSchema {
    /// The definition `name` of `definitions` (OpenAPI v3
    /// `components.schemas`; references read `#/components/schemas/<name>`,
    /// bare or wrapped as `{"allOf":[{"$ref":…}]}`).
    pub fn named(definitions: Arc<Map<String, Value>>, name: impl Into<String>) -> Self {
        Self {
            root: Root::Named(name.into()),
            definitions,
            preserve_unknown_fields: false,
        }
    }

    /// An inline schema without references (a CRD's `openAPIV3Schema` as
    /// written).
    pub fn inline(schema: Value) -> Self {
        Self::inline_with_definitions(schema, Arc::default())
    }

    /// An inline schema whose references resolve in `definitions`.
    pub fn inline_with_definitions(schema: Value, definitions: Arc<Map<String, Value>>) -> Self {
        Self {
            root: Root::Inline(schema),
            definitions,
            preserve_unknown_fields: false,
        }
    }

    /// A CRD version's `openAPIV3Schema` the way kube-apiserver types it
    /// for apply: `apiVersion` and `kind` are strings and `metadata` is the
    /// `ObjectMeta` of `definitions` (when present there), as the CRD
    /// OpenAPI builder sets them.
    pub fn custom_resource(schema: Value, definitions: Arc<Map<String, Value>>) -> Self {
        let mut schema = schema;
        if let Value::Object(root) = &mut schema {
            let properties = root
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(properties) = properties {
                properties.insert("apiVersion".into(), serde_json::json!({"type": "string"}));
                properties.insert("kind".into(), serde_json::json!({"type": "string"}));
                if definitions.contains_key(OBJECT_META) {
                    properties.insert(
                        "metadata".into(),
                        serde_json::json!({"$ref": format!("{COMPONENTS_PREFIX}{OBJECT_META}")}),
                    );
                }
            }
            root.entry("type").or_insert_with(|| "object".into());
        }
        Self::inline_with_definitions(schema, definitions)
    }

    /// No schema: every map is granular and every list atomic (Go:
    /// `DeducedParseableType`).
    pub fn deduced() -> Self {
        Self {
            root: Root::Deduced,
            definitions: Arc::default(),
            preserve_unknown_fields: false,
        }
    }

    /// Treats every object of every definition as if it had
    /// `x-kubernetes-preserve-unknown-fields: true` (Go's
    /// `preserveUnknownFields` argument of `NewTypeConverter`).
    pub fn preserve_unknown_fields(mut self, preserve: bool) -> Self {
        self.preserve_unknown_fields = preserve;
        self
    }
}

/// A scalar kind (Go: `schema.Scalar`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    Numeric,
    String,
    Boolean,
    Untyped,
}

/// How the elements of a list or map relate (Go: `ElementRelationship`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relationship {
    /// Not given (maps only): granular.
    Unspecified,
    Associative,
    Atomic,
    Separable,
}

/// The possible shapes of a value (Go: `schema.Atom`); more than one is set
/// for untyped values, and the value decides.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Atom {
    pub(crate) scalar: Option<Scalar>,
    pub(crate) list: Option<Arc<ListType>>,
    pub(crate) map: Option<Arc<MapType>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListType {
    pub(crate) element: TypeRef,
    pub(crate) relationship: Relationship,
    pub(crate) keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StructField {
    pub(crate) ty: TypeRef,
    pub(crate) default: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MapType {
    pub(crate) fields: BTreeMap<String, StructField>,
    /// The element type of keys that are not fields; empty when unknown
    /// keys are not allowed.
    pub(crate) element: TypeRef,
    pub(crate) relationship: Relationship,
}

impl MapType {
    pub(crate) fn field(&self, name: &str) -> Option<&StructField> {
        self.fields.get(name)
    }

    /// The type of the value under `key`: its field's, else the element's.
    pub(crate) fn type_of(&self, key: &str) -> &TypeRef {
        self.fields.get(key).map_or(&self.element, |f| &f.ty)
    }
}

/// A reference to a type: by name, or inline (Go: `schema.TypeRef`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TypeRef {
    pub(crate) named: Option<Arc<str>>,
    pub(crate) inline: Atom,
    pub(crate) relationship: Option<Relationship>,
}

impl TypeRef {
    fn named(name: &str) -> Self {
        Self {
            named: Some(Arc::from(name)),
            ..Self::default()
        }
    }

    fn inline(atom: Atom) -> Self {
        Self {
            inline: atom,
            ..Self::default()
        }
    }

    /// Whether this is the empty reference (no type at all).
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The name printed in schema errors.
    pub(crate) fn display_name(&self) -> String {
        self.named
            .as_deref()
            .map_or_else(|| "inlined type".to_owned(), str::to_owned)
    }
}

/// Converted type information for one resource.
#[derive(Debug)]
pub(crate) struct Schema {
    types: HashMap<String, Atom>,
    pub(crate) root: TypeRef,
}

impl Schema {
    /// Converts a [`TypeSchema`] (Go: `schemaconv.ToSchemaFromOpenAPI`),
    /// converting only the definitions reachable from the root.
    pub(crate) fn build(input: &TypeSchema) -> Result<Self, Error> {
        let mut conv = Converter {
            definitions: &input.definitions,
            preserve_unknown_fields: input.preserve_unknown_fields,
            types: HashMap::new(),
            queued: Vec::new(),
            errors: Vec::new(),
        };
        let root = match &input.root {
            Root::Named(name) => {
                conv.queue(name);
                TypeRef::named(name)
            }
            Root::Inline(schema) => {
                TypeRef::inline(conv.visit(schema, input.preserve_unknown_fields, "inlined"))
            }
            Root::Deduced => TypeRef::named(UNTYPED_DEDUCED),
        };
        let mut done = std::collections::HashSet::new();
        while let Some(name) = conv.queued.pop() {
            if !done.insert(name.clone()) {
                continue;
            }
            if let Some(atom) = conv.convert_definition(&name) {
                conv.types.insert(name, atom);
            }
        }
        if !conv.errors.is_empty() {
            return Err(Error::Schema {
                message: conv.errors.join("\n"),
            });
        }
        let mut types = conv.types;
        types.insert(UNTYPED_ATOMIC.to_owned(), untyped_atomic());
        types.insert(UNTYPED_DEDUCED.to_owned(), untyped_deduced());
        Ok(Self { types, root })
    }

    /// The atom a reference stands for, with its relationship override
    /// applied (Go: `Schema.Resolve`). `None` when the name is unknown or a
    /// scalar carries an override.
    pub(crate) fn resolve(&self, tr: &TypeRef) -> Option<Atom> {
        let atom = match &tr.named {
            Some(name) => self.types.get(&**name)?.clone(),
            None => tr.inline.clone(),
        };
        let Some(rel) = tr.relationship else {
            return Some(atom);
        };
        if let Some(map) = &atom.map {
            let mut map = (**map).clone();
            map.relationship = rel;
            Some(Atom {
                map: Some(Arc::new(map)),
                ..atom
            })
        } else if let Some(list) = &atom.list {
            let mut list = (**list).clone();
            list.relationship = rel;
            Some(Atom {
                list: Some(Arc::new(list)),
                ..atom
            })
        } else {
            None
        }
    }
}

fn untyped_atomic() -> Atom {
    Atom {
        scalar: Some(Scalar::Untyped),
        list: Some(Arc::new(ListType {
            element: TypeRef::named(UNTYPED_ATOMIC),
            relationship: Relationship::Atomic,
            keys: Vec::new(),
        })),
        map: Some(Arc::new(MapType {
            fields: BTreeMap::new(),
            element: TypeRef::named(UNTYPED_ATOMIC),
            relationship: Relationship::Atomic,
        })),
    }
}

fn untyped_deduced() -> Atom {
    Atom {
        scalar: Some(Scalar::Untyped),
        list: Some(Arc::new(ListType {
            element: TypeRef::named(UNTYPED_ATOMIC),
            relationship: Relationship::Atomic,
            keys: Vec::new(),
        })),
        map: Some(Arc::new(MapType {
            fields: BTreeMap::new(),
            element: TypeRef::named(UNTYPED_DEDUCED),
            relationship: Relationship::Separable,
        })),
    }
}

/// Whether a map is the deduced map of an untyped value: no fields and
/// deduced elements (Go: `isUntypedDeducedMap`).
pub(crate) fn is_untyped_deduced_map(m: &MapType) -> bool {
    let deduced_element = match &m.element.named {
        Some(name) => &**name == UNTYPED_DEDUCED,
        None => m.element.inline.scalar == Some(Scalar::Untyped),
    };
    deduced_element && m.fields.is_empty()
}

struct Converter<'a> {
    definitions: &'a Map<String, Value>,
    preserve_unknown_fields: bool,
    types: HashMap<String, Atom>,
    queued: Vec<String>,
    errors: Vec<String>,
}

impl Converter<'_> {
    fn queue(&mut self, name: &str) {
        if !self.types.contains_key(name) && name != UNTYPED_ATOMIC && name != UNTYPED_DEDUCED {
            self.queued.push(name.to_owned());
        }
    }

    /// Converts one definition; `None` for unknown names and for
    /// definitions that are only a reference, which Go leaves out (using
    /// them fails when they are resolved).
    fn convert_definition(&mut self, name: &str) -> Option<Atom> {
        match name {
            QUANTITY => Some(scalar(Scalar::Untyped)),
            RAW_EXTENSION => Some(untyped_atomic()),
            _ => {
                let spec = self.definitions.get(name)?;
                if spec
                    .get("$ref")
                    .and_then(Value::as_str)
                    .is_some_and(|r| !r.is_empty())
                {
                    return None;
                }
                Some(self.visit(spec, self.preserve_unknown_fields, name))
            }
        }
    }

    /// Go: `visitSpec` + `parseSchema`.
    fn visit(&mut self, spec: &Value, preserve: bool, name: &str) -> Atom {
        let preserve = preserve
            || spec.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        let typ = match spec.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(ts)) => ts.first().and_then(Value::as_str).unwrap_or(""),
            _ => "",
        };
        match typ {
            "" => Atom {
                scalar: Some(Scalar::Untyped),
                list: Some(Arc::new(self.parse_list(spec, preserve, name))),
                map: Some(Arc::new(self.parse_object(spec, preserve, name))),
            },
            "object" => Atom {
                map: Some(Arc::new(self.parse_object(spec, preserve, name))),
                ..Atom::default()
            },
            "array" => Atom {
                list: Some(Arc::new(self.parse_list(spec, preserve, name))),
                ..Atom::default()
            },
            "integer" | "number" => scalar(Scalar::Numeric),
            "boolean" => scalar(Scalar::Boolean),
            "string" => match spec.get("format").and_then(Value::as_str).unwrap_or("") {
                "" | "byte" => scalar(Scalar::String),
                _ => scalar(Scalar::Untyped),
            },
            other => {
                self.errors
                    .push(format!("{name}: unrecognized type: '{other}'"));
                scalar(Scalar::Untyped)
            }
        }
    }

    /// Go: `makeOpenAPIRef`.
    fn make_ref(&mut self, spec: &Value, preserve: bool, name: &str) -> TypeRef {
        if let Some(target) = ref_name(spec) {
            self.queue(&target);
            let relationship = self.map_relationship(spec, name);
            return TypeRef {
                named: Some(Arc::from(target.as_str())),
                inline: Atom::default(),
                relationship,
            };
        }
        TypeRef::inline(self.visit(spec, preserve, &format!("inlined in {name}")))
    }

    fn parse_object(&mut self, spec: &Value, preserve: bool, name: &str) -> MapType {
        let mut fields = BTreeMap::new();
        let properties = spec.get("properties").and_then(Value::as_object);
        if let Some(properties) = properties {
            for (field, member) in properties {
                let ty = self.make_ref(member, preserve, name);
                let default = member.get("default").cloned();
                fields.insert(field.clone(), StructField { ty, default });
            }
        }
        let no_properties = properties.is_none_or(Map::is_empty);
        let element = match spec.get("additionalProperties") {
            None | Some(Value::Null) => {
                if preserve || no_properties {
                    TypeRef::named(UNTYPED_DEDUCED)
                } else {
                    TypeRef::default()
                }
            }
            Some(Value::Bool(true)) => TypeRef::named(UNTYPED_DEDUCED),
            Some(Value::Bool(false)) => TypeRef::default(),
            Some(schema) => self.make_ref(schema, preserve, name),
        };
        let relationship = self
            .map_relationship(spec, name)
            .unwrap_or(Relationship::Unspecified);
        MapType {
            fields,
            element,
            relationship,
        }
    }

    fn parse_list(&mut self, spec: &Value, preserve: bool, name: &str) -> ListType {
        let (relationship, keys) = self.list_relationship(spec, name);
        let element = match spec.get("items") {
            Some(items @ Value::Object(_)) => self.make_ref(items, preserve, name),
            Some(Value::Array(items)) if items.len() == 1 => {
                self.make_ref(&items[0], preserve, name)
            }
            Some(Value::Array(_)) => {
                self.errors.push(format!(
                    "{name}: structural schema arrays must have exactly one member subtype"
                ));
                TypeRef::named(UNTYPED_DEDUCED)
            }
            _ => TypeRef::named(UNTYPED_ATOMIC),
        };
        ListType {
            element,
            relationship,
            keys,
        }
    }

    /// Go: `getMapElementRelationship`.
    fn map_relationship(&mut self, spec: &Value, name: &str) -> Option<Relationship> {
        match spec.get("x-kubernetes-map-type")? {
            Value::String(s) if s == "atomic" => Some(Relationship::Atomic),
            Value::String(s) if s == "granular" => Some(Relationship::Separable),
            other => {
                self.errors
                    .push(format!("{name}: unknown map type {}", go_plain(other)));
                None
            }
        }
    }

    /// Go: `getListElementRelationship`.
    fn list_relationship(&mut self, spec: &Value, name: &str) -> (Relationship, Vec<String>) {
        if let Some(list_type) = spec.get("x-kubernetes-list-type") {
            return match list_type.as_str() {
                Some("atomic") => (Relationship::Atomic, Vec::new()),
                Some("set") => (Relationship::Associative, Vec::new()),
                Some("map") => match spec.get("x-kubernetes-list-map-keys") {
                    None => {
                        self.errors.push(format!("{name}: missing map keys"));
                        (Relationship::Associative, Vec::new())
                    }
                    Some(Value::Array(keys)) => (
                        Relationship::Associative,
                        keys.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect(),
                    ),
                    Some(other) => {
                        self.errors
                            .push(format!("{name}: uninterpreted map keys: {other}"));
                        (Relationship::Associative, Vec::new())
                    }
                },
                _ => {
                    self.errors
                        .push(format!("{name}: unknown list type {}", go_plain(list_type)));
                    (Relationship::Atomic, Vec::new())
                }
            };
        }
        if let Some(strategy) = spec.get("x-kubernetes-patch-strategy") {
            return match strategy.as_str() {
                Some("merge" | "merge,retainKeys") => {
                    match spec.get("x-kubernetes-patch-merge-key") {
                        Some(Value::String(key)) => (Relationship::Associative, vec![key.clone()]),
                        Some(other) => {
                            self.errors
                                .push(format!("{name}: uninterpreted merge key: {other}"));
                            (Relationship::Associative, Vec::new())
                        }
                        None => (Relationship::Associative, Vec::new()),
                    }
                }
                Some("retainKeys") => (Relationship::Atomic, Vec::new()),
                _ => {
                    self.errors.push(format!(
                        "{name}: unknown patch strategy {}",
                        go_plain(strategy)
                    ));
                    (Relationship::Atomic, Vec::new())
                }
            };
        }
        (Relationship::Atomic, Vec::new())
    }
}

fn scalar(s: Scalar) -> Atom {
    Atom {
        scalar: Some(s),
        ..Atom::default()
    }
}

/// A string value bare, anything else as JSON (Go's `%v` of an extension).
fn go_plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The definition a schema refers to: `$ref`, or the one `$ref` of a
/// single-element `allOf`; the name is what follows the last `/`.
fn ref_name(spec: &Value) -> Option<String> {
    let reference = match spec.get("$ref").and_then(Value::as_str) {
        Some(r) if !r.is_empty() => r,
        _ => match spec.get("allOf").and_then(Value::as_array) {
            Some(all) if all.len() == 1 => all[0].get("$ref").and_then(Value::as_str)?,
            _ => return None,
        },
    };
    let name = reference.rsplit('/').next().unwrap_or(reference);
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs(v: Value) -> Arc<Map<String, Value>> {
        match v {
            Value::Object(m) => Arc::new(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn converts_lists_maps_and_refs() {
        let definitions = defs(json!({
            "T": {
                "type": "object",
                "properties": {
                    "set": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                    "byKey": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Item"}]},
                        "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
                    "mergeSet": {"type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge"},
                    "plain": {"type": "array", "items": {"type": "string"}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "atomicMap": {"type": "object", "x-kubernetes-map-type": "atomic",
                        "additionalProperties": {"type": "string"}},
                    "ios": {"x-kubernetes-int-or-string": true},
                    "sel": {"$ref": "#/components/schemas/Item", "x-kubernetes-map-type": "atomic"}
                }
            },
            "Item": {"type": "object", "properties": {"name": {"type": "string"}}}
        }));
        let schema = Schema::build(&TypeSchema::named(definitions, "T")).unwrap();
        let root = schema.resolve(&schema.root).unwrap();
        let map = root.map.unwrap();
        let list = |f: &str| schema.resolve(&map.fields[f].ty).unwrap().list.unwrap();
        assert_eq!(list("set").relationship, Relationship::Associative);
        assert!(list("set").keys.is_empty());
        assert_eq!(list("byKey").keys, ["name"]);
        assert_eq!(list("mergeSet").relationship, Relationship::Associative);
        assert_eq!(list("plain").relationship, Relationship::Atomic);
        let labels = schema
            .resolve(&map.fields["labels"].ty)
            .unwrap()
            .map
            .unwrap();
        assert_eq!(labels.relationship, Relationship::Unspecified);
        let atomic = schema
            .resolve(&map.fields["atomicMap"].ty)
            .unwrap()
            .map
            .unwrap();
        assert_eq!(atomic.relationship, Relationship::Atomic);
        let ios = schema.resolve(&map.fields["ios"].ty).unwrap();
        assert_eq!(ios.scalar, Some(Scalar::Untyped));
        let sel = schema.resolve(&map.fields["sel"].ty).unwrap().map.unwrap();
        assert_eq!(sel.relationship, Relationship::Atomic);
        // Unknown fields are not allowed where properties are given.
        assert!(map.element.is_empty());
    }

    #[test]
    fn bad_extensions_fail() {
        let err = Schema::build(&TypeSchema::inline(json!({
            "type": "object",
            "properties": {"l": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "bag"}}
        })))
        .unwrap_err();
        assert!(err.to_string().contains("unknown list type bag"), "{err}");
    }
}
