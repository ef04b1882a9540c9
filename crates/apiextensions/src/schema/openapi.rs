//! Value validation against a schema as kube-openapi's `validate` package
//! does it (`SchemaValidator` with its type, schema-props, string, format,
//! number, slice, common and object validators, `Result.MatchCount` and
//! all), its messages (`errors/schema.go`), the conversion of its result
//! into field errors (`kubeOpenAPIResultToFieldErrors` of apiextensions'
//! `pkg/apiserver/validation`), and validation ratcheting on update
//! (`ratcheting.go` with `common.CorrelatedObject`): errors under a value
//! equal to the old one are dropped.
//!
//! Properties are visited in sorted order where Go walks a map (Go's order
//! is random there).

use kapi_core::field::{Error, ErrorList, Path};
use kapi_core::go::quote;
use serde_json::{Map, Value};

use super::formats;
use super::gofmt::{self, Num};
use super::model::{Additional, Node};
use super::pattern::Patterns;

/// How the schema becomes a kube-openapi `spec.Schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `ConvertJSONSchemaProps` with the format stripping of
    /// `NewSchemaValidator`: custom resources.
    Resource,
    /// `Structural.ToKubeOpenAPI`: default values of a CRD schema.
    Default,
}

/// kube-openapi's error codes, as far as the conversion tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    InvalidType,
    Required,
    TooLong,
    Enum,
    MaxItems,
    TooManyProperties,
    /// Any other `*errors.Validation` (becomes `field.Invalid`).
    Other,
    /// Not an `*errors.Validation` (`errors.New`, `fmt.Errorf`): reported
    /// at the validator's root with an empty value.
    Plain,
}

#[derive(Debug, Clone)]
struct OpenApiError {
    code: Code,
    name: String,
    message: String,
    value: Option<Value>,
    valid: Option<i64>,
    values: Vec<Value>,
}

impl OpenApiError {
    fn new(code: Code, name: &str, message: String, value: Option<Value>) -> Self {
        OpenApiError {
            code,
            name: name.to_owned(),
            message,
            value,
            valid: None,
            values: Vec::new(),
        }
    }

    fn plain(message: String) -> Self {
        OpenApiError::new(Code::Plain, "", message, None)
    }

    fn with_valid(mut self, valid: i64) -> Self {
        self.valid = Some(valid);
        self
    }

    fn invalid_type(name: &str, type_name: &str, value: &str) -> Self {
        OpenApiError::new(
            Code::InvalidType,
            name,
            format!(
                "{name} in body must be of type {type_name}: {}",
                quote(value)
            ),
            Some(Value::from(value)),
        )
    }
}

/// kube-openapi's `validate.Result`: errors (deduplicated by message) and
/// the match count that picks the best failing `anyOf`/`oneOf` branch.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    errors: Vec<OpenApiError>,
    match_count: usize,
}

impl Outcome {
    fn error(error: OpenApiError) -> Self {
        Outcome {
            errors: vec![error],
            match_count: 0,
        }
    }

    fn add(&mut self, error: OpenApiError) {
        if !self.errors.iter().any(|e| e.message == error.message) {
            self.errors.push(error);
        }
    }

    fn merge(&mut self, other: Outcome) {
        for error in other.errors {
            self.add(error);
        }
        self.match_count += other.match_count;
    }

    fn inc(&mut self) {
        self.match_count += 1;
    }

