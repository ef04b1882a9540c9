//! Uniqueness of `x-kubernetes-list-type: set` items and of the keys of
//! `x-kubernetes-list-type: map` items (Go: `pkg/apiserver/schema/listtype`,
//! `ValidateListSetsAndMaps`): the second occurrence of a value or key is
//! reported as `Duplicate value`.

use std::collections::HashMap;

use kapi_core::field::{Error, ErrorList, Path};
use serde_json::{Map, Value};

use super::gofmt::{self, Num};
use super::model::Node;

/// Checks the lists of an object (the object itself is not a list).
pub(crate) fn validate(path: &Path, node: &Node, object: &Map<String, Value>) -> ErrorList {
    let mut errs = ErrorList::new();
    if let Some(additional) = node.additional_schema() {
        for (key, value) in object {
            errs.extend(validate_value(&path.key(key), additional, value));
        }
    }
    for (key, value) in object {
        if let Some(prop) = node.properties.get(key) {
            errs.extend(validate_value(&path.child(key), prop, value));
        }
    }
    errs
}

fn validate_value(path: &Path, node: &Node, value: &Value) -> ErrorList {
    match value {
        Value::Array(items) => validate_array(path, node, items),
        Value::Object(map) => validate(path, node, map),
        _ => ErrorList::new(),
    }
}

fn validate_array(path: &Path, node: &Node, items: &[Value]) -> ErrorList {
    let mut errs = ErrorList::new();
    match node.list_type.as_deref() {
        Some("set") => {
            for i in non_unique(items.iter().map(Key::of)) {
                errs.push(Error::duplicate(&path.index(i), items[i].clone()));
            }
        }
        Some("map") => errs.extend(validate_map(path, node, items)),
        _ => {}
    }
    if let Some(item_schema) = &node.items {
        for (i, item) in items.iter().enumerate() {
            errs.extend(validate_value(&path.index(i), item_schema, item));
        }
    }
    errs
}

fn validate_map(path: &Path, node: &Node, items: &[Value]) -> ErrorList {
    for (i, item) in items.iter().enumerate() {
        if !item.is_null() && !item.is_object() {
            return vec![Error::invalid(
                &path.index(i),
                item.clone(),
                "must be an object for an array of list-type map",
            )];
        }
    }
    if items.len() <= 1 {
        return ErrorList::new();
    }
    if let [key_field] = node.list_map_keys.as_slice() {
        let keys: Vec<Option<&Value>> = items
            .iter()
            .map(|item| item.as_object().and_then(|m| m.get(key_field)))
            .collect();
        let duplicates = non_unique(keys.iter().map(|key| match key {
            Some(value) => Key::of(value),
            None => Key::Unspecified,
        }));
        return duplicates
            .into_iter()
            .map(|i| {
                let mut shown = Map::new();
                if let Some(value) = keys[i] {
                    shown.insert(key_field.clone(), value.clone());
                }
                Error::duplicate(&path.index(i), Value::Object(shown))
            })
            .collect();
    }
    let keys: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut key = Map::new();
            if let Some(map) = item.as_object() {
                for field in &node.list_map_keys {
                    if let Some(v) = map.get(field) {
                        key.insert(field.clone(), v.clone());
                    }
                }
            }
            Value::Object(key)
        })
        .collect();
    non_unique(keys.iter().map(Key::of))
        .into_iter()
        .map(|i| Error::duplicate(&path.index(i), keys[i].clone()))
        .collect()
}

/// A value as Go's set check keys it: scalars by dynamic type and value,
/// compound values by their JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Unspecified,
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    String(String),
    Compound(String),
}

impl Key {
    fn of(value: &Value) -> Key {
        match value {
            Value::Null => Key::Null,
            Value::Bool(b) => Key::Bool(*b),
            Value::Number(n) => match Num::of(n) {
                Num::Int(i) => Key::Int(i),
                Num::Float(f) => Key::Float(f.to_bits()),
            },
            Value::String(s) => Key::String(s.clone()),
            compound => Key::Compound(gofmt::json(compound)),
        }
    }
}

/// The indices of the second occurrence of every repeated key.
fn non_unique(keys: impl Iterator<Item = Key>) -> Vec<usize> {
    let mut seen: HashMap<Key, usize> = HashMap::new();
    let mut result = Vec::new();
    for (i, key) in keys.enumerate() {
        let count = seen.entry(key).or_insert(0);
        *count += 1;
        if *count == 2 {
            result.push(i);
        }
    }
    result
}
