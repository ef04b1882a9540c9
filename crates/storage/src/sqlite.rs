//! The SQLite backend: the durable default of `kapi serve`, one database
//! file in the data directory ([`DATABASE_FILE_NAME`]), written for
//! kapi's revisioned interface: a native revision log with real indexes.
//!
//! # Schema
//!
//! ```sql
//! -- One row per write; the revision is the row id, so the log is its own
//! -- primary index and revisions are dense and increasing.
//! kapi_log (revision INTEGER PRIMARY KEY, key BLOB, value BLOB NULL,
//!           create_revision INTEGER, prev_revision INTEGER)
//!   INDEX kapi_log_key_revision (key, revision)
//! -- The latest live version of each key: one row per existing key.
//! kapi_current (key BLOB PRIMARY KEY, revision INTEGER) WITHOUT ROWID
//! -- schema_version, current_revision, compacted_revision.
//! kapi_meta (name TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID
//! ```
//!
//! - A write is a `kapi_log` row: a put has the value, a delete has a NULL
//!   value (a deletion record). `create_revision` is the revision that
//!   created the key, `prev_revision` the revision of the version the write
//!   replaced or deleted (0 for a creation), which gives watch events their
//!   previous value with one primary-key lookup.
//! - Keys are stored as blobs of their UTF-8 bytes, so SQLite compares them
//!   bytewise (`memcmp`), exactly like etcd; a prefix is the interval
//!   `key >= prefix AND key < prefix_end(prefix)`.
//! - Reads of the latest state (the common "get" and "list under a prefix")
//!   are a range scan of `kapi_current`'s primary key joined to the log by
//!   revision. A read at an older revision `R` takes, per key of the
//!   interval, `max(revision)` among its rows at or below `R` from the
//!   covering `(key, revision)` index, and drops keys whose row there is a
//!   deletion record.
//! - A watch catching up reads `kapi_log` by revision (its primary key)
//!   and joins each row to its previous version.
//! - `kapi_meta` holds the current revision (so revisions keep increasing
//!   across restarts even when compaction removed the newest rows, which
//!   happens for deletion records) and the compacted revision. Each read
//!   reads them in the same transaction as its data, so it sees one
//!   consistent snapshot.
//!
//! Rows kapi did not write — a key that is not UTF-8 or is stored as text,
//! a value that is not a blob, a revision that is not a positive integer,
//! a current state pointing at a missing record — make the request that
//! meets them fail with [`Error::Corrupt`]; a file that is not a kapi
//! database (another application id, foreign tables, another schema
//! version) fails [`SqliteBackend::open`] with it.
//!
//! # Writes: one writer, group commit
//!
//! One thread owns the write connection. It takes every request queued
//! since its last commit (up to [`SqliteOptions::max_batch`]), applies them
//! in arrival order in one transaction — each compare-and-swap evaluated
//! against the state including the earlier writes of the group, each
//! successful write with its own revision — and commits once, so many
//! concurrent writers share one fsync. Then it publishes the group's events
//! to the watchers and answers each caller. Reads run on tokio's blocking
//! threads over a small pool of read connections; WAL mode lets them
//! proceed while the writer writes. Async callers never block the runtime.
//! A lock file next to the database (`<file>.lock`) keeps a second process
//! from opening the same database.
//! Dropping the backend lets the writer finish the requests already queued
//! and waits for it (at most one group commit), so the file can be reopened
//! at once.
//!
//! # Durability contract
//!
//! A write is acknowledged (its future resolves) only after its transaction
//! has committed. The database runs in WAL mode:
//! - with [`Synchronous::Full`] (the default) the commit returns after the
//!   write-ahead log is fsynced, so an acknowledged write survives the
//!   process being killed (`kill -9`) and an operating-system crash or power
//!   loss, as far as the file system and disk honour fsync;
//! - with [`Synchronous::Normal`] an acknowledged write survives the process
//!   being killed (it is in the operating system's page cache), but the
//!   last commits before a power loss or OS crash may be lost; the database
//!   stays consistent either way.
//!
//! Revisions of acknowledged writes are never reused: after a restart the
//! next write gets a revision above every acknowledged one.
//!
//! # Watches
//!
//! Watches are fed in-process from committed groups, not by polling: a
//! watch subscribes to the writer's hub first, reads the history from its
//! start revision up to the revision the hub had published when it
//! subscribed, then delivers live events above that revision — no gap, no
//! duplicate. The hub keeps at most [`SqliteOptions::watch_buffer`] groups
//! for its slowest watcher, and each watch stream buffers a few responses:
//! memory never grows with a slow watcher. A watcher that falls further
//! behind subscribes again and catches up from the log (disk reads, not
//! memory); if the history it needs was compacted meanwhile it ends with
//! [`Error::Compacted`], and a closed backend ends it with
//! [`Error::Unavailable`].
//!
//! # Compaction
//!
//! [`Backend::compact`] at revision `r` deletes every log row superseded at
//! or before `r` and every deletion record at or before `r`; the latest
//! version of each key is never deleted, so the current state and reads at
//! revisions `>= r` are unchanged. Reads below `r`, and watches from `r` or
//! below, fail with [`Error::Compacted`]. The server calls
//! [`SqliteBackend::compact_by_policy`] periodically to apply
//! [`SqliteOptions::compaction`]. Compaction frees pages inside the file
//! for reuse; it does not shrink the file.

