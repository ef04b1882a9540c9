//! `FieldManager`: what the apiserver runs on every write of a resource to
//! keep `metadata.managedFields` up to date, and on every apply to merge the
//! applied configuration.
//!
//! Mirrors `k8s.io/apimachinery/pkg/util/managedfields/internal`'s manager
//! chain, flattened into one type in Go's order: `FieldManager` (decoding
//! the live or request managedFields) → `versionCheckManager` →
//! `lastAppliedUpdater` → `lastAppliedManager` → `skipNonAppliedManager`
//! ("before-first-apply") → `capManagersManager` ("ancient-changes") →
//! `buildManagerInfoManager` → `managedFieldsUpdater` → `stripMetaManager`
//! → `structuredMergeManager`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, LazyLock};

use http::StatusCode;
use jiff::Timestamp;
use kapi_core::{StatusError, StatusReason};
use serde_json::{Map, Value};

use crate::conflict::Conflicts;
use crate::error::Error;
use crate::lastapplied;
use crate::managed::{
    Managed, Operation, decode_managed_fields, encode_managed_fields, identifier, seconds,
};
use crate::path::Path;
use crate::schema::{Schema, TypeSchema};
use crate::set::FieldSet;
use crate::typed;
use crate::updater::{Managers, UpdateError, Updater, VersionedSet};

/// How many update (non-apply) managers an object keeps before the oldest
/// are merged into `ancient-changes` (Go: `DefaultMaxUpdateManagers`).
pub const DEFAULT_MAX_UPDATE_MANAGERS: usize = 10;

/// The manager name of fields an object had before its first apply.
pub const BEFORE_FIRST_APPLY_MANAGER: &str = "before-first-apply";

/// The manager name the oldest update managers are merged into.
pub const ANCIENT_CHANGES_MANAGER: &str = "ancient-changes";

/// The temporary manager name of the write being recorded.
const CURRENT_OPERATION: &str = "current-operation";

/// Fields no manager ever owns: type meta and the metadata the server sets
/// (Go: `NewStripMetaManager`).
static STRIPPED_FIELDS: LazyLock<FieldSet> = LazyLock::new(|| {
    let paths: [&[&str]; 12] = [
        &["apiVersion"],
        &["kind"],
        &["metadata"],
        &["metadata", "name"],
        &["metadata", "namespace"],
        &["metadata", "creationTimestamp"],
        &["metadata", "selfLink"],
        &["metadata", "uid"],
        &["metadata", "clusterName"],
        &["metadata", "generation"],
        &["metadata", "managedFields"],
        &["metadata", "resourceVersion"],
    ];
    FieldSet::from_paths(paths.iter().map(|p| Path::fields(p.iter().copied())))
});

/// The fields server-side apply never tracks: `apiVersion`, `kind`,
/// `metadata` itself and its `name`, `namespace`, `creationTimestamp`,
/// `selfLink`, `uid`, `clusterName`, `generation`, `managedFields` and
/// `resourceVersion` (Go: `stripMetaManager`'s set). Removed from a
/// manager's set without touching what lies below them.
pub fn stripped_fields() -> &'static FieldSet {
    &STRIPPED_FIELDS
}

type Defaulter = Arc<dyn Fn(&mut Value) + Send + Sync>;

/// Field management for one resource served at one API version (Go:
/// `managedfields.FieldManager` built by `NewDefaultFieldManager` or
/// `NewDefaultCRDFieldManager`).
#[derive(Clone)]
pub struct FieldManager {
    schema: Arc<Schema>,
    api_version: String,
    kind: String,
    reset_fields: BTreeMap<String, FieldSet>,
    max_update_managers: usize,
    defaulter: Option<Defaulter>,
}

impl fmt::Debug for FieldManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldManager")
            .field("api_version", &self.api_version)
            .field("kind", &self.kind)
            .field("reset_fields", &self.reset_fields)
            .field("max_update_managers", &self.max_update_managers)
            .finish_non_exhaustive()
    }
}

/// Why an apply failed below the conflict handling of the last-applied
/// annotation.
enum ApplyFailure {
    Conflicts(Conflicts),
    Status(StatusError),
}

impl From<StatusError> for ApplyFailure {
    fn from(e: StatusError) -> Self {
        Self::Status(e)
    }
}

impl FieldManager {
    /// A field manager for objects of `kind` served as `api_version`
    /// (`"v1"`, `"apps/v1"`). Fails when the schema cannot be converted.
    pub fn new(
        schema: &TypeSchema,
        api_version: impl Into<String>,
        kind: impl Into<String>,
    ) -> Result<Self, Error> {
        Ok(Self {
            schema: Arc::new(Schema::build(schema)?),
            api_version: api_version.into(),
            kind: kind.into(),
            reset_fields: BTreeMap::new(),
            max_update_managers: DEFAULT_MAX_UPDATE_MANAGERS,
            defaulter: None,
        })
    }

