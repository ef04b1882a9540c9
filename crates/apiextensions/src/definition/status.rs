//! A CRD's `status`: its conditions, the names the naming controller
//! accepts, the `Established` condition, and the `Terminating` condition
//! and cleanup finalizer of deletion. Pure functions over the CRD JSON;
//! the caller writes the results through `/status`.
//!
//! Mirrors `pkg/controller/status/naming_controller.go`
//! (`calculateNamesAndConditions`, `sync`),
//! `pkg/controller/establish/establishing_controller.go`,
//! `pkg/controller/finalizer/crd_finalizer.go` (the conditions it sets),
//! `pkg/registry/customresourcedefinition/etcd.go` (`Delete`) and
//! `pkg/apihelpers/helpers.go` (`SetCRDCondition` and friends).

use std::collections::BTreeSet;

use http::StatusCode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusDetails;
use kapi_core::{StatusError, StatusReason};
use serde_json::{Map, Value, json};

use super::{array, present, string, strings};

/// The finalizer that keeps a deleted CRD until its custom resources are
/// gone (Go: `CustomResourceCleanupFinalizer`).
pub const CUSTOM_RESOURCE_CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";
/// The condition saying the CRD's names are accepted.
pub const NAMES_ACCEPTED: &str = "NamesAccepted";
/// The condition saying the CRD is served.
pub const ESTABLISHED: &str = "Established";
/// The condition saying the CRD is being deleted.
pub const TERMINATING: &str = "Terminating";

/// One `status.conditions[]` entry without its time (Go:
/// `CustomResourceDefinitionCondition`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrdCondition {
    /// `NamesAccepted`, `Established`, `Terminating`, …
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase reason.
    pub reason: String,
    /// A human-readable message.
    pub message: String,
}

impl CrdCondition {
    /// A condition with these fields.
    pub fn new(type_: &str, status: &str, reason: &str, message: impl Into<String>) -> Self {
        Self {
            type_: type_.to_owned(),
            status: status.to_owned(),
            reason: reason.to_owned(),
            message: message.into(),
        }
    }

    /// `Established=True`, `InitialNamesAccepted` (the establishing
    /// controller).
    pub fn established() -> Self {
        Self::new(
            ESTABLISHED,
            "True",
            "InitialNamesAccepted",
            "the initial names have been accepted",
        )
    }

    /// `Terminating=True`, `InstanceDeletionPending` (set by the first
    /// DELETE, see [`mark_crd_for_deletion`]).
    pub fn instance_deletion_pending() -> Self {
        Self::new(
            TERMINATING,
            "True",
            "InstanceDeletionPending",
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
        )
    }

    /// `Terminating=True`, `InstanceDeletionInProgress` (the finalizer
    /// starts deleting instances).
    pub fn instance_deletion_in_progress() -> Self {
        Self::new(
            TERMINATING,
            "True",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
        )
    }

    /// `Terminating=False`, `InstanceDeletionCompleted` (all instances
    /// are gone).
    pub fn instance_deletion_completed() -> Self {
        Self::new(
            TERMINATING,
            "False",
            "InstanceDeletionCompleted",
            "removed all instances",
        )
    }

    /// `Terminating=True`, `InstanceDeletionFailed`: listing the instances
    /// failed.
    pub fn could_not_list_instances(error: impl std::fmt::Display) -> Self {
        Self::new(
            TERMINATING,
            "True",
            "InstanceDeletionFailed",
            format!("could not list instances: {error}"),
        )
    }

    /// `Terminating=True`, `InstanceDeletionFailed`: some deletes failed.
    pub fn could_not_delete_instances(error: impl std::fmt::Display) -> Self {
        Self::new(
            TERMINATING,
            "True",
            "InstanceDeletionFailed",
            format!("could not issue all deletes: {error}"),
        )
    }

    /// `Terminating=True`, `InstanceDeletionCheck`: instances remain.
    pub fn could_not_confirm_deletion(error: impl std::fmt::Display) -> Self {
        Self::new(
            TERMINATING,
            "True",
            "InstanceDeletionCheck",
            format!("could not confirm zero CustomResources remaining: {error}"),
        )
    }

