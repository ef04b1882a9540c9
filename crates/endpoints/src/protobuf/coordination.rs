//! `coordination.k8s.io/v1` Lease (what client-go's leader election writes,
//! in protobuf when its client is configured so), from protobuf to JSON.

use k8s_pb::api::coordination::v1 as pb;
use prost::Message;
use serde_json::Value;

use super::json::Object;
use super::meta::{micro_time, object_meta};

/// A Lease. Every spec field is a Go pointer, so each is written whenever
/// set, even when empty or zero.
pub(super) fn lease(raw: &[u8]) -> Result<Value, prost::DecodeError> {
    let object = pb::Lease::decode(raw)?;
    let spec = object.spec.map(|spec| {
        Object::new()
            .optional("holderIdentity", spec.holder_identity)
            .optional("leaseDurationSeconds", spec.lease_duration_seconds)
            .optional("acquireTime", spec.acquire_time.and_then(micro_time))
            .optional("renewTime", spec.renew_time.and_then(micro_time))
            .optional("leaseTransitions", spec.lease_transitions)
            .optional("strategy", spec.strategy)
            .optional("preferredHolder", spec.preferred_holder)
    });
    Ok(Object::new()
        .object("metadata", object_meta(object.metadata))
        .object("spec", spec)
        .build())
}
