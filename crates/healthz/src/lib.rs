//! Health checks and the `/healthz`, `/livez` and `/readyz` endpoints.
//!
//! Mirrors `k8s.io/apiserver/pkg/server/healthz`: the [`HealthChecker`]
//! trait, the built-in `ping` and `log` checks, and the handlers that serve a
//! set of checks on a root path (with `?verbose` and `?exclude=`) and each
//! check on its own sub-path, byte for byte as kube-apiserver does.
//!
//! ```
//! use http::StatusCode;
//! use http_body_util::BodyExt;
//! use kapi_core::Body;
//! use kapi_healthz::{PingHealthz, install_readyz_handler, named_check};
//! use kapi_mux::PathRecorderMux;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let mux = PathRecorderMux::new("example");
//! install_readyz_handler(
//!     &mux,
//!     vec![
//!         std::sync::Arc::new(PingHealthz),
//!         named_check("etcd", |_| async { Err("connection refused".into()) }),
//!     ],
//! );
//! assert_eq!(mux.listed_paths(), ["/readyz", "/readyz/etcd", "/readyz/ping"]);
//!
//! let request = http::Request::get("/readyz").body(Body::empty()).unwrap();
//! let response = mux.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! assert_eq!(
//!     body,
//!     "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n"
//! );
//! # });
//! ```
//!
//! This crate has no features.

mod checker;
mod error;
mod install;
mod log;

pub use checker::{HealthChecker, PingHealthz, named_check, named_grouped_check};
pub use error::{CheckError, Error, Result};
pub use install::{
    install_handler, install_livez_handler, install_path_handler,
    install_path_handler_with_healthy_func, install_readyz_handler,
    install_readyz_handler_with_healthy_func,
};
pub use log::LogHealthz;
