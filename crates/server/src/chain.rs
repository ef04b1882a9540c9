//! The handler chain: the filters wrapped around a server's director.
//!
//! Mirrors `DefaultBuildHandlerChain` of `config.go`. The full Kubernetes
//! filter set (authentication, authorization, audit, flow control, …) comes
//! with `kapi-filters`; the default chain here recovers panics and sets
//! Kubernetes' default `Cache-Control`.

use std::sync::Arc;

use http::{HeaderValue, StatusCode, header};
use kapi_core::{BoxHandler, Response, box_handler, text_response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use crate::config::CompletedConfig;

/// Builds the full handler from the director (Go: `BuildHandlerChainFunc`).
pub type BuildHandlerChainFn =
    Arc<dyn Fn(BoxHandler, &CompletedConfig) -> BoxHandler + Send + Sync>;

/// The default chain, outermost first.
pub fn default_build_handler_chain(director: BoxHandler, _config: &CompletedConfig) -> BoxHandler {
    let service = ServiceBuilder::new()
        // (tower-http's bodies back into kapi's body type)
        .map_response(into_kapi_body)
        // WithPanicRecovery
        .layer(CatchPanicLayer::custom(panic_response))
        // WithCacheControl
        .map_response(default_cache_control)
        .service(director);
    box_handler(service)
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    text_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "This request caused apiserver to panic. Look in the logs for details.",
    )
}

fn into_kapi_body<B>(response: http::Response<B>) -> Response
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    response.map(kapi_core::Body::new)
}

fn default_cache_control(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache, private"));
    response
}
