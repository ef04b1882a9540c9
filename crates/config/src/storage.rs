//! `StorageOptions`: which storage backend a server uses and how to reach
//! it, with kube-apiserver's flag names for etcd and the watch cache.
//!
//! Mirrors `EtcdOptions` and `StorageFactory` flags of
//! `k8s.io/apiserver/pkg/server/options`, plus kapi's `--storage-backend`
//! choice of `sqlite` (embedded, durable; the default of `kapi serve`),
//! `memory` and `etcd3`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kapi_storage::Backend;

use crate::duration::parse_go_duration;
use crate::error::{Error, Result};

/// The storage backends a server can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StorageBackend {
    /// Embedded SQLite in `<data-dir>/kapi.db`: durable, one machine.
    Sqlite,
    /// In memory: gone when the process ends.
    Memory,
    /// etcd v3 (`--etcd-servers`): several servers can share it.
    Etcd3,
}

/// Storage flags.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct StorageOptions {
    /// The storage backend: sqlite (embedded, durable), memory, or etcd3.
    #[arg(long = "storage-backend", value_enum, default_value = "sqlite")]
    pub storage_backend: StorageBackend,

    /// List of etcd servers to connect with (scheme://ip:port), comma separated.
    #[arg(long = "etcd-servers", value_delimiter = ',', value_name = "URLS")]
    pub etcd_servers: Vec<String>,

    /// The prefix to prepend to all resource paths in storage.
    #[arg(
        long = "etcd-prefix",
        default_value = "/registry",
        value_name = "PREFIX"
    )]
    pub etcd_prefix: String,

    /// SSL Certificate Authority file used to secure etcd communication.
    #[arg(long = "etcd-cafile", value_name = "FILE")]
    pub etcd_cafile: Option<PathBuf>,

    /// SSL certification file used to secure etcd communication.
    #[arg(long = "etcd-certfile", value_name = "FILE")]
    pub etcd_certfile: Option<PathBuf>,

    /// SSL key file used to secure etcd communication.
    #[arg(long = "etcd-keyfile", value_name = "FILE")]
    pub etcd_keyfile: Option<PathBuf>,

    /// The interval of compaction requests. If 0, compaction requests from
    /// the apiserver are disabled.
    #[arg(long = "etcd-compaction-interval", default_value = "5m0s", value_parser = parse_go_duration, value_name = "DURATION")]
    pub etcd_compaction_interval: Duration,

    /// The timeout to use when checking etcd health.
    #[arg(long = "etcd-healthcheck-timeout", default_value = "2s", value_parser = parse_go_duration, value_name = "DURATION")]
    pub etcd_healthcheck_timeout: Duration,

    /// The timeout to use when checking etcd readiness.
    #[arg(long = "etcd-readycheck-timeout", default_value = "2s", value_parser = parse_go_duration, value_name = "DURATION")]
    pub etcd_readycheck_timeout: Duration,

    /// Enable watch caching in the apiserver.
    #[arg(long = "watch-cache", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub watch_cache: bool,

    /// Watch cache size settings for some resources (pods, nodes, etc.),
    /// comma separated: resource[.group]#size. Size 0 disables the cache of
    /// that resource.
    #[arg(
        long = "watch-cache-sizes",
        value_delimiter = ',',
        value_name = "RESOURCE#SIZE"
    )]
    pub watch_cache_sizes: Vec<String>,
}

impl Default for StorageOptions {
    fn default() -> Self {
        Self {
            storage_backend: StorageBackend::Sqlite,
            etcd_servers: Vec::new(),
            etcd_prefix: "/registry".to_owned(),
            etcd_cafile: None,
            etcd_certfile: None,
            etcd_keyfile: None,
            etcd_compaction_interval: Duration::from_secs(300),
            etcd_healthcheck_timeout: Duration::from_secs(2),
            etcd_readycheck_timeout: Duration::from_secs(2),
            watch_cache: true,
            watch_cache_sizes: Vec::new(),
        }
    }
}

impl StorageOptions {
    /// Checks the flags for values that can never work.
    pub fn validate(&self) -> Vec<Error> {
        let mut errors = Vec::new();
        if self.storage_backend == StorageBackend::Etcd3 && self.etcd_servers.is_empty() {
            errors.push(Error::InvalidFlag {
                flag: "etcd-servers",
                message: "--etcd-servers must be specified".to_owned(),
            });
        }
        if self.storage_backend == StorageBackend::Etcd3 && !cfg!(feature = "etcd") {
            errors.push(Error::InvalidFlag {
                flag: "storage-backend",
                message:
                    "this kapi was built without etcd3 support; rebuild with `--features etcd`"
                        .to_owned(),
            });
        }
        if !self.etcd_prefix.starts_with('/') {
            errors.push(Error::InvalidFlag {
                flag: "etcd-prefix",
                message: format!("{:?} must start with '/'", self.etcd_prefix),
            });
        }
        if let Err(error) = self.watch_cache_size_map() {
            errors.push(error);
        }
        errors
    }

