//! `GenericApiServer` and `PreparedGenericApiServer`: route installation,
//! hooks and checks, and the run / graceful-termination sequence.
//!
//! Mirrors `genericapiserver.go` (`New`, `PrepareRun`, `RunWithContext`) and
//! `hooks.go`.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::join_all;
use http::StatusCode;
use kapi_core::BoxHandler;
use kapi_healthz::HealthChecker;
use kapi_mux::PathRecorderMux;
use kapi_openapi::OpenApiService;
use kapi_routes::{Index, ListedPathProvider, Version};
use kapi_serving::{DynamicCertificates, LoopbackClientConfig, SecureServingInfo};
use tokio_util::sync::CancellationToken;

use crate::config::CompletedConfig;
use crate::delegation::DelegationTarget;
use crate::error::{Error, Result};
use crate::hooks::{
    HookError, PostStartHookCheck, PostStartHookContext, PostStartHookEntry, PreShutdownHookEntry,
    ShutdownCheck,
};
use crate::lifecycle::LifecycleSignals;

/// A configured server: routes installed, hooks and checks still open for
/// registration. [`prepare_run`](Self::prepare_run) closes registration.
pub struct GenericApiServer {
    name: String,
    mux: PathRecorderMux,
    unprotected_handler: BoxHandler,
    handler: BoxHandler,
    delegate: Arc<dyn DelegationTarget>,
    registry: Mutex<Registry>,
    signals: LifecycleSignals,
    secure_serving: Option<SecureServingInfo>,
    serving_certificates: Option<Arc<DynamicCertificates>>,
    certificate_reload_interval: Duration,
    loopback_client_config: Option<LoopbackClientConfig>,
    livez_grace_period: Duration,
    shutdown_timeout: Duration,
    shutdown_delay_duration: Duration,
    disabled_post_start_hooks: std::collections::BTreeSet<String>,
    api_groups: crate::api_group::InstalledGroups,
    openapi: OpenApiService,
}

/// Hooks and checks registered so far.
#[derive(Default)]
struct Registry {
    post_start_hooks: Vec<(String, PostStartHookEntry)>,
    pre_shutdown_hooks: Vec<(String, PreShutdownHookEntry)>,
    healthz_checks: Vec<Arc<dyn HealthChecker>>,
    livez_checks: Vec<Arc<dyn HealthChecker>>,
    readyz_checks: Vec<Arc<dyn HealthChecker>>,
}

impl fmt::Debug for GenericApiServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenericApiServer")
            .field("name", &self.name)
            .field("listed_paths", &self.listed_paths())
            .field("delegate", &self.delegate)
            .finish_non_exhaustive()
    }
}

/// The paths listed by a server's mux and by every delegate behind it.
struct ChainPaths {
    mux: PathRecorderMux,
    delegate: Arc<dyn DelegationTarget>,
}

impl ListedPathProvider for ChainPaths {
    fn listed_paths(&self) -> Vec<String> {
        let mut paths = self.mux.listed_paths();
        paths.extend(self.delegate.listed_paths());
        paths.sort();
        paths.dedup();
        paths
    }
}

