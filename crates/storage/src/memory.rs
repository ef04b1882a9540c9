//! The memory backend: an in-process MVCC store with bounded history, the
//! default of `kapi::testing` and of unit tests, and the reference the other
//! backends are compared against.
//!
//! State lives behind one `std::sync::Mutex`, held only for the few
//! microseconds a read or write takes and never across an `await`:
//!
//! - `current`: a `BTreeMap` from key to its latest [`KeyValue`];
//! - `history`: one event per revision, exactly the revisions
//!   `compacted + 1 ..= revision`, so the event of revision `r` sits at index
//!   `r - compacted - 1`. Each event carries the previous value, which is all
//!   a read in the past needs. When it holds more than
//!   [`MemoryOptions::history_limit`] events the oldest are dropped and the
//!   compacted revision moves up.
//!
//! A read at an old revision `r` walks the events newer than `r` once
//! (newest first), noting for every key in range the value it had at `r`,
//! and merges that small overlay with the current range: the cost is
//! O(keys in range + writes since `r`). A read at the current revision costs
//! O(keys in range); values are [`Bytes`], so copies share their buffer.
//!
//! Each watch has a bounded channel (capacity
//! [`MemoryOptions::watch_buffer`]); a write hands its event (one `Arc`,
//! shared by every watcher) to every live watch whose prefix matches, under
//! the same lock that assigns its revision, so live delivery is in order and
//! has no gaps. A watch whose channel is full is unregistered instead of
//! growing memory: once it has drained its buffer it catches up from the
//! history, in chunks, exactly as a watch that starts in the past does, and
//! registers again when it reaches the current revision. Only when the
//! history it needs has been compacted away does it end, with
//! [`Error::Compacted`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::backend::{
    Backend, Event, KeyValue, RangeRequest, RangeResponse, TxnOutcome, WatchResponse, WatchStream,
};
use crate::error::{Error, Result};

/// How many history events a catching-up watch copies per lock acquisition.
const CATCH_UP_CHUNK: usize = 1024;

/// The memory backend's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryOptions {
    /// How many events (one per revision) of history to keep for reads in
    /// the past and watches that start in the past; older history is
    /// compacted automatically. Default 10,000.
    pub history_limit: usize,
    /// How often a watch opened with `progress_notify` gets a `Progress`
    /// response while no event arrives. Default 5 s.
    pub progress_interval: Duration,
    /// How many undelivered events one watch may buffer before it is switched
    /// to catching up from the history. Default 1,024.
    pub watch_buffer: usize,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions {
            history_limit: 10_000,
            progress_interval: Duration::from_secs(5),
            watch_buffer: 1024,
        }
    }
}

impl MemoryOptions {
    /// Sets [`MemoryOptions::history_limit`].
    pub fn with_history_limit(mut self, history_limit: usize) -> Self {
        self.history_limit = history_limit;
        self
    }

    /// Sets [`MemoryOptions::progress_interval`].
    pub fn with_progress_interval(mut self, progress_interval: Duration) -> Self {
        self.progress_interval = progress_interval;
        self
    }

    /// Sets [`MemoryOptions::watch_buffer`] (at least 1).
    pub fn with_watch_buffer(mut self, watch_buffer: usize) -> Self {
        self.watch_buffer = watch_buffer.max(1);
        self
    }
}

/// An in-process [`Backend`] with MVCC and bounded history. Cloning it gives
/// another handle on the same store.
///
/// ```
/// # tokio_test_block(async {
/// use kapi_storage::memory::MemoryBackend;
/// use kapi_storage::{Backend, TxnOutcome};
///
/// let backend = MemoryBackend::new();
/// let outcome = backend.create("/registry/pods/default/a", "{}".into()).await?;
/// assert!(matches!(outcome, TxnOutcome::Succeeded { revision: 1, prev: None }));
/// # Ok::<_, kapi_storage::Error>(())
/// # });
/// # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MemoryBackend {
    inner: Arc<Inner>,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        MemoryBackend::new()
    }
}

impl MemoryBackend {
    /// An empty store (revision 0) with the default options.
    pub fn new() -> Self {
        MemoryBackend::with_options(MemoryOptions::default())
    }