    /// Fields writes through `subresource` (`""` for the main resource)
    /// reset, which nobody may own there: the strategy's
    /// `GetResetFields()`, e.g. `status` for the main resource of a type
    /// with a status subresource and `spec`/`metadata` for `status`.
    pub fn with_reset_fields(mut self, subresource: &str, fields: FieldSet) -> Self {
        self.reset_fields.insert(subresource.to_owned(), fields);
        self
    }

    /// Changes how many update managers are kept (default
    /// [`DEFAULT_MAX_UPDATE_MANAGERS`]).
    pub fn with_max_update_managers(mut self, max: usize) -> Self {
        self.max_update_managers = max;
        self
    }

    /// Defaulting applied to the object an apply produces, as Go applies
    /// the scheme's defaulter there.
    pub fn with_defaulter(
        mut self,
        defaulter: impl Fn(&mut Value) + Send + Sync + 'static,
    ) -> Self {
        self.defaulter = Some(Arc::new(defaulter));
        self
    }

    /// The API version objects are managed in.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The kind of the managed objects.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Records a create, update or non-apply patch (Go:
    /// `FieldManager.Update`). `live` is `None` for a create; `new` is the
    /// object about to be stored. Returns `new` with its
    /// `metadata.managedFields` updated: fields that changed belong to
    /// `manager` (operation `Update`) and are taken from other managers.
    ///
    /// The request's `managedFields` are honoured when it sets them, kept
    /// from `live` when it omits them (or sets them to something invalid),
    /// and cleared by an empty list (`[]` or `[{}]`); writes through a
    /// subresource always keep `live`'s.
    pub fn update(
        &self,
        live: Option<&Value>,
        new: Value,
        manager: &str,
        subresource: &str,
        now: Timestamp,
    ) -> Result<Value, StatusError> {
        let (object, err) = self.update_object(live, new, manager, subresource, now);
        match err {
            Some(err) => Err(err),
            None => Ok(object),
        }
    }

    /// [`FieldManager::update`] that never fails: on error the object keeps
    /// `live`'s managedFields (Go: `UpdateNoErrors`, what the handlers call).
    pub fn update_no_errors(
        &self,
        live: Option<&Value>,
        new: Value,
        manager: &str,
        subresource: &str,
        now: Timestamp,
    ) -> Value {
        let (mut object, err) = self.update_object(live, new, manager, subresource, now);
        if err.is_some() {
            match live.and_then(|l| l.pointer("/metadata/managedFields")) {
                Some(previous) => set_metadata(&mut object, "managedFields", previous.clone()),
                None => remove_managed_fields(&mut object),
            }
        }
        object
    }

    fn update_object(
        &self,
        live: Option<&Value>,
        mut new: Value,
        manager: &str,
        subresource: &str,
        now: Timestamp,
    ) -> (Value, Option<StatusError>) {
        let empty = self.empty_object(&self.api_version, &self.kind);
        let live = live.unwrap_or(&empty);
        let managed = decode_live_or_new(live, &new, subresource);
        remove_managed_fields(&mut new);
        // skipNonAppliedManager: an existing object nobody manages stays
        // unmanaged until its first apply.
        if managed.fields.is_empty() && has_uid(live) {
            return (new, None);
        }
        match self.update_managed(live, &new, managed, manager, subresource, now) {
            Ok(managed) => {
                set_managed_fields(&mut new, &managed);
                (new, None)
            }
            Err(message) => (new, Some(go_error(message))),
        }
    }

