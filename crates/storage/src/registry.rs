//! The generic registry store: Kubernetes' metadata rules over an
//! [`ObjectStore`] for one resource, driven by a [`Strategy`].
//!
//! Mirrors `k8s.io/apiserver/pkg/registry/generic/registry.Store` with the
//! `pkg/registry/rest` helpers it calls (`BeforeCreate`, `BeforeUpdate`,
//! `BeforeDelete`, `FillObjectMetaSystemFields`,
//! `EnsureObjectNamespaceMatchesRequestNamespace`), its dry-run storage
//! (`dryrun.go`) and `pkg/storage/errors`. Objects are JSON with metadata
//! at `/metadata`.
//!
//! Deliberate differences from Go:
//! - there are no admission callbacks, Begin/After hooks, decorators or
//!   TTLs; the REST layer runs admission around these calls;
//! - a delete returns the object (deleted, or pending with its
//!   `deletionTimestamp`); turning it into a `Status` body (Go's
//!   `ReturnDeletedObject == false`) is the REST layer's choice;
//! - the garbage-collection finalizers (`orphan`, `foregroundDeletion`) are
//!   added as Go does when garbage collection is enabled (the default), but
//!   kapi has no garbage collector yet: nothing removes them, so an object
//!   deleted with `propagationPolicy: Orphan` or `Foreground` stays until a
//!   client removes the finalizer (or use [`Store::with_garbage_collection`]
//!   to disable them);
//! - `managedFields` timestamps are not special-cased (server-side apply
//!   lives in the REST layer).
//!
//! Keys: `<key root>/<namespace>/<name>` for namespaced resources and
//! `<key root>/<name>` for cluster-scoped ones, below the [`ObjectStore`]'s
//! prefix (`/registry`). The default key root is the resource for the core
//! group (`/registry/configmaps/ns/x`, kube-apiserver's layout) and
//! `<group>/<resource>` otherwise (`/registry/coordination.k8s.io/leases/ns/x`,
//! the generic apiserver's layout); [`Store::with_key_root`] chooses another.

// StatusError is what every caller answers with; boxing it would only move
// the allocation.

mod errors;
mod names;
mod strategy;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::future;
use kapi_core::field::{Error as FieldError, ErrorList, Path};
use kapi_core::go::quote as go_quote;
use kapi_core::selector::{FieldSelector, LabelSelector};
use kapi_core::validation::{
    FINALIZER_DELETE_DEPENDENTS, FINALIZER_ORPHAN_DEPENDENTS, is_path_segment_name,
    path_segment_name, validate_object_meta, validate_object_meta_update,
};
use kapi_core::{StatusError, StatusReason};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::object::Object;
use crate::store::{
    AttrFunc, GetOptions, ListOptions, ObjectList, ObjectStore, Preconditions, SelectionPredicate,
};
use crate::watch::ObjectWatch;
use errors::{Op, interpret};

pub use names::generate_name;
pub use strategy::{GarbageCollectionPolicy, Strategy};

/// Go's `OptimisticLockErrorMsg`.
pub const OPTIMISTIC_LOCK_ERROR_MSG: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

/// How many names a create with `generateName` tries (Go:
/// `maxNameGenerationCreateAttempts`).
pub const MAX_NAME_GENERATION_CREATE_ATTEMPTS: usize = 8;

/// The request a store call serves: its namespace ("" for cluster-scoped
/// requests and lists across namespaces) and the warnings it collects
/// (Go: the request `context.Context` with its namespace and warning
/// recorder).
#[derive(Debug, Default)]
pub struct RequestContext {
    namespace: String,
    warnings: Mutex<Vec<String>>,
}

impl RequestContext {
    /// A request in `namespace` ("" for none).
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            warnings: Mutex::default(),
        }
    }

    /// A request without a namespace (cluster-scoped, or across namespaces).
    pub fn cluster() -> Self {
        Self::default()
    }

    /// The request's namespace ("" for none).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Records a warning for the response's `Warning` headers.
    pub fn add_warning(&self, warning: impl Into<String>) {
        self.warnings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(warning.into());
    }

    /// The warnings recorded so far.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// Options of [`Store::create`] (Go: `metav1.CreateOptions`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CreateOptions {
    /// `dryRun=All`: validate, answer as if created, write nothing.
    pub dry_run: bool,
}

/// Options of [`Store::update`] (Go: `metav1.UpdateOptions` plus the
/// update's preconditions and `forceAllowCreate`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UpdateOptions {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// Create a missing object even if the strategy does not allow create
    /// on update (server-side apply).
    pub force_allow_create: bool,
    /// Conditions on the stored object (Go: `UpdatedObjectInfo.Preconditions`,
    /// the body's uid for a PUT).
    pub preconditions: Preconditions,
}

/// Options of [`Store::delete`] (Go: `metav1.DeleteOptions`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DeleteOptions {
    /// `gracePeriodSeconds`.
    pub grace_period_seconds: Option<i64>,
    /// `preconditions` (uid, resourceVersion).
    pub preconditions: Preconditions,
    /// `propagationPolicy`: `Orphan`, `Background` or `Foreground` (other
    /// values are rejected with Go's 422).
    pub propagation_policy: Option<String>,
    /// The deprecated `orphanDependents`.
    pub orphan_dependents: Option<bool>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

