//! The watch cache: per resource, the current state and a window of recent
//! events, kept in memory as shared, already-encoded objects, in front of
//! any backend.
//!
//! Mirrors `k8s.io/apiserver/pkg/storage/cacher` (`Cacher`, `watchCache`,
//! `cacheWatcher`). A reflector task lists the resource from an
//! [`ObjectStore`], then watches it (with progress notifications) and
//! applies every event to the cache. From memory the cache serves:
//!
//! - WATCH from any resourceVersion inside its window (410 Expired before
//!   it), with the current state as ADDED events for `""`/`"0"`, the
//!   `sendInitialEvents=true` contract (initial events, then a bookmark
//!   annotated `k8s.io/initial-events-end: "true"`), and periodic bookmarks;
//! - LIST with `resourceVersion="0"` or `NotOlderThan` (waiting for the cache
//!   to reach the asked revision), and consistent LIST (`resourceVersion`
//!   unset) once it has confirmed it is as fresh as the backend (it asks the
//!   backend for its revision and for a progress notification, and falls
//!   back to the backend when that takes too long).
//!
//! Exact-revision and paginated reads go to the backend, as in Go.
//!
//! Memory: every object is held once, as its JSON bytes (with its
//! resourceVersion), shared by the state, the event window, every watcher
//! and every LIST; an event is encoded once for all watchers. A watcher that
//! cannot keep up (its buffer is full) is ended, and re-watches from its last
//! resourceVersion, instead of growing memory. The event window is bounded
//! by a count and by a byte budget.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt as _;
use kapi_core::StatusError;
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::error::{Error, Result};
use crate::object::Object;
use crate::store::{
    GetOptions, ListOptions, ObjectList, ObjectStore, ResourceVersionMatch, SelectionPredicate,
    parse_resource_version,
};
use crate::watch::{ObjectWatch, WatchEvent};

/// The page size of the cache's initial list.
const LIST_PAGE: i64 = 500;

/// How a [`Cacher`] sizes itself.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CacherOptions {
    /// The most events kept in the window (`--watch-cache-sizes`).
    pub event_capacity: usize,
    /// The most bytes of event objects kept in the window.
    pub byte_budget: usize,
    /// Events buffered per watcher before it is ended as too slow.
    pub watcher_buffer: usize,
    /// How often watchers that allow bookmarks get one.
    pub bookmark_interval: Duration,
    /// How long a read waits for the cache to reach a revision before it
    /// answers 504 (or, for consistent LISTs, reads the backend instead).
    pub freshness_timeout: Duration,
}

impl Default for CacherOptions {
    fn default() -> Self {
        Self {
            event_capacity: 10_000,
            byte_budget: 64 << 20,
            watcher_buffer: 1_024,
            bookmark_interval: Duration::from_secs(60),
            freshness_timeout: Duration::from_secs(3),
        }
    }
}

/// What a cache holds, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Objects in the current state.
    pub objects: usize,
    /// Bytes of the current state's objects (their JSON).
    pub object_bytes: usize,
    /// Events in the window.
    pub events: usize,
    /// Bytes of the window's event objects not in the current state.
    pub event_bytes: usize,
    /// Open watchers.
    pub watchers: usize,
    /// The revision the cache has reached.
    pub resource_version: i64,
}

/// The watch cache of one resource (see the module documentation).
#[derive(Clone)]
pub struct Cacher {
    inner: Arc<Inner>,
    _stop: Arc<DropGuard>,
}

impl fmt::Debug for Cacher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cacher")
            .field("key", &self.inner.key)
            .field("stats", &self.stats())
            .finish()
    }
}

struct Inner {
    store: ObjectStore,
    key: String,
    options: CacherOptions,
    state: Mutex<State>,
    /// The revision the cache has reached (-1 until the first list).
    revision: watch::Sender<i64>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Added,
    Modified,
    Deleted,
}

struct CachedEvent {
    revision: i64,
    key: String,
    kind: Kind,
    object: Object,
    prev: Option<Object>,
}

enum Message {
    Event(Arc<CachedEvent>),
    Bookmark(i64),
}

struct Watcher {
    id: u64,
    key: String,
    recursive: bool,
    bookmarks: bool,
    sender: mpsc::Sender<Message>,
}

