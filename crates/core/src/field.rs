//! Field paths and field-level validation errors, and the 422 `Invalid`
//! Status they aggregate into.
//!
//! Mirrors `k8s.io/apimachinery/pkg/util/validation/field` (`Path`, `Error`,
//! `ErrorList`, `ToAggregate`) and `NewInvalid` of
//! `k8s.io/apimachinery/pkg/api/errors`: every message reads exactly as Go
//! prints it, because clients and users match on them.

use std::collections::BTreeSet;
use std::fmt;

use http::StatusCode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{StatusCause, StatusDetails};
use serde_json::Value;

use crate::status::{StatusError, StatusReason};

/// A path to a field of an object: `metadata.name`,
/// `spec.containers[0].image`, `data[key]` (Go: `field.Path`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Path {
    rendered: String,
}

impl Path {
    /// A path starting at `name` (Go: `NewPath`).
    pub fn new(name: &str) -> Self {
        Self {
            rendered: name.to_owned(),
        }
    }

    /// The path of a child field (Go: `Child`).
    pub fn child(&self, name: &str) -> Self {
        let mut rendered = self.rendered.clone();
        if !rendered.is_empty() && !name.is_empty() {
            rendered.push('.');
        }
        rendered.push_str(name);
        Self { rendered }
    }

    /// The path of a list element (Go: `Index`): `x[3]`.
    pub fn index(&self, index: usize) -> Self {
        self.subscript(&index.to_string())
    }

    /// The path of a map entry (Go: `Key`): `x[key]`.
    pub fn key(&self, key: &str) -> Self {
        self.subscript(key)
    }

    fn subscript(&self, subscript: &str) -> Self {
        Self {
            rendered: format!("{}[{subscript}]", self.rendered),
        }
    }

    /// The path as Go prints it.
    pub fn as_str(&self) -> &str {
        &self.rendered
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
    }
}

/// What is wrong with a field (Go: `field.ErrorType`, the `reason` of a
/// Status cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorType {
    /// `FieldValueNotFound`: a referenced value does not exist.
    NotFound,
    /// `FieldValueRequired`: a required value is missing.
    Required,
    /// `FieldValueDuplicate`: a value that must be unique is repeated.
    Duplicate,
    /// `FieldValueInvalid`: the value is malformed.
    Invalid,
    /// `FieldValueNotSupported`: the value is not one of the supported ones.
    NotSupported,
    /// `FieldValueForbidden`: the value is not allowed here.
    Forbidden,
    /// `FieldValueTooLong`: the value is too long.
    TooLong,
    /// `FieldValueTooMany`: the list has too many items.
    TooMany,
    /// `InternalError`: something went wrong that is not the user's input.
    Internal,
    /// `FieldValueTypeInvalid`: the value has the wrong type.
    TypeInvalid,
}

impl ErrorType {
    /// The machine-readable form (a Status cause's `reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "FieldValueNotFound",
            Self::Required => "FieldValueRequired",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Internal => "InternalError",
            Self::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    /// The human-readable form Go's `ErrorType.String()` prints.
    pub fn description(self) -> &'static str {
        match self {
            Self::NotFound => "Not found",
            Self::Required => "Required value",
            Self::Duplicate => "Duplicate value",
            Self::Invalid | Self::TypeInvalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Forbidden => "Forbidden",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::Internal => "Internal error",
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// One field-level validation error (Go: `field.Error`).
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// What is wrong.
    pub kind: ErrorType,
    /// The field's path, as printed (`metadata.name`).
    pub field: String,
    /// The offending value; `None` leaves it out of the message.
    pub bad_value: Option<Value>,
    /// Why it is wrong.
    pub detail: String,
}

impl Error {
    /// `<field>: Invalid value: <value>: <detail>` (Go: `field.Invalid`).
    pub fn invalid(path: &Path, value: impl Into<Value>, detail: impl Into<String>) -> Self {
        Self::with_value(ErrorType::Invalid, path, value.into(), detail.into())
    }

