//! Reconciling a manager's field set with the current schema: a field that
//! became atomic since the set was written is owned as a whole instead of
//! through its children.
//!
//! Mirrors `sigs.k8s.io/structured-merge-diff/v6/typed/reconcile_schema.go`.

use crate::path::{Path, PathElement};
use crate::schema::{ListType, MapType, Relationship, Schema, TypeRef, is_untyped_deduced_map};
use crate::set::FieldSet;

use super::{Shape, shape};

/// The set adjusted to the schema, or `None` when nothing changes (Go:
/// `ReconcileFieldSetWithSchema`).
pub(crate) fn reconcile_field_set(
    set: &FieldSet,
    schema: &Schema,
    tr: &TypeRef,
) -> Option<FieldSet> {
    let mut acc = Changes::default();
    walk(schema, tr, Some(set), &mut Vec::new(), false, &mut acc);
    if acc.remove.is_none() && acc.add.is_none() {
        return None;
    }
    let mut out = set.clone();
    if let Some(remove) = &acc.remove {
        out = out.recursive_difference(remove);
    }
    if let Some(add) = &acc.add {
        out = out.union(add);
    }
    Some(out)
}

#[derive(Default)]
struct Changes {
    remove: Option<FieldSet>,
    add: Option<FieldSet>,
}

impl Changes {
    fn merge(&mut self, other: Changes) {
        if let Some(r) = other.remove {
            self.remove = Some(match self.remove.take() {
                Some(mine) => mine.union(&r),
                None => r,
            });
        }
        if let Some(a) = other.add {
            self.add = Some(match self.add.take() {
                Some(mine) => mine.union(&a),
                None => a,
            });
        }
    }

    fn replace_with_whole(&mut self, path: &[PathElement]) {
        let whole = FieldSet::from_paths([Path(path.to_vec())]);
        self.remove = Some(whole.clone());
        self.add = Some(whole);
    }
}

fn walk(
    schema: &Schema,
    tr: &TypeRef,
    set: Option<&FieldSet>,
    path: &mut Vec<PathElement>,
    is_atomic: bool,
    acc: &mut Changes,
) {
    // Unresolvable types are reported in Go and abort the reconciliation;
    // the manager's set is then kept as it is.
    let Some(atom) = schema.resolve(tr) else {
        return;
    };
    match shape(&atom, None, tr) {
        Ok(Shape::List(t)) => list(schema, t, set, path, is_atomic, acc),
        Ok(Shape::Map(t)) => map(schema, t, set, path, is_atomic, acc),
        _ => {}
    }
}

fn list(
    schema: &Schema,
    t: &ListType,
    set: Option<&FieldSet>,
    path: &mut Vec<PathElement>,
    is_atomic: bool,
    acc: &mut Changes,
) {
    if !is_atomic && t.relationship == Relationship::Atomic {
        acc.replace_with_whole(path);
        return;
    }
    if let Some(set) = set {
        visit(set, path, acc, |_| Some(t.element.clone()), schema);
    }
}

fn map(
    schema: &Schema,
    t: &MapType,
    set: Option<&FieldSet>,
    path: &mut Vec<PathElement>,
    is_atomic: bool,
    acc: &mut Changes,
) {
    if is_untyped_deduced_map(t) {
        return;
    }
    if !is_atomic && t.relationship == Relationship::Atomic {
        if set.is_some_and(|s| !s.is_empty()) {
            acc.replace_with_whole(path);
        }
        return;
    }
    if let Some(set) = set {
        visit(
            set,
            path,
            acc,
            |pe| {
                let tr = match pe {
                    PathElement::Field(name) => t.type_of(name).clone(),
                    _ => t.element.clone(),
                };
                (!tr.is_empty()).then_some(tr)
            },
            schema,
        );
    }
}

/// Visits children that are not members, then members (Go's two passes).
fn visit(
    set: &FieldSet,
    path: &mut Vec<PathElement>,
    acc: &mut Changes,
    type_of: impl Fn(&PathElement) -> Option<TypeRef>,
    schema: &Schema,
) {
    let mut handle = |pe: &PathElement, is_member: bool, acc: &mut Changes| {
        let Some(tr) = type_of(pe) else { return };
        let child = set.child(pe);
        let mut sub = Changes::default();
        path.push(pe.clone());
        walk(
            schema,
            &tr,
            child,
            path,
            is_member && child.is_none(),
            &mut sub,
        );
        path.pop();
        acc.merge(sub);
    };
    for (pe, _) in &set.children {
        if set.members.binary_search(pe).is_err() {
            handle(pe, false, acc);
        }
    }
    for pe in &set.members {
        handle(pe, true, acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TypeSchema;
    use serde_json::json;

    #[test]
    fn granular_fields_that_became_atomic_are_owned_whole() {
        let schema = Schema::build(&TypeSchema::inline(json!({
            "type": "object",
            "properties": {
                "m": {"type": "object", "x-kubernetes-map-type": "atomic",
                    "properties": {"a": {"type": "string"}}},
                "l": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                "g": {"type": "object", "properties": {"a": {"type": "string"}}}
            }
        })))
        .unwrap();
        let set = FieldSet::from_fields_v1_str(
            r#"{"f:g":{"f:a":{}},"f:l":{"k:{\"name\":\"x\"}":{"f:name":{}}},"f:m":{"f:a":{}}}"#,
        )
        .unwrap();
        let out = reconcile_field_set(&set, &schema, &schema.root).unwrap();
        assert_eq!(
            out.to_fields_v1_string(),
            r#"{"f:g":{"f:a":{}},"f:l":{},"f:m":{}}"#
        );
        let unchanged = FieldSet::from_fields_v1_str(r#"{"f:g":{"f:a":{}},"f:m":{}}"#).unwrap();
        assert!(reconcile_field_set(&unchanged, &schema, &schema.root).is_none());
    }
}