    pub(crate) fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// The field errors (Go: `kubeOpenAPIResultToFieldErrors`); paths are
    /// relative to `fld_path` (none for a whole object). Errors Go reports
    /// at a nil path carry the field `<nil>`, as Go's `Path.String` renders
    /// it.
    pub(crate) fn field_errors(&self, fld_path: Option<&Path>) -> ErrorList {
        let nil_path = Path::new("<nil>");
        let base = fld_path.unwrap_or(&nil_path);
        self.errors
            .iter()
            .map(|e| {
                if e.code == Code::Plain {
                    return Error::invalid(base, "", e.message.clone());
                }
                let path = if !e.name.is_empty() && e.name != "." {
                    let name = e.name.strip_prefix('.').unwrap_or(&e.name);
                    match fld_path {
                        Some(parent) => parent.child(name),
                        None => Path::new(name),
                    }
                } else {
                    base.clone()
                };
                let value = e.value.clone().unwrap_or_else(|| Value::from(""));
                let count = |v: &Option<Value>| v.as_ref().and_then(Value::as_i64).unwrap_or(-1);
                match e.code {
                    Code::Required => Error::required(&path, ""),
                    Code::Enum => {
                        let values: Vec<String> = e
                            .values
                            .iter()
                            .map(|v| match v {
                                Value::String(s) => s.clone(),
                                other => gofmt::json(other),
                            })
                            .collect();
                        Error::not_supported(&path, e.value.clone().unwrap_or(Value::Null), &values)
                    }
                    Code::TooLong => Error::too_long(&path, e.valid.unwrap_or(-1)),
                    Code::MaxItems | Code::TooManyProperties => {
                        Error::too_many(&path, count(&e.value), e.valid.unwrap_or(-1))
                    }
                    Code::InvalidType => Error::type_invalid(&path, value, e.message.clone()),
                    Code::Other | Code::Plain => Error::invalid(&path, value, e.message.clone()),
                }
            })
            .collect()
    }
}

/// A schema validator over a parsed schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Validator<'a> {
    patterns: &'a Patterns,
    mode: Mode,
}

impl<'a> Validator<'a> {
    pub(crate) fn new(patterns: &'a Patterns, mode: Mode) -> Self {
        Validator { patterns, mode }
    }

    /// Validates `data` against `node` at kube-openapi's root path (`""`).
    /// With `old`, errors under values equal to their old values are
    /// dropped (ratcheting).
    pub(crate) fn validate(&self, node: &Node, data: &Value, old: Option<&Value>) -> Outcome {
        self.schema(node, data, "", old)
    }

    fn schema(&self, node: &Node, data: &Value, path: &str, old: Option<&Value>) -> Outcome {
        let mut out = self.schema_unratcheted(node, data, path, old);
        if let Some(old) = old
            && !out.is_valid()
            && deep_equal(node, data, old)
        {
            out.errors.clear();
        }
        out
    }

