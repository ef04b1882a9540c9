//! Kubernetes `Status` errors: the failures every kapi handler answers with.
//!
//! Mirrors `k8s.io/apimachinery/pkg/api/errors`: each constructor produces the
//! same code, reason and message text as its Go counterpart, because clients
//! match on them.

use std::fmt;

use http::{HeaderValue, StatusCode, header};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, Status, StatusDetails};

use crate::handler::{Body, Response};

/// The machine-readable reason of a failed request (`metav1.StatusReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusReason {
    /// No reason was given (the empty string on the wire).
    Unknown,
    /// 401: the request carries no valid credentials.
    Unauthorized,
    /// 403: the user may not do this.
    Forbidden,
    /// 404: the resource does not exist.
    NotFound,
    /// 409: the resource already exists.
    AlreadyExists,
    /// 409: the write conflicts with the current state.
    Conflict,
    /// 410: the resource is gone.
    Gone,
    /// 422: the object is invalid.
    Invalid,
    /// 500 with a retry hint: the server could not finish in time.
    ServerTimeout,
    /// 504: the request did not complete within its deadline.
    Timeout,
    /// 429: too many requests.
    TooManyRequests,
    /// 400: the request is malformed.
    BadRequest,
    /// 405: the verb is not supported on this resource.
    MethodNotAllowed,
    /// 406: none of the accepted media types can be produced.
    NotAcceptable,
    /// 413: the request body is too large.
    RequestEntityTooLarge,
    /// 415: the request's media type is not supported.
    UnsupportedMediaType,
    /// 500: an internal error.
    InternalError,
    /// 410: the requested resource version is too old.
    Expired,
    /// 503: the server is not able to serve the request now.
    ServiceUnavailable,
}

impl StatusReason {
    /// The reason as it is written on the wire (`""` for [`StatusReason::Unknown`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "NotFound",
            Self::AlreadyExists => "AlreadyExists",
            Self::Conflict => "Conflict",
            Self::Gone => "Gone",
            Self::Invalid => "Invalid",
            Self::ServerTimeout => "ServerTimeout",
            Self::Timeout => "Timeout",
            Self::TooManyRequests => "TooManyRequests",
            Self::BadRequest => "BadRequest",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::NotAcceptable => "NotAcceptable",
            Self::RequestEntityTooLarge => "RequestEntityTooLarge",
            Self::UnsupportedMediaType => "UnsupportedMediaType",
            Self::InternalError => "InternalError",
            Self::Expired => "Expired",
            Self::ServiceUnavailable => "ServiceUnavailable",
        }
    }
}

impl fmt::Display for StatusReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed request, carried as a Kubernetes `Status` (`metav1.Status`).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusError {
    code: StatusCode,
    reason: StatusReason,
    message: String,
    details: Option<Box<StatusDetails>>,
    retry_after_seconds: Option<u32>,
    continue_token: Option<String>,
}

