//! `events.k8s.io/v1` Event (what client-go's new event recorder writes),
//! from protobuf to JSON.

use k8s_pb::api::events::v1 as pb;
use prost::Message;
use serde_json::Value;

use super::core::{event_source, object_reference};
use super::json::Object;
use super::meta::{micro_time, object_meta, time};

/// An events.k8s.io/v1 Event.
pub(super) fn event(raw: &[u8]) -> Result<Value, prost::DecodeError> {
    let object = pb::Event::decode(raw)?;
    let series = object.series.map(|series| {
        Object::new()
            .optional("count", Some(series.count.unwrap_or_default()))
            .optional(
                "lastObservedTime",
                series.last_observed_time.and_then(micro_time),
            )
    });
    Ok(Object::new()
        .object("metadata", object_meta(object.metadata))
        .optional("eventTime", object.event_time.and_then(micro_time))
        .object("series", series)
        .string("reportingController", object.reporting_controller)
        .string("reportingInstance", object.reporting_instance)
        .string("action", object.action)
        .string("reason", object.reason)
        .object("regarding", object.regarding.map(object_reference))
        .object("related", object.related.map(object_reference))
        .string("note", object.note)
        .string("type", object.r#type)
        .object(
            "deprecatedSource",
            object.deprecated_source.map(event_source),
        )
        .optional(
            "deprecatedFirstTimestamp",
            object.deprecated_first_timestamp.and_then(time),
        )
        .optional(
            "deprecatedLastTimestamp",
            object.deprecated_last_timestamp.and_then(time),
        )
        .nonzero("deprecatedCount", object.deprecated_count.map(i64::from))
        .build())
}
