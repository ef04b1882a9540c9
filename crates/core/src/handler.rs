//! The request, response and handler types shared by every kapi crate.
//!
//! A handler is a cloneable, thread-safe tower service that never fails: a
//! refusal is a response (usually a Kubernetes `Status`), never
//! `Service::Error`. Anything that is a `tower::Service` with these types can
//! be boxed into a [`BoxHandler`], including axum routers and handlers.

use std::convert::Infallible;

use http::{HeaderValue, StatusCode, header};
use tower::util::BoxCloneSyncService;

/// The body type of requests and responses (axum's body).
pub type Body = axum_core::body::Body;

/// An HTTP request as kapi handlers receive it.
pub type Request = http::Request<Body>;

/// An HTTP response as kapi handlers produce it.
pub type Response = http::Response<Body>;

/// A type-erased, cloneable, `Send + Sync` handler that never fails.
pub type BoxHandler = BoxCloneSyncService<Request, Response, Infallible>;

/// Boxes any infallible, cloneable service into a [`BoxHandler`].
pub fn box_handler<S>(service: S) -> BoxHandler
where
    S: tower::Service<Request, Response = Response, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    BoxCloneSyncService::new(service)
}

/// A `text/plain; charset=utf-8` response with `X-Content-Type-Options: nosniff`,
/// the way Go's `http.Error` and the health handlers answer.
pub fn text_response(status: StatusCode, body: impl Into<String>) -> Response {
    let mut response = Response::new(Body::from(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