    /// `<field>: Required value[: <detail>]` (Go: `field.Required`).
    pub fn required(path: &Path, detail: impl Into<String>) -> Self {
        Self::without_value(ErrorType::Required, path, detail.into())
    }

    /// `<field>: Forbidden: <detail>` (Go: `field.Forbidden`).
    pub fn forbidden(path: &Path, detail: impl Into<String>) -> Self {
        Self::without_value(ErrorType::Forbidden, path, detail.into())
    }

    /// `<field>: Duplicate value: <value>` (Go: `field.Duplicate`).
    pub fn duplicate(path: &Path, value: impl Into<Value>) -> Self {
        Self::with_value(ErrorType::Duplicate, path, value.into(), String::new())
    }

    /// `<field>: Not found: <value>` (Go: `field.NotFound`).
    pub fn not_found(path: &Path, value: impl Into<Value>) -> Self {
        Self::with_value(ErrorType::NotFound, path, value.into(), String::new())
    }

    /// `<field>: Invalid value: <value>: <detail>` for a value of the wrong
    /// type (Go: `field.TypeInvalid`).
    pub fn type_invalid(path: &Path, value: impl Into<Value>, detail: impl Into<String>) -> Self {
        Self::with_value(ErrorType::TypeInvalid, path, value.into(), detail.into())
    }

    /// `<field>: Unsupported value: <value>: supported values: "a", "b"`
    /// (Go: `field.NotSupported`).
    pub fn not_supported<S: AsRef<str>>(
        path: &Path,
        value: impl Into<Value>,
        supported: &[S],
    ) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported
                .iter()
                .map(|s| crate::go::quote(s.as_ref()))
                .collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::with_value(ErrorType::NotSupported, path, value.into(), detail)
    }

    /// `<field>: Too long: may not be more than N bytes` (Go: `field.TooLong`;
    /// a negative `max_bytes` says `value is too long`).
    pub fn too_long(path: &Path, max_bytes: i64) -> Self {
        Self::without_value(ErrorType::TooLong, path, too_long_detail(max_bytes, "byte"))
    }

    /// `<field>: Too long: may not be more than N characters` (Go:
    /// `field.TooLongCharacters`).
    pub fn too_long_characters(path: &Path, max_characters: i64) -> Self {
        Self::without_value(
            ErrorType::TooLong,
            path,
            too_long_detail(max_characters, "character"),
        )
    }

    /// `<field>: Too many: <actual>: must have at most N items` (Go:
    /// `field.TooMany`; negative numbers leave out the value or the limit).
    pub fn too_many(path: &Path, actual: i64, max: i64) -> Self {
        let detail = match max {
            1 => "must have at most 1 item".to_owned(),
            max if max >= 0 => format!("must have at most {max} items"),
            _ => "has too many items".to_owned(),
        };
        Self {
            kind: ErrorType::TooMany,
            field: path.to_string(),
            bad_value: (actual >= 0).then(|| Value::from(actual)),
            detail,
        }
    }

    /// `<field>: Internal error: <detail>` (Go: `field.InternalError`).
    pub fn internal(path: &Path, detail: impl fmt::Display) -> Self {
        Self::without_value(ErrorType::Internal, path, detail.to_string())
    }

    fn with_value(kind: ErrorType, path: &Path, value: Value, detail: String) -> Self {
        Self {
            kind,
            field: path.to_string(),
            bad_value: Some(value),
            detail,
        }
    }

    fn without_value(kind: ErrorType, path: &Path, detail: String) -> Self {
        Self {
            kind,
            field: path.to_string(),
            bad_value: None,
            detail,
        }
    }

