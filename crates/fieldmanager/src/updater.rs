//! The ownership engine: who owns which field after an update or an apply,
//! which fields an apply conflicts on, and which fields an applier's new
//! configuration no longer sets and nobody else owns (pruned).
//!
//! Mirrors `sigs.k8s.io/structured-merge-diff/v6/merge/update.go`
//! (`Updater.Update`, `Updater.Apply`, `prune`, `addBackOwnedItems`,
//! `addBackDanglingItems`, `reconcileManagedFieldsWithSchemaChanges`) with
//! the identity version converter: a resource is served in one version, so
//! a manager recorded at another version is compared on the same object.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::conflict::{Conflict, Conflicts};
use crate::schema::Schema;
use crate::set::FieldSet;
use crate::typed::{self, Comparison};

/// What one manager owns, in which version, and whether by apply (Go:
/// `fieldpath.VersionedSet`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VersionedSet {
    pub(crate) set: FieldSet,
    pub(crate) api_version: String,
    pub(crate) applied: bool,
}

/// Managers by identifier (Go: `fieldpath.ManagedFields`).
pub(crate) type Managers = BTreeMap<String, VersionedSet>;

/// Why an update or apply could not be computed.
#[derive(Debug)]
pub(crate) enum UpdateError {
    /// The apply conflicts and was not forced.
    Conflicts(Conflicts),
    /// Anything else, with Go's message.
    Failed(String),
}

/// Computes ownership for one resource type (Go: `merge.Updater`).
pub(crate) struct Updater<'a> {
    pub(crate) schema: &'a Schema,
    /// Fields nobody may own here (the resource's reset fields).
    pub(crate) ignore: Option<&'a FieldSet>,
}

