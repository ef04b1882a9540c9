//! Health checks of the storage backend: `etcd` (for etcd3, as
//! kube-apiserver names it) or the backend's name, on `/healthz`, `/livez`
//! and `/readyz`, plus `<name>-readiness` on `/readyz`.
//!
//! Mirrors `EtcdOptions.addEtcdHealthEndpoint` of
//! `k8s.io/apiserver/pkg/server/options/etcd.go`.

use std::sync::Arc;
use std::time::Duration;

use kapi_healthz::{CheckError, HealthChecker};
use kapi_storage::Backend;

/// Probes a backend within a timeout.
#[derive(Debug)]
pub(crate) struct StorageHealthCheck {
    name: String,
    backend: Arc<dyn Backend>,
    timeout: Duration,
}

impl StorageHealthCheck {
    /// The liveness check and the readiness check of `backend`.
    pub(crate) fn pair(backend: &Arc<dyn Backend>, timeout: Duration) -> (Self, Self) {
        let name = match backend.name() {
            "etcd3" => "etcd".to_owned(),
            other => other.to_owned(),
        };
        (
            Self {
                name: name.clone(),
                backend: backend.clone(),
                timeout,
            },
            Self {
                name: format!("{name}-readiness"),
                backend: backend.clone(),
                timeout,
            },
        )
    }
}

#[async_trait::async_trait]
impl HealthChecker for StorageHealthCheck {
    fn name(&self) -> &str {
        &self.name
    }

    async fn check(&self, _request: &http::request::Parts) -> Result<(), CheckError> {
        match tokio::time::timeout(self.timeout, self.backend.check_health()).await {
            Ok(result) => result.map_err(Into::into),
            Err(_) => Err(format!("{} did not answer within {:?}", self.name, self.timeout).into()),
        }
    }
}
