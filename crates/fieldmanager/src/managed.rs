//! `metadata.managedFields` on the wire and in memory: decoding entries
//! (with Go's errors for invalid ones), manager identifiers, encoding back
//! in Go's order, and the timestamps of each manager.
//!
//! Mirrors `k8s.io/apimachinery/pkg/util/managedfields/internal`
//! (`managedfields.go`: `DecodeManagedFields`, `BuildManagerIdentifier`,
//! `encodeManagedFields`, `sortEncodedManagedFields`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::set::FieldSet;
use crate::updater::{Managers, VersionedSet};
use crate::value;

/// The operation that made a manager own its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Any other write (create, update, patch).
    Update,
}

impl Operation {
    /// The wire form: `Apply` or `Update`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// One decoded `metadata.managedFields` entry (Go:
/// `metav1.ManagedFieldsEntry` with its FieldsV1 parsed).
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedFieldsEntry {
    /// The manager's name.
    pub manager: String,
    /// How the manager came to own the fields.
    pub operation: Operation,
    /// The API version the fields are expressed in.
    pub api_version: String,
    /// When the manager last changed something, at second precision.
    pub time: Option<Timestamp>,
    /// The owned fields.
    pub fields: FieldSet,
    /// The subresource written through (empty for the main resource).
    pub subresource: String,
}

impl ManagedFieldsEntry {
    /// The entry as the API writes it: `apiVersion`, `fieldsType`,
    /// `fieldsV1`, `manager`, `operation`, `subresource` (when set), `time`
    /// (when known).
    pub fn to_value(&self) -> Value {
        let mut entry = Map::new();
        entry.insert("apiVersion".into(), self.api_version.clone().into());
        entry.insert("fieldsType".into(), "FieldsV1".into());
        entry.insert("fieldsV1".into(), self.fields.to_fields_v1());
        entry.insert("manager".into(), self.manager.clone().into());
        entry.insert("operation".into(), self.operation.as_str().into());
        if !self.subresource.is_empty() {
            entry.insert("subresource".into(), self.subresource.clone().into());
        }
        if let Some(time) = self.time {
            entry.insert("time".into(), format_time(time).into());
        }
        Value::Object(entry)
    }

    /// The identifier structured-merge-diff keys this manager by: the
    /// entry's JSON without fields, time and (for appliers) apiVersion (Go:
    /// `BuildManagerIdentifier`).
    pub fn identifier(&self) -> String {
        let api_version = match self.operation {
            Operation::Apply => "",
            Operation::Update => &self.api_version,
        };
        identifier(
            &self.manager,
            self.operation,
            api_version,
            &self.subresource,
        )
    }
}

/// `{"manager":…,"operation":…,"apiVersion":…,"subresource":…}` with empty
/// members left out, as Go's `json.Marshal` writes the entry.
pub(crate) fn identifier(
    manager: &str,
    operation: Operation,
    api_version: &str,
    subresource: &str,
) -> String {
    let mut out = String::from("{");
    let mut first = true;
    let mut member = |out: &mut String, key: &str, v: &str| {
        if v.is_empty() {
            return;
        }
        if !first {
            out.push(',');
        }
        first = false;
        value::write_go_string(key, true, out);
        out.push(':');
        value::write_go_string(v, true, out);
    };
    member(&mut out, "manager", manager);
    member(&mut out, "operation", operation.as_str());
    member(&mut out, "apiVersion", api_version);
    member(&mut out, "subresource", subresource);
    out.push('}');
    out
}

/// RFC 3339 in UTC at second precision, as `metav1.Time` marshals.
pub(crate) fn format_time(t: Timestamp) -> String {
    match Timestamp::from_second(t.as_second()) {
        Ok(truncated) => truncated.to_string(),
        Err(_) => t.to_string(),
    }
}

/// Decoded managed fields: what each manager owns and when it last wrote
/// (Go: `internal.ManagedInterface`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Managed {
    pub(crate) fields: Managers,
    pub(crate) times: BTreeMap<String, Option<Timestamp>>,
}