    /// `capManagersManager.Update` and everything below it: the new
    /// managers after `new` replaces `live`.
    fn update_managed(
        &self,
        live: &Value,
        new: &Value,
        mut managed: Managed,
        manager: &str,
        subresource: &str,
        now: Timestamp,
    ) -> Result<Managed, String> {
        let id = identifier(
            if manager.is_empty() {
                "unknown"
            } else {
                manager
            },
            Operation::Update,
            &self.api_version,
            subresource,
        );
        let errs = typed::validate(&self.schema, &self.schema.root, new, true);
        if !errs.is_empty() {
            return Err(format!(
                "failed to convert new object ({}) to smd typed: {errs}",
                self.object_gvknn(new)
            ));
        }
        let errs = typed::validate(&self.schema, &self.schema.root, live, true);
        if !errs.is_empty() {
            return Err(format!(
                "failed to convert live object ({}) to smd typed: {errs}",
                self.object_gvknn(live)
            ));
        }
        let updater = self.updater(subresource);
        let mut fields = updater
            .update(
                live,
                new,
                &self.api_version,
                managed.fields,
                CURRENT_OPERATION,
            )
            .map_err(|e| {
                format!(
                    "failed to update ManagedFields ({}): {}",
                    self.object_gvknn(new),
                    update_error_text(e)
                )
            })?;
        strip_fields(&mut fields, CURRENT_OPERATION);
        if let Some(current) = fields.remove(CURRENT_OPERATION) {
            let set = match fields.get(&id) {
                Some(previous) => current.set.union(&previous.set),
                None => current.set,
            };
            fields.insert(
                id.clone(),
                VersionedSet {
                    set,
                    api_version: current.api_version,
                    applied: current.applied,
                },
            );
            managed.times.insert(id, Some(now));
        }
        managed.fields = fields;
        self.cap_update_managers(&mut managed);
        Ok(managed)
    }

    /// Applies `config` for `manager` (Go: `FieldManager.Apply`). `live` is
    /// `None` when the object does not exist yet (the apply creates it).
    /// Returns the merged object with its managedFields; a conflict is a
    /// 409 with one `FieldManagerConflict` cause per field unless `force`.
    ///
    /// The configuration must have this manager's `apiVersion` and `kind`
    /// (400 `invalid object type: …`) and no `metadata.managedFields` (400
    /// `metadata.managedFields must be nil`). With the manager `kubectl`,
    /// conflicts with what the live object's
    /// `kubectl.kubernetes.io/last-applied-configuration` still describes
    /// are forced, and that annotation is kept in sync.
    pub fn apply(
        &self,
        live: Option<&Value>,
        config: &Value,
        manager: &str,
        force: bool,
        subresource: &str,
        now: Timestamp,
    ) -> Result<Value, StatusError> {
        let (config_version, config_kind) = type_meta(config);
        let empty = self.empty_object(&self.api_version, &self.kind);
        let live = live.unwrap_or(&empty);
        let live_fields = live
            .pointer("/metadata/managedFields")
            .unwrap_or(&Value::Null);
        let managed = decode_managed_fields(live_fields)
            .map(|entries| Managed::decode(&entries))
            .map_err(|e| go_error(format!("failed to decode managed fields: {e}")))?;
        // versionCheckManager
        if config_version != self.api_version || config_kind != self.kind {
            return Err(StatusError::bad_request(format!(
                "invalid object type: {}",
                gvk_string(&config_version, &config_kind)
            )));
        }
        let (mut object, managed) = match self.apply_last_applied(
            live,
            config,
            managed,
            manager,
            force,
            subresource,
            now,
        ) {
            Ok(result) => result,
            Err(ApplyFailure::Conflicts(conflicts)) => return Err(conflicts.to_status_error()),
            Err(ApplyFailure::Status(err)) => return Err(err),
        };
        // lastAppliedUpdater
        if manager == lastapplied::KUBECTL && lastapplied::has_last_applied(&object) {
            lastapplied::set_last_applied(&mut object, lastapplied::build_last_applied(config));
        }
        set_managed_fields(&mut object, &managed);
        Ok(object)
    }

    /// `lastAppliedManager.Apply`: `kubectl` may take over, without force,
    /// the fields the last-applied annotation still describes.
    #[allow(clippy::too_many_arguments)] // One argument per part of Go's request.
    fn apply_last_applied(
        &self,
        live: &Value,
        config: &Value,
        managed: Managed,
        manager: &str,
        force: bool,
        subresource: &str,
        now: Timestamp,
    ) -> Result<(Value, Managed), ApplyFailure> {
        let result = self.apply_tracked(
            live,
            config,
            managed.clone(),
            manager,
            force,
            subresource,
            now,
        );
        if manager != lastapplied::KUBECTL {
            return result;
        }
        let Err(ApplyFailure::Conflicts(conflicts)) = result else {
            return result;
        };
        let Some(allowed) = lastapplied::allowed_conflicts(&self.schema, &self.api_version, live)
        else {
            return Err(ApplyFailure::Conflicts(conflicts));
        };
        let conflict_set = FieldSet::from_paths(conflicts.0.iter().map(|c| c.path.clone()));
        if !conflict_set.difference(&allowed).is_empty() {
            let remaining = conflicts
                .0
                .into_iter()
                .filter(|c| !allowed.has(&c.path))
                .collect();
            return Err(ApplyFailure::Conflicts(Conflicts(remaining)));
        }
        self.apply_tracked(live, config, managed, manager, true, subresource, now)
    }