#[derive(Default)]
struct State {
    ready: bool,
    objects: BTreeMap<String, Object>,
    object_bytes: usize,
    events: VecDeque<Arc<CachedEvent>>,
    event_bytes: usize,
    /// The oldest revision a watch can start after (events after it are in
    /// the window).
    window_start: i64,
    revision: i64,
    watchers: Vec<Watcher>,
    next_watcher: u64,
}

impl Cacher {
    /// Starts caching every object under `key` (e.g. `/configmaps`) of
    /// `store`. Must be called inside a tokio runtime; the cache stops when
    /// the last handle is dropped.
    pub fn new(store: ObjectStore, key: &str, options: CacherOptions) -> Self {
        let mut key = key.trim_end_matches('/').to_owned();
        key.push('/');
        let (revision, _) = watch::channel(-1);
        let inner = Arc::new(Inner {
            store,
            key,
            options,
            state: Mutex::new(State::default()),
            revision,
        });
        let stop = CancellationToken::new();
        tokio::spawn(reflect(Arc::downgrade(&inner), stop.clone()));
        tokio::spawn(bookmarks(Arc::downgrade(&inner), stop.clone()));
        Self {
            inner,
            _stop: Arc::new(stop.drop_guard()),
        }
    }

    /// Waits until the cache holds the resource's state (its first list).
    pub async fn wait_ready(&self) {
        let mut revision = self.inner.revision.subscribe();
        let _ = revision.wait_for(|rv| *rv >= 0).await;
    }

    /// What the cache holds.
    pub fn stats(&self) -> CacheStats {
        let state = self.inner.lock();
        CacheStats {
            objects: state.objects.len(),
            object_bytes: state.object_bytes,
            events: state.events.len(),
            event_bytes: state.event_bytes,
            watchers: state.watchers.len(),
            resource_version: state.revision,
        }
    }

    /// Reads one object: from the cache for `resourceVersion` "0" or N
    /// (once the cache has reached N), from the backend for "" (latest).
    pub async fn get(&self, key: &str, options: &GetOptions) -> Result<Option<Object>> {
        let minimum = parse_resource_version(&options.resource_version)?;
        let minimum = match minimum {
            Some(minimum) => minimum,
            // A consistent read: from memory when the backend's revision is
            // known here and the cache has reached it (what kube-apiserver
            // gets from etcd, without the round trip), else from storage as
            // Go does.
            None => {
                let backend = self.inner.store.backend();
                let current = if backend.knows_current_revision() {
                    Some(backend.current_revision().await?)
                } else {
                    None
                };
                match current {
                    Some(current) if self.inner.current() >= 0 && self.catch_up(current).await => {
                        current
                    }
                    _ => {
                        let object = self.inner.store.get(key, options).await?;
                        return Ok(object.map(Object::from_value));
                    }
                }
            }
        };
        self.wait_for_revision(minimum).await?;
        let full_key = self.inner.full_key(key);
        let state = self.inner.lock();
        match state.objects.get(&full_key) {
            Some(object) => Ok(Some(object.clone())),
            None if options.ignore_not_found => Ok(None),
            None => Err(Error::KeyNotFound { key: full_key }),
        }
    }

