//! Applying patches: RFC 6902 JSON patches and RFC 7386 merge patches with
//! Go's error codes (Go: `patch.go`'s `jsonPatcher`).

use http::StatusCode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusDetails;
use kapi_core::negotiation::PatchType;
use kapi_core::{StatusError, StatusReason};
use serde_json::Value;

/// Go: `maxJSONPatchOperations`.
const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// The patch types served, in the order a 415 lists them.
pub(crate) const SERVED_PATCH_TYPES: [PatchType; 2] = [PatchType::Json, PatchType::Merge];

/// A decoded patch, ready to apply to each version of the object the
/// update loop reads.
#[derive(Debug)]
pub(crate) enum Patch {
    Json(json_patch::Patch),
    Merge(Value),
}

impl Patch {
    /// Decodes a patch body (400 for a malformed one, 413 past Go's
    /// operation limit, 415 for patch types not served).
    pub(crate) fn decode(patch_type: PatchType, body: &[u8]) -> Result<Self, StatusError> {
        match patch_type {
            PatchType::Json => {
                let patch: json_patch::Patch = serde_json::from_slice(body)
                    .map_err(|err| StatusError::bad_request(err.to_string()))?;
                if patch.0.len() > MAX_JSON_PATCH_OPERATIONS {
                    return Err(StatusError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        StatusReason::RequestEntityTooLarge,
                        format!(
                            "Request entity too large: The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                            patch.0.len()
                        ),
                    ));
                }
                Ok(Self::Json(patch))
            }
            PatchType::Merge => match serde_json::from_slice::<Value>(body) {
                Ok(patch @ Value::Object(_)) => Ok(Self::Merge(patch)),
                _ => Err(StatusError::bad_request("Invalid JSON Patch")),
            },
            _ => Err(unsupported_patch_type()),
        }
    }

    /// Applies the patch to `object`. A JSON patch that cannot be applied
    /// (a failed `test`, a missing path) is Go's bare 422.
    pub(crate) fn apply(&self, mut object: Value) -> Result<Value, StatusError> {
        match self {
            Self::Json(patch) => {
                json_patch::patch(&mut object, &patch.0).map_err(|err| {
                    tracing::debug!(%err, "json patch failed");
                    StatusError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        StatusReason::Invalid,
                        "the server rejected our request due to an error in our request",
                    )
                    .with_details(StatusDetails::default())
                })?;
            }
            Self::Merge(patch) => json_patch::merge(&mut object, patch),
        }
        Ok(object)
    }
}

/// The 415 for a patch type this endpoint does not serve (Go:
/// `NewUnsupportedMediaTypeError` over the resource's patch types).
pub(crate) fn unsupported_patch_type() -> StatusError {
    let types: Vec<&str> = SERVED_PATCH_TYPES.iter().map(|p| p.as_str()).collect();
    StatusError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        StatusReason::UnsupportedMediaType,
        format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            types.join(", ")
        ),
    )
}
