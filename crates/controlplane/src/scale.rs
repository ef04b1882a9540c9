//! The `scale` subresource of custom resources: `autoscaling/v1` `Scale`
//! read from and written to the paths the CRD names (Go: the CR handler's
//! `ScaleREST` with `scaleUpdatedObjectInfo`). GET, PUT and JSON or merge
//! PATCH; the custom resource itself is stored through its own strategy,
//! so its validation applies.

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt as _;
use kapi_apiextensions::ScaleSpec;
use kapi_core::{Body, Request, RequestInfo, Response, StatusError};
use kapi_endpoints::{MAX_REQUEST_BODY_BYTES, ResourceEndpoint, ResourceInfo};
use kapi_storage::GetOptions;
use kapi_storage::registry::{RequestContext, Store, UpdateOptions};
use serde_json::Value;
use std::sync::Arc;

/// `<resource>/scale` of one custom resource version.
#[derive(Debug)]
pub(crate) struct ScaleEndpoint {
    info: ResourceInfo,
    store: Arc<Store>,
    scale: ScaleSpec,
}

impl ScaleEndpoint {
    pub(crate) fn new(info: ResourceInfo, store: Arc<Store>, scale: ScaleSpec) -> Self {
        Self { info, store, scale }
    }

    fn context(&self, request_info: &RequestInfo) -> RequestContext {
        if self.info.namespaced {
            RequestContext::new(&request_info.namespace)
        } else {
            RequestContext::cluster()
        }
    }

    async fn handle(
        &self,
        request_info: &RequestInfo,
        request: Request,
    ) -> Result<Response, StatusError> {
        let ctx = self.context(request_info);
        let name = request_info.name.as_str();
        match *request.method() {
            Method::GET => {
                let object = self.store.get(&ctx, name, &GetOptions::default()).await?;
                Ok(json_response(
                    StatusCode::OK,
                    &self.scale.scale_of(&object)?,
                ))
            }
            Method::PUT | Method::PATCH => {
                let is_patch = request.method() == Method::PATCH;
                let content_type = request
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let manager = manager(&request);
                let body = read_body(request).await?;
                let update = parse_update(is_patch, &content_type, &body)?;
                let scale = &self.scale;
                let info = &self.info;
                let (stored, _) = self
                    .store
                    .update(
                        &ctx,
                        name,
                        |existing| {
                            let existing = existing.ok_or_else(|| {
                                StatusError::not_found(&self.info.qualified_resource(), name)
                            })?;
                            let requested = update.apply(scale.scale_for_update(&existing)?)?;
                            let scaled = scale.set_scale(&existing, &requested)?;
                            // Go's ScaleHandler: the scale writer owns the
                            // replicas it set, under subresource `scale`.
                            Ok(match &info.field_manager {
                                Some(fields) => fields.update_no_errors(
                                    Some(&existing),
                                    scaled,
                                    &manager,
                                    "scale",
                                    jiff::Timestamp::now(),
                                ),
                                None => scaled,
                            })
                        },
                        &UpdateOptions::default(),
                    )
                    .await?;
                Ok(json_response(
                    StatusCode::OK,
                    &self.scale.scale_after_update(&stored)?,
                ))
            }
            _ => Err(StatusError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                kapi_core::StatusReason::MethodNotAllowed,
                format!(
                    "{} is not supported on resources of kind {}",
                    request_info.verb,
                    kapi_core::go::quote(&format!("{}/scale", self.info.qualified_resource()))
                ),
            )),
        }
    }
}

#[async_trait::async_trait]
impl ResourceEndpoint for ScaleEndpoint {
    fn info(&self) -> &ResourceInfo {
        &self.info
    }

    async fn serve(&self, request_info: &RequestInfo, request: Request) -> Response {
        if request_info.subresource != "scale" {
            return StatusError::not_found_generic().into_response();
        }
        self.handle(request_info, request)
            .await
            .unwrap_or_else(StatusError::into_response)
    }
}

/// What a write asks of the current `Scale`.
enum ScaleUpdate {
    /// PUT: this `Scale`.
    Replace(Value),
    /// A JSON merge patch.
    Merge(Value),
    /// An RFC 6902 patch.
    Json(json_patch::Patch),
}

impl ScaleUpdate {
    fn apply(&self, mut current: Value) -> Result<Value, StatusError> {
        match self {
            Self::Replace(scale) => Ok(scale.clone()),
            Self::Merge(patch) => {
                json_patch::merge(&mut current, patch);
                Ok(current)
            }
            Self::Json(patch) => {
                json_patch::patch(&mut current, &patch.0).map_err(|err| {
                    StatusError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        kapi_core::StatusReason::Invalid,
                        err.to_string(),
                    )
                })?;
                Ok(current)
            }
        }
    }
}

fn parse_update(
    is_patch: bool,
    content_type: &str,
    body: &[u8],
) -> Result<ScaleUpdate, StatusError> {
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    let parse = |body: &[u8]| -> Result<Value, StatusError> {
        serde_json::from_slice(body).map_err(|err| StatusError::bad_request(err.to_string()))
    };
    if !is_patch {
        return Ok(ScaleUpdate::Replace(parse(body)?));
    }
    match media_type {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            Ok(ScaleUpdate::Merge(parse(body)?))
        }
        "application/json-patch+json" => serde_json::from_slice(body)
            .map(ScaleUpdate::Json)
            .map_err(|err| StatusError::bad_request(err.to_string())),
        _ => Err(StatusError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            kapi_core::StatusReason::UnsupportedMediaType,
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json",
        )),
    }
}

/// The manager of a write: `fieldManager`, else the User-Agent's program.
fn manager(request: &Request) -> String {
    let field_manager = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "fieldManager")
        .map(|(_, value)| kapi_core::go::query_unescape(value).unwrap_or_default())
        .unwrap_or_default();
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    kapi_fieldmanager::manager_or_user_agent(&field_manager, user_agent)
}

async fn read_body(request: Request) -> Result<Bytes, StatusError> {
    let limited = http_body_util::Limited::new(request.into_body(), MAX_REQUEST_BODY_BYTES);
    limited
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .map_err(|err| StatusError::bad_request(err.to_string()))
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut body = serde_json::to_vec(value).unwrap_or_default();
    body.push(b'\n');
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