mod reader;
mod schema;
mod watch;
mod writer;

use std::collections::VecDeque;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::backend::{Backend, RangeRequest, RangeResponse, TxnOutcome, WatchStream};
use crate::error::{Error, Result};

use self::reader::ReadPool;
use self::watch::{Hub, WatchTask};
use self::writer::{Committed, Request, Write, Writer};

/// The database's file name inside `kapi serve`'s data directory.
pub const DATABASE_FILE_NAME: &str = "kapi.db";

/// How SQLite syncs commits to disk (`PRAGMA synchronous`), in WAL mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync the log at every commit: acknowledged writes survive power loss.
    #[default]
    Full,
    /// fsync only at checkpoints: acknowledged writes survive a killed
    /// process, the last ones may be lost on power loss.
    Normal,
}

/// When [`SqliteBackend::compact_by_policy`] compacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompactionPolicy {
    /// Never; only explicit [`Backend::compact`] calls compact.
    Never,
    /// Keep the last `n` revisions: compact at `current - n`.
    KeepRevisions(u64),
    /// Keep at least this long a window of history: each call compacts at
    /// the newest revision seen by an earlier call at least this long ago
    /// (like kube-apiserver's etcd compactor, which compacts every interval
    /// at the revision it saw one interval before).
    KeepFor(Duration),
}

impl Default for CompactionPolicy {
    /// Five minutes of history, kube-apiserver's compaction interval.
    fn default() -> Self {
        CompactionPolicy::KeepFor(Duration::from_secs(300))
    }
}

/// How to open a [`SqliteBackend`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// How commits are synced to disk (default: [`Synchronous::Full`]).
    pub synchronous: Synchronous,
    /// How often a watch with `progress_notify` sends a progress
    /// notification while nothing else was sent (default: 5 s).
    pub progress_interval: Duration,
    /// The policy [`SqliteBackend::compact_by_policy`] applies.
    pub compaction: CompactionPolicy,
    /// The most writes committed in one transaction (default: 1024).
    pub max_batch: usize,
    /// Read connections kept open between reads (default: 4).
    pub read_connections: usize,
    /// Committed groups kept in memory for the slowest watcher; one that
    /// falls further behind catches up from the log (default: 1024).
    pub watch_buffer: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::Full,
            progress_interval: Duration::from_secs(5),
            compaction: CompactionPolicy::default(),
            max_batch: 1024,
            read_connections: 4,
            watch_buffer: 1024,
        }
    }
}

