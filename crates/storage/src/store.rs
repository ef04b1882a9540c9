//! Kubernetes object semantics over any [`Backend`]: objects are JSON with
//! typed metadata; `metadata.resourceVersion` is the backend revision of
//! their last write (never stored, set on every read); lists honour
//! `resourceVersion` / `resourceVersionMatch`, selectors, `limit` and
//! continue tokens; updates are read-modify-write retried on conflict;
//! watches translate writes into ADDED / MODIFIED / DELETED events, with
//! selector transitions, and progress into BOOKMARKs.
//!
//! Mirrors `k8s.io/apiserver/pkg/storage` (`Interface`, `ListOptions`,
//! `SelectionPredicate`, `Preconditions`) and its etcd3 implementation
//! (`pkg/storage/etcd3/store.go`, `watcher.go`), written once for every
//! backend.

mod continue_token;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use kapi_core::StatusError;
use kapi_core::selector::{FieldSelector, LabelSelector};
use serde_json::Value;

use crate::backend::{Backend, Event, KeyValue, RangeRequest, TxnOutcome, WatchResponse};
use crate::error::{Error, Result};
use crate::object::Object;

use crate::watch::{ObjectWatch, WatchEvent};

/// The most keys one backend read fetches while filling a filtered page.
const MAX_PAGE_FETCH: i64 = 10_000;

/// A label / field selector test over an object.
type Filter = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// The labels and fields of an object that selectors match against (Go:
/// `AttrFunc`).
pub type AttrFunc =
    Arc<dyn Fn(&Value) -> (BTreeMap<String, String>, BTreeMap<String, String>) + Send + Sync>;

/// Which objects a list or watch wants, and how many.
#[derive(Clone, Default)]
pub struct SelectionPredicate {
    filter: Option<Filter>,
    labels: LabelSelector,
    fields: FieldSelector,
    /// At most this many items (0: all). Only for recursive lists.
    pub limit: i64,
    /// The continue token of the previous page ("" for the first).
    pub continue_token: String,
}

impl fmt::Debug for SelectionPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectionPredicate")
            .field("filtered", &self.filter.is_some())
            .field("labels", &self.labels.to_string())
            .field("fields", &self.fields.to_string())
            .field("limit", &self.limit)
            .field("continue_token", &self.continue_token)
            .finish()
    }
}

impl SelectionPredicate {
    /// Every object (Go: `storage.Everything`).
    pub fn everything() -> Self {
        Self::default()
    }

    /// Objects for which `filter` is true (label and field selectors).
    pub fn matching(filter: impl Fn(&Value) -> bool + Send + Sync + 'static) -> Self {
        Self {
            filter: Some(Arc::new(filter)),
            ..Self::default()
        }
    }

    /// Objects whose labels and fields, as `attrs` reads them, match the
    /// selectors (Go: `SelectionPredicate{Label, Field, GetAttrs}`).
    pub fn from_selectors(labels: LabelSelector, fields: FieldSelector, attrs: AttrFunc) -> Self {
        let filter: Option<Filter> = if labels.is_everything() && fields.is_everything() {
            None
        } else {
            let (l, f) = (labels.clone(), fields.clone());
            Some(Arc::new(move |object: &Value| {
                let (object_labels, object_fields) = attrs(object);
                l.matches(&object_labels) && f.matches(&object_fields)
            }))
        };
        Self {
            filter,
            labels,
            fields,
            ..Self::default()
        }
    }

    /// The label selector (everything unless built by [`Self::from_selectors`]).
    pub fn label_selector(&self) -> &LabelSelector {
        &self.labels
    }

    /// The field selector (everything unless built by [`Self::from_selectors`]).
    pub fn field_selector(&self) -> &FieldSelector {
        &self.fields
    }

    /// The one name the predicate can match, when its field selector
    /// requires `metadata.name=<name>` (Go: `MatchesSingle`).
    pub fn matches_single(&self) -> Option<&str> {
        self.fields.requires_exact_match("metadata.name")
    }

    /// Whether the predicate selects every object (Go: `Empty()`): only then
    /// does a page carry `remainingItemCount`.
    pub fn is_everything(&self) -> bool {
        self.filter.is_none()
    }

    /// Whether `object` is selected.
    pub fn matches(&self, object: &Value) -> bool {
        self.filter.as_ref().is_none_or(|filter| filter(object))
    }
}

/// `resourceVersionMatch` of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceVersionMatch {
    /// The result is at least as new as `resourceVersion`.
    NotOlderThan,
    /// The result is exactly at `resourceVersion`.
    Exact,
}

