//! The `core/v1` kinds: ConfigMap, Secret, Namespace and ServiceAccount
//! (what kubectl's typed commands create) and Event (what client-go's event
//! recorders write), from their protobuf messages to JSON.

use k8s_pb::api::core::v1 as pb;
use prost::Message;
use serde_json::Value;

use super::json::Object;
use super::meta::{micro_time, object_meta, time};

/// `kubectl create configmap`.
pub(super) fn config_map(raw: &[u8]) -> Result<Value, prost::DecodeError> {
    let object = pb::ConfigMap::decode(raw)?;
    Ok(Object::new()
        .object("metadata", object_meta(object.metadata))
        .optional("immutable", object.immutable)
        .strings("data", object.data)
        .bytes("binaryData", object.binary_data)
        .build())
}

/// `kubectl create secret`.
pub(super) fn secret(raw: &[u8]) -> Result<Value, prost::DecodeError> {
    let object = pb::Secret::decode(raw)?;
    Ok(Object::new()
        .object("metadata", object_meta(object.metadata))
        .optional("immutable", object.immutable)
        .bytes("data", object.data)
        .strings("stringData", object.string_data)
        .string("type", object.r#type)
        .build())
}

/// `kubectl create namespace`.
pub(super) fn namespace(raw: &[u8]) -> Result<Value, prost::DecodeError> {
    let object = pb::Namespace::decode(raw)?;
    let spec = object
        .spec
        .map(|spec| Object::new().string_list("finalizers", spec.finalizers));
    let status = object.status.map(|status| {
        let conditions = status
            .conditions
            .into_iter()
            .map(|condition| {
                Object::new()
                    .required_string("type", condition.r#type)
                    .required_string("status", condition.status)
                    .optional(
                        "lastTransitionTime",
                        condition.last_transition_time.and_then(time),
                    )
                    .string("reason", condition.reason)
                    .string("message", condition.message)
                    .build()
            })
            .collect();
        Object::new()
            .string("phase", status.phase)
            .list("conditions", conditions)
    });
    Ok(Object::new()
        .object("metadata", object_meta(object.metadata))
        .object("spec", spec)
        .object("status", status)
        .build())
}

/// `kubectl create serviceaccount`.
pub(super) fn service_account(raw: &[u8]) -> Result<Value, prost::DecodeError> {
    let object = pb::ServiceAccount::decode(raw)?;
    let secrets = object
        .secrets
        .into_iter()
        .map(|reference| object_reference(reference).build())
        .collect();
    let image_pull_secrets = object
        .image_pull_secrets
        .into_iter()
        .map(|reference| Object::new().string("name", reference.name).build())
        .collect();
    Ok(Object::new()
        .object("metadata", object_meta(object.metadata))
        .list("secrets", secrets)
        .list("imagePullSecrets", image_pull_secrets)
        .optional(
            "automountServiceAccountToken",
            object.automount_service_account_token,
        )
        .build())
}

/// A core/v1 Event, as client-go's event recorder writes it.
pub(super) fn event(raw: &[u8]) -> Result<Value, prost::DecodeError> {
    let object = pb::Event::decode(raw)?;
    let series = object.series.map(|series| {
        Object::new()
            .nonzero("count", series.count.map(i64::from))
            .optional(
                "lastObservedTime",
                series.last_observed_time.and_then(micro_time),
            )
    });
    Ok(Object::new()
        .object("metadata", object_meta(object.metadata))
        .required_object(
            "involvedObject",
            object.involved_object.map(object_reference),
        )
        .string("reason", object.reason)
        .string("message", object.message)
        .object("source", object.source.map(event_source))
        .optional("firstTimestamp", object.first_timestamp.and_then(time))
        .optional("lastTimestamp", object.last_timestamp.and_then(time))
        .nonzero("count", object.count.map(i64::from))
        .string("type", object.r#type)
        .optional("eventTime", object.event_time.and_then(micro_time))
        .object("series", series)
        .string("action", object.action)
        .object("related", object.related.map(object_reference))
        .string("reportingComponent", object.reporting_component)
        .string("reportingInstance", object.reporting_instance)
        .build())
}

/// An `ObjectReference`, every field `omitempty`.
pub(super) fn object_reference(reference: pb::ObjectReference) -> Object {
    Object::new()
        .string("kind", reference.kind)
        .string("namespace", reference.namespace)
        .string("name", reference.name)
        .string("uid", reference.uid)
        .string("apiVersion", reference.api_version)
        .string("resourceVersion", reference.resource_version)
        .string("fieldPath", reference.field_path)
}

/// An Event's `EventSource`.
pub(super) fn event_source(source: pb::EventSource) -> Object {
    Object::new()
        .string("component", source.component)
        .string("host", source.host)
}
