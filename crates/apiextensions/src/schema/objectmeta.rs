//! `apiVersion`, `kind` and `metadata` of embedded resources
//! (`x-kubernetes-embedded-resource`) and of the resource root (Go:
//! `pkg/apiserver/schema/objectmeta`): decoding `metadata` as an
//! `ObjectMeta` (unknown fields dropped and reported, the value rewritten
//! as Go re-encodes it), and validating type and object metadata.
//!
//! Go decodes `metadata` with `encoding/json`; here the JSON is checked
//! field by field against `ObjectMeta`'s shape, with Go's error texts for
//! the common mismatches.

use jiff::Timestamp;
use kapi_core::field::{Error, ErrorList, Path};
use kapi_core::validation::{path_segment_name, validate_object_meta};
use serde_json::{Map, Value};

use super::model::Node;

/// Go's `IsDNS1035Label` message parts.
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
    Time,
    StrMap,
    StrList,
    OwnerRefs,
    ManagedFields,
}

const OBJECT_META: &[(&str, Kind)] = &[
    ("name", Kind::Str),
    ("generateName", Kind::Str),
    ("namespace", Kind::Str),
    ("selfLink", Kind::Str),
    ("uid", Kind::Str),
    ("resourceVersion", Kind::Str),
    ("generation", Kind::Int),
    ("creationTimestamp", Kind::Time),
    ("deletionTimestamp", Kind::Time),
    ("deletionGracePeriodSeconds", Kind::Int),
    ("labels", Kind::StrMap),
    ("annotations", Kind::StrMap),
    ("ownerReferences", Kind::OwnerRefs),
    ("finalizers", Kind::StrList),
    ("managedFields", Kind::ManagedFields),
];

const OWNER_REFERENCE: &[(&str, &str)] = &[
    ("apiVersion", "string"),
    ("kind", "string"),
    ("name", "string"),
    ("uid", "string"),
    ("controller", "bool"),
    ("blockOwnerDeletion", "bool"),
];

const MANAGED_FIELDS_ENTRY: &[(&str, &str)] = &[
    ("manager", "string"),
    ("operation", "string"),
    ("apiVersion", "string"),
    ("time", "time"),
    ("fieldsType", "string"),
    ("fieldsV1", "any"),
    ("subresource", "string"),
];

fn json_kind(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "bool".to_owned(),
        Value::Number(n) if n.is_f64() => format!("number {n}"),
        Value::Number(_) => "number".to_owned(),
        Value::String(_) => "string".to_owned(),
        Value::Array(_) => "array".to_owned(),
        Value::Object(_) => "object".to_owned(),
    }
}

fn field_error(value: &Value, field: &str, go_type: &str) -> String {
    format!(
        "json: cannot unmarshal {} into Go struct field {field} of type {go_type}",
        json_kind(value)
    )
}

fn check_time(value: &Value) -> Result<(), String> {
    match value {
        Value::Null => Ok(()),
        Value::String(s) => s.parse::<Timestamp>().map(|_| ()).map_err(|_| {
            format!(
                "parsing time {} as \"2006-01-02T15:04:05Z07:00\": cannot parse {} as \"2006\"",
                kapi_core::go::quote(s),
                kapi_core::go::quote(s)
            )
        }),
        other => Err(format!(
            "json: cannot unmarshal {} into Go value of type string",
            json_kind(other)
        )),
    }
}

