//! The etcd3 backend: [`EtcdBackend`] maps the revisioned key-value
//! [`Backend`] onto etcd's v3 API one to one (etcd's KV model is the model of
//! the trait), plus kube-apiserver's periodic compaction and health probe.
//!
//! Mirrors `k8s.io/apiserver/pkg/storage/etcd3` (the store, the watcher and
//! `compact.go`) and the etcd half of `pkg/storage/storagebackend/factory`.
//!
//! - **Reads** are etcd Range requests (linearizable). A compacted revision
//!   gives [`Error::Compacted`], a future one [`Error::FutureRevision`].
//! - **Writes** are transactions comparing the key's modification revision
//!   (a create compares its creation revision with 0); the failure branch
//!   reads the key so a conflict returns the current value in one round trip,
//!   and the success branch asks for the previous value.
//! - **Watches** are one etcd watch each (on its own gRPC stream), with the
//!   previous value and, when asked, progress notifications.
//!   [`Backend::request_progress`] sends etcd's `WatchProgressRequest` on
//!   every open watch stream.
//! - **Compaction** runs in the background every
//!   [`EtcdOptions::compaction_interval`], as kube-apiserver's compactor does:
//!   each interval it compacts to the revision it saw one interval earlier,
//!   and several servers sharing one etcd coordinate through a
//!   compare-and-swap on the key `compact_rev_key`, so at most one compacts
//!   per interval.
//! - **Failures**: every request is bounded by
//!   [`EtcdOptions::request_timeout`]; when etcd cannot be reached it fails
//!   with [`Error::Unavailable`] instead of hanging. The client reconnects by
//!   itself, so the same backend serves again once etcd is back. An open
//!   watch does not survive the connection: its stream ends with
//!   `Unavailable`, and the caller watches again from the revision after the
//!   last one it saw (as Kubernetes' reflectors do), getting `Compacted` when
//!   that revision is gone.
//!
//! etcd 3.4 caveat: the progress notifications of etcd before 3.4.31 (and
//! 3.5.13) may be sent before every event up to their revision has been
//! delivered, and a `WatchProgressRequest` is answered on the stream rather
//! than per watch; kube-apiserver only trusts progress notifications for
//! consistent reads from its cache on the fixed releases. Debian's
//! etcd-server is 3.4.23. etcd's periodic progress notifications come every
//! 10 minutes unless etcd runs with
//! `--experimental-watch-progress-notify-interval`.

mod compactor;
mod watch;

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, DeleteOptions, GetOptions, Identity,
    PutOptions, TlsOptions, Txn, TxnOp, TxnOpResponse,
};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::backend::{
    Backend, KeyValue, RangeRequest, RangeResponse, TxnOutcome, WatchStream, prefix_end,
};
use crate::error::{Error, Result};

/// How to reach etcd and how to run against it (kube-apiserver's
/// `--etcd-*` flags).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EtcdOptions {
    /// The etcd client URLs (`--etcd-servers`), e.g. `http://127.0.0.1:2379`.
    /// `https://` URLs use TLS with the files below.
    pub servers: Vec<String>,
    /// A namespace prepended to every key this backend reads, writes and
    /// watches, and stripped from the keys it returns; empty by default.
    ///
    /// This is not `--etcd-prefix`: the Kubernetes layer puts that prefix
    /// (`/registry`) into the keys it passes, as kube-apiserver's key layout
    /// does. The namespace lets several independent stores share one etcd
    /// (etcd's `--namespace` proxy option); revisions stay etcd-wide.
    pub key_prefix: String,
    /// The CA bundle that verifies etcd's serving certificate
    /// (`--etcd-cafile`).
    pub ca_file: Option<PathBuf>,
    /// The client certificate presented to etcd (`--etcd-certfile`).
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (`--etcd-keyfile`).
    pub key_file: Option<PathBuf>,
    /// How long connecting to an etcd server may take (kube-apiserver: 20s).
    pub dial_timeout: Duration,
    /// The bound on every request; past it the request fails with
    /// [`Error::Unavailable`].
    pub request_timeout: Duration,
    /// How often to compact (`--etcd-compaction-interval`, default 5m);
    /// zero disables compaction by this backend.
    pub compaction_interval: Duration,
    /// The bound on one health probe (`--etcd-healthcheck-timeout`, 2s).
    pub healthcheck_timeout: Duration,
    /// The key the health probe reads (kube-apiserver reads
    /// `/<etcd-prefix>/health`, i.e. `/registry/health`).
    pub health_key: String,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        EtcdOptions {
            servers: Vec::new(),
            key_prefix: String::new(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            dial_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            compaction_interval: Duration::from_secs(5 * 60),
            healthcheck_timeout: Duration::from_secs(2),
            health_key: "/registry/health".to_owned(),
        }
    }
}