    fn types<'n>(&self, node: &'n Node) -> Vec<&'n str> {
        if self.mode == Mode::Resource && node.int_or_string {
            vec!["integer", "string"]
        } else if node.ty.is_empty() {
            Vec::new()
        } else {
            vec![node.ty.as_str()]
        }
    }

    /// The format after the API server's stripping of unsupported ones.
    fn format<'n>(&self, node: &'n Node) -> &'n str {
        let format = node.format.as_str();
        if self.mode == Mode::Default || format.is_empty() {
            return format;
        }
        let types = self.types(node);
        let schema_type = if types.len() == 1 { types[0] } else { "" };
        let keep = match schema_type {
            "" | "string" => formats::is_supported(format),
            "integer" => matches!(format, "int32" | "int64"),
            "number" => matches!(format, "float" | "double"),
            _ => false,
        };
        if keep { format } else { "" }
    }

    fn schema_unratcheted(
        &self,
        node: &Node,
        data: &Value,
        path: &str,
        old: Option<&Value>,
    ) -> Outcome {
        let types = self.types(node);
        let format = self.format(node);
        let mut out = Outcome::default();
        if data.is_null() {
            out.merge(type_check(&types, node.nullable, format, data, path));
            out.merge(enum_check(node, data, path));
            return out;
        }
        if !types.is_empty() || !format.is_empty() {
            out.merge(type_check(&types, node.nullable, format, data, path));
            out.inc();
        }
        out.merge(self.schema_props(node, data, path));
        out.inc();
        if let Value::String(s) = data {
            out.merge(self.string_check(node, s, path));
            out.inc();
            if formats::is_known(format) {
                if !formats::validates(format, s) {
                    out.merge(Outcome::error(OpenApiError::invalid_type(path, format, s)));
                }
                out.inc();
            }
        }
        if let Value::Number(n) = data {
            let (type_name, num_format) = match types.as_slice() {
                ["integer"] => (
                    "integer",
                    if matches!(format, "int32" | "int64") {
                        format
                    } else {
                        ""
                    },
                ),
                ["number"] => (
                    "number",
                    if matches!(format, "float" | "double") {
                        format
                    } else {
                        ""
                    },
                ),
                _ => ("", ""),
            };
            out.merge(number_check(node, type_name, num_format, Num::of(n), path));
            out.inc();
        }
        if let Value::Array(items) = data {
            out.merge(self.slice_check(node, items, path, old));
            out.inc();
        }
        out.merge(enum_check(node, data, path));
        out.inc();
        if let Value::Object(map) = data {
            out.merge(self.object_check(node, map, path, old));
            out.inc();
        }
        out.inc();
        out
    }

    fn schema_props(&self, node: &Node, data: &Value, path: &str) -> Outcome {
        let mut main = Outcome::default();
        if !node.any_of.is_empty() {
            let mut best: Option<Outcome> = None;
            let mut first_success: Option<Outcome> = None;
            for sub in &node.any_of {
                let result = self.schema(sub, data, path, None);
                if result.is_valid() {
                    best = None;
                    first_success = Some(result);
                    break;
                }
                if best
                    .as_ref()
                    .is_none_or(|b| result.match_count > b.match_count)
                {
                    best = Some(result);
                }
            }
            if first_success.is_none() {
                main.add(OpenApiError::plain(format!(
                    "{} must validate at least one schema (anyOf)",
                    quote(path)
                )));
            }
            if let Some(best) = best {
                main.merge(best);
            } else if let Some(success) = first_success {
                main.merge(success);
            }
        }
        if !node.one_of.is_empty() {
            let mut best: Option<Outcome> = None;
            let mut first_success: Option<Outcome> = None;
            let mut validated = 0;
            for sub in &node.one_of {
                let result = self.schema(sub, data, path, None);
                if result.is_valid() {
                    validated += 1;
                    best = None;
                    if first_success.is_none() {
                        first_success = Some(result);
                    }
                    continue;
                }
                if validated == 0
                    && best
                        .as_ref()
                        .is_none_or(|b| result.match_count > b.match_count)
                {
                    best = Some(result);
                }
            }
            if validated != 1 {
                let additional = if validated == 0 {
                    "Found none valid".to_owned()
                } else {
                    format!("Found {validated} valid alternatives")
                };
                main.add(OpenApiError::plain(format!(
                    "{} must validate one and only one schema (oneOf). {additional}",
                    quote(path)
                )));
                if let Some(best) = best {
                    main.merge(best);
                }
            } else if let Some(success) = first_success {
                main.merge(success);
            }
        }
        if !node.all_of.is_empty() {
            let mut validated = 0;
            for sub in &node.all_of {
                let result = self.schema(sub, data, path, None);
                if result.is_valid() {
                    validated += 1;
                }
                main.merge(result);
            }
            if validated != node.all_of.len() {
                let additional = if validated == 0 {
                    ". None validated"
                } else {
                    ""
                };
                main.add(OpenApiError::plain(format!(
                    "{} must validate all the schemas (allOf){additional}",
                    quote(path)
                )));
            }
        }
        if let Some(not) = &node.not
            && self.schema(not, data, path, None).is_valid()
        {
            main.add(OpenApiError::plain(format!(
                "{} must not validate the schema (not)",
                quote(path)
            )));
        }
        main.inc();
        main
    }

    fn string_check(&self, node: &Node, s: &str, path: &str) -> Outcome {
        let length = s.chars().count() as i64;
        if let Some(max) = node.max_length
            && length > max
        {
            return Outcome::error(
                OpenApiError::new(
                    Code::TooLong,
                    path,
                    format!("{path} in body should be at most {max} chars long"),
                    Some(Value::from(s)),
                )
                .with_valid(max),
            );
        }
        if let Some(min) = node.min_length
            && length < min
        {
            return Outcome::error(OpenApiError::new(
                Code::Other,
                path,
                format!("{path} in body should be at least {min} chars long"),
                Some(Value::from(s)),
            ));
        }
        if !node.pattern.is_empty() {
            let failed = match self.patterns.is_match(&node.pattern, s) {
                Ok(true) => None,
                Ok(false) => Some(node.pattern.clone()),
                Err(err) => Some(format!("{}, but pattern is invalid: {err}", node.pattern)),
            };
            if let Some(pattern) = failed {
                return Outcome::error(OpenApiError::new(
                    Code::Other,
                    path,
                    format!("{path} in body should match '{pattern}'"),
                    Some(Value::from(s)),
                ));
            }
        }
        Outcome::default()
    }

    fn slice_check(
        &self,
        node: &Node,
        items: &[Value],
        path: &str,
        old: Option<&Value>,
    ) -> Outcome {
        let mut out = Outcome::default();
        if let Some(item_schema) = &node.items {
            for (i, item) in items.iter().enumerate() {
                let old_item = old.and_then(|old| index_correlation(node, items, old, i));
                out.merge(self.schema(item_schema, item, &format!("{path}[{i}]"), old_item));
            }
        }
        let size = items.len() as i64;
        if let Some(min) = node.min_items
            && size < min
        {
            out.add(OpenApiError::new(
                Code::Other,
                path,
                format!("{path} in body should have at least {min} items"),
                Some(Value::from(size)),
            ));
        }
        if let Some(max) = node.max_items
            && size > max
        {
            out.add(
                OpenApiError::new(
                    Code::MaxItems,
                    path,
                    format!("{path} in body should have at most {max} items"),
                    Some(Value::from(size)),
                )
                .with_valid(max),
            );
        }
        if node.unique_items
            && items
                .iter()
                .enumerate()
                .any(|(i, a)| items[..i].iter().any(|b| a == b))
        {
            out.add(OpenApiError::new(
                Code::Other,
                path,
                format!("{path} in body shouldn't contain duplicates"),
                None,
            ));
        }
        out.inc();
        out
    }

    fn object_check(
        &self,
        node: &Node,
        map: &Map<String, Value>,
        path: &str,
        old: Option<&Value>,
    ) -> Outcome {
        let mut out = Outcome::default();
        let count = map.len() as i64;
        if let Some(min) = node.min_properties
            && count < min
        {
            out.add(OpenApiError::new(
                Code::Other,
                path,
                format!("{path} in body should have at least {min} properties"),
                Some(Value::from(count)),
            ));
        }
        if let Some(max) = node.max_properties
            && count > max
        {
            out.add(
                OpenApiError::new(
                    Code::TooManyProperties,
                    path,
                    format!("{path} in body should have at most {max} properties"),
                    Some(Value::from(count)),
                )
                .with_valid(max),
            );
        }
        let child_old = |key: &str| -> Option<&Value> {
            if path.is_empty() && (key == "kind" || key == "apiVersion") {
                return None;
            }
            old.and_then(|old| key_correlation(node, old, key))
        };
        match &node.additional_properties {
            Some(Additional::Allows(false)) => {
                for key in map.keys() {
                    if !node.properties.contains_key(key) {
                        out.add(OpenApiError::new(
                            Code::Other,
                            path,
                            format!("{path}.{key} in body is a forbidden property"),
                            Some(Value::from(key.as_str())),
                        ));
                    }
                }
            }
            Some(Additional::Schema(additional)) => {
                for (key, value) in map {
                    if !node.properties.contains_key(key) {
                        out.merge(self.schema(
                            additional,
                            value,
                            &format!("{path}.{key}"),
                            child_old(key),
                        ));
                    }
                }
            }
            _ => {}
        }
        for (name, schema) in &node.properties {
            if let Some(value) = map.get(name) {
                let child_path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                out.merge(self.schema(schema, value, &child_path, child_old(name)));
            }
        }
        for key in &node.required {
            if !map.contains_key(key) {
                let name = format!("{path}.{key}");
                out.add(OpenApiError::new(
                    Code::Required,
                    &name,
                    format!("{name} in body is required"),
                    None,
                ));
            }
        }
        out
    }
}