    /// Lists objects under `key` (see the module documentation for which
    /// lists are served from memory).
    pub async fn get_list(&self, key: &str, options: &ListOptions) -> Result<ObjectList> {
        let rv = parse_resource_version(&options.resource_version)?;
        let exact = options.resource_version_match == Some(ResourceVersionMatch::Exact);
        let paginated = options.predicate.limit > 0 && rv != Some(0);
        if exact || paginated || !options.predicate.continue_token.is_empty() || !options.recursive
        {
            return self.inner.store.get_list(key, options).await;
        }
        match rv {
            Some(minimum) => self.wait_for_revision(minimum).await?,
            None => {
                // Consistent read: be at least as fresh as the backend now is.
                let current = self.inner.store.current_resource_version().await?;
                if !self.catch_up(current).await {
                    tracing::debug!(key = %self.inner.key, current, "cache not fresh in time; listing from storage");
                    return self.inner.store.get_list(key, options).await;
                }
            }
        }
        let prefix = self.inner.full_key(key);
        let prefix = if prefix.ends_with('/') {
            prefix
        } else {
            format!("{prefix}/")
        };
        let state = self.inner.lock();
        let items = state
            .objects
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, object)| selects(&options.predicate, object))
            .map(|(_, object)| object.clone())
            .collect();
        Ok(ObjectList {
            items,
            resource_version: state.revision,
            ..ObjectList::default()
        })
    }

    /// Watches objects under `key` (or the one object at `key` unless
    /// `options.recursive`). `send_initial_events` follows the API's
    /// `sendInitialEvents`; `allow_bookmarks` its `allowWatchBookmarks`.
    pub async fn watch(
        &self,
        key: &str,
        options: &ListOptions,
        send_initial_events: Option<bool>,
        allow_bookmarks: bool,
    ) -> Result<ObjectWatch> {
        let rv = parse_resource_version(&options.resource_version)?;
        match (rv, send_initial_events) {
            (None, Some(true)) => {
                let current = self.inner.store.current_resource_version().await?;
                if !self.catch_up(current).await {
                    return Err(too_large(current, self.inner.current()));
                }
            }
            (Some(minimum), _) => self.wait_for_revision(minimum).await?,
            (None, _) => self.wait_ready().await,
        }
        let mut watch_key = self.inner.full_key(key);
        if options.recursive && !watch_key.ends_with('/') {
            watch_key.push('/');
        }
        let initial_state = match send_initial_events {
            Some(send) => send,
            None => matches!(rv, None | Some(0)),
        };
        let (sender, receiver) = mpsc::channel(self.inner.options.watcher_buffer.max(1));
        let mut initial = Vec::new();
        let start_revision;
        {
            let mut state = self.inner.lock();
            start_revision = state.revision;
            if initial_state {
                let matching = state
                    .objects
                    .range(watch_key.clone()..)
                    .take_while(|(k, _)| {
                        if options.recursive {
                            k.starts_with(&watch_key)
                        } else {
                            **k == watch_key
                        }
                    })
                    .filter(|(_, object)| selects(&options.predicate, object));
                initial.extend(matching.map(|(_, object)| Ok(WatchEvent::Added(object.clone()))));
            } else if let Some(from) = rv.filter(|rv| *rv > 0) {
                if from < state.window_start {
                    return Err(StatusError::expired(format!(
                        "too old resource version: {from} ({})",
                        state.window_start
                    ))
                    .into());
                }
                for event in state.events.iter().filter(|e| e.revision > from) {
                    if concerns(&watch_key, options.recursive, &event.key) {
                        // The buffer is fresh and sized for live events;
                        // the replay goes into the stream directly.
                        initial.extend(translate(event, &options.predicate).map(Ok));
                    }
                }
            }
            if send_initial_events == Some(true) && allow_bookmarks {
                initial.push(Ok(WatchEvent::Bookmark {
                    resource_version: start_revision,
                    initial_events_end: true,
                }));
            }
            let id = state.next_watcher;
            state.next_watcher += 1;
            state.watchers.push(Watcher {
                id,
                key: watch_key.clone(),
                recursive: options.recursive,
                bookmarks: allow_bookmarks,
                sender,
            });
        }
        let predicate = options.predicate.clone();
        let live =
            tokio_stream::wrappers::ReceiverStream::new(receiver).filter_map(move |message| {
                let event = match message {
                    Message::Event(event) => translate(&event, &predicate).map(Ok),
                    Message::Bookmark(revision) => Some(Ok(WatchEvent::Bookmark {
                        resource_version: revision,
                        initial_events_end: false,
                    })),
                };
                futures::future::ready(event)
            });
        Ok(Box::pin(futures::stream::iter(initial).chain(live)))
    }

    /// Waits (bounded) until the cache has reached `minimum`; 504 "Too large
    /// resource version" otherwise.
    async fn wait_for_revision(&self, minimum: i64) -> Result<()> {
        self.wait_ready().await;
        if self.catch_up(minimum).await {
            Ok(())
        } else {
            Err(too_large(minimum, self.inner.current()))
        }
    }

    /// Waits until the cache reaches `revision`, asking the backend for a
    /// progress notification so an idle resource catches up too.
    async fn catch_up(&self, revision: i64) -> bool {
        let mut current = self.inner.revision.subscribe();
        if *current.borrow() >= revision {
            return true;
        }
        let _ = self.inner.store.backend().request_progress().await;
        let wait = current.wait_for(|rv| *rv >= revision);
        matches!(
            tokio::time::timeout(self.inner.options.freshness_timeout, wait).await,
            Ok(Ok(_))
        )
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain data; a panic elsewhere leaves it consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn current(&self) -> i64 {
        *self.revision.borrow()
    }

    /// A caller's key in the cache's form (store-relative, one leading `/`).
    fn full_key(&self, key: &str) -> String {
        format!("/{}", key.trim_start_matches('/'))
    }

    /// Replaces the state with a fresh list (its pages, all read at one
    /// revision); open watchers are ended (they re-watch) because the events
    /// between are unknown.
    fn reset_keyed(&self, items: Vec<(String, Object)>, revision: i64) {
        let mut state = self.lock();
        state.watchers.clear();
        state.objects.clear();
        state.object_bytes = 0;
        state.events.clear();
        state.event_bytes = 0;
        for (key, object) in items {
            state.object_bytes += object.json().len();
            state.objects.insert(key, object);
        }
        state.window_start = revision;
        state.revision = revision;
        state.ready = true;
        drop(state);
        self.revision.send_replace(revision);
    }

    /// The key an object is stored under, from its metadata: kube-apiserver's
    /// layout, `<resource key>/<namespace>/<name>` or `<resource key>/<name>`.
    fn key_of(&self, object: &Object) -> String {
        let value = object.value();
        let name = value["metadata"]["name"].as_str().unwrap_or_default();
        match value["metadata"]["namespace"].as_str() {
            Some(namespace) if !namespace.is_empty() => format!("{}{namespace}/{name}", self.key),
            _ => format!("{}{name}", self.key),
        }
    }

    /// Applies one event from storage and hands it to every watcher.
    fn apply(&self, kind: Kind, object: Object, revision: i64) {
        // Keep the bytes only: the decoded form is what costs memory.
        let bytes_only = Object::from_json(object.json().clone());
        let key = self.key_of(&object);
        let mut state = self.lock();
        let prev = match kind {
            Kind::Deleted => state.objects.remove(&key),
            Kind::Added | Kind::Modified => state.objects.insert(key.clone(), bytes_only.clone()),
        };
        if let Some(prev) = &prev {
            state.object_bytes -= prev.json().len();
        }
        if kind != Kind::Deleted {
            state.object_bytes += bytes_only.json().len();
        }
        let event = Arc::new(CachedEvent {
            revision,
            key,
            kind,
            object: bytes_only,
            prev,
        });
        state.event_bytes += event_bytes(&event);
        state.events.push_back(event.clone());
        let options = &self.options;
        while state.events.len() > options.event_capacity
            || (state.event_bytes > options.byte_budget && state.events.len() > 1)
        {
            if let Some(old) = state.events.pop_front() {
                state.event_bytes -= event_bytes(&old);
                state.window_start = old.revision;
            }
        }
        state.revision = revision;
        state.watchers.retain(|watcher| {
            if !concerns(&watcher.key, watcher.recursive, &event.key) {
                return !watcher.sender.is_closed();
            }
            match watcher.sender.try_send(Message::Event(event.clone())) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::debug!(watcher = watcher.id, "watcher too slow; ending it");
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        drop(state);
        self.revision.send_replace(revision);
    }

    /// Records progress reported by storage.
    fn progress(&self, revision: i64) {
        let mut state = self.lock();
        if revision > state.revision {
            state.revision = revision;
            drop(state);
            self.revision.send_replace(revision);
        }
    }

    /// Sends a bookmark to every watcher that allows them.
    fn send_bookmarks(&self) {
        let mut state = self.lock();
        let revision = state.revision;
        state.watchers.retain(|watcher| {
            if !watcher.bookmarks {
                return !watcher.sender.is_closed();
            }
            // A bookmark that does not fit is simply skipped.
            !matches!(
                watcher.sender.try_send(Message::Bookmark(revision)),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        });
    }
}

/// The reflector: list, then watch and apply, relisting after any error.
async fn reflect(inner: std::sync::Weak<Inner>, stop: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let result = tokio::select! {
            () = stop.cancelled() => return,
            result = run_once(&strong) => result,
        };
        drop(strong);
        if let Err(err) = result {
            tracing::warn!(error = %err, "watch cache lost its watch; relisting");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn run_once(inner: &Arc<Inner>) -> Result<()> {
    let root = inner.key.trim_end_matches('/').to_owned();
    // List in pages at one revision, as Go's reflector does, so the decoded
    // form of only one page is alive at a time.
    let mut options = ListOptions {
        recursive: true,
        ..ListOptions::default()
    };
    options.predicate.limit = LIST_PAGE;
    let mut items = Vec::new();
    let start = loop {
        let page = inner.store.get_list(&root, &options).await?;
        items.extend(
            page.items
                .into_iter()
                .map(|item| (inner.key_of(&item), Object::from_json(item.json().clone()))),
        );
        match page.continue_token {
            Some(token) => options.predicate.continue_token = token,
            None => break page.resource_version,
        }
    };
    inner.reset_keyed(items, start);
    let mut options = ListOptions {
        recursive: true,
        resource_version: start.to_string(),
        progress_notify: true,
        ..ListOptions::default()
    };
    options.predicate = SelectionPredicate::everything();
    let mut events = inner.store.watch(&root, &options).await?;
    while let Some(event) = events.next().await {
        match event? {
            WatchEvent::Added(object) => {
                let revision = revision_of(&object);
                inner.apply(Kind::Added, object, revision);
            }
            WatchEvent::Modified(object) => {
                let revision = revision_of(&object);
                inner.apply(Kind::Modified, object, revision);
            }
            WatchEvent::Deleted(object) => {
                let revision = revision_of(&object);
                inner.apply(Kind::Deleted, object, revision);
            }
            WatchEvent::Bookmark {
                resource_version, ..
            } => inner.progress(resource_version),
        }
    }
    Err(Error::Unavailable("the storage watch ended".to_owned()))
}

async fn bookmarks(inner: std::sync::Weak<Inner>, stop: CancellationToken) {
    let interval = match inner.upgrade() {
        Some(inner) => inner.options.bookmark_interval,
        None => return,
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match inner.upgrade() {
            Some(inner) => inner.send_bookmarks(),
            None => return,
        }
    }
}

fn revision_of(object: &Object) -> i64 {
    object.resource_version().parse().unwrap_or(0)
}

fn event_bytes(event: &CachedEvent) -> usize {
    // The new object is shared with the state (until it changes again); the
    // previous one is only held by the window.
    event.prev.as_ref().map_or(0, |prev| prev.json().len())
        + if event.kind == Kind::Deleted {
            event.object.json().len()
        } else {
            0
        }
}

fn concerns(watch_key: &str, recursive: bool, key: &str) -> bool {
    if recursive {
        key.starts_with(watch_key)
    } else {
        key == watch_key
    }
}

/// Whether `object` passes `predicate`, decoding a temporary copy when the
/// predicate needs to look inside (the cache keeps bytes only).
fn selects(predicate: &SelectionPredicate, object: &Object) -> bool {
    if predicate.is_everything() {
        return true;
    }
    let value: Value = serde_json::from_slice(object.json()).unwrap_or(Value::Null);
    predicate.matches(&value)
}

/// What an event means for a watcher with `predicate`: objects entering or
/// leaving the selection are ADDED or DELETED.
fn translate(event: &CachedEvent, predicate: &SelectionPredicate) -> Option<WatchEvent> {
    let now = event.kind != Kind::Deleted && selects(predicate, &event.object);
    let before = event
        .prev
        .as_ref()
        .is_some_and(|prev| selects(predicate, prev));
    match (event.kind, before, now) {
        (Kind::Deleted, true, _) => Some(WatchEvent::Deleted(event.object.clone())),
        (Kind::Deleted, false, _) => None,
        (_, false, true) => Some(WatchEvent::Added(event.object.clone())),
        (_, true, true) => Some(WatchEvent::Modified(event.object.clone())),
        (_, true, false) => Some(WatchEvent::Deleted(event.object.clone())),
        (_, false, false) => None,
    }
}

fn too_large(minimum: i64, current: i64) -> Error {
    StatusError::timeout(
        format!("Too large resource version: {minimum}, current: {current}"),
        1,
    )
    .with_cause("ResourceVersionTooLarge", "Too large resource version")
    .into()
}
