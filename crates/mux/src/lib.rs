//! Exact and prefix HTTP routing that records which paths it serves.
//!
//! Mirrors `k8s.io/apiserver/pkg/server/mux`: a [`PathRecorderMux`] matches the
//! request path exactly first, then by the most specific registered prefix,
//! then falls through to a not-found handler (Go's `http.NotFound` unless one is
//! set, typically the next server of a delegation chain). "Listed"
//! registrations are reported by [`PathRecorderMux::listed_paths`] for the
//! index page at `/`; "unlisted" ones are served but not reported.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use http::StatusCode;
//! use kapi_core::{Body, Request, box_handler, text_response};
//! use kapi_mux::PathRecorderMux;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let mux = PathRecorderMux::new("example");
//! mux.handle(
//!     "/metrics",
//!     box_handler(tower::service_fn(|_req: Request| async {
//!         Ok::<_, Infallible>(text_response(StatusCode::OK, "# metrics"))
//!     })),
//! );
//! mux.unlisted_handle_prefix(
//!     "/debug/",
//!     box_handler(tower::service_fn(|_req: Request| async {
//!         Ok::<_, Infallible>(text_response(StatusCode::OK, "debug"))
//!     })),
//! )?;
//! assert_eq!(mux.listed_paths(), ["/metrics"]);
//!
//! let request = http::Request::get("/debug/pprof/heap").body(Body::empty()).unwrap();
//! let response = mux.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let request = http::Request::get("/nowhere").body(Body::empty()).unwrap();
//! let response = mux.handler().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::NOT_FOUND);
//! # Ok::<_, kapi_mux::Error>(())
//! # }).unwrap();
//! ```
//!
//! This crate has no features.

mod error;
mod path;
mod path_recorder;

pub use error::{Error, Result};
pub use path_recorder::{PathRecorderMux, not_found_handler};