impl EtcdOptions {
    /// Options for `servers` with every other field at its default.
    pub fn new(servers: impl IntoIterator<Item = impl Into<String>>) -> Self {
        EtcdOptions {
            servers: servers.into_iter().map(Into::into).collect(),
            ..EtcdOptions::default()
        }
    }
}

/// The [`Backend`] over a real etcd (v3 API, etcd 3.4 or newer).
///
/// Dropping it stops its compactor and ends its watches.
///
/// ```no_run
/// # async fn demo() -> kapi_storage::Result<()> {
/// use std::time::Duration;
///
/// use kapi_storage::Backend;
/// use kapi_storage::etcd3::{EtcdBackend, EtcdOptions};
///
/// let mut options = EtcdOptions::new(["http://127.0.0.1:2379"]);
/// options.request_timeout = Duration::from_secs(10);
/// let backend = EtcdBackend::connect(options).await?;
/// backend.check_health().await?;
/// backend.create("/registry/widgets/default/a", "{}".into()).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct EtcdBackend {
    inner: Inner,
    /// Stops the compactor and every watch task when the backend is dropped.
    _stop: DropGuard,
}

/// What the request paths share (cheap to clone into tasks).
#[derive(Clone)]
pub(crate) struct Inner {
    client: Client,
    key_prefix: String,
    request_timeout: Duration,
    healthcheck_timeout: Duration,
    health_key: String,
    /// Bumped by `request_progress`; every watch task sends a
    /// `WatchProgressRequest` when it changes.
    progress: tokio::sync::watch::Sender<u64>,
    stop: CancellationToken,
    /// The highest compacted revision this process has seen.
    compacted: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdBackend")
            .field("key_prefix", &self.key_prefix)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl EtcdBackend {
    /// Builds the client and starts the compactor. Connecting is lazy: this
    /// succeeds while etcd is down (requests then fail with
    /// [`Error::Unavailable`] until it is up), and fails only on bad options
    /// (no servers, a malformed URL, unreadable TLS files).
    pub async fn connect(options: EtcdOptions) -> Result<EtcdBackend> {
        if options.servers.is_empty() {
            return Err(Error::InvalidRequest("no etcd servers given".into()));
        }
        let mut connect = ConnectOptions::new()
            .with_connect_timeout(options.dial_timeout)
            .with_timeout(options.request_timeout)
            // kube-apiserver's keepalive: ping every 30s, give up after 10s.
            .with_keep_alive(Duration::from_secs(30), Duration::from_secs(10))
            .with_require_leader(true);
        if let Some(tls) = tls_options(&options)? {
            connect = connect.with_tls(tls);
        }
        let client = Client::connect(&options.servers, Some(connect))
            .await
            .map_err(map_error)?;
        let stop = CancellationToken::new();
        let inner = Inner {
            client,
            key_prefix: options.key_prefix,
            request_timeout: options.request_timeout,
            healthcheck_timeout: options.healthcheck_timeout,
            health_key: options.health_key,
            progress: tokio::sync::watch::Sender::new(0),
            stop: stop.clone(),
            compacted: Default::default(),
        };
        if !options.compaction_interval.is_zero() {
            tokio::spawn(compactor::run(inner.clone(), options.compaction_interval));
        }
        Ok(EtcdBackend {
            inner,
            _stop: stop.drop_guard(),
        })
    }

    /// The etcd client underneath, for tools that need what the [`Backend`]
    /// does not offer (benchmarks use its raw puts as their baseline). Keys
    /// written through it bypass [`EtcdOptions::key_prefix`].
    pub fn client(&self) -> &Client {
        &self.inner.client
    }
}

#[async_trait::async_trait]
impl Backend for EtcdBackend {
    fn name(&self) -> &'static str {
        "etcd3"
    }

