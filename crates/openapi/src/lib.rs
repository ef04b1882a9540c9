//! kube-apiserver's OpenAPI endpoints for kapi: `/openapi/v2`, `/openapi/v3`
//! and `/openapi/v3/<group-version>`, plus the type schemas field validation
//! and server-side apply read.
//!
//! Mirrors `k8s.io/kube-openapi/pkg/handler`, `pkg/handler3`, `pkg/builder`
//! and `pkg/builder3` as `k8s.io/apiserver/pkg/server/routes/openapi.go` and
//! the installer (`pkg/endpoints/installer.go`) use them, and the CRD
//! OpenAPI builder of apiextensions-apiserver (`controller/openapi/builder`).
//!
//! [`OpenApiService`] is a registry of the served resources: built-in kinds
//! with their k8s-openapi `schemars` schemas ([`OpenApiService::add_builtin`])
//! and custom resources with their CRD schema ([`OpenApiService::add_custom`],
//! [`OpenApiService::remove`]). Documents are built on first request and
//! cached until the registry changes; each group version's document has its
//! own hash, so adding a CRD leaves the others' URLs alone.
//!
//! ```
//! use http::StatusCode;
//! use http_body_util::BodyExt;
//! use k8s_openapi::api::coordination::v1::Lease;
//! use kapi_core::Body;
//! use kapi_openapi::{OpenApiService, ResourceSpec};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let openapi = OpenApiService::new("v1.33.0");
//! openapi.add_builtin::<Lease>(ResourceSpec::new("coordination.k8s.io", "v1", "leases", "Lease", true));
//!
//! let request = http::Request::get("/openapi/v3").body(Body::empty()).unwrap();
//! let response = openapi.v3_handler().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! let root: serde_json::Value = serde_json::from_slice(&body).unwrap();
//! let url = root["paths"]["apis/coordination.k8s.io/v1"]["serverRelativeURL"].as_str().unwrap();
//! assert!(url.starts_with("/openapi/v3/apis/coordination.k8s.io/v1?hash="));
//! # });
//! ```
//!
//! This crate has no features.

mod document;
mod extensions;
mod handler;
mod params;
mod proto;
mod routes;
mod schema;
mod service;
mod spec;
mod types;
mod unknown;

pub use service::{OpenApiService, TypeSchema};
pub use spec::{ALL_VERBS, ResourceSpec, Subresource};
pub use types::decode_error;
pub use unknown::unknown_fields;