impl Managed {
    /// Decodes entries (Go: `DecodeManagedFields`); a later entry with the
    /// same identifier replaces an earlier one.
    pub(crate) fn decode(entries: &[ManagedFieldsEntry]) -> Self {
        let mut managed = Self::default();
        for entry in entries {
            let id = entry.identifier();
            managed.fields.insert(
                id.clone(),
                VersionedSet {
                    set: entry.fields.clone(),
                    api_version: entry.api_version.clone(),
                    applied: entry.operation == Operation::Apply,
                },
            );
            managed.times.insert(id, entry.time);
        }
        managed
    }

    /// The wire entries in Go's order: operation, time, manager,
    /// apiVersion, subresource (Go: `encodeManagedFields`).
    pub(crate) fn encode(&self) -> Vec<ManagedFieldsEntry> {
        let mut entries: Vec<ManagedFieldsEntry> = self
            .fields
            .iter()
            .map(|(id, owned)| {
                let parsed: Map<String, Value> = serde_json::from_str(id).unwrap_or_default();
                let text = |k: &str| {
                    parsed
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                };
                let operation = if owned.applied || text("operation") == "Apply" {
                    Operation::Apply
                } else {
                    Operation::Update
                };
                ManagedFieldsEntry {
                    manager: text("manager"),
                    operation,
                    api_version: owned.api_version.clone(),
                    time: self.times.get(id).copied().flatten(),
                    fields: owned.set.clone(),
                    subresource: text("subresource"),
                }
            })
            .collect();
        entries.sort_by(|p, q| {
            p.operation
                .cmp(&q.operation)
                .then_with(|| seconds(p.time).cmp(&seconds(q.time)))
                .then_with(|| p.manager.cmp(&q.manager))
                .then_with(|| p.api_version.cmp(&q.api_version))
                .then_with(|| p.subresource.cmp(&q.subresource))
        });
        entries
    }
}

pub(crate) fn seconds(t: Option<Timestamp>) -> i64 {
    t.map_or(0, |t| t.as_second())
}

/// Parses `metadata.managedFields` entries and checks them as Go's
/// `DecodeManagedFields` does: operation `Apply` or `Update`, a non-empty
/// `apiVersion`, `fieldsType` `FieldsV1`, readable `fieldsV1`.
pub fn decode_managed_fields(entries: &Value) -> Result<Vec<ManagedFieldsEntry>, Error> {
    let list = match entries {
        Value::Null => return Ok(Vec::new()),
        Value::Array(list) => list,
        other => {
            return Err(Error::managed_fields(format!(
                "managedFields must be a list, got {other}"
            )));
        }
    };
    list.iter()
        .enumerate()
        .map(|(i, entry)| decode_entry(i, entry))
        .collect()
}

fn decode_entry(i: usize, entry: &Value) -> Result<ManagedFieldsEntry, Error> {
    let Value::Object(entry) = entry else {
        return Err(Error::managed_fields(format!(
            "managed fields entry {i} must be an object"
        )));
    };
    let text = |key: &str| -> Result<String, Error> {
        match entry.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(Error::managed_fields(format!(
                "managed fields entry {i}: {key} must be a string, got {other}"
            ))),
        }
    };
    let operation = match text("operation")?.as_str() {
        "Apply" => Operation::Apply,
        "Update" => Operation::Update,
        _ => {
            return Err(Error::managed_fields(
                "operation must be `Apply` or `Update`",
            ));
        }
    };
    let api_version = text("apiVersion")?;
    if api_version.is_empty() {
        return Err(Error::managed_fields("apiVersion must not be empty"));
    }
    match text("fieldsType")?.as_str() {
        "FieldsV1" => {}
        "" => {
            return Err(Error::managed_fields(format!(
                "missing fieldsType in managed fields entry {i}"
            )));
        }
        other => {
            return Err(Error::managed_fields(format!(
                "invalid fieldsType {} in managed fields entry {i}",
                kapi_core::go::quote(other)
            )));
        }
    }
    let time = match text("time")? {
        t if t.is_empty() => None,
        t => Some(t.parse::<Timestamp>().map_err(|e| {
            Error::managed_fields(format!("managed fields entry {i}: invalid time {t:?}: {e}"))
        })?),
    };
    let fields = match entry.get("fieldsV1") {
        None => FieldSet::new(),
        Some(v) => FieldSet::from_fields_v1(v).map_err(|e| {
            Error::managed_fields(format!(
                "error decoding versioned set from entry {i}: error decoding set: {e}"
            ))
        })?,
    };
    Ok(ManagedFieldsEntry {
        manager: text("manager")?,
        operation,
        api_version,
        time,
        fields,
        subresource: text("subresource")?,
    })
}