    /// An empty store (revision 0) with these options.
    pub fn with_options(options: MemoryOptions) -> Self {
        MemoryBackend {
            inner: Arc::new(Inner {
                options,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The options the store was built with.
    pub fn options(&self) -> &MemoryOptions {
        &self.inner.options
    }
}

#[async_trait::async_trait]
impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        self.inner.lock().range(&request)
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<TxnOutcome> {
        check_key(key)?;
        let mut state = self.inner.lock();
        if let Some(current) = state.current.get(key) {
            return Ok(TxnOutcome::Failed {
                current: Some(current.clone()),
            });
        }
        let revision = state.revision + 1;
        let kv = KeyValue {
            key: key.to_owned(),
            value,
            create_revision: revision,
            mod_revision: revision,
        };
        state.commit(Event::Put { kv, prev: None }, &self.inner.options);
        Ok(TxnOutcome::Succeeded {
            revision,
            prev: None,
        })
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: i64,
    ) -> Result<TxnOutcome> {
        check_key(key)?;
        let mut state = self.inner.lock();
        let prev = match state.current.get(key) {
            Some(prev) if prev.mod_revision == expected_mod_revision => prev.clone(),
            current => {
                return Ok(TxnOutcome::Failed {
                    current: current.cloned(),
                });
            }
        };
        let revision = state.revision + 1;
        let kv = KeyValue {
            key: key.to_owned(),
            value,
            create_revision: prev.create_revision,
            mod_revision: revision,
        };
        state.commit(
            Event::Put {
                kv,
                prev: Some(prev.clone()),
            },
            &self.inner.options,
        );
        Ok(TxnOutcome::Succeeded {
            revision,
            prev: Some(prev),
        })
    }

    async fn delete(&self, key: &str, expected_mod_revision: i64) -> Result<TxnOutcome> {
        check_key(key)?;
        let mut state = self.inner.lock();
        let prev = match state.current.get(key) {
            Some(prev) if prev.mod_revision == expected_mod_revision => prev.clone(),
            current => {
                return Ok(TxnOutcome::Failed {
                    current: current.cloned(),
                });
            }
        };
        let revision = state.revision + 1;
        state.commit(
            Event::Delete {
                key: key.to_owned(),
                revision,
                prev: prev.clone(),
            },
            &self.inner.options,
        );
        Ok(TxnOutcome::Succeeded {
            revision,
            prev: Some(prev),
        })
    }

    async fn current_revision(&self) -> Result<i64> {
        Ok(self.inner.lock().revision)
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
                "negative watch revision {start_revision}"
            )));
        }
        let mut state = self.inner.lock();
        let next_revision = if start_revision == 0 {
            state.revision + 1
        } else {
            start_revision
        };
        if next_revision <= state.compacted {
            return Err(Error::Compacted {
                requested: next_revision,
                compacted: state.compacted,
            });
        }
        let mut watch = Watch {
            inner: Arc::clone(&self.inner),
            prefix: prefix.to_owned(),
            next_revision,
            progress_notify,
            progress_epoch: state.progress_epoch,
            live: None,
            pending: VecDeque::new(),
            done: false,
        };
        // Register at once when there is nothing to replay, so that every
        // write after this call returns is seen even before the first poll.
        if next_revision > state.revision {
            watch.live = Some(state.register(prefix, self.inner.options.watch_buffer));
        }
        drop(state);
        Ok(Box::pin(futures::stream::unfold(
            watch,
            |mut watch| async {
                let item = watch.next().await?;
                Some((item, watch))
            },
        )))
    }

    async fn request_progress(&self) -> Result<()> {
        let mut state = self.inner.lock();
        state.progress_epoch += 1;
        let (revision, epoch) = (state.revision, state.progress_epoch);
        // A watch whose buffer is full is switched to catching up; it sees
        // the new epoch when it registers again and sends its progress then.
        state.watchers.retain(|_, watcher| {
            watcher
                .tx
                .try_send(Message::Progress { revision, epoch })
                .is_ok()
        });
        Ok(())
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        let mut state = self.inner.lock();
        if revision <= state.compacted {
            return Ok(());
        }
        if revision > state.revision {
            return Err(Error::FutureRevision {
                requested: revision,
                current: state.revision,
            });
        }
        state.compact_to(revision);
        Ok(())
    }

    async fn compacted_revision(&self) -> Result<i64> {
        Ok(self.inner.lock().compacted)
    }

    async fn check_health(&self) -> Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