    /// `skipNonAppliedManager.Apply` and below.
    #[allow(clippy::too_many_arguments)] // One argument per part of Go's request.
    fn apply_tracked(
        &self,
        live: &Value,
        config: &Value,
        mut managed: Managed,
        manager: &str,
        force: bool,
        subresource: &str,
        now: Timestamp,
    ) -> Result<(Value, Managed), ApplyFailure> {
        if managed.fields.is_empty() {
            let (version, kind) = type_meta(config);
            let empty = self.empty_object(&version, &kind);
            managed = self
                .update_managed(
                    &empty,
                    live,
                    managed,
                    BEFORE_FIRST_APPLY_MANAGER,
                    subresource,
                    now,
                )
                .map_err(|e| {
                    go_error(format!("failed to create manager for existing fields: {e}"))
                })?;
        }
        let id = identifier(
            if manager.is_empty() {
                "unknown"
            } else {
                manager
            },
            Operation::Apply,
            "",
            subresource,
        );
        let (object, mut managed) =
            self.apply_structured(live, config, managed, &id, force, subresource)?;
        strip_fields(&mut managed.fields, &id);
        let object = match object {
            Some(object) => {
                managed.times.insert(id, Some(now));
                object
            }
            None => {
                let mut object = live.clone();
                remove_managed_fields(&mut object);
                object
            }
        };
        Ok((object, managed))
    }

    /// `structuredMergeManager.Apply`.
    fn apply_structured(
        &self,
        live: &Value,
        config: &Value,
        mut managed: Managed,
        id: &str,
        force: bool,
        subresource: &str,
    ) -> Result<(Option<Value>, Managed), ApplyFailure> {
        if config
            .pointer("/metadata/managedFields")
            .is_some_and(Value::is_array)
        {
            return Err(StatusError::bad_request("metadata.managedFields must be nil").into());
        }
        let errs = typed::validate(&self.schema, &self.schema.root, config, false);
        if !errs.is_empty() {
            return Err(go_error(format!(
                "failed to create typed patch object ({}): {errs}",
                self.object_gvknn(config)
            ))
            .into());
        }
        let errs = typed::validate(&self.schema, &self.schema.root, live, true);
        if !errs.is_empty() {
            return Err(go_error(format!(
                "failed to create typed live object ({}): {errs}",
                self.object_gvknn(live)
            ))
            .into());
        }
        let updater = self.updater(subresource);
        let (object, fields) = updater
            .apply(live, config, &self.api_version, managed.fields, id, force)
            .map_err(|e| match e {
                UpdateError::Conflicts(c) => ApplyFailure::Conflicts(c),
                UpdateError::Failed(message) => ApplyFailure::Status(go_error(message)),
            })?;
        managed.fields = fields;
        let object = object.map(|mut object| {
            if let Some(defaulter) = &self.defaulter {
                defaulter(&mut object);
            }
            object
        });
        Ok((object, managed))
    }