fn type_check(types: &[&str], nullable: bool, format: &str, data: &Value, path: &str) -> Outcome {
    let mut out = Outcome::default();
    out.inc();
    if data.is_null() {
        if !types.is_empty() && !types.contains(&"null") && !nullable {
            return Outcome::error(OpenApiError::invalid_type(path, &types.join(","), "null"));
        }
        return out;
    }
    let (schema_type, value_format, float) = match data {
        Value::Bool(_) => ("boolean", "", None),
        Value::String(_) => ("string", "", None),
        Value::Number(n) => match Num::of(n) {
            Num::Int(_) => ("integer", "int64", None),
            Num::Float(f) => ("number", "float64", Some(f)),
        },
        Value::Array(_) => ("array", "", None),
        _ => ("object", "", None),
    };
    let contains = |t: &str| types.contains(&t);
    let is_float_int = float.is_some_and(gofmt::is_float_json_integer) && contains("integer");
    let is_int_float = schema_type == "integer" && contains("number");
    let stringish = data.is_string() || data.is_array();
    let numeric_type = contains("number") || contains("integer");
    let type_matches = contains(schema_type) || is_float_int || is_int_float;
    if !format.is_empty() {
        if !(stringish || type_matches || value_format == format) {
            return Outcome::error(OpenApiError::invalid_type(path, format, value_format));
        }
        if stringish && !numeric_type {
            return out;
        }
    }
    if !type_matches {
        return Outcome::error(OpenApiError::invalid_type(
            path,
            &types.join(","),
            schema_type,
        ));
    }
    out
}

