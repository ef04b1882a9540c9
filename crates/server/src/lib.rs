//! `GenericApiServer`: the typestate configuration, the handler chain, the
//! delegation chain, post-start and pre-shutdown hooks, health checks and the
//! run / graceful-termination lifecycle of a kapi server.
//!
//! Mirrors `k8s.io/apiserver/pkg/server` (`Config`, `CompletedConfig`,
//! `GenericAPIServer`, `DelegationTarget`, `NewEmptyDelegate`, `hooks.go`,
//! `lifecycle_signals.go`, `healthz.go`).
//!
//! ```no_run
//! use kapi_server::{Config, new_empty_delegate};
//! use tokio_util::sync::CancellationToken;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::default();
//! // config.apply_serving(setup) attaches a bound TLS listener (see kapi-config).
//! let server = config.complete()?.new("my-apiserver", new_empty_delegate())?;
//! server.add_post_start_hook("say-hello", |_ctx| async {
//!     tracing::info!("serving");
//!     Ok(())
//! })?;
//! server.prepare_run().run(CancellationToken::new()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! This crate has no features.

mod api_group;
mod chain;
mod config;
mod delegation;
mod error;
mod hooks;
mod lifecycle;
mod server;
mod storage_health;

pub use api_group::{
    ApiGroupInfo, DynamicApiGroups, ResourceDiscovery, ResponseKind, new_default_api_group_info,
};
pub use chain::{BuildHandlerChainFn, default_build_handler_chain};
pub use config::{CompletedConfig, Config};
pub use delegation::{DelegationTarget, EmptyDelegate, new_empty_delegate};
pub use error::{Error, Result};
pub use hooks::{HookError, PostStartHookContext, PostStartHookEntry, PreShutdownHookEntry};
pub use kapi_core::{API_PREFIX, APIS_PREFIX, LOOPBACK_CLIENT_SERVER_NAME_OVERRIDE};
pub use lifecycle::{LifecycleSignal, LifecycleSignals};
pub use server::{GenericApiServer, PreparedGenericApiServer};
