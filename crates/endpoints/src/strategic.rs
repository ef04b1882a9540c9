//! Strategic merge patches (`application/strategic-merge-patch+json`) over
//! JSON values, driven by per-kind patch metadata (Go:
//! `k8s.io/apimachinery/pkg/util/strategicpatch`'s `StrategicMergeMapPatch`
//! with `MergeParallelList` and `IgnoreUnmatchedNulls`, as the apiserver's
//! patch handler calls it).
//!
//! Maps merge key by key and `null` deletes a key. A list merges only when
//! its field says so: by a merge key (lists of objects) or as a set
//! (lists of primitives); every other list is replaced. The directives
//! `$patch: replace|delete|merge`, `$retainKeys`,
//! `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>` are
//! honoured. The metadata of the kinds kapi serves lives in
//! [`table`](strategic/table.rs).

mod table;

use http::StatusCode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusDetails;
use kapi_core::{StatusError, StatusReason};
use serde_json::{Map, Value};

pub(crate) use table::patch_meta;

/// The patch metadata of one object type: the fields whose merge is not
/// the default (maps merge, lists replace). Fields not listed are objects
/// without special fields or atomic lists.
#[derive(Debug)]
pub(crate) struct PatchMeta {
    pub(crate) fields: &'static [(&'static str, FieldMeta)],
}

/// How one field merges (Go: the `patchStrategy` and `patchMergeKey`
/// struct tags).
#[derive(Debug)]
pub(crate) enum FieldMeta {
    /// A nested object with its own special fields.
    Object(&'static PatchMeta),
    /// A list of objects merged by `key` (`patchStrategy:"merge"`,
    /// `patchMergeKey`), each item an object of type `item`.
    MergeByKey {
        key: &'static str,
        item: &'static PatchMeta,
    },
    /// A list of primitives merged as a set (`patchStrategy:"merge"`).
    Set,
}

/// Metadata with no special fields: maps merge, lists replace.
pub(crate) static PLAIN: PatchMeta = PatchMeta { fields: &[] };

impl PatchMeta {
    fn field(&self, name: &str) -> Option<&'static FieldMeta> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, f)| f)
    }

    fn child(&self, name: &str) -> &'static PatchMeta {
        match self.field(name) {
            Some(FieldMeta::Object(meta)) => meta,
            _ => &PLAIN,
        }
    }
}

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Go: `mergepatch.ErrBadJSONDoc`.
const ERR_BAD_JSON_DOC: &str = "invalid JSON document";
/// Go: `mergepatch.ErrNoListOfLists`.
const ERR_NO_LIST_OF_LISTS: &str = "lists of lists are not supported";
/// Go: `mergepatch.ErrBadPatchFormatForPrimitiveList`.
const ERR_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
/// Go: `mergepatch.ErrBadPatchFormatForRetainKeys`.
const ERR_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
/// Go: `mergepatch.ErrBadPatchFormatForSetElementOrderList`.
const ERR_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";
/// Go: `mergepatch.ErrPatchContentNotMatchRetainKeys`.
const ERR_NOT_MATCH_RETAIN_KEYS: &str = "patch content doesn't match retainKeys list";

/// Applies the strategic merge patch `patch` to `original` under `schema`.
/// Malformed directives are 400s, lists of lists and patches outside their
/// `$retainKeys` 422s, and other failures 500s, as the apiserver's
/// `interpretStrategicMergePatchError` maps them.
pub(crate) fn strategic_merge(
    original: &Value,
    patch: &Value,
    schema: &PatchMeta,
) -> Result<Value, StatusError> {
    let (Value::Object(original), Value::Object(patch)) = (original, patch) else {
        return Err(StatusError::bad_request(ERR_BAD_JSON_DOC));
    };
    merge_map(original.clone(), patch.clone(), schema).map(Value::Object)
}

/// The 400 for a patch body that is not a JSON object (Go decodes it into
/// a map first and answers the decoder's message).
pub(crate) fn decode(body: &[u8]) -> Result<Value, StatusError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(patch @ Value::Object(_)) => Ok(patch),
        Ok(other) => Err(StatusError::bad_request(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            go_type_name(&other)
        ))),
        Err(err) => Err(StatusError::bad_request(err.to_string())),
    }
}

fn go_type_name(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null | Value::Object(_) => "object",
    }
}

fn bad_request(message: &str) -> StatusError {
    StatusError::bad_request(message)
}

