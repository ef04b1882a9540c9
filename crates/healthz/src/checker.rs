//! The [`HealthChecker`] trait, the always-passing [`PingHealthz`] and checks
//! built from closures ([`named_check`], [`named_grouped_check`]).
//!
//! Mirrors `healthz.HealthChecker`, `GroupedHealthChecker`, `PingHealthz`,
//! `NamedCheck` and `NamedGroupedCheck`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use http::request::Parts;

use crate::error::CheckError;

/// A named health check served under `/healthz`, `/livez` or `/readyz`.
///
/// Mirrors `healthz.HealthChecker` (and `GroupedHealthChecker` through
/// [`group_name`](Self::group_name)).
#[async_trait]
pub trait HealthChecker: Send + Sync + fmt::Debug {
    /// The check's name: its line in verbose output and its sub-path
    /// `/<root>/<name>`. It may contain `/` (`poststarthook/<hook>`).
    fn name(&self) -> &str;

    /// The group this check belongs to, if any: `?exclude=<group>` skips every
    /// check of the group (kube-apiserver groups its etcd checks as `etcd`).
    fn group_name(&self) -> Option<&str> {
        None
    }

    /// Runs the check for a request to the health endpoint (only its head).
    async fn check(&self, request: &Parts) -> Result<(), CheckError>;
}

/// The check named `ping`, which always passes (Go: `PingHealthz`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PingHealthz;

#[async_trait]
impl HealthChecker for PingHealthz {
    fn name(&self) -> &str {
        "ping"
    }

    async fn check(&self, _request: &Parts) -> Result<(), CheckError> {
        Ok(())
    }
}

/// A check named `name` that runs `check` (Go: `NamedCheck`).
///
/// The closure gets the request's head and returns a future that does not
/// borrow it: take what the check needs from the request before the `async`
/// block (`|request| { let agent = request.headers.get(..).cloned(); async move { .. } }`).
pub fn named_check<F, Fut>(name: impl Into<String>, check: F) -> Arc<dyn HealthChecker>
where
    F: Fn(&Parts) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), CheckError>> + Send + 'static,
{
    Arc::new(NamedCheck {
        name: name.into(),
        group: None,
        check,
    })
}

/// Like [`named_check`], in the group `group` (Go: `NamedGroupedCheck`).
pub fn named_grouped_check<F, Fut>(
    name: impl Into<String>,
    group: impl Into<String>,
    check: F,
) -> Arc<dyn HealthChecker>
where
    F: Fn(&Parts) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), CheckError>> + Send + 'static,
{
    Arc::new(NamedCheck {
        name: name.into(),
        group: Some(group.into()),
        check,
    })
}

struct NamedCheck<F> {
    name: String,
    group: Option<String>,
    check: F,
}

impl<F> fmt::Debug for NamedCheck<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedCheck")
            .field("name", &self.name)
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<F, Fut> HealthChecker for NamedCheck<F>
where
    F: Fn(&Parts) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), CheckError>> + Send + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn group_name(&self) -> Option<&str> {
        self.group.as_deref()
    }

    async fn check(&self, request: &Parts) -> Result<(), CheckError> {
        (self.check)(request).await
    }
}
