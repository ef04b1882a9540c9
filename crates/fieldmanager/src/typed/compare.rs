//! Comparing two values of one type: which fields the right-hand side
//! added, modified and removed, with atomic lists and maps compared whole
//! and duplicated list keys handled as structured-merge-diff does.
//!
//! Mirrors `sigs.k8s.io/structured-merge-diff/v6/typed/compare.go`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    Shape, ValidationErrors, list_item_element, resolve, same_deduced, shape, validate_scalar,
};
use crate::path::{Path, PathElement};
use crate::schema::{ListType, MapType, Relationship, Schema, TypeRef};
use crate::set::FieldSet;
use crate::value;

/// What changed from the left-hand to the right-hand object (Go:
/// `typed.Comparison`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Comparison {
    pub(crate) removed: FieldSet,
    pub(crate) modified: FieldSet,
    pub(crate) added: FieldSet,
}

impl Comparison {
    /// Removes `filter`'s fields and everything below them from the three
    /// sets (Go: `FilterFields` with an exclude filter).
    pub(crate) fn exclude(&mut self, filter: Option<&FieldSet>) {
        if let Some(filter) = filter {
            self.removed = self.removed.recursive_difference(filter);
            self.modified = self.modified.recursive_difference(filter);
            self.added = self.added.recursive_difference(filter);
        }
    }
}

/// Compares `lhs` with `rhs` (Go: `TypedValue.Compare`).
pub(crate) fn compare(
    schema: &Schema,
    tr: &TypeRef,
    lhs: &Value,
    rhs: &Value,
) -> Result<Comparison, ValidationErrors> {
    let mut walker = Walker {
        schema,
        comparison: Comparison::default(),
        path: Vec::new(),
    };
    let errs = walker.compare(tr, Some(lhs), Some(rhs));
    if errs.is_empty() {
        Ok(walker.comparison)
    } else {
        Err(errs)
    }
}

struct Walker<'a> {
    schema: &'a Schema,
    comparison: Comparison,
    path: Vec<PathElement>,
}

