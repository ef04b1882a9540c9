//! [`decode_error`]: the error kube-apiserver's JSON decoding reports for a
//! request body holding a value of the wrong JSON type for the kind's Go
//! struct, worked out from the kind's OpenAPI schema.
//!
//! Go decodes bodies with `sigs.k8s.io/json` (a fork of `encoding/json` with
//! the same messages; its `UnmarshalTypeError` is the standard library's) and
//! the custom `UnmarshalJSON` of `intstr.IntOrString`, `resource.Quantity`,
//! `metav1.Time`, `metav1.MicroTime`, `metav1.FieldsV1`,
//! `runtime.RawExtension` and apiextensions' `JSON`, `JSONSchemaPropsOrBool`,
//! `JSONSchemaPropsOrArray` and `JSONSchemaPropsOrStringArray`. The parsers
//! those call are here too: `time.Parse` for the two RFC 3339 layouts,
//! `base64.StdEncoding.Decode` and `resource.ParseQuantity`, down to their
//! error texts.

use std::fmt;

use serde_json::{Map, Number, Value, json};

use crate::schema::{V3_REF_PREFIX, ref_of};
use crate::service::TypeSchema;

/// How deep `$ref`s are followed; beyond it a schema accepts anything (a
/// guard against reference cycles that do not descend into the value).
const MAX_REF_CHAIN: usize = 32;

const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";
const FIELDS_V1: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1";
const RAW_EXTENSION: &str = "io.k8s.apimachinery.pkg.runtime.RawExtension";
/// The package of apiextensions' types, followed by the version.
const APIEXTENSIONS: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.";

/// The schema of `interface{}` values (no schema at all).
static ANYTHING: Value = Value::Null;

/// Go named types that the OpenAPI schemas show as their underlying type, for
/// the kinds kapi serves (from the Kubernetes 1.33 Go types): definition,
/// property, the Go type `reflect` prints for the property.
const NAMED_TYPES: &[(&str, &str, &str)] = &[
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "uid",
        "types.UID",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
        "uid",
        "types.UID",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
        "operation",
        "v1.ManagedFieldsOperationType",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
        "operator",
        "v1.LabelSelectorOperator",
    ),
    ("io.k8s.api.core.v1.ObjectReference", "uid", "types.UID"),
    (
        "io.k8s.api.core.v1.NamespaceSpec",
        "finalizers",
        "[]v1.FinalizerName",
    ),
    (
        "io.k8s.api.core.v1.NamespaceStatus",
        "phase",
        "v1.NamespacePhase",
    ),
    (
        "io.k8s.api.core.v1.NamespaceCondition",
        "type",
        "v1.NamespaceConditionType",
    ),
    (
        "io.k8s.api.core.v1.NamespaceCondition",
        "status",
        "v1.ConditionStatus",
    ),
    ("io.k8s.api.core.v1.Secret", "type", "v1.SecretType"),
    (
        "io.k8s.api.coordination.v1.LeaseSpec",
        "strategy",
        "v1.CoordinatedLeaseStrategy",
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec",
        "scope",
        "v1.ResourceScope",
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceConversion",
        "strategy",
        "v1.ConversionStrategyType",
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionCondition",
        "type",
        "v1.CustomResourceDefinitionConditionType",
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionCondition",
        "status",
        "v1.ConditionStatus",
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "$schema",
        "v1.JSONSchemaURL",
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "definitions",
        "v1.JSONSchemaDefinitions",
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "dependencies",
        "v1.JSONSchemaDependencies",
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "x-kubernetes-validations",
        "v1.ValidationRules",
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.ValidationRule",
        "reason",
        "v1.FieldValueErrorReason",
    ),
];