fn enum_check(node: &Node, data: &Value, path: &str) -> Outcome {
    if node.enum_values.is_empty() || node.enum_values.iter().any(|e| enum_matches(data, e)) {
        return Outcome::default();
    }
    let mut error = OpenApiError::new(
        Code::Enum,
        path,
        format!(
            "{path} in body should be one of {}",
            gofmt::value_v(&Value::Array(node.enum_values.clone()))
        ),
        (!data.is_null()).then(|| data.clone()),
    );
    error.values = node.enum_values.clone();
    Outcome::error(error)
}

/// Go's enum match: deep equality after converting the value to the enum
/// entry's type where Go can (`int64` → `float64`, `float64` → `int64`
/// truncating, `int64` → `string` as a rune).
fn enum_matches(data: &Value, entry: &Value) -> bool {
    match (data, entry) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Number(a), Value::Number(b)) => match (Num::of(a), Num::of(b)) {
            (Num::Int(x), Num::Int(y)) => x == y,
            (Num::Int(x), Num::Float(y)) => x as f64 == y,
            (Num::Float(x), Num::Float(y)) => x == y,
            (Num::Float(x), Num::Int(y)) => x as i64 == y,
        },
        (Value::Number(a), Value::String(b)) => match Num::of(a) {
            Num::Int(x) => {
                let rune = u32::try_from(x)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                rune.to_string() == *b
            }
            Num::Float(_) => false,
        },
        (a, b) => a == b,
    }
}