/// The labels and fields of an object for selectors: its labels, and
/// `metadata.name` plus, for namespaced resources, `metadata.namespace`
/// (Go: `storage.DefaultNamespaceScopedAttr` / `DefaultClusterScopedAttr`).
pub fn default_attrs(
    object: &Value,
    namespaced: bool,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let meta = &object["metadata"];
    let labels = meta["labels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let mut fields = BTreeMap::new();
    let text = |field: &str| meta[field].as_str().unwrap_or_default().to_owned();
    fields.insert("metadata.name".to_owned(), text("name"));
    if namespaced {
        fields.insert("metadata.namespace".to_owned(), text("namespace"));
    }
    (labels, fields)
}

/// The generic store of one resource (Go: `genericregistry.Store`).
#[derive(Clone)]
pub struct Store {
    storage: ObjectStore,
    group: String,
    resource: String,
    kind: String,
    key_root: String,
    strategy: Arc<dyn Strategy>,
    garbage_collection: bool,
    attrs: AttrFunc,
    cacher: Option<crate::cacher::Cacher>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("resource", &self.qualified_resource())
            .field("kind", &self.kind)
            .field("key_root", &self.key_root)
            .field("strategy", &self.strategy)
            .field("garbage_collection", &self.garbage_collection)
            .field("watch_cache", &self.cacher.is_some())
            .finish()
    }
}

/// What a delete's read-modify-write decided (Go's `errDeleteNow`,
/// `errAlreadyDeleting` sentinels).
enum DeleteStep {
    Now,
    AlreadyDeleting,
}

impl Store {
    /// The store of `resource` (plural, lowercase) in `group` ("" for core)
    /// whose objects are of `kind`.
    pub fn new(
        storage: ObjectStore,
        group: &str,
        resource: &str,
        kind: &str,
        strategy: Arc<dyn Strategy>,
    ) -> Self {
        let key_root = if group.is_empty() {
            format!("/{resource}")
        } else {
            format!("/{group}/{resource}")
        };
        let namespaced = strategy.namespace_scoped();
        Self {
            storage,
            group: group.to_owned(),
            resource: resource.to_owned(),
            kind: kind.to_owned(),
            key_root,
            strategy,
            garbage_collection: true,
            attrs: Arc::new(move |object: &Value| default_attrs(object, namespaced)),
            cacher: None,
        }
    }

    /// Stores objects under `key_root` (e.g. `/leases`) instead of the
    /// default.
    pub fn with_key_root(mut self, key_root: &str) -> Self {
        self.key_root = format!("/{}", key_root.trim_matches('/'));
        self
    }

    /// Serves lists, watches and gets at a resourceVersion from a watch
    /// cache of this resource (`--watch-cache`); writes still go to storage.
    /// Call after [`with_key_root`](Self::with_key_root), inside a tokio
    /// runtime.
    pub fn with_watch_cache(mut self, options: crate::cacher::CacherOptions) -> Self {
        self.cacher = Some(crate::cacher::Cacher::new(
            self.storage.clone(),
            &self.key_root,
            options,
        ));
        self
    }

    /// The watch cache, when this store has one.
    pub fn watch_cache(&self) -> Option<&crate::cacher::Cacher> {
        self.cacher.as_ref()
    }

    /// Turns the garbage-collection finalizers on deletes on or off (Go:
    /// `EnableGarbageCollection`, on by default).
    pub fn with_garbage_collection(mut self, enabled: bool) -> Self {
        self.garbage_collection = enabled;
        self
    }

    /// Reads selectable labels and fields with `attrs` instead of
    /// [`default_attrs`] (resources with extra field selectors).
    pub fn with_attrs(mut self, attrs: AttrFunc) -> Self {
        self.attrs = attrs;
        self
    }

    /// `resource[.group]`, as messages name it (Go: `GroupResource.String`).
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    /// The strategy.
    pub fn strategy(&self) -> &Arc<dyn Strategy> {
        &self.strategy
    }

    /// The key root (`/configmaps`).
    pub fn key_root(&self) -> &str {
        &self.key_root
    }

    /// A predicate selecting objects by label and field selectors with
    /// this store's attributes.
    pub fn predicate(&self, labels: LabelSelector, fields: FieldSelector) -> SelectionPredicate {
        SelectionPredicate::from_selectors(labels, fields, self.attrs.clone())
    }

    /// The key of object `name` in the request's namespace (Go:
    /// `NamespaceKeyFunc` / `NoNamespaceKeyFunc`).
    pub fn key(&self, ctx: &RequestContext, name: &str) -> Result<String, StatusError> {
        if self.strategy.namespace_scoped() && ctx.namespace().is_empty() {
            return Err(StatusError::bad_request("Namespace parameter required."));
        }
        if name.is_empty() {
            return Err(StatusError::bad_request("Name parameter required."));
        }
        let msgs = is_path_segment_name(name);
        if !msgs.is_empty() {
            return Err(StatusError::bad_request(format!(
                "Name parameter invalid: {}: {}",
                go_quote(name),
                msgs.join(";")
            )));
        }
        Ok(format!("{}/{name}", self.key_root_for(ctx)))
    }