impl SqliteOptions {
    /// Sets [`synchronous`](Self::synchronous).
    pub fn with_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// Sets [`progress_interval`](Self::progress_interval).
    pub fn with_progress_interval(mut self, progress_interval: Duration) -> Self {
        self.progress_interval = progress_interval;
        self
    }

    /// Sets [`compaction`](Self::compaction).
    pub fn with_compaction(mut self, compaction: CompactionPolicy) -> Self {
        self.compaction = compaction;
        self
    }

    /// Sets [`max_batch`](Self::max_batch).
    pub fn with_max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch;
        self
    }

    /// Sets [`read_connections`](Self::read_connections).
    pub fn with_read_connections(mut self, read_connections: usize) -> Self {
        self.read_connections = read_connections;
        self
    }

    /// Sets [`watch_buffer`](Self::watch_buffer).
    pub fn with_watch_buffer(mut self, watch_buffer: usize) -> Self {
        self.watch_buffer = watch_buffer;
        self
    }
}

/// The SQLite backend (see the [module documentation](self)).
pub struct SqliteBackend {
    path: PathBuf,
    options: SqliteOptions,
    requests: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
    committed: Arc<Committed>,
    reads: Arc<ReadPool>,
    hub: Arc<Hub>,
    /// `(when, revision)` seen by earlier `compact_by_policy` calls.
    samples: Mutex<VecDeque<(Instant, i64)>>,
}

