//! Health checks of the storage backend: `etcd` (for etcd3, as
//! kube-apiserver names it) or the backend's name, on `/healthz`, `/livez`
//! and `/readyz`, plus `<name>-readiness` on `/readyz`.
//!
//! Mirrors `EtcdOptions.addEtcdHealthEndpoint` of
//! `k8s.io/apiserver/pkg/server/options/etcd.go` and the probe of
//! `storagebackend/factory/etcd3.go`: the backend is probed at most once per
//! half timeout; checks in between answer the last probe's result, so a
//! busy `/healthz` does not load the storage.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kapi_healthz::{CheckError, HealthChecker};
use kapi_storage::Backend;

/// Probes a backend within a timeout, rate-limited.
#[derive(Debug)]
pub(crate) struct StorageHealthCheck {
    name: String,
    backend: Arc<dyn Backend>,
    timeout: Duration,
    probes: Mutex<Probes>,
}

/// When the next probe may run, and the result of the latest one started.
#[derive(Debug, Default)]
struct Probes {
    next_allowed: Option<Instant>,
    last: Option<(Instant, Result<(), String>)>,
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
                probes: Mutex::default(),
            },
            Self {
                name: format!("{name}-readiness"),
                backend: backend.clone(),
                timeout,
                probes: Mutex::default(),
            },
        )
    }
}

impl StorageHealthCheck {
    fn lock(&self) -> std::sync::MutexGuard<'_, Probes> {
        // Plain data: a panic elsewhere leaves it usable.
        self.probes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl HealthChecker for StorageHealthCheck {
    fn name(&self) -> &str {
        &self.name
    }

    async fn check(&self, _request: &http::request::Parts) -> Result<(), CheckError> {
        let started = Instant::now();
        {
            let mut probes = self.lock();
            if probes.next_allowed.is_some_and(|next| started < next) {
                return match &probes.last {
                    Some((_, result)) => result.clone().map_err(Into::into),
                    None => Err(format!("{} has not been probed yet", self.name).into()),
                };
            }
            probes.next_allowed = Some(started + self.timeout / 2);
        }
        let result = match tokio::time::timeout(self.timeout, self.backend.check_health()).await {
            Ok(result) => result.map_err(|err| err.to_string()),
            Err(_) => Err(format!(
                "{} did not answer within {:?}",
                self.name, self.timeout
            )),
        };
        let mut probes = self.lock();
        // Keep the result of the latest probe started, as Go does.
        if probes.last.as_ref().is_none_or(|(at, _)| *at < started) {
            probes.last = Some((started, result.clone()));
        }
        result.map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A backend that counts health probes and fails every other one.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    #[async_trait::async_trait]
    impl Backend for Counting {
        fn name(&self) -> &'static str {
            "etcd3"
        }
        async fn range(
            &self,
            _: kapi_storage::RangeRequest,
        ) -> kapi_storage::Result<kapi_storage::RangeResponse> {
            unimplemented!("not probed")
        }
        async fn create(
            &self,
            _: &str,
            _: bytes::Bytes,
        ) -> kapi_storage::Result<kapi_storage::TxnOutcome> {
            unimplemented!("not probed")
        }
        async fn update(
            &self,
            _: &str,
            _: bytes::Bytes,
            _: i64,
        ) -> kapi_storage::Result<kapi_storage::TxnOutcome> {
            unimplemented!("not probed")
        }
        async fn delete(&self, _: &str, _: i64) -> kapi_storage::Result<kapi_storage::TxnOutcome> {
            unimplemented!("not probed")
        }
        async fn current_revision(&self) -> kapi_storage::Result<i64> {
            unimplemented!("not probed")
        }
        async fn watch(
            &self,
            _: &str,
            _: i64,
            _: bool,
        ) -> kapi_storage::Result<kapi_storage::WatchStream> {
            unimplemented!("not probed")
        }
        async fn request_progress(&self) -> kapi_storage::Result<()> {
            unimplemented!("not probed")
        }
        async fn compact(&self, _: i64) -> kapi_storage::Result<()> {
            unimplemented!("not probed")
        }
        async fn compacted_revision(&self) -> kapi_storage::Result<i64> {
            unimplemented!("not probed")
        }
        async fn check_health(&self) -> kapi_storage::Result<()> {
            match self.0.fetch_add(1, Ordering::SeqCst) % 2 {
                0 => Ok(()),
                _ => Err(kapi_storage::Error::Unavailable("down".into())),
            }
        }
    }

    #[tokio::test]
    async fn probes_at_most_once_per_half_timeout_and_reuse_the_last_result() {
        let backend = Arc::new(Counting::default());
        let dyn_backend: Arc<dyn Backend> = backend.clone();
        let (check, _) = StorageHealthCheck::pair(&dyn_backend, Duration::from_millis(400));
        assert_eq!(check.name(), "etcd");
        let parts = http::Request::new(()).into_parts().0;
        for _ in 0..50 {
            check.check(&parts).await.unwrap();
        }
        assert_eq!(backend.0.load(Ordering::SeqCst), 1, "one probe per 200 ms");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(
            check.check(&parts).await.is_err(),
            "a new probe, which fails"
        );
        assert!(
            check.check(&parts).await.is_err(),
            "the failure is remembered"
        );
        assert_eq!(backend.0.load(Ordering::SeqCst), 2);
    }
}