impl GenericApiServer {
    pub(crate) fn new(
        name: String,
        completed: CompletedConfig,
        delegate: Arc<dyn DelegationTarget>,
    ) -> Result<Self> {
        let chain = completed.config().build_handler_chain.clone();
        let mux = PathRecorderMux::new(format!("{name}-nonresource"));
        let paths: Arc<dyn ListedPathProvider> = Arc::new(ChainPaths {
            mux: mux.clone(),
            delegate: delegate.clone(),
        });
        let enable_index = completed.config().enable_index;

        // What this server does not own goes to its delegate; the last
        // server of a chain answers 404, with the index when enabled.
        match delegate.unprotected_handler() {
            Some(next) => mux.set_not_found_handler(next),
            None if enable_index => mux.set_not_found_handler(kapi_routes::index_lister_handler(
                paths.clone(),
                StatusCode::NOT_FOUND,
            )),
            None => {}
        }
        if enable_index {
            Index::install(paths, &mux);
        }
        if let Some(info) = completed.config().version.clone() {
            Version::install(info, &mux);
        }
        // Go: the OpenAPI services of `DefaultOpenAPIConfig`, filled in as
        // API groups are installed.
        let openapi_version = completed
            .config()
            .version
            .as_ref()
            .map_or_else(|| "unversioned".to_owned(), |info| info.git_version.clone());
        let openapi = OpenApiService::new(openapi_version);
        mux.handle("/openapi/v2", openapi.v2_handler());
        mux.handle("/openapi/v3", openapi.v3_handler());
        // The prefix is a constant ending in "/", the only thing the mux checks.
        let _ = mux.unlisted_handle_prefix("/openapi/v3/", openapi.v3_group_version_handler());

        let unprotected_handler = mux.handler();
        let handler = chain(unprotected_handler.clone(), &completed);
        let config = completed.into_inner();

        let mut registry = Registry {
            healthz_checks: config.healthz_checks,
            livez_checks: config.livez_checks,
            readyz_checks: config.readyz_checks,
            ..Registry::default()
        };
        // Merge the delegate's hooks and checks (checks deduplicated by name).
        registry.post_start_hooks = delegate.post_start_hooks();
        registry.pre_shutdown_hooks = delegate.pre_shutdown_hooks();
        for check in delegate.healthz_checks() {
            if !registry
                .healthz_checks
                .iter()
                .any(|existing| existing.name() == check.name())
            {
                registry.healthz_checks.push(check);
            }
        }

        let api_groups = crate::api_group::InstalledGroups::new(mux.clone());
        Ok(Self {
            name,
            mux,
            unprotected_handler,
            handler,
            delegate,
            registry: Mutex::new(registry),
            signals: LifecycleSignals::new(),
            secure_serving: config.secure_serving,
            serving_certificates: config.serving_certificates,
            certificate_reload_interval: config.certificate_reload_interval,
            loopback_client_config: config.loopback_client_config,
            livez_grace_period: config.livez_grace_period,
            shutdown_timeout: config.shutdown_timeout,
            shutdown_delay_duration: config.shutdown_delay_duration,
            disabled_post_start_hooks: config.disabled_post_start_hooks,
            api_groups,
            openapi,
        })
    }

    /// The server's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The mux for non-API paths (Go: `Handler.NonGoRestfulMux`).
    pub fn mux(&self) -> &PathRecorderMux {
        &self.mux
    }

    /// The OpenAPI documents served at `/openapi/v2` and `/openapi/v3`:
    /// register the schema of each type served here.
    pub fn openapi(&self) -> &OpenApiService {
        &self.openapi
    }

    /// The API groups installed (see `api_group.rs`).
    pub(crate) fn api_groups(&self) -> &crate::api_group::InstalledGroups {
        &self.api_groups
    }

    /// The delegate's handler, for paths this server does not own.
    pub(crate) fn delegate_handler(&self) -> Option<BoxHandler> {
        self.delegate.unprotected_handler()
    }

    /// The full handler, filters included.
    pub fn handler(&self) -> BoxHandler {
        self.handler.clone()
    }

    /// The lifecycle signals.
    pub fn lifecycle_signals(&self) -> &LifecycleSignals {
        &self.signals
    }

    /// The loopback client configuration, when serving.
    pub fn loopback_client_config(&self) -> Option<&LoopbackClientConfig> {
        self.loopback_client_config.as_ref()
    }

