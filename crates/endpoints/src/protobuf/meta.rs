//! `ObjectMeta` and `Time` (`k8s.io/apimachinery/pkg/apis/meta/v1`) in their
//! JSON form.

use k8s_pb::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, MicroTime, ObjectMeta, OwnerReference, Time,
};
use serde_json::Value;

use super::json::Object;

/// `metadata` of an object. `selfLink` is long gone from responses and
/// `managedFields` are dropped: kapi tracks no field managers, and kubectl
/// never sends them in a create.
pub(super) fn object_meta(meta: Option<ObjectMeta>) -> Option<Object> {
    let meta = meta?;
    Some(
        Object::new()
            .string("name", meta.name)
            .string("generateName", meta.generate_name)
            .string("namespace", meta.namespace)
            .string("uid", meta.uid)
            .string("resourceVersion", meta.resource_version)
            .nonzero("generation", meta.generation)
            .optional("creationTimestamp", meta.creation_timestamp.and_then(time))
            .optional("deletionTimestamp", meta.deletion_timestamp.and_then(time))
            .optional(
                "deletionGracePeriodSeconds",
                meta.deletion_grace_period_seconds,
            )
            .strings("labels", meta.labels)
            .strings("annotations", meta.annotations)
            .list(
                "ownerReferences",
                meta.owner_references
                    .into_iter()
                    .map(owner_reference)
                    .collect(),
            )
            .string_list("finalizers", meta.finalizers),
    )
}

/// A `metav1.Time` as Go writes it: RFC 3339 in UTC, whole seconds. An
/// empty message is Go's zero time, written `null`, so it is left out.
pub(super) fn time(time: Time) -> Option<Value> {
    if time.seconds.is_none() && time.nanos.is_none() {
        return None;
    }
    let seconds = time.seconds.unwrap_or_default();
    let timestamp = jiff::Timestamp::from_second(seconds).ok()?;
    Some(Value::String(
        timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    ))
}

fn owner_reference(owner: OwnerReference) -> Value {
    Object::new()
        .required_string("apiVersion", owner.api_version)
        .required_string("kind", owner.kind)
        .required_string("name", owner.name)
        .required_string("uid", owner.uid)
        .optional("controller", owner.controller)
        .optional("blockOwnerDeletion", owner.block_owner_deletion)
        .build()
}

/// A `metav1.LabelSelector`.
pub(super) fn label_selector(selector: LabelSelector) -> Value {
    let expressions = selector
        .match_expressions
        .into_iter()
        .map(|requirement| {
            Object::new()
                .required_string("key", requirement.key)
                .required_string("operator", requirement.operator)
                .string_list("values", requirement.values)
                .build()
        })
        .collect();
    Object::new()
        .strings("matchLabels", selector.match_labels)
        .list("matchExpressions", expressions)
        .build()
}

/// A `metav1.MicroTime` as Go writes it: RFC 3339 in UTC with exactly six
/// fractional digits. An empty message is the zero time, left out.
pub(super) fn micro_time(time: MicroTime) -> Option<Value> {
    if time.seconds.is_none() && time.nanos.is_none() {
        return None;
    }
    let timestamp = jiff::Timestamp::new(
        time.seconds.unwrap_or_default(),
        time.nanos.unwrap_or_default(),
    )
    .ok()?;
    Some(Value::String(
        timestamp.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(
        seconds: Option<i64>,
        nanos: Option<i32>,
        expected: Option<Value>,
        micro: Option<Value>,
    ) {
        assert_eq!(
            time(Time { seconds, nanos }),
            expected,
            "Time {seconds:?} {nanos:?}"
        );
        assert_eq!(
            micro_time(MicroTime { seconds, nanos }),
            micro,
            "MicroTime {seconds:?} {nanos:?}"
        );
    }

    #[test]
    fn times_in_go_json_form() {
        check(None, None, None, None);
        check(
            Some(0),
            None,
            Some(json!("1970-01-01T00:00:00Z")),
            Some(json!("1970-01-01T00:00:00.000000Z")),
        );
        check(
            Some(1_700_000_000),
            Some(999_999_999),
            Some(json!("2023-11-14T22:13:20Z")),
            Some(json!("2023-11-14T22:13:20.999999Z")),
        );
    }
}