    /// `Terminating=False`, `NeverEstablished` (nothing to delete).
    pub fn never_established() -> Self {
        Self::new(
            TERMINATING,
            "False",
            "NeverEstablished",
            "resource was never established",
        )
    }

    /// `Terminating=False`, `OverlappingBuiltInResource`.
    pub fn overlapping_built_in_resource() -> Self {
        Self::new(
            TERMINATING,
            "False",
            "OverlappingBuiltInResource",
            "instances overlap with built-in resources in storage",
        )
    }

    /// Reads a `status.conditions[]` entry.
    pub fn from_json(condition: &Value) -> Self {
        Self::new(
            string(condition.get("type")),
            string(condition.get("status")),
            string(condition.get("reason")),
            string(condition.get("message")),
        )
    }

    /// Same type, status, reason and message (Go:
    /// `IsCRDConditionEquivalent`).
    fn equivalent(&self, condition: Option<&Value>) -> bool {
        condition.is_some_and(|c| Self::from_json(c) == *self)
    }
}

/// The condition of `type_`, if present (Go: `FindCRDCondition`).
pub fn find_crd_condition<'a>(crd: &'a Value, type_: &str) -> Option<&'a Value> {
    array(crd["status"].get("conditions"))
        .iter()
        .find(|c| string(c.get("type")) == type_)
}

/// Whether the condition of `type_` is present and `True` (Go:
/// `IsCRDConditionTrue`).
pub fn is_crd_condition_true(crd: &Value, type_: &str) -> bool {
    find_crd_condition(crd, type_).is_some_and(|c| string(c.get("status")) == "True")
}

pub(crate) use is_crd_condition_true as is_condition_true;

/// Sets a condition (Go: `SetCRDCondition`): appended when new; otherwise
/// updated in place, with `lastTransitionTime` moved to `now` only when
/// the status changes (or had no time).
pub fn set_crd_condition(crd: &mut Value, condition: &CrdCondition, now: jiff::Timestamp) {
    let now = rfc3339(now);
    let Some(conditions) = conditions_mut(crd) else {
        return;
    };
    let existing = conditions
        .iter_mut()
        .find(|c| string(c.get("type")) == condition.type_);
    match existing.and_then(Value::as_object_mut) {
        None => {
            let mut entry = Map::new();
            entry.insert("type".to_owned(), Value::from(condition.type_.as_str()));
            entry.insert("status".to_owned(), Value::from(condition.status.as_str()));
            entry.insert("lastTransitionTime".to_owned(), Value::from(now));
            set_or_remove(&mut entry, "reason", &condition.reason);
            set_or_remove(&mut entry, "message", &condition.message);
            conditions.push(Value::Object(entry));
        }
        Some(entry) => {
            if string(entry.get("status")) != condition.status
                || string(entry.get("lastTransitionTime")).is_empty()
            {
                entry.insert("lastTransitionTime".to_owned(), Value::from(now));
            }
            entry.insert("status".to_owned(), Value::from(condition.status.as_str()));
            set_or_remove(entry, "reason", &condition.reason);
            set_or_remove(entry, "message", &condition.message);
        }
    }
}

/// Removes the condition of `type_` (Go: `RemoveCRDCondition`).
pub fn remove_crd_condition(crd: &mut Value, type_: &str) {
    if let Some(conditions) = conditions_mut(crd) {
        conditions.retain(|c| string(c.get("type")) != type_);
    }
}

/// What the naming controller computes for a CRD (Go:
/// `calculateNamesAndConditions`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NamingResult {
    /// The new `status.acceptedNames`.
    pub accepted_names: Value,
    /// The `NamesAccepted` condition: `True`/`NoConflicts` or `False` with
    /// `PluralConflict`, `SingularConflict`, `ShortNamesConflict`,
    /// `KindConflict` or `ListKindConflict` and `"x" is already in use`.
    pub names_accepted: CrdCondition,
    /// The `Established` condition to set with it (the existing one, or
    /// `False`/`NotAccepted`, or `False`/`Installing` once the names are
    /// accepted).
    pub established: CrdCondition,
}