/// Checks one `ObjectMeta` field; returns the unknown nested fields
/// (relative to the field) or Go's decoding error.
fn check_field(name: &str, kind: Kind, value: &Value) -> Result<Vec<String>, String> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let meta_field = format!("ObjectMeta.{name}");
    match kind {
        Kind::Str if value.is_string() => Ok(Vec::new()),
        Kind::Str => Err(field_error(value, &meta_field, "string")),
        Kind::Int if value.as_i64().is_some() => Ok(Vec::new()),
        Kind::Int => Err(field_error(value, &meta_field, "int64")),
        Kind::Time => check_time(value).map(|()| Vec::new()),
        Kind::StrMap => match value {
            Value::Object(map) => match map.values().find(|v| !v.is_string() && !v.is_null()) {
                Some(bad) => Err(field_error(bad, &meta_field, "string")),
                None => Ok(Vec::new()),
            },
            other => Err(field_error(other, &meta_field, "map[string]string")),
        },
        Kind::StrList => match value {
            Value::Array(items) => match items.iter().find(|v| !v.is_string() && !v.is_null()) {
                Some(bad) => Err(field_error(bad, &meta_field, "string")),
                None => Ok(Vec::new()),
            },
            other => Err(field_error(other, &meta_field, "[]string")),
        },
        Kind::OwnerRefs => check_entries(value, name, "OwnerReference", OWNER_REFERENCE),
        Kind::ManagedFields => {
            check_entries(value, name, "ManagedFieldsEntry", MANAGED_FIELDS_ENTRY)
        }
    }
}

fn check_entries(
    value: &Value,
    name: &str,
    go_struct: &str,
    fields: &[(&str, &str)],
) -> Result<Vec<String>, String> {
    let Value::Array(items) = value else {
        return Err(field_error(
            value,
            &format!("ObjectMeta.{name}"),
            &format!("[]v1.{go_struct}"),
        ));
    };
    let mut unknown = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let entry = match item {
            Value::Null => continue,
            Value::Object(entry) => entry,
            other => {
                return Err(field_error(
                    other,
                    &format!("ObjectMeta.{name}"),
                    &format!("v1.{go_struct}"),
                ));
            }
        };
        for (key, v) in entry {
            let Some((_, ty)) = fields.iter().find(|(f, _)| f == key) else {
                unknown.push(format!("{name}[{i}].{key}"));
                continue;
            };
            let field = format!("{go_struct}.{name}.{key}");
            let ok = match *ty {
                _ if v.is_null() => true,
                "string" => v.is_string(),
                "bool" => v.is_boolean(),
                "time" => {
                    check_time(v)?;
                    true
                }
                _ => true,
            };
            if !ok {
                return Err(field_error(v, &field, ty));
            }
        }
    }
    Ok(unknown)
}

/// Decodes `metadata` as an `ObjectMeta`: the unknown fields (as
/// `<key>` or `ownerReferences[0].<key>`) or the decoding error.
fn check_object_meta(meta: &Value) -> Result<Vec<String>, String> {
    let map = match meta {
        Value::Null => return Ok(Vec::new()),
        Value::Object(map) => map,
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type v1.ObjectMeta",
                json_kind(other)
            ));
        }
    };
    let mut unknown = Vec::new();
    for (key, value) in map {
        match OBJECT_META.iter().find(|(name, _)| name == key) {
            Some((name, kind)) => unknown.extend(check_field(name, *kind, value)?),
            None => unknown.push(key.clone()),
        }
    }
    Ok(unknown)
}