fn range_error(
    val: Num,
    type_name: &str,
    format: &str,
    prefix: &str,
    path: &str,
) -> Option<String> {
    let rendered = match val {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => format!("{f}"),
    };
    let bad = if type_name == "integer" {
        match format {
            "int32" => rendered.parse::<i32>().is_err(),
            "uint32" => rendered.parse::<u32>().is_err(),
            "uint64" => rendered.parse::<u64>().is_err(),
            _ => rendered.parse::<i64>().is_err(),
        }
    } else {
        match format {
            "float" | "float32" => rendered
                .parse::<f64>()
                .map_or(true, |f| (f as f32).is_infinite()),
            _ => false,
        }
    };
    bad.then(|| {
        if format.is_empty() {
            format!("{prefix} value must be of type {type_name} (default format) in {path}")
        } else {
            format!("{prefix} value must be of type {type_name} with format {format} in {path}")
        }
    })
}

fn number_check(node: &Node, type_name: &str, format: &str, val: Num, path: &str) -> Outcome {
    let mut out = Outcome::default();
    let data = val.as_f64();
    if let Some(message) = range_error(val, type_name, format, "Checked", path) {
        out.add(OpenApiError::plain(message));
    }
    let mut multiple = Outcome::default();
    if let Some(factor) = node.multiple_of {
        match range_error(Num::Float(factor), type_name, format, "MultipleOf", path) {
            Some(message) => {
                multiple.add(OpenApiError::plain(message));
                multiple.extend(multiple_of_float(path, data, factor));
            }
            None => multiple.extend(multiple_of_native(path, val, factor)),
        }
    }
    let mut maximum = Outcome::default();
    if let Some(max) = node.maximum {
        let exclusive = node.exclusive_maximum;
        match range_error(Num::Float(max), type_name, format, "Maximum boundary", path) {
            Some(message) => {
                maximum.add(OpenApiError::plain(message));
                maximum.extend(bound(path, Num::Float(data), max, exclusive, true));
            }
            None => maximum.extend(bound(path, val, max, exclusive, true)),
        }
    }
    let mut minimum = Outcome::default();
    if let Some(min) = node.minimum {
        let exclusive = node.exclusive_minimum;
        match range_error(Num::Float(min), type_name, format, "Minimum boundary", path) {
            Some(message) => {
                minimum.add(OpenApiError::plain(message));
                minimum.extend(bound(path, Num::Float(data), min, exclusive, false));
            }
            None => minimum.extend(bound(path, val, min, exclusive, false)),
        }
    }
    out.merge(multiple);
    out.merge(minimum);
    out.merge(maximum);
    out.inc();
    out
}

impl Outcome {
    fn extend(&mut self, error: Option<OpenApiError>) {
        if let Some(error) = error {
            self.add(error);
        }
    }
}

fn must_be_positive(path: &str, factor: Num) -> OpenApiError {
    OpenApiError::new(
        Code::Other,
        path,
        format!(
            "factor MultipleOf declared for {path} must be positive: {}",
            factor.v()
        ),
        Some(factor.to_value()),
    )
}

fn not_multiple(path: &str, factor: Num, data: Num) -> OpenApiError {
    OpenApiError::new(
        Code::Other,
        path,
        format!("{path} in body should be a multiple of {}", factor.v()),
        Some(data.to_value()),
    )
}

fn multiple_of_native(path: &str, val: Num, factor: f64) -> Option<OpenApiError> {
    match val {
        Num::Int(data) => {
            let factor = factor as i64;
            if factor <= 0 {
                Some(must_be_positive(path, Num::Int(factor)))
            } else if (data / factor) * factor != data {
                Some(not_multiple(path, Num::Int(factor), val))
            } else {
                None
            }
        }
        Num::Float(data) => multiple_of_float(path, data, factor),
    }
}

fn multiple_of_float(path: &str, data: f64, factor: f64) -> Option<OpenApiError> {
    if factor <= 0.0 {
        return Some(must_be_positive(path, Num::Float(factor)));
    }
    let quotient = if factor < 1.0 {
        1.0 / factor * data
    } else {
        data / factor
    };
    (!gofmt::is_float_json_integer(quotient))
        .then(|| not_multiple(path, Num::Float(factor), Num::Float(data)))
}

