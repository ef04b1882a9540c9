//! `ResourceHandler`: dispatches a resolved request to its verb and writes
//! kube-apiserver's responses (Go: `handlers.GetResource`, `ListResource`,
//! `CreateResource`, `UpdateResource`, `PatchResource`, `DeleteResource`,
//! `DeleteCollection`).

use std::sync::Arc;
use std::time::Duration;

use http::{StatusCode, header};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusDetails;
use kapi_core::negotiation::{
    Endpoint, PatchType, SUPPORTED_MEDIA_TYPES, negotiate_output_stream, patch_type,
};
use kapi_core::{Request, RequestInfo, Response, StatusError, StatusReason};
use kapi_fieldmanager::FieldManager;
use kapi_storage::GetOptions;
use kapi_storage::registry::{CreateOptions, RequestContext, Store, UpdateOptions};
use serde_json::{Value, json};

use crate::admission::{Admission, Attributes, Operation};
use crate::body::{decode, decode_object, read_limited};
use crate::info::ResourceInfo;
use crate::options::{Query, delete_options, dry_run, list_request};
use crate::patch::Patch;
use crate::response::{Output, add_warnings};
use crate::watch::WatchStream;
use crate::write::{decode_fields, write_options};

/// The largest request body read (Go: `MaxRequestBodyBytes`, 3 MiB).
pub const MAX_REQUEST_BODY_BYTES: usize = 3 * 1024 * 1024;

/// A watch's lifetime when `timeoutSeconds` is not given: Go picks a
/// random value in `[min-request-timeout, 2 × min-request-timeout)`.
const MIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(1800);

/// One endpoint of a resource or subresource as a server routes to it
/// (Go: the `rest.Storage` a path is installed for): [`ResourceHandler`]
/// for everything a registry [`Store`] serves, other implementations for
/// endpoints with their own logic, such as `scale`.
#[async_trait::async_trait]
pub trait ResourceEndpoint: Send + Sync + std::fmt::Debug {
    /// What is served.
    fn info(&self) -> &ResourceInfo;

    /// Serves a request resolved to this endpoint's resource and
    /// subresource; every failure is a `Status` response.
    async fn serve(&self, request_info: &RequestInfo, request: Request) -> Response;
}

#[async_trait::async_trait]
impl ResourceEndpoint for ResourceHandler {
    fn info(&self) -> &ResourceInfo {
        &self.info
    }

    async fn serve(&self, request_info: &RequestInfo, request: Request) -> Response {
        ResourceHandler::serve(self, request_info, request).await
    }
}

/// One resource's REST endpoints over a registry [`Store`].
#[derive(Debug, Clone)]
pub struct ResourceHandler {
    info: ResourceInfo,
    store: Arc<Store>,
    admission: Admission,
}

impl ResourceHandler {
    /// The endpoints of `info`, served from `store`.
    pub fn new(info: ResourceInfo, store: Arc<Store>) -> Self {
        Self {
            info,
            store,
            admission: Admission::default(),
        }
    }

    /// Runs `admission` before every write.
    #[must_use]
    pub fn with_admission(mut self, admission: Admission) -> Self {
        self.admission = admission;
        self
    }

    /// The resource served.
    pub fn info(&self) -> &ResourceInfo {
        &self.info
    }