/// Computes the accepted names and conditions of `crd` given every CRD in
/// the cluster (`crds` may include `crd` itself; its own entry is taken
/// from `crd`). A requested name is accepted when it is already accepted
/// for this CRD or not accepted for any CRD of the same group.
pub fn calculate_names_and_conditions(crd: &Value, crds: &[Value]) -> NamingResult {
    let group = string(crd["spec"].get("group"));
    let own_name = string(crd["metadata"].get("name"));
    let mut resources = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    let others = crds
        .iter()
        .filter(|other| string(other["metadata"].get("name")) != own_name);
    for item in others.chain(std::iter::once(crd)) {
        if string(item["spec"].get("group")) != group {
            continue;
        }
        let accepted = Names::of(&item["status"]["acceptedNames"]);
        resources.insert(accepted.plural);
        resources.insert(accepted.singular);
        resources.extend(accepted.short_names);
        kinds.insert(accepted.kind);
        kinds.insert(accepted.list_kind);
    }

    let requested = Names::of(&crd["spec"]["names"]);
    let accepted = Names::of(&crd["status"]["acceptedNames"]);
    let mut new_names = accepted.clone();
    let mut condition = CrdCondition::new(NAMES_ACCEPTED, "Unknown", "", "");
    let conflict = |condition: &mut CrdCondition, reason: &str, message: String| {
        condition.status = "False".to_owned();
        condition.reason = reason.to_owned();
        condition.message = message;
    };

    match fresh(&requested.plural, &accepted.plural, &resources) {
        Err(message) => conflict(&mut condition, "PluralConflict", message),
        Ok(()) => new_names.plural = requested.plural.clone(),
    }
    match fresh(&requested.singular, &accepted.singular, &resources) {
        Err(message) => conflict(&mut condition, "SingularConflict", message),
        Ok(()) => new_names.singular = requested.singular.clone(),
    }
    if requested.short_names != accepted.short_names {
        let problems: Vec<String> = requested
            .short_names
            .iter()
            .filter(|short| !accepted.short_names.contains(short))
            .filter_map(|short| fresh(short, "", &resources).err())
            .collect();
        match problems.len() {
            0 => new_names.short_names = requested.short_names.clone(),
            1 => conflict(&mut condition, "ShortNamesConflict", problems.concat()),
            _ => conflict(
                &mut condition,
                "ShortNamesConflict",
                format!("[{}]", problems.join(", ")),
            ),
        }
    }
    match fresh(&requested.kind, &accepted.kind, &kinds) {
        Err(message) => conflict(&mut condition, "KindConflict", message),
        Ok(()) => new_names.kind = requested.kind.clone(),
    }
    match fresh(&requested.list_kind, &accepted.list_kind, &kinds) {
        Err(message) => conflict(&mut condition, "ListKindConflict", message),
        Ok(()) => new_names.list_kind = requested.list_kind.clone(),
    }
    new_names.categories = requested.categories;

    if condition.status == "Unknown" {
        condition = CrdCondition::new(NAMES_ACCEPTED, "True", "NoConflicts", "no conflicts found");
    }
    let mut established = find_crd_condition(crd, ESTABLISHED).map_or_else(
        || {
            CrdCondition::new(
                ESTABLISHED,
                "False",
                "NotAccepted",
                "not all names are accepted",
            )
        },
        CrdCondition::from_json,
    );
    if established.status != "True" && condition.status == "True" {
        established = CrdCondition::new(
            ESTABLISHED,
            "False",
            "Installing",
            "the initial names have been accepted",
        );
    }
    NamingResult {
        accepted_names: new_names.to_json(),
        names_accepted: condition,
        established,
    }
}

