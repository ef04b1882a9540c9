//! Post-start and pre-shutdown hooks, and the health checks that report
//! whether each post-start hook has finished.
//!
//! Mirrors `hooks.go`: a post-start hook runs once the listener is up, gets
//! the loopback client config and the stop signal, and its
//! `poststarthook/<name>` check fails ("not finished") until it returns. A
//! failing post-start hook stops the server. Pre-shutdown hooks run when
//! shutdown begins.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use kapi_healthz::{CheckError, HealthChecker};
use kapi_serving::LoopbackClientConfig;
use tokio_util::sync::CancellationToken;

/// What a hook returns when it fails.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

type PostStartHookFn =
    Box<dyn FnOnce(PostStartHookContext) -> BoxFuture<'static, Result<(), HookError>> + Send>;
type PreShutdownHookFn = Box<dyn FnOnce() -> BoxFuture<'static, Result<(), HookError>> + Send>;

/// What a post-start hook receives.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostStartHookContext {
    /// How to reach this server from inside the process (privileged).
    pub loopback_client_config: Option<LoopbackClientConfig>,
    /// Cancelled when the server begins to shut down.
    pub stop: CancellationToken,
}

/// A registered post-start hook: the function (taken once, by whichever
/// server of a delegation chain runs it) and its completion signal.
#[derive(Clone)]
pub struct PostStartHookEntry {
    hook: Arc<Mutex<Option<PostStartHookFn>>>,
    done: CancellationToken,
}

impl fmt::Debug for PostStartHookEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostStartHookEntry")
            .field("done", &self.done.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl PostStartHookEntry {
    pub(crate) fn new<F, Fut>(hook: F) -> Self
    where
        F: FnOnce(PostStartHookContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        let hook: PostStartHookFn = Box::new(move |ctx| Box::pin(hook(ctx)));
        Self {
            hook: Arc::new(Mutex::new(Some(hook))),
            done: CancellationToken::new(),
        }
    }

    /// Whether the hook has run to completion successfully.
    pub fn is_done(&self) -> bool {
        self.done.is_cancelled()
    }

    /// Runs the hook unless it already ran; marks it done on success.
    pub(crate) async fn run(&self, ctx: PostStartHookContext) -> Result<(), HookError> {
        let hook = match self.hook.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let Some(hook) = hook else {
            return Ok(());
        };
        hook(ctx).await?;
        self.done.cancel();
        Ok(())
    }

    pub(crate) fn done_token(&self) -> CancellationToken {
        self.done.clone()
    }
}

/// A registered pre-shutdown hook.
#[derive(Clone)]
pub struct PreShutdownHookEntry {
    hook: Arc<Mutex<Option<PreShutdownHookFn>>>,
}

impl fmt::Debug for PreShutdownHookEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreShutdownHookEntry")
            .finish_non_exhaustive()
    }
}

impl PreShutdownHookEntry {
    pub(crate) fn new<F, Fut>(hook: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        let hook: PreShutdownHookFn = Box::new(move || Box::pin(hook()));
        Self {
            hook: Arc::new(Mutex::new(Some(hook))),
        }
    }

    pub(crate) async fn run(&self) -> Result<(), HookError> {
        let hook = match self.hook.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        match hook {
            Some(hook) => hook().await,
            None => Ok(()),
        }
    }
}

/// `poststarthook/<name>`: fails with "not finished" until the hook is done.
/// On livez it passes during the grace period that starts when it is built.
#[derive(Debug)]
pub(crate) struct PostStartHookCheck {
    name: String,
    done: CancellationToken,
    passes_until: Option<Instant>,
}

impl PostStartHookCheck {
    pub(crate) fn new(hook_name: &str, done: CancellationToken) -> Self {
        Self {
            name: format!("poststarthook/{hook_name}"),
            done,
            passes_until: None,
        }
    }

    pub(crate) fn with_grace_period(mut self, grace: Duration) -> Self {
        if !grace.is_zero() {
            self.passes_until = Some(Instant::now() + grace);
        }
        self
    }
}

#[async_trait::async_trait]
impl HealthChecker for PostStartHookCheck {
    fn name(&self) -> &str {
        &self.name
    }

    async fn check(&self, _request: &http::request::Parts) -> Result<(), CheckError> {
        if self.done.is_cancelled() {
            return Ok(());
        }
        if self
            .passes_until
            .is_some_and(|until| Instant::now() < until)
        {
            return Ok(());
        }
        Err("not finished".into())
    }
}

/// `shutdown` (readyz only): fails as soon as shutdown has begun.
#[derive(Debug)]
pub(crate) struct ShutdownCheck {
    initiated: crate::LifecycleSignal,
}

impl ShutdownCheck {
    pub(crate) fn new(initiated: crate::LifecycleSignal) -> Self {
        Self { initiated }
    }
}

#[async_trait::async_trait]
impl HealthChecker for ShutdownCheck {
    fn name(&self) -> &str {
        "shutdown"
    }

    async fn check(&self, _request: &http::request::Parts) -> Result<(), CheckError> {
        if self.initiated.is_signaled() {
            return Err("process is shutting down".into());
        }
        Ok(())
    }
}