    /// Serves a request already resolved to this resource (and its
    /// subresource, if the endpoint is one). Every failure is a `Status`
    /// response.
    pub async fn serve(&self, request_info: &RequestInfo, request: Request) -> Response {
        // Kept for an error, which Go writes in the negotiated media type.
        let accept = request.headers().get(header::ACCEPT).cloned();
        let verb = request_info.verb.as_str();
        let result = if request_info.subresource != self.info.subresource {
            Err(StatusError::not_found_generic())
        } else if !self.info.supports(verb) {
            Err(self.method_not_supported(verb))
        } else {
            match verb {
                "get" => self.get(request_info, request).await,
                "list" => self.list(request_info, request).await,
                "watch" => self.watch(request_info, request).await,
                "create" => self.create(request_info, request).await,
                "update" => self.update(request_info, request).await,
                "patch" => self.patch(request_info, request).await,
                "delete" => self.delete(request_info, request).await,
                "deletecollection" => self.delete_collection(request_info, request).await,
                _ => Err(self.method_not_supported(verb)),
            }
        };
        let mut response = result.unwrap_or_else(|err| {
            // Without a conversion (Go: `ErrorNegotiated`): YAML when the
            // client asks for it, else JSON.
            let yaml = kapi_core::negotiation::negotiate_output(
                accept.as_ref(),
                &SUPPORTED_MEDIA_TYPES,
                kapi_core::negotiation::Endpoint::Plain,
            )
            .is_ok_and(|n| n.media_type == kapi_core::negotiation::MediaType::Yaml);
            if yaml {
                err.into_yaml_response()
            } else {
                err.into_response()
            }
        });
        // Go: a deprecated version warns on every request.
        add_warnings(&mut response, self.info.warnings.clone());
        response
    }

