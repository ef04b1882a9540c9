//! Values walked with their type: validation, the set of fields a value
//! sets, and the helpers every walker shares (choosing the shape of a
//! value, turning list items into path elements, naming fields the schema
//! declares).
//!
//! Mirrors `sigs.k8s.io/structured-merge-diff/v6/typed` (`validate.go`,
//! `tofieldset.go`, `helpers.go`, `Set.EnsureNamedFieldsAreMembers`); the
//! comparison, merge, removal and schema reconciliation walkers live in the
//! submodules.

mod compare;
mod merge;
mod reconcile;
mod remove;

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use crate::path::{Path, PathElement, sort_key_fields};
use crate::schema::{Atom, ListType, MapType, Relationship, Scalar, Schema, TypeRef};
use crate::set::{FieldSet, insert_sorted};

pub(crate) use compare::{Comparison, compare};
pub(crate) use merge::merge;
pub(crate) use reconcile::reconcile_field_set;
pub(crate) use remove::remove_items;

/// One problem found while walking a value (Go: `typed.ValidationError`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ValidationError {
    pub(crate) path: String,
    pub(crate) message: String,
}

/// Every problem found (Go: `typed.ValidationErrors`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ValidationErrors(pub(crate) Vec<ValidationError>);

impl ValidationErrors {
    pub(crate) fn one(message: impl Into<String>) -> Self {
        Self(vec![ValidationError {
            path: String::new(),
            message: message.into(),
        }])
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn extend(&mut self, other: ValidationErrors) {
        self.0.extend(other.0);
    }

    /// Prefixes every path with `prefix` (Go: `WithPrefix`).
    pub(crate) fn with_prefix(mut self, prefix: &str) -> Self {
        for e in &mut self.0 {
            e.path.insert_str(0, prefix);
        }
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl fmt::Display for ValidationErrors {
    /// One error as itself; several as `errors:` then one indented line
    /// each.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => return Ok(()),
            [only] => return write!(f, "{only}"),
            _ => {}
        }
        f.write_str("errors:")?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// The shape chosen for a value (Go: `handleAtom`'s dispatch).
pub(crate) enum Shape<'a> {
    Map(&'a MapType),
    Scalar(Scalar),
    List(&'a ListType),
}

/// Picks the one shape of `atom` that fits `value` (Go: `deduceAtom`), then
/// dispatches as `handleAtom` does: map, then scalar, then list.
pub(crate) fn shape<'a>(
    atom: &'a Atom,
    value: Option<&Value>,
    tr: &TypeRef,
) -> Result<Shape<'a>, ValidationErrors> {
    let deduced = match value {
        Some(Value::Number(_) | Value::String(_) | Value::Bool(_)) if atom.scalar.is_some() => {
            Some(Shape::Scalar(atom.scalar.unwrap_or(Scalar::Untyped)))
        }
        Some(Value::Array(_)) => atom.list.as_deref().map(Shape::List),
        Some(Value::Object(_)) => atom.map.as_deref().map(Shape::Map),
        _ => None,
    };
    if let Some(s) = deduced {
        return Ok(s);
    }
    if let Some(m) = &atom.map {
        return Ok(Shape::Map(m));
    }
    if let Some(s) = atom.scalar {
        return Ok(Shape::Scalar(s));
    }
    if let Some(l) = &atom.list {
        return Ok(Shape::List(l));
    }
    let name = match &tr.named {
        Some(n) => format!("named type: {n}"),
        None => "inlined".to_owned(),
    };
    Err(ValidationErrors::one(format!(
        "schema error: invalid atom: {name}"
    )))
}

/// Whether `a` and `b` deduce to the same atom for `lhs` and `rhs` (Go:
/// `alhs.Equals(&arhs)` after `deduceAtom`).
pub(crate) fn same_deduced(atom: &Atom, lhs: &Value, rhs: &Value) -> bool {
    deduced_atom(atom, lhs) == deduced_atom(atom, rhs)
}

fn deduced_atom(atom: &Atom, value: &Value) -> Atom {
    match value {
        Value::Number(_) | Value::String(_) | Value::Bool(_) if atom.scalar.is_some() => Atom {
            scalar: atom.scalar,
            ..Atom::default()
        },
        Value::Array(_) if atom.list.is_some() => Atom {
            list: atom.list.clone(),
            ..Atom::default()
        },
        Value::Object(_) if atom.map.is_some() => Atom {
            map: atom.map.clone(),
            ..Atom::default()
        },
        _ => atom.clone(),
    }
}

/// Resolves a reference or reports it as Go does.
pub(crate) fn resolve(schema: &Schema, tr: &TypeRef) -> Result<Atom, ValidationErrors> {
    schema.resolve(tr).ok_or_else(|| {
        ValidationErrors::one(format!(
            "schema error: no type found matching: {}",
            tr.display_name()
        ))
    })
}

/// The path element of a list item (Go: `listItemToPathElement`).
pub(crate) fn list_item_element(
    schema: &Schema,
    list: &ListType,
    child: &Value,
) -> Result<PathElement, String> {
    if list.relationship != Relationship::Associative {
        return Err("invalid indexing of non-associative list".to_owned());
    }
    if list.keys.is_empty() {
        return match child {
            Value::Object(_) => {
                Err("associative list without keys has an element that's a map type".to_owned())
            }
            Value::Array(_) => {
                Err("not supported: associative list with lists as elements".to_owned())
            }
            Value::Null => Err(
                "associative list without keys has an element that's an explicit null".to_owned(),
            ),
            v => Ok(PathElement::Value(v.clone())),
        };
    }
    let map = match child {
        Value::Null => {
            return Err("associative list with keys may not have a null element".to_owned());
        }
        Value::Object(map) => map,
        _ => return Err("associative list with keys may not have non-map elements".to_owned()),
    };
    let mut fields = Vec::new();
    for name in &list.keys {
        if let Some(v) = map.get(name) {
            fields.push((name.clone(), v.clone()));
            continue;
        }
        let Some(atom) = schema.resolve(&list.element) else {
            return Err(format!(
                "couldn't find default value for {name}: invalid elementType for list"
            ));
        };
        let Some(element) = &atom.map else {
            return Err(format!(
                "couldn't find default value for {name}: associative list may not have non-map types"
            ));
        };
        if let Some(default) = element.field(name).and_then(|f| f.default.as_ref())
            && !default.is_null()
        {
            fields.push((name.clone(), default.clone()));
        }
    }
    if fields.is_empty() {
        let quoted: Vec<String> = list.keys.iter().map(|k| kapi_core::go::quote(k)).collect();
        return Err(format!(
            "associative list with keys has an element that omits all key fields [{}] (and doesn't have default values for any key fields)",
            quoted.join(" ")
        ));
    }
    sort_key_fields(&mut fields);
    Ok(PathElement::Key(fields))
}

/// Go's `%v` of a `value.Value` holding `v` (a pointer to a struct).
pub(crate) fn go_value_v(v: &Value) -> String {
    format!("&{{{}}}", go_unstructured_v(v))
}

/// Go's `%v` of an unstructured value.
fn go_unstructured_v(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_unstructured_v).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_unstructured_v(v)))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
        other => other.to_string(),
    }
}

