//! events.k8s.io/v1 `events` (Go: `pkg/registry/core/event`, which serves
//! them from the same storage as core/v1 events, and the events.k8s.io
//! path of `ValidateEventCreate`).
//!
//! kube-apiserver converts between the two shapes (`regarding` ↔
//! `involvedObject`, `note` ↔ `message`, `deprecatedSource` ↔ `source`, …);
//! kapi stores objects as written and has no conversion yet, so this view
//! keeps its own objects under `/events.k8s.io/events`.

use kapi_core::field::{Error, ErrorList, Path};
use serde_json::Value;

use super::core_v1::EventStrategy;
use super::max_length;

/// events.k8s.io/v1 Events: the same strategy as core/v1 Events, with
/// the checks of the newer API.
pub(super) const EVENTS_V1: EventStrategy = EventStrategy(validate_event);

/// The checks Go applies to events written through events.k8s.io.
fn validate_event(event: &Value) -> ErrorList {
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