impl Walker<'_> {
    fn here(&self) -> Path {
        Path(self.path.clone())
    }

    fn compare(
        &mut self,
        tr: &TypeRef,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
    ) -> ValidationErrors {
        if lhs.is_none() && rhs.is_none() {
            return ValidationErrors::one("at least one of lhs and rhs must be provided");
        }
        let atom = match resolve(self.schema, tr) {
            Ok(a) => a,
            Err(e) => return e,
        };
        let mut errs = ValidationErrors::default();
        let mut in_leaf = false;
        match (lhs, rhs) {
            (_, None) => errs.extend(self.handle(&atom, tr, lhs, lhs, rhs, &mut in_leaf)),
            (None, Some(_)) => errs.extend(self.handle(&atom, tr, rhs, lhs, rhs, &mut in_leaf)),
            (Some(l), Some(r)) if same_deduced(&atom, l, r) => {
                errs.extend(self.handle(&atom, tr, rhs, lhs, rhs, &mut in_leaf));
            }
            (Some(_), Some(_)) => {
                // Each side is walked with its own shape, as Go walks a
                // copy of the walker for the left-hand side.
                let mut copy_in_leaf = in_leaf;
                errs.extend(self.handle(&atom, tr, lhs, lhs, rhs, &mut copy_in_leaf));
                errs.extend(self.handle(&atom, tr, rhs, lhs, rhs, &mut in_leaf));
            }
        }
        if !in_leaf {
            if lhs.is_none() {
                self.comparison.added.insert(&self.here());
            } else if rhs.is_none() {
                self.comparison.removed.insert(&self.here());
            }
        }
        errs
    }

    fn handle(
        &mut self,
        atom: &crate::schema::Atom,
        tr: &TypeRef,
        deduce_from: Option<&Value>,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        in_leaf: &mut bool,
    ) -> ValidationErrors {
        match shape(atom, deduce_from, tr) {
            Err(e) => e,
            Ok(Shape::Scalar(t)) => {
                let mut lerrs = validate_scalar(t, lhs, "lhs: ");
                let rerrs = validate_scalar(t, rhs, "rhs: ");
                if !lerrs.is_empty() && !rerrs.is_empty() {
                    lerrs.extend(rerrs);
                    return lerrs;
                }
                self.leaf(lhs, rhs, in_leaf);
                ValidationErrors::default()
            }
            Ok(Shape::List(t)) => self.list(t, lhs, rhs, in_leaf),
            Ok(Shape::Map(t)) => self.map(t, lhs, rhs, in_leaf),
        }
    }

    fn leaf(&mut self, lhs: Option<&Value>, rhs: Option<&Value>, in_leaf: &mut bool) {
        if *in_leaf {
            return;
        }
        *in_leaf = true;
        match (lhs, rhs) {
            (None, _) => self.comparison.added.insert(&self.here()),
            (_, None) => self.comparison.removed.insert(&self.here()),
            (Some(l), Some(r)) => {
                if !value::equals(l, r) {
                    self.comparison.modified.insert(&self.here());
                }
            }
        }
    }

    fn list(
        &mut self,
        t: &ListType,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        in_leaf: &mut bool,
    ) -> ValidationErrors {
        let l = lhs.and_then(Value::as_array);
        let r = rhs.and_then(Value::as_array);
        let empty = l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty);
        if t.relationship == Relationship::Atomic || empty {
            self.leaf(lhs, rhs, in_leaf);
            return ValidationErrors::default();
        }
        if l.is_none() && r.is_none() {
            return ValidationErrors::default();
        }
        self.list_items(
            t,
            l.map_or(&[][..], Vec::as_slice),
            r.map_or(&[][..], Vec::as_slice),
        )
    }

    fn list_items(&mut self, t: &ListType, lhs: &[Value], rhs: &[Value]) -> ValidationErrors {
        let mut errs = ValidationErrors::default();
        let mut order: Vec<PathElement> = Vec::new();
        let mut lvalues: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
        let mut rvalues: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
        for (i, child) in lhs.iter().enumerate() {
            match list_item_element(self.schema, t, child) {
                Ok(pe) => {
                    let entry = lvalues.entry(pe.clone()).or_default();
                    if entry.is_empty() {
                        order.push(pe);
                    }
                    entry.push(child);
                }
                Err(e) => errs.extend(ValidationErrors::one(format!("element {i}: {e}"))),
            }
        }
        for (i, child) in rhs.iter().enumerate() {
            match list_item_element(self.schema, t, child) {
                Ok(pe) => {
                    let entry = rvalues.entry(pe.clone()).or_default();
                    if entry.is_empty() && !lvalues.contains_key(&pe) {
                        order.push(pe);
                    }
                    entry.push(child);
                }
                Err(e) => errs.extend(ValidationErrors::one(format!("element {i}: {e}"))),
            }
        }
        for pe in order {
            let l = lvalues.get(&pe).map_or(&[][..], Vec::as_slice);
            let r = rvalues.get(&pe).map_or(&[][..], Vec::as_slice);
            let mut path = self.path.clone();
            path.push(pe.clone());
            match (l.len(), r.len()) {
                (0, 0) => return errs,
                (0 | 1, 0 | 1) => {
                    errs.extend(self.item(t, pe, l.first().copied(), r.first().copied()));
                }
                (ll, rl) if ll >= 2 && rl >= 2 => {
                    let same = ll == rl && l.iter().zip(r).all(|(a, b)| value::equals(a, b));
                    if !same {
                        self.comparison.modified.insert(&Path(path));
                    }
                }
                (ll, _) if ll >= 2 => {
                    if let Some(first) = r.first() {
                        errs.extend(self.item(t, pe, None, Some(first)));
                    }
                    self.comparison.removed.insert(&Path(path));
                }
                _ => {
                    if let Some(first) = l.first() {
                        errs.extend(self.item(t, pe, Some(first), None));
                    }
                    self.comparison.added.insert(&Path(path));
                }
            }
        }
        errs
    }

    fn item(
        &mut self,
        t: &ListType,
        pe: PathElement,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
    ) -> ValidationErrors {
        let prefix = pe.to_string();
        self.path.push(pe);
        let errs = self.compare(&t.element, lhs, rhs);
        self.path.pop();
        errs.with_prefix(&prefix)
    }

    fn map(
        &mut self,
        t: &MapType,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        in_leaf: &mut bool,
    ) -> ValidationErrors {
        let l = lhs.and_then(Value::as_object);
        let r = rhs.and_then(Value::as_object);
        let empty =
            l.is_none_or(serde_json::Map::is_empty) && r.is_none_or(serde_json::Map::is_empty);
        if t.relationship == Relationship::Atomic || empty {
            self.leaf(lhs, rhs, in_leaf);
            return ValidationErrors::default();
        }
        if l.is_none() && r.is_none() {
            return ValidationErrors::default();
        }
        let mut keys: Vec<&String> = l.iter().chain(r.iter()).flat_map(|m| m.keys()).collect();
        keys.sort();
        keys.dedup();
        let mut errs = ValidationErrors::default();
        for key in keys {
            let pe = PathElement::Field(key.clone());
            let prefix = pe.to_string();
            self.path.push(pe);
            let child_errs = self.compare(
                t.type_of(key),
                l.and_then(|m| m.get(key)),
                r.and_then(|m| m.get(key)),
            );
            self.path.pop();
            errs.extend(child_errs.with_prefix(&prefix));
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TypeSchema;
    use serde_json::json;

    #[test]
    fn added_modified_removed() {
        let schema = Schema::build(&TypeSchema::inline(json!({
            "type": "object",
            "properties": {
                "a": {"type": "string"},
                "b": {"type": "string"},
                "s": {"type": "object", "properties": {"x": {"type": "string"}}},
                "l": {"type": "array", "items": {"type": "string"}}
            }
        })))
        .unwrap();
        let c = compare(
            &schema,
            &schema.root,
            &json!({"a": "1", "s": {"x": "y"}, "l": ["a"]}),
            &json!({"a": "2", "b": "x", "l": ["a", "b"]}),
        )
        .unwrap();
        assert_eq!(c.modified.to_fields_v1_string(), r#"{"f:a":{},"f:l":{}}"#);
        assert_eq!(c.added.to_fields_v1_string(), r#"{"f:b":{}}"#);
        assert_eq!(
            c.removed.to_fields_v1_string(),
            r#"{"f:s":{".":{},"f:x":{}}}"#
        );
    }
}
