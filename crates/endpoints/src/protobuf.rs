//! Reading `application/vnd.kubernetes.protobuf` request bodies of the
//! built-in types (Go: `k8s.io/apimachinery/pkg/runtime/serializer/protobuf`,
//! the decoding half): the `k8s\0` envelope around a `runtime.Unknown`, whose
//! `raw` bytes are the object's own protobuf message, turned into the JSON
//! value the rest of the endpoint works on.
//!
//! The messages come from `k8s-pb` (kube-rs' prost types generated from
//! Kubernetes' `.proto` files); each supported kind has a converter in
//! [`core`], [`coordination`], [`events`] or [`rbac`] producing the object's Kubernetes JSON form, with
//! unset optional fields left out as Go's `omitempty` would.
//! Responses stay JSON: kapi never writes protobuf.

mod coordination;
mod core;
mod events;
mod json;
mod meta;
mod rbac;

use http::HeaderMap;
use http::header;
use k8s_pb::apimachinery::pkg::runtime::Unknown;
use kapi_core::StatusError;
use kapi_core::negotiation::{MediaType, negotiate_input};
use prost::Message;
use serde_json::Value;

use crate::info::ResourceInfo;

/// The four bytes before every protobuf object (Go: `protoEncodingPrefix`).
const MAGIC: [u8; 4] = *b"k8s\x00";

/// The media type of protobuf request bodies.
const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// Turns the `raw` bytes of one kind into its JSON form.
type Converter = fn(&[u8]) -> Result<Value, prost::DecodeError>;

/// Whether the `Content-Type` names protobuf (parameters ignored).
pub(crate) fn is_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(PROTOBUF))
}

/// Decodes a protobuf body for the endpoint `info` into the object's JSON
/// form, `apiVersion` and `kind` included (defaulted to the endpoint's when
/// the envelope leaves them empty; `decode_object` checks them after).
///
/// Endpoints of kinds without protobuf support (custom resources) answer
/// 415 listing JSON and YAML, as kube-apiserver does for them; a broken
/// envelope or message is a 400 with Go's messages.
pub(crate) fn decode_protobuf(body: &[u8], info: &ResourceInfo) -> Result<Value, StatusError> {
    if converter(&info.api_version(), &info.kind).is_none() {
        return Err(unsupported());
    }
    let unknown = open_envelope(body).map_err(|err| unrecognized(info, &err, body))?;
    let type_meta = unknown.type_meta.unwrap_or_default();
    let api_version = type_meta
        .api_version
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| info.api_version());
    let kind = type_meta
        .kind
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| info.kind.clone());
    let cannot_handle = |err: &dyn std::fmt::Display| {
        let version = api_version.rsplit('/').next().unwrap_or_default();
        StatusError::bad_request(format!(
            "{kind} in version {} cannot be handled as a {}: {err}",
            kapi_core::go::quote(version),
            info.kind
        ))
    };
    let Some(convert) = converter(&api_version, &kind) else {
        return Err(cannot_handle(&format!(
            "no kind {} is registered for version {}",
            kapi_core::go::quote(&kind),
            kapi_core::go::quote(&api_version),
        )));
    };
    let raw = unknown.raw.unwrap_or_default();
    let mut object = convert(&raw).map_err(|err| cannot_handle(&err))?;
    if let Some(map) = object.as_object_mut() {
        map.insert("apiVersion".to_owned(), Value::String(api_version));
        map.insert("kind".to_owned(), Value::String(kind));
    }
    Ok(object)
}

/// The converter of a kind, by `apiVersion` and `kind`.
fn converter(api_version: &str, kind: &str) -> Option<Converter> {
    let convert: Converter = match (api_version, kind) {
        ("v1", "ConfigMap") => core::config_map,
        ("v1", "Secret") => core::secret,
        ("v1", "Namespace") => core::namespace,
        ("v1", "ServiceAccount") => core::service_account,
        ("v1", "Event") => core::event,
        ("events.k8s.io/v1", "Event") => events::event,
        ("coordination.k8s.io/v1", "Lease") => coordination::lease,
        ("rbac.authorization.k8s.io/v1", "Role") => rbac::role,
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => rbac::cluster_role,
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => rbac::role_binding,
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => rbac::cluster_role_binding,
        _ => return None,
    };
    Some(convert)
}

/// Checks the magic and decodes the `runtime.Unknown` after it, with the
/// messages of Go's `Serializer.Decode`.
fn open_envelope(body: &[u8]) -> Result<Unknown, String> {
    if body.is_empty() {
        return Err("empty data".to_owned());
    }
    let Some(message) = body.strip_prefix(&MAGIC) else {
        // Go prints the prefix with `%v`: `[107 56 115 0]`.
        let prefix: Vec<String> = MAGIC.iter().map(u8::to_string).collect();
        return Err(format!(
            "provided data does not appear to be a protobuf message, expected prefix [{}]",
            prefix.join(" ")
        ));
    };
    if message.is_empty() {
        return Err("empty body".to_owned());
    }
    Unknown::decode(message).map_err(|err| err.to_string())
}

/// Go's `transformDecodeError` when no kind could be read: the error and a
/// summary of the body's first 30 bytes (Go: `summarizeData`), as text when
/// it looks like JSON and in hex otherwise.
fn unrecognized(info: &ResourceInfo, err: &str, body: &[u8]) -> StatusError {
    const SUMMARY_BYTES: usize = 30;
    let shown = &body[..body.len().min(SUMMARY_BYTES)];
    let mut summary = match shown.first() {
        None => "<empty>".to_owned(),
        Some(b'{') => String::from_utf8_lossy(shown).into_owned(),
        Some(_) => shown.iter().map(|b| format!("{b:02x}")).collect(),
    };
    if body.len() > SUMMARY_BYTES {
        summary.push_str(" ...");
    }
    StatusError::bad_request(format!(
        "the object provided is unrecognized (must be of type {}): {err} ({summary})",
        info.kind
    ))
}

/// The 415 of an endpoint whose kind has no protobuf form.
fn unsupported() -> StatusError {
    match negotiate_input(
        Some(&http::HeaderValue::from_static(PROTOBUF)),
        &[MediaType::Json, MediaType::Yaml],
    ) {
        Err(err) => err,
        // Protobuf is not in the list, so negotiation cannot pick it.
        Ok(_) => StatusError::bad_request("protobuf is not supported for this resource"),
    }
}
