//! Applying patches: RFC 6902 JSON patches, RFC 7386 merge patches and,
//! for the built-in kinds, strategic merge patches, with Go's error codes
//! (Go: `patch.go`'s `jsonPatcher` and `smpPatcher`).

use http::StatusCode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusDetails;
use kapi_core::negotiation::PatchType;
use kapi_core::{StatusError, StatusReason};
use serde_json::Value;

use crate::info::ResourceInfo;
use crate::strategic::{PatchMeta, patch_meta, strategic_merge};

/// Go: `maxJSONPatchOperations`.
const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// The most bytes a JSON patch's `copy` operations may add (Go: the
/// apiserver's `JSONPatchMaxCopyBytes`, the request body limit).
const MAX_JSON_PATCH_COPY_BYTES: usize = crate::MAX_REQUEST_BODY_BYTES;

/// The patch types served for any kind, in the order a 415 lists them.
pub(crate) const SERVED_PATCH_TYPES: [PatchType; 2] = [PatchType::Json, PatchType::Merge];

/// The patch types served for a built-in kind (one with strategic merge
/// metadata), in the order a 415 lists them.
const BUILTIN_PATCH_TYPES: [PatchType; 3] =
    [PatchType::Json, PatchType::Merge, PatchType::StrategicMerge];

/// With server-side apply (a field manager).
const APPLY_PATCH_TYPES: [PatchType; 3] = [PatchType::Json, PatchType::Merge, PatchType::Apply];

/// A built-in kind with server-side apply.
const BUILTIN_APPLY_PATCH_TYPES: [PatchType; 4] = [
    PatchType::Json,
    PatchType::Merge,
    PatchType::StrategicMerge,
    PatchType::Apply,
];

/// Whether `info`'s endpoint serves `patch_type`: a kind without strategic
/// merge metadata (a custom resource) takes no strategic merge patch, as
/// in Go.
pub(crate) fn serves(info: &ResourceInfo, patch_type: PatchType) -> bool {
    served(info).contains(&patch_type)
}

/// The 415 listing the patch types `info`'s endpoint serves.
pub(crate) fn unsupported_for(info: &ResourceInfo) -> StatusError {
    unsupported(served(info))
}

fn served(info: &ResourceInfo) -> &'static [PatchType] {
    match (builtin_meta(info).is_some(), info.field_manager.is_some()) {
        (true, true) => &BUILTIN_APPLY_PATCH_TYPES,
        (true, false) => &BUILTIN_PATCH_TYPES,
        (false, true) => &APPLY_PATCH_TYPES,
        (false, false) => &SERVED_PATCH_TYPES,
    }
}

fn builtin_meta(info: &ResourceInfo) -> Option<&'static PatchMeta> {
    patch_meta(&info.group, &info.version, &info.kind)
}

/// A decoded patch, ready to apply to each version of the object the
/// update loop reads.
#[derive(Debug)]
pub(crate) enum Patch {
    Json(json_patch::Patch),
    Merge(Value),
    Strategic(Value, &'static PatchMeta),
    /// A server-side apply configuration (applied by the field manager,
    /// not by [`Patch::apply`]).
    Apply(Value),
}

impl Patch {
    /// Decodes a patch body (400 for a malformed one, 413 past Go's
    /// operation limit, 415 for patch types not served).
    pub(crate) fn decode(
        info: &ResourceInfo,
        patch_type: PatchType,
        body: &[u8],
    ) -> Result<Self, StatusError> {
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
            PatchType::Apply if info.field_manager.is_some() => {
                let text = std::str::from_utf8(body)
                    .map_err(|err| StatusError::bad_request(err.to_string()))?;
                let config: Value = kapi_core::yaml::from_str(text).map_err(|err| {
                    StatusError::bad_request(format!("error decoding YAML: {err}"))
                })?;
                if !config.is_object() {
                    return Err(StatusError::bad_request(
                        "error decoding YAML: the apply configuration is not an object",
                    ));
                }
                Ok(Self::Apply(config))
            }
            PatchType::StrategicMerge => match builtin_meta(info) {
                Some(meta) => Ok(Self::Strategic(crate::strategic::decode(body)?, meta)),
                None => Err(unsupported_patch_type()),
            },
            _ => Err(unsupported_patch_type()),
        }
    }

    /// Applies the patch to `object`. A JSON patch that cannot be applied
    /// (a failed `test`, a missing path) is Go's bare 422.
    pub(crate) fn apply(&self, mut object: Value) -> Result<Value, StatusError> {
        match self {
            Self::Json(patch) => {
                let rejected = || {
                    StatusError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        StatusReason::Invalid,
                        "the server rejected our request due to an error in our request",
                    )
                    .with_details(StatusDetails::default())
                };
                // One operation at a time, so that the bytes `copy`
                // operations add up can be capped (Go: json-patch's
                // `AccumulatedCopySizeLimit`, the apiserver's
                // `JSONPatchMaxCopyBytes`); a failure discards the object.
                let mut copied = 0;
                for operation in &patch.0 {
                    if let json_patch::PatchOperation::Copy(copy) = operation {
                        let size = object
                            .pointer(copy.from.as_str())
                            .map_or(0, |value| serde_json::to_vec(value).map_or(0, |v| v.len()));
                        copied += size;
                        if copied > MAX_JSON_PATCH_COPY_BYTES {
                            tracing::debug!(copied, "json patch copies past the limit");
                            return Err(rejected());
                        }
                    }
                    json_patch::patch(&mut object, std::slice::from_ref(operation)).map_err(
                        |err| {
                            tracing::debug!(%err, "json patch failed");
                            rejected()
                        },
                    )?;
                }
            }
            Self::Merge(patch) => json_patch::merge(&mut object, patch),
            Self::Strategic(patch, meta) => object = strategic_merge(&object, patch, meta)?,
            Self::Apply(_) => {
                return Err(StatusError::internal(
                    "an apply configuration is applied by the field manager",
                ));
            }
        }
        Ok(object)
    }
}

/// The 415 for a patch type this endpoint does not serve (Go:
/// `NewUnsupportedMediaTypeError` over the resource's patch types).
pub(crate) fn unsupported_patch_type() -> StatusError {
    unsupported(&SERVED_PATCH_TYPES)
}

fn unsupported(served: &[PatchType]) -> StatusError {
    let types: Vec<&str> = served.iter().map(|p| p.as_str()).collect();
    StatusError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        StatusReason::UnsupportedMediaType,
        format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            types.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_patch_copies_are_capped() {
        let info = ResourceInfo::new("", "v1", "configmaps", "ConfigMap", true);
        let big = "x".repeat(1024 * 1024);
        let object = json!({"data": {"a": big}});
        // Each copy adds 1 MiB and 2 bytes of quotes: the third passes
        // the 3 MiB limit.
        let copies = |n: usize| {
            let ops: Vec<Value> = (0..n)
                .map(|i| json!({"op": "copy", "from": "/data/a", "path": format!("/data/c{i}")}))
                .collect();
            Patch::decode(
                &info,
                PatchType::Json,
                Value::Array(ops).to_string().as_bytes(),
            )
            .unwrap()
        };
        let patched = copies(2).apply(object.clone()).unwrap();
        assert_eq!(patched["data"].as_object().unwrap().len(), 3);
        let err = copies(3).apply(object).unwrap_err();
        assert_eq!(err.code(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