/// Go's `%T` of an unstructured value.
fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `%#v` of a `value.Value` holding `v`.
fn go_value_sharp_v(v: &Value) -> String {
    let inner = match v {
        Value::String(s) => kapi_core::go::quote(s),
        Value::Null => "interface {}(nil)".to_owned(),
        Value::Array(_) => format!("[]interface {{}}{{{}}}", go_unstructured_v(v)),
        Value::Object(_) => format!("map[string]interface {{}}{{{}}}", go_unstructured_v(v)),
        other => other.to_string(),
    };
    format!("&value.valueUnstructured{{Value:{inner}}}")
}

/// Checks a scalar against its kind (Go: `validateScalar`).
pub(crate) fn validate_scalar(t: Scalar, v: Option<&Value>, prefix: &str) -> ValidationErrors {
    let Some(v) = v else {
        return ValidationErrors::default();
    };
    if v.is_null() {
        return ValidationErrors::default();
    }
    let message = match t {
        Scalar::Numeric if !v.is_number() => format!(
            "{prefix}expected numeric (int or float), got {}",
            go_type_name(v)
        ),
        Scalar::String if !v.is_string() => {
            format!("{prefix}expected string, got {}", go_value_sharp_v(v))
        }
        Scalar::Boolean if !v.is_boolean() => {
            format!("{prefix}expected boolean, got {}", go_value_v(v))
        }
        Scalar::Untyped if v.is_array() || v.is_object() => {
            format!("{prefix}expected any scalar, got {}", go_value_v(v))
        }
        _ => return ValidationErrors::default(),
    };
    ValidationErrors::one(message)
}

