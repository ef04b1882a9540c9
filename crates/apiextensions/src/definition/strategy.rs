//! The registry strategies of `customresourcedefinitions` and their
//! `/status` subresource.
//!
//! Mirrors `pkg/registry/customresourcedefinition/strategy.go`: cluster
//! scoped; create resets `status` (keeping the storage version in
//! `status.storedVersions`) and sets `generation` 1; update keeps the old
//! `status`, bumps `generation` when `spec` changes and appends a new
//! storage version to `storedVersions`; `/status` updates take only
//! `status`; the warnings for unrecognized schema formats and
//! `x-kubernetes-list-type: set` over non-scalar items.

use std::collections::BTreeSet;

use kapi_core::field::ErrorList;
use kapi_storage::registry::Strategy;
use serde_json::{Map, Value, json};

use super::{Internal, array, present, set_defaults, storage_version, string};

/// `apiextensions.k8s.io/v1` `customresourcedefinitions` (Go:
/// `customresourcedefinition.strategy`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CrdStrategy;

/// `customresourcedefinitions/status` (Go:
/// `customresourcedefinition.statusStrategy`): an update takes `status`
/// from the request and everything under `spec` from the stored object.
/// Like Go, metadata changes (finalizers, labels) pass through: Go's
/// `ResetObjectMetaForStatus` call there resets nothing (kubernetes
/// issue 137681), and the CRD finalizer relies on it to drop its
/// finalizer through `/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrdStatusStrategy;

impl Strategy for CrdStrategy {
    fn namespace_scoped(&self) -> bool {
        false
    }

    fn allow_create_on_update(&self) -> bool {
        false
    }

    fn allow_unconditional_update(&self) -> bool {
        false
    }

    fn prepare_for_create(&self, object: &mut Value) {
        keep_known_top_level(object);
        set_defaults(object);
        let storage = storage_version(&object["spec"]).map(str::to_owned);
        if let Some(map) = object.as_object_mut() {
            map.insert(
                "status".to_owned(),
                json!({
                    "conditions": null,
                    "acceptedNames": {"plural": "", "kind": ""},
                    "storedVersions": storage.map(|v| json!([v])).unwrap_or(Value::Null),
                }),
            );
        }
        set_generation(object, 1);
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        keep_known_top_level(new);
        set_defaults(new);
        let mut old = old.clone();
        set_defaults(&mut old);
        if let Some(map) = new.as_object_mut() {
            map.insert(
                "status".to_owned(),
                old.get("status").cloned().unwrap_or_else(|| json!({})),
            );
        }
        if new.get("spec") != old.get("spec") {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(0);
            set_generation(new, generation.saturating_add(1));
        }
        if let Some(storage) = storage_version(&new["spec"]).map(str::to_owned) {
            let stored = new
                .get_mut("status")
                .and_then(Value::as_object_mut)
                .map(|status| {
                    status
                        .entry("storedVersions")
                        .or_insert_with(|| Value::Array(Vec::new()))
                });
            if let Some(stored) = stored {
                if !stored.is_array() {
                    *stored = Value::Array(Vec::new());
                }
                if let Some(list) = stored.as_array_mut()
                    && !list.iter().any(|v| v.as_str() == Some(storage.as_str()))
                {
                    list.push(Value::from(storage));
                }
            }
        }
    }

    fn validate(&self, object: &Value) -> ErrorList {
        super::validation::validate_create(object)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> ErrorList {
        super::validation::validate_update(new, old)
    }

    fn warnings_on_create(&self, object: &Value) -> Vec<String> {
        let spec = &object["spec"];
        let mut warnings: Vec<String> = unrecognized_formats(spec)
            .iter()
            .map(|format| format!("unrecognized format {}", kapi_core::go::quote(format)))
            .collect();
        warnings.extend(list_type_set_warnings(spec));
        warnings
    }

    fn warnings_on_update(&self, new: &Value, old: &Value) -> Vec<String> {
        let old_formats: BTreeSet<String> =
            unrecognized_formats(&old["spec"]).into_iter().collect();
        let mut warnings: Vec<String> = unrecognized_formats(&new["spec"])
            .into_iter()
            .filter(|format| !old_formats.contains(format))
            .map(|format| format!("unrecognized format {}", kapi_core::go::quote(&format)))
            .collect();
        let old_list_types: BTreeSet<String> =
            list_type_set_warnings(&old["spec"]).into_iter().collect();
        warnings.extend(
            list_type_set_warnings(&new["spec"])
                .into_iter()
                .filter(|w| !old_list_types.contains(w)),
        );
        warnings
    }

    /// A CRD is never deleted by its first DELETE: that only marks it (Go:
    /// the CRD REST's `Delete` while `deletionTimestamp` is unset) and the
    /// cleanup finalizer keeps it until its instances are gone.
    fn blocks_deletion(&self, object: &Value) -> bool {
        object["metadata"]["deletionTimestamp"].is_null()
    }

    /// Adds the cleanup finalizer and the `Terminating` condition.
    fn prepare_for_deletion(&self, object: &mut Value) {
        crate::definition::status::mark_crd_for_deletion(object, jiff::Timestamp::now());
    }
}

impl Strategy for CrdStatusStrategy {
    fn namespace_scoped(&self) -> bool {
        false
    }

