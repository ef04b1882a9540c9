//! The per-resource policy the [`Store`](super::Store) applies: Kubernetes'
//! `RESTCreateStrategy`, `RESTUpdateStrategy`, `RESTDeleteStrategy`,
//! `RESTGracefulDeleteStrategy` and `GarbageCollectionDeleteStrategy` in one
//! trait (Go: `pkg/registry/rest/{create,update,delete}.go`).

use std::fmt;

use kapi_core::field::{ErrorList, Path};
use kapi_core::validation::{self, NameValidator};
use serde_json::Value;

/// What deleting an object does to its dependents by default (Go:
/// `rest.GarbageCollectionPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GarbageCollectionPolicy {
    /// Dependents are deleted in the background (Go's default).
    #[default]
    DeleteDependents,
    /// Dependents are orphaned unless the request says otherwise.
    OrphanDependents,
    /// The resource takes no part in garbage collection: no `orphan` or
    /// `foregroundDeletion` finalizers are ever added.
    Unsupported,
}

/// How a resource's objects are created, updated and deleted.
///
/// Every hook has Go's default except [`Strategy::namespace_scoped`],
/// [`Strategy::allow_create_on_update`] and
/// [`Strategy::allow_unconditional_update`].
pub trait Strategy: Send + Sync + fmt::Debug {
    /// Whether objects live in namespaces.
    fn namespace_scoped(&self) -> bool;

    /// Whether an update of a missing object creates it (PUT as create).
    fn allow_create_on_update(&self) -> bool;

    /// Whether an update without `metadata.resourceVersion` is applied to
    /// the current object instead of being rejected.
    fn allow_unconditional_update(&self) -> bool;

    /// Normalizes a new object before validation (e.g. clears `status`).
    fn prepare_for_create(&self, _object: &mut Value) {}

    /// Normalizes an updated object before validation (e.g. keeps the old
    /// `status` on a main-resource update).
    fn prepare_for_update(&self, _new: &mut Value, _old: &Value) {}

    /// The name rule of the resource, used by the default [`Strategy::validate`]
    /// (DNS-1123 subdomain unless overridden; namespaces use labels).
    fn name_validator(&self) -> NameValidator {
        validation::name_is_dns_subdomain
    }

    /// Validates a new object. The default checks its metadata with
    /// [`Strategy::name_validator`] (Go strategies call
    /// `ValidateObjectMeta` the same way).
    fn validate(&self, object: &Value) -> ErrorList {
        validation::validate_object_meta(
            object,
            self.namespace_scoped(),
            self.name_validator(),
            &Path::new("metadata"),
        )
    }

    /// Validates an update beyond the metadata rules the store always
    /// checks (immutable fields, resourceVersion, labels, …). Default: none.
    fn validate_update(&self, _new: &Value, _old: &Value) -> ErrorList {
        ErrorList::new()
    }

    /// Brings a valid object into canonical form before it is stored.
    fn canonicalize(&self, _object: &mut Value) {}

    /// Warnings to return with a create.
    fn warnings_on_create(&self, _object: &Value) -> Vec<String> {
        Vec::new()
    }

    /// Warnings to return with an update.
    fn warnings_on_update(&self, _new: &Value, _old: &Value) -> Vec<String> {
        Vec::new()
    }

    /// Whether the store maintains `metadata.generation`: 1 on create, +1
    /// when anything outside `metadata` and `status` changes. Go strategies
    /// do this by hand in their prepare hooks; here it is one switch.
    fn tracks_generation(&self) -> bool {
        false
    }

    /// A name for `generateName` (Go: `GenerateName`, the
    /// `SimpleNameGenerator`).
    fn generate_name(&self, base: &str) -> String {
        super::generate_name(base)
    }

    /// Whether finalizers of the resource's own, outside
    /// `metadata.finalizers`, keep `object` from being deleted: a delete
    /// then only marks it (`deletionTimestamp`), and the update that clears
    /// the last of them deletes it (namespaces' `spec.finalizers`; Go: the
    /// namespace REST's `Delete` and `ShouldDeleteNamespaceDuringUpdate`).
    fn blocks_deletion(&self, _object: &Value) -> bool {
        false
    }

    /// Called once when a delete first marks `object` as deleting, to set
    /// what the resource shows while it waits for its finalizers
    /// (namespaces become `Terminating`).
    fn prepare_for_deletion(&self, _object: &mut Value) {}

    /// Whether deletes may be graceful (Go: the strategy implements
    /// `RESTGracefulDeleteStrategy`). Only then do deletion grace periods
    /// and pending graceful deletions apply.
    fn supports_graceful_delete(&self) -> bool {
        false
    }

    /// Whether this delete of `object` is graceful; may set the grace
    /// period (Go: `CheckGracefulDelete`). Only called when
    /// [`Strategy::supports_graceful_delete`].
    fn check_graceful_delete(
        &self,
        _object: &Value,
        _grace_period_seconds: &mut Option<i64>,
    ) -> bool {
        false
    }

    /// What deleting does to dependents by default (Go:
    /// `DefaultGarbageCollectionPolicy`).
    fn default_garbage_collection_policy(&self) -> GarbageCollectionPolicy {
        GarbageCollectionPolicy::DeleteDependents
    }
}