/// One pass of the naming controller over `crd` (Go:
/// `NamingConditionController.sync`): the CRD with its new
/// `status.acceptedNames`, `NamesAccepted` and `Established` conditions,
/// to write through `/status`; `None` when nothing changes. Run it again
/// for the other CRDs of the group after a change, as Go requeues them.
pub fn naming_update(crd: &Value, crds: &[Value], now: jiff::Timestamp) -> Option<Value> {
    let requested = Names::of(&crd["spec"]["names"]);
    let accepted = Names::of(&crd["status"]["acceptedNames"]);
    if requested == accepted {
        return None;
    }
    let result = calculate_names_and_conditions(crd, crds);
    if Names::of(&result.accepted_names) == accepted
        && result
            .names_accepted
            .equivalent(find_crd_condition(crd, NAMES_ACCEPTED))
    {
        return None;
    }
    let mut updated = crd.clone();
    if let Some(status) = status_mut(&mut updated) {
        status.insert("acceptedNames".to_owned(), result.accepted_names);
    }
    set_crd_condition(&mut updated, &result.names_accepted, now);
    set_crd_condition(&mut updated, &result.established, now);
    Some(updated)
}

/// One pass of the establishing controller (Go:
/// `EstablishingController.sync`): once `NamesAccepted` is true,
/// `Established=True` (`InitialNamesAccepted`); `None` when there is
/// nothing to do. (Go sets `InvalidCABundle` instead for a conversion
/// webhook with a bad CA bundle; kapi does not parse CA bundles.)
pub fn establishing_update(crd: &Value, now: jiff::Timestamp) -> Option<Value> {
    if !is_crd_condition_true(crd, NAMES_ACCEPTED) || is_crd_condition_true(crd, ESTABLISHED) {
        return None;
    }
    let mut updated = crd.clone();
    set_crd_condition(&mut updated, &CrdCondition::established(), now);
    Some(updated)
}

/// What the first DELETE of a CRD does instead of deleting it (Go:
/// `customresourcedefinition.REST.Delete` while `deletionTimestamp` is
/// unset): sets `deletionTimestamp`, adds
/// [`CUSTOM_RESOURCE_CLEANUP_FINALIZER`] and the `Terminating`
/// `InstanceDeletionPending` condition. The finalizer then sets
/// [`CrdCondition::instance_deletion_in_progress`], deletes the instances
/// when the CRD was established (else
/// [`CrdCondition::never_established`]), sets the outcome
/// ([`CrdCondition::instance_deletion_completed`] or a failure), and
/// removes the finalizer with [`remove_crd_finalizer`], all through
/// `/status`.
pub fn mark_crd_for_deletion(crd: &mut Value, now: jiff::Timestamp) {
    let Some(object) = crd.as_object_mut() else {
        return;
    };
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(metadata) = metadata.as_object_mut() {
        if string(metadata.get("deletionTimestamp")).is_empty() {
            metadata.insert("deletionTimestamp".to_owned(), Value::from(rfc3339(now)));
        }
        let finalizers = metadata
            .entry("finalizers")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !finalizers.is_array() {
            *finalizers = Value::Array(Vec::new());
        }
        if let Some(list) = finalizers.as_array_mut()
            && !list
                .iter()
                .any(|f| f.as_str() == Some(CUSTOM_RESOURCE_CLEANUP_FINALIZER))
        {
            list.push(Value::from(CUSTOM_RESOURCE_CLEANUP_FINALIZER));
        }
    }
    set_crd_condition(crd, &CrdCondition::instance_deletion_pending(), now);
}

/// Whether `finalizer` is among the CRD's finalizers (Go:
/// `CRDHasFinalizer`).
pub fn crd_has_finalizer(crd: &Value, finalizer: &str) -> bool {
    strings(crd["metadata"].get("finalizers"))
        .iter()
        .any(|f| f == finalizer)
}

/// Removes `finalizer` (Go: `CRDRemoveFinalizer`).
pub fn remove_crd_finalizer(crd: &mut Value, finalizer: &str) {
    if let Some(list) = crd
        .get_mut("metadata")
        .and_then(|m| m.get_mut("finalizers"))
        .and_then(Value::as_array_mut)
    {
        list.retain(|f| f.as_str() != Some(finalizer));
    }
}