    fn allow_create_on_update(&self) -> bool {
        false
    }

    fn allow_unconditional_update(&self) -> bool {
        false
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        keep_known_top_level(new);
        if let Some(map) = new.as_object_mut() {
            match old.get("spec") {
                Some(spec) => map.insert("spec".to_owned(), spec.clone()),
                None => map.remove("spec"),
            };
        }
    }

    fn validate(&self, object: &Value) -> ErrorList {
        super::validation::validate_status_update(object)
    }

    fn validate_update(&self, new: &Value, _old: &Value) -> ErrorList {
        super::validation::validate_status_update(new)
    }
}

/// Drops the fields a typed Go decode would not keep at the top level.
fn keep_known_top_level(object: &mut Value) {
    if let Some(map) = object.as_object_mut() {
        map.retain(|key, _| {
            matches!(
                key.as_str(),
                "apiVersion" | "kind" | "metadata" | "spec" | "status"
            )
        });
    }
}

fn set_generation(object: &mut Value, generation: i64) {
    if let Some(map) = object.as_object_mut() {
        let metadata = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("generation".to_owned(), Value::from(generation));
        }
    }
}

/// Calls `pred` on `schema` and every schema nested in it, in Go's
/// `SchemaHas` order; true as soon as `pred` is.
pub(crate) fn schema_has(schema: &Value, pred: &mut dyn FnMut(&Value) -> bool) -> bool {
    if !schema.is_object() {
        return false;
    }
    if pred(schema) {
        return true;
    }
    let mut children: Vec<&Value> = nested(schema.get("items"));
    for key in ["allOf", "anyOf", "oneOf"] {
        children.extend(array(schema.get(key)));
    }
    children.extend(nested(schema.get("not")));
    children.extend(values(schema.get("properties")));
    children.extend(nested(schema.get("additionalProperties")));
    children.extend(values(schema.get("patternProperties")));
    children.extend(nested(schema.get("additionalItems")));
    children.extend(values(schema.get("definitions")));
    children.extend(values(schema.get("dependencies")));
    children.into_iter().any(|child| schema_has(child, pred))
}

/// A nested schema or list of schemas.
fn nested(value: Option<&Value>) -> Vec<&Value> {
    match present(value) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(object @ Value::Object(_)) => vec![object],
        _ => Vec::new(),
    }
}

/// The schemas of a map of schemas.
fn values(value: Option<&Value>) -> Vec<&Value> {
    value
        .and_then(Value::as_object)
        .map(|map| map.values().collect())
        .unwrap_or_default()
}

/// Go: `getUnrecognizedFormatsInCRD`.
fn unrecognized_formats(spec: &Value) -> Vec<String> {
    let mut formats = Vec::new();
    for schema in Internal::of(spec).schemas() {
        schema_has(schema, &mut |s| {
            let format = string(s.get("format"));
            if format.is_empty() {
                return false;
            }
            let recognized = match string(s.get("type")) {
                "" | "string" => crate::schema::formats::is_supported(format),
                "integer" => matches!(format, "int32" | "int64"),
                "number" => matches!(format, "float" | "double"),
                _ => false,
            };
            if !recognized {
                formats.push(format.to_owned());
            }
            false
        });
    }
    formats
}