/// `Maximum`/`Minimum` (and their native-type variants): integers compare
/// against the bound truncated to an integer, as Go does.
fn bound(path: &str, val: Num, limit: f64, exclusive: bool, is_max: bool) -> Option<OpenApiError> {
    let (fails, shown) = match val {
        Num::Int(data) => {
            let limit = limit as i64;
            let fails = if is_max {
                data > limit || (exclusive && data == limit)
            } else {
                data < limit || (exclusive && data == limit)
            };
            (fails, Num::Int(limit).v())
        }
        Num::Float(data) => {
            let fails = if is_max {
                data > limit || (exclusive && data == limit)
            } else {
                data < limit || (exclusive && data == limit)
            };
            (fails, gofmt::float_v(limit))
        }
    };
    if !fails {
        return None;
    }
    let relation = match (is_max, exclusive) {
        (true, false) => "less than or equal to",
        (true, true) => "less than",
        (false, false) => "greater than or equal to",
        (false, true) => "greater than",
    };
    Some(OpenApiError::new(
        Code::Other,
        path,
        format!("{path} in body should be {relation} {shown}"),
        Some(val.to_value()),
    ))
}

/// The old value correlated with the value under `key` (Go:
/// `CorrelatedObject.Key`): present in both and described by the schema.
fn key_correlation<'v>(node: &Node, old: &'v Value, key: &str) -> Option<&'v Value> {
    let old_value = old.as_object()?.get(key)?;
    node.field(key)?.map(|_| old_value)
}

/// The old item correlated with item `index` (Go: `CorrelatedObject.Index`):
/// only map-type lists correlate, by their keys.
fn index_correlation<'v>(
    node: &Node,
    items: &[Value],
    old: &'v Value,
    index: usize,
) -> Option<&'v Value> {
    let old_items = old.as_array()?;
    if node.list_type.as_deref() != Some("map")
        || node.ty != "array"
        || node.list_map_keys.is_empty()
        || old_items.is_empty()
    {
        return None;
    }
    let key = composite_key(node, items.get(index)?.as_object()?)?;
    let found = old_items.iter().find(|item| {
        item.as_object()
            .and_then(|m| composite_key(node, m))
            .is_some_and(|k| k == key)
    })?;
    node.items.as_ref().map(|_| found)
}

fn composite_key(node: &Node, item: &Map<String, Value>) -> Option<Vec<String>> {
    node.list_map_keys
        .iter()
        .map(|key| match item.get(key)? {
            Value::Bool(b) => Some(format!("b{b}")),
            Value::Number(n) => Some(match Num::of(n) {
                Num::Int(i) => format!("i{i}"),
                Num::Float(f) => format!("f{f}"),
            }),
            Value::String(s) => Some(format!("s{s}")),
            _ => None,
        })
        .collect()
}

/// Go's `CorrelatedObject.CachedDeepEqual`: maps compare key by key through
/// their schemas, map-type lists by their keys, other lists as a whole.
fn deep_equal(node: &Node, new: &Value, old: &Value) -> bool {
    match (new, old) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Array(items), Value::Array(old_items)) => {
            if items.len() != old_items.len() {
                return false;
            }
            for (i, item) in items.iter().enumerate() {
                match (index_correlation(node, items, old, i), &node.items) {
                    (Some(old_item), Some(item_schema)) => {
                        if !deep_equal(item_schema, item, old_item) {
                            return false;
                        }
                    }
                    _ if node.list_type.as_deref() == Some("map") => return false,
                    _ => return items == old_items,
                }
            }
            true
        }
        (Value::Object(map), Value::Object(old_map)) => {
            if map.len() != old_map.len() {
                return false;
            }
            map.iter().all(|(key, value)| {
                match (key_correlation(node, old, key), node.field(key).flatten()) {
                    (Some(old_value), Some(schema)) => deep_equal(schema, value, old_value),
                    _ => false,
                }
            })
        }
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => false,
        (a, b) => a == b,
    }
}