    /// Go: `NewMethodNotSupported`.
    fn method_not_supported(&self, verb: &str) -> StatusError {
        let action = if verb.is_empty() { "unknown" } else { verb };
        StatusError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            StatusReason::MethodNotAllowed,
            format!(
                "{action} is not supported on resources of kind {}",
                kapi_core::go::quote(&self.info.qualified_resource())
            ),
        )
        .with_details(StatusDetails {
            group: (!self.info.group.is_empty()).then(|| self.info.group.clone()),
            kind: Some(self.info.resource.clone()),
            ..StatusDetails::default()
        })
    }

    /// Admits a write of `name` (empty for a create or a collection).
    async fn admit(
        &self,
        operation: Operation,
        request_info: &RequestInfo,
        object: Option<&Value>,
        dry_run: bool,
    ) -> Result<(), StatusError> {
        let mut attributes = Attributes {
            operation,
            group: self.info.group.clone(),
            version: self.info.version.clone(),
            resource: self.info.resource.clone(),
            subresource: self.info.subresource.clone(),
            namespace: String::new(),
            name: request_info.name.clone(),
            object: object.cloned(),
            dry_run,
        };
        if self.info.namespaced {
            attributes.namespace.clone_from(&request_info.namespace);
        }
        self.admission.admit(&attributes).await
    }

    fn context(&self, request_info: &RequestInfo) -> RequestContext {
        if self.info.namespaced {
            RequestContext::new(&request_info.namespace)
        } else {
            RequestContext::cluster()
        }
    }

    async fn get(
        &self,
        request_info: &RequestInfo,
        request: Request,
    ) -> Result<Response, StatusError> {
        let output = Output::negotiate(&request)?;
        let query = Query::parse(request.uri().query());
        let mut options = GetOptions::default();
        options.resource_version = query.get("resourceVersion").unwrap_or_default().to_owned();
        let ctx = self.context(request_info);
        let object = self
            .store
            .get_object(&ctx, &request_info.name, &options)
            .await?;
        Ok(output.stored_object(StatusCode::OK, &self.info, object))
    }

    async fn list(
        &self,
        request_info: &RequestInfo,
        request: Request,
    ) -> Result<Response, StatusError> {
        let output = Output::negotiate(&request)?;
        let query = Query::parse(request.uri().query());
        let list_request = list_request(&self.info, &self.store, request_info, &query, false)?;
        let ctx = self.context(request_info);
        let list = self.store.list(&ctx, &list_request.options).await?;
        Ok(output.list(&self.info, &list))
    }

    async fn watch(
        &self,
        request_info: &RequestInfo,
        request: Request,
    ) -> Result<Response, StatusError> {
        let endpoint = Endpoint::Resource { table: true };
        negotiate_output_stream(
            request.headers().get(header::ACCEPT),
            &SUPPORTED_MEDIA_TYPES,
            endpoint,
        )?;
        let target = Output::negotiate(&request)?.watch_target()?;
        let query = Query::parse(request.uri().query());
        let list_request = list_request(&self.info, &self.store, request_info, &query, true)?;
        let timeout = match list_request.timeout_seconds {
            Some(seconds) if seconds > 0 => Duration::from_secs(seconds.unsigned_abs()),
            _ => {
                let jitter =
                    uuid::Uuid::new_v4().as_u128() % u128::from(MIN_REQUEST_TIMEOUT.as_secs());
                MIN_REQUEST_TIMEOUT + Duration::from_secs(u64::try_from(jitter).unwrap_or_default())
            }
        };
        let ctx = self.context(request_info);
        let watch = self.store.watch(&ctx, &list_request.options).await?;
        let stream = WatchStream {
            info: self.info.clone(),
            allow_bookmarks: list_request.allow_watch_bookmarks,
            timeout,
            target,
        };
        Ok(stream.into_response(watch))
    }

    async fn create(
        &self,
        request_info: &RequestInfo,
        request: Request,
    ) -> Result<Response, StatusError> {
        let output = Output::negotiate(&request)?;
        let query = Query::parse(request.uri().query());
        let (parts, body) = request.into_parts();
        let body = read_limited(body, MAX_REQUEST_BODY_BYTES).await?;
        let mut options = CreateOptions::default();
        options.dry_run = dry_run(&query.all("dryRun"), "CreateOptions")?;
        let write = write_options(&query, &parts.headers, "CreateOptions", false)?;
        let mut object = decode_object(&self.info, &parts.headers, &body)?;
        let ctx = self.context(request_info);
        decode_fields(
            self.info.decoder.as_deref(),
            &mut object,
            write.validation,
            &ctx,
            &self.decode_error_prefix(),
        )?;
        self.admit(
            Operation::Create,
            request_info,
            Some(&object),
            options.dry_run,
        )
        .await?;
        if let Some(manager) = &self.info.field_manager {
            object = manager.update_no_errors(
                None,
                object,
                &write.manager,
                &self.info.subresource,
                jiff::Timestamp::now(),
            );
        }
        let object = self.info.to_storage(object);
        let created = self.store.create(&ctx, object, &options).await?;
        let mut response = output.object(StatusCode::CREATED, &self.info, created);
        add_warnings(&mut response, ctx.warnings());
        Ok(response)
    }

    async fn update(
        &self,
        request_info: &RequestInfo,
        request: Request,
    ) -> Result<Response, StatusError> {
        let output = Output::negotiate(&request)?;
        let query = Query::parse(request.uri().query());
        let (parts, body) = request.into_parts();
        let body = read_limited(body, MAX_REQUEST_BODY_BYTES).await?;
        let mut options = UpdateOptions::default();
        options.dry_run = dry_run(&query.all("dryRun"), "UpdateOptions")?;
        let write = write_options(&query, &parts.headers, "UpdateOptions", false)?;
        let mut object = decode_object(&self.info, &parts.headers, &body)?;
        self.check_name(request_info, &object)?;
        let ctx = self.context(request_info);
        decode_fields(
            self.info.decoder.as_deref(),
            &mut object,
            write.validation,
            &ctx,
            &self.decode_error_prefix(),
        )?;
        if let Some(uid) = object["metadata"]["uid"].as_str().filter(|u| !u.is_empty()) {
            options.preconditions.uid = Some(uid.to_owned());
        }
        self.admit(
            Operation::Update,
            request_info,
            Some(&object),
            options.dry_run,
        )
        .await?;
        let info = &self.info;
        let (stored, created) = self
            .store
            .update(
                &ctx,
                &request_info.name,
                |existing| {
                    let live = existing.map(|e| crate::response::with_type_meta(info, e));
                    Ok(info.to_storage(track_update(
                        info.field_manager.as_deref(),
                        live.as_ref(),
                        object.clone(),
                        &write.manager,
                        &info.subresource,
                    )))
                },
                &options,
            )
            .await?;
        Ok(self.written(&output, &ctx, stored, created))
    }

    /// The answer to an update or patch: 201 when it created the object,
    /// 200 otherwise, with the request's warnings.
    fn written(
        &self,
        output: &Output,
        ctx: &RequestContext,
        stored: Value,
        created: bool,
    ) -> Response {
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let mut response = output.object(status, &self.info, stored);
        add_warnings(&mut response, ctx.warnings());
        response
    }

    async fn patch(
        &self,
        request_info: &RequestInfo,
        request: Request,
    ) -> Result<Response, StatusError> {
        let output = Output::negotiate(&request)?;
        let query = Query::parse(request.uri().query());
        let (parts, body) = request.into_parts();
        let patch_type = patch_type(parts.headers.get(header::CONTENT_TYPE))
            .ok()
            .filter(|p| crate::patch::serves(&self.info, *p))
            .ok_or_else(|| crate::patch::unsupported_for(&self.info))?;
        let body = read_limited(body, MAX_REQUEST_BODY_BYTES).await?;
        let mut options = UpdateOptions::default();
        options.dry_run = dry_run(&query.all("dryRun"), "PatchOptions")?;
        let is_apply = patch_type == PatchType::Apply;
        let write = write_options(&query, &parts.headers, "PatchOptions", is_apply)?;
        let patch = Patch::decode(&self.info, patch_type, &body)?;
        self.admit(Operation::Update, request_info, None, options.dry_run)
            .await?;
        let ctx = self.context(request_info);
        let name = request_info.name.clone();
        let info = &self.info;
        // Go: an apply creates a missing object.
        options.force_allow_create = is_apply;
        let (stored, created) = self
            .store
            .update(
                &ctx,
                &name,
                |existing| {
                    let existing = existing.map(|e| crate::response::with_type_meta(info, e));
                    if let (Patch::Apply(config), Some(manager)) = (&patch, &info.field_manager) {
                        let applied = manager.apply(
                            existing.as_ref(),
                            config,
                            &write.manager,
                            write.force,
                            &info.subresource,
                            jiff::Timestamp::now(),
                        )?;
                        check_patched(info, &name, &applied)?;
                        return Ok(info.to_storage(applied));
                    }
                    let existing = existing
                        .ok_or_else(|| StatusError::not_found(&info.qualified_resource(), &name))?;
                    let live = existing.clone();
                    let mut patched = patch.apply(existing)?;
                    check_patched(info, &name, &patched)?;
                    decode_fields(
                        info.decoder.as_deref(),
                        &mut patched,
                        write.validation,
                        &ctx,
                        "",
                    )?;
                    Ok(info.to_storage(track_update(
                        info.field_manager.as_deref(),
                        Some(&live),
                        patched,
                        &write.manager,
                        &info.subresource,
                    )))
                },
                &options,
            )
            .await?;
        Ok(self.written(&output, &ctx, stored, created))
    }

    async fn delete(
        &self,
        request_info: &RequestInfo,
        request: Request,
    ) -> Result<Response, StatusError> {
        let output = Output::negotiate(&request)?;
        let query = Query::parse(request.uri().query());
        let (parts, body) = request.into_parts();
        let body = read_limited(body, MAX_REQUEST_BODY_BYTES).await?;
        let body = if body.is_empty() {
            None
        } else {
            Some(decode(&parts.headers, &body)?)
        };
        let (options, orphan_false) = delete_options(body.as_ref(), &query)?;
        self.admit(Operation::Delete, request_info, None, options.dry_run)
            .await?;
        let ctx = self.context(request_info);
        let (object, deleted) = self
            .store
            .delete(&ctx, &request_info.name, &options)
            .await?;
        let status = if !deleted && orphan_false {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        };
        let mut response = if deleted && !self.info.return_deleted_object {
            output.value(status, &self.success_status(&object))
        } else {
            output.object(status, &self.info, object)
        };
        add_warnings(&mut response, ctx.warnings());
        Ok(response)
    }

    async fn delete_collection(
        &self,
        request_info: &RequestInfo,
        request: Request,
    ) -> Result<Response, StatusError> {
        let output = Output::negotiate(&request)?;
        let query = Query::parse(request.uri().query());
        let list_request = list_request(&self.info, &self.store, request_info, &query, false)?;
        let (parts, body) = request.into_parts();
        let body = read_limited(body, MAX_REQUEST_BODY_BYTES).await?;
        let body = if body.is_empty() {
            None
        } else {
            Some(decode(&parts.headers, &body)?)
        };
        let (options, _) = delete_options(body.as_ref(), &query)?;
        self.admit(Operation::Delete, request_info, None, options.dry_run)
            .await?;
        let ctx = self.context(request_info);
        let deleted = self
            .store
            .delete_collection(&ctx, &options, &list_request.options)
            .await?;
        let mut response = output.list(&self.info, &deleted);
        add_warnings(&mut response, ctx.warnings());
        Ok(response)
    }

    /// How Go's `transformDecodeError` opens a body's decode error.
    fn decode_error_prefix(&self) -> String {
        format!(
            "{kind} in version {version} cannot be handled as a {kind}: ",
            kind = self.info.kind,
            version = kapi_core::go::quote(&self.info.version)
        )
    }

    /// Go's `rest.go` `checkName`: the body's name and namespace against
    /// the URL's.
    fn check_name(&self, request_info: &RequestInfo, object: &Value) -> Result<(), StatusError> {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        if name != request_info.name {
            return Err(StatusError::bad_request(format!(
                "the name of the object ({name}) does not match the name on the URL ({})",
                request_info.name
            )));
        }
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        if !request_info.namespace.is_empty()
            && !namespace.is_empty()
            && namespace != request_info.namespace
        {
            return Err(StatusError::bad_request(format!(
                "the namespace of the object ({namespace}) does not match the namespace on the request ({})",
                request_info.namespace
            )));
        }
        Ok(())
    }

    /// The `Status` of a delete without `ReturnDeletedObject`.
    fn success_status(&self, object: &Value) -> Value {
        let mut details = json!({
            "name": object["metadata"]["name"],
            "kind": self.info.resource,
            "uid": object["metadata"]["uid"],
        });
        if !self.info.group.is_empty() {
            details["group"] = Value::String(self.info.group.clone());
        }
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        })
    }
}

