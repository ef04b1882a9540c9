//! Server-side `Table` output, what `kubectl get` asks for with
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`: the
//! [`TableConvertor`] a resource may carry, its [`ColumnDefinition`]s, the
//! default convertor's `Name` and `Created At` columns, the `AGE` cell of
//! kube-apiserver's printers, and the `meta.k8s.io` `Table` built from
//! objects with its rows' `includeObject` form.
//!
//! Mirrors `k8s.io/apiserver/pkg/registry/rest/table.go` (the default
//! convertor), `pkg/endpoints/handlers/response.go` (`asTable`) and
//! `k8s.io/apimachinery/pkg/util/duration` (`HumanDuration`).

use std::fmt;

use kapi_core::StatusError;
use serde_json::{Map, Value, json};

/// Turns objects of one resource into table cells (Go:
/// `rest.TableConvertor`, for kube-apiserver's printers). A resource
/// without one gets Go's default convertor: `Name` and `Created At`.
pub trait TableConvertor: Send + Sync + fmt::Debug {
    /// The columns, in order.
    fn columns(&self) -> Vec<ColumnDefinition>;
    /// One object's cells, one per column.
    fn cells(&self, object: &Value) -> Vec<Value>;
}

/// One column of a `Table` (Go: `metav1.TableColumnDefinition`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColumnDefinition {
    /// The header (`Name`, `Data`, `Age`).
    pub name: String,
    /// The OpenAPI type of its cells (`string`, `integer`, `date`).
    pub type_: String,
    /// The OpenAPI format (`name` for the object's name), or empty.
    pub format: String,
    /// What the column shows.
    pub description: String,
    /// 0 for the default view, higher for `-o wide` only.
    pub priority: i32,
}

/// Go's `ObjectMeta` swagger doc of `name`.
const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// Go's `ObjectMeta` swagger doc of `creationTimestamp`.
const CREATION_TIMESTAMP_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

impl ColumnDefinition {
    /// A column of `type_` cells at priority 0, without a format.
    pub fn new(name: &str, type_: &str, description: &str) -> Self {
        Self {
            name: name.to_owned(),
            type_: type_.to_owned(),
            format: String::new(),
            description: description.to_owned(),
            priority: 0,
        }
    }

    /// The printers' `Name` column (format `name`).
    pub fn name() -> Self {
        let mut column = Self::new("Name", "string", NAME_DESCRIPTION);
        column.format = "name".to_owned();
        column
    }

    /// The printers' `Age` column: a human duration since creation, see
    /// [`age`].
    pub fn age() -> Self {
        Self::new("Age", "string", CREATION_TIMESTAMP_DESCRIPTION)
    }

    /// The same column shown only with `-o wide` (`priority` 1).
    pub fn wide(mut self) -> Self {
        self.priority = 1;
        self
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// An object's `Age` cell: the time since its `creationTimestamp` as Go's
/// `HumanDuration` writes it (`45s`, `5m`, `3h12m`, `12d`), `<unknown>`
/// without one (Go: the printers' `translateTimestampSince`).
pub fn age(object: &Value) -> Value {
    since(object["metadata"]["creationTimestamp"].as_str())
}

/// The time since an RFC 3339 timestamp as Go's printers show it (`5m`),
/// `<unknown>` for none (Go: `translateTimestampSince`).
pub fn since(timestamp: Option<&str>) -> Value {
    let Some(at) = timestamp.and_then(|text| text.parse::<jiff::Timestamp>().ok()) else {
        return Value::String("<unknown>".to_owned());
    };
    let seconds = jiff::Timestamp::now().duration_since(at).as_secs();
    Value::String(human_duration(seconds))
}

/// The rows' `object` (Go: `metav1.IncludeObjectPolicy`, the
/// `includeObject` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    /// `None`: `"object":null`.
    None,
    /// `Metadata` (the default): a `PartialObjectMetadata`.
    Metadata,
    /// `Object`: the whole object.
    Object,
}

impl IncludeObject {
    /// Parses `includeObject`; an unknown value is Go's 400.
    pub(crate) fn parse(value: Option<&str>) -> Result<Self, StatusError> {
        match value.unwrap_or_default() {
            "" | "Metadata" => Ok(Self::Metadata),
            "None" => Ok(Self::None),
            "Object" => Ok(Self::Object),
            other => Err(StatusError::bad_request(format!(
                "unrecognized includeObject value: {}",
                kapi_core::go::quote(other)
            ))),
        }
    }
}

/// A `Table` of `meta.k8s.io/<version>` for `objects` (which already carry
/// their `kind` and `apiVersion`), with `metadata` as the table's list
/// metadata (Go: `ConvertToTable` then `asTable`).
pub(crate) fn table(
    convertor: Option<&dyn TableConvertor>,
    version: &str,
    include: IncludeObject,
    objects: &[Value],
    metadata: Map<String, Value>,
) -> Value {
    let columns = match convertor {
        Some(convertor) => convertor.columns(),
        None => vec![
            ColumnDefinition::name(),
            ColumnDefinition::new("Created At", "date", CREATION_TIMESTAMP_DESCRIPTION),
        ],
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let cells = match convertor {
                Some(convertor) => convertor.cells(object),
                None => default_cells(object),
            };
            json!({"cells": cells, "object": row_object(object, version, include)})
        })
        .collect();
    // Go's default convertor leaves an empty table's rows nil; the
    // printers make an empty slice.
    let rows = if rows.is_empty() && convertor.is_none() {
        Value::Null
    } else {
        Value::Array(rows)
    };
    json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": metadata,
        "columnDefinitions": columns.iter().map(ColumnDefinition::to_json).collect::<Vec<_>>(),
        "rows": rows,
    })
}

/// The default convertor's cells: the name and the creation time in
/// RFC 3339 (Go's zero time when unset).
fn default_cells(object: &Value) -> Vec<Value> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let created = object["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap_or("0001-01-01T00:00:00Z");
    vec![json!(name), json!(created)]
}

/// A row's `object` as `includeObject` asks.
fn row_object(object: &Value, version: &str, include: IncludeObject) -> Value {
    match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => object.clone(),
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": format!("meta.k8s.io/{version}"),
            "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}

/// Go's `duration.HumanDuration` over whole seconds (Go truncates each
/// unit from the same duration, so whole seconds give the same text).
fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_duration_matches_go() {
        let check = |seconds: i64, expected: &str| {
            assert_eq!(human_duration(seconds), expected, "{seconds}s");
        };
        check(-2, "<invalid>");
        check(-1, "0s");
        check(0, "0s");
        check(119, "119s");
        check(120, "2m");
        check(125, "2m5s");
        check(600, "10m");
        check(3 * 3600 - 1, "179m");
        check(3 * 3600, "3h");
        check(3 * 3600 + 60 * 12, "3h12m");
        check(8 * 3600, "8h");
        check(47 * 3600, "47h");
        check(48 * 3600, "2d");
        check(50 * 3600, "2d2h");
        check(8 * 86400, "8d");
        check(2 * 365 * 86400, "2y");
        check(2 * 365 * 86400 + 3 * 86400, "2y3d");
        check(9 * 365 * 86400, "9y");
    }

    #[test]
    fn include_object_values() {
        assert_eq!(
            IncludeObject::parse(None).ok(),
            Some(IncludeObject::Metadata)
        );
        assert_eq!(
            IncludeObject::parse(Some("None")).ok(),
            Some(IncludeObject::None)
        );
        assert_eq!(
            IncludeObject::parse(Some("Object")).ok(),
            Some(IncludeObject::Object)
        );
        let err = IncludeObject::parse(Some("All")).err();
        assert_eq!(
            err.map(|e| e.to_status().message),
            Some(Some(
                r#"unrecognized includeObject value: "All""#.to_owned()
            ))
        );
    }
}