/// Validates a value against its type (Go: `TypedValue.Validate`);
/// `allow_duplicates` accepts repeated keys in associative lists.
pub(crate) fn validate(
    schema: &Schema,
    tr: &TypeRef,
    value: &Value,
    allow_duplicates: bool,
) -> ValidationErrors {
    let atom = match resolve(schema, tr) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let shape = match shape(&atom, Some(value), tr) {
        Ok(s) => s,
        Err(e) => return e,
    };
    match shape {
        Shape::Scalar(t) => validate_scalar(t, Some(value), ""),
        Shape::List(t) => {
            let items = match value {
                Value::Null => return ValidationErrors::default(),
                Value::Array(items) => items,
                other => {
                    return ValidationErrors::one(format!(
                        "expected list, got {}",
                        go_value_v(other)
                    ));
                }
            };
            let mut errs = ValidationErrors::default();
            let mut observed = BTreeSet::new();
            for (i, child) in items.iter().enumerate() {
                let pe = if t.relationship != Relationship::Associative {
                    PathElement::Index(i)
                } else {
                    match list_item_element(schema, t, child) {
                        Ok(pe) => pe,
                        Err(e) => {
                            errs.0.push(ValidationError {
                                path: String::new(),
                                message: format!("element {i}: {e}"),
                            });
                            return errs;
                        }
                    }
                };
                if t.relationship == Relationship::Associative
                    && !observed.insert(pe.clone())
                    && !allow_duplicates
                {
                    errs.0.push(ValidationError {
                        path: String::new(),
                        message: format!("duplicate entries for key {pe}"),
                    });
                }
                errs.extend(
                    validate(schema, &t.element, child, allow_duplicates)
                        .with_prefix(&pe.to_string()),
                );
            }
            errs
        }
        Shape::Map(t) => {
            let map = match value {
                Value::Null => return ValidationErrors::default(),
                Value::Object(map) => map,
                other => {
                    return ValidationErrors::one(format!(
                        "expected map, got {}",
                        go_value_v(other)
                    ));
                }
            };
            let mut errs = ValidationErrors::default();
            for (key, child) in map {
                let prefix = PathElement::Field(key.clone()).to_string();
                let ty = match t.field(key) {
                    Some(f) => &f.ty,
                    None if t.element.is_empty() => {
                        errs.extend(
                            ValidationErrors::one("field not declared in schema")
                                .with_prefix(&prefix),
                        );
                        break;
                    }
                    None => &t.element,
                };
                errs.extend(validate(schema, ty, child, allow_duplicates).with_prefix(&prefix));
            }
            errs
        }
    }
}

/// The set of fields `value` sets (Go: `TypedValue.ToFieldSet`): scalars,
/// atomic lists and maps, list items, map entries, and struct fields that
/// are null or empty maps.
pub(crate) fn to_field_set(
    schema: &Schema,
    tr: &TypeRef,
    value: &Value,
) -> Result<FieldSet, ValidationErrors> {
    let mut set = FieldSet::new();
    let mut path = Vec::new();
    let errs = field_set_walk(schema, tr, value, &mut path, &mut set);
    if errs.is_empty() { Ok(set) } else { Err(errs) }
}

fn field_set_walk(
    schema: &Schema,
    tr: &TypeRef,
    value: &Value,
    path: &mut Vec<PathElement>,
    set: &mut FieldSet,
) -> ValidationErrors {
    let atom = match resolve(schema, tr) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let shape = match shape(&atom, Some(value), tr) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut errs = ValidationErrors::default();
    match shape {
        Shape::Scalar(_) => set.insert(&Path(path.clone())),
        Shape::List(t) => {
            if t.relationship == Relationship::Atomic {
                set.insert(&Path(path.clone()));
                return errs;
            }
            let Value::Array(items) = value else {
                return errs;
            };
            let elements: Vec<Option<PathElement>> = items
                .iter()
                .map(|child| list_item_element(schema, t, child).ok())
                .collect();
            let mut seen = BTreeSet::new();
            let mut duplicates = BTreeSet::new();
            for pe in elements.iter().flatten() {
                if !seen.insert(pe.clone()) && duplicates.insert(pe.clone()) {
                    path.push(pe.clone());
                    set.insert(&Path(path.clone()));
                    path.pop();
                }
            }
            for (child, pe) in items.iter().zip(elements) {
                let Some(pe) = pe else { continue };
                if duplicates.contains(&pe) {
                    continue;
                }
                path.push(pe);
                errs.extend(field_set_walk(schema, &t.element, child, path, set));
                set.insert(&Path(path.clone()));
                path.pop();
            }
        }
        Shape::Map(t) => {
            if t.relationship == Relationship::Atomic {
                set.insert(&Path(path.clone()));
                return errs;
            }
            let Value::Object(map) = value else {
                return errs;
            };
            for (key, child) in map {
                path.push(PathElement::Field(key.clone()));
                errs.extend(field_set_walk(schema, t.type_of(key), child, path, set));
                let empty_map = child.as_object().is_some_and(serde_json::Map::is_empty);
                if child.is_null() || empty_map || t.field(key).is_none() {
                    set.insert(&Path(path.clone()));
                }
                path.pop();
            }
        }
    }
    errs
}