    /// Creates `object` (Go: `Store.Create`): sets uid and
    /// creationTimestamp, resolves `generateName` (retrying on collision),
    /// takes the request's namespace, runs the strategy and validation
    /// (422), and stores it (409 when it exists).
    pub async fn create(
        &self,
        ctx: &RequestContext,
        object: Value,
        options: &CreateOptions,
    ) -> Result<Value, StatusError> {
        check_object(&object)?;
        let meta = &object["metadata"];
        let generates = meta["name"].as_str().unwrap_or_default().is_empty()
            && !meta["generateName"].as_str().unwrap_or_default().is_empty();
        let attempts = if generates {
            MAX_NAME_GENERATION_CREATE_ATTEMPTS
        } else {
            1
        };
        let mut result = Err(StatusError::internal("no create attempt was made"));
        for _ in 0..attempts {
            result = self.create_once(ctx, object.clone(), options).await;
            match &result {
                Err(err) if err.reason() == StatusReason::AlreadyExists => continue,
                _ => return result,
            }
        }
        result
    }

    async fn create_once(
        &self,
        ctx: &RequestContext,
        mut object: Value,
        options: &CreateOptions,
    ) -> Result<Value, StatusError> {
        fill_system_fields(&mut object);
        let generate_name = meta_str(&object, "generateName").to_owned();
        if !generate_name.is_empty() && meta_str(&object, "name").is_empty() {
            let name = self.strategy.generate_name(&generate_name);
            set_meta(&mut object, "name", Value::String(name));
        }
        self.before_create(ctx, &mut object)?;
        let name = meta_str(&object, "name").to_owned();
        let key = self.key(ctx, &name)?;
        let result = if options.dry_run {
            match self.storage.get(&key, &ignore_not_found()).await {
                Ok(Some(_)) => Err(Error::KeyExists { key: key.clone() }),
                Ok(None) => return Ok(object),
                Err(err) => Err(err),
            }
        } else {
            self.storage.create(&key, object.clone()).await
        };
        match result {
            Ok(created) => Ok(created),
            Err(err) => Err(self
                .create_error(err, &key, &name, !generate_name.is_empty())
                .await),
        }
    }

    /// Reads object `name` (Go: `Store.Get`).
    pub async fn get(
        &self,
        ctx: &RequestContext,
        name: &str,
        options: &GetOptions,
    ) -> Result<Value, StatusError> {
        self.get_object(ctx, name, options)
            .await
            .map(Object::into_value)
    }

    /// Like [`get`](Self::get), as the shared, already-encoded object
    /// (from the watch cache, its cached bytes).
    pub async fn get_object(
        &self,
        ctx: &RequestContext,
        name: &str,
        options: &GetOptions,
    ) -> Result<Object, StatusError> {
        let key = self.key(ctx, name)?;
        let options = GetOptions {
            ignore_not_found: false,
            ..options.clone()
        };
        let read = match &self.cacher {
            Some(cacher) => cacher.get(&key, &options).await,
            None => self
                .storage
                .get(&key, &options)
                .await
                .map(|object| object.map(Object::from_value)),
        };
        match read {
            Ok(Some(object)) => Ok(object),
            Ok(None) => Err(StatusError::not_found(&self.qualified_resource(), name)),
            Err(err) => Err(interpret(err, Op::Get, &self.qualified_resource(), name)),
        }
    }