/// A patched object must keep its name and the endpoint's kind.
/// An update's object with its `managedFields` (Go: `UpdateNoErrors`, then
/// `IgnoreManagedFieldsTimestampsTransformer` so that a no-op write keeps
/// the old timestamps and stays a no-op).
fn track_update(
    field_manager: Option<&FieldManager>,
    live: Option<&Value>,
    new: Value,
    manager: &str,
    subresource: &str,
) -> Value {
    let Some(field_manager) = field_manager else {
        return new;
    };
    let mut tracked =
        field_manager.update_no_errors(live, new, manager, subresource, jiff::Timestamp::now());
    if let Some(live) = live {
        kapi_fieldmanager::ignore_managed_fields_timestamps(&mut tracked, live);
    }
    tracked
}

fn check_patched(info: &ResourceInfo, name: &str, patched: &Value) -> Result<(), StatusError> {
    let patched_name = patched["metadata"]["name"].as_str().unwrap_or_default();
    if patched_name != name {
        return Err(StatusError::bad_request(format!(
            "the name of the object ({patched_name}) does not match the name on the URL ({name})"
        )));
    }
    if patched["kind"].as_str() != Some(info.kind.as_str())
        || patched["apiVersion"].as_str() != Some(info.api_version().as_str())
    {
        return Err(StatusError::bad_request(format!(
            "the API version in the data ({}) does not match the expected API version ({})",
            patched["apiVersion"].as_str().unwrap_or_default(),
            info.api_version()
        )));
    }
    Ok(())
}
