//! events.k8s.io/v1 `events` (Go: `pkg/registry/core/event`, which serves
//! them from the same storage as core/v1 events, the conversion functions
//! of `pkg/apis/events/v1`, and the events.k8s.io path of
//! `ValidateEventCreate`).
//!
//! Both APIs read and write the same objects, stored as core/v1 Events
//! under `/events`: this API's view renames the fields (`regarding` ↔
//! `involvedObject`, `note` ↔ `message`, `reportingController` ↔
//! `reportingComponent`, `deprecatedSource` ↔ `source`, the deprecated
//! timestamps and count).

use std::sync::Arc;

use kapi_core::field::{Error, ErrorList, Path};
use kapi_endpoints::Converter;
use serde_json::{Map, Value};

use super::core_v1::EventStrategy;
use super::max_length;

/// The renamed fields, as (events.k8s.io/v1, core/v1).
const RENAMED: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// Converts events.k8s.io/v1 Events to and from their core/v1 storage.
#[derive(Debug)]
pub(super) struct EventsV1Converter;

/// The converter [`install`](super::install) gives the events.k8s.io view.
pub(super) fn converter() -> Arc<dyn Converter> {
    Arc::new(EventsV1Converter)
}

impl Converter for EventsV1Converter {
    fn to_storage(&self, object: Value) -> Value {
        rename(object, "v1", |(v1, core)| (v1, core))
    }

    fn to_served(&self, object: Value) -> Value {
        rename(object, "events.k8s.io/v1", |(v1, core)| (core, v1))
    }
}

/// `object` with each field renamed from `pick(pair).0` to `pick(pair).1`
/// and `apiVersion` set; other fields (metadata, eventTime, series, action,
/// reason, type, related, reportingInstance) keep their names.
fn rename(
    object: Value,
    api_version: &str,
    pick: impl Fn((&'static str, &'static str)) -> (&'static str, &'static str),
) -> Value {
    let Value::Object(map) = object else {
        return object;
    };
    let mut out = Map::with_capacity(map.len());
    for (key, value) in map {
        let renamed = RENAMED
            .iter()
            .map(|pair| pick(*pair))
            .find(|(from, _)| *from == key)
            .map_or(key, |(_, to)| to.to_owned());
        out.insert(renamed, value);
    }
    out.insert("apiVersion".to_owned(), Value::from(api_version));
    Value::Object(out)
}

/// events.k8s.io/v1 Events: the same strategy as core/v1 Events, with
/// the checks of the newer API.
pub(super) const EVENTS_V1: EventStrategy = EventStrategy(validate_event);

/// The checks Go applies to events written through events.k8s.io, on the
/// stored (core/v1) object seen as events.k8s.io/v1.
fn validate_event(stored: &Value) -> ErrorList {
    let event = &EventsV1Converter.to_served(stored.clone());
    let mut errs = ErrorList::new();
    let text = |field: &str| event[field].as_str().unwrap_or_default();
    for field in [
        "eventTime",
        "reportingController",
        "reportingInstance",
        "action",
        "reason",
    ] {
        if text(field).is_empty() {
            errs.push(Error::required(&Path::new(field), ""));
        }
    }
    let kind = text("type");
    if kind != "Normal" && kind != "Warning" {
        errs.push(Error::invalid(
            &Path::new("type"),
            "",
            format!("has invalid value: {kind}"),
        ));
    }
    let regarding = event["regarding"]["namespace"].as_str().unwrap_or_default();
    let namespace = event["metadata"]["namespace"].as_str().unwrap_or_default();
    if !regarding.is_empty() && regarding != namespace {
        errs.push(Error::invalid(
            &Path::new("regarding").child("namespace"),
            regarding,
            "does not match event.namespace",
        ));
    }
    for (field, max) in [
        ("reportingInstance", 128),
        ("action", 128),
        ("reason", 128),
        ("note", 1024),
    ] {
        errs.extend(max_length(event, field, max));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use kapi_storage::registry::Strategy as _;
    use serde_json::json;

    #[test]
    fn events_v1_round_trips_through_core_v1() {
        let v1 = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "default"},
            "eventTime": "2024-01-01T00:00:00.000000Z",
            "regarding": {"kind": "Pod", "name": "p"},
            "note": "hello", "reason": "Tested", "action": "Test", "type": "Normal",
            "reportingController": "kapi.io/test", "reportingInstance": "i-1",
            "deprecatedCount": 2, "series": {"count": 3, "lastObservedTime": "2024-01-01T00:00:01.000000Z"},
        });
        let core = EventsV1Converter.to_storage(v1.clone());
        assert_eq!(
            core,
            json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "e", "namespace": "default"},
                "eventTime": "2024-01-01T00:00:00.000000Z",
                "involvedObject": {"kind": "Pod", "name": "p"},
                "message": "hello", "reason": "Tested", "action": "Test", "type": "Normal",
                "reportingComponent": "kapi.io/test", "reportingInstance": "i-1",
                "count": 2, "series": {"count": 3, "lastObservedTime": "2024-01-01T00:00:01.000000Z"},
            })
        );
        assert_eq!(EventsV1Converter.to_served(core), v1);
    }

    #[test]
    fn validation_messages() {
        let complete = json!({
            "metadata": {"name": "e", "namespace": "default"},
            "eventTime": "2024-01-01T00:00:00.000000Z",
            "reportingController": "kapi.io/test",
            "reportingInstance": "test-1",
            "action": "Tested",
            "reason": "Testing",
            "type": "Normal",
        });
        assert!(EVENTS_V1.validate(&complete).is_empty());
        let messages: Vec<String> = EVENTS_V1
            .validate(&json!({"metadata": {"name": "e", "namespace": "default"}, "type": "Odd"}))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            messages,
            [
                "eventTime: Required value",
                "reportingController: Required value",
                "reportingInstance: Required value",
                "action: Required value",
                "reason: Required value",
                "type: Invalid value: \"\": has invalid value: Odd",
            ]
        );
    }
}
