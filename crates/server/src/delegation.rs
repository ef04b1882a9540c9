//! The delegation chain: a server that does not own a path hands the request
//! to its delegate, and merges the delegate's hooks, checks and listed paths.
//!
//! Mirrors `DelegationTarget` and `NewEmptyDelegate` of `genericapiserver.go`.

use std::fmt;
use std::sync::Arc;

use kapi_core::BoxHandler;
use kapi_healthz::HealthChecker;

use crate::hooks::{PostStartHookEntry, PreShutdownHookEntry};

/// What a server exposes to the server that delegates to it.
pub trait DelegationTarget: Send + Sync + fmt::Debug {
    /// The handler behind the filters (the director), or `None` at the end
    /// of the chain.
    fn unprotected_handler(&self) -> Option<BoxHandler>;

    /// The post-start hooks of this server and its delegates, by name.
    fn post_start_hooks(&self) -> Vec<(String, PostStartHookEntry)>;

    /// The pre-shutdown hooks of this server and its delegates, by name.
    fn pre_shutdown_hooks(&self) -> Vec<(String, PreShutdownHookEntry)>;

    /// The health checks of this server and its delegates.
    fn healthz_checks(&self) -> Vec<Arc<dyn HealthChecker>>;

    /// The listed paths of this server and its delegates, sorted.
    fn listed_paths(&self) -> Vec<String>;

    /// The next server in the chain.
    fn next_delegate(&self) -> Option<&dyn DelegationTarget>;
}

/// The end of every delegation chain: owns nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyDelegate;

/// The end of a delegation chain (Go: `NewEmptyDelegate`).
pub fn new_empty_delegate() -> EmptyDelegate {
    EmptyDelegate
}

impl DelegationTarget for EmptyDelegate {
    fn unprotected_handler(&self) -> Option<BoxHandler> {
        None
    }

    fn post_start_hooks(&self) -> Vec<(String, PostStartHookEntry)> {
        Vec::new()
    }

    fn pre_shutdown_hooks(&self) -> Vec<(String, PreShutdownHookEntry)> {
        Vec::new()
    }

    fn healthz_checks(&self) -> Vec<Arc<dyn HealthChecker>> {
        Vec::new()
    }

    fn listed_paths(&self) -> Vec<String> {
        Vec::new()
    }

    fn next_delegate(&self) -> Option<&dyn DelegationTarget> {
        None
    }
}