/// Options of [`ObjectStore::get`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct GetOptions {
    /// "" or "0": any version (the latest is served); N: at least N.
    pub resource_version: String,
    /// Return `Ok(None)` instead of `KeyNotFound`.
    pub ignore_not_found: bool,
}

/// Options of [`ObjectStore::get_list`] and [`ObjectStore::watch`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListOptions {
    /// "" (latest, consistent), "0" (any), or a revision.
    pub resource_version: String,
    /// How `resource_version` applies to a list.
    pub resource_version_match: Option<ResourceVersionMatch>,
    /// Selection, limit and continue.
    pub predicate: SelectionPredicate,
    /// Treat the key as a prefix (every object under it).
    pub recursive: bool,
    /// Watches: turn the backend's progress notifications into bookmarks
    /// (the API's `allowWatchBookmarks`).
    pub progress_notify: bool,
    /// Watches: the API's `sendInitialEvents`. `Some(true)` sends the
    /// current state, then (with bookmarks allowed) a bookmark marking the
    /// end of the initial events; `Some(false)` sends no initial state;
    /// `None` keeps the legacy rule (initial state for `""` and `"0"`).
    pub send_initial_events: Option<bool>,
}

/// Conditions a write's target must meet (Go: `storage.Preconditions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// The object's `metadata.uid` must be this.
    pub uid: Option<String>,
    /// The object's `metadata.resourceVersion` must be this.
    pub resource_version: Option<String>,
}