    /// Lists the objects of the request's namespace, or of every namespace
    /// when it has none (Go: `Store.List`); a `metadata.name=x` field
    /// selector reads just that key.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        options: &ListOptions,
    ) -> Result<ObjectList, StatusError> {
        let (key, recursive) = self.list_key(ctx, &options.predicate);
        let options = ListOptions {
            recursive,
            ..options.clone()
        };
        let listed = match &self.cacher {
            Some(cacher) => cacher.get_list(&key, &options).await,
            None => self.storage.get_list(&key, &options).await,
        };
        listed.map_err(|err| interpret(err, Op::List, &self.qualified_resource(), ""))
    }

    /// Watches the request's namespace (or every namespace), or one object
    /// for a `metadata.name=x` field selector (Go: `Store.Watch`).
    pub async fn watch(
        &self,
        ctx: &RequestContext,
        options: &ListOptions,
    ) -> Result<ObjectWatch, StatusError> {
        let (key, recursive) = self.list_key(ctx, &options.predicate);
        let options = ListOptions {
            recursive,
            ..options.clone()
        };
        let watch = match &self.cacher {
            Some(cacher) => {
                cacher
                    .watch(
                        &key,
                        &options,
                        options.send_initial_events,
                        options.progress_notify,
                    )
                    .await
            }
            None => self.storage.watch(&key, &options).await,
        };
        watch.map_err(|err| interpret(err, Op::Watch, &self.qualified_resource(), ""))
    }

    /// Updates object `name` with what `updater` makes of the stored one
    /// (`None` when missing), retried on write conflicts (Go:
    /// `Store.Update`). Returns the stored object and whether it was
    /// created. The body's resourceVersion is a precondition (409); an
    /// empty one is 422 unless the strategy allows unconditional updates;
    /// an update emptying the finalizers of a deleting object deletes it.
    pub async fn update<F>(
        &self,
        ctx: &RequestContext,
        name: &str,
        mut updater: F,
        options: &UpdateOptions,
    ) -> Result<(Value, bool), StatusError>
    where
        F: FnMut(Option<Value>) -> Result<Value, StatusError> + Send,
    {
        let key = self.key(ctx, name)?;
        let resource = self.qualified_resource();
        let allow_create = self.strategy.allow_create_on_update() || options.force_allow_create;
        let mut creating = false;
        let mut generated = false;
        let mut emptied: Option<Value> = None;
        let try_update = |existing: Value| {
            let result = self.try_update(
                ctx,
                name,
                existing,
                allow_create,
                &mut updater,
                &mut creating,
                &mut generated,
                &mut emptied,
            );
            future::ready(result)
        };
        let result = self
            .update_storage(
                &key,
                allow_create,
                &options.preconditions,
                try_update,
                options.dry_run,
            )
            .await;
        match result {
            Ok(object) => Ok((object, creating)),
            Err(_) if emptied.is_some() => {
                let object = emptied.unwrap_or_default();
                let deleted = self
                    .delete_storage(&key, &options.preconditions, options.dry_run)
                    .await;
                match deleted {
                    Ok(_) | Err(Error::KeyNotFound { .. }) => Ok((object, false)),
                    Err(err) => Err(interpret(err, Op::Delete, &resource, name)),
                }
            }
            Err(err) if creating => Err(self.create_error(err, &key, name, generated).await),
            Err(err) => Err(interpret(err, Op::Update, &resource, name)),
        }
    }

    /// Deletes object `name` (Go: `Store.Delete`). Returns the object and
    /// whether it is gone now: an object with finalizers, or deleted
    /// gracefully, stays with `deletionTimestamp` set (`false`).
    pub async fn delete(
        &self,
        ctx: &RequestContext,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<(Value, bool), StatusError> {
        let key = self.key(ctx, name)?;
        let resource = self.qualified_resource();
        let mut object = match self.storage.get(&key, &GetOptions::default()).await {
            Ok(Some(object)) => object,
            Ok(None) => return Err(StatusError::not_found(&resource, name)),
            Err(err) => return Err(interpret(err, Op::Delete, &resource, name)),
        };
        let mut options = options.clone();
        let (graceful, pending_graceful) = self.before_delete(&mut object, &mut options)?;
        if pending_graceful {
            return Ok((object, false));
        }
        let pending_finalizers =
            !finalizers(&object).is_empty() || self.strategy.blocks_deletion(&object);
        let (update_finalizers, _) = self.gc_finalizers(&object, &options);
        let mut preconditions = options.preconditions.clone();
        let mut ignore_not_found = false;
        let mut last_existing: Option<Value> = None;
        let mut out: Option<Value> = None;
        if graceful || pending_finalizers || update_finalizers {
            let mut step: Option<DeleteStep> = None;
            let mut pending = false;
            let mut last_graceful = 0;
            let try_update = |existing: Value| {
                let result = self.try_graceful_delete(
                    existing,
                    &options,
                    &mut step,
                    &mut pending,
                    &mut last_graceful,
                    &mut last_existing,
                );
                future::ready(result)
            };
            let result = self
                .update_storage(
                    &key,
                    false,
                    &options.preconditions,
                    try_update,
                    options.dry_run,
                )
                .await;
            match (result, step) {
                (Ok(updated), _) => {
                    if pending || last_graceful > 0 {
                        return Ok((updated, false));
                    }
                    ignore_not_found = true;
                    if preconditions.resource_version.is_some() {
                        preconditions.resource_version =
                            Some(meta_str(&updated, "resourceVersion").to_owned());
                    }
                    out = Some(updated);
                }
                (Err(_), Some(DeleteStep::Now)) => {}
                (Err(_), Some(DeleteStep::AlreadyDeleting)) => return Ok((object, false)),
                (Err(err), None) => return Err(interpret(err, Op::Update, &resource, name)),
            }
        }
        if options.dry_run
            && let Some(out) = out
        {
            return Ok((out, true));
        }
        match self
            .delete_storage(&key, &preconditions, options.dry_run)
            .await
        {
            Ok(deleted) => Ok((deleted, true)),
            Err(Error::KeyNotFound { .. }) if ignore_not_found && last_existing.is_some() => {
                Ok((last_existing.unwrap_or_default(), true))
            }
            Err(err) => Err(interpret(err, Op::Delete, &resource, name)),
        }
    }

    /// Deletes every object `list_options` selects in the request's
    /// namespace (Go: `Store.DeleteCollection`); objects that vanish
    /// meanwhile are skipped. Returns what each delete returned.
    pub async fn delete_collection(
        &self,
        ctx: &RequestContext,
        delete_options: &DeleteOptions,
        list_options: &ListOptions,
    ) -> Result<ObjectList, StatusError> {
        let mut list_options = list_options.clone();
        let mut deleted = ObjectList::default();
        loop {
            let page = self.list(ctx, &list_options).await?;
            if deleted.resource_version == 0 {
                deleted.resource_version = page.resource_version;
            }
            for item in &page.items {
                let name = item.name();
                let item_ctx = RequestContext::new(item.namespace());
                match self.delete(&item_ctx, name, delete_options).await {
                    Ok((object, _)) => deleted.items.push(Object::from(object)),
                    Err(err) if err.reason() == StatusReason::NotFound => {}
                    Err(err) => return Err(err),
                }
                for warning in item_ctx.warnings() {
                    ctx.add_warning(warning);
                }
            }
            match page.continue_token {
                Some(token) if list_options.predicate.limit > 0 => {
                    list_options.predicate.continue_token = token;
                    list_options.resource_version = String::new();
                }
                _ => return Ok(deleted),
            }
        }
    }

    fn key_root_for(&self, ctx: &RequestContext) -> String {
        if self.strategy.namespace_scoped() && !ctx.namespace().is_empty() {
            format!("{}/{}", self.key_root, ctx.namespace())
        } else {
            self.key_root.clone()
        }
    }

    fn list_key(&self, ctx: &RequestContext, predicate: &SelectionPredicate) -> (String, bool) {
        if let Some(name) = predicate.matches_single()
            && let Ok(key) = self.key(ctx, name)
        {
            return (key, false);
        }
        (self.key_root_for(ctx), true)
    }

    /// Go: `rest.BeforeCreate` + `ValidateCreate`.
    fn before_create(&self, ctx: &RequestContext, object: &mut Value) -> Result<(), StatusError> {
        self.ensure_namespace(ctx, object)?;
        if self.strategy.tracks_generation() {
            set_meta(object, "generation", Value::from(1));
        }
        self.strategy.prepare_for_create(object);
        let mut errs = self.strategy.validate(object);
        if errs.is_empty() {
            errs = validate_object_meta(
                object,
                self.strategy.namespace_scoped(),
                path_segment_name,
                &Path::new("metadata"),
            );
        }
        if !errs.is_empty() {
            return Err(self.invalid(object, &errs));
        }
        for warning in self.strategy.warnings_on_create(object) {
            ctx.add_warning(warning);
        }
        self.strategy.canonicalize(object);
        Ok(())
    }

    /// Go: `rest.BeforeUpdate` + `ValidateUpdate`.
    fn before_update(
        &self,
        ctx: &RequestContext,
        object: &mut Value,
        old: &Value,
    ) -> Result<(), StatusError> {
        self.ensure_namespace(ctx, object)?;
        let old_meta = &old["metadata"];
        match old_meta.get("generation") {
            Some(generation) if !generation.is_null() => {
                set_meta(object, "generation", generation.clone());
            }
            _ => remove_meta(object, "generation"),
        }
        self.strategy.prepare_for_update(object, old);
        if self.strategy.tracks_generation() && spec_changed(object, old) {
            let next = old_meta["generation"]
                .as_i64()
                .unwrap_or(0)
                .saturating_add(1);
            set_meta(object, "generation", Value::from(next));
        }
        if meta_str(object, "uid").is_empty() {
            set_meta(object, "uid", old_meta["uid"].clone());
        }
        for field in ["creationTimestamp", "deletionTimestamp"] {
            if !old_meta[field].as_str().unwrap_or_default().is_empty() {
                set_meta(object, field, old_meta[field].clone());
            }
        }
        if !old_meta["deletionGracePeriodSeconds"].is_null()
            && object["metadata"]["deletionGracePeriodSeconds"].is_null()
        {
            set_meta(
                object,
                "deletionGracePeriodSeconds",
                old_meta["deletionGracePeriodSeconds"].clone(),
            );
        }
        let metadata = Path::new("metadata");
        let mut errs = validate_object_meta(
            object,
            self.strategy.namespace_scoped(),
            path_segment_name,
            &metadata,
        );
        errs.extend(validate_object_meta_update(object, old, &metadata));
        errs.extend(self.strategy.validate_update(object, old));
        if !errs.is_empty() {
            return Err(self.invalid(object, &errs));
        }
        for warning in self.strategy.warnings_on_update(object, old) {
            ctx.add_warning(warning);
        }
        self.strategy.canonicalize(object);
        Ok(())
    }

    /// One attempt of an update's read-modify-write (Go: the closure
    /// `Store.Update` hands to `GuaranteedUpdate`).
    #[allow(clippy::too_many_arguments)] // the closure's captured state, spelled out
    fn try_update<F>(
        &self,
        ctx: &RequestContext,
        name: &str,
        existing: Value,
        allow_create: bool,
        updater: &mut F,
        creating: &mut bool,
        generated: &mut bool,
        emptied: &mut Option<Value>,
    ) -> Result<Value, Error>
    where
        F: FnMut(Option<Value>) -> Result<Value, StatusError>,
    {
        let resource = self.qualified_resource();
        let existing = (!existing.is_null()).then_some(existing);
        if existing.is_none() && !allow_create {
            return Err(StatusError::not_found(&resource, name).into());
        }
        let mut object = updater(existing.clone())?;
        check_object(&object)?;
        let new_version = object_resource_version(&object)?;
        let Some(existing) = existing else {
            *creating = true;
            *generated = !meta_str(&object, "generateName").is_empty();
            for field in [
                "creationTimestamp",
                "uid",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "selfLink",
                "resourceVersion",
            ] {
                remove_meta(&mut object, field);
            }
            fill_system_fields(&mut object);
            self.before_create(ctx, &mut object)?;
            return Ok(object);
        };
        *creating = false;
        let existing_version = object_resource_version(&existing)?;
        if new_version == 0 {
            if !self.strategy.allow_unconditional_update() {
                let errs = [FieldError::invalid(
                    &Path::new("metadata").child("resourceVersion"),
                    0,
                    "must be specified for an update",
                )];
                // Go names the resource, not the kind, here.
                return Err(StatusError::invalid(&self.group, &self.resource, name, &errs).into());
            }
            set_meta(
                &mut object,
                "resourceVersion",
                Value::String(existing_version.to_string()),
            );
        } else if new_version != existing_version {
            return Err(StatusError::conflict(&resource, name, OPTIMISTIC_LOCK_ERROR_MSG).into());
        }
        self.before_update(ctx, &mut object, &existing)?;
        if should_delete_during_update(&object, &existing)
            && !self.strategy.blocks_deletion(&object)
        {
            *emptied = Some(object);
            return Err(Error::InvalidRequest("finalizers emptied".to_owned()));
        }
        Ok(object)
    }

    /// One attempt of a delete's read-modify-write for graceful deletion
    /// and finalizers (Go: `updateForGracefulDeletionAndFinalizers`).
    fn try_graceful_delete(
        &self,
        mut existing: Value,
        options: &DeleteOptions,
        step: &mut Option<DeleteStep>,
        pending_finalizers: &mut bool,
        last_graceful: &mut i64,
        last_existing: &mut Option<Value>,
    ) -> Result<Value, Error> {
        let mut options = options.clone();
        *step = None;
        let (graceful, pending_graceful) = self.before_delete(&mut existing, &mut options)?;
        if pending_graceful {
            *step = Some(DeleteStep::AlreadyDeleting);
            return Err(Error::InvalidRequest("already deleting".to_owned()));
        }
        let (update, new_finalizers) = self.gc_finalizers(&existing, &options);
        if update {
            set_meta(
                &mut existing,
                "finalizers",
                Value::from(new_finalizers.clone()),
            );
        }
        *pending_finalizers =
            !new_finalizers.is_empty() || self.strategy.blocks_deletion(&existing);
        if !graceful {
            if *pending_finalizers {
                if existing["metadata"]["deletionTimestamp"].is_null() {
                    self.strategy.prepare_for_deletion(&mut existing);
                }
                mark_as_deleting(&mut existing, jiff::Timestamp::now());
                return Ok(existing);
            }
            *step = Some(DeleteStep::Now);
            return Err(Error::InvalidRequest("delete now".to_owned()));
        }
        *last_graceful = options.grace_period_seconds.unwrap_or(0);
        *last_existing = Some(existing.clone());
        Ok(existing)
    }

    /// Go: `rest.BeforeDelete`: validates the options, checks the
    /// preconditions against `object`, and applies graceful deletion.
    /// Returns (graceful, graceful deletion already pending).
    fn before_delete(
        &self,
        object: &mut Value,
        options: &mut DeleteOptions,
    ) -> Result<(bool, bool), StatusError> {
        let errs = validate_delete_options(options);
        if !errs.is_empty() {
            return Err(StatusError::invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                &errs,
            ));
        }
        let kind_resource = if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        };
        let name = meta_str(object, "name").to_owned();
        if let Some(uid) = &options.preconditions.uid {
            let actual = meta_str(object, "uid");
            if uid != actual {
                return Err(StatusError::conflict(
                    &kind_resource,
                    &name,
                    format!(
                        "the UID in the precondition ({uid}) does not match the UID in record ({actual}). The object might have been deleted and then recreated"
                    ),
                ));
            }
        }
        if let Some(rv) = &options.preconditions.resource_version {
            let actual = meta_str(object, "resourceVersion");
            if rv != actual {
                return Err(StatusError::conflict(
                    &kind_resource,
                    &name,
                    format!(
                        "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({actual}). The object might have been modified"
                    ),
                ));
            }
        }
        if options.grace_period_seconds.is_some_and(|g| g < 0) {
            options.grace_period_seconds = Some(1);
        }
        let current_grace = object["metadata"]["deletionGracePeriodSeconds"].as_i64();
        if current_grace.is_some_and(|g| g < 0) {
            set_meta(object, "deletionGracePeriodSeconds", Value::from(1));
        }
        if !self.strategy.supports_graceful_delete() {
            return Ok((false, false));
        }
        let current_grace = object["metadata"]["deletionGracePeriodSeconds"].as_i64();
        let now = jiff::Timestamp::now();
        if let Some(deletion) = timestamp(object, "deletionTimestamp") {
            let Some(current) = current_grace.filter(|&g| g != 0) else {
                return Ok((false, false));
            };
            let Some(mut period) = options.grace_period_seconds else {
                options.grace_period_seconds = Some(current);
                return Ok((false, true));
            };
            if period >= current {
                return Ok((false, true));
            }
            let shifted = deletion
                .as_second()
                .saturating_sub(current)
                .saturating_add(period);
            let mut new_deletion = jiff::Timestamp::from_second(shifted).unwrap_or(now);
            if new_deletion < now {
                new_deletion = now;
                if period != 0 {
                    period = 1;
                }
            }
            set_meta(
                object,
                "deletionTimestamp",
                Value::String(rfc3339(new_deletion)),
            );
            set_meta(object, "deletionGracePeriodSeconds", Value::from(period));
            return Ok((true, false));
        }
        if !self
            .strategy
            .check_graceful_delete(object, &mut options.grace_period_seconds)
        {
            return Ok((false, false));
        }
        let Some(grace) = options.grace_period_seconds else {
            return Err(StatusError::internal(
                "options.GracePeriodSeconds should not be nil",
            ));
        };
        let deletion =
            jiff::Timestamp::from_second(now.as_second().saturating_add(grace)).unwrap_or(now);
        set_meta(
            object,
            "deletionTimestamp",
            Value::String(rfc3339(deletion)),
        );
        set_meta(object, "deletionGracePeriodSeconds", Value::from(grace));
        if let Some(generation) = object["metadata"]["generation"].as_i64().filter(|&g| g > 0) {
            set_meta(
                object,
                "generation",
                Value::from(generation.saturating_add(1)),
            );
        }
        Ok((true, false))
    }

    /// Go: `deletionFinalizersForGarbageCollection`: whether the finalizers
    /// change, and the new list.
    fn gc_finalizers(&self, object: &Value, options: &DeleteOptions) -> (bool, Vec<String>) {
        let current = finalizers(object);
        if !self.garbage_collection {
            return (false, current);
        }
        let policy = self.strategy.default_garbage_collection_policy();
        let supported = policy != GarbageCollectionPolicy::Unsupported;
        let from_finalizers = |orphan_first: bool| {
            current.iter().find_map(|f| match f.as_str() {
                FINALIZER_ORPHAN_DEPENDENTS => Some(orphan_first),
                FINALIZER_DELETE_DEPENDENTS => Some(!orphan_first),
                _ => None,
            })
        };
        let orphan = supported
            && match (
                options.orphan_dependents,
                options.propagation_policy.as_deref(),
            ) {
                (Some(orphan), _) => orphan,
                (None, Some("Orphan")) => true,
                (None, Some("Background" | "Foreground")) => false,
                _ => from_finalizers(true)
                    .unwrap_or(policy == GarbageCollectionPolicy::OrphanDependents),
            };
        let foreground = supported
            && match (
                options.orphan_dependents,
                options.propagation_policy.as_deref(),
            ) {
                (Some(_), _) => false,
                (None, Some("Foreground")) => true,
                (None, Some("Background" | "Orphan")) => false,
                _ => from_finalizers(false).unwrap_or(false),
            };
        let mut new: Vec<String> = current
            .iter()
            .filter(|f| *f != FINALIZER_ORPHAN_DEPENDENTS && *f != FINALIZER_DELETE_DEPENDENTS)
            .cloned()
            .collect();
        if orphan {
            new.push(FINALIZER_ORPHAN_DEPENDENTS.to_owned());
        }
        if foreground {
            new.push(FINALIZER_DELETE_DEPENDENTS.to_owned());
        }
        let as_set = |list: &[String]| {
            list.iter()
                .cloned()
                .collect::<std::collections::BTreeSet<_>>()
        };
        if as_set(&current) == as_set(&new) {
            (false, current)
        } else {
            (true, new)
        }
    }

    /// Go: `EnsureObjectNamespaceMatchesRequestNamespace` with
    /// `ExpectedNamespaceForScope`.
    fn ensure_namespace(
        &self,
        ctx: &RequestContext,
        object: &mut Value,
    ) -> Result<(), StatusError> {
        let expected = if self.strategy.namespace_scoped() {
            ctx.namespace()
        } else {
            ""
        };
        let actual = meta_str(object, "namespace").to_owned();
        if actual == expected {
            Ok(())
        } else if actual.is_empty() {
            set_meta(object, "namespace", Value::String(expected.to_owned()));
            Ok(())
        } else if expected.is_empty() {
            remove_meta(object, "namespace");
            Ok(())
        } else {
            Err(StatusError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ))
        }
    }

    fn invalid(&self, object: &Value, errs: &ErrorList) -> StatusError {
        StatusError::invalid(&self.group, &self.kind, meta_str(object, "name"), errs)
    }

    /// Go: `InterpretCreateError`, `CheckGeneratedNameError`, and the
    /// "object is being deleted: " prefix for a terminating object.
    async fn create_error(
        &self,
        err: Error,
        key: &str,
        name: &str,
        generated: bool,
    ) -> StatusError {
        let resource = self.qualified_resource();
        let mut status = interpret(err, Op::Create, &resource, name);
        if status.reason() != StatusReason::AlreadyExists {
            return status;
        }
        if generated {
            status = StatusError::new(
                http::StatusCode::CONFLICT,
                StatusReason::AlreadyExists,
                format!(
                    "{resource} {} already exists, the server was not able to generate a unique name for the object",
                    go_quote(name)
                ),
            );
            if let Some(details) = StatusError::already_exists(&resource, name)
                .to_status()
                .details
            {
                status = status.with_details(details);
            }
            status = status.with_retry_after(1);
        }
        let terminating = matches!(
            self.storage.get(key, &ignore_not_found()).await,
            Ok(Some(existing)) if !existing["metadata"]["deletionTimestamp"].is_null()
        );
        if terminating {
            let mut prefixed = StatusError::new(
                status.code(),
                status.reason(),
                format!("object is being deleted: {}", status.message()),
            );
            let original = status.to_status();
            if let Some(details) = original.details {
                prefixed = prefixed.with_details(details);
            }
            status = prefixed;
        }
        status
    }

    /// `guaranteed_update`, or its dry run: read, check, transform, write
    /// nothing (Go: `DryRunnableStorage.GuaranteedUpdate`).
    async fn update_storage<F, Fut>(
        &self,
        key: &str,
        ignore_not_found: bool,
        preconditions: &Preconditions,
        mut try_update: F,
        dry_run: bool,
    ) -> Result<Value, Error>
    where
        F: FnMut(Value) -> Fut + Send,
        Fut: Future<Output = Result<Value, Error>> + Send,
    {
        let preconditions = (preconditions != &Preconditions::default()).then_some(preconditions);
        if !dry_run {
            return self
                .storage
                .guaranteed_update(key, ignore_not_found, preconditions, try_update, None)
                .await;
        }
        let options = GetOptions {
            ignore_not_found,
            ..GetOptions::default()
        };
        let current = self.storage.get(key, &options).await?;
        if let (Some(preconditions), Some(current)) = (preconditions, &current) {
            preconditions.check(key, current)?;
        }
        try_update(current.unwrap_or(Value::Null)).await
    }

    /// `delete`, or its dry run (Go: `DryRunnableStorage.Delete`).
    async fn delete_storage(
        &self,
        key: &str,
        preconditions: &Preconditions,
        dry_run: bool,
    ) -> Result<Value, Error> {
        let preconditions = (preconditions != &Preconditions::default()).then_some(preconditions);
        if !dry_run {
            return self
                .storage
                .delete(key, preconditions, |_| Ok(()), None)
                .await;
        }
        let current = self
            .storage
            .get(key, &GetOptions::default())
            .await?
            .ok_or_else(|| Error::KeyNotFound {
                key: key.to_owned(),
            })?;
        if let Some(preconditions) = preconditions {
            preconditions.check(key, &current)?;
        }
        Ok(current)
    }
}