    /// The address the server listens on, when serving.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.secure_serving
            .as_ref()
            .map(SecureServingInfo::local_addr)
    }

    /// Adds checks to `/healthz`, `/livez` and `/readyz`.
    pub fn add_healthz_checks(&self, checks: impl IntoIterator<Item = Arc<dyn HealthChecker>>) {
        self.registry().healthz_checks.extend(checks);
    }

    /// Adds checks to `/livez` only.
    pub fn add_livez_checks(&self, checks: impl IntoIterator<Item = Arc<dyn HealthChecker>>) {
        self.registry().livez_checks.extend(checks);
    }

    /// Adds checks to `/readyz` only.
    pub fn add_readyz_checks(&self, checks: impl IntoIterator<Item = Arc<dyn HealthChecker>>) {
        self.registry().readyz_checks.extend(checks);
    }

    /// Registers a hook that runs once the server listens, with its
    /// `poststarthook/<name>` check failing until it returns. A hook that
    /// fails stops the server. Hooks named in
    /// `Config::disabled_post_start_hooks` are ignored.
    pub fn add_post_start_hook<F, Fut>(&self, name: impl Into<String>, hook: F) -> Result<()>
    where
        F: FnOnce(PostStartHookContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        let name = name.into();
        if self.disabled_post_start_hooks.contains(&name) {
            return Ok(());
        }
        let mut registry = self.registry();
        if registry.post_start_hooks.iter().any(|(n, _)| *n == name) {
            return Err(Error::DuplicateHook {
                kind: "post-start",
                name,
            });
        }
        let entry = PostStartHookEntry::new(hook);
        let done = entry.done_token();
        registry
            .healthz_checks
            .push(Arc::new(PostStartHookCheck::new(&name, done.clone())));
        registry.livez_checks.push(Arc::new(
            PostStartHookCheck::new(&name, done.clone()).with_grace_period(self.livez_grace_period),
        ));
        registry
            .readyz_checks
            .push(Arc::new(PostStartHookCheck::new(&name, done)));
        registry.post_start_hooks.push((name, entry));
        Ok(())
    }

    /// Like [`add_post_start_hook`](Self::add_post_start_hook).
    ///
    /// # Panics
    /// When a hook with this name is already registered.
    pub fn add_post_start_hook_or_die<F, Fut>(&self, name: impl Into<String>, hook: F)
    where
        F: FnOnce(PostStartHookContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        if let Err(err) = self.add_post_start_hook(name, hook) {
            panic!("{err}");
        }
    }

    /// Registers a hook that runs when shutdown begins.
    pub fn add_pre_shutdown_hook<F, Fut>(&self, name: impl Into<String>, hook: F) -> Result<()>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        let name = name.into();
        let mut registry = self.registry();
        if registry.pre_shutdown_hooks.iter().any(|(n, _)| *n == name) {
            return Err(Error::DuplicateHook {
                kind: "pre-shutdown",
                name,
            });
        }
        registry
            .pre_shutdown_hooks
            .push((name, PreShutdownHookEntry::new(hook)));
        Ok(())
    }

    /// Like [`add_pre_shutdown_hook`](Self::add_pre_shutdown_hook).
    ///
    /// # Panics
    /// When a hook with this name is already registered.
    pub fn add_pre_shutdown_hook_or_die<F, Fut>(&self, name: impl Into<String>, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        if let Err(err) = self.add_pre_shutdown_hook(name, hook) {
            panic!("{err}");
        }
    }

    /// Installs the health endpoints (with the `shutdown` readiness check)
    /// and closes registration.
    pub fn prepare_run(self) -> PreparedGenericApiServer {
        let registry = std::mem::take(&mut *self.registry());
        // Every healthz check is also a livez and readyz check, unless the
        // path has its own check of that name (a post-start hook's livez
        // check has the grace period).
        let merged = |specific: Vec<Arc<dyn HealthChecker>>| {
            let mut checks: Vec<Arc<dyn HealthChecker>> = registry
                .healthz_checks
                .iter()
                .filter(|check| !specific.iter().any(|s| s.name() == check.name()))
                .cloned()
                .collect();
            checks.extend(specific);
            checks
        };
        let livez = merged(registry.livez_checks);
        let mut readyz = merged(registry.readyz_checks);
        readyz.push(Arc::new(ShutdownCheck::new(
            self.signals.shutdown_initiated.clone(),
        )));

        kapi_healthz::install_handler(&self.mux, registry.healthz_checks);
        kapi_healthz::install_livez_handler(&self.mux, livez);
        let has_been_ready = self.signals.has_been_ready.clone();
        kapi_healthz::install_readyz_handler_with_healthy_func(&self.mux, readyz, move || {
            has_been_ready.signal();
        });
        self.signals.mux_and_discovery_complete.signal();

        PreparedGenericApiServer {
            post_start_hooks: registry.post_start_hooks,
            pre_shutdown_hooks: registry.pre_shutdown_hooks,
            server: self,
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl DelegationTarget for GenericApiServer {
    fn unprotected_handler(&self) -> Option<BoxHandler> {
        Some(self.unprotected_handler.clone())
    }

    fn post_start_hooks(&self) -> Vec<(String, PostStartHookEntry)> {
        self.registry().post_start_hooks.clone()
    }

    fn pre_shutdown_hooks(&self) -> Vec<(String, PreShutdownHookEntry)> {
        self.registry().pre_shutdown_hooks.clone()
    }

    fn healthz_checks(&self) -> Vec<Arc<dyn HealthChecker>> {
        self.registry().healthz_checks.clone()
    }

    fn listed_paths(&self) -> Vec<String> {
        ChainPaths {
            mux: self.mux.clone(),
            delegate: self.delegate.clone(),
        }
        .listed_paths()
    }

    fn next_delegate(&self) -> Option<&dyn DelegationTarget> {
        Some(self.delegate.as_ref())
    }
}

/// A server ready to run: registration is closed.
pub struct PreparedGenericApiServer {
    server: GenericApiServer,
    post_start_hooks: Vec<(String, PostStartHookEntry)>,
    pre_shutdown_hooks: Vec<(String, PreShutdownHookEntry)>,
}

impl fmt::Debug for PreparedGenericApiServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedGenericApiServer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl PreparedGenericApiServer {
    /// The address the server listens on, when serving.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.local_addr()
    }

    /// The full handler, filters included.
    pub fn handler(&self) -> BoxHandler {
        self.server.handler()
    }

    /// The lifecycle signals.
    pub fn lifecycle_signals(&self) -> &LifecycleSignals {
        &self.server.signals
    }

    /// Serves until `shutdown` is cancelled, then terminates gracefully:
    ///
    /// 1. `/readyz` fails at once (`shutdown` check) and pre-shutdown hooks
    ///    run, while requests are still served;
    /// 2. after the shutdown delay and the pre-shutdown hooks, the listener
    ///    closes;
    /// 3. in-flight requests get up to the shutdown timeout to finish, then
    ///    whatever is left is cut.
    ///
    /// A failing post-start hook begins the same sequence and is returned as
    /// the error.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let Self {
            server,
            post_start_hooks,
            pre_shutdown_hooks,
        } = self;
        let signals = server.signals.clone();
        let reloader_stop = CancellationToken::new();
        let _reloader_guard = reloader_stop.clone().drop_guard();
        if let Some(certificates) = &server.serving_certificates {
            certificates.spawn_reloader(server.certificate_reload_interval, reloader_stop.clone());
        }

        let serving_stop = CancellationToken::new();
        let serving = match server.secure_serving {
            Some(info) => {
                let handle = info.serve(
                    server.handler.clone(),
                    server.shutdown_timeout,
                    serving_stop.clone(),
                )?;
                Some(handle)
            }
            None => None,
        };

        // Post-start hooks run once the listener is up, each on its own task.
        let hooks_stop = CancellationToken::new();
        let (failed_tx, mut failed_rx) = tokio::sync::mpsc::unbounded_channel();
        for (name, entry) in post_start_hooks {
            let ctx = PostStartHookContext {
                loopback_client_config: server.loopback_client_config.clone(),
                stop: hooks_stop.clone(),
            };
            let failed_tx = failed_tx.clone();
            tokio::spawn(async move {
                match entry.run(ctx).await {
                    Ok(()) => tracing::debug!(hook = %name, "post-start hook finished"),
                    Err(source) => {
                        tracing::error!(hook = %name, error = %source, "post-start hook failed");
                        let _ = failed_tx.send(Error::PostStartHook { name, source });
                    }
                }
            });
        }
        drop(failed_tx);

        let mut failure = tokio::select! {
            () = shutdown.cancelled() => None,
            Some(err) = failed_rx.recv() => Some(err),
        };

        // T0: readyz turns red; hooks are told to stop; pre-shutdown hooks run
        // while the server keeps serving for the shutdown delay.
        signals.shutdown_initiated.signal();
        hooks_stop.cancel();
        tracing::info!(server = %server.name, delay = ?server.shutdown_delay_duration, "shutdown initiated");
        let delay = async {
            tokio::time::sleep(server.shutdown_delay_duration).await;
            signals.after_shutdown_delay_duration.signal();
        };
        let pre_shutdown = async {
            let results = join_all(pre_shutdown_hooks.into_iter().map(
                |(name, entry)| async move {
                    entry
                        .run()
                        .await
                        .map_err(|source| Error::PreShutdownHook { name, source })
                },
            ))
            .await;
            signals.pre_shutdown_hooks_stopped.signal();
            results.into_iter().find_map(Result::err)
        };
        let ((), pre_shutdown_failure) = tokio::join!(delay, pre_shutdown);
        if failure.is_none() {
            failure = pre_shutdown_failure;
        }

        // Close the listener, then drain in-flight requests.
        signals.not_accepting_new_requests.signal();
        serving_stop.cancel();
        if let Some(handle) = &serving {
            handle.listener_stopped().await;
            signals.http_server_stopped_listening.signal();
            handle.stopped().await;
        } else {
            signals.http_server_stopped_listening.signal();
        }
        signals.in_flight_requests_drained.signal();
        tracing::info!(server = %server.name, "stopped");
        match failure {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}