/// The error Go's JSON decoding reports for `object` decoded into the Go
/// type `schema` describes (a built-in kind), or `None` if it decodes.
///
/// Wrong JSON types give Go's `json.UnmarshalTypeError` text, `json: cannot
/// unmarshal <what> into Go struct field <Struct>.<path> of type <type>`:
/// - `<what>` is `string`, `number`, `bool`, `array` or `object`; a number
///   into an integer field that is not an integer or does not fit is
///   `number <literal>` (`number 1.5`);
/// - `<Struct>` is the innermost struct whose field was being decoded and
///   `<path>` the JSON names of the struct fields from the top, joined with
///   `.`; map keys and array indices are not in it
///   (`PolicyRule.rules.verbs`);
/// - `<type>` is the Go type: `string`, `int32`, `bool`, `[]string`,
///   `map[string]string`, `[]uint8` for bytes, `v1.ObjectMeta` for a struct
///   (package name, then type name), `types.UID` and the like for named
///   scalar types of the served kinds.
///
/// A value of the wrong type at the top reads `json: cannot unmarshal array
/// into Go value of type v1.ConfigMap`. Other errors are the parsers' own:
/// `illegal base64 data at input byte 3` for bytes; `parsing time "x" as
/// "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"` for `Time` and
/// `MicroTime` (whose layout needs exactly six fractional digits); the
/// `resource.ParseQuantity` errors for quantities. `IntOrString` takes a
/// string or an `int32` (else a type error naming `int32`), `Time` and
/// `MicroTime` a string (else one naming `string`); `RawExtension`,
/// `FieldsV1`, apiextensions' `JSON` and `x-kubernetes-preserve-unknown-fields`
/// take anything. `null` decodes everywhere.
///
/// Which error wins follows Go: a type error or bad base64 is remembered and
/// decoding goes on, so the first one is reported; an error from a custom
/// `UnmarshalJSON` (times, quantities, `IntOrString`, `JSONSchemaProps*`)
/// stops decoding at once and is reported even if a remembered one came
/// before it. Go goes through object members in document order; serde_json
/// maps iterate in sorted key order, so "first" here means first by sorted
/// keys.
///
/// Top-level `apiVersion` and `kind` are skipped: kube-apiserver reads them
/// before (`SimpleMetaFactory.Interpret`, case-insensitive, failing with
/// `couldn't get version/kind; json parse error: json: cannot unmarshal
/// number into Go struct field .apiVersion of type string`). Not covered:
/// Go named types outside the served kinds print as their underlying type; a
/// number's `<literal>` is serde_json's rendering (`1e3` reads `1000.0`); a
/// string's JSON escapes are already decoded where Go sees raw bytes
/// (quantities); custom-resource schemas (decoded as unstructured in Go).
///
/// ```
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kapi_openapi::{OpenApiService, ResourceSpec, decode_error};
/// use serde_json::json;
///
/// let openapi = OpenApiService::new("v1.33.0");
/// openapi.add_builtin::<ConfigMap>(ResourceSpec::new("", "v1", "configmaps", "ConfigMap", true));
/// let schema = openapi.schema_of("", "v1", "ConfigMap").unwrap();
/// assert_eq!(
///     decode_error(&schema, &json!({"data": {"a": 1}})).as_deref(),
///     Some("json: cannot unmarshal number into Go struct field ConfigMap.data of type string"),
/// );
/// assert_eq!(decode_error(&schema, &json!({"data": {"a": "1"}})), None);
/// ```
pub fn decode_error(schema: &TypeSchema, object: &Value) -> Option<String> {
    schema.schema()?;
    let root = json!({ "$ref": format!("{V3_REF_PREFIX}{}", schema.name) });
    let mut decoder = Decoder::new(schema);
    decoder.skip_type_meta = true;
    decoder
        .decode(&root, object)
        .map(|failure| failure.to_string())
}

/// An error of Go's decoding.
#[derive(Debug)]
enum Failure {
    /// `json.UnmarshalTypeError`; `context` is its `Struct` and `Field`.
    Type {
        value: String,
        go_type: String,
        context: Option<(String, String)>,
    },
    /// Any other error, reported as it reads.
    Other(String),
}

impl Failure {
    fn mismatch(value: impl Into<String>, go_type: impl Into<String>) -> Self {
        Self::Type {
            value: value.into(),
            go_type: go_type.into(),
            context: None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Type {
                value,
                go_type,
                context: Some((strukt, field)),
            } => write!(
                f,
                "json: cannot unmarshal {value} into Go struct field {strukt}.{field} of type {go_type}"
            ),
            Self::Type {
                value,
                go_type,
                context: None,
            } => write!(
                f,
                "json: cannot unmarshal {value} into Go value of type {go_type}"
            ),
            Self::Other(message) => f.write_str(message),
        }
    }
}

/// `Err` is an error that stops decoding (Go: returned rather than saved).
type Step = Result<(), Failure>;

/// A schema node with its `$ref`s followed: the definition reached (if any)
/// and its body (`None` when the definition is missing).
#[derive(Clone, Copy)]
struct Target<'s> {
    name: Option<&'s str>,
    node: Option<&'s Map<String, Value>>,
}