/// Go: `ValidateDeleteOptions`.
fn validate_delete_options(options: &DeleteOptions) -> ErrorList {
    let mut errs = ErrorList::new();
    let path = Path::new("propagationPolicy");
    if let Some(policy) = &options.propagation_policy {
        if options.orphan_dependents.is_some() {
            errs.push(FieldError::invalid(
                &path,
                policy.as_str(),
                "orphanDependents and deletionPropagation cannot be both set",
            ));
        }
        if !matches!(policy.as_str(), "Foreground" | "Background" | "Orphan") {
            errs.push(FieldError::not_supported(
                &path,
                policy.as_str(),
                &["Foreground", "Background", "Orphan", "nil"],
            ));
        }
    }
    errs
}

/// Go: `ShouldDeleteDuringUpdate`.
fn should_delete_during_update(object: &Value, existing: &Value) -> bool {
    finalizers(object).is_empty()
        && !existing["metadata"]["deletionTimestamp"].is_null()
        && existing["metadata"]["deletionGracePeriodSeconds"]
            .as_i64()
            .is_none_or(|g| g == 0)
}

/// Go: `markAsDeleting`.
fn mark_as_deleting(object: &mut Value, now: jiff::Timestamp) {
    let existing = timestamp(object, "deletionTimestamp");
    if existing.is_none()
        && let Some(generation) = object["metadata"]["generation"].as_i64().filter(|&g| g > 0)
    {
        set_meta(
            object,
            "generation",
            Value::from(generation.saturating_add(1)),
        );
    }
    if existing.is_none_or(|existing| existing > now) {
        set_meta(object, "deletionTimestamp", Value::String(rfc3339(now)));
    }
    set_meta(object, "deletionGracePeriodSeconds", Value::from(0));
}