fn unprocessable(message: &str) -> StatusError {
    StatusError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        StatusReason::Invalid,
        message,
    )
    .with_details(StatusDetails::default())
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: &PatchMeta,
) -> Result<Map<String, Value>, StatusError> {
    if let Some(directive) = patch.remove(DIRECTIVE) {
        match directive.as_str() {
            Some("replace") => return Ok(patch),
            Some("delete") => return Ok(Map::new()),
            Some("merge") => {}
            _ => {
                return Err(StatusError::internal(format!(
                    "unknown patch type: {directive} in map: {}",
                    Value::Object(patch)
                )));
            }
        }
    }
    apply_retain_keys(&mut original, &mut patch)?;

    let mut deletions = Vec::new();
    let mut orders = Vec::new();
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            let Value::Array(values) = value else {
                return Err(bad_request(ERR_PRIMITIVE_LIST));
            };
            deletions.push((field.to_owned(), values));
            continue;
        }
        if let Some(field) = key.strip_prefix(SET_ELEMENT_ORDER) {
            let Value::Array(order) = value else {
                return Err(bad_request(ERR_SET_ELEMENT_ORDER));
            };
            orders.push((field.to_owned(), order));
            continue;
        }
        if value.is_null() {
            original.remove(&key);
            continue;
        }
        let merged = match (original.remove(&key), value) {
            (Some(Value::Object(o)), Value::Object(p)) => {
                Value::Object(merge_map(o, p, schema.child(&key))?)
            }
            (Some(Value::Array(o)), Value::Array(p)) => {
                Value::Array(merge_list(o, p, schema.field(&key))?)
            }
            // A new object: its nulls and directives apply against nothing.
            (_, Value::Object(p)) => Value::Object(merge_map(Map::new(), p, schema.child(&key))?),
            (_, Value::Array(p)) => Value::Array(merge_list(Vec::new(), p, schema.field(&key))?),
            (_, p) => p,
        };
        original.insert(key, merged);
    }

    for (field, values) in deletions {
        if let Some(Value::Array(list)) = original.get_mut(&field) {
            if list.iter().any(|v| v.is_array() || v.is_object()) {
                return Err(bad_request(ERR_PRIMITIVE_LIST));
            }
            list.retain(|item| !values.contains(item));
        }
    }
    for (field, order) in orders {
        let key = match schema.field(&field) {
            Some(FieldMeta::MergeByKey { key, .. }) => Some(*key),
            _ => None,
        };
        if let Some(Value::Array(list)) = original.get_mut(&field) {
            reorder(list, &order, key)?;
        }
    }
    Ok(original)
}

/// Go: `applyRetainKeysDirective`: every patched key must be listed, and
/// the original keeps only the listed keys.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), StatusError> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(bad_request(ERR_RETAIN_KEYS));
    };
    let listed = |key: &str| retain.iter().any(|r| r.as_str() == Some(key));
    for (key, value) in patch.iter() {
        if value.is_null()
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || key.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !listed(key) {
            return Err(unprocessable(ERR_NOT_MATCH_RETAIN_KEYS));
        }
    }
    original.retain(|key, _| listed(key));
    Ok(())
}

/// Merges a list field: by key, as a set, or replaced.
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    field: Option<&FieldMeta>,
) -> Result<Vec<Value>, StatusError> {
    match field {
        Some(FieldMeta::MergeByKey { key, item }) => merge_by_key(original, patch, key, item),
        Some(FieldMeta::Set) => {
            if original.iter().chain(&patch).any(Value::is_array) {
                return Err(unprocessable(ERR_NO_LIST_OF_LISTS));
            }
            let mut merged = original;
            for value in patch {
                if !merged.contains(&value) {
                    merged.push(value);
                }
            }
            Ok(merged)
        }
        Some(FieldMeta::Object(_)) | None => Ok(strip_list_directives(patch)),
    }
}

/// A replaced list keeps no `$patch` items (Go drops them when the list
/// is taken from the patch as a whole).
fn strip_list_directives(patch: Vec<Value>) -> Vec<Value> {
    patch
        .into_iter()
        .filter(|v| v.get(DIRECTIVE).is_none())
        .collect()
}