/// Whether the CRD is being deleted: `deletionTimestamp` set or
/// `Terminating=True` (the handler then refuses creates, see
/// [`forbid_create_while_terminating`], and discovery drops the write
/// verbs).
pub fn is_crd_terminating(crd: &Value) -> bool {
    !string(crd["metadata"].get("deletionTimestamp")).is_empty()
        || is_crd_condition_true(crd, TERMINATING)
}

/// Whether the handler serves the CRD's resources at all: `NamesAccepted`
/// or `Established` is true (Go passes other requests on, to a 404).
pub fn crd_accepts_requests(crd: &Value) -> bool {
    is_crd_condition_true(crd, NAMES_ACCEPTED) || is_crd_condition_true(crd, ESTABLISHED)
}

/// 403 for a create (or a patch that would create) while the CRD is
/// terminating: `<resource>.<group> "<name>" is forbidden: create not
/// allowed while custom resource definition is terminating` (Go:
/// `forbidCreateAdmission`, `NewForbidden`).
pub fn forbid_create_while_terminating(group: &str, resource: &str, name: &str) -> StatusError {
    let qualified = if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    };
    let why = "create not allowed while custom resource definition is terminating";
    let message = if name.is_empty() {
        format!("{qualified} is forbidden: {why}")
    } else {
        format!(
            "{qualified} {} is forbidden: {why}",
            kapi_core::go::quote(name)
        )
    };
    StatusError::new(StatusCode::FORBIDDEN, StatusReason::Forbidden, message).with_details(
        StatusDetails {
            group: (!group.is_empty()).then(|| group.to_owned()),
            kind: (!resource.is_empty()).then(|| resource.to_owned()),
            name: (!name.is_empty()).then(|| name.to_owned()),
            ..StatusDetails::default()
        },
    )
}

/// `CustomResourceDefinitionNames` with Go's nil-equals-empty comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Names {
    plural: String,
    singular: String,
    short_names: Vec<String>,
    kind: String,
    list_kind: String,
    categories: Vec<String>,
}

impl Names {
    fn of(names: &Value) -> Self {
        Self {
            plural: string(names.get("plural")).to_owned(),
            singular: string(names.get("singular")).to_owned(),
            short_names: strings(names.get("shortNames")),
            kind: string(names.get("kind")).to_owned(),
            list_kind: string(names.get("listKind")).to_owned(),
            categories: strings(names.get("categories")),
        }
    }

    /// As Go serializes it: `plural` and `kind` always, the rest when set.
    fn to_json(&self) -> Value {
        let mut names = Map::new();
        names.insert("plural".to_owned(), Value::from(self.plural.as_str()));
        set_or_remove(&mut names, "singular", &self.singular);
        if !self.short_names.is_empty() {
            names.insert("shortNames".to_owned(), json!(self.short_names));
        }
        names.insert("kind".to_owned(), Value::from(self.kind.as_str()));
        set_or_remove(&mut names, "listKind", &self.list_kind);
        if !self.categories.is_empty() {
            names.insert("categories".to_owned(), json!(self.categories));
        }
        Value::Object(names)
    }
}

/// Go: `equalToAcceptedOrFresh`.
fn fresh(requested: &str, accepted: &str, used: &BTreeSet<String>) -> Result<(), String> {
    if requested == accepted || !used.contains(requested) {
        Ok(())
    } else {
        Err(format!(
            "{} is already in use",
            kapi_core::go::quote(requested)
        ))
    }
}

fn set_or_remove(map: &mut Map<String, Value>, key: &str, value: &str) {
    if value.is_empty() {
        map.remove(key);
    } else {
        map.insert(key.to_owned(), Value::from(value));
    }
}

fn status_mut(crd: &mut Value) -> Option<&mut Map<String, Value>> {
    let object = crd.as_object_mut()?;
    let status = object
        .entry("status")
        .or_insert_with(|| Value::Object(Map::new()));
    if !status.is_object() {
        *status = Value::Object(Map::new());
    }
    status.as_object_mut()
}

fn conditions_mut(crd: &mut Value) -> Option<&mut Vec<Value>> {
    let status = status_mut(crd)?;
    let conditions = status
        .entry("conditions")
        .or_insert_with(|| Value::Array(Vec::new()));
    if present(Some(conditions)).is_none() || !conditions.is_array() {
        *conditions = Value::Array(Vec::new());
    }
    conditions.as_array_mut()
}