/// Drops the unknown fields of `metadata` (and of its owner references and
/// managed fields entries), returning their paths under `prefix`; with
/// `drop_invalid`, fields that do not decode are dropped too. Without it a
/// decoding error is returned and nothing is changed.
fn drop_unknown(meta: &mut Value, prefix: &str, drop_invalid: bool) -> Result<Vec<String>, String> {
    let unknown = match check_object_meta(meta) {
        Ok(unknown) => unknown,
        Err(err) if !drop_invalid || !meta.is_object() => return Err(err),
        Err(_) => {
            // Go decodes field by field and keeps the ones that decode.
            if let Value::Object(map) = meta {
                map.retain(|key, value| {
                    OBJECT_META
                        .iter()
                        .find(|(name, _)| name == key)
                        .is_none_or(|(name, kind)| check_field(name, *kind, value).is_ok())
                });
            }
            check_object_meta(meta)?
        }
    };
    if let Value::Object(map) = meta {
        for path in &unknown {
            match path.split_once('[') {
                None => {
                    map.remove(path);
                }
                Some((field, rest)) => {
                    let index = rest.split(']').next().and_then(|i| i.parse::<usize>().ok());
                    let key = rest.rsplit_once("].").map(|(_, key)| key);
                    if let (Some(index), Some(key), Some(Value::Array(items))) =
                        (index, key, map.get_mut(field))
                        && let Some(Value::Object(entry)) = items.get_mut(index)
                    {
                        entry.remove(key);
                    }
                }
            }
        }
    }
    let mut paths: Vec<String> = unknown
        .into_iter()
        .map(|p| format!("{prefix}.{p}"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Rewrites decoded `metadata` as Go re-encodes an `ObjectMeta`: empty
/// and null fields dropped (`omitempty`), timestamps in UTC seconds,
/// owner references with their four required strings.
fn normalize(meta: &mut Value) {
    let Value::Object(map) = meta else {
        if meta.is_null() {
            *meta = Value::Object(Map::new());
        }
        return;
    };
    map.retain(|key, value| match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => key != "generation" || n.as_i64() != Some(0),
        Value::Object(m) => !m.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Bool(_) => true,
    });
    for key in ["creationTimestamp", "deletionTimestamp"] {
        if let Some(Value::String(s)) = map.get_mut(key)
            && let Ok(ts) = s.parse::<Timestamp>()
        {
            *s = ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        }
    }
    if let Some(Value::Object(labels)) = map.get_mut("labels") {
        for value in labels.values_mut() {
            if value.is_null() {
                *value = Value::from("");
            }
        }
    }
    if let Some(Value::Array(refs)) = map.get_mut("ownerReferences") {
        for reference in refs.iter_mut() {
            if let Value::Object(entry) = reference {
                entry.retain(|_, v| !v.is_null());
                for key in ["apiVersion", "kind", "name", "uid"] {
                    entry.entry(key).or_insert_with(|| Value::from(""));
                }
            }
        }
    }
}

/// Coerces embedded resources below `node` (Go: `objectmeta.Coerce`):
/// `apiVersion` and `kind` must be strings, `metadata` must decode as an
/// `ObjectMeta` and is rewritten without unknown fields. Returns the first
/// error (nothing is dropped for it unless `drop_invalid`) and the unknown
/// metadata fields as paths (`spec.template.metadata.foo`).
pub(crate) fn coerce(
    value: &mut Value,
    node: &Node,
    resource_root: bool,
    path: &Path,
    drop_invalid: bool,
) -> (Option<Error>, Vec<String>) {
    let mut unknown = Vec::new();
    let error = coerce_node(
        value,
        Some(node),
        resource_root || node.embedded_resource,
        path,
        drop_invalid,
        &mut unknown,
    );
    unknown.sort();
    (error, unknown)
}

fn coerce_node(
    value: &mut Value,
    node: Option<&Node>,
    embedded: bool,
    path: &Path,
    drop_invalid: bool,
    unknown: &mut Vec<String>,
) -> Option<Error> {
    let node = node?;
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                if embedded {
                    match key.as_str() {
                        "apiVersion" | "kind" => {
                            if let Some(v) = map.get(&key)
                                && !v.is_string()
                            {
                                if drop_invalid {
                                    map.remove(&key);
                                } else {
                                    return Some(Error::invalid(
                                        &path.child(&key),
                                        v.clone(),
                                        "must be a string",
                                    ));
                                }
                            }
                        }
                        "metadata" => {
                            if let Some(meta) = map.get_mut("metadata") {
                                let original = meta.clone();
                                match drop_unknown(
                                    meta,
                                    path.child("metadata").as_str(),
                                    drop_invalid,
                                ) {
                                    Ok(paths) => {
                                        unknown.extend(paths);
                                        normalize(meta);
                                    }
                                    Err(err) if !drop_invalid => {
                                        return Some(Error::invalid(
                                            &path.child("metadata"),
                                            original,
                                            err,
                                        ));
                                    }
                                    Err(_) => {}
                                }
                            }
                        }
                        _ => {}
                    }
                }
                let Some(child) = map.get_mut(&key) else {
                    continue;
                };
                if let Some(prop) = node.properties.get(&key) {
                    if let Some(err) = coerce_node(
                        child,
                        Some(prop),
                        prop.embedded_resource,
                        &path.child(&key),
                        drop_invalid,
                        unknown,
                    ) {
                        return Some(err);
                    }
                } else if node.additional_properties.is_some() {
                    let additional = node.additional_schema();
                    let child_embedded = additional.is_some_and(|n| n.embedded_resource);
                    if let Some(err) = coerce_node(
                        child,
                        additional,
                        child_embedded,
                        &path.key(&key),
                        drop_invalid,
                        unknown,
                    ) {
                        return Some(err);
                    }
                }
            }
            None
        }
        Value::Array(items) => {
            let item_schema = node.items.as_deref();
            let child_embedded = item_schema.is_some_and(|n| n.embedded_resource);
            for (i, item) in items.iter_mut().enumerate() {
                if let Some(err) = coerce_node(
                    item,
                    item_schema,
                    child_embedded,
                    &path.index(i),
                    drop_invalid,
                    unknown,
                ) {
                    return Some(err);
                }
            }
            None
        }
        _ => None,
    }
}