/// Go: `mergeSliceWithSpecialElements` then
/// `mergeSliceWithoutSpecialElements`.
fn merge_by_key(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    item: &PatchMeta,
) -> Result<Vec<Value>, StatusError> {
    if original.iter().chain(&patch).any(Value::is_array) {
        return Err(unprocessable(ERR_NO_LIST_OF_LISTS));
    }
    let mut plain = Vec::new();
    let mut replace = false;
    for value in patch {
        let Value::Object(map) = value else {
            return Err(StatusError::internal(format!(
                "cannot merge a non-object item {value} in a list merged by key {key}"
            )));
        };
        match map.get(DIRECTIVE).map(|d| d.as_str()) {
            None => plain.push(map),
            Some(Some("delete")) => {
                let Some(wanted) = map.get(key) else {
                    return Err(StatusError::internal(
                        "delete patch type with no merge key defined",
                    ));
                };
                original.retain(|o| o.get(key) != Some(wanted));
            }
            Some(Some("replace")) => replace = true,
            Some(Some("merge")) => {
                return Err(StatusError::internal(
                    "merging lists cannot yet be specified in the patch",
                ));
            }
            Some(_) => {
                return Err(StatusError::internal(format!(
                    "unknown patch type: {} in map: {}",
                    map[DIRECTIVE],
                    Value::Object(map.clone())
                )));
            }
        }
    }
    if replace {
        return Ok(plain.into_iter().map(Value::Object).collect());
    }
    for map in plain {
        let Some(wanted) = map.get(key).cloned() else {
            return Err(StatusError::internal(format!(
                "map: {} does not contain declared merge key: {key}",
                Value::Object(map)
            )));
        };
        match original.iter().position(|o| o.get(key) == Some(&wanted)) {
            Some(i) => {
                let Value::Object(existing) = std::mem::take(&mut original[i]) else {
                    return Err(StatusError::internal(format!(
                        "value for key {i} is not a map."
                    )));
                };
                original[i] = Value::Object(merge_map(existing, map, item)?);
            }
            None => original.push(Value::Object(merge_map(Map::new(), map, item)?)),
        }
    }
    Ok(original)
}

