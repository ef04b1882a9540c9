//! The non-API routes of a kapi server: the index at `/` and `/version`.
//!
//! Mirrors `k8s.io/apiserver/pkg/server/routes` (`index.go`, `version.go`):
//! [`Index`] lists every path a server and its delegates serve,
//! [`index_lister_handler`] answers unknown paths at the end of a delegation
//! chain with that same list, and [`Version`] serves `version.Info`, for which
//! [`version_info`] gives kapi's own build facts.
//!
//! ```
//! use std::sync::Arc;
//!
//! use http::StatusCode;
//! use http_body_util::BodyExt;
//! use kapi_core::Body;
//! use kapi_mux::PathRecorderMux;
//! use kapi_routes::{Index, Version, version_info};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let mux = PathRecorderMux::new("example");
//! Version::install(version_info(), &mux);
//! Index::install(Arc::new(mux.clone()), &mux);
//!
//! let request = http::Request::get("/").body(Body::empty()).unwrap();
//! let response = mux.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! assert_eq!(body, "{\n  \"paths\": [\n    \"/version\"\n  ]\n}");
//! # });
//! ```
//!
//! This crate has no features.

mod go_json;
mod index;
mod platform;
mod version;

pub use index::{Index, ListedPathProvider, ListedPathProviders, index_lister_handler};
pub use version::{Version, version_info};
