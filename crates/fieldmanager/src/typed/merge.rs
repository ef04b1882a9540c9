//! Merging an applied configuration into a live value: leaves, atomic lists
//! and atomic maps are taken from the configuration, associative lists are
//! merged item by item by key (or value for sets) keeping the order of the
//! configuration for shared items, and maps key by key.
//!
//! Mirrors `sigs.k8s.io/structured-merge-diff/v6/typed/merge.go` with its
//! only rule, keep-the-right-hand-side.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::{
    Shape, ValidationErrors, list_item_element, resolve, same_deduced, shape, validate_scalar,
};
use crate::path::PathElement;
use crate::schema::{Atom, ListType, MapType, Relationship, Schema, TypeRef};

/// Merges `rhs` into `lhs` (Go: `TypedValue.Merge`). `None` when the merge
/// produces no value (both sides empty non-leaf containers).
pub(crate) fn merge(
    schema: &Schema,
    tr: &TypeRef,
    lhs: &Value,
    rhs: &Value,
) -> Result<Option<Value>, ValidationErrors> {
    let (out, errs) = merge_node(schema, tr, Some(lhs), Some(rhs));
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

fn merge_node(
    schema: &Schema,
    tr: &TypeRef,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
) -> (Option<Value>, ValidationErrors) {
    if lhs.is_none() && rhs.is_none() {
        return (
            None,
            ValidationErrors::one("at least one of lhs and rhs must be provided"),
        );
    }
    let atom = match resolve(schema, tr) {
        Ok(a) => a,
        Err(e) => return (None, e),
    };
    let mut in_leaf = false;
    match (lhs, rhs) {
        (_, None) => handle(schema, &atom, tr, lhs, lhs, rhs, &mut in_leaf),
        (None, Some(_)) => handle(schema, &atom, tr, rhs, lhs, rhs, &mut in_leaf),
        (Some(l), Some(r)) if same_deduced(&atom, l, r) => {
            handle(schema, &atom, tr, rhs, lhs, rhs, &mut in_leaf)
        }
        (Some(_), Some(_)) => {
            // Go walks a copy for the left-hand side's shape and keeps only
            // its errors.
            let mut copy_in_leaf = false;
            let (_, mut errs) = handle(schema, &atom, tr, lhs, lhs, rhs, &mut copy_in_leaf);
            let (out, rerrs) = handle(schema, &atom, tr, rhs, lhs, rhs, &mut in_leaf);
            errs.extend(rerrs);
            (out, errs)
        }
    }
}

fn handle(
    schema: &Schema,
    atom: &Atom,
    tr: &TypeRef,
    deduce_from: Option<&Value>,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    in_leaf: &mut bool,
) -> (Option<Value>, ValidationErrors) {
    match shape(atom, deduce_from, tr) {
        Err(e) => (None, e),
        Ok(Shape::Scalar(t)) => {
            let mut lerrs = validate_scalar(t, lhs, "lhs: ");
            let rerrs = validate_scalar(t, rhs, "rhs: ");
            if !lerrs.is_empty() && !rerrs.is_empty() {
                lerrs.extend(rerrs);
                return (None, lerrs);
            }
            (leaf(lhs, rhs, in_leaf), ValidationErrors::default())
        }
        Ok(Shape::List(t)) => list(schema, t, lhs, rhs, in_leaf),
        Ok(Shape::Map(t)) => map(schema, t, lhs, rhs, in_leaf),
    }
}

/// Keep the right-hand side (Go: `ruleKeepRHS`).
fn leaf(lhs: Option<&Value>, rhs: Option<&Value>, in_leaf: &mut bool) -> Option<Value> {
    if *in_leaf {
        return None;
    }
    *in_leaf = true;
    rhs.or(lhs).cloned()
}

fn list(
    schema: &Schema,
    t: &ListType,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    in_leaf: &mut bool,
) -> (Option<Value>, ValidationErrors) {
    let l = lhs.and_then(Value::as_array);
    let r = rhs.and_then(Value::as_array);
    let empty = l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty);
    if t.relationship == Relationship::Atomic || empty {
        return (leaf(lhs, rhs, in_leaf), ValidationErrors::default());
    }
    if l.is_none() && r.is_none() {
        return (None, ValidationErrors::default());
    }
    list_items(
        schema,
        t,
        l.map_or(&[][..], Vec::as_slice),
        r.map_or(&[][..], Vec::as_slice),
    )
}

/// Path elements of a list's items and the item each first stands for; a
/// repeated element maps to null (Go: `indexListPathElements`).
fn index_items<'v>(
    schema: &Schema,
    t: &ListType,
    items: &'v [Value],
    allow_duplicates: bool,
    errs: &mut ValidationErrors,
) -> (Vec<PathElement>, BTreeMap<PathElement, Option<&'v Value>>) {
    let mut pes = Vec::new();
    let mut observed: BTreeMap<PathElement, Option<&'v Value>> = BTreeMap::new();
    for (i, child) in items.iter().enumerate() {
        let pe = match list_item_element(schema, t, child) {
            Ok(pe) => pe,
            Err(e) => {
                errs.extend(ValidationErrors::one(format!("element {i}: {e}")));
                continue;
            }
        };
        if let Some(slot) = observed.get_mut(&pe) {
            if !allow_duplicates {
                errs.extend(ValidationErrors::one(format!(
                    "duplicate entries for key {pe}"
                )));
                continue;
            }
            // Duplicated items are not merged with the new value.
            *slot = None;
        } else {
            observed.insert(pe.clone(), Some(child));
        }
        pes.push(pe);
    }
    (pes, observed)
}

static NULL: Value = Value::Null;

