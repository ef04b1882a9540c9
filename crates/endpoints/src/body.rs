//! Reading request bodies: the size limit (Go: `limitedReadBody`) and
//! decoding objects in JSON or YAML with the endpoint's kind defaulted and
//! checked (Go: the decoding steps of `create.go` and `update.go`).

use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use kapi_core::negotiation::{MediaType, SUPPORTED_MEDIA_TYPES, negotiate_input};
use kapi_core::{Body, StatusError, StatusReason};
use serde_json::Value;

use crate::info::ResourceInfo;

/// Reads the whole body, refusing more than `limit` bytes with Go's 413.
pub(crate) async fn read_limited(body: Body, limit: usize) -> Result<Bytes, StatusError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(StatusError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusReason::RequestEntityTooLarge,
            format!("Request entity too large: limit is {limit}"),
        )),
        Err(err) => Err(StatusError::internal(format!(
            "failed to read the request body: {err}"
        ))),
    }
}

/// Decodes a body in the media type its `Content-Type` names (415
/// otherwise) into a JSON value.
pub(crate) fn decode(headers: &HeaderMap, body: &[u8]) -> Result<Value, StatusError> {
    let media_type = negotiate_input(headers.get(header::CONTENT_TYPE), &SUPPORTED_MEDIA_TYPES)?;
    match media_type {
        MediaType::Yaml => {
            let text = std::str::from_utf8(body).map_err(|err| {
                StatusError::bad_request(format!("error converting YAML to JSON: {err}"))
            })?;
            kapi_core::yaml::from_str(text).map_err(|err| {
                StatusError::bad_request(format!("error converting YAML to JSON: {err}"))
            })
        }
        _ => serde_json::from_slice(body).map_err(|err| {
            StatusError::bad_request(format!(
                "couldn't get version/kind; json parse error: {err}"
            ))
        }),
    }
}

/// Decodes an object for this endpoint: `kind` and `apiVersion` default to
/// the endpoint's and must match it when given (400 with Go's messages).
pub(crate) fn decode_object(
    info: &ResourceInfo,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, StatusError> {
    let mut object = if crate::protobuf::is_protobuf(headers) {
        crate::protobuf::decode_protobuf(body, info)?
    } else {
        decode(headers, body)?
    };
    let Some(map) = object.as_object_mut() else {
        return Err(StatusError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): the body is not a JSON object",
            info.kind
        )));
    };
    let expected = info.api_version();
    let api_version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !kind.is_empty() && kind != info.kind {
        let version = api_version.rsplit('/').next().unwrap_or_default();
        return Err(StatusError::bad_request(format!(
            "{kind} in version {} cannot be handled as a {}: the kind does not match the endpoint",
            kapi_core::go::quote(version),
            info.kind
        )));
    }
    if !api_version.is_empty() && api_version != expected {
        return Err(StatusError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({expected})"
        )));
    }
    map.insert("apiVersion".to_owned(), Value::String(expected));
    map.insert("kind".to_owned(), Value::String(info.kind.clone()));
    Ok(object)
}
