//! The revisioned key-value interface every backend implements: a global,
//! monotonically increasing revision per store, compare-and-swap writes on a
//! key's modification revision, reads at a revision, and watches from a
//! revision. The Kubernetes semantics (objects, resourceVersion, selectors,
//! continue tokens, preconditions) are built once on top of it.
//!
//! The model is etcd's: every successful write bumps the store's revision by
//! one; a key remembers the revision that created it and the one that last
//! modified it; deleting a key is a write. Backends keep a window of history
//! (for reads at an old revision and for watches that start in the past)
//! until it is compacted.

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;

use crate::error::Result;

/// One key's value as of some revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The stored bytes.
    pub value: Bytes,
    /// The revision of the write that created the key (since its last deletion).
    pub create_revision: i64,
    /// The revision of the write that last modified it.
    pub mod_revision: i64,
}

/// A range read: one key, or every key under a prefix, as of a revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeRequest {
    /// The key, or the prefix when `prefix` is set.
    pub key: String,
    /// Read every key that starts with `key`.
    pub prefix: bool,
    /// With `prefix`: start at this key (inclusive) instead of at the prefix
    /// itself; it must start with the prefix. Used by continue tokens.
    pub start_key: Option<String>,
    /// Read as of this revision; 0 reads the latest state.
    pub revision: i64,
    /// Return at most this many keys (0: no limit).
    pub limit: i64,
    /// Return only the count, no key-values.
    pub count_only: bool,
}

/// What a range read returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeResponse {
    /// The key-values, sorted by key (bytewise), at most `limit`.
    pub kvs: Vec<KeyValue>,
    /// Whether more keys match beyond the ones returned.
    pub more: bool,
    /// How many keys match in all (from `start_key` on), ignoring `limit`.
    pub count: i64,
    /// The revision the read was served at: the requested one, or the
    /// store's current revision when 0 was asked.
    pub revision: i64,
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOutcome {
    /// The write happened at `revision`; `prev` is the value it replaced or
    /// deleted (`None` for a create).
    Succeeded {
        /// The revision of this write.
        revision: i64,
        /// The previous value.
        prev: Option<KeyValue>,
    },
    /// The condition did not hold; `current` is the key's current value
    /// (`None` when it does not exist), so callers can retry without a read.
    Failed {
        /// The current value.
        current: Option<KeyValue>,
    },
}

/// A change seen by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A key was created or modified: `kv.create_revision == kv.mod_revision`
    /// for a creation.
    Put {
        /// The new value.
        kv: KeyValue,
        /// The previous value, when the key existed.
        prev: Option<KeyValue>,
    },
    /// A key was deleted at `revision`; `prev` is its last value.
    Delete {
        /// The deleted key.
        key: String,
        /// The revision of the delete.
        revision: i64,
        /// The last value before the delete.
        prev: KeyValue,
    },
}

impl Event {
    /// The revision of the write that produced this event.
    pub fn revision(&self) -> i64 {
        match self {
            Event::Put { kv, .. } => kv.mod_revision,
            Event::Delete { revision, .. } => *revision,
        }
    }

    /// The key the event is about.
    pub fn key(&self) -> &str {
        match self {
            Event::Put { kv, .. } => &kv.key,
            Event::Delete { key, .. } => key,
        }
    }
}

/// One message of a watch stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchResponse {
    /// Events in revision order (a batch never splits one revision).
    Events(Vec<Event>),
    /// Every event up to and including `revision` has been delivered
    /// (sent periodically and on [`Backend::request_progress`]).
    Progress {
        /// The revision the watch has caught up to.
        revision: i64,
    },
}

/// A watch: a stream of responses, ending with an error when the watch
/// cannot continue (for example `Error::Compacted` when it fell behind).
/// Dropping it cancels the watch.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchResponse>> + Send + 'static>>;

/// The revisioned key-value store every backend implements.
///
/// Every method is cancel-safe: dropping a future before it completes either
/// leaves the write undone or done, never half-done.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// The backend's name: `memory`, `sqlite` or `etcd3`.
    fn name(&self) -> &'static str;

    /// Reads one key or a prefix, as of a revision.
    ///
    /// Errors: `Compacted` when `revision` is older than the compacted
    /// revision, `FutureRevision` when it is newer than the current one.
    async fn range(&self, request: RangeRequest) -> Result<RangeResponse>;

    /// Creates `key` if it does not exist.
    async fn create(&self, key: &str, value: Bytes) -> Result<TxnOutcome>;

    /// Replaces `key`'s value if its modification revision is still
    /// `expected_mod_revision`. A missing key never matches, not even
    /// `expected_mod_revision == 0` (where etcd's bare compare on the
    /// modification revision would succeed and create the key): the outcome
    /// is then `Failed { current: None }` and the revision does not move.
    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: i64,
    ) -> Result<TxnOutcome>;

    /// Deletes `key` if its modification revision is still
    /// `expected_mod_revision`. A missing key never matches (`Failed {
    /// current: None }`, no new revision), as for [`Backend::update`].
    async fn delete(&self, key: &str, expected_mod_revision: i64) -> Result<TxnOutcome>;

    /// The store's current revision (that of the last write; 0 when empty
    /// and never written). Backends may start above 0.
    async fn current_revision(&self) -> Result<i64>;

    /// Whether [`Backend::current_revision`] is known in this process,
    /// without a round trip (the embedded backends). A watch cache then
    /// serves consistent reads of single objects from memory once it has
    /// caught up with that revision; otherwise they go to the backend.
    fn knows_current_revision(&self) -> bool {
        false
    }

    /// Watches every key under `prefix` (a single key is a prefix too) for
    /// writes with revision `>= start_revision`; 0 means "from the next
    /// write on". With `progress_notify`, a `Progress` response is sent
    /// periodically while nothing happens.
    ///
    /// Errors (at once or as the stream's first item): `Compacted` when
    /// `start_revision` is at or below the compacted revision, with
    /// `requested: start_revision`. A watch of one key also sees keys it
    /// prefixes (`/a` sees `/ab`): callers wanting one key filter on it.
    async fn watch(
        &self,
        prefix: &str,
        start_revision: i64,
        progress_notify: bool,
    ) -> Result<WatchStream>;

    /// Asks every watch of this backend to send a `Progress` response as soon
    /// as it has delivered every event up to the current revision. The
    /// progress revision is at least the store's revision when this was
    /// called, even when the last writes were outside the watch's prefix
    /// (the watch cache relies on this for consistent reads).
    async fn request_progress(&self) -> Result<()>;

    /// Discards history older than `revision`: reads and watches at older
    /// revisions fail with `Compacted` afterwards. Compacting at or below the
    /// already compacted revision is a no-op.
    async fn compact(&self, revision: i64) -> Result<()>;

    /// The revision history was last compacted at (0: never).
    async fn compacted_revision(&self) -> Result<i64>;

    /// Checks the backend can serve requests (for `/readyz` and `/livez`).
    async fn check_health(&self) -> Result<()>;
}

/// The end of the range of keys that start with `prefix` (etcd's
/// `GetPrefixRangeEnd`): `prefix` with its last byte below 0xff incremented
/// and what follows dropped; `None` when every byte is 0xff (no end).
pub fn prefix_end(prefix: &str) -> Option<Vec<u8>> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}
