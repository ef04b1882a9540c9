//! `Config` → `complete()` → `CompletedConfig`: everything a server needs,
//! as plain data, and its validated, derived form.
//!
//! Mirrors `Config`, `CompletedConfig` and `NewConfig`'s defaults in
//! `config.go`.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::version::Info;
use kapi_config::{ServerRunOptions, ServingSetup};
use kapi_core::API_PREFIX;
use kapi_healthz::{HealthChecker, LogHealthz, PingHealthz};
use kapi_serving::{DynamicCertificates, LoopbackClientConfig, SecureServingInfo};

use crate::chain::{BuildHandlerChainFn, default_build_handler_chain};
use crate::delegation::DelegationTarget;
use crate::error::{Error, Result};
use crate::server::GenericApiServer;

/// Everything a [`GenericApiServer`] is built from. `Default` holds
/// Kubernetes' defaults (`NewConfig`).
#[non_exhaustive]
pub struct Config {
    /// The bound TLS listener; `None` serves nothing (the handler can still
    /// be driven in-process).
    pub secure_serving: Option<SecureServingInfo>,
    /// Serving certificates to keep reloading from their files.
    pub serving_certificates: Option<Arc<DynamicCertificates>>,
    /// How often `serving_certificates` are checked for changes.
    pub certificate_reload_interval: Duration,
    /// How loopback clients (post-start hooks) reach this server.
    pub loopback_client_config: Option<LoopbackClientConfig>,
    /// Checks served on `/healthz` (and `/livez`, `/readyz`).
    pub healthz_checks: Vec<Arc<dyn HealthChecker>>,
    /// Checks served on `/livez` only.
    pub livez_checks: Vec<Arc<dyn HealthChecker>>,
    /// Checks served on `/readyz` only.
    pub readyz_checks: Vec<Arc<dyn HealthChecker>>,
    /// How long post-start hook checks pass on `/livez` after start.
    pub livez_grace_period: Duration,
    /// Serve the index (`/`, `/index.html`) and answer unknown paths with it.
    pub enable_index: bool,
    /// Where the legacy API group is served (`/api`).
    pub legacy_api_prefix: String,
    /// The default request timeout (`--request-timeout`).
    pub request_timeout: Duration,
    /// How long in-flight requests may run once the listener has closed;
    /// zero means `request_timeout`.
    pub shutdown_timeout: Duration,
    /// How long the server keeps serving, with `/readyz` failing, after
    /// shutdown begins (`--shutdown-delay-duration`).
    pub shutdown_delay_duration: Duration,
    /// Post-start hooks that are not run (and get no health check).
    pub disabled_post_start_hooks: BTreeSet<String>,
    /// The storage backend; its health checks join `/healthz`, `/livez`
    /// and `/readyz`.
    pub storage: Option<Arc<dyn kapi_storage::Backend>>,
    /// How long a storage health probe may take (`--etcd-healthcheck-timeout`).
    pub storage_healthcheck_timeout: Duration,
    /// What `/version` answers; `None` means kapi's build facts.
    pub version: Option<Info>,
    /// Builds the filter chain around the director.
    pub build_handler_chain: BuildHandlerChainFn,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("secure_serving", &self.secure_serving)
            .field("loopback_client_config", &self.loopback_client_config)
            .field("healthz_checks", &self.healthz_checks)
            .field("livez_checks", &self.livez_checks)
            .field("readyz_checks", &self.readyz_checks)
            .field("enable_index", &self.enable_index)
            .field("request_timeout", &self.request_timeout)
            .field("shutdown_delay_duration", &self.shutdown_delay_duration)
            .field("disabled_post_start_hooks", &self.disabled_post_start_hooks)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        let default_checks = || -> Vec<Arc<dyn HealthChecker>> {
            vec![Arc::new(PingHealthz), Arc::new(LogHealthz::default())]
        };
        Self {
            secure_serving: None,
            serving_certificates: None,
            certificate_reload_interval: Duration::from_secs(10),
            loopback_client_config: None,
            healthz_checks: default_checks(),
            livez_checks: Vec::new(),
            readyz_checks: Vec::new(),
            livez_grace_period: Duration::ZERO,
            enable_index: true,
            legacy_api_prefix: API_PREFIX.to_owned(),
            request_timeout: Duration::from_secs(60),
            shutdown_timeout: Duration::ZERO,
            shutdown_delay_duration: Duration::ZERO,
            disabled_post_start_hooks: BTreeSet::new(),
            storage: None,
            storage_healthcheck_timeout: Duration::from_secs(2),
            version: None,
            build_handler_chain: Arc::new(default_build_handler_chain),
        }
    }
}

impl Config {
    /// Takes over what [`kapi_config::SecureServingOptions::apply`] produced.
    pub fn apply_serving(&mut self, setup: ServingSetup) {
        self.secure_serving = Some(setup.info);
        self.serving_certificates = Some(setup.certificates);
        self.certificate_reload_interval = setup.reload_interval;
        self.loopback_client_config = Some(setup.loopback);
    }

    /// Takes over the lifecycle flags.
    pub fn apply_run_options(&mut self, options: &ServerRunOptions) {
        self.request_timeout = options.request_timeout;
        self.shutdown_delay_duration = options.shutdown_delay_duration;
        self.livez_grace_period = options.livez_grace_period;
    }

    /// Validates the configuration and fills in what derives from it.
    pub fn complete(mut self) -> Result<CompletedConfig> {
        if self.request_timeout.is_zero() {
            return Err(Error::InvalidConfig(
                "request timeout must be greater than zero".to_owned(),
            ));
        }
        if self.secure_serving.is_some() && self.loopback_client_config.is_none() {
            return Err(Error::InvalidConfig(
                "a loopback client config is required when serving".to_owned(),
            ));
        }
        if self.shutdown_timeout.is_zero() {
            self.shutdown_timeout = self.request_timeout;
        }
        if let Some(backend) = &self.storage {
            let (live, ready) = crate::storage_health::StorageHealthCheck::pair(
                backend,
                self.storage_healthcheck_timeout,
            );
            self.healthz_checks.push(Arc::new(live));
            self.readyz_checks.push(Arc::new(ready));
        }
        if self.version.is_none() {
            self.version = Some(kapi_routes::version_info());
        }
        Ok(CompletedConfig { config: self })
    }
}

/// A validated [`Config`]; the only thing a server can be built from.
#[derive(Debug)]
pub struct CompletedConfig {
    config: Config,
}

impl CompletedConfig {
    /// Builds a server named `name` that hands what it does not own to
    /// `delegate` (Go: `New`).
    #[allow(
        clippy::new_ret_no_self,
        reason = "the typestate step named after Go's CompletedConfig.New"
    )]
    pub fn new(
        self,
        name: impl Into<String>,
        delegate: impl DelegationTarget + 'static,
    ) -> Result<GenericApiServer> {
        GenericApiServer::new(name.into(), self, Arc::new(delegate))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn into_inner(self) -> Config {
        self.config
    }
}