/// A timestamp as Go's `metav1.Time` writes it: RFC 3339, whole seconds, UTC.
pub(crate) fn rfc3339(time: jiff::Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    fn crd(name: &str, group: &str, names: Value, accepted: Value) -> Value {
        json!({
            "metadata": {"name": name},
            "spec": {"group": group, "names": names},
            "status": {"acceptedNames": accepted, "conditions": null, "storedVersions": ["v1"]},
        })
    }

    fn crontab_names() -> Value {
        json!({"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "listKind": "CronTabList", "shortNames": ["ct"]})
    }

    fn empty_names() -> Value {
        json!({"plural": "", "kind": ""})
    }

    /// The naming controller's result for a new CRD next to `others`:
    /// the condition's status, reason and message, and the accepted names.
    fn check(new: Value, others: &[Value], expected: (&str, &str, &str), expected_names: Value) {
        let result = calculate_names_and_conditions(&new, others);
        let condition = &result.names_accepted;
        assert_eq!(
            (
                condition.status.as_str(),
                condition.reason.as_str(),
                condition.message.as_str()
            ),
            expected
        );
        assert_eq!(result.accepted_names, expected_names);
    }

    #[test]
    fn names_are_accepted_without_conflicts() {
        let existing = crd(
            "crontabs.stable.example.com",
            "stable.example.com",
            crontab_names(),
            crontab_names(),
        );
        let fresh = crd(
            "widgets.stable.example.com",
            "stable.example.com",
            json!({"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"}),
            empty_names(),
        );
        check(
            fresh,
            std::slice::from_ref(&existing),
            ("True", "NoConflicts", "no conflicts found"),
            json!({"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"}),
        );
    }

    #[test]
    fn conflicts_between_two_crds_of_one_group() {
        let existing = crd(
            "crontabs.stable.example.com",
            "stable.example.com",
            crontab_names(),
            crontab_names(),
        );
        let others = std::slice::from_ref(&existing);
        // Same plural (the name differs only by group in real life; here a
        // second CRD claims the names of the first).
        check(
            crd(
                "crontabs2.stable.example.com",
                "stable.example.com",
                json!({"plural": "crontabs", "singular": "crontab2", "kind": "CronTab2", "listKind": "CronTab2List"}),
                empty_names(),
            ),
            others,
            ("False", "PluralConflict", r#""crontabs" is already in use"#),
            json!({"plural": "", "singular": "crontab2", "kind": "CronTab2", "listKind": "CronTab2List"}),
        );
        check(
            crd(
                "others.stable.example.com",
                "stable.example.com",
                json!({"plural": "others", "singular": "ct", "kind": "Other", "listKind": "OtherList", "shortNames": ["crontab", "o", "crontabs"]}),
                empty_names(),
            ),
            others,
            (
                "False",
                "ShortNamesConflict",
                r#"["crontab" is already in use, "crontabs" is already in use]"#,
            ),
            json!({"plural": "others", "kind": "Other", "listKind": "OtherList"}),
        );
        check(
            crd(
                "others.stable.example.com",
                "stable.example.com",
                json!({"plural": "others", "singular": "other", "kind": "CronTab", "listKind": "CronTabList"}),
                empty_names(),
            ),
            others,
            (
                "False",
                "ListKindConflict",
                r#""CronTabList" is already in use"#,
            ),
            json!({"plural": "others", "singular": "other", "kind": ""}),
        );
        // Another group does not conflict.
        check(
            crd(
                "crontabs.other.example.com",
                "other.example.com",
                crontab_names(),
                empty_names(),
            ),
            others,
            ("True", "NoConflicts", "no conflicts found"),
            crontab_names(),
        );
    }

    #[test]
    fn accepted_names_are_kept_when_the_spec_conflicts() {
        let existing = crd(
            "crontabs.stable.example.com",
            "stable.example.com",
            crontab_names(),
            crontab_names(),
        );
        let mut renamed = crd(
            "widgets.stable.example.com",
            "stable.example.com",
            json!({"plural": "widgets", "singular": "crontab", "kind": "Widget", "listKind": "WidgetList"}),
            json!({"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"}),
        );
        set_crd_condition(&mut renamed, &CrdCondition::established(), at(0));
        let result = calculate_names_and_conditions(&renamed, std::slice::from_ref(&existing));
        assert_eq!(result.names_accepted.reason, "SingularConflict");
        assert_eq!(result.accepted_names["singular"], "widget");
        assert_eq!(result.established, CrdCondition::established());
    }

    #[test]
    fn naming_then_establishing_keeps_transition_times() {
        let new = crd(
            "crontabs.stable.example.com",
            "stable.example.com",
            crontab_names(),
            empty_names(),
        );
        let named = naming_update(&new, &[], at(0)).unwrap();
        assert_eq!(named["status"]["acceptedNames"], crontab_names());
        assert_eq!(
            named["status"]["conditions"],
            json!([
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": "2023-11-14T22:13:20Z", "reason": "NoConflicts", "message": "no conflicts found"},
                {"type": "Established", "status": "False", "lastTransitionTime": "2023-11-14T22:13:20Z", "reason": "Installing", "message": "the initial names have been accepted"},
            ])
        );
        assert_eq!(naming_update(&named, &[], at(5)), None);
        let established = establishing_update(&named, at(10)).unwrap();
        let condition = find_crd_condition(&established, ESTABLISHED).unwrap();
        assert_eq!(
            condition,
            &json!({"type": "Established", "status": "True", "lastTransitionTime": "2023-11-14T22:13:30Z", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"})
        );
        assert_eq!(establishing_update(&established, at(20)), None);
        // Same status: the time stays.
        let mut again = established.clone();
        set_crd_condition(
            &mut again,
            &CrdCondition::new(NAMES_ACCEPTED, "True", "Other", "m"),
            at(30),
        );
        assert_eq!(
            find_crd_condition(&again, NAMES_ACCEPTED).unwrap()["lastTransitionTime"],
            "2023-11-14T22:13:20Z"
        );
        remove_crd_condition(&mut again, NAMES_ACCEPTED);
        assert!(find_crd_condition(&again, NAMES_ACCEPTED).is_none());
        assert!(crd_accepts_requests(&again));
    }

    #[test]
    fn deletion_marks_and_finalizer() {
        let mut crd = crd(
            "crontabs.stable.example.com",
            "stable.example.com",
            crontab_names(),
            crontab_names(),
        );
        assert!(!is_crd_terminating(&crd));
        mark_crd_for_deletion(&mut crd, at(0));
        assert_eq!(crd["metadata"]["deletionTimestamp"], "2023-11-14T22:13:20Z");
        assert!(crd_has_finalizer(&crd, CUSTOM_RESOURCE_CLEANUP_FINALIZER));
        assert!(is_crd_terminating(&crd));
        assert_eq!(
            CrdCondition::from_json(find_crd_condition(&crd, TERMINATING).unwrap()),
            CrdCondition::instance_deletion_pending()
        );
        mark_crd_for_deletion(&mut crd, at(9));
        assert_eq!(
            crd["metadata"]["finalizers"],
            json!([CUSTOM_RESOURCE_CLEANUP_FINALIZER])
        );
        assert_eq!(crd["metadata"]["deletionTimestamp"], "2023-11-14T22:13:20Z");
        remove_crd_finalizer(&mut crd, CUSTOM_RESOURCE_CLEANUP_FINALIZER);
        assert!(!crd_has_finalizer(&crd, CUSTOM_RESOURCE_CLEANUP_FINALIZER));
    }

    #[test]
    fn forbidden_create_status() {
        let err = forbid_create_while_terminating("stable.example.com", "crontabs", "x");
        assert_eq!(err.code(), StatusCode::FORBIDDEN);
        assert_eq!(
            err.message(),
            r#"crontabs.stable.example.com "x" is forbidden: create not allowed while custom resource definition is terminating"#
        );
    }
}