/// The set plus, as members, every struct field that has children in it
/// (Go: `Set.EnsureNamedFieldsAreMembers`); map keys and list items are
/// not added.
pub(crate) fn ensure_named_fields_are_members(
    schema: &Schema,
    tr: &TypeRef,
    set: &FieldSet,
) -> FieldSet {
    let atom = schema.resolve(tr).unwrap_or_default();
    let mut members = set.members.clone();
    for (pe, _) in &set.children {
        if let (PathElement::Field(name), Some(map)) = (pe, &atom.map)
            && map.field(name).is_some()
        {
            insert_sorted(&mut members, pe.clone());
        }
    }
    let children = set
        .children
        .iter()
        .map(|(pe, child)| {
            let child_tr = match (pe, &atom.map, &atom.list) {
                (PathElement::Field(name), Some(map), _) => map.type_of(name).clone(),
                (PathElement::Key(_), _, Some(list)) => list.element.clone(),
                _ => TypeRef::default(),
            };
            (
                pe.clone(),
                ensure_named_fields_are_members(schema, &child_tr, child),
            )
        })
        .collect();
    FieldSet { members, children }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TypeSchema;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::build(&TypeSchema::inline(json!({
            "type": "object",
            "properties": {
                "n": {"type": "integer"},
                "s": {"type": "string"},
                "struct": {"type": "object", "properties": {"a": {"type": "string"}}},
                "m": {"type": "object", "additionalProperties": {"type": "string"}},
                "items": {"type": "array", "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string"}, "v": {"type": "integer"}}}},
                "set": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "atomic": {"type": "array", "items": {"type": "string"}}
            }
        })))
        .unwrap()
    }

    #[test]
    fn field_sets() {
        let s = schema();
        let check = |v: Value, expected: &str| {
            let set = to_field_set(&s, &s.root, &v).unwrap();
            assert_eq!(set.to_fields_v1_string(), expected, "{v}");
        };
        check(json!({"n": 1, "s": "x"}), r#"{"f:n":{},"f:s":{}}"#);
        check(json!({"struct": {}}), r#"{"f:struct":{}}"#);
        check(json!({"struct": {"a": "x"}}), r#"{"f:struct":{"f:a":{}}}"#);
        check(json!({"m": {"k": "v"}}), r#"{"f:m":{"f:k":{}}}"#);
        check(
            json!({"items": [{"name": "a", "v": 1}]}),
            r#"{"f:items":{"k:{\"name\":\"a\"}":{".":{},"f:name":{},"f:v":{}}}}"#,
        );
        check(
            json!({"set": ["b", "a"]}),
            r#"{"f:set":{"v:\"a\"":{},"v:\"b\"":{}}}"#,
        );
        check(json!({"atomic": ["b", "a"]}), r#"{"f:atomic":{}}"#);
        check(
            json!({"items": [{"name": "a", "v": 1}, {"name": "a"}]}),
            r#"{"f:items":{"k:{\"name\":\"a\"}":{}}}"#,
        );
    }

    #[test]
    fn validation_messages() {
        let s = schema();
        let check = |v: Value, dup: bool, expected: &str| {
            let errs = validate(&s, &s.root, &v, dup);
            assert_eq!(errs.to_string(), expected, "{v}");
        };
        check(json!({"n": 1}), false, "");
        check(
            json!({"n": "x"}),
            false,
            ".n: expected numeric (int or float), got string",
        );
        check(
            json!({"s": 1}),
            false,
            ".s: expected string, got &value.valueUnstructured{Value:1}",
        );
        check(json!({"zz": 1}), false, ".zz: field not declared in schema");
        check(
            json!({"items": [{"name": "a"}, {"name": "a"}]}),
            false,
            r#".items: duplicate entries for key [name="a"]"#,
        );
        check(json!({"items": [{"name": "a"}, {"name": "a"}]}), true, "");
        check(
            json!({"items": [{"v": 1}]}),
            false,
            r#".items: element 0: associative list with keys has an element that omits all key fields ["name"] (and doesn't have default values for any key fields)"#,
        );
        check(
            json!({"n": "x", "s": 1}),
            false,
            "errors:\n  .n: expected numeric (int or float), got string\n  .s: expected string, got &value.valueUnstructured{Value:1}",
        );
    }
}
