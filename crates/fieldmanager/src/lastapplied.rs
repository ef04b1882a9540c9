//! The client-side apply annotation
//! (`kubectl.kubernetes.io/last-applied-configuration`) during server-side
//! apply by `kubectl`: which conflicts it allows to take over, and keeping
//! it in sync with the applied configuration.
//!
//! Mirrors `k8s.io/apimachinery/pkg/util/managedfields/internal`
//! (`lastapplied.go`, `lastappliedmanager.go`, `lastappliedupdater.go`).

use serde_json::{Map, Value};

use crate::schema::Schema;
use crate::set::FieldSet;
use crate::typed;
use crate::value;

/// The annotation client-side apply records the last configuration in.
pub const LAST_APPLIED_CONFIG_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The only manager whose applies read and update the annotation.
pub(crate) const KUBECTL: &str = "kubectl";

/// The most bytes (keys plus values) an object's annotations may hold
/// (Go: `TotalAnnotationSizeLimitB`).
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// The annotations as a string map, `None` when missing or not all strings
/// (Go: `GetAnnotations` on unstructured objects).
fn annotations(object: &Value) -> Option<Map<String, Value>> {
    let map = object.pointer("/metadata/annotations")?.as_object()?;
    map.values().all(Value::is_string).then(|| map.clone())
}

fn set_annotations(object: &mut Value, annotations: Option<Map<String, Value>>) {
    let Value::Object(root) = object else { return };
    match annotations {
        None => {
            if let Some(Value::Object(meta)) = root.get_mut("metadata") {
                meta.remove("annotations");
            }
        }
        Some(annotations) => {
            let meta = root
                .entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(meta) = meta {
                meta.insert("annotations".into(), Value::Object(annotations));
            }
        }
    }
}

/// Whether the object carries a non-empty last-applied annotation.
pub(crate) fn has_last_applied(object: &Value) -> bool {
    annotations(object)
        .and_then(|a| a.get(LAST_APPLIED_CONFIG_ANNOTATION).cloned())
        .and_then(|v| v.as_str().map(|s| !s.is_empty()))
        .unwrap_or(false)
}

/// The annotation's value for an applied configuration: the configuration
/// without the annotation, encoded as Go's JSON encoder writes it (sorted
/// keys, trailing newline) (Go: `buildLastApplied`).
pub(crate) fn build_last_applied(config: &Value) -> String {
    let mut config = config.clone();
    let mut annotations = annotations(&config);
    if let Some(a) = &mut annotations {
        a.remove(LAST_APPLIED_CONFIG_ANNOTATION);
    }
    set_annotations(&mut config, annotations);
    let mut text = value::to_go_json(&config);
    text.push('\n');
    text
}

/// Sets the annotation, leaving it out when the annotations would grow past
/// their size limit (Go: `SetLastApplied`).
pub(crate) fn set_last_applied(object: &mut Value, last_applied: String) {
    let mut annotations = annotations(object).unwrap_or_default();
    annotations.insert(LAST_APPLIED_CONFIG_ANNOTATION.into(), last_applied.into());
    let size: usize = annotations
        .iter()
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum();
    if size > TOTAL_ANNOTATION_SIZE_LIMIT {
        annotations.remove(LAST_APPLIED_CONFIG_ANNOTATION);
    }
    set_annotations(object, Some(annotations));
}

/// The fields the live object's last-applied annotation sets and the live
/// object still has with the same value: conflicts on them are forced for
/// `kubectl` (Go: `allowedConflictsFromLastApplied`). `None` when there is
/// no usable annotation.
pub(crate) fn allowed_conflicts(
    schema: &Schema,
    api_version: &str,
    live: &Value,
) -> Option<FieldSet> {
    let annotations = annotations(live)?;
    let text = annotations.get(LAST_APPLIED_CONFIG_ANNOTATION)?.as_str()?;
    if text.is_empty() {
        return None;
    }
    if !typed::validate(schema, &schema.root, live, false).is_empty() {
        return None;
    }
    let last_applied: Value = serde_json::from_str(text).ok()?;
    if !last_applied.is_object() {
        return None;
    }
    if last_applied
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        != api_version
    {
        return None;
    }
    if !typed::validate(schema, &schema.root, &last_applied, false).is_empty() {
        return None;
    }
    let set = typed::to_field_set(schema, &schema.root, &last_applied).ok()?;
    let comparison = typed::compare(schema, &schema.root, &last_applied, live).ok()?;
    Some(
        set.difference(&comparison.modified)
            .difference(&comparison.added)
            .difference(&comparison.removed),
    )
}