    /// The message without the field (Go: `ErrorBody`): a Status cause's
    /// `message`.
    pub fn body(&self) -> String {
        let mut body = self.kind.description().to_owned();
        let shows_value = !matches!(
            self.kind,
            ErrorType::Required | ErrorType::Forbidden | ErrorType::TooLong | ErrorType::Internal
        );
        if let (true, Some(value)) = (shows_value, &self.bad_value) {
            body.push_str(": ");
            body.push_str(&go_value(value));
        }
        if !self.detail.is_empty() {
            body.push_str(": ");
            body.push_str(&self.detail);
        }
        body
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for Error {}

/// A list of field errors (Go: `field.ErrorList`).
pub type ErrorList = Vec<Error>;

/// The errors as one message, as Go's `ErrorList.ToAggregate().Error()`
/// prints it: duplicates dropped, one error as itself, several as
/// `[a, b]`; `None` for an empty list.
pub fn aggregate(errors: &[Error]) -> Option<String> {
    let mut seen = BTreeSet::new();
    let messages: Vec<String> = errors
        .iter()
        .map(ToString::to_string)
        .filter(|message| seen.insert(message.clone()))
        .collect();
    match messages.len() {
        0 => None,
        1 => messages.into_iter().next(),
        _ => Some(format!("[{}]", messages.join(", "))),
    }
}

impl StatusError {
    /// 422 `<Kind[.group]> "<name>" is invalid: <errors>` with one
    /// `details.causes[]` entry per error (Go: `NewInvalid`).
    pub fn invalid(group: &str, kind: &str, name: &str, errors: &[Error]) -> Self {
        let qualified_kind = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        let quoted = crate::go::quote(name);
        let message = match aggregate(errors) {
            Some(aggregate) => format!("{qualified_kind} {quoted} is invalid: {aggregate}"),
            None => format!("{qualified_kind} {quoted} is invalid"),
        };
        let causes = errors
            .iter()
            .map(|error| StatusCause {
                reason: Some(error.kind.as_str().to_owned()),
                message: Some(error.body()),
                field: (!error.field.is_empty()).then(|| error.field.clone()),
            })
            .collect();
        StatusError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusReason::Invalid,
            message,
        )
        .with_details(StatusDetails {
            group: (!group.is_empty()).then(|| group.to_owned()),
            kind: (!kind.is_empty()).then(|| kind.to_owned()),
            name: (!name.is_empty()).then(|| name.to_owned()),
            causes: Some(causes),
            ..StatusDetails::default()
        })
    }
}

fn too_long_detail(max: i64, unit: &str) -> String {
    match max {
        1 => format!("may not be more than 1 {unit}"),
        max if max >= 0 => format!("may not be more than {max} {unit}s"),
        _ => "value is too long".to_owned(),
    }
}

/// A bad value as Go's `ErrorBody` prints it: strings quoted (`%q`),
/// numbers and booleans plain, everything else as JSON.
fn go_value(value: &Value) -> String {
    match value {
        Value::String(s) => crate::go::quote(s),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(error: Error, expected: &str) {
        assert_eq!(error.to_string(), expected);
    }

    #[test]
    fn paths_render_as_go() {
        let containers = Path::new("spec").child("containers");
        assert_eq!(
            containers.index(0).child("image").as_str(),
            "spec.containers[0].image"
        );
        assert_eq!(Path::new("data").key("key").as_str(), "data[key]");
        assert_eq!(
            Path::new("metadata").child("name").as_str(),
            "metadata.name"
        );
        assert_eq!(Path::default().child("key").as_str(), "key");
    }

    #[test]
    fn error_messages_match_go() {
        let name = Path::new("metadata").child("name");
        check(
            Error::invalid(&name, "X", "detail"),
            r#"metadata.name: Invalid value: "X": detail"#,
        );
        check(Error::required(&name, ""), "metadata.name: Required value");
        check(
            Error::required(&name, "name or generateName is required"),
            "metadata.name: Required value: name or generateName is required",
        );
        check(
            Error::forbidden(&name, "nope"),
            "metadata.name: Forbidden: nope",
        );
        check(
            Error::not_supported(&Path::new("p"), "Foo", &["A", "B"]),
            r#"p: Unsupported value: "Foo": supported values: "A", "B""#,
        );
        check(
            Error::not_supported::<&str>(&Path::new("p"), "Foo", &[]),
            r#"p: Unsupported value: "Foo""#,
        );
        check(
            Error::too_long(&name, 253),
            "metadata.name: Too long: may not be more than 253 bytes",
        );
        check(
            Error::too_long(&name, 1),
            "metadata.name: Too long: may not be more than 1 byte",
        );
        check(
            Error::too_long(&name, -1),
            "metadata.name: Too long: value is too long",
        );
        check(
            Error::too_long_characters(&name, 63),
            "metadata.name: Too long: may not be more than 63 characters",
        );
        check(
            Error::too_many(&Path::new("items"), 5, 3),
            "items: Too many: 5: must have at most 3 items",
        );
        check(
            Error::too_many(&Path::new("items"), -1, 1),
            "items: Too many: must have at most 1 item",
        );
        check(
            Error::duplicate(&Path::new("k"), 7),
            "k: Duplicate value: 7",
        );
        check(
            Error::not_found(&Path::new("k"), true),
            "k: Not found: true",
        );
        check(
            Error::invalid(&Path::new("x"), json!(["a", "b"]), "d"),
            r#"x: Invalid value: ["a","b"]: d"#,
        );
        check(
            Error::invalid(&Path::new("x"), Value::Null, "d"),
            "x: Invalid value: null: d",
        );
        check(
            Error::invalid(&Path::new("x"), 2.5, "d"),
            "x: Invalid value: 2.5: d",
        );
        check(
            Error::invalid(&Path::new("x"), 3.0, "d"),
            "x: Invalid value: 3: d",
        );
        check(
            Error::invalid(&Path::new("x"), "a\"b\n\u{1}é", "d"),
            r#"x: Invalid value: "a\"b\n\x01é": d"#,
        );
        check(
            Error::type_invalid(&Path::new("x"), "s", "must be integer"),
            r#"x: Invalid value: "s": must be integer"#,
        );
        check(
            Error::internal(&Path::new("x"), "boom"),
            "x: Internal error: boom",
        );
    }

    #[test]
    fn aggregate_dedups_and_brackets() {
        let a = Error::required(&Path::new("a"), "");
        let b = Error::required(&Path::new("b"), "");
        assert_eq!(aggregate(&[]), None);
        assert_eq!(
            aggregate(std::slice::from_ref(&a)).as_deref(),
            Some("a: Required value")
        );
        assert_eq!(
            aggregate(&[a.clone(), b, a]).as_deref(),
            Some("[a: Required value, b: Required value]")
        );
    }

    #[test]
    fn invalid_status_matches_new_invalid() {
        let errors = vec![
            Error::invalid(&Path::new("metadata").child("name"), "A", "bad"),
            Error::required(&Path::new("metadata").child("namespace"), ""),
        ];
        let err = StatusError::invalid("coordination.k8s.io", "Lease", "A", &errors);
        assert_eq!(err.code(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.reason(), StatusReason::Invalid);
        assert_eq!(
            err.message(),
            r#"Lease.coordination.k8s.io "A" is invalid: [metadata.name: Invalid value: "A": bad, metadata.namespace: Required value]"#
        );
        let status = serde_json::to_value(err.to_status()).unwrap();
        assert_eq!(
            status["details"],
            json!({
                "name": "A",
                "group": "coordination.k8s.io",
                "kind": "Lease",
                "causes": [
                    {"reason": "FieldValueInvalid", "message": "Invalid value: \"A\": bad", "field": "metadata.name"},
                    {"reason": "FieldValueRequired", "message": "Required value", "field": "metadata.namespace"},
                ]
            })
        );
        let empty = StatusError::invalid("", "ConfigMap", "x", &[]);
        assert_eq!(empty.message(), r#"ConfigMap "x" is invalid"#);
    }
}