/// Whether anything outside `metadata` and `status` differs.
fn spec_changed(new: &Value, old: &Value) -> bool {
    let strip = |object: &Value| -> Map<String, Value> {
        let mut map = object.as_object().cloned().unwrap_or_default();
        map.remove("metadata");
        map.remove("status");
        map
    };
    strip(new) != strip(old)
}

/// Go: `FillObjectMetaSystemFields`.
fn fill_system_fields(object: &mut Value) {
    set_meta(
        object,
        "creationTimestamp",
        Value::String(rfc3339(jiff::Timestamp::now())),
    );
    set_meta(
        object,
        "uid",
        Value::String(uuid::Uuid::new_v4().to_string()),
    );
}

/// Rejects bodies that are not JSON objects with object metadata.
fn check_object(object: &Value) -> Result<(), StatusError> {
    match object.get("metadata") {
        _ if !object.is_object() => {
            Err(StatusError::bad_request("the object is not a JSON object"))
        }
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(StatusError::bad_request("metadata must be a JSON object")),
    }
}

/// Go's `APIObjectVersioner.ObjectResourceVersion`: "" is 0.
fn object_resource_version(object: &Value) -> Result<u64, StatusError> {
    let version = meta_str(object, "resourceVersion");
    if version.is_empty() {
        return Ok(0);
    }
    version.parse().map_err(|_| {
        StatusError::new(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            StatusReason::Unknown,
            format!(
                "strconv.ParseUint: parsing {}: invalid syntax",
                go_quote(version)
            ),
        )
    })
}

fn finalizers(object: &Value) -> Vec<String> {
    object["metadata"]["finalizers"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn timestamp(object: &Value, field: &str) -> Option<jiff::Timestamp> {
    object["metadata"][field].as_str()?.parse().ok()
}

/// RFC 3339 in UTC with whole seconds, as `metav1.Time` is written.
fn rfc3339(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn meta_str<'a>(object: &'a Value, field: &str) -> &'a str {
    object["metadata"][field].as_str().unwrap_or_default()
}

fn set_meta(object: &mut Value, field: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(field.to_owned(), value);
        }
    }
}

fn remove_meta(object: &mut Value, field: &str) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove(field);
    }
}

fn ignore_not_found() -> GetOptions {
    GetOptions {
        ignore_not_found: true,
        ..GetOptions::default()
    }
}