struct Inner {
    options: MemoryOptions,
    state: Mutex<State>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held (no user code runs under it),
        // so a poisoned lock still guards consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug, Default)]
struct State {
    /// The revision of the last write.
    revision: i64,
    /// History up to and including this revision is gone.
    compacted: i64,
    current: BTreeMap<String, KeyValue>,
    /// The events of revisions `compacted + 1 ..= revision`, oldest first.
    history: VecDeque<Arc<Event>>,
    watchers: HashMap<u64, Watcher>,
    next_watcher_id: u64,
    /// Bumped by every `request_progress`.
    progress_epoch: u64,
}

#[derive(Debug)]
struct Watcher {
    prefix: String,
    tx: mpsc::Sender<Message>,
}

#[derive(Debug)]
enum Message {
    Event(Arc<Event>),
    Progress { revision: i64, epoch: u64 },
}

impl State {
    /// Applies a write (whose revision is `self.revision + 1`), records it in
    /// the history and hands it to every matching live watch.
    fn commit(&mut self, event: Event, options: &MemoryOptions) {
        debug_assert_eq!(event.revision(), self.revision + 1);
        self.revision = event.revision();
        match &event {
            Event::Put { kv, .. } => {
                self.current.insert(kv.key.clone(), kv.clone());
            }
            Event::Delete { key, .. } => {
                self.current.remove(key);
            }
        }
        let event = Arc::new(event);
        self.history.push_back(Arc::clone(&event));
        if self.history.len() > options.history_limit {
            let keep_from = self.history.len() - options.history_limit;
            let revision = self.compacted + keep_from as i64;
            self.compact_to(revision);
        }
        self.watchers.retain(|id, watcher| {
            if !event.key().starts_with(&watcher.prefix) {
                return true;
            }
            match watcher.tx.try_send(Message::Event(Arc::clone(&event))) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::debug!(
                        watch = id,
                        "memory watch fell behind, catching up from history"
                    );
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }

    /// Drops the history of revisions `<= revision` (`compacted < revision <=
    /// self.revision`).
    fn compact_to(&mut self, revision: i64) {
        let drop = (revision - self.compacted) as usize;
        self.history.drain(..drop.min(self.history.len()));
        self.compacted = revision;
    }

    fn register(&mut self, prefix: &str, buffer: usize) -> Live {
        let (tx, rx) = mpsc::channel(buffer.max(1));
        let id = self.next_watcher_id;
        self.next_watcher_id += 1;
        self.watchers.insert(
            id,
            Watcher {
                prefix: prefix.to_owned(),
                tx,
            },
        );
        Live { id, rx }
    }

    fn range(&self, request: &RangeRequest) -> Result<RangeResponse> {
        if request.limit < 0 || request.revision < 0 {
            return Err(Error::InvalidRequest(format!(
                "negative limit {} or revision {}",
                request.limit, request.revision
            )));
        }
        if !request.prefix && request.key.is_empty() {
            return Err(Error::InvalidRequest("empty key".to_owned()));
        }
        if request.prefix
            && let Some(start) = &request.start_key
            && !start.starts_with(&request.key)
        {
            return Err(Error::InvalidRequest(format!(
                "start key {start:?} is not under prefix {:?}",
                request.key
            )));
        }
        let revision = match request.revision {
            0 => self.revision,
            revision => revision,
        };
        if revision > self.revision {
            return Err(Error::FutureRevision {
                requested: revision,
                current: self.revision,
            });
        }
        if revision < self.compacted {
            return Err(Error::Compacted {
                requested: revision,
                compacted: self.compacted,
            });
        }
        let visible = self.visible(request, revision);
        let count = visible.len();
        let limit = match request.limit {
            0 => usize::MAX,
            limit => usize::try_from(limit).unwrap_or(usize::MAX),
        };
        let (kvs, more) = if request.count_only {
            (Vec::new(), false)
        } else {
            let kvs: Vec<KeyValue> = visible.into_iter().take(limit).cloned().collect();
            let more = kvs.len() < count;
            (kvs, more)
        };
        Ok(RangeResponse {
            kvs,
            more,
            count: count as i64,
            revision,
        })
    }

    /// The key-values the request selects as of `revision` (`compacted <=
    /// revision <= self.revision`), in key order.
    fn visible<'a>(&'a self, request: &'a RangeRequest, revision: i64) -> Vec<&'a KeyValue> {
        let start = match &request.start_key {
            Some(start) if request.prefix && start.as_str() > request.key.as_str() => start,
            _ => &request.key,
        };
        let selects = |key: &str| {
            if request.prefix {
                key >= start.as_str() && key.starts_with(&request.key)
            } else {
                key == request.key
            }
        };

        // The value each key written after `revision` had at `revision`
        // (`None`: absent). Walking newest first, older events overwrite.
        let mut overlay: BTreeMap<&str, Option<&KeyValue>> = BTreeMap::new();
        let not_newer = (revision - self.compacted) as usize;
        for event in self.history.iter().skip(not_newer).rev() {
            if selects(event.key()) {
                let before = match &**event {
                    Event::Put { prev, .. } => prev.as_ref(),
                    Event::Delete { prev, .. } => Some(prev),
                };
                overlay.insert(event.key(), before);
            }
        }

        let current: Box<dyn Iterator<Item = &KeyValue>> = if request.prefix {
            Box::new(
                self.current
                    .range::<str, _>((Bound::Included(start.as_str()), Bound::Unbounded))
                    .take_while(|(key, _)| key.starts_with(&request.key))
                    .map(|(_, kv)| kv),
            )
        } else {
            Box::new(self.current.get(&request.key).into_iter())
        };
        if overlay.is_empty() {
            return current.collect();
        }

        let mut visible = Vec::new();
        let mut overlay = overlay.into_iter().peekable();
        for kv in current {
            while let Some((key, old)) = overlay.next_if(|(key, _)| *key < kv.key.as_str()) {
                debug_assert!(selects(key));
                visible.extend(old);
            }
            match overlay.next_if(|(key, _)| *key == kv.key.as_str()) {
                Some((_, old)) => visible.extend(old),
                None => visible.push(kv),
            }
        }
        visible.extend(overlay.filter_map(|(_, old)| old));
        visible
    }
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::InvalidRequest("empty key".to_owned()));
    }
    Ok(())
}

/// A live watch's registration.
#[derive(Debug)]
struct Live {
    id: u64,
    rx: mpsc::Receiver<Message>,
}

/// The state behind one watch stream.
#[derive(Debug)]
struct Watch {
    inner: Arc<Inner>,
    prefix: String,
    /// The first revision not yet delivered.
    next_revision: i64,
    progress_notify: bool,
    /// The last `request_progress` epoch this watch answered (or saw at start).
    progress_epoch: u64,
    /// `None` while catching up from history.
    live: Option<Live>,
    pending: VecDeque<Result<WatchResponse>>,
    done: bool,
}

impl Watch {
    async fn next(&mut self) -> Option<Result<WatchResponse>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            let Some(live) = &mut self.live else {
                self.catch_up();
                if self.pending.is_empty() && self.live.is_none() {
                    // A chunk of history with nothing for us: let others run.
                    tokio::task::yield_now().await;
                }
                continue;
            };
            let message = if self.progress_notify {
                let interval = self.inner.options.progress_interval;
                match tokio::time::timeout(interval, live.rx.recv()).await {
                    Ok(message) => message,
                    Err(_) => {
                        self.idle_progress();
                        continue;
                    }
                }
            } else {
                live.rx.recv().await
            };
            let mut messages = Vec::new();
            let evicted = match message {
                Some(message) => {
                    messages.push(message);
                    loop {
                        match live.rx.try_recv() {
                            Ok(message) => messages.push(message),
                            Err(mpsc::error::TryRecvError::Empty) => break false,
                            Err(mpsc::error::TryRecvError::Disconnected) => break true,
                        }
                    }
                }
                None => true,
            };
            if evicted {
                self.live = None;
            }
            self.accept(messages, None);
        }
    }

    /// Turns received messages into responses; `progress` is a revision up to
    /// which everything is known to be in `messages` (answering an idle timer).
    fn accept(&mut self, messages: Vec<Message>, progress: Option<i64>) {
        let mut events = Vec::new();
        for message in messages {
            match message {
                Message::Event(event) => {
                    // Live events at or below what was replayed are duplicates.
                    if event.revision() >= self.next_revision {
                        self.next_revision = event.revision() + 1;
                        events.push((*event).clone());
                    }
                }
                Message::Progress { revision, epoch } => {
                    self.progress_epoch = self.progress_epoch.max(epoch);
                    if !events.is_empty() {
                        self.pending
                            .push_back(Ok(WatchResponse::Events(std::mem::take(&mut events))));
                    }
                    self.pending
                        .push_back(Ok(WatchResponse::Progress { revision }));
                }
            }
        }
        if !events.is_empty() {
            self.pending.push_back(Ok(WatchResponse::Events(events)));
        }
        if let Some(revision) = progress {
            self.pending
                .push_back(Ok(WatchResponse::Progress { revision }));
        }
    }

    /// The progress timer fired: everything up to the store's revision is in
    /// our channel (writes send under the lock we take here).
    fn idle_progress(&mut self) {
        let Some(live) = &mut self.live else {
            return;
        };
        let state = self.inner.lock();
        let revision = state.revision;
        let mut messages = Vec::new();
        let evicted = loop {
            match live.rx.try_recv() {
                Ok(message) => messages.push(message),
                Err(mpsc::error::TryRecvError::Empty) => break false,
                Err(mpsc::error::TryRecvError::Disconnected) => break true,
            }
        };
        drop(state);
        if evicted {
            self.live = None;
            self.accept(messages, None);
        } else {
            self.accept(messages, Some(revision));
        }
    }

    /// Copies the next chunk of history into `pending`, registering as live
    /// once the chunk reaches the current revision.
    fn catch_up(&mut self) {
        let mut state = self.inner.lock();
        if self.next_revision <= state.compacted {
            self.pending.push_back(Err(Error::Compacted {
                requested: self.next_revision,
                compacted: state.compacted,
            }));
            self.done = true;
            return;
        }
        let skip = (self.next_revision - state.compacted - 1) as usize;
        let mut events = Vec::new();
        let mut scanned = 0;
        for event in state.history.iter().skip(skip).take(CATCH_UP_CHUNK) {
            scanned += 1;
            if event.key().starts_with(&self.prefix) {
                events.push((**event).clone());
            }
        }
        self.next_revision += scanned;
        if !events.is_empty() {
            self.pending.push_back(Ok(WatchResponse::Events(events)));
        }
        if self.next_revision > state.revision {
            self.live = Some(state.register(&self.prefix, self.inner.options.watch_buffer));
            if state.progress_epoch > self.progress_epoch {
                self.progress_epoch = state.progress_epoch;
                self.pending.push_back(Ok(WatchResponse::Progress {
                    revision: state.revision,
                }));
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(live) = &self.live {
            self.inner.lock().watchers.remove(&live.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::StreamExt;

    use super::*;

    fn backend(options: MemoryOptions) -> MemoryBackend {
        MemoryBackend::with_options(options)
    }

    async fn put(backend: &MemoryBackend, key: &str, value: &str) -> i64 {
        let current = backend
            .range(RangeRequest {
                key: key.to_owned(),
                ..Default::default()
            })
            .await
            .unwrap();
        let outcome = match current.kvs.first() {
            Some(kv) => backend
                .update(key, Bytes::from(value.to_owned()), kv.mod_revision)
                .await
                .unwrap(),
            None => backend
                .create(key, Bytes::from(value.to_owned()))
                .await
                .unwrap(),
        };
        match outcome {
            TxnOutcome::Succeeded { revision, .. } => revision,
            TxnOutcome::Failed { current } => panic!("write of {key} failed: {current:?}"),
        }
    }

    async fn revisions(stream: &mut WatchStream, until: i64) -> Vec<i64> {
        let mut seen = Vec::new();
        while seen.last().copied().unwrap_or(0) < until {
            let item = tokio::time::timeout(Duration::from_secs(5), stream.next())
                .await
                .expect("watch timed out")
                .expect("watch ended")
                .expect("watch failed");
            if let WatchResponse::Events(events) = item {
                seen.extend(events.iter().map(Event::revision));
            }
        }
        seen
    }

    #[tokio::test]
    async fn history_limit_compacts_automatically() {
        let backend = backend(MemoryOptions::default().with_history_limit(3));
        for i in 0..5 {
            put(&backend, "/k", &i.to_string()).await;
        }
        assert_eq!(backend.compacted_revision().await.unwrap(), 2);
        assert_eq!(backend.inner.lock().history.len(), 3);
        let old = |revision| RangeRequest {
            key: "/k".to_owned(),
            revision,
            ..Default::default()
        };
        assert!(matches!(
            backend.range(old(1)).await,
            Err(Error::Compacted {
                requested: 1,
                compacted: 2
            })
        ));
        let at_two = backend.range(old(2)).await.unwrap();
        assert_eq!(at_two.kvs[0].value, "1");
        assert!(matches!(
            backend.watch("/k", 2, false).await,
            Err(Error::Compacted { .. })
        ));
        let mut watch = backend.watch("/k", 3, false).await.unwrap();
        assert_eq!(revisions(&mut watch, 5).await, [3, 4, 5]);
    }

    #[tokio::test]
    async fn slow_watch_catches_up_from_history_without_gaps() {
        let backend = backend(MemoryOptions::default().with_watch_buffer(2));
        let mut watch = backend.watch("/", 0, false).await.unwrap();
        for i in 0..100 {
            put(&backend, &format!("/k{}", i % 7), "v").await;
        }
        // The watch was evicted after two buffered events.
        assert!(backend.inner.lock().watchers.is_empty());
        assert_eq!(
            revisions(&mut watch, 100).await,
            (1..=100).collect::<Vec<_>>()
        );
        // Registered again and live.
        assert_eq!(backend.inner.lock().watchers.len(), 1);
        put(&backend, "/k0", "w").await;
        assert_eq!(revisions(&mut watch, 101).await, [101]);
    }

    #[tokio::test]
    async fn slow_watch_ends_with_compacted_once_history_is_gone() {
        let options = MemoryOptions::default()
            .with_watch_buffer(1)
            .with_history_limit(5);
        let backend = backend(options);
        let mut watch = backend.watch("/", 0, false).await.unwrap();
        for _ in 0..20 {
            put(&backend, "/k", "v").await;
        }
        let first = watch.next().await.unwrap().unwrap();
        assert_eq!(first, WatchResponse::Events(vec![first_event(&first)]));
        match watch.next().await {
            Some(Err(Error::Compacted {
                requested: 2,
                compacted: 15,
            })) => {}
            other => panic!("expected compacted, got {other:?}"),
        }
        assert!(watch.next().await.is_none());
    }

    fn first_event(response: &WatchResponse) -> Event {
        match response {
            WatchResponse::Events(events) => events[0].clone(),
            other => panic!("expected events, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn dropped_watch_unregisters() {
        let backend = MemoryBackend::new();
        let watch = backend.watch("/", 0, true).await.unwrap();
        assert_eq!(backend.inner.lock().watchers.len(), 1);
        drop(watch);
        assert!(backend.inner.lock().watchers.is_empty());
    }

    #[tokio::test]
    async fn idle_progress_follows_the_interval() {
        let options = MemoryOptions::default().with_progress_interval(Duration::from_millis(20));
        let backend = backend(options);
        put(&backend, "/other", "v").await;
        let mut watch = backend.watch("/k", 0, true).await.unwrap();
        let item = tokio::time::timeout(Duration::from_secs(2), watch.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(item, WatchResponse::Progress { revision: 1 });
    }

    #[tokio::test]
    async fn progress_requested_while_catching_up_is_answered() {
        let backend = MemoryBackend::new();
        for _ in 0..3 {
            put(&backend, "/k", "v").await;
        }
        let mut watch = backend.watch("/k", 1, false).await.unwrap();
        backend.request_progress().await.unwrap();
        assert_eq!(revisions(&mut watch, 3).await, [1, 2, 3]);
        let item = watch.next().await.unwrap().unwrap();
        assert_eq!(item, WatchResponse::Progress { revision: 3 });
    }

    #[tokio::test]
    async fn past_reads_merge_the_overlay_in_key_order() {
        let backend = MemoryBackend::new();
        put(&backend, "/p/b", "b1").await; // 1
        put(&backend, "/p/d", "d1").await; // 2
        let snapshot = backend.current_revision().await.unwrap();
        put(&backend, "/p/a", "a1").await; // created later: absent
        put(&backend, "/p/b", "b2").await; // updated later: old value
        backend.delete("/p/d", 2).await.unwrap(); // deleted later: present
        put(&backend, "/p/c", "c1").await;
        let response = backend
            .range(RangeRequest {
                key: "/p/".to_owned(),
                prefix: true,
                revision: snapshot,
                ..Default::default()
            })
            .await
            .unwrap();
        let got: Vec<(&str, &[u8], i64)> = response
            .kvs
            .iter()
            .map(|kv| (kv.key.as_str(), &kv.value[..], kv.mod_revision))
            .collect();
        assert_eq!(got, [("/p/b", &b"b1"[..], 1), ("/p/d", &b"d1"[..], 2)]);
        assert_eq!(response.revision, snapshot);
    }
}