/// Drops the unknown fields of the root `metadata` and returns their paths
/// (`metadata.foo`), as the decoder of custom resources does; a
/// `metadata` that does not decode is left alone.
pub(crate) fn drop_unknown_root_metadata(object: &mut Value) -> Vec<String> {
    match object.get_mut("metadata") {
        Some(meta) if meta.is_object() => drop_unknown(meta, "metadata", false).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Validates embedded resources below `node` (Go: `objectmeta.Validate`):
/// `apiVersion` and `kind` required and well-formed, `metadata` valid
/// object metadata.
pub(crate) fn validate(
    path: &Path,
    value: &Value,
    node: Option<&Node>,
    resource_root: bool,
) -> ErrorList {
    let embedded = resource_root || node.is_some_and(|n| n.embedded_resource);
    validate_node(path, value, node, embedded)
}

fn validate_node(path: &Path, value: &Value, node: Option<&Node>, embedded: bool) -> ErrorList {
    let Some(node) = node else {
        return ErrorList::new();
    };
    let mut errs = ErrorList::new();
    match value {
        Value::Object(map) => {
            if embedded {
                errs.extend(validate_embedded(path, map));
            }
            for (key, child) in map {
                if let Some(prop) = node.properties.get(key) {
                    errs.extend(validate_node(
                        &path.child(key),
                        child,
                        Some(prop),
                        prop.embedded_resource,
                    ));
                } else if node.additional_properties.is_some() {
                    let additional = node.additional_schema();
                    let child_embedded = additional.is_some_and(|n| n.embedded_resource);
                    errs.extend(validate_node(
                        &path.key(key),
                        child,
                        additional,
                        child_embedded,
                    ));
                }
            }
        }
        Value::Array(items) => {
            let item_schema = node.items.as_deref();
            let child_embedded = item_schema.is_some_and(|n| n.embedded_resource);
            for (i, item) in items.iter().enumerate() {
                errs.extend(validate_node(
                    &path.index(i),
                    item,
                    item_schema,
                    child_embedded,
                ));
            }
        }
        _ => {}
    }
    errs
}

fn validate_embedded(path: &Path, map: &Map<String, Value>) -> ErrorList {
    let mut errs = ErrorList::new();
    if !map.contains_key("apiVersion") {
        errs.push(Error::required(&path.child("apiVersion"), ""));
    }
    if !map.contains_key("kind") {
        errs.push(Error::required(&path.child("kind"), ""));
    }
    for (key, value) in map {
        match key.as_str() {
            "apiVersion" => match value.as_str() {
                None => errs.push(Error::invalid(
                    &path.child("apiVersion"),
                    value.clone(),
                    "must be a string",
                )),
                Some("") => errs.push(Error::invalid(
                    &path.child("apiVersion"),
                    "",
                    "must not be empty",
                )),
                Some(api_version) if api_version != "/" && api_version.matches('/').count() > 1 => {
                    errs.push(Error::invalid(
                        &path.child("apiVersion"),
                        api_version,
                        format!("unexpected GroupVersion string: {api_version}"),
                    ));
                }
                Some(_) => {}
            },
            "kind" => match value.as_str() {
                None => errs.push(Error::invalid(
                    &path.child("kind"),
                    value.clone(),
                    "must be a string",
                )),
                Some("") => errs.push(Error::invalid(&path.child("kind"), "", "must not be empty")),
                Some(kind) => {
                    let messages = dns1035_label(&kind.to_lowercase());
                    if !messages.is_empty() {
                        errs.push(Error::invalid(
                            &path.child("kind"),
                            kind,
                            format!(
                                "may have mixed case, but should otherwise match: {}",
                                messages.join(",")
                            ),
                        ));
                    }
                }
            },
            "metadata" => match check_object_meta(value) {
                Err(err) => errs.push(Error::invalid(&path.child("metadata"), value.clone(), err)),
                Ok(_) => {
                    let mut meta = match value {
                        Value::Object(map) => map.clone(),
                        _ => Map::new(),
                    };
                    let name_empty = meta
                        .get("name")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty);
                    if name_empty {
                        meta.insert("name".to_owned(), Value::from("fakename"));
                    }
                    let namespaced = meta
                        .get("namespace")
                        .and_then(Value::as_str)
                        .is_some_and(|ns| !ns.is_empty());
                    let mut object = Map::new();
                    object.insert("metadata".to_owned(), Value::Object(meta));
                    errs.extend(validate_object_meta(
                        &Value::Object(object),
                        namespaced,
                        path_segment_name,
                        &path.child("metadata"),
                    ));
                }
            },
            _ => {}
        }
    }
    errs
}

/// Go's `IsDNS1035Label`.
fn dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    let bytes = value.as_bytes();
    let valid = !bytes.is_empty()
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[bytes.len() - 1] != b'-';
    if !valid {
        errs.push(format!(
            "{DNS1035_LABEL_ERR_MSG} (e.g. 'my-name',  or 'abc-123', regex used for validation is '{DNS1035_LABEL_FMT}')"
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn metadata_decoding() {
        let mut meta =
            json!({"name": "a", "foo": 1, "ownerReferences": [{"name": "o", "bar": true}]});
        let unknown = drop_unknown(&mut meta, "spec.template.metadata", false);
        assert_eq!(
            unknown,
            Ok(vec![
                "spec.template.metadata.foo".to_owned(),
                "spec.template.metadata.ownerReferences[0].bar".to_owned(),
            ])
        );
        normalize(&mut meta);
        assert_eq!(
            meta,
            json!({"name": "a", "ownerReferences": [{"name": "o", "apiVersion": "", "kind": "", "uid": ""}]})
        );
        assert_eq!(
            check_object_meta(&json!({"name": 5})),
            Err(
                "json: cannot unmarshal number into Go struct field ObjectMeta.name of type string"
                    .to_owned()
            )
        );
        let mut ts = json!({"creationTimestamp": "2024-01-01T01:00:00+01:00", "labels": {}});
        normalize(&mut ts);
        assert_eq!(ts, json!({"creationTimestamp": "2024-01-01T00:00:00Z"}));
    }

    #[test]
    fn kind_rules() {
        assert!(dns1035_label("my-kind").is_empty());
        assert_eq!(dns1035_label("1kind").len(), 1);
    }
}
