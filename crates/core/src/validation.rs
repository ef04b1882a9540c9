//! Name, label, annotation and object metadata validation with Kubernetes'
//! exact messages.
//!
//! Mirrors `k8s.io/apimachinery/pkg/util/validation` (`IsDNS1123Subdomain`,
//! `IsDNS1123Label`, `IsQualifiedName`, `IsValidLabelValue`),
//! `pkg/api/validate/content` (path segment names),
//! `pkg/apis/meta/v1/validation` (`ValidateLabels`) and
//! `pkg/api/validation/objectmeta.go` (`ValidateObjectMetaAccessor`,
//! `ValidateObjectMetaAccessorUpdate`). Metadata is read from JSON
//! (`metadata` of a `serde_json::Value`); values of the wrong JSON type are
//! reported as `Invalid value` instead of failing decoding as in Go.

use serde_json::{Map, Value};

use crate::field::{Error, ErrorList, Path};

/// The longest DNS-1123 label (63).
pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
/// The longest DNS-1123 subdomain (253).
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
/// The longest label value and qualified-name name part (63).
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;
/// The largest total size of an object's annotations, keys plus values
/// (256 KiB, Go: `TotalAnnotationSizeLimitB`).
pub const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES: usize = 256 * 1024;
/// The message of a changed immutable field (Go: `FieldImmutableErrorMsg`).
pub const FIELD_IMMUTABLE_ERROR_MSG: &str = "field is immutable";
/// The finalizer that orphans dependents (`metav1.FinalizerOrphanDependents`).
pub const FINALIZER_ORPHAN_DEPENDENTS: &str = "orphan";
/// The finalizer of foreground deletion (`metav1.FinalizerDeleteDependents`).
pub const FINALIZER_DELETE_DEPENDENTS: &str = "foregroundDeletion";