    async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        self.inner.range(request).await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<TxnOutcome> {
        let full = self.inner.full_key(key)?;
        let txn = Txn::new()
            .when([Compare::create_revision(full.clone(), CompareOp::Equal, 0)])
            // No previous value to ask for: the key does not exist.
            .and_then([TxnOp::put(full.clone(), value.to_vec(), None)])
            .or_else([TxnOp::get(full, None)]);
        self.inner.txn(key, txn).await
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: i64,
    ) -> Result<TxnOutcome> {
        let full = self.inner.full_key(key)?;
        let txn = Txn::new()
            .when(exists_at(&full, expected_mod_revision))
            .and_then([TxnOp::put(
                full.clone(),
                value.to_vec(),
                Some(PutOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(full, None)]);
        self.inner.txn(key, txn).await
    }

    async fn delete(&self, key: &str, expected_mod_revision: i64) -> Result<TxnOutcome> {
        let full = self.inner.full_key(key)?;
        let txn = Txn::new()
            .when(exists_at(&full, expected_mod_revision))
            .and_then([TxnOp::delete(
                full.clone(),
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(full, None)]);
        self.inner.txn(key, txn).await
    }

    async fn current_revision(&self) -> Result<i64> {
        self.inner.current_revision().await
    }

    async fn watch(
        &self,
        prefix: &str,
        start_revision: i64,
        progress_notify: bool,
    ) -> Result<WatchStream> {
        watch::start(&self.inner, prefix, start_revision, progress_notify).await
    }

    async fn request_progress(&self) -> Result<()> {
        self.inner.progress.send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        if revision <= 0 {
            return Ok(());
        }
        let mut kv = self.inner.client.kv_client();
        match self
            .inner
            .bounded(self.inner.request_timeout, kv.compact(revision, None))
            .await
        {
            Ok(_) => {
                self.inner.saw_compaction(revision);
                Ok(())
            }
            // Compacting at or below the compacted revision is a no-op.
            Err(Error::Compacted { .. }) => Ok(()),
            Err(Error::FutureRevision { .. }) => Err(Error::FutureRevision {
                requested: revision,
                current: self.inner.current_revision().await?,
            }),
            Err(err) => Err(err),
        }
    }

    async fn compacted_revision(&self) -> Result<i64> {
        self.inner.compacted_revision().await
    }

    async fn check_health(&self) -> Result<()> {
        let mut kv = self.inner.client.kv_client();
        let key = format!("{}{}", self.inner.key_prefix, self.inner.health_key);
        let probe = kv.get(key, Some(GetOptions::new().with_count_only()));
        match tokio::time::timeout(self.inner.healthcheck_timeout, probe).await {
            Ok(Ok(_)) => Ok(()),
            // kube-apiserver counts "permission denied" as healthy: etcd
            // answered, the health key is just not readable by this user.
            Ok(Err(etcd_client::Error::GRpcStatus(status)))
                if status.code() == tonic::Code::PermissionDenied =>
            {
                Ok(())
            }
            Ok(Err(err)) => Err(Error::Unavailable(format!(
                "etcd health check failed: {err}"
            ))),
            Err(_) => Err(Error::Unavailable(format!(
                "etcd health check timed out after {:?}",
                self.inner.healthcheck_timeout
            ))),
        }
    }
}

impl Inner {
    /// The etcd key for `key`, after checking it is not empty.
    fn full_key(&self, key: &str) -> Result<String> {
        if key.is_empty() {
            return Err(Error::InvalidRequest("empty key".into()));
        }
        Ok(format!("{}{key}", self.key_prefix))
    }

    /// Runs `request` within `timeout`, mapping etcd's errors.
    async fn bounded<T>(
        &self,
        timeout: Duration,
        request: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T> {
        match tokio::time::timeout(timeout, request).await {
            Ok(result) => result.map_err(map_error),
            Err(_) => Err(Error::Unavailable(format!(
                "etcd request timed out after {timeout:?}"
            ))),
        }
    }

    async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        let RangeRequest {
            key,
            prefix,
            start_key,
            revision,
            limit,
            count_only,
        } = request;
        if key.is_empty() && !prefix {
            return Err(Error::InvalidRequest("empty key".into()));
        }
        if revision < 0 || limit < 0 {
            return Err(Error::InvalidRequest(format!(
                "negative revision {revision} or limit {limit}"
            )));
        }
        let full_prefix = format!("{}{key}", self.key_prefix);
        let mut options = GetOptions::new().with_revision(revision).with_limit(limit);
        if count_only {
            options = options.with_count_only();
        }
        let start = if prefix {
            // etcd reads "every key from here on" for the range end "\0".
            options = options.with_range(prefix_end(&full_prefix).unwrap_or_else(|| vec![0]));
            match start_key {
                Some(start) if !start.starts_with(&key) => {
                    return Err(Error::InvalidRequest(format!(
                        "start key {start:?} is not under the prefix {key:?}"
                    )));
                }
                Some(start) => format!("{}{start}", self.key_prefix),
                None => full_prefix,
            }
        } else {
            full_prefix
        };
        let mut kv = self.client.kv_client();
        let mut response = match self
            .bounded(self.request_timeout, kv.get(start, Some(options)))
            .await
        {
            Ok(response) => response,
            Err(err) => return Err(self.explain(err, revision).await),
        };
        let kvs = response
            .take_kvs()
            .into_iter()
            .map(|kv| self.key_value(kv))
            .collect::<Result<Vec<_>>>()?;
        Ok(RangeResponse {
            kvs,
            more: response.more(),
            count: response.count(),
            revision: if revision > 0 {
                revision
            } else {
                header_revision(response.header())
            },
        })
    }

    async fn txn(&self, key: &str, txn: Txn) -> Result<TxnOutcome> {
        let mut kv = self.client.kv_client();
        let response = self.bounded(self.request_timeout, kv.txn(txn)).await?;
        let revision = header_revision(response.header());
        let op = response.op_responses().into_iter().next();
        if response.succeeded() {
            let prev = match op {
                Some(TxnOpResponse::Put(mut put)) => put.take_prev_key(),
                Some(TxnOpResponse::Delete(mut delete)) => {
                    delete.take_prev_kvs().into_iter().next()
                }
                _ => None,
            };
            Ok(TxnOutcome::Succeeded {
                revision,
                prev: prev.map(|kv| self.key_value(kv)).transpose()?,
            })
        } else {
            let current = match op {
                Some(TxnOpResponse::Get(mut get)) => get.take_kvs().into_iter().next(),
                _ => {
                    return Err(Error::Corrupt {
                        key: key.to_owned(),
                        message: "etcd answered a failed transaction without its read".into(),
                    });
                }
            };
            Ok(TxnOutcome::Failed {
                current: current.map(|kv| self.key_value(kv)).transpose()?,
            })
        }
    }

    async fn current_revision(&self) -> Result<i64> {
        let mut kv = self.client.kv_client();
        let options = GetOptions::new().with_count_only().with_limit(1);
        let key = format!("{}{}", self.key_prefix, self.health_key);
        let response = self
            .bounded(self.request_timeout, kv.get(key, Some(options)))
            .await?;
        Ok(header_revision(response.header()))
    }

    /// The compacted revision. etcd has no call that just tells it (`HashKV`
    /// does, but walks the whole key space), so this bisects with reads of
    /// one key at a revision, which fail below the compacted revision: one
    /// read when nobody compacted past what this process saw (its own
    /// compactions, the compactor's shared key, watch cancellations), about
    /// log2(current revision) reads otherwise.
    async fn compacted_revision(&self) -> Result<i64> {
        let known = self.compacted.load(std::sync::atomic::Ordering::Relaxed);
        let mut unreadable = known.max(1);
        if self.readable_at(unreadable).await? {
            return Ok(known);
        }
        // Reads at the current revision always work.
        let mut readable = self.current_revision().await?;
        while readable - unreadable > 1 {
            let middle = unreadable + (readable - unreadable) / 2;
            if self.readable_at(middle).await? {
                readable = middle;
            } else {
                unreadable = middle;
            }
        }
        self.saw_compaction(readable);
        Ok(self.compacted.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Whether etcd still serves reads at `revision` (not compacted away).
    async fn readable_at(&self, revision: i64) -> Result<bool> {
        let mut kv = self.client.kv_client();
        let key = format!("{}{}", self.key_prefix, self.health_key);
        let options = GetOptions::new()
            .with_revision(revision)
            .with_count_only()
            .with_limit(1);
        match self
            .bounded(self.request_timeout, kv.get(key, Some(options)))
            .await
        {
            Ok(_) | Err(Error::FutureRevision { .. }) => Ok(true),
            Err(Error::Compacted { .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    fn saw_compaction(&self, revision: i64) {
        self.compacted
            .fetch_max(revision, std::sync::atomic::Ordering::Relaxed);
    }

    /// Fills in the revisions etcd's errors leave out: the compacted revision
    /// for `Compacted`, the current one for `FutureRevision`.
    async fn explain(&self, err: Error, requested: i64) -> Error {
        match err {
            Error::Compacted { .. } => {
                let compacted = match self.compacted_revision().await {
                    Ok(compacted) => compacted,
                    Err(_) => self.compacted.load(std::sync::atomic::Ordering::Relaxed),
                };
                Error::Compacted {
                    requested,
                    compacted,
                }
            }
            Error::FutureRevision { .. } => match self.current_revision().await {
                Ok(current) => Error::FutureRevision { requested, current },
                Err(err) => err,
            },
            err => err,
        }
    }

    /// Converts etcd's key-value, stripping the key namespace.
    fn key_value(&self, kv: etcd_client::KeyValue) -> Result<KeyValue> {
        let (create_revision, mod_revision) = (kv.create_revision(), kv.mod_revision());
        let (key, value) = kv.into_key_value();
        Ok(KeyValue {
            key: self.strip_key(key)?,
            value: Bytes::from(value),
            create_revision,
            mod_revision,
        })
    }

    fn strip_key(&self, key: Vec<u8>) -> Result<String> {
        let key = String::from_utf8(key).map_err(|err| Error::Corrupt {
            key: String::from_utf8_lossy(err.as_bytes()).into_owned(),
            message: "the key is not UTF-8".into(),
        })?;
        match key.strip_prefix(&self.key_prefix) {
            Some(stripped) => Ok(stripped.to_owned()),
            None => Err(Error::Corrupt {
                message: format!("the key is outside the namespace {:?}", self.key_prefix),
                key,
            }),
        }
    }
}

/// The comparisons of an update or delete: the key exists and was last
/// modified at `expected` (etcd compares a missing key as revision 0, so the
/// version check keeps `expected == 0` from matching an absent key).
fn exists_at(key: &str, expected: i64) -> [Compare; 2] {
    [
        Compare::version(key, CompareOp::Greater, 0),
        Compare::mod_revision(key, CompareOp::Equal, expected),
    ]
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> i64 {
    header.map_or(0, |header| header.revision())
}

/// Maps an etcd client error onto the storage error.
pub(crate) fn map_error(err: etcd_client::Error) -> Error {
    use tonic::Code;
    match err {
        etcd_client::Error::GRpcStatus(status) => {
            let message = status.message();
            // The requested revisions are filled in by the caller.
            if message.contains("required revision has been compacted") {
                return Error::Compacted {
                    requested: 0,
                    compacted: 0,
                };
            }
            if message.contains("required revision is a future revision") {
                return Error::FutureRevision {
                    requested: 0,
                    current: 0,
                };
            }
            match status.code() {
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
                    Error::Unavailable(format!("etcd: {message}"))
                }
                Code::InvalidArgument | Code::OutOfRange => {
                    Error::InvalidRequest(format!("etcd: {message}"))
                }
                _ => Error::Backend(Box::new(etcd_client::Error::GRpcStatus(status))),
            }
        }
        etcd_client::Error::TransportError(err) => {
            Error::Unavailable(format!("etcd transport: {err}"))
        }
        etcd_client::Error::IoError(err) => Error::Unavailable(format!("etcd i/o: {err}")),
        etcd_client::Error::InvalidArgs(message) | etcd_client::Error::EndpointError(message) => {
            Error::InvalidRequest(format!("etcd: {message}"))
        }
        etcd_client::Error::InvalidUri(err) => {
            Error::InvalidRequest(format!("invalid etcd server URL: {err}"))
        }
        other => Error::Backend(Box::new(other)),
    }
}

/// The TLS settings for `https://` servers, from the PEM files.
fn tls_options(options: &EtcdOptions) -> Result<Option<TlsOptions>> {
    let read = |path: &PathBuf| {
        std::fs::read(path)
            .map_err(|err| Error::InvalidRequest(format!("reading {}: {err}", path.display())))
    };
    let mut tls = TlsOptions::new();
    let mut any = false;
    if let Some(ca) = &options.ca_file {
        tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
        any = true;
    }
    match (&options.cert_file, &options.key_file) {
        (Some(cert), Some(key)) => {
            tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            any = true;
        }
        (None, None) => {}
        _ => {
            return Err(Error::InvalidRequest(
                "the etcd client certificate and key must be given together".into(),
            ));
        }
    }
    let https = options
        .servers
        .iter()
        .any(|server| server.starts_with("https://"));
    Ok((any || https).then_some(tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kind of storage error an etcd error becomes.
    fn kind(err: &Error) -> &'static str {
        match err {
            Error::Compacted { .. } => "compacted",
            Error::FutureRevision { .. } => "future",
            Error::Unavailable(_) => "unavailable",
            Error::InvalidRequest(_) => "invalid",
            Error::Backend(_) => "backend",
            _ => "other",
        }
    }

    #[test]
    fn etcd_errors_map_onto_storage_errors() {
        let check = |status: tonic::Status, expected: &str| {
            let shown = status.to_string();
            let mapped = map_error(etcd_client::Error::GRpcStatus(status));
            assert_eq!(kind(&mapped), expected, "{shown} became {mapped:?}");
        };
        // The messages etcd sends (etcdserver/api/v3rpc/rpctypes).
        use tonic::{Code, Status};
        check(
            Status::new(
                Code::OutOfRange,
                "etcdserver: mvcc: required revision has been compacted",
            ),
            "compacted",
        );
        check(
            Status::new(
                Code::OutOfRange,
                "etcdserver: mvcc: required revision is a future revision",
            ),
            "future",
        );
        check(
            Status::new(Code::Unavailable, "etcdserver: no leader"),
            "unavailable",
        );
        check(
            Status::new(Code::Unavailable, "etcdserver: request timed out"),
            "unavailable",
        );
        check(
            Status::new(Code::DeadlineExceeded, "context deadline exceeded"),
            "unavailable",
        );
        check(
            Status::new(Code::Cancelled, "Timeout expired"),
            "unavailable",
        );
        check(
            Status::new(Code::Unknown, "tcp connect error"),
            "unavailable",
        );
        check(
            Status::new(Code::InvalidArgument, "etcdserver: key is not provided"),
            "invalid",
        );
        check(
            Status::new(
                Code::ResourceExhausted,
                "etcdserver: mvcc: database space exceeded",
            ),
            "backend",
        );
        check(
            Status::new(Code::PermissionDenied, "etcdserver: permission denied"),
            "backend",
        );
        assert_eq!(
            kind(&map_error(etcd_client::Error::IoError(
                std::io::ErrorKind::ConnectionRefused.into()
            ))),
            "unavailable"
        );
    }

    #[tokio::test]
    async fn bad_options_fail_at_connect() {
        let check = |options: EtcdOptions, expected: &'static str| async move {
            match EtcdBackend::connect(options).await {
                Err(Error::InvalidRequest(message)) => {
                    assert!(message.contains(expected), "{message:?} lacks {expected:?}")
                }
                other => {
                    panic!("expected an invalid request mentioning {expected:?}, got {other:?}")
                }
            }
        };
        check(EtcdOptions::default(), "no etcd servers").await;
        let mut options = EtcdOptions::new(["https://127.0.0.1:2379"]);
        options.cert_file = Some("/nonexistent/cert.pem".into());
        check(options, "given together").await;
        let mut options = EtcdOptions::new(["https://127.0.0.1:2379"]);
        options.ca_file = Some("/nonexistent/ca.pem".into());
        check(options, "/nonexistent/ca.pem").await;
    }
}