impl StatusError {
    /// An error with the given code, reason and message.
    pub fn new(code: StatusCode, reason: StatusReason, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after_seconds: None,
            continue_token: None,
        }
    }

    /// 404 `<resource> "<name>" not found` (Go: `NewNotFound`).
    pub fn not_found(resource: &str, name: &str) -> Self {
        let mut err = Self::new(
            StatusCode::NOT_FOUND,
            StatusReason::NotFound,
            format!("{resource} \"{name}\" not found"),
        );
        err.details = Some(Box::new(details(resource, name)));
        err
    }

    /// 403 `<resource> "<name>" is forbidden: <reason>` (Go: `NewForbidden`;
    /// without a resource the message is `forbidden: <reason>`).
    pub fn forbidden(resource: &str, name: &str, reason: impl fmt::Display) -> Self {
        let message = if resource.is_empty() {
            format!("forbidden: {reason}")
        } else {
            format!("{resource} \"{name}\" is forbidden: {reason}")
        };
        let mut err = Self::new(StatusCode::FORBIDDEN, StatusReason::Forbidden, message);
        err.details = Some(Box::new(details(resource, name)));
        err
    }

    /// Adds a cause naming a field (`details.causes[]` with `field`).
    pub fn with_field_cause(
        mut self,
        cause_type: &str,
        message: impl Into<String>,
        field: &str,
    ) -> Self {
        let details = self.details.get_or_insert_with(Box::default);
        details.causes.get_or_insert_with(Vec::new).push(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusCause {
                reason: Some(cause_type.to_owned()),
                message: Some(message.into()),
                field: Some(field.to_owned()),
            },
        );
        self
    }

    /// 404 `the server could not find the requested resource` (Go: `NewGenericServerResponse`).
    pub fn not_found_generic() -> Self {
        let mut err = Self::new(
            StatusCode::NOT_FOUND,
            StatusReason::NotFound,
            "the server could not find the requested resource",
        );
        err.details = Some(Box::default());
        err
    }

    /// 409 `<resource> "<name>" already exists` (Go: `NewAlreadyExists`).
    pub fn already_exists(resource: &str, name: &str) -> Self {
        let mut err = Self::new(
            StatusCode::CONFLICT,
            StatusReason::AlreadyExists,
            format!("{resource} \"{name}\" already exists"),
        );
        err.details = Some(Box::new(details(resource, name)));
        err
    }

    /// 409 `Operation cannot be fulfilled on <resource> "<name>": <why>`
    /// (Go: `NewConflict`).
    pub fn conflict(resource: &str, name: &str, why: impl fmt::Display) -> Self {
        let mut err = Self::new(
            StatusCode::CONFLICT,
            StatusReason::Conflict,
            format!("Operation cannot be fulfilled on {resource} \"{name}\": {why}"),
        );
        err.details = Some(Box::new(details(resource, name)));
        err
    }

    /// 410 Expired with the given message (Go: `NewResourceExpired`).
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, StatusReason::Expired, message)
    }

    /// 504 `Timeout: <message>` with a retry hint (Go: `NewTimeoutError`).
    pub fn timeout(message: impl fmt::Display, retry_after_seconds: u32) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            StatusReason::Timeout,
            format!("Timeout: {message}"),
        )
        .with_retry_after_details(retry_after_seconds)
    }

    /// 500 ServerTimeout `The <operation> operation against <resource> could
    /// not be completed at this time, please try again.` (Go: `NewServerTimeout`).
    pub fn server_timeout(resource: &str, operation: &str, retry_after_seconds: u32) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusReason::ServerTimeout,
            format!(
                "The {operation} operation against {resource} could not be completed at this time, please try again."
            ),
        );
        err.details = Some(Box::new(details(resource, operation)));
        err.with_retry_after_details(retry_after_seconds)
    }

    /// 400 with the given message (Go: `NewBadRequest`).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, StatusReason::BadRequest, message)
    }

    /// 500 `Internal error occurred: <message>` (Go: `NewInternalError`).
    pub fn internal(message: impl fmt::Display) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusReason::InternalError,
            format!("Internal error occurred: {message}"),
        );
        err.details = Some(Box::new(StatusDetails {
            causes: Some(vec![
                k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusCause {
                    message: Some(message.to_string()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }));
        err
    }

    /// 503 with the given message and a retry hint (Go: `NewServiceUnavailable`).
    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            StatusReason::ServiceUnavailable,
            message,
        )
    }

    /// Adds `details.retryAfterSeconds` and a matching `Retry-After` header.
    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after_seconds = Some(seconds);
        let details = self.details.get_or_insert_with(Box::default);
        details.retry_after_seconds = Some(seconds as i32);
        self
    }

    /// Sets `details.retryAfterSeconds` without a `Retry-After` header (as
    /// Go's constructors other than the filters do).
    pub fn with_retry_after_details(mut self, seconds: u32) -> Self {
        let details = self.details.get_or_insert_with(Box::default);
        details.retry_after_seconds = Some(seconds as i32);
        self
    }

    /// Adds a cause (`details.causes[]`) with a type and a message.
    pub fn with_cause(mut self, cause_type: &str, message: impl Into<String>) -> Self {
        let details = self.details.get_or_insert_with(Box::default);
        details.causes.get_or_insert_with(Vec::new).push(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusCause {
                reason: Some(cause_type.to_owned()),
                message: Some(message.into()),
                field: None,
            },
        );
        self
    }

    /// Sets `metadata.continue` (an expired list's token to go on with).
    pub fn with_continue(mut self, token: impl Into<String>) -> Self {
        self.continue_token = Some(token.into());
        self
    }

    /// Replaces the details.
    pub fn with_details(mut self, details: StatusDetails) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// The HTTP status code.
    pub fn code(&self) -> StatusCode {
        self.code
    }

    /// The machine-readable reason.
    pub fn reason(&self) -> StatusReason {
        self.reason
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error as a `metav1.Status` object.
    pub fn to_status(&self) -> Status {
        Status {
            code: Some(i32::from(self.code.as_u16())),
            details: self.details.as_deref().cloned(),
            message: Some(self.message.clone()),
            metadata: ListMeta {
                continue_: self.continue_token.clone(),
                ..ListMeta::default()
            },
            reason: match self.reason {
                StatusReason::Unknown => None,
                reason => Some(reason.as_str().to_owned()),
            },
            status: Some("Failure".to_owned()),
        }
    }

    /// The error as a JSON `Status` response.
    pub fn into_response(self) -> Response {
        // Serializing a Status (strings, numbers, optional fields) cannot fail.
        let body = serde_json::to_vec(&self.to_status()).unwrap_or_default();
        self.response_with(body, "application/json")
    }

    /// The response as YAML (Go writes errors in the negotiated media type,
    /// `ErrorNegotiated`); JSON if the YAML encoder fails.
    pub fn into_yaml_response(self) -> Response {
        match crate::yaml::to_string(&self.to_status()) {
            Ok(text) => self.response_with(text.into_bytes(), "application/yaml"),
            Err(_) => self.into_response(),
        }
    }

    fn response_with(self, body: Vec<u8>, content_type: &'static str) -> Response {
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.code;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StatusError {}

impl axum_core::response::IntoResponse for StatusError {
    fn into_response(self) -> Response {
        StatusError::into_response(self)
    }
}

fn details(resource: &str, name: &str) -> StatusDetails {
    let (kind, group) = match resource.split_once('.') {
        Some((kind, group)) => (kind, group),
        None => (resource, ""),
    };
    StatusDetails {
        name: Some(name.to_owned()),
        group: (!group.is_empty()).then(|| group.to_owned()),
        kind: Some(kind.to_owned()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn not_found_has_kubernetes_wire_form() {
        let response = StatusError::not_found("configmaps", "x").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "configmaps \"x\" not found",
                "reason": "NotFound",
                "details": {"name": "x", "kind": "configmaps"},
                "code": 404
            })
        );
    }

    #[test]
    fn retry_after_sets_header_and_details() {
        let response = StatusError::service_unavailable("apiserver is shutting down")
            .with_retry_after(1)
            .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