/// Go: `normalizeElementOrder`: the items named in `order` come in that
/// order; items only the server has keep their place relative to the
/// items around them in the original list.
fn reorder(list: &mut Vec<Value>, order: &[Value], key: Option<&str>) -> Result<(), StatusError> {
    let identity = |item: &Value| -> Option<Value> {
        match key {
            Some(key) => item.get(key).cloned(),
            None => Some(item.clone()),
        }
    };
    let mut order_ids = Vec::with_capacity(order.len());
    for entry in order {
        let id = match key {
            Some(key) => entry
                .get(key)
                .cloned()
                .ok_or_else(|| bad_request(ERR_SET_ELEMENT_ORDER))?,
            None if entry.is_object() || entry.is_array() => {
                return Err(bad_request(ERR_SET_ELEMENT_ORDER));
            }
            None => entry.clone(),
        };
        order_ids.push(id);
    }
    let position =
        |item: &Value| identity(item).and_then(|id| order_ids.iter().position(|o| *o == id));
    // Items the order names, sorted by it; the others in their current
    // order, each placed before the first named item that followed it.
    let items = std::mem::take(list);
    let mut named: Vec<(usize, usize, Value)> = Vec::new();
    let mut others: Vec<(usize, Value)> = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match position(&item) {
            Some(p) => named.push((p, index, item)),
            None => others.push((index, item)),
        }
    }
    named.sort_by_key(|(p, _, _)| *p);
    let mut others = others.into_iter().peekable();
    for (_, index, item) in named {
        while let Some((_, other)) = others.next_if(|(o, _)| *o < index) {
            list.push(other);
        }
        list.push(item);
    }
    list.extend(others.map(|(_, v)| v));
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A Pod-like type: `containers` merge by `name`, `finalizers` is a
    /// set, `args` atomic.
    static CONTAINER: PatchMeta = PatchMeta {
        fields: &[(
            "ports",
            FieldMeta::MergeByKey {
                key: "port",
                item: &PLAIN,
            },
        )],
    };
    static POD: PatchMeta = PatchMeta {
        fields: &[
            (
                "containers",
                FieldMeta::MergeByKey {
                    key: "name",
                    item: &CONTAINER,
                },
            ),
            ("finalizers", FieldMeta::Set),
        ],
    };

    fn check(original: Value, patch: Value, expected: Value) {
        let merged = strategic_merge(&original, &patch, &POD).unwrap();
        assert_eq!(merged, expected, "patch {patch}");
    }

    fn check_err(original: Value, patch: Value, code: u16, message: &str) {
        let err = strategic_merge(&original, &patch, &POD).unwrap_err();
        assert_eq!(
            (err.code().as_u16(), err.message()),
            (code, message),
            "patch {patch}"
        );
    }

    #[test]
    fn maps_merge_and_null_deletes() {
        check(
            json!({"a": 1, "m": {"x": 1, "y": 2}}),
            json!({"b": 2, "m": {"x": null, "z": 3}}),
            json!({"a": 1, "b": 2, "m": {"y": 2, "z": 3}}),
        );
        check(json!({"a": 1}), json!({"a": null, "gone": null}), json!({}));
        check(
            json!({}),
            json!({"m": {"x": null, "y": 1}}),
            json!({"m": {"y": 1}}),
        );
    }

    #[test]
    fn map_directives() {
        check(
            json!({"m": {"x": 1, "y": 2}}),
            json!({"m": {"$patch": "replace", "z": 3}}),
            json!({"m": {"z": 3}}),
        );
        check(
            json!({"m": {"x": 1}}),
            json!({"m": {"$patch": "delete"}}),
            json!({"m": {}}),
        );
        check(
            json!({"m": {"x": 1}}),
            json!({"m": {"$patch": "merge", "y": 2}}),
            json!({"m": {"x": 1, "y": 2}}),
        );
        check_err(
            json!({}),
            json!({"$patch": "bogus"}),
            500,
            "Internal error occurred: unknown patch type: \"bogus\" in map: {}",
        );
    }

    #[test]
    fn lists_merge_by_key() {
        let original =
            json!({"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]});
        check(
            original.clone(),
            json!({"containers": [{"name": "b", "image": "b:2"}, {"name": "c"}]}),
            json!({"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}, {"name": "c"}]}),
        );
        check(
            original.clone(),
            json!({"containers": [{"name": "a", "$patch": "delete"}]}),
            json!({"containers": [{"name": "b", "image": "b:1"}]}),
        );
        check(
            original.clone(),
            json!({"containers": [{"name": "z"}, {"$patch": "replace"}]}),
            json!({"containers": [{"name": "z"}]}),
        );
        check(
            original.clone(),
            json!({"containers": [{"name": "a", "image": null, "ports": [{"port": 80}]}]}),
            json!({"containers": [{"name": "a", "ports": [{"port": 80}]}, {"name": "b", "image": "b:1"}]}),
        );
        check_err(
            original.clone(),
            json!({"containers": [{"image": "x"}]}),
            500,
            "Internal error occurred: map: {\"image\":\"x\"} does not contain declared merge key: name",
        );
        check_err(
            original.clone(),
            json!({"containers": [{"$patch": "delete"}]}),
            500,
            "Internal error occurred: delete patch type with no merge key defined",
        );
        check_err(
            original,
            json!({"containers": [[1]]}),
            422,
            ERR_NO_LIST_OF_LISTS,
        );
    }

    #[test]
    fn primitive_lists() {
        check(
            json!({"finalizers": ["a", "b"]}),
            json!({"finalizers": ["b", "c"]}),
            json!({"finalizers": ["a", "b", "c"]}),
        );
        check(
            json!({"finalizers": ["a", "b", "c"]}),
            json!({"$deleteFromPrimitiveList/finalizers": ["b"]}),
            json!({"finalizers": ["a", "c"]}),
        );
        check(
            json!({"args": ["a", "b"]}),
            json!({"args": ["c"]}),
            json!({"args": ["c"]}),
        );
        check_err(
            json!({}),
            json!({"$deleteFromPrimitiveList/finalizers": "b"}),
            400,
            ERR_PRIMITIVE_LIST,
        );
    }

    #[test]
    fn set_element_order() {
        check(
            json!({"finalizers": ["a", "b"]}),
            json!({"$setElementOrder/finalizers": ["c", "b", "a"], "finalizers": ["c"]}),
            json!({"finalizers": ["c", "b", "a"]}),
        );
        check(
            json!({"containers": [{"name": "a"}, {"name": "s"}, {"name": "b"}]}),
            json!({"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}], "containers": [{"name": "b", "image": "x"}]}),
            json!({"containers": [{"name": "s"}, {"name": "b", "image": "x"}, {"name": "a"}]}),
        );
        check_err(
            json!({}),
            json!({"$setElementOrder/finalizers": {}}),
            400,
            ERR_SET_ELEMENT_ORDER,
        );
    }

    #[test]
    fn retain_keys() {
        check(
            json!({"m": {"x": 1, "y": 2, "z": 3}}),
            json!({"m": {"$retainKeys": ["x", "w"], "w": 4}}),
            json!({"m": {"x": 1, "w": 4}}),
        );
        check_err(json!({}), json!({"$retainKeys": "x"}), 400, ERR_RETAIN_KEYS);
        check_err(
            json!({}),
            json!({"$retainKeys": ["x"], "y": 1}),
            422,
            ERR_NOT_MATCH_RETAIN_KEYS,
        );
    }
}