/// The Go type a schema node stands for, as far as decoding goes.
#[derive(Clone, Copy)]
enum Shape<'s> {
    /// Raw JSON, `interface{}`, or a schema we cannot tell.
    Any,
    Struct {
        name: &'s str,
        properties: Option<&'s Map<String, Value>>,
    },
    Map(&'s Value),
    Slice(&'s Value),
    Bytes,
    String,
    Int(u32),
    Float(u32),
    Bool,
    IntOrString,
    Quantity,
    Time(&'static Layout),
    /// `JSONSchemaPropsOr*`, with the `JSONSchemaProps` definition's name.
    SchemaOrBool(&'s str),
    SchemaOrArray(&'s str),
    SchemaOrStringArray(&'s str),
}

/// One run of Go's decoder (`decodeState`).
struct Decoder<'s> {
    schema: &'s TypeSchema,
    /// Go's `errorContext`: the innermost struct whose field is being
    /// decoded and the JSON names of the fields from the top.
    strukt: &'s str,
    fields: Vec<&'s str>,
    /// The first saved error.
    saved: Option<Failure>,
    /// Skip `apiVersion` and `kind` of the first struct.
    skip_type_meta: bool,
}

impl<'s> Decoder<'s> {
    fn new(schema: &'s TypeSchema) -> Self {
        Self {
            schema,
            strukt: "",
            fields: Vec::new(),
            saved: None,
            skip_type_meta: false,
        }
    }

    /// Go's `unmarshal`: the error that stopped decoding, else the first
    /// saved one.
    fn decode(&mut self, node: &'s Value, value: &Value) -> Option<Failure> {
        match self.walk(node, value, None) {
            Err(failure) => Some(failure),
            Ok(()) => self.saved.take(),
        }
    }

    /// Go's `addErrorContext`: a type error gets the current struct and
    /// field path (replacing any it had), if there is one.
    fn in_context(&self, mut failure: Failure) -> Failure {
        if let Failure::Type { context, .. } = &mut failure
            && !self.fields.is_empty()
        {
            *context = Some((self.strukt.to_owned(), self.fields.join(".")));
        }
        failure
    }

    /// Go's `saveError`: keeps the first error, in its context.
    fn save(&mut self, failure: Failure) {
        if self.saved.is_none() {
            self.saved = Some(self.in_context(failure));
        }
    }

    /// Saves the type error of `value` decoded into the type of `node`.
    fn mismatch(&mut self, node: &'s Value, value: &Value, named: Option<&str>) -> Step {
        let go_type = self.type_name(node, named);
        self.save(Failure::mismatch(kind(value), go_type));
        Ok(())
    }

    fn resolve(&self, node: &'s Value) -> Target<'s> {
        let mut target = Target {
            name: None,
            node: node.as_object(),
        };
        for _ in 0..MAX_REF_CHAIN {
            let Some(object) = target.node else { break };
            if object.contains_key("properties") || object.contains_key("additionalProperties") {
                break;
            }
            let Some(reference) = ref_of(object) else {
                break;
            };
            let name = reference.strip_prefix(V3_REF_PREFIX).unwrap_or(reference);
            target = Target {
                name: Some(name),
                node: self.schema.definitions.get(name).and_then(Value::as_object),
            };
        }
        target
    }

    /// The Go type of `node` as `reflect` prints it; `named` overrides it.
    fn type_name(&self, node: &'s Value, named: Option<&str>) -> String {
        if let Some(named) = named {
            return named.to_owned();
        }
        let target = self.resolve(node);
        if let Some(name) = target.name {
            return go_name(name);
        }
        match shape_of(target) {
            Shape::Map(values) => format!("map[string]{}", self.type_name(values, None)),
            Shape::Slice(items) => format!("[]{}", self.type_name(items, None)),
            Shape::Bytes => "[]uint8".to_owned(),
            Shape::String => "string".to_owned(),
            Shape::Int(bits) => format!("int{bits}"),
            Shape::Float(bits) => format!("float{bits}"),
            Shape::Bool => "bool".to_owned(),
            Shape::IntOrString => "intstr.IntOrString".to_owned(),
            _ => "interface {}".to_owned(),
        }
    }

    /// Decodes `value` into the type of `node` (Go: `d.value`); `named` is
    /// the Go type when the schema does not tell it.
    fn walk(&mut self, node: &'s Value, value: &Value, named: Option<&'static str>) -> Step {
        if value.is_null() {
            return Ok(());
        }
        match shape_of(self.resolve(node)) {
            Shape::Any => Ok(()),
            Shape::Struct { name, properties } => match value {
                Value::Object(fields) => self.walk_struct(name, properties, fields),
                _ => self.mismatch(node, value, named),
            },
            Shape::Map(values) => match value {
                Value::Object(fields) => {
                    let named = named.and_then(|named| named.strip_prefix("map[string]"));
                    fields
                        .values()
                        .try_for_each(|child| self.walk(values, child, named))
                }
                _ => self.mismatch(node, value, named),
            },
            Shape::Slice(items) => match value {
                Value::Array(elements) => {
                    let named = named.and_then(|named| named.strip_prefix("[]"));
                    elements
                        .iter()
                        .try_for_each(|element| self.walk(items, element, named))
                }
                _ => self.mismatch(node, value, named),
            },
            Shape::Bytes => {
                match value {
                    Value::String(text) => {
                        if let Some(at) = base64_error(text.as_bytes()) {
                            self.save(Failure::Other(format!(
                                "illegal base64 data at input byte {at}"
                            )));
                        }
                    }
                    // An array decodes element by element into uint8.
                    Value::Array(elements) => {
                        for element in elements {
                            match element {
                                Value::Null => {}
                                Value::Number(n) if n.as_u64().is_some_and(|b| b <= 255) => {}
                                Value::Number(n) => {
                                    self.save(Failure::mismatch(format!("number {n}"), "uint8"));
                                }
                                other => self.save(Failure::mismatch(kind(other), "uint8")),
                            }
                        }
                    }
                    _ => return self.mismatch(node, value, named),
                }
                Ok(())
            }
            Shape::String => match value {
                Value::String(_) => Ok(()),
                _ => self.mismatch(node, value, named),
            },
            Shape::Int(bits) => match value {
                Value::Number(n) if fits_int(n, bits) => Ok(()),
                Value::Number(n) => {
                    let go_type = self.type_name(node, named);
                    self.save(Failure::mismatch(format!("number {n}"), go_type));
                    Ok(())
                }
                _ => self.mismatch(node, value, named),
            },
            Shape::Float(bits) => match value {
                Value::Number(n) if fits_float(n, bits) => Ok(()),
                Value::Number(n) => {
                    let go_type = self.type_name(node, named);
                    self.save(Failure::mismatch(format!("number {n}"), go_type));
                    Ok(())
                }
                _ => self.mismatch(node, value, named),
            },
            Shape::Bool => match value {
                Value::Bool(_) => Ok(()),
                _ => self.mismatch(node, value, named),
            },
            // `IntOrString.UnmarshalJSON` decodes anything but a string into
            // its int32.
            Shape::IntOrString => match value {
                Value::String(_) => Ok(()),
                Value::Number(n) if fits_int(n, 32) => Ok(()),
                Value::Number(n) => {
                    Err(self.in_context(Failure::mismatch(format!("number {n}"), "int32")))
                }
                other => Err(self.in_context(Failure::mismatch(kind(other), "int32"))),
            },
            // `Quantity.UnmarshalJSON` parses the raw JSON, unquoted and
            // trimmed; an array or object fails at its first byte.
            Shape::Quantity => {
                let parsed = match value {
                    Value::String(text) => parse_quantity(text.trim()),
                    Value::Number(n) => parse_quantity(&n.to_string()),
                    Value::Bool(b) => parse_quantity(if *b { "true" } else { "false" }),
                    _ => Err(QUANTITY_FORMAT),
                };
                parsed.map_err(|message| Failure::Other(message.to_owned()))
            }
            // `Time.UnmarshalJSON` decodes into a string, then parses it.
            Shape::Time(layout) => match value {
                Value::String(text) => parse_time(layout, text).map_err(Failure::Other),
                other => Err(self.in_context(Failure::mismatch(kind(other), "string"))),
            },
            Shape::SchemaOrBool(props) => match value {
                Value::Bool(_) => Ok(()),
                Value::Object(_) => self.nested(&json!({ "$ref": reference(props) }), value),
                _ => Err(Failure::Other("boolean or JSON schema expected".to_owned())),
            },
            Shape::SchemaOrArray(props) => match value {
                Value::Object(_) => self.nested(&json!({ "$ref": reference(props) }), value),
                Value::Array(_) => self.nested(
                    &json!({ "type": "array", "items": { "$ref": reference(props) } }),
                    value,
                ),
                _ => Ok(()),
            },
            Shape::SchemaOrStringArray(props) => match value {
                Value::Object(_) => self.nested(&json!({ "$ref": reference(props) }), value),
                Value::Array(_) => self.nested(
                    &json!({ "type": "array", "items": { "type": "string" } }),
                    value,
                ),
                _ => Ok(()),
            },
        }
    }

    /// Decodes an object into a struct: known fields in the map's order,
    /// unknown ones skipped.
    fn walk_struct(
        &mut self,
        name: &'s str,
        properties: Option<&'s Map<String, Value>>,
        fields: &Map<String, Value>,
    ) -> Step {
        let skip_type_meta = std::mem::take(&mut self.skip_type_meta);
        let Some(properties) = properties else {
            return Ok(());
        };
        let (outer, depth) = (self.strukt, self.fields.len());
        for (key, child) in fields {
            if skip_type_meta && (key == "apiVersion" || key == "kind") {
                continue;
            }
            let Some((field, property)) = properties.get_key_value(key.as_str()) else {
                continue;
            };
            self.strukt = short_name(name);
            self.fields.push(field.as_str());
            self.walk(property, child, named_type(name, field))?;
            self.fields.truncate(depth);
            self.strukt = outer;
        }
        Ok(())
    }

    /// A custom `UnmarshalJSON` that decodes `value` into the type of `node`
    /// with a decoder of its own: whatever error that reports stops this
    /// decoding, type errors taking this decoder's context.
    fn nested(&self, node: &Value, value: &Value) -> Step {
        match Decoder::new(self.schema).decode(node, value) {
            Some(failure) => Err(self.in_context(failure)),
            None => Ok(()),
        }
    }
}

fn reference(name: &str) -> String {
    format!("{V3_REF_PREFIX}{name}")
}

fn shape_of(target: Target<'_>) -> Shape<'_> {
    if let Some(name) = target.name
        && let Some(shape) = special(name)
    {
        return shape;
    }
    let Some(node) = target.node else {
        return Shape::Any;
    };
    if node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return Shape::Any;
    }
    let format = node.get("format").and_then(Value::as_str);
    if format == Some("int-or-string")
        || node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
    {
        return Shape::IntOrString;
    }
    let properties = node.get("properties").and_then(Value::as_object);
    let struct_or_any = || {
        target
            .name
            .map_or(Shape::Any, |name| Shape::Struct { name, properties })
    };
    match node.get("type").and_then(Value::as_str) {
        Some("object") | None if properties.is_some() => struct_or_any(),
        Some("object") => match node.get("additionalProperties") {
            Some(values @ Value::Object(_)) => Shape::Map(values),
            Some(Value::Bool(true)) => Shape::Map(&ANYTHING),
            _ => struct_or_any(),
        },
        Some("array") => node
            .get("items")
            .filter(|items| items.is_object())
            .map_or(Shape::Any, Shape::Slice),
        Some("string") if format == Some("byte") => Shape::Bytes,
        Some("string") => Shape::String,
        Some("integer") if format == Some("int32") => Shape::Int(32),
        Some("integer") => Shape::Int(64),
        Some("number") if format == Some("float") => Shape::Float(32),
        Some("number") => Shape::Float(64),
        Some("boolean") => Shape::Bool,
        _ => Shape::Any,
    }
}

/// The types with a custom `UnmarshalJSON`, by definition name.
fn special(name: &str) -> Option<Shape<'_>> {
    match name {
        INT_OR_STRING => return Some(Shape::IntOrString),
        QUANTITY => return Some(Shape::Quantity),
        TIME => return Some(Shape::Time(&RFC3339)),
        MICRO_TIME => return Some(Shape::Time(&RFC3339_MICRO)),
        FIELDS_V1 | RAW_EXTENSION => return Some(Shape::Any),
        _ => {}
    }
    if !name.starts_with(APIEXTENSIONS) {
        return None;
    }
    let props = |suffix: &str| name.strip_suffix(suffix).unwrap_or(name);
    match short_name(name) {
        "JSON" => Some(Shape::Any),
        "JSONSchemaPropsOrBool" => Some(Shape::SchemaOrBool(props("OrBool"))),
        "JSONSchemaPropsOrArray" => Some(Shape::SchemaOrArray(props("OrArray"))),
        "JSONSchemaPropsOrStringArray" => Some(Shape::SchemaOrStringArray(props("OrStringArray"))),
        _ => None,
    }
}

fn named_type(definition: &str, property: &str) -> Option<&'static str> {
    NAMED_TYPES
        .iter()
        .find(|(d, p, _)| *d == definition && *p == property)
        .map(|(_, _, go_type)| *go_type)
}

/// The type name of a definition (`ObjectMeta`).
fn short_name(definition: &str) -> &str {
    definition.rsplit('.').next().unwrap_or(definition)
}

/// The Go type of a definition as `reflect` prints it: package name, then
/// type name (`v1.ObjectMeta`, `intstr.IntOrString`).
fn go_name(definition: &str) -> String {
    let mut parts = definition.rsplitn(3, '.');
    match (parts.next(), parts.next()) {
        (Some(name), Some(package)) => format!("{package}.{name}"),
        _ => definition.to_owned(),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Go: `strconv.ParseInt(literal, 10, 64)` succeeds and the value fits.
///
/// serde_json reads the literal `-0` as the float `-0.0`, which is taken as
/// an integer (so `-0.0`, which Go refuses, is too).
fn fits_int(n: &Number, bits: u32) -> bool {
    n.as_i64()
        .is_some_and(|i| bits == 64 || i32::try_from(i).is_ok())
        || n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative())
}

/// Go: `strconv.ParseFloat(literal, bits)` succeeds.
fn fits_float(n: &Number, bits: u32) -> bool {
    bits == 64 || n.as_f64().is_none_or(|f| f.abs() <= f64::from(f32::MAX))
}

/// Where `base64.StdEncoding.Decode` reports `CorruptInputError`, if it does
/// (padding required, `\r` and `\n` skipped).
fn base64_error(src: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < src.len() {
        match base64_quantum(src, at) {
            Quantum::Next(next) => at = next,
            Quantum::End => return None,
            Quantum::Corrupt(offset) => return Some(offset),
        }
    }
    None
}

/// What one base64 quantum ends in.
enum Quantum {
    /// Four characters read; the next quantum starts here.
    Next(usize),
    /// The input ended cleanly (maybe after padding).
    End,
    /// `CorruptInputError` at this offset.
    Corrupt(usize),
}

/// Go's `decodeQuantum`: up to four characters from `si`.
fn base64_quantum(src: &[u8], mut si: usize) -> Quantum {
    let in_alphabet = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let skip_newlines = |mut at: usize| {
        while at < src.len() && matches!(src[at], b'\n' | b'\r') {
            at += 1;
        }
        at
    };
    let mut read = 0;
    while read < 4 {
        let Some(&c) = src.get(si) else {
            return if read == 0 {
                Quantum::End
            } else {
                Quantum::Corrupt(si - read)
            };
        };
        si += 1;
        if in_alphabet(c) {
            read += 1;
            continue;
        }
        if matches!(c, b'\n' | b'\r') {
            continue;
        }
        // Padding may only follow two or three characters.
        if c != b'=' || read < 2 {
            return Quantum::Corrupt(si - 1);
        }
        if read == 2 {
            si = skip_newlines(si);
            match src.get(si) {
                None => return Quantum::Corrupt(src.len()),
                Some(b'=') => si += 1,
                Some(_) => return Quantum::Corrupt(si - 1),
            }
        }
        si = skip_newlines(si);
        return if si < src.len() {
            Quantum::Corrupt(si)
        } else {
            Quantum::End
        };
    }
    Quantum::Next(si)
}

/// One element of a Go time layout, as `time.Parse` splits layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    /// `2006`
    LongYear,
    /// `01`
    ZeroMonth,
    /// `02`
    ZeroDay,
    /// `15`
    Hour,
    /// `04`
    ZeroMinute,
    /// `05`
    ZeroSecond,
    /// `.000…`, with this many digits.
    Fraction(usize),
    /// `Z07:00`
    ColonZone,
}

/// A Go time layout: its text and its chunks (literal prefix, element,
/// element text).
#[derive(Debug)]
struct Layout {
    text: &'static str,
    chunks: &'static [(&'static str, Elem, &'static str)],
}

/// `time.RFC3339`, the layout of `metav1.Time`.
static RFC3339: Layout = Layout {
    text: "2006-01-02T15:04:05Z07:00",
    chunks: &[
        ("", Elem::LongYear, "2006"),
        ("-", Elem::ZeroMonth, "01"),
        ("-", Elem::ZeroDay, "02"),
        ("T", Elem::Hour, "15"),
        (":", Elem::ZeroMinute, "04"),
        (":", Elem::ZeroSecond, "05"),
        ("", Elem::ColonZone, "Z07:00"),
    ],
};

/// `metav1.RFC3339Micro`, the layout of `metav1.MicroTime`.
static RFC3339_MICRO: Layout = Layout {
    text: "2006-01-02T15:04:05.000000Z07:00",
    chunks: &[
        ("", Elem::LongYear, "2006"),
        ("-", Elem::ZeroMonth, "01"),
        ("-", Elem::ZeroDay, "02"),
        ("T", Elem::Hour, "15"),
        (":", Elem::ZeroMinute, "04"),
        (":", Elem::ZeroSecond, "05"),
        ("", Elem::Fraction(6), ".000000"),
        ("", Elem::ColonZone, "Z07:00"),
    ],
};

/// Go's `time.Parse(layout, value)` error text, if it fails.
///
/// The RFC 3339 fast path of `time.Parse` accepts a subset of what the
/// layout-driven parse accepts, so the latter alone decides.
fn parse_time(layout: &Layout, value: &str) -> Result<(), String> {
    let whole = value.as_bytes();
    let cannot_parse = |rest: &[u8], elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            quote(whole),
            quote(layout.text.as_bytes()),
            quote(rest),
            quote(elem.as_bytes())
        )
    };
    let with_message = |message: &str| format!("parsing time {}{message}", quote(whole));
    let mut rest = whole;
    let (mut year, mut month, mut day) = (0, 1, 1);
    for (index, &(prefix, elem, elem_text)) in layout.chunks.iter().enumerate() {
        rest = rest
            .strip_prefix(prefix.as_bytes())
            .ok_or_else(|| cannot_parse(rest, prefix))?;
        let hold = rest;
        let mut range = None;
        let mut bad = false;
        match elem {
            Elem::LongYear => {
                if rest.len() < 4 || !is_digit(rest, 0) {
                    bad = true;
                } else {
                    match atoi(&rest[..4]) {
                        Some(parsed) => year = parsed,
                        None => bad = true,
                    }
                    rest = &rest[4..];
                }
            }
            Elem::ZeroMonth => match getnum(rest, true) {
                Some((parsed, after)) => {
                    (month, rest) = (parsed, after);
                    if !(1..=12).contains(&month) {
                        range = Some("month");
                    }
                }
                None => bad = true,
            },
            Elem::ZeroDay => match getnum(rest, true) {
                Some((parsed, after)) => (day, rest) = (parsed, after),
                None => bad = true,
            },
            Elem::Hour | Elem::ZeroMinute => {
                let (fixed, limit, what) = if elem == Elem::Hour {
                    (false, 24, "hour")
                } else {
                    (true, 60, "minute")
                };
                match getnum(rest, fixed) {
                    Some((parsed, after)) => {
                        rest = after;
                        if parsed >= limit {
                            range = Some(what);
                        }
                    }
                    None => bad = true,
                }
            }
            Elem::ZeroSecond => match getnum(rest, true) {
                Some((second, after)) => {
                    rest = after;
                    let fraction_in_layout = matches!(
                        layout.chunks.get(index + 1),
                        Some((_, Elem::Fraction(_), _))
                    );
                    if second >= 60 {
                        range = Some("second");
                    } else if !fraction_in_layout
                        && rest.len() >= 2
                        && matches!(rest[0], b'.' | b',')
                        && is_digit(rest, 1)
                    {
                        // A fraction the layout does not have is taken
                        // whole (and cannot fail).
                        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                        rest = &rest[1 + digits..];
                    }
                }
                None => bad = true,
            },
            Elem::Fraction(digits) => {
                let width = 1 + digits;
                if rest.len() < width {
                    bad = true;
                } else {
                    if !matches!(rest[0], b'.' | b',') {
                        bad = true;
                    } else {
                        match atoi(&rest[1..width]) {
                            Some(nanos) if nanos < 0 => range = Some("fractional second"),
                            Some(_) => {}
                            None => bad = true,
                        }
                    }
                    rest = &rest[width..];
                }
            }
            Elem::ColonZone => {
                if rest.first() == Some(&b'Z') {
                    rest = &rest[1..];
                } else if rest.len() < 6 || rest[3] != b':' {
                    bad = true;
                } else {
                    let sign = rest[0];
                    let hours = getnum(&rest[1..3], true).map(|(n, _)| n);
                    let minutes = hours.and(getnum(&rest[4..6], true).map(|(n, _)| n));
                    rest = &rest[6..];
                    if hours.unwrap_or(0) > 24 {
                        range = Some("time zone offset hour");
                    }
                    if minutes.unwrap_or(0) > 60 {
                        range = Some("time zone offset minute");
                    }
                    bad = hours.is_none() || minutes.is_none() || !matches!(sign, b'+' | b'-');
                }
            }
        }
        if let Some(what) = range {
            return Err(with_message(&format!(": {what} out of range")));
        }
        if bad {
            return Err(cannot_parse(hold, elem_text));
        }
    }
    if !rest.is_empty() {
        return Err(with_message(&format!(": extra text: {}", quote(rest))));
    }
    if day < 1 || day > days_in(month, year) {
        return Err(with_message(": day out of range"));
    }
    Ok(())
}

fn is_digit(s: &[u8], at: usize) -> bool {
    s.get(at).is_some_and(u8::is_ascii_digit)
}

/// Go's `time.getnum`: one or two digits (`fixed`: exactly two).
fn getnum(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    if !is_digit(s, 0) {
        return None;
    }
    let first = i64::from(s[0] - b'0');
    if !is_digit(s, 1) {
        return (!fixed).then_some((first, &s[1..]));
    }
    Some((first * 10 + i64::from(s[1] - b'0'), &s[2..]))
}

/// Go's `time.atoi`: an optional sign, then only digits (none reads 0).
fn atoi(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    Some(if negative { -n } else { n })
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go's `time.quote`: double quotes, `"` and `\` escaped, control and
/// non-ASCII bytes as `\xNN`.
fn quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &c in s {
        match c {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(c));
            }
            0x20..0x80 => out.push(char::from(c)),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

/// `resource.ErrFormatWrong`.
const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/// `resource.ErrNumeric`.
const QUANTITY_NUMERIC: &str = "unable to parse numeric part of quantity";
/// `resource.ErrSuffix`.
const QUANTITY_SUFFIX: &str = "unable to parse quantity's suffix";

/// Go's `resource.ParseQuantity` error, if it fails.
fn parse_quantity(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err(QUANTITY_FORMAT);
    }
    let parts = split_quantity(s.as_bytes())?;
    let (binary, exponent) = quantity_suffix(parts.suffix).ok_or(QUANTITY_SUFFIX)?;
    // The int64 fast path takes the number unless it has too many digits or
    // too small a scale; the arbitrary-precision path then needs a digit.
    let (num, denom) = (parts.num as i64, parts.denom as i64);
    let slow = if binary {
        denom != 0 || 15 - num - exponent * 3 / 10 - 1 < 0
    } else {
        18 - (num + denom) < 0 || exponent - denom < -9
    };
    if slow && !parts.value.iter().any(u8::is_ascii_digit) {
        return Err(QUANTITY_NUMERIC);
    }
    Ok(())
}

/// A quantity split as Go's `parseQuantityString` splits it.
struct QuantityParts<'a> {
    /// Digits of the numerator without leading zeros (at least 1: `0`).
    num: usize,
    /// Digits after the decimal point.
    denom: usize,
    /// Sign, numerator and fraction as written.
    value: &'a [u8],
    suffix: &'a [u8],
}

