//! Removing a set of fields, list items and map entries from a value.
//!
//! Mirrors `sigs.k8s.io/structured-merge-diff/v6/typed/remove.go` (the
//! removing direction of `removeItemsWithSchema`), including its results:
//! a container left with nothing becomes `null` in its parent, and atomic
//! containers cannot be entered.

use serde_json::{Map, Value};

use super::{Shape, list_item_element, shape};
use crate::path::{Path, PathElement};
use crate::schema::{Relationship, Schema, TypeRef};
use crate::set::FieldSet;

/// `value` without the fields of `to_remove` (Go: `TypedValue.RemoveItems`).
pub(crate) fn remove_items(
    schema: &Schema,
    tr: &TypeRef,
    value: &Value,
    to_remove: &FieldSet,
) -> Value {
    remove(schema, tr, value, to_remove).unwrap_or(Value::Null)
}

fn remove(schema: &Schema, tr: &TypeRef, value: &Value, to_remove: &FieldSet) -> Option<Value> {
    let atom = schema.resolve(tr)?;
    match shape(&atom, Some(value), tr).ok()? {
        Shape::Scalar(_) => Some(value.clone()),
        Shape::List(t) => {
            let items = value.as_array()?;
            if items.is_empty() || t.relationship == Relationship::Atomic {
                return None;
            }
            let mut out = Vec::new();
            for item in items {
                let Ok(pe) = list_item_element(schema, t, item) else {
                    out.push(item.clone());
                    continue;
                };
                if to_remove.has(&Path(vec![pe.clone()])) {
                    continue;
                }
                let subset = to_remove.with_prefix(&pe);
                if subset.is_empty() {
                    out.push(item.clone());
                } else {
                    out.push(remove_items(schema, &t.element, item, &subset));
                }
            }
            (!out.is_empty()).then_some(Value::Array(out))
        }
        Shape::Map(t) => {
            let map = value.as_object()?;
            if map.is_empty() || t.relationship == Relationship::Atomic {
                return None;
            }
            let mut out = Map::new();
            for (key, child) in map {
                let pe = PathElement::Field(key.clone());
                if to_remove.has(&Path(vec![pe.clone()])) {
                    continue;
                }
                let subset = to_remove.with_prefix(&pe);
                if subset.is_empty() {
                    out.insert(key.clone(), child.clone());
                } else {
                    out.insert(
                        key.clone(),
                        remove_items(schema, t.type_of(key), child, &subset),
                    );
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
    }
}