/// Validates a name (or, with `prefix`, a `generateName` prefix) and returns
/// Go's messages (Go: `ValidateNameFunc`).
pub type NameValidator = fn(name: &str, prefix: bool) -> Vec<String>;

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// Checks an RFC 1123 subdomain (`example.com`), at most 253 characters
/// (Go: `IsDNS1123Subdomain`).
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_subdomain(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Checks an RFC 1123 label (`my-name`), at most 63 characters (Go:
/// `IsDNS1123Label`).
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_label(value) {
        if matches_subdomain(value) {
            errs.push("must not contain dots".to_owned());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR_MSG,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// Checks a qualified name (`[prefix/]name`): label keys, annotation keys,
/// finalizers (Go: `IsQualifiedName`).
pub fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_owned());
            } else {
                errs.extend(
                    is_dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|msg| format!("prefix part {msg}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_ERR_MSG,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_error(LABEL_VALUE_MAX_LENGTH)
        ));
    }
    if !matches_qualified_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_ERR_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// Checks a label value: empty, or a qualified name part of at most 63
/// characters (Go: `IsValidLabelValue`).
pub fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !matches_qualified_name(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// Checks that a name can be a URL path segment: not `.` or `..`, no `/`
/// or `%` (Go: `IsPathSegmentName`).
pub fn is_path_segment_name(name: &str) -> Vec<String> {
    for illegal in [".", ".."] {
        if name == illegal {
            return vec![format!("may not be '{illegal}'")];
        }
    }
    is_path_segment_prefix(name)
}

/// Checks that a name prefix can start a URL path segment: no `/` or `%`
/// (Go: `IsPathSegmentPrefix`).
pub fn is_path_segment_prefix(name: &str) -> Vec<String> {
    ["/", "%"]
        .into_iter()
        .filter(|illegal| name.contains(illegal))
        .map(|illegal| format!("may not contain '{illegal}'"))
        .collect()
}

/// A [`NameValidator`] for names that are path segments (Go:
/// `validatePathSegment` of `registry/rest`, applied to every object).
pub fn path_segment_name(name: &str, prefix: bool) -> Vec<String> {
    if prefix {
        is_path_segment_prefix(name)
    } else {
        is_path_segment_name(name)
    }
}

/// A [`NameValidator`] for DNS-1123 subdomain names (Go:
/// `NameIsDNSSubdomain`); ConfigMaps, Secrets, most resources.
pub fn name_is_dns_subdomain(name: &str, prefix: bool) -> Vec<String> {
    is_dns1123_subdomain(&mask_prefix(name, prefix))
}

/// A [`NameValidator`] for DNS-1123 label names (Go: `NameIsDNSLabel`);
/// Namespaces.
pub fn name_is_dns_label(name: &str, prefix: bool) -> Vec<String> {
    is_dns1123_label(&mask_prefix(name, prefix))
}

/// Validates an object's metadata on create (Go:
/// `ValidateObjectMetaAccessor`): name or generateName through
/// `validate_name`, namespace required (namespaced) or forbidden,
/// non-negative generation, labels, annotations, owner references and
/// finalizers. `object` is the whole object; its `metadata` is read.
pub fn validate_object_meta(
    object: &Value,
    namespaced: bool,
    validate_name: NameValidator,
    path: &Path,
) -> ErrorList {
    let meta = Meta::of(object);
    let mut errs = ErrorList::new();
    let generate_name = meta.string("generateName");
    if !generate_name.is_empty() {
        for msg in validate_name(generate_name, true) {
            errs.push(Error::invalid(
                &path.child("generateName"),
                generate_name,
                msg,
            ));
        }
    }
    let name = meta.string("name");
    if name.is_empty() {
        errs.push(Error::required(
            &path.child("name"),
            "name or generateName is required",
        ));
    } else {
        for msg in validate_name(name, false) {
            errs.push(Error::invalid(&path.child("name"), name, msg));
        }
    }
    let namespace = meta.string("namespace");
    if namespaced {
        if namespace.is_empty() {
            errs.push(Error::required(&path.child("namespace"), ""));
        } else {
            for msg in name_is_dns_label(namespace, false) {
                errs.push(Error::invalid(&path.child("namespace"), namespace, msg));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(Error::forbidden(
            &path.child("namespace"),
            "not allowed on this type",
        ));
    }
    if let Some(generation) = meta.get("generation").and_then(Value::as_i64)
        && generation < 0
    {
        errs.push(Error::invalid(
            &path.child("generation"),
            generation,
            "must be greater than or equal to 0",
        ));
    }
    errs.extend(meta.type_errors(path));
    errs.extend(validate_labels(meta.get("labels"), &path.child("labels")));
    errs.extend(validate_annotations(
        meta.get("annotations"),
        &path.child("annotations"),
    ));
    errs.extend(validate_owner_references(
        meta.get("ownerReferences"),
        &path.child("ownerReferences"),
    ));
    errs.extend(validate_finalizers(
        meta.get("finalizers"),
        &path.child("finalizers"),
    ));
    errs
}

/// Validates an update's metadata against the stored object's (Go:
/// `ValidateObjectMetaAccessorUpdate`): no new finalizers while deleting,
/// resourceVersion present, generation not decremented, name, namespace,
/// uid, creationTimestamp, deletionTimestamp and deletionGracePeriodSeconds
/// unchanged, labels, annotations and owner references valid.
pub fn validate_object_meta_update(new: &Value, old: &Value, path: &Path) -> ErrorList {
    let (new_meta, old_meta) = (Meta::of(new), Meta::of(old));
    let mut errs = ErrorList::new();
    if !old_meta.get("deletionTimestamp").is_none_or(Value::is_null) {
        let old_finalizers = old_meta.strings("finalizers");
        let mut extra: Vec<&str> = new_meta
            .strings("finalizers")
            .into_iter()
            .filter(|f| !old_finalizers.contains(f))
            .collect();
        extra.sort_unstable();
        extra.dedup();
        if !extra.is_empty() {
            let quoted: Vec<String> = extra.iter().map(|f| crate::go::quote(f)).collect();
            errs.push(Error::forbidden(
                &path.child("finalizers"),
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    quoted.join(", ")
                ),
            ));
        }
    }
    let resource_version = new_meta.string("resourceVersion");
    if resource_version.is_empty() {
        errs.push(Error::invalid(
            &path.child("resourceVersion"),
            resource_version,
            "must be specified for an update",
        ));
    }
    let generation = |meta: &Meta<'_>| meta.get("generation").and_then(Value::as_i64).unwrap_or(0);
    if generation(&new_meta) < generation(&old_meta) {
        errs.push(Error::invalid(
            &path.child("generation"),
            generation(&new_meta),
            "must not be decremented",
        ));
    }
    for field in ["name", "namespace", "uid"] {
        let (now, before) = (new_meta.string(field), old_meta.string(field));
        if now != before {
            errs.push(Error::invalid(
                &path.child(field),
                now,
                FIELD_IMMUTABLE_ERROR_MSG,
            ));
        }
    }
    for field in [
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        let value = |meta: &Meta<'_>| meta.get(field).cloned().unwrap_or(Value::Null);
        let now = value(&new_meta);
        if now != value(&old_meta) {
            errs.push(Error::invalid(
                &path.child(field),
                now,
                FIELD_IMMUTABLE_ERROR_MSG,
            ));
        }
    }
    errs.extend(new_meta.type_errors(path));
    errs.extend(validate_labels(
        new_meta.get("labels"),
        &path.child("labels"),
    ));
    errs.extend(validate_annotations(
        new_meta.get("annotations"),
        &path.child("annotations"),
    ));
    errs.extend(validate_owner_references(
        new_meta.get("ownerReferences"),
        &path.child("ownerReferences"),
    ));
    errs
}

/// Validates label keys and values (Go: `ValidateLabels`); `labels` is the
/// JSON of `metadata.labels`.
pub fn validate_labels(labels: Option<&Value>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(Value::Object(labels)) = labels else {
        return errs;
    };
    for (key, value) in labels {
        for msg in is_qualified_name(key) {
            errs.push(Error::invalid(path, key.as_str(), msg));
        }
        let Some(value) = value.as_str() else {
            continue;
        };
        for msg in is_valid_label_value(value) {
            errs.push(Error::invalid(path, value, msg));
        }
    }
    errs
}

/// Validates annotation keys (qualified names, case-insensitive) and their
/// total size (Go: `ValidateAnnotations`).
pub fn validate_annotations(annotations: Option<&Value>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(Value::Object(annotations)) = annotations else {
        return errs;
    };
    let mut total = 0usize;
    for (key, value) in annotations {
        for msg in is_qualified_name(&key.to_lowercase()) {
            errs.push(Error::invalid(path, key.as_str(), msg));
        }
        total += key.len() + value.as_str().map_or(0, str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES {
        errs.push(Error::too_long(
            path,
            TOTAL_ANNOTATION_SIZE_LIMIT_BYTES as i64,
        ));
    }
    errs
}

/// Validates finalizer names and that `orphan` and `foregroundDeletion` are
/// not both set (Go: `ValidateFinalizers`).
pub fn validate_finalizers(finalizers: Option<&Value>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(Value::Array(list)) = finalizers else {
        return errs;
    };
    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    for name in &names {
        for msg in is_qualified_name(name) {
            errs.push(Error::invalid(path, *name, msg));
        }
    }
    if names.contains(&FINALIZER_ORPHAN_DEPENDENTS) && names.contains(&FINALIZER_DELETE_DEPENDENTS)
    {
        errs.push(Error::invalid(
            path,
            Value::Array(list.clone()),
            format!(
                "finalizer {FINALIZER_ORPHAN_DEPENDENTS} and {FINALIZER_DELETE_DEPENDENTS} cannot be both set"
            ),
        ));
    }
    errs
}

/// Validates owner references: apiVersion with a version, kind, name and
/// uid set, at most one controller, no core/v1 Event owner (Go:
/// `ValidateOwnerReferences`).
pub fn validate_owner_references(references: Option<&Value>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(Value::Array(references)) = references else {
        return errs;
    };
    let mut first_controller: Option<String> = None;
    for reference in references {
        let text = |field: &str| reference.get(field).and_then(Value::as_str).unwrap_or("");
        let (api_version, kind) = (text("apiVersion"), text("kind"));
        let (group, version) = match api_version.split('/').collect::<Vec<_>>().as_slice() {
            [""] => ("", ""),
            [version] => ("", *version),
            [group, version] => (*group, *version),
            _ => ("", ""),
        };
        if version.is_empty() {
            errs.push(Error::invalid(
                &path.child("apiVersion"),
                api_version,
                "version must not be empty",
            ));
        }
        if kind.is_empty() {
            errs.push(Error::invalid(
                &path.child("kind"),
                kind,
                "must not be empty",
            ));
        }
        for field in ["name", "uid"] {
            if text(field).is_empty() {
                errs.push(Error::invalid(
                    &path.child(field),
                    text(field),
                    "must not be empty",
                ));
            }
        }
        if group.is_empty() && version == "v1" && kind == "Event" {
            errs.push(Error::invalid(
                path,
                reference.clone(),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if reference.get("controller").and_then(Value::as_bool) == Some(true) {
            let current = format!("{kind}/{}", text("name"));
            match &first_controller {
                Some(first) => errs.push(Error::invalid(
                    path,
                    Value::Array(references.clone()),
                    format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                    ),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

/// `metadata` of an object, read leniently.
struct Meta<'a>(Option<&'a Map<String, Value>>);

impl<'a> Meta<'a> {
    fn of(object: &'a Value) -> Self {
        Self(object.get("metadata").and_then(Value::as_object))
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.0?.get(field)
    }

    fn string(&self, field: &str) -> &'a str {
        self.get(field).and_then(Value::as_str).unwrap_or("")
    }

    fn strings(&self, field: &str) -> Vec<&'a str> {
        match self.get(field) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Fields whose JSON type is not what Kubernetes' ObjectMeta declares
    /// (Go would have failed to decode the object).
    fn type_errors(&self, path: &Path) -> ErrorList {
        let mut errs = ErrorList::new();
        let Some(meta) = self.0 else {
            return errs;
        };
        for (field, value) in meta {
            let expected = match field.as_str() {
                "name" | "generateName" | "namespace" | "uid" | "resourceVersion" | "selfLink"
                | "creationTimestamp" | "deletionTimestamp" => "string",
                "generation" | "deletionGracePeriodSeconds" => "integer",
                "labels" | "annotations" => "map",
                "finalizers" | "ownerReferences" | "managedFields" => "list",
                _ => continue,
            };
            let ok = match (expected, value) {
                (_, Value::Null) => true,
                ("string", Value::String(_)) => true,
                ("integer", Value::Number(n)) => n.is_i64(),
                ("map", Value::Object(entries)) => {
                    entries.values().all(|v| v.is_string() || v.is_null())
                }
                ("list", Value::Array(items)) => {
                    field != "finalizers" || items.iter().all(Value::is_string)
                }
                _ => false,
            };
            if !ok {
                errs.push(Error::type_invalid(
                    &path.child(field),
                    value.clone(),
                    format!("must be of type {expected}"),
                ));
            }
        }
        errs
    }
}

fn mask_prefix(name: &str, prefix: bool) -> String {
    // Go's maskTrailingDash: a generateName may end in '-'; Go replaces the
    // last two bytes with "a" before validating.
    if prefix && name.len() > 1 && name.ends_with('-') {
        let cut = name.len() - 2;
        if name.is_char_boundary(cut) {
            return format!("{}a", &name[..cut]);
        }
    }
    name.to_owned()
}

fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = msg.to_owned();
    out.push_str(" (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{example}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn matches_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            edge(first) && edge(last) && bytes.iter().all(|&b| edge(b) || b == b'-')
        }
        _ => false,
    }
}

fn matches_subdomain(value: &str) -> bool {
    value.split('.').all(matches_label)
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn matches_qualified_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::field::aggregate;

    const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

    fn check(validate: fn(&str) -> Vec<String>, good: &[&str], bad: &[(&str, &[&str])]) {
        for value in good {
            assert_eq!(
                validate(value),
                Vec::<String>::new(),
                "{value:?} should be valid"
            );
        }
        for (value, expected) in bad {
            assert_eq!(&validate(value), expected, "{value:?}");
        }
    }

    #[test]
    fn regex_error_matches_go_format() {
        // Go appends "'x', " per example and joins with " or ", which
        // leaves the double space in its messages.
        assert_eq!(
            regex_error("m", "f", &["a", "b"]),
            "m (e.g. 'a',  or 'b', regex used for validation is 'f')"
        );
    }

    #[test]
    fn dns1123_subdomain() {
        let long = "a".repeat(254);
        check(
            is_dns1123_subdomain,
            &[
                "a",
                "ab",
                "abc",
                "a1",
                "a-1",
                "a--1--2--b",
                "0",
                "01",
                "012",
                "1a",
                "1-a",
                "a.a",
                "ab.a",
                "a-1.a",
                "0.a",
                "a.b.c.d.e",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                "example.com",
            ],
            &[
                ("", &[SUBDOMAIN_MSG]),
                ("A", &[SUBDOMAIN_MSG]),
                ("ABC", &[SUBDOMAIN_MSG]),
                ("aBc", &[SUBDOMAIN_MSG]),
                ("a_b", &[SUBDOMAIN_MSG]),
                ("a.", &[SUBDOMAIN_MSG]),
                ("-a", &[SUBDOMAIN_MSG]),
                ("a-", &[SUBDOMAIN_MSG]),
                ("a..b", &[SUBDOMAIN_MSG]),
                ("a@b", &[SUBDOMAIN_MSG]),
                ("a/b", &[SUBDOMAIN_MSG]),
                ("ä", &[SUBDOMAIN_MSG]),
            ],
        );
        assert_eq!(is_dns1123_subdomain(&long), vec![max_len_error(253)]);
    }

    #[test]
    fn dns1123_label() {
        check(
            is_dns1123_label,
            &[
                "a",
                "ab",
                "abc",
                "a1",
                "a-1",
                "a--1--2--b",
                "0",
                "01",
                "012",
                "1a",
                "1-a",
                &"a".repeat(63),
            ],
            &[
                ("", &[LABEL_MSG]),
                ("A", &[LABEL_MSG]),
                ("ABC", &[LABEL_MSG]),
                ("a-", &[LABEL_MSG]),
                ("-a", &[LABEL_MSG]),
                ("a_b", &[LABEL_MSG]),
                ("a.b", &["must not contain dots"]),
                ("a.b.c", &["must not contain dots"]),
            ],
        );
        assert_eq!(
            is_dns1123_label(&"a".repeat(64)),
            vec!["must be no more than 63 characters"]
        );
    }

    #[test]
    fn qualified_name() {
        check(
            is_qualified_name,
            &[
                "simple",
                "now-with-dashes",
                "1-starts-with-num",
                "1234",
                "simple/simple",
                "now-with-dashes/simple",
                "now-with-dashes/now-with-dashes",
                "now.with.dots/simple",
                "now-with.dashes-and.dots/simple",
                "1-num.2-num/3-num",
                "1234/5678",
                "1.2.3.4/5678",
                "Uppercase_Is_OK_123",
                "example.com/Uppercase_Is_OK_123",
                "requests.storage-foo",
                &"a".repeat(63),
                &format!("{}/b", "a".repeat(253)),
            ],
            &[
                ("nospecialchars%^=@", &[NAME_PART_MSG]),
                ("cantendwithadash-", &[NAME_PART_MSG]),
                ("-cantstartwithadash-", &[NAME_PART_MSG]),
                ("", &["name part must be non-empty", NAME_PART_MSG]),
                ("/simple", &["prefix part must be non-empty"]),
                (
                    "example.com/",
                    &["name part must be non-empty", NAME_PART_MSG],
                ),
                ("Example.com/a", &[&format!("prefix part {SUBDOMAIN_MSG}")]),
                (
                    "a/b/c",
                    &[
                        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                    ],
                ),
            ],
        );
        assert_eq!(
            is_qualified_name(&"a".repeat(64)),
            vec!["name part must be no more than 63 characters"]
        );
    }

    #[test]
    fn label_value() {
        let msg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
        check(
            is_valid_label_value,
            &[
                "simple",
                "now-with-dashes",
                "1-starts-with-num",
                "end-with-num-1",
                "1234",
                "",
                "A.B_c-d",
                &"a".repeat(63),
            ],
            &[
                ("nospecialchars%^=@", &[msg]),
                ("Tama-nui-te-rā.is.Māori.sun", &[msg]),
                ("\\backslashes\\are\\bad", &[msg]),
                ("-starts-with-dash", &[msg]),
                ("ends-with-dash-", &[msg]),
                (".starts.with.dot", &[msg]),
                ("contains/slash", &[msg]),
            ],
        );
        assert_eq!(
            is_valid_label_value(&"a".repeat(64)),
            vec!["must be no more than 63 characters"]
        );
    }

    #[test]
    fn generate_name_prefixes_may_end_in_dash() {
        assert!(name_is_dns_subdomain("foo-", true).is_empty());
        assert!(!name_is_dns_subdomain("foo-", false).is_empty());
        assert!(name_is_dns_label("ns-", true).is_empty());
        assert_eq!(path_segment_name("..", false), vec!["may not be '..'"]);
        assert!(path_segment_name("..", true).is_empty());
        assert_eq!(
            path_segment_name("a/b%", false),
            vec!["may not contain '/'", "may not contain '%'"]
        );
    }

    fn meta_errors(object: Value, namespaced: bool) -> Option<String> {
        aggregate(&validate_object_meta(
            &object,
            namespaced,
            name_is_dns_subdomain,
            &Path::new("metadata"),
        ))
    }

    #[test]
    fn object_meta() {
        let cases: &[(Value, bool, Option<&str>)] = &[
            (
                json!({"metadata": {"name": "a", "namespace": "ns"}}),
                true,
                None,
            ),
            (json!({"metadata": {"name": "a"}}), false, None),
            (
                json!({"metadata": {"generateName": "a-", "name": "a-x1"}}),
                false,
                None,
            ),
            (
                json!({"metadata": {}}),
                false,
                Some("metadata.name: Required value: name or generateName is required"),
            ),
            (
                json!({"metadata": {"name": "a"}}),
                true,
                Some("metadata.namespace: Required value"),
            ),
            (
                json!({"metadata": {"name": "a", "namespace": "ns"}}),
                false,
                Some("metadata.namespace: Forbidden: not allowed on this type"),
            ),
            (
                json!({"metadata": {"name": "a", "namespace": "N"}}),
                true,
                Some(&*Box::leak(
                    format!(r#"metadata.namespace: Invalid value: "N": {LABEL_MSG}"#)
                        .into_boxed_str(),
                )),
            ),
            (
                json!({"metadata": {"name": "A"}}),
                false,
                Some(&*Box::leak(
                    format!(r#"metadata.name: Invalid value: "A": {SUBDOMAIN_MSG}"#)
                        .into_boxed_str(),
                )),
            ),
            (
                json!({"metadata": {"name": "a", "generation": -1}}),
                false,
                Some("metadata.generation: Invalid value: -1: must be greater than or equal to 0"),
            ),
            (
                json!({"metadata": {"name": "a", "labels": {"a": "-b"}}}),
                false,
                Some(
                    r#"metadata.labels: Invalid value: "-b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"#,
                ),
            ),
            (
                json!({"metadata": {"name": "a", "annotations": {"big": "x".repeat(256 * 1024)}}}),
                false,
                Some("metadata.annotations: Too long: may not be more than 262144 bytes"),
            ),
            (
                json!({"metadata": {"name": "a", "annotations": {"Upper.Case/Is-OK": "x"}}}),
                false,
                None,
            ),
            (
                json!({"metadata": {"name": "a", "finalizers": ["orphan", "foregroundDeletion"]}}),
                false,
                Some(
                    r#"metadata.finalizers: Invalid value: ["orphan","foregroundDeletion"]: finalizer orphan and foregroundDeletion cannot be both set"#,
                ),
            ),
            (
                json!({"metadata": {"name": "a", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o"}]}}),
                false,
                Some(r#"metadata.ownerReferences.uid: Invalid value: "": must not be empty"#),
            ),
            (
                json!({"metadata": {"name": "a", "labels": "x"}}),
                false,
                Some(r#"metadata.labels: Invalid value: "x": must be of type map"#),
            ),
        ];
        for (object, namespaced, expected) in cases {
            assert_eq!(
                meta_errors(object.clone(), *namespaced).as_deref(),
                *expected,
                "{object}"
            );
        }
    }

    #[test]
    fn object_meta_update() {
        let old = json!({"metadata": {"name": "a", "namespace": "ns", "uid": "u1",
            "resourceVersion": "5", "creationTimestamp": "2024-01-01T00:00:00Z", "generation": 2}});
        let check_update = |patch: Value, expected: Option<&str>| {
            let mut new = old.clone();
            for (k, v) in patch.as_object().unwrap() {
                new["metadata"][k] = v.clone();
            }
            assert_eq!(
                aggregate(&validate_object_meta_update(
                    &new,
                    &old,
                    &Path::new("metadata")
                ))
                .as_deref(),
                expected,
                "{patch}"
            );
        };
        check_update(json!({}), None);
        check_update(
            json!({"uid": "u2"}),
            Some(r#"metadata.uid: Invalid value: "u2": field is immutable"#),
        );
        check_update(
            json!({"namespace": "other"}),
            Some(r#"metadata.namespace: Invalid value: "other": field is immutable"#),
        );
        check_update(
            json!({"name": "b"}),
            Some(r#"metadata.name: Invalid value: "b": field is immutable"#),
        );
        check_update(
            json!({"creationTimestamp": null}),
            Some("metadata.creationTimestamp: Invalid value: null: field is immutable"),
        );
        check_update(
            json!({"resourceVersion": ""}),
            Some(r#"metadata.resourceVersion: Invalid value: "": must be specified for an update"#),
        );
        check_update(
            json!({"generation": 1}),
            Some("metadata.generation: Invalid value: 1: must not be decremented"),
        );
        let mut deleting = old.clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2024-01-02T00:00:00Z");
        deleting["metadata"]["finalizers"] = json!(["a/x"]);
        let mut new = deleting.clone();
        new["metadata"]["finalizers"] = json!(["a/x", "b/y", "a/z"]);
        assert_eq!(
            aggregate(&validate_object_meta_update(
                &new,
                &deleting,
                &Path::new("metadata")
            ))
            .as_deref(),
            Some(
                r#"metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"a/z", "b/y"}"#
            )
        );
    }
}