fn split_quantity(s: &[u8]) -> Result<QuantityParts<'_>, &'static str> {
    let end = s.len();
    let digits_from = |at: usize| at + s[at..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut pos = usize::from(matches!(s[0], b'+' | b'-'));
    while pos < end && s[pos] == b'0' {
        pos += 1;
    }
    if pos == end {
        return Ok(QuantityParts {
            num: 1,
            denom: 0,
            value: b"0",
            suffix: b"",
        });
    }
    let num_end = digits_from(pos);
    let num = (num_end - pos).max(1);
    pos = num_end;
    let mut denom = 0;
    if pos < end && s[pos] == b'.' {
        let denom_end = digits_from(pos + 1);
        denom = denom_end - pos - 1;
        pos = denom_end;
    }
    let (value, suffix) = s.split_at(pos);
    let mut at = pos;
    while at < end && b"eEinumkKMGTP".contains(&s[at]) {
        at += 1;
    }
    if at < end && matches!(s[at], b'+' | b'-') {
        at += 1;
    }
    if digits_from(at) < end {
        return Err(QUANTITY_FORMAT);
    }
    Ok(QuantityParts {
        num,
        denom,
        value,
        suffix,
    })
}

/// Whether a quantity suffix is binary, and its exponent (Go's
/// `quantitySuffixer.interpret`).
fn quantity_suffix(suffix: &[u8]) -> Option<(bool, i64)> {
    let decimal = |exponent| Some((false, exponent));
    let binary = |exponent| Some((true, exponent));
    match suffix {
        b"" => decimal(0),
        b"n" => decimal(-9),
        b"u" => decimal(-6),
        b"m" => decimal(-3),
        b"k" => decimal(3),
        b"M" => decimal(6),
        b"G" => decimal(9),
        b"T" => decimal(12),
        b"P" => decimal(15),
        b"E" => decimal(18),
        b"Ki" => binary(10),
        b"Mi" => binary(20),
        b"Gi" => binary(30),
        b"Ti" => binary(40),
        b"Pi" => binary(50),
        b"Ei" => binary(60),
        [b'e' | b'E', exponent @ ..] if !exponent.is_empty() => {
            let parsed: i64 = std::str::from_utf8(exponent).ok()?.parse().ok()?;
            // Go keeps the low 32 bits (`int32(parsed)`).
            decimal(i64::from(parsed as i32))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_time(layout: &Layout, value: &str, expected: Option<&str>) {
        assert_eq!(
            parse_time(layout, value).err().as_deref(),
            expected,
            "{value}"
        );
    }

    #[test]
    fn rfc3339() {
        let l = &RFC3339;
        for valid in [
            "2024-01-01T00:00:00Z",
            "2024-02-29T23:59:59+01:00",
            "2024-01-01T00:00:00.123456789Z",
            "2024-01-01T00:00:00,5-24:00",
            "2024-01-01T7:00:00Z",
        ] {
            check_time(l, valid, None);
        }
        let cases = [
            (
                "x",
                r#"parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006""#,
            ),
            (
                "\"",
                r#"parsing time "\"" as "2006-01-02T15:04:05Z07:00": cannot parse "\"" as "2006""#,
            ),
            (
                "2006-01-02T15:04:05Z07:00",
                r#"parsing time "2006-01-02T15:04:05Z07:00": extra text: "07:00""#,
            ),
            (
                "2006-01-02T15:04_abc",
                r#"parsing time "2006-01-02T15:04_abc" as "2006-01-02T15:04:05Z07:00": cannot parse "_abc" as ":""#,
            ),
            (
                "2006-01-02T15:04:05_abc",
                r#"parsing time "2006-01-02T15:04:05_abc" as "2006-01-02T15:04:05Z07:00": cannot parse "_abc" as "Z07:00""#,
            ),
            (
                "2006-01-02T15:04:05Z_abc",
                r#"parsing time "2006-01-02T15:04:05Z_abc": extra text: "_abc""#,
            ),
            (
                "2010-02-04T21:00:67.012345678-08:00",
                r#"parsing time "2010-02-04T21:00:67.012345678-08:00": second out of range"#,
            ),
            (
                "2024-01-01 00:00:00Z",
                r#"parsing time "2024-01-01 00:00:00Z" as "2006-01-02T15:04:05Z07:00": cannot parse " 00:00:00Z" as "T""#,
            ),
            (
                "2024-13-01T00:00:00Z",
                r#"parsing time "2024-13-01T00:00:00Z": month out of range"#,
            ),
            (
                "2023-02-29T00:00:00Z",
                r#"parsing time "2023-02-29T00:00:00Z": day out of range"#,
            ),
            (
                "2024-1-01T00:00:00Z",
                r#"parsing time "2024-1-01T00:00:00Z" as "2006-01-02T15:04:05Z07:00": cannot parse "1-01T00:00:00Z" as "01""#,
            ),
            (
                "2024-01-01T24:00:00Z",
                r#"parsing time "2024-01-01T24:00:00Z": hour out of range"#,
            ),
            (
                "2024-01-01T00:60:00Z",
                r#"parsing time "2024-01-01T00:60:00Z": minute out of range"#,
            ),
            (
                "2024-01-01T00:00:00",
                r#"parsing time "2024-01-01T00:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00""#,
            ),
            (
                "2024-01-01T00:00:00+25:00",
                r#"parsing time "2024-01-01T00:00:00+25:00": time zone offset hour out of range"#,
            ),
            (
                "2024-01-01T00:00:00*01:00",
                r#"parsing time "2024-01-01T00:00:00*01:00" as "2006-01-02T15:04:05Z07:00": cannot parse "*01:00" as "Z07:00""#,
            ),
            (
                "2024-01-01T00:00:00z",
                r#"parsing time "2024-01-01T00:00:00z" as "2006-01-02T15:04:05Z07:00": cannot parse "z" as "Z07:00""#,
            ),
            (
                "☺",
                r#"parsing time "\xe2\x98\xba" as "2006-01-02T15:04:05Z07:00": cannot parse "\xe2\x98\xba" as "2006""#,
            ),
        ];
        for (value, expected) in cases {
            check_time(l, value, Some(expected));
        }
    }

    #[test]
    fn rfc3339_micro() {
        let l = &RFC3339_MICRO;
        check_time(l, "2024-01-01T00:00:00.000000Z", None);
        check_time(l, "2024-01-01T00:00:00,123456+02:00", None);
        let cases = [
            (
                "2024-01-01T00:00:00Z",
                r#"parsing time "2024-01-01T00:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000""#,
            ),
            (
                "2024-01-01T00:00:00.123Z",
                r#"parsing time "2024-01-01T00:00:00.123Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".123Z" as ".000000""#,
            ),
            (
                "2024-01-01T00:00:00.1234567Z",
                r#"parsing time "2024-01-01T00:00:00.1234567Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "7Z" as "Z07:00""#,
            ),
            (
                "2024-01-01T00:00:00.-12345Z",
                r#"parsing time "2024-01-01T00:00:00.-12345Z": fractional second out of range"#,
            ),
        ];
        for (value, expected) in cases {
            check_time(l, value, Some(expected));
        }
    }

    #[test]
    fn base64() {
        // Offsets as Go's encoding/base64 tests have them.
        let cases: &[(&str, Option<usize>)] = &[
            ("", None),
            ("\n", None),
            ("AAA=\n", None),
            ("AAAA\n", None),
            ("aGVsbG8=", None),
            ("c3VyZQ=\r\n\r\n=", None),
            ("!!!!", Some(0)),
            ("====", Some(0)),
            ("x===", Some(1)),
            ("=AAA", Some(0)),
            ("A=AA", Some(1)),
            ("AA=A", Some(2)),
            ("AA==A", Some(4)),
            ("AAA=AAAA", Some(4)),
            ("AAAAA", Some(4)),
            ("AAAAAA", Some(4)),
            ("A=", Some(1)),
            ("A==", Some(1)),
            ("AA=", Some(3)),
            ("AAA", Some(0)),
            ("AAAAAA=", Some(7)),
            ("YWJjZA=====", Some(8)),
            ("A!\n", Some(1)),
            ("not base64", Some(3)),
        ];
        for (input, expected) in cases {
            assert_eq!(base64_error(input.as_bytes()), *expected, "{input:?}");
        }
    }

    #[test]
    fn quantities() {
        let cases: &[(&str, Result<(), &str>)] = &[
            ("0", Ok(())),
            ("1", Ok(())),
            ("-1.5", Ok(())),
            ("100m", Ok(())),
            ("1Ki", Ok(())),
            ("1.5Gi", Ok(())),
            ("1e3", Ok(())),
            ("1E-3", Ok(())),
            ("+.5", Ok(())),
            ("000", Ok(())),
            ("Ki", Ok(())),
            ("0.0000000001", Ok(())),
            ("", Err(QUANTITY_FORMAT)),
            ("x", Err(QUANTITY_FORMAT)),
            ("1x", Err(QUANTITY_FORMAT)),
            ("true", Err(QUANTITY_FORMAT)),
            ("1 Gi", Err(QUANTITY_FORMAT)),
            ("1KM", Err(QUANTITY_SUFFIX)),
            ("1e", Err(QUANTITY_SUFFIX)),
            ("1i", Err(QUANTITY_SUFFIX)),
            ("Ei", Err(QUANTITY_NUMERIC)),
            ("+.e-10", Err(QUANTITY_NUMERIC)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_quantity(input), *expected, "{input:?}");
        }
    }

    #[test]
    fn go_names() {
        assert_eq!(
            go_name("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
            "v1.ObjectMeta"
        );
        assert_eq!(go_name(INT_OR_STRING), "intstr.IntOrString");
        assert_eq!(go_name("Plain"), "Plain");
        assert_eq!(quote(b"a\"b\\\x04"), r#""a\"b\\\x04""#);
    }
}
