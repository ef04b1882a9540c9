//! Kubernetes-style API servers in Rust: the facade over kapi's crates.
//!
//! kapi is the Rust counterpart of Go's `k8s.io/apiserver` (`pkg/server` and
//! its subpackages). Pick single crates, or take the whole framework through
//! this one. The `kapi` binary in this package is a ready-to-run server built
//! on it.
//!
//! ```no_run
//! use kapi::{Config, server::new_empty_delegate};
//! use kapi::config::SecureServingOptions;
//!
//! # async fn example() -> anyhow::Result<()> {
//! let serving = SecureServingOptions::default();
//! let mut config = Config::default();
//! config.apply_serving(serving.apply("certificates".as_ref(), None).await?);
//! let server = config.complete()?.new("my-apiserver", new_empty_delegate())?;
//! let stop = kapi::serving::setup_signal_handler()?;
//! server.prepare_run().run(stop).await?;
//! # Ok(())
//! # }
//! ```
//!
//! | crate | module | mirrors |
//! |---|---|---|
//! | `kapi-core` | [`core`] | `metav1.Status`, shared types |
//! | `kapi-config` | [`config`] | `pkg/server/options` |
//! | `kapi-healthz` | [`healthz`] | `pkg/server/healthz` |
//! | `kapi-mux` | [`mux`] | `pkg/server/mux` |
//! | `kapi-routes` | [`routes`] | `pkg/server/routes` |
//! | `kapi-server` | [`server`] | `pkg/server` |
//! | `kapi-serving` | [`serving`] | `SecureServingInfo`, `dynamiccertificates` |
//! | `kapi-storage` | [`storage`] | `pkg/storage`, `pkg/registry/generic/registry` |
//! | `kapi-endpoints` | [`endpoints`] | `pkg/endpoints/handlers`, `pkg/admission` |
//! | `kapi-openapi` | [`openapi`] | kube-openapi's handlers, `DefaultOpenAPIConfig` |
//! | `kapi-fieldmanager` | [`fieldmanager`] | structured-merge-diff, `util/managedfields` |
//! | `kapi-apiextensions` | [`apiextensions`] | `k8s.io/apiextensions-apiserver` (CRDs) |
//! | `kapi-controlplane` | [`controlplane`] | the built-in resources of `k8s.io/kubernetes/pkg/registry` |
//!
//! ## Features
//! - `etcd`: the etcd3 storage backend (`kapi serve --storage-backend
//!   etcd3`); building it needs `protoc`.
//! - `testing`: [`testing::TestServer`], the whole control plane
//!   in-process with a ready `kube::Client`. Its module is the one place
//!   this facade holds code of its own rather than re-exports.

pub use kapi_apiextensions as apiextensions;
pub use kapi_config as config;
pub use kapi_controlplane as controlplane;
pub use kapi_core as core;
pub use kapi_endpoints as endpoints;
pub use kapi_fieldmanager as fieldmanager;
pub use kapi_healthz as healthz;
pub use kapi_mux as mux;
pub use kapi_openapi as openapi;
pub use kapi_routes as routes;
pub use kapi_server as server;
pub use kapi_serving as serving;
pub use kapi_storage as storage;

#[cfg(feature = "testing")]
pub mod testing;

#[doc(inline)]
pub use kapi_server::{CompletedConfig, Config, GenericApiServer};

/// The paved path in one import.
pub mod prelude {
    pub use kapi_core::{BoxHandler, StatusError, StatusReason};
    pub use kapi_healthz::HealthChecker;
    pub use kapi_server::{Config, DelegationTarget, GenericApiServer, new_empty_delegate};
}