impl Preconditions {
    /// Checks `object` (stored at `key`), with Go's messages.
    pub fn check(&self, key: &str, object: &Value) -> Result<()> {
        let meta = &object["metadata"];
        if let Some(uid) = &self.uid {
            let actual = meta["uid"].as_str().unwrap_or_default();
            if uid != actual {
                return Err(Error::PreconditionFailed {
                    key: key.to_owned(),
                    message: format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                    ),
                });
            }
        }
        if let Some(rv) = &self.resource_version {
            let actual = meta["resourceVersion"].as_str().unwrap_or_default();
            if rv != actual {
                return Err(Error::PreconditionFailed {
                    key: key.to_owned(),
                    message: format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// One page of a list.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ObjectList {
    /// The objects, ordered by key.
    pub items: Vec<Object>,
    /// The revision the list was read at.
    pub resource_version: i64,
    /// The token for the next page, when there is one.
    pub continue_token: Option<String>,
    /// How many items remain after this page (only for unfiltered lists).
    pub remaining_item_count: Option<i64>,
}

/// Object counts of a resource (Go: `storage.Stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// How many objects are stored.
    pub object_count: i64,
}

/// Kubernetes object storage over a backend, for keys under one prefix
/// (kube-apiserver's `--etcd-prefix`, `/registry` by default).
#[derive(Clone)]
pub struct ObjectStore {
    backend: Arc<dyn Backend>,
    path_prefix: String,
}

impl fmt::Debug for ObjectStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStore")
            .field("backend", &self.backend.name())
            .field("path_prefix", &self.path_prefix)
            .finish()
    }
}

impl ObjectStore {
    /// Storage for keys under `path_prefix` (e.g. `/registry`).
    pub fn new(backend: Arc<dyn Backend>, path_prefix: &str) -> Self {
        let mut path_prefix = path_prefix.trim_end_matches('/').to_owned();
        path_prefix.push('/');
        Self {
            backend,
            path_prefix,
        }
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Stores a new object at `key`; its `metadata.resourceVersion` must be
    /// unset. Returns the object as stored, with its resourceVersion.
    pub async fn create(&self, key: &str, object: Value) -> Result<Value> {
        let full_key = self.prepare_key(key, false)?;
        if resource_version_of(&object).is_some_and(|rv| !rv.is_empty()) {
            return Err(Error::InvalidRequest(
                "resourceVersion should not be set on objects to be created".to_owned(),
            ));
        }
        let bytes = encode(&object)?;
        match self.backend.create(&full_key, bytes).await? {
            TxnOutcome::Succeeded { revision, .. } => Ok(with_resource_version(object, revision)),
            TxnOutcome::Failed { .. } => Err(Error::KeyExists { key: full_key }),
        }
    }

    /// Reads the object at `key`.
    pub async fn get(&self, key: &str, options: &GetOptions) -> Result<Option<Value>> {
        let full_key = self.prepare_key(key, false)?;
        let minimum = parse_resource_version(&options.resource_version)?;
        let response = self
            .backend
            .range(RangeRequest {
                key: full_key.clone(),
                ..RangeRequest::default()
            })
            .await?;
        check_minimum_resource_version(minimum, response.revision)?;
        match response.kvs.into_iter().next() {
            Some(kv) => Ok(Some(decode(&kv)?)),
            None if options.ignore_not_found => Ok(None),
            None => Err(Error::KeyNotFound { key: full_key }),
        }
    }

    /// Lists the object at `key`, or every object under it when
    /// `options.recursive`.
    pub async fn get_list(&self, key: &str, options: &ListOptions) -> Result<ObjectList> {
        let key_prefix = self.prepare_key(key, options.recursive)?;
        let predicate = &options.predicate;
        let paging = options.recursive && predicate.limit > 0;
        let (mut revision, continue_key) = self.validate_list_options(&key_prefix, options)?;
        let minimum = match options.resource_version_match {
            Some(ResourceVersionMatch::Exact) => None,
            _ => parse_resource_version(&options.resource_version)?,
        };

        let mut items = Vec::new();
        let mut start_key = continue_key;
        let mut fetch_limit = if paging { predicate.limit } else { 0 };
        let mut last_key: Option<String> = None;
        let mut has_more;
        let mut count;
        loop {
            let response = self
                .backend
                .range(RangeRequest {
                    key: key_prefix.clone(),
                    prefix: options.recursive,
                    start_key: start_key.clone(),
                    revision,
                    limit: fetch_limit,
                    count_only: false,
                })
                .await
                .map_err(|err| {
                    list_error(
                        err,
                        !predicate.continue_token.is_empty(),
                        &start_key,
                        &key_prefix,
                    )
                })?;
            if revision == 0 {
                check_minimum_resource_version(minimum, response.revision)?;
                revision = response.revision;
            }
            count = response.count;
            has_more = response.more;
            let mut limit_reached = false;
            let fetched = response.kvs.len();
            for kv in response.kvs {
                if paging && items.len() as i64 >= predicate.limit {
                    limit_reached = true;
                    break;
                }
                let object = decode(&kv)?;
                last_key = Some(kv.key);
                if predicate.matches(&object) {
                    items.push(Object::from_value(object));
                }
            }
            has_more = has_more || limit_reached;
            if limit_reached || !response.more || !paging || items.len() as i64 >= predicate.limit {
                break;
            }
            if fetched == 0 {
                return Err(Error::Backend(
                    "no results were found, but the backend indicated there were more".into(),
                ));
            }
            start_key = last_key.as_ref().map(|k| format!("{k}\u{0}"));
            // Filters dropped objects: fetch more per round, up to a cap.
            fetch_limit = (fetch_limit * 2).min(MAX_PAGE_FETCH);
        }

        let mut continue_token = None;
        let mut remaining_item_count = None;
        if let (true, Some(last)) = (has_more, &last_key) {
            continue_token = continue_token::encode(&format!("{last}\u{0}"), &key_prefix, revision);
            if predicate.is_everything() {
                remaining_item_count = Some(count - predicate.limit);
            }
        }
        Ok(ObjectList {
            items,
            resource_version: revision,
            continue_token,
            remaining_item_count,
        })
    }

    /// Replaces the object at `key` with what `try_update` makes of the
    /// current one, retrying with the fresh object when another writer got
    /// there first (Go: `GuaranteedUpdate`). When `try_update` returns the
    /// same serialized object, nothing is written. With `ignore_not_found`, a
    /// missing object reaches `try_update` as `Value::Null` and the result is
    /// created. `cached` is a hint for the current object; a stale hint only
    /// costs a retry.
    pub async fn guaranteed_update<F, Fut>(
        &self,
        key: &str,
        ignore_not_found: bool,
        preconditions: Option<&Preconditions>,
        mut try_update: F,
        cached: Option<Value>,
    ) -> Result<Value>
    where
        F: FnMut(Value) -> Fut + Send,
        Fut: Future<Output = Result<Value>> + Send,
    {
        let full_key = self.prepare_key(key, false)?;
        let mut current = match cached.and_then(|object| self.cached_state(&full_key, object)) {
            Some(state) => Some(state),
            None => self.read_state(&full_key).await?,
        };
        loop {
            let input = match &current {
                Some(state) => state.object.clone(),
                None if ignore_not_found => Value::Null,
                None => return Err(Error::KeyNotFound { key: full_key }),
            };
            if let (Some(preconditions), Some(state)) = (preconditions, &current) {
                preconditions.check(&full_key, &state.object)?;
            }
            let output = try_update(input).await?;
            let bytes = encode(&output)?;
            let outcome = match &current {
                Some(state) if state.raw == bytes => {
                    // No change: answer with what is stored.
                    return Ok(state.object.clone());
                }
                Some(state) => {
                    self.backend
                        .update(&full_key, bytes, state.mod_revision)
                        .await?
                }
                None => self.backend.create(&full_key, bytes).await?,
            };
            match outcome {
                TxnOutcome::Succeeded { revision, .. } => {
                    return Ok(with_resource_version(output, revision));
                }
                TxnOutcome::Failed { current: fresh } => {
                    tracing::debug!(key = %full_key, "update conflicted; retrying with the current object");
                    current = fresh.map(|kv| State::from_kv(&kv)).transpose()?;
                }
            }
        }
    }

    /// Deletes the object at `key` if it meets `preconditions` and
    /// `validate_deletion` accepts it, retrying when it changed meanwhile.
    /// Returns the deleted object, its resourceVersion that of the delete.
    pub async fn delete<V>(
        &self,
        key: &str,
        preconditions: Option<&Preconditions>,
        mut validate_deletion: V,
        cached: Option<Value>,
    ) -> Result<Value>
    where
        V: FnMut(&Value) -> Result<()> + Send,
    {
        let full_key = self.prepare_key(key, false)?;
        let mut current = match cached.and_then(|object| self.cached_state(&full_key, object)) {
            Some(state) => Some(state),
            None => self.read_state(&full_key).await?,
        };
        loop {
            let Some(state) = current else {
                return Err(Error::KeyNotFound { key: full_key });
            };
            if let Some(preconditions) = preconditions {
                preconditions.check(&full_key, &state.object)?;
            }
            validate_deletion(&state.object)?;
            match self.backend.delete(&full_key, state.mod_revision).await? {
                TxnOutcome::Succeeded { revision, prev } => {
                    let deleted = match prev {
                        Some(prev) => decode(&prev)?,
                        None => state.object,
                    };
                    return Ok(with_resource_version(deleted, revision));
                }
                TxnOutcome::Failed { current: fresh } => {
                    current = fresh.map(|kv| State::from_kv(&kv)).transpose()?;
                }
            }
        }
    }

    /// Watches the object at `key`, or every object under it when
    /// `options.recursive`, from `options.resource_version`: "" and "0" first
    /// send the current state as ADDED events; a revision N sends every
    /// change after N (410 Expired when N has been compacted).
    pub async fn watch(&self, key: &str, options: &ListOptions) -> Result<ObjectWatch> {
        let full_key = self.prepare_key(key, options.recursive)?;
        let start = parse_resource_version(&options.resource_version)?.unwrap_or(0);
        let initial_state = options.send_initial_events.unwrap_or(start == 0);
        let mut initial = Vec::new();
        let from_revision = if start == 0 || initial_state {
            let response = self
                .backend
                .range(RangeRequest {
                    key: full_key.clone(),
                    prefix: options.recursive,
                    revision: start,
                    ..RangeRequest::default()
                })
                .await
                .map_err(watch_error)?;
            if initial_state {
                for kv in &response.kvs {
                    let object = decode(kv)?;
                    if options.predicate.matches(&object) {
                        initial.push(Ok(WatchEvent::Added(Object::from_value(object))));
                    }
                }
                if options.send_initial_events == Some(true) && options.progress_notify {
                    initial.push(Ok(WatchEvent::Bookmark {
                        resource_version: response.revision,
                        initial_events_end: true,
                    }));
                }
            }
            response.revision + 1
        } else {
            start + 1
        };
        let stream = self
            .backend
            .watch(&full_key, from_revision, options.progress_notify)
            .await
            .map_err(watch_error)?;
        let predicate = options.predicate.clone();
        let exact_key = (!options.recursive).then(|| full_key.clone());
        let progress_notify = options.progress_notify;
        let events = stream.flat_map(move |response| {
            let out: Vec<Result<WatchEvent>> = match response {
                Err(err) => vec![Err(watch_error(err))],
                Ok(WatchResponse::Progress { revision }) if progress_notify => {
                    vec![Ok(WatchEvent::Bookmark {
                        resource_version: revision,
                        initial_events_end: false,
                    })]
                }
                Ok(WatchResponse::Progress { .. }) => Vec::new(),
                Ok(WatchResponse::Events(events)) => events
                    .iter()
                    .filter(|event| exact_key.as_deref().is_none_or(|k| event.key() == k))
                    .filter_map(|event| translate(event, &predicate).transpose())
                    .collect(),
            };
            futures::stream::iter(out)
        });
        Ok(Box::pin(futures::stream::iter(initial).chain(events)))
    }

    /// How many objects are stored under `key` (a prefix).
    pub async fn count(&self, key: &str) -> Result<i64> {
        let prefix = self.prepare_key(key, true)?;
        let response = self
            .backend
            .range(RangeRequest {
                key: prefix,
                prefix: true,
                count_only: true,
                ..RangeRequest::default()
            })
            .await?;
        Ok(response.count)
    }

    /// Object counts under `key` (a prefix).
    pub async fn stats(&self, key: &str) -> Result<Stats> {
        Ok(Stats {
            object_count: self.count(key).await?,
        })
    }

    /// The current revision of the backend, as a resourceVersion.
    pub async fn current_resource_version(&self) -> Result<i64> {
        self.backend.current_revision().await
    }

    /// Mirrors Go's `PrepareKey` + the etcd3 store's path prefixing.
    fn prepare_key(&self, key: &str, recursive: bool) -> Result<String> {
        let invalid = || Error::InvalidRequest(format!("invalid key: {key:?}"));
        if key == ".."
            || key.starts_with("../")
            || key.ends_with("/..")
            || key.contains("/../")
            || key == "."
            || key.starts_with("./")
            || key.ends_with("/.")
            || key.contains("/./")
        {
            return Err(invalid());
        }
        if key.is_empty() || key == "/" {
            return Err(Error::InvalidRequest(format!("empty key: {key:?}")));
        }
        let mut full = format!("{}{}", self.path_prefix, key.trim_start_matches('/'));
        if recursive && !full.ends_with('/') {
            full.push('/');
        }
        Ok(full)
    }

    /// Mirrors Go's `ValidateListOptions`: the revision to read at (0: the
    /// latest) and the key to start at.
    fn validate_list_options(
        &self,
        key_prefix: &str,
        options: &ListOptions,
    ) -> Result<(i64, Option<String>)> {
        let predicate = &options.predicate;
        if options.recursive && !predicate.continue_token.is_empty() {
            let (key, revision) = continue_token::decode(&predicate.continue_token, key_prefix)
                .map_err(|e| StatusError::bad_request(format!("invalid continue token: {e}")))?;
            if !options.resource_version.is_empty() && options.resource_version != "0" {
                return Err(StatusError::bad_request(
                    "specifying resource version is not allowed when using continue",
                )
                .into());
            }
            // A negative revision continues at the latest one.
            return Ok((revision.max(0), Some(key)));
        }
        let Some(parsed) = parse_resource_version(&options.resource_version)? else {
            return Ok((0, None));
        };
        let revision = match options.resource_version_match {
            Some(ResourceVersionMatch::NotOlderThan) => 0,
            Some(ResourceVersionMatch::Exact) => parsed,
            // Legacy: a limited list at a revision reads at that revision.
            None if options.recursive && predicate.limit > 0 && parsed > 0 => parsed,
            None => 0,
        };
        Ok((revision, None))
    }

    fn cached_state(&self, key: &str, object: Value) -> Option<State> {
        // A hint is only usable when it knows its revision.
        let mod_revision = resource_version_of(&object)?.parse().ok()?;
        let raw = encode(&object).ok()?;
        let _ = key;
        Some(State {
            object,
            raw,
            mod_revision,
        })
    }

    async fn read_state(&self, key: &str) -> Result<Option<State>> {
        let response = self
            .backend
            .range(RangeRequest {
                key: key.to_owned(),
                ..RangeRequest::default()
            })
            .await?;
        response.kvs.first().map(State::from_kv).transpose()
    }
}

/// An object as read: decoded, its stored bytes, and its revision.
struct State {
    object: Value,
    raw: Bytes,
    mod_revision: i64,
}

impl State {
    fn from_kv(kv: &KeyValue) -> Result<Self> {
        Ok(Self {
            object: decode(kv)?,
            raw: kv.value.clone(),
            mod_revision: kv.mod_revision,
        })
    }
}

/// The event a write means for a watcher with `predicate` (Go:
/// `watchChan.transform`), or `None` when it does not concern it.
fn translate(event: &Event, predicate: &SelectionPredicate) -> Result<Option<WatchEvent>> {
    Ok(match event {
        Event::Put { kv, prev } => {
            let current = decode(kv)?;
            let previous = prev.as_ref().map(decode).transpose()?;
            let now = predicate.matches(&current);
            let before = previous.as_ref().is_some_and(|p| predicate.matches(p));
            match (previous.is_some(), before, now) {
                (false, _, true) => Some(WatchEvent::Added(current.into())),
                (false, _, false) => None,
                (true, true, true) => Some(WatchEvent::Modified(current.into())),
                (true, false, true) => Some(WatchEvent::Added(current.into())),
                (true, true, false) => {
                    // It left the selection: the watcher sees it deleted, as of
                    // this revision.
                    let gone = previous.map(|p| with_resource_version(p, kv.mod_revision));
                    gone.map(|object| WatchEvent::Deleted(object.into()))
                }
                (true, false, false) => None,
            }
        }
        Event::Delete { revision, prev, .. } => {
            let previous = decode(prev)?;
            predicate
                .matches(&previous)
                .then(|| WatchEvent::Deleted(with_resource_version(previous, *revision).into()))
        }
    })
}

/// Serializes an object for storage, without its resourceVersion.
fn encode(object: &Value) -> Result<Bytes> {
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        meta.remove("selfLink");
    }
    serde_json::to_vec(&object)
        .map(|json| Bytes::from(json.into_boxed_slice()))
        .map_err(|e| Error::InvalidRequest(format!("object cannot be serialized: {e}")))
}

/// Decodes stored bytes and sets the resourceVersion to the revision that
/// wrote them.
fn decode(kv: &KeyValue) -> Result<Value> {
    let object: Value = serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
        key: kv.key.clone(),
        message: format!("not a JSON object: {e}"),
    })?;
    if !object.get("metadata").is_some_and(Value::is_object) {
        return Err(Error::Corrupt {
            key: kv.key.clone(),
            message: "the object has no metadata".to_owned(),
        });
    }
    Ok(with_resource_version(object, kv.mod_revision))
}