impl Updater<'_> {
    fn compare(&self, lhs: &Value, rhs: &Value) -> Result<Comparison, UpdateError> {
        typed::compare(self.schema, &self.schema.root, lhs, rhs)
            .map_err(|e| UpdateError::Failed(format!("failed to compare objects: {e}")))
    }

    fn field_set(&self, value: &Value) -> Result<FieldSet, String> {
        typed::to_field_set(self.schema, &self.schema.root, value).map_err(|e| e.to_string())
    }

    fn ensure_named(&self, set: &FieldSet) -> FieldSet {
        typed::ensure_named_fields_are_members(self.schema, &self.schema.root, set)
    }

    fn remove(&self, value: &Value, set: &FieldSet) -> Value {
        typed::remove_items(self.schema, &self.schema.root, value, set)
    }

    fn filter(&self, set: FieldSet) -> FieldSet {
        match self.ignore {
            Some(ignore) => set.recursive_difference(ignore),
            None => set,
        }
    }

    /// Takes changed fields away from every manager but `workflow`;
    /// without `force`, fields another manager owns that changed are
    /// conflicts (Go: `Updater.update`).
    fn take_changed(
        &self,
        live: &Value,
        new: &Value,
        managers: &mut Managers,
        workflow: &str,
        force: bool,
    ) -> Result<Comparison, UpdateError> {
        let mut comparison = self.compare(live, new)?;
        comparison.exclude(self.ignore);
        let changed = comparison.modified.union(&comparison.added);
        let mut conflicts: BTreeMap<String, FieldSet> = BTreeMap::new();
        for (manager, owned) in managers.iter() {
            if manager == workflow {
                continue;
            }
            let conflict = owned.set.intersection(&changed);
            if !conflict.is_empty() {
                conflicts.insert(manager.clone(), conflict);
            }
        }
        if !force && !conflicts.is_empty() {
            let list = conflicts
                .iter()
                .flat_map(|(manager, set)| {
                    set.paths().into_iter().map(|path| Conflict {
                        manager: manager.clone(),
                        path,
                    })
                })
                .collect();
            return Err(UpdateError::Conflicts(Conflicts(list)));
        }
        for (manager, conflict) in &conflicts {
            if let Some(owned) = managers.get_mut(manager) {
                owned.set = owned.set.difference(conflict);
            }
        }
        if !comparison.removed.is_empty() {
            for (manager, owned) in managers.iter_mut() {
                if manager != workflow {
                    owned.set = owned.set.difference(&comparison.removed);
                }
            }
        }
        managers.retain(|_, owned| !owned.set.is_empty());
        Ok(comparison)
    }

    /// Adjusts every manager's set to schema changes (Go:
    /// `reconcileManagedFieldsWithSchemaChanges`).
    fn reconcile(&self, managers: Managers) -> Managers {
        managers
            .into_iter()
            .map(|(manager, mut owned)| {
                if let Some(set) =
                    typed::reconcile_field_set(&owned.set, self.schema, &self.schema.root)
                {
                    owned.set = set;
                }
                (manager, owned)
            })
            .collect()
    }

    /// Records a non-apply change: `manager` gains the fields that changed
    /// between `live` and `new`, other managers lose them (Go:
    /// `Updater.Update`).
    pub(crate) fn update(
        &self,
        live: &Value,
        new: &Value,
        version: &str,
        managers: Managers,
        manager: &str,
    ) -> Result<Managers, UpdateError> {
        let mut managers = self.reconcile(managers);
        let comparison = self.take_changed(live, new, &mut managers, manager, true)?;
        let previous = managers
            .get(manager)
            .map(|owned| owned.set.clone())
            .unwrap_or_default();
        let set = previous
            .difference(&comparison.removed)
            .union(&comparison.modified)
            .union(&comparison.added);
        let set = self.filter(set);
        if set.is_empty() {
            managers.remove(manager);
        } else {
            managers.insert(
                manager.to_owned(),
                VersionedSet {
                    set,
                    api_version: version.to_owned(),
                    applied: false,
                },
            );
        }
        Ok(managers)
    }

    /// Applies `config` for `manager` (Go: `Updater.Apply`). The object is
    /// `None` when the apply changes nothing.
    pub(crate) fn apply(
        &self,
        live: &Value,
        config: &Value,
        version: &str,
        managers: Managers,
        manager: &str,
        force: bool,
    ) -> Result<(Option<Value>, Managers), UpdateError> {
        let mut managers = self.reconcile(managers);
        let merged = typed::merge(self.schema, &self.schema.root, live, config)
            .map_err(|e| UpdateError::Failed(format!("failed to merge config: {e}")))?
            .unwrap_or(Value::Null);
        let last = managers.get(manager).cloned();
        let set = self
            .field_set(config)
            .map_err(|e| UpdateError::Failed(format!("failed to get field set: {e}")))?;
        managers.insert(
            manager.to_owned(),
            VersionedSet {
                set: self.filter(set),
                api_version: version.to_owned(),
                applied: true,
            },
        );
        let new = self
            .prune(merged, &managers, last.as_ref())
            .map_err(|e| UpdateError::Failed(format!("failed to prune fields: {e}")))?;
        self.take_changed(live, &new, &mut managers, manager, force)?;
        let new = (!crate::value::equals(live, &new)).then_some(new);
        Ok((new, managers))
    }

    /// Removes what the applier set last time, did not set now, and nobody
    /// else owns (Go: `Updater.prune`).
    fn prune(
        &self,
        merged: Value,
        managers: &Managers,
        last: Option<&VersionedSet>,
    ) -> Result<Value, String> {
        let Some(last) = last.filter(|l| !l.set.is_empty()) else {
            return Ok(merged);
        };
        let pruned = self.remove(&merged, &self.ensure_named(&last.set));
        let pruned = self
            .add_back_owned(&merged, pruned, &last.api_version, managers)
            .map_err(|e| format!("failed add back owned items: {e}"))?;
        self.add_back_dangling(&merged, &pruned, last)
            .map_err(|e| format!("failed add back dangling items: {e}"))
    }

    /// Puts back what prune removed but a manager (the applier's new
    /// configuration included) owns, one version's owners at a time (Go:
    /// `addBackOwnedItems`).
    fn add_back_owned(
        &self,
        merged: &Value,
        mut pruned: Value,
        pruned_version: &str,
        managers: &Managers,
    ) -> Result<Value, String> {
        let mut by_version: BTreeMap<&str, FieldSet> = BTreeMap::new();
        for owned in managers.values() {
            let entry = by_version.entry(&owned.api_version).or_default();
            *entry = entry.union(&owned.set);
        }
        let first = by_version.remove(pruned_version);
        for managed in first.into_iter().chain(by_version.into_values()) {
            let merged_set = self
                .field_set(merged)
                .map_err(|e| format!("failed to create field set from merged object: {e}"))?;
            let pruned_set = self
                .field_set(&pruned)
                .map_err(|e| format!("failed to create field set from pruned object: {e}"))?;
            let keep = self
                .ensure_named(&pruned_set)
                .union(&self.ensure_named(&managed));
            pruned = self.remove(merged, &self.ensure_named(&merged_set).difference(&keep));
        }
        Ok(pruned)
    }

    /// Puts back what prune removed but the applier did not own last time:
    /// fields of updaters and fields nobody owns (Go: `addBackDanglingItems`).
    fn add_back_dangling(
        &self,
        merged: &Value,
        pruned: &Value,
        last: &VersionedSet,
    ) -> Result<Value, String> {
        let pruned_set = self.ensure_named(
            &self
                .field_set(pruned)
                .map_err(|e| format!("failed to create field set from pruned object: {e}"))?,
        );
        let merged_set = self.ensure_named(
            &self
                .field_set(merged)
                .map_err(|e| format!("failed to create field set from merged object: {e}"))?,
        );
        let last_set = self.ensure_named(&last.set);
        Ok(self.remove(
            merged,
            &merged_set.difference(&pruned_set).intersection(&last_set),
        ))
    }
}
