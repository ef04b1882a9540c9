//! Defaulting (Go: `pkg/apiserver/schema/defaulting`): `Default` fills in
//! missing (and non-nullable null) fields from the schema's defaults, top
//! down, so defaults of nested fields apply inside defaulted objects;
//! `PruneNonNullableNullsWithoutDefaults` drops nulls nobody may set;
//! `PruneDefaults` prunes the default values themselves once, so that
//! defaulting never adds unknown fields; `ValidateDefaults` checks the
//! defaults of a CRD schema (pruned, valid metadata, valid by their schema;
//! CEL rules are not run).

use kapi_core::field::{ErrorList, Path, aggregate};
use serde_json::{Map, Value};

use super::model::{Additional, Node};
use super::objectmeta;
use super::openapi::{Mode, Validator};
use super::pattern::Patterns;
use super::pruning;

fn is_non_nullable_null(value: &Value, node: Option<&Node>) -> bool {
    value.is_null() && node.is_some_and(|n| !n.nullable)
}

/// Applies the defaults of `node` to `value` (Go: `Default`).
pub(crate) fn apply(value: &mut Value, node: &Node) {
    match value {
        Value::Object(map) => {
            for (key, prop) in &node.properties {
                let Some(default) = prop.default_value() else {
                    continue;
                };
                let missing = match map.get(key) {
                    None => true,
                    Some(current) => is_non_nullable_null(current, Some(prop)),
                };
                if missing {
                    map.insert(key.clone(), default.clone());
                }
            }
            for (key, child) in map.iter_mut() {
                if let Some(prop) = node.properties.get(key) {
                    apply(child, prop);
                } else if node.additional_properties.is_some() {
                    let additional = node.additional_schema();
                    if is_non_nullable_null(child, additional)
                        && let Some(additional) = additional
                    {
                        // Go copies the (possibly absent) default: a null
                        // stays null when there is none.
                        *child = additional.default_value().cloned().unwrap_or(Value::Null);
                    }
                    if let Some(additional) = additional {
                        apply(child, additional);
                    }
                }
            }
        }
        Value::Array(items) => {
            let item_schema = node.items.as_deref();
            for item in items.iter_mut() {
                if is_non_nullable_null(item, item_schema)
                    && let Some(item_schema) = item_schema
                {
                    *item = item_schema.default_value().cloned().unwrap_or(Value::Null);
                }
                if let Some(item_schema) = item_schema {
                    apply(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

/// Drops null values the schema neither allows (`nullable`) nor defaults
/// (Go: `PruneNonNullableNullsWithoutDefaults`).
pub(crate) fn prune_non_nullable_nulls(value: &mut Value, node: Option<&Node>) {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let schema = node.and_then(|n| n.field(&key).flatten());
                let drop = map.get(&key).is_some_and(|v| {
                    v.is_null()
                        && schema.is_some_and(|s| !s.nullable && s.default_value().is_none())
                });
                if drop {
                    map.remove(&key);
                } else if let Some(child) = map.get_mut(&key) {
                    prune_non_nullable_nulls(child, schema);
                }
            }
        }
        Value::Array(items) => {
            let item_schema = node.and_then(|n| n.items.as_deref());
            for item in items {
                prune_non_nullable_nulls(item, item_schema);
            }
        }
        _ => {}
    }
}

/// A copy of the schema whose default values are pruned by the schema
/// they apply to, with embedded metadata coerced (Go: `PruneDefaults`).
pub(crate) fn prune_defaults(root: &Node) -> Node {
    let mut copy = root.clone();
    prune_node_defaults(&mut copy, true);
    copy
}

fn prune_node_defaults(node: &mut Node, resource_root: bool) {
    if let Some(default) = node.default_value().cloned() {
        let mut pruned = default;
        let embedded = resource_root || node.embedded_resource;
        objectmeta::coerce(
            &mut pruned,
            node,
            embedded,
            &kapi_core::field::Path::default(),
            true,
        );
        pruning::prune(&mut pruned, Some(node), embedded);
        node.default = Some(pruned);
    }
    if let Some(Additional::Schema(additional)) = &mut node.additional_properties {
        prune_node_defaults(additional, false);
    }
    if let Some(items) = &mut node.items {
        prune_node_defaults(items, false);
    }
    for prop in node.properties.values_mut() {
        prune_node_defaults(prop, false);
    }
}

/// One step from an embedded resource (or the root) down to a default
/// (Go: `SurroundingObjectFunc`'s `Child` and `Index`).
#[derive(Debug, Clone)]
enum Step {
    Child(String),
    Index,
}

/// Checks the default values of a CRD schema (Go: `ValidateDefaults` with
/// `isResourceRoot` and `requirePrunedDefaults`); `path` is the
/// `openAPIV3Schema` path.
pub(crate) fn validate_defaults(path: &Path, root: &Node, patterns: &Patterns) -> ErrorList {
    let mut check = DefaultsCheck {
        validator: Validator::new(patterns, Mode::Default),
        errs: ErrorList::new(),
    };
    check.node(path, root, true, root, &[], false);
    check.errs
}

struct DefaultsCheck<'a> {
    validator: Validator<'a>,
    errs: ErrorList,
}

impl DefaultsCheck<'_> {
    /// `resource` is the embedded resource (or the root) the node belongs
    /// to, `steps` the way from it to the node.
    fn node(
        &mut self,
        path: &Path,
        node: &Node,
        is_root: bool,
        resource: &Node,
        steps: &[Step],
        inside_meta: bool,
    ) {
        let embedded = is_root || node.embedded_resource;
        let (resource, steps, inside_meta): (&Node, &[Step], bool) = if embedded {
            (node, &[], false)
        } else {
            (resource, steps, inside_meta)
        };
        if let Some(default) = node.default_value() {
            if inside_meta {
                self.default_inside_meta(path, node, default, resource, steps);
            } else {
                self.default(path, node, default, embedded);
            }
        }
        if let Some(items) = &node.items {
            let mut sub = steps.to_vec();
            sub.push(Step::Index);
            self.node(
                &path.child("items"),
                items,
                false,
                resource,
                &sub,
                inside_meta,
            );
        }
        for (key, prop) in &node.properties {
            let sub_inside_meta = inside_meta
                || (embedded && matches!(key.as_str(), "metadata" | "apiVersion" | "kind"));
            let mut sub = steps.to_vec();
            sub.push(Step::Child(key.clone()));
            self.node(
                &path.child("properties").key(key),
                prop,
                false,
                resource,
                &sub,
                sub_inside_meta,
            );
        }
    }

    fn default(&mut self, path: &Path, node: &Node, default: &Value, embedded: bool) {
        let default_path = path.child("default");
        let mut pruned = default.clone();
        pruning::prune(&mut pruned, Some(node), embedded);
        if pruned != *default {
            self.errs.push(kapi_core::field::Error::invalid(
                &default_path,
                default.clone(),
                "must not have unknown fields",
            ));
        }
        let mut coerced = default.clone();
        if let (Some(err), _) =
            objectmeta::coerce(&mut coerced, node, embedded, &default_path, false)
        {
            self.errs.push(err);
            return;
        }
        let meta_errs = objectmeta::validate(&default_path, &coerced, Some(node), embedded);
        if !meta_errs.is_empty() {
            self.errs.extend(meta_errs);
            return;
        }
        let outcome = self.validator.validate(node, &coerced, None);
        self.errs.extend(outcome.field_errors(Some(&default_path)));
    }

    /// A default inside the `metadata`, `apiVersion` or `kind` of an
    /// embedded resource: checked as part of the object it builds.
    fn default_inside_meta(
        &mut self,
        path: &Path,
        node: &Node,
        default: &Value,
        resource: &Node,
        steps: &[Step],
    ) {
        let default_path = path.child("default");
        let mut object = default.clone();
        for step in steps.iter().rev() {
            object = match step {
                Step::Child(key) => {
                    let mut map = Map::new();
                    map.insert(key.clone(), object);
                    Value::Object(map)
                }
                Step::Index => Value::Array(vec![object]),
            };
        }
        if let Value::Object(map) = &mut object {
            map.entry("kind")
                .or_insert_with(|| Value::from("Validation"));
            map.entry("apiVersion")
                .or_insert_with(|| Value::from("validation/v1"));
        }
        let invalid_metadata = |detail: String| {
            kapi_core::field::Error::invalid(
                &default_path,
                default.clone(),
                format!("must result in valid metadata: {detail}"),
            )
        };
        if let (Some(err), _) =
            objectmeta::coerce(&mut object, resource, true, &Path::default(), false)
        {
            self.errs.push(invalid_metadata(err.to_string()));
            return;
        }
        let meta_errs = objectmeta::validate(&Path::default(), &object, Some(resource), true);
        if let Some(message) = aggregate(&meta_errs) {
            self.errs.push(invalid_metadata(message));
            return;
        }
        let outcome = self.validator.validate(node, default, None);
        self.errs.extend(outcome.field_errors(Some(&default_path)));
    }
}