fn resource_version_of(object: &Value) -> Option<&str> {
    object.get("metadata")?.get("resourceVersion")?.as_str()
}

fn with_resource_version(mut object: Value, revision: i64) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "resourceVersion".to_owned(),
            Value::String(revision.to_string()),
        );
    }
    object
}

/// Parses a resourceVersion: "" → `None`; "0" → `Some(0)`; a decimal → it.
/// Anything else is a 400 as in kube-apiserver.
pub fn parse_resource_version(resource_version: &str) -> Result<Option<i64>> {
    if resource_version.is_empty() {
        return Ok(None);
    }
    match resource_version.parse::<i64>() {
        Ok(value) if value >= 0 => Ok(Some(value)),
        _ => Err(StatusError::bad_request(format!(
            "invalid resource version: {resource_version:?} is not a valid resource version"
        ))
        .into()),
    }
}

/// Fails when the data read (at `actual`) is older than `minimum` (Go:
/// `validateMinimumResourceVersion`).
fn check_minimum_resource_version(minimum: Option<i64>, actual: i64) -> Result<()> {
    match minimum {
        Some(minimum) if minimum > actual => Err(too_large_resource_version(minimum, actual)),
        _ => Ok(()),
    }
}

/// Go: `NewTooLargeResourceVersionError`.
fn too_large_resource_version(minimum: i64, current: i64) -> Error {
    StatusError::timeout(
        format!("Too large resource version: {minimum}, current: {current}"),
        1,
    )
    .with_cause("ResourceVersionTooLarge", "Too large resource version")
    .into()
}

/// Go: `interpretListError`.
fn list_error(err: Error, paging: bool, continue_key: &Option<String>, key_prefix: &str) -> Error {
    match err {
        Error::Compacted { .. } if paging => {
            let token = continue_key
                .as_deref()
                .and_then(|key| continue_token::encode(key, key_prefix, -1));
            match token {
                Some(token) => StatusError::expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                )
                .with_continue(token)
                .into(),
                None => StatusError::expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                )
                .into(),
            }
        }
        Error::Compacted { .. } => {
            StatusError::expired("The resourceVersion for the provided list is too old.").into()
        }
        Error::FutureRevision { requested, current } => {
            too_large_resource_version(requested, current)
        }
        other => other,
    }
}

/// Go: `interpretWatchError`.
fn watch_error(err: Error) -> Error {
    match err {
        Error::Compacted { .. } => {
            StatusError::expired("The resourceVersion for the provided watch is too old.").into()
        }
        other => other,
    }
}