/// Encodes entries as the `metadata.managedFields` list.
pub fn encode_managed_fields(entries: &[ManagedFieldsEntry]) -> Value {
    Value::Array(entries.iter().map(ManagedFieldsEntry::to_value).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Go's `TestRoundTripManagedFields`, as JSON: decoding then encoding
    /// gives the same entries back.
    #[test]
    fn round_trip() {
        let cases = [
            json!([
                {"apiVersion": "v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"v:3": {"f:alsoPi": {}}, "v:3.1415": {"f:pi": {}}, "v:false": {"f:notTrue": {}}},
                 "manager": "foo", "operation": "Update", "time": "2001-02-03T04:05:06Z"},
                {"apiVersion": "v1beta1", "fieldsType": "FieldsV1", "fieldsV1": {"i:5": {"f:i": {}}},
                 "manager": "foo", "operation": "Update", "time": "2011-12-13T14:15:16Z"}
            ]),
            json!([{"apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {"f:image": {}, "f:name": {}}}}},
                "manager": "foo", "operation": "Apply"}]),
            json!([{"apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:replicas": {}}},
                "manager": "foo", "operation": "Update", "subresource": "scale"}]),
        ];
        for case in cases {
            let entries = decode_managed_fields(&case).unwrap();
            let managed = Managed::decode(&entries);
            assert_eq!(encode_managed_fields(&managed.encode()), case);
        }
    }

    #[test]
    fn invalid_entries() {
        let check = |entry: Value, message: &str| {
            let err = decode_managed_fields(&json!([entry])).unwrap_err();
            assert_eq!(err.to_string(), message);
        };
        check(
            json!({"manager": "m", "apiVersion": "v1", "fieldsType": "FieldsV1"}),
            "operation must be `Apply` or `Update`",
        );
        check(
            json!({"manager": "m", "operation": "Apply", "fieldsType": "FieldsV1"}),
            "apiVersion must not be empty",
        );
        check(
            json!({"manager": "m", "operation": "Apply", "apiVersion": "v1"}),
            "missing fieldsType in managed fields entry 0",
        );
        check(
            json!({"manager": "m", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV2"}),
            "invalid fieldsType \"FieldsV2\" in managed fields entry 0",
        );
    }

    #[test]
    fn identifiers() {
        assert_eq!(
            identifier("kubectl", Operation::Update, "apps/v1", ""),
            r#"{"manager":"kubectl","operation":"Update","apiVersion":"apps/v1"}"#
        );
        assert_eq!(
            identifier("m<", Operation::Apply, "", "status"),
            r#"{"manager":"m\u003c","operation":"Apply","subresource":"status"}"#
        );
    }

    #[test]
    fn sorted_like_go() {
        let entries = decode_managed_fields(&json!([
            {"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:a": {}}, "manager": "b", "operation": "Update", "time": "2001-01-01T00:00:00Z"},
            {"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:b": {}}, "manager": "a", "operation": "Update", "time": "2002-01-01T00:00:00Z"},
            {"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:c": {}}, "manager": "z", "operation": "Apply", "time": "2003-01-01T00:00:00Z"},
            {"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:d": {}}, "manager": "c", "operation": "Update"}
        ]))
        .unwrap();
        let order: Vec<String> = Managed::decode(&entries)
            .encode()
            .into_iter()
            .map(|e| e.manager)
            .collect();
        assert_eq!(order, ["z", "c", "b", "a"]);
    }
}