fn list_items(
    schema: &Schema,
    t: &ListType,
    lhs: &[Value],
    rhs: &[Value],
) -> (Option<Value>, ValidationErrors) {
    let mut errs = ValidationErrors::default();
    let (rhs_pes, observed_rhs) = index_items(schema, t, rhs, false, &mut errs);
    let (lhs_pes, observed_lhs) = index_items(schema, t, lhs, true, &mut errs);
    if !errs.is_empty() {
        return (None, errs);
    }
    // A duplicated item of the left-hand side merges as null.
    let lhs_child =
        |pe: &PathElement| -> Option<&Value> { observed_lhs.get(pe).map(|v| v.unwrap_or(&NULL)) };
    let rhs_child =
        |pe: &PathElement| -> Option<&Value> { observed_rhs.get(pe).map(|v| v.unwrap_or(&NULL)) };
    let mut shared_order = rhs_pes
        .iter()
        .filter(|pe| observed_lhs.contains_key(pe))
        .collect::<Vec<_>>()
        .into_iter();
    let mut next_shared = shared_order.next();
    let mut merged_rhs = BTreeSet::new();
    let mut out = Vec::new();
    let push_item = |l: Option<&Value>, r: Option<&Value>, out: &mut Vec<Value>| {
        // Go drops the errors of single items (a shadowed variable).
        let (item, _) = merge_node(schema, &t.element, l, r);
        if let Some(item) = item {
            out.push(item);
        }
    };
    let (l_len, r_len) = (lhs_pes.len(), rhs_pes.len());
    let (mut li, mut ri) = (0, 0);
    while li < l_len || ri < r_len {
        if li < l_len && ri < r_len {
            let pe = &lhs_pes[li];
            if *pe == rhs_pes[ri] {
                merged_rhs.insert(pe.clone());
                push_item(lhs_child(pe), rhs_child(pe), &mut out);
                li += 1;
                ri += 1;
                next_shared = shared_order.next();
                continue;
            }
            if observed_rhs.contains_key(pe) && next_shared.is_some_and(|s| s != pe) {
                // A shared item, but not the one wanted in this round.
                li += 1;
                continue;
            }
        }
        if li < l_len {
            let pe = &lhs_pes[li];
            if !observed_rhs.contains_key(pe) {
                push_item(Some(&lhs[li]), None, &mut out);
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
            }
        }
        if ri < r_len {
            let pe = &rhs_pes[ri];
            merged_rhs.insert(pe.clone());
            push_item(lhs_child(pe), rhs_child(pe), &mut out);
            ri += 1;
            if next_shared.is_some_and(|s| s == pe) {
                next_shared = shared_order.next();
            }
        }
    }
    let out = (!out.is_empty()).then_some(Value::Array(out));
    (out, ValidationErrors::default())
}

fn map(
    schema: &Schema,
    t: &MapType,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    in_leaf: &mut bool,
) -> (Option<Value>, ValidationErrors) {
    let l = lhs.and_then(Value::as_object);
    let r = rhs.and_then(Value::as_object);
    let empty = l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty);
    if t.relationship == Relationship::Atomic || empty {
        return (leaf(lhs, rhs, in_leaf), ValidationErrors::default());
    }
    if l.is_none() && r.is_none() {
        return (None, ValidationErrors::default());
    }
    let mut keys: Vec<&String> = l.iter().chain(r.iter()).flat_map(|m| m.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Map::new();
    let mut errs = ValidationErrors::default();
    for key in keys {
        let (item, item_errs) = merge_node(
            schema,
            t.type_of(key),
            l.and_then(|m| m.get(key)),
            r.and_then(|m| m.get(key)),
        );
        errs.extend(item_errs.with_prefix(&PathElement::Field(key.clone()).to_string()));
        if let Some(item) = item {
            out.insert(key.clone(), item);
        }
    }
    let out = (!out.is_empty()).then_some(Value::Object(out));
    (out, errs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TypeSchema;
    use serde_json::json;

    fn check(lhs: Value, rhs: Value, expected: Value) {
        let schema = Schema::build(&TypeSchema::inline(json!({
            "type": "object",
            "properties": {
                "set": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "atomic": {"type": "array", "items": {"type": "string"}},
                "m": {"type": "object", "additionalProperties": {"type": "string"}},
                "am": {"type": "object", "x-kubernetes-map-type": "atomic", "additionalProperties": {"type": "string"}},
                "s": {"type": "string"}
            }
        })))
        .unwrap();
        let out = merge(&schema, &schema.root, &lhs, &rhs).unwrap();
        assert_eq!(out, Some(expected), "{lhs} + {rhs}");
    }

    #[test]
    fn merges() {
        check(json!({"s": "a"}), json!({"s": "b"}), json!({"s": "b"}));
        check(
            json!({"m": {"a": "1", "b": "2"}}),
            json!({"m": {"b": "3"}}),
            json!({"m": {"a": "1", "b": "3"}}),
        );
        check(
            json!({"am": {"a": "1", "b": "2"}}),
            json!({"am": {"b": "3"}}),
            json!({"am": {"b": "3"}}),
        );
        check(
            json!({"atomic": ["a", "b"]}),
            json!({"atomic": ["c"]}),
            json!({"atomic": ["c"]}),
        );
        check(
            json!({"set": ["a", "b"]}),
            json!({"set": ["c"]}),
            json!({"set": ["a", "b", "c"]}),
        );
        // Shared items follow the configuration's order; others keep their place.
        check(
            json!({"set": ["a", "b", "c", "d"]}),
            json!({"set": ["d", "x", "b"]}),
            json!({"set": ["a", "c", "d", "x", "b"]}),
        );
    }
}