impl fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteBackend")
            .field("path", &self.path)
            .field("options", &self.options)
            .field("revision", &self.committed.current.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl SqliteBackend {
    /// Opens (creating it and its directory when missing) the database at
    /// `path`, and starts its writer thread. Blocking: call it at startup or
    /// from `spawn_blocking`.
    ///
    /// Errors: `Unavailable` when another process has it open, `Corrupt`
    /// when the file is not a kapi database.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Backend(Box::new(e)))?;
        }
        let lock = lock_file(&path)?;
        let (conn, meta) = schema::open_writer(&path, options.synchronous)?;
        let committed = Arc::new(Committed::default());
        committed.current.store(meta.current, Ordering::SeqCst);
        committed.compacted.store(meta.compacted, Ordering::SeqCst);
        let hub = Arc::new(Hub::new(meta.current, options.watch_buffer));
        let max_batch = options.max_batch.max(1);
        let (requests, queue) = mpsc::channel(max_batch * 4);
        let writer = Writer {
            conn,
            meta,
            committed: Arc::clone(&committed),
            hub: Arc::clone(&hub),
            max_batch,
            _lock: lock,
        };
        let writer = std::thread::Builder::new()
            .name("kapi-sqlite-writer".to_owned())
            .spawn(move || writer.run(queue))
            .map_err(|e| Error::Backend(Box::new(e)))?;
        tracing::info!(path = %path.display(), revision = meta.current, "sqlite storage opened");
        Ok(SqliteBackend {
            reads: Arc::new(ReadPool::new(path.clone(), options.read_connections)),
            path,
            options,
            requests: Some(requests),
            writer: Some(writer),
            committed,
            hub,
            samples: Mutex::new(VecDeque::new()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies [`SqliteOptions::compaction`]: compacts when the policy says
    /// so and returns the revision compacted at (`None`: nothing to do).
    /// The server calls it periodically (every minute or so).
    pub async fn compact_by_policy(&self) -> Result<Option<i64>> {
        let current = self.committed.current.load(Ordering::SeqCst);
        let compacted = self.committed.compacted.load(Ordering::SeqCst);
        let target = match self.options.compaction {
            CompactionPolicy::Never => None,
            CompactionPolicy::KeepRevisions(n) => {
                Some(current.saturating_sub(i64::try_from(n).unwrap_or(i64::MAX)))
            }
            CompactionPolicy::KeepFor(window) => {
                let now = Instant::now();
                let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
                samples.push_back((now, current));
                let mut target = None;
                while let Some(&(at, revision)) = samples.front() {
                    if now.duration_since(at) < window {
                        break;
                    }
                    target = Some(revision);
                    samples.pop_front();
                }
                target
            }
        };
        match target {
            Some(revision) if revision > compacted => {
                self.compact(revision).await?;
                Ok(Some(revision))
            }
            _ => Ok(None),
        }
    }

    async fn submit<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<Result<T>>) -> Request,
    ) -> Result<T> {
        let stopped = || Error::Unavailable("the sqlite writer has stopped".to_owned());
        let requests = self.requests.as_ref().ok_or_else(stopped)?;
        let (reply, answer) = oneshot::channel();
        requests.send(request(reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn write(&self, write: Write) -> Result<TxnOutcome> {
        self.submit(|reply| Request::Write { write, reply }).await
    }
}

impl Drop for SqliteBackend {
    /// Stops the writer after the requests already queued, and waits for it
    /// so the database can be reopened at once.
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("the sqlite writer thread panicked");
        }
    }
}

#[async_trait::async_trait]
impl Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        self.reads
            .run(move |conn| reader::range(conn, &request))
            .await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<TxnOutcome> {
        let key = valid_key(key)?;
        self.write(Write::Create { key, value }).await
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: i64,
    ) -> Result<TxnOutcome> {
        let key = valid_key(key)?;
        self.write(Write::Update {
            key,
            value,
            expected: expected_mod_revision,
        })
        .await
    }

    async fn delete(&self, key: &str, expected_mod_revision: i64) -> Result<TxnOutcome> {
        let key = valid_key(key)?;
        self.write(Write::Delete {
            key,
            expected: expected_mod_revision,
        })
        .await
    }

    async fn current_revision(&self) -> Result<i64> {
        Ok(self.committed.current.load(Ordering::SeqCst))
    }

    fn knows_current_revision(&self) -> bool {
        true
    }

    async fn watch(
        &self,
        prefix: &str,
        start_revision: i64,
        progress_notify: bool,
    ) -> Result<WatchStream> {
        if start_revision < 0 {
            return Err(Error::InvalidRequest(format!(
                "negative start revision {start_revision}"
            )));
        }
        let (live, subscribed_at) = self.hub.subscribe();
        let compacted = self.committed.compacted.load(Ordering::SeqCst);
        if start_revision != 0 && start_revision <= compacted {
            return Err(Error::Compacted {
                requested: start_revision,
                compacted,
            });
        }
        let (out, stream) = mpsc::channel(16);
        let task = WatchTask {
            reads: Arc::clone(&self.reads),
            hub: Arc::clone(&self.hub),
            live,
            subscribed_at,
            prefix: prefix.to_owned(),
            start_revision,
            progress: progress_notify.then_some(self.options.progress_interval),
            out,
        };
        tokio::spawn(task.run());
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(
            stream,
        )))
    }

    async fn request_progress(&self) -> Result<()> {
        self.submit(|reply| Request::Progress { reply }).await
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        self.submit(|reply| Request::Compact { revision, reply })
            .await
    }

    async fn compacted_revision(&self) -> Result<i64> {
        Ok(self.committed.compacted.load(Ordering::SeqCst))
    }

    async fn check_health(&self) -> Result<()> {
        if self.requests.as_ref().is_none_or(mpsc::Sender::is_closed) {
            return Err(Error::Unavailable(
                "the sqlite writer has stopped".to_owned(),
            ));
        }
        self.reads
            .run(|conn| schema::read_meta(conn).map(drop))
            .await
    }
}

/// Rejects the empty key (as etcd does) and takes ownership.
fn valid_key(key: &str) -> Result<String> {
    if key.is_empty() {
        return Err(Error::InvalidRequest("empty key".to_owned()));
    }
    Ok(key.to_owned())
}

/// Takes the exclusive lock on `<path>.lock`, held by the writer thread.
fn lock_file(path: &Path) -> Result<File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(|e| Error::Backend(Box::new(e)))?;
    file.try_lock().map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => {
            Error::Unavailable(format!("{} is in use by another process", path.display()))
        }
        std::fs::TryLockError::Error(e) => Error::Backend(Box::new(e)),
    })?;
    Ok(file)
}