    /// `--watch-cache-sizes` as (resource[.group], size) pairs.
    pub fn watch_cache_size_map(&self) -> Result<Vec<(String, usize)>> {
        self.watch_cache_sizes
            .iter()
            .map(|entry| {
                let invalid = || Error::InvalidFlag {
                    flag: "watch-cache-sizes",
                    message: format!("invalid value of watch cache size: {entry}"),
                };
                let (resource, size) = entry.split_once('#').ok_or_else(invalid)?;
                let size: usize = size.parse().map_err(|_| invalid())?;
                if resource.is_empty() {
                    return Err(invalid());
                }
                Ok((resource.to_owned(), size))
            })
            .collect()
    }

    /// Opens the chosen backend; `data_dir` holds the SQLite database.
    pub async fn build(&self, data_dir: &Path) -> Result<Arc<dyn Backend>> {
        if let Some(error) = self.validate().into_iter().next() {
            return Err(error);
        }
        match self.storage_backend {
            StorageBackend::Memory => Ok(Arc::new(kapi_storage::memory::MemoryBackend::new())),
            StorageBackend::Sqlite => {
                let path = data_dir.join("kapi.db");
                let backend = tokio::task::spawn_blocking(move || {
                    kapi_storage::sqlite::SqliteBackend::open(
                        &path,
                        kapi_storage::sqlite::SqliteOptions::default(),
                    )
                })
                .await
                .map_err(|e| Error::Storage(kapi_storage::Error::Backend(Box::new(e))))??;
                let backend = Arc::new(backend);
                spawn_sqlite_compactor(Arc::downgrade(&backend));
                Ok(backend)
            }
            StorageBackend::Etcd3 => self.build_etcd().await,
        }
    }

    #[cfg(feature = "etcd")]
    async fn build_etcd(&self) -> Result<Arc<dyn Backend>> {
        let mut options = kapi_storage::etcd3::EtcdOptions::new(self.etcd_servers.clone());
        options.ca_file = self.etcd_cafile.clone();
        options.cert_file = self.etcd_certfile.clone();
        options.key_file = self.etcd_keyfile.clone();
        options.compaction_interval = self.etcd_compaction_interval;
        options.healthcheck_timeout = self.etcd_healthcheck_timeout;
        options.health_key = format!("{}/health", self.etcd_prefix.trim_end_matches('/'));
        Ok(Arc::new(
            kapi_storage::etcd3::EtcdBackend::connect(options).await?,
        ))
    }

    #[cfg(not(feature = "etcd"))]
    async fn build_etcd(&self) -> Result<Arc<dyn Backend>> {
        Err(Error::InvalidFlag {
            flag: "storage-backend",
            message: "this kapi was built without etcd3 support; rebuild with `--features etcd`"
                .to_owned(),
        })
    }
}

/// Applies the SQLite backend's compaction policy every minute, as
/// kube-apiserver's compactor does for etcd, until the backend is dropped.
fn spawn_sqlite_compactor(backend: std::sync::Weak<kapi_storage::sqlite::SqliteBackend>) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(60));
        loop {
            ticker.tick().await;
            let Some(backend) = backend.upgrade() else {
                return;
            };
            match backend.compact_by_policy().await {
                Ok(Some(revision)) => tracing::debug!(revision, "compacted sqlite history"),
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "sqlite compaction failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        storage: StorageOptions,
    }

    #[test]
    fn flags_parse_with_kube_apiserver_names() {
        let flags = Flags::parse_from([
            "kapi",
            "--storage-backend",
            "etcd3",
            "--etcd-servers",
            "http://127.0.0.1:2379,http://127.0.0.1:22379",
            "--etcd-compaction-interval",
            "1m",
            "--watch-cache=false",
            "--watch-cache-sizes",
            "configmaps#100,leases.coordination.k8s.io#0",
        ]);
        let storage = flags.storage;
        assert_eq!(storage.storage_backend, StorageBackend::Etcd3);
        assert_eq!(storage.etcd_servers.len(), 2);
        assert_eq!(storage.etcd_compaction_interval, Duration::from_secs(60));
        assert!(!storage.watch_cache);
        assert_eq!(
            storage.watch_cache_size_map().unwrap(),
            [
                ("configmaps".to_owned(), 100),
                ("leases.coordination.k8s.io".to_owned(), 0)
            ]
        );
        assert_eq!(
            Flags::parse_from(["kapi"]).storage.storage_backend,
            StorageBackend::Sqlite
        );
    }

    #[test]
    fn validation_names_the_flag() {
        let options = StorageOptions {
            storage_backend: StorageBackend::Etcd3,
            watch_cache_sizes: vec!["pods".to_owned()],
            ..StorageOptions::default()
        };
        let messages: Vec<String> = options.validate().iter().map(ToString::to_string).collect();
        assert!(
            messages
                .iter()
                .any(|m| m == "--etcd-servers: --etcd-servers must be specified"),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m == "--watch-cache-sizes: invalid value of watch cache size: pods"),
            "{messages:?}"
        );
    }

    #[tokio::test]
    async fn sqlite_is_opened_in_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let backend = StorageOptions::default().build(dir.path()).await.unwrap();
        assert_eq!(backend.name(), "sqlite");
        backend.check_health().await.unwrap();
        assert!(dir.path().join("kapi.db").exists());
    }
}
