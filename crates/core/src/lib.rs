//! The small, stable bottom of kapi: the HTTP handler types every crate shares,
//! Kubernetes `Status` errors, the YAML/JSON codec and shared constants.
//!
//! Mirrors the parts of `k8s.io/apimachinery` and `k8s.io/apiserver` that every
//! other package of the Go server imports: `metav1.Status` and the
//! `StatusReason`s of `apimachinery/pkg/api/errors`, and the handler shape of
//! `net/http`.
//!
//! ```
//! use kapi_core::{StatusError, StatusReason};
//!
//! let err = StatusError::not_found("configmaps", "x");
//! assert_eq!(err.reason(), StatusReason::NotFound);
//! assert_eq!(err.message(), r#"configmaps "x" not found"#);
//! ```
//!
//! This crate has no features.

mod constants;
pub mod field;
pub mod go;
mod handler;
pub mod negotiation;
mod request_info;
pub mod selector;
mod status;
pub mod validation;
pub mod yaml;

pub use constants::{API_PREFIX, APIS_PREFIX, LOOPBACK_CLIENT_SERVER_NAME_OVERRIDE};
pub use handler::{Body, BoxHandler, Request, Response, box_handler, text_response};
pub use request_info::{RequestInfo, RequestInfoError, RequestInfoResolver, is_long_running};
pub use status::{StatusError, StatusReason};