/// Go: `getNonScalarListTypeSetWarnings` (sorted, deduplicated).
fn list_type_set_warnings(spec: &Value) -> Vec<String> {
    let mut warnings = BTreeSet::new();
    for schema in Internal::of(spec).schemas() {
        schema_has(schema, &mut |s| {
            if string(s.get("x-kubernetes-list-type")) == "set"
                && let Some(items) = present(s.get("items")).filter(|i| i.is_object())
            {
                let type_ = string(items.get("type"));
                if matches!(type_, "object" | "array") {
                    warnings.insert(format!(
                        "x-kubernetes-list-type: set for items of type {} is not supported by server-side apply or CEL validation rules",
                        kapi_core::go::quote(type_)
                    ));
                }
            }
            false
        });
    }
    warnings.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(versions: Value) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.stable.example.com", "generation": 7},
            "spec": {
                "group": "stable.example.com",
                "scope": "Namespaced",
                "names": {"plural": "crontabs", "kind": "CronTab"},
                "versions": versions,
            },
            "status": {"acceptedNames": {"plural": "crontabs", "kind": "CronTab"}, "storedVersions": ["v1"], "conditions": []},
            "extra": true,
        })
    }

    fn version(name: &str, storage: bool) -> Value {
        json!({"name": name, "served": true, "storage": storage, "schema": {"openAPIV3Schema": {"type": "object"}}})
    }

    #[test]
    fn create_resets_status_and_sets_generation() {
        let mut object = crd(json!([version("v1beta1", false), version("v1", true)]));
        CrdStrategy.prepare_for_create(&mut object);
        assert_eq!(
            object["status"],
            json!({"conditions": null, "acceptedNames": {"plural": "", "kind": ""}, "storedVersions": ["v1"]})
        );
        assert_eq!(object["metadata"]["generation"], 1);
        assert!(object.get("extra").is_none());
        assert_eq!(object["spec"]["names"]["singular"], "crontab");
        assert_eq!(object["spec"]["names"]["listKind"], "CronTabList");
        assert_eq!(object["spec"]["conversion"], json!({"strategy": "None"}));
        let mut without_storage = crd(json!([version("v1", false)]));
        CrdStrategy.prepare_for_create(&mut without_storage);
        assert_eq!(without_storage["status"]["storedVersions"], Value::Null);
    }

    #[test]
    fn update_keeps_status_and_bumps_generation_on_spec_changes() {
        let mut old = crd(json!([version("v1", true)]));
        CrdStrategy.prepare_for_create(&mut old);
        old["metadata"]["generation"] = json!(3);
        old["status"]["storedVersions"] = json!(["v1"]);

        // Only metadata and status change: generation stays.
        let mut same = old.clone();
        same["metadata"]["labels"] = json!({"a": "b"});
        same["status"] = json!({"storedVersions": []});
        CrdStrategy.prepare_for_update(&mut same, &old);
        assert_eq!(same["metadata"]["generation"], 3);
        assert_eq!(same["status"], old["status"]);

        // A new storage version: generation +1, storedVersions grows.
        let mut changed = old.clone();
        changed["spec"]["versions"] = json!([version("v1", false), version("v2", true)]);
        CrdStrategy.prepare_for_update(&mut changed, &old);
        assert_eq!(changed["metadata"]["generation"], 4);
        assert_eq!(changed["status"]["storedVersions"], json!(["v1", "v2"]));
    }

    #[test]
    fn status_updates_take_only_status() {
        let old = crd(json!([version("v1", true)]));
        let mut new = old.clone();
        new["spec"]["scope"] = json!("Cluster");
        new["status"]["storedVersions"] = json!(["v1", "v0"]);
        new["metadata"]["finalizers"] = json!([]);
        CrdStatusStrategy.prepare_for_update(&mut new, &old);
        assert_eq!(new["spec"], old["spec"]);
        assert_eq!(new["status"]["storedVersions"], json!(["v1", "v0"]));
        assert_eq!(new["metadata"]["finalizers"], json!([]));
    }

    #[test]
    fn format_and_list_type_warnings() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "string", "format": "date-time"},
            "b": {"type": "string", "format": "k8s-short-name"},
            "c": {"type": "integer", "format": "int32"},
            "d": {"type": "number", "format": "int32"},
            "e": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "object"}},
        }});
        let object = crd(
            json!([{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema}}]),
        );
        assert_eq!(
            CrdStrategy.warnings_on_create(&object),
            [
                r#"unrecognized format "k8s-short-name""#,
                r#"unrecognized format "int32""#,
                r#"x-kubernetes-list-type: set for items of type "object" is not supported by server-side apply or CEL validation rules"#,
            ]
        );
        assert!(CrdStrategy.warnings_on_update(&object, &object).is_empty());
    }
}