    fn updater(&self, subresource: &str) -> Updater<'_> {
        Updater {
            schema: &self.schema,
            ignore: self.reset_fields.get(subresource),
        }
    }

    /// Merges the oldest update managers into one `ancient-changes` entry
    /// per API version until at most the cap remain (Go:
    /// `capUpdateManagers`).
    fn cap_update_managers(&self, managed: &mut Managed) {
        let mut updaters: Vec<String> = managed
            .fields
            .iter()
            .filter(|(_, owned)| !owned.applied)
            .map(|(id, _)| id.clone())
            .collect();
        if updaters.len() <= self.max_update_managers {
            return;
        }
        let time_of = |id: &String| seconds(managed.times.get(id).copied().flatten());
        updaters.sort_by(|a, b| time_of(a).cmp(&time_of(b)).then_with(|| a.cmp(b)));
        let mut first_of_version: BTreeMap<String, String> = BTreeMap::new();
        let mut length = updaters.len();
        for id in &updaters {
            if length <= self.max_update_managers {
                break;
            }
            let Some(owned) = managed.fields.get(id).cloned() else {
                continue;
            };
            let time = managed.times.get(id).copied().flatten();
            let version = owned.api_version.clone();
            let bucket = identifier(ANCIENT_CHANGES_MANAGER, Operation::Update, &version, "");
            match first_of_version.get(&version) {
                Some(first) => {
                    if !managed.fields.contains_key(&bucket)
                        && let Some(first_set) = managed.fields.remove(first)
                    {
                        managed.fields.insert(bucket.clone(), first_set);
                    }
                    let bucket_set = managed
                        .fields
                        .get(&bucket)
                        .map(|b| b.set.clone())
                        .unwrap_or_default();
                    managed.fields.insert(
                        bucket.clone(),
                        VersionedSet {
                            set: owned.set.union(&bucket_set),
                            api_version: owned.api_version.clone(),
                            applied: owned.applied,
                        },
                    );
                    managed.fields.remove(id);
                    length -= 1;
                    managed.times.insert(bucket, time);
                }
                None => {
                    first_of_version.insert(version, id.clone());
                }
            }
        }
    }

    fn empty_object(&self, api_version: &str, kind: &str) -> Value {
        serde_json::json!({"apiVersion": api_version, "kind": kind})
    }

    /// `<namespace>/<name>; <group>/<version>, Kind=<kind>` (Go:
    /// `objectGVKNN`).
    fn object_gvknn(&self, object: &Value) -> String {
        let meta = |k: &str| {
            object
                .pointer(&format!("/metadata/{k}"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (version, kind) = type_meta(object);
        format!(
            "{}/{}; {}",
            meta("namespace"),
            meta("name"),
            gvk_string(&version, &kind)
        )
    }
}

fn update_error_text(e: UpdateError) -> String {
    match e {
        UpdateError::Conflicts(c) => c.to_string(),
        UpdateError::Failed(message) => message,
    }
}

/// A failure that is not a Kubernetes `Status` in Go: the handler answers
/// 500 with the error's text and no reason.
fn go_error(message: impl Into<String>) -> StatusError {
    StatusError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusReason::Unknown,
        message,
    )
}

/// The object's `apiVersion` and `kind` (empty when missing).
fn type_meta(object: &Value) -> (String, String) {
    let text = |k: &str| {
        object
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    (text("apiVersion"), text("kind"))
}

/// `<group>/<version>, Kind=<kind>` as Go prints a `GroupVersionKind`; an
/// unparsable apiVersion has neither group nor version.
fn gvk_string(api_version: &str, kind: &str) -> String {
    let (group, version) = match api_version.split('/').collect::<Vec<_>>().as_slice() {
        [""] => ("", ""),
        [version] => ("", *version),
        [group, version] => (*group, *version),
        _ => ("", ""),
    };
    format!("{group}/{version}, Kind={kind}")
}

fn has_uid(object: &Value) -> bool {
    object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .is_some_and(|uid| !uid.is_empty())
}

/// Whether a request's managedFields ask to clear them: an empty list, or
/// one entry with nothing set (Go: `isResetManagedFields`).
fn is_reset(managed_fields: Option<&Value>) -> bool {
    match managed_fields {
        Some(Value::Array(list)) => match list.as_slice() {
            [] => true,
            [Value::Object(entry)] => entry
                .values()
                .all(|v| v.is_null() || v.as_str() == Some("")),
            _ => false,
        },
        _ => false,
    }
}

/// The managers an update starts from (Go: `decodeLiveOrNew`).
fn decode_live_or_new(live: &Value, new: &Value, subresource: &str) -> Managed {
    let decode = |object: &Value| {
        let fields = object
            .pointer("/metadata/managedFields")
            .unwrap_or(&Value::Null);
        decode_managed_fields(fields).map(|entries| Managed::decode(&entries))
    };
    if !subresource.is_empty() {
        return decode(live).unwrap_or_default();
    }
    if is_reset(new.pointer("/metadata/managedFields")) {
        return Managed::default();
    }
    match decode(new) {
        Ok(managed) if !managed.fields.is_empty() => managed,
        _ => decode(live).unwrap_or_default(),
    }
}

/// Removes the never-tracked fields from `manager`'s set, dropping the
/// manager when nothing remains (Go: `stripMetaManager.stripFields`).
fn strip_fields(fields: &mut Managers, manager: &str) {
    if let Some(owned) = fields.get_mut(manager) {
        owned.set = owned.set.difference(stripped_fields());
        if owned.set.is_empty() {
            fields.remove(manager);
        }
    }
}

pub(crate) fn remove_managed_fields(object: &mut Value) {
    if let Some(Value::Object(meta)) = object.get_mut("metadata") {
        meta.remove("managedFields");
    }
}

fn set_metadata(object: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = object {
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        if let Value::Object(meta) = meta {
            meta.insert(key.to_owned(), value);
        }
    }
}

/// Writes the managers as `metadata.managedFields`, or removes the field
/// when there are none (Go: `EncodeObjectManagedFields`).
fn set_managed_fields(object: &mut Value, managed: &Managed) {
    if managed.fields.is_empty() {
        remove_managed_fields(object);
        return;
    }
    set_metadata(
        object,
        "managedFields",
        encode_managed_fields(&managed.encode()),
    );
}
