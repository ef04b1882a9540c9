//! What every write does to the object on its way to storage besides the
//! strategy: `fieldValidation` of the fields the type does not know (which
//! the resource's [`ObjectDecoder`] prunes), defaults, and `managedFields`
//! (Go: the `fieldValidation` and `FieldManager` steps of `create.go`,
//! `update.go` and `patch.go`).

use std::fmt;

use http::HeaderMap;
use kapi_core::StatusError;
use kapi_core::field::{Error, ErrorList, Path};
use kapi_storage::registry::RequestContext;
use serde_json::Value;

use crate::options::Query;

/// How one resource decodes request objects beyond JSON and YAML (Go: the
/// typed codec of a built-in kind, the structural schema's pruning and
/// defaulting of a custom resource).
pub trait ObjectDecoder: Send + Sync + fmt::Debug {
    /// Removes the fields the type does not know, fills in defaults, and
    /// returns the removed fields as `unknown field` paths (`spec.foo`,
    /// `rules[0].verbz`).
    ///
    /// # Errors
    /// The object cannot be decoded into the type at all (a value of the
    /// wrong JSON type): Go's decode error text (`json: cannot unmarshal
    /// number into Go struct field ConfigMap.data of type string`).
    fn decode(&self, object: &mut Value) -> Result<Vec<String>, String>;
}

/// `fieldValidation` (Go: `metav1.FieldValidation*`); `Warn` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// The write options every create, update and patch takes from the query.
#[derive(Debug)]
pub(crate) struct WriteOptions {
    pub(crate) validation: FieldValidation,
    /// The manager recorded in `managedFields`: `fieldManager`, or the
    /// User-Agent's program name.
    pub(crate) manager: String,
    /// `force` (apply only).
    pub(crate) force: bool,
}

/// Reads `fieldManager`, `fieldValidation` and `force`; their errors are
/// one 422 of `<options_kind>.meta.k8s.io` (Go: `ValidateCreateOptions`,
/// `ValidateUpdateOptions`, `ValidatePatchOptions`).
pub(crate) fn write_options(
    query: &Query,
    headers: &HeaderMap,
    options_kind: &str,
    is_apply: bool,
) -> Result<WriteOptions, StatusError> {
    let mut errs = ErrorList::new();
    let field_manager = query.get("fieldManager").unwrap_or_default();
    errs.extend(kapi_fieldmanager::validate_manager_name(
        field_manager,
        is_apply,
    ));
    let validation = match query.get("fieldValidation").unwrap_or_default() {
        "" | "Warn" => FieldValidation::Warn,
        "Ignore" => FieldValidation::Ignore,
        "Strict" => FieldValidation::Strict,
        other => {
            errs.push(Error::not_supported(
                &Path::new("fieldValidation"),
                other,
                &["", "Ignore", "Strict", "Warn"],
            ));
            FieldValidation::Warn
        }
    };
    let force = match query.get("force") {
        None => false,
        Some(value) => {
            let force = value == "true" || value == "1";
            if force && !is_apply {
                errs.push(Error::forbidden(
                    &Path::new("force"),
                    "may not be specified for non-apply patch",
                ));
            }
            force
        }
    };
    if !errs.is_empty() {
        return Err(StatusError::invalid("meta.k8s.io", options_kind, "", &errs));
    }
    let user_agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(WriteOptions {
        validation,
        manager: kapi_fieldmanager::manager_or_user_agent(field_manager, user_agent),
        force,
    })
}

/// Prunes and defaults `object` with `decoder`, and reports what was
/// pruned as `fieldValidation` asks: nothing, a `Warning` per field, or
/// Go's 400 `strict decoding error`, after `prefix` (a create's or
/// update's decode error names the kind: `ConfigMap in version "v1"
/// cannot be handled as a ConfigMap: `; a patch's has no prefix).
pub(crate) fn decode_fields(
    decoder: Option<&dyn ObjectDecoder>,
    object: &mut Value,
    validation: FieldValidation,
    ctx: &RequestContext,
    prefix: &str,
) -> Result<(), StatusError> {
    let Some(decoder) = decoder else {
        return Ok(());
    };
    let unknown = match decoder.decode(object) {
        Ok(unknown) => unknown,
        // A patched object that does not decode is Go's 422 on `patch`.
        Err(message) if prefix.is_empty() => {
            let patched = serde_json::to_string(object).unwrap_or_default();
            return Err(StatusError::invalid(
                "",
                "",
                "",
                &[Error::invalid(&Path::new("patch"), patched, message)],
            ));
        }
        // A body that does not decode is Go's 400 (`transformDecodeError`).
        Err(message) => return Err(StatusError::bad_request(format!("{prefix}{message}"))),
    };
    if unknown.is_empty() {
        return Ok(());
    }
    let messages = unknown
        .iter()
        .map(|path| format!("unknown field {}", kapi_core::go::quote(path)));
    match validation {
        FieldValidation::Ignore => Ok(()),
        FieldValidation::Warn => {
            messages.for_each(|message| ctx.add_warning(message));
            Ok(())
        }
        FieldValidation::Strict => Err(StatusError::bad_request(format!(
            "{prefix}strict decoding error: {}",
            messages.collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Removes the field at an `unknown field` path (`spec.foo`,
/// `rules[0].verbz`) from `object`; a path that does not lead anywhere is
/// left alone.
pub fn remove_field_path(object: &mut Value, path: &str) {
    let mut steps: Vec<Step<'_>> = Vec::new();
    for segment in path.split('.') {
        let (name, mut rest) = match segment.find('[') {
            Some(at) => (&segment[..at], &segment[at..]),
            None => (segment, ""),
        };
        if !name.is_empty() {
            steps.push(Step::Field(name));
        }
        while let Some(end) = rest.find(']') {
            if let Ok(index) = rest[1..end].parse::<usize>() {
                steps.push(Step::Index(index));
            }
            rest = &rest[end + 1..];
        }
    }
    let Some((last, parents)) = steps.split_last() else {
        return;
    };
    let mut current = object;
    for step in parents {
        let next = match step {
            Step::Field(name) => current.get_mut(*name),
            Step::Index(index) => current.get_mut(*index),
        };
        match next {
            Some(next) => current = next,
            None => return,
        }
    }
    match (last, current) {
        (Step::Field(name), Value::Object(map)) => {
            map.remove(*name);
        }
        (Step::Index(index), Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
        }
        _ => {}
    }
}

enum Step<'a> {
    Field(&'a str),
    Index(usize),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_paths_are_removed() {
        let check = |path: &str, expected: Value| {
            let mut object = json!({"spec": {"foo": 1, "bar": 2},
                                    "rules": [{"verbs": ["get"], "verbz": 1}]});
            remove_field_path(&mut object, path);
            assert_eq!(object, expected, "{path}");
        };
        check(
            "spec.foo",
            json!({"spec": {"bar": 2}, "rules": [{"verbs": ["get"], "verbz": 1}]}),
        );
        check(
            "rules[0].verbz",
            json!({"spec": {"foo": 1, "bar": 2}, "rules": [{"verbs": ["get"]}]}),
        );
        check(
            "missing.deeper",
            json!({"spec": {"foo": 1, "bar": 2}, "rules": [{"verbs": ["get"], "verbz": 1}]}),
        );
    }

    fn query(text: &str) -> Query {
        Query::parse(Some(text))
    }

    #[test]
    fn options_are_validated_together() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::USER_AGENT,
            "kubectl/v1.32.0 (linux/amd64)".parse().unwrap(),
        );
        let options = write_options(&query(""), &headers, "CreateOptions", false).unwrap();
        assert_eq!(options.manager, "kubectl");
        assert_eq!(options.validation, FieldValidation::Warn);
        let options = write_options(
            &query("fieldManager=me&fieldValidation=Strict"),
            &headers,
            "CreateOptions",
            false,
        )
        .unwrap();
        assert_eq!(options.manager, "me");
        assert_eq!(options.validation, FieldValidation::Strict);

        let err = write_options(
            &query("fieldValidation=Loud&force=true"),
            &headers,
            "PatchOptions",
            false,
        )
        .unwrap_err();
        assert_eq!(err.code(), http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            err.message(),
            "PatchOptions.meta.k8s.io \"\" is invalid: [fieldValidation: Unsupported value: \"Loud\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\", force: Forbidden: may not be specified for non-apply patch]"
        );
        let err = write_options(&query(""), &headers, "PatchOptions", true).unwrap_err();
        assert!(
            err.message().contains("fieldManager: Required value"),
            "{}",
            err.message()
        );
    }

    #[derive(Debug)]
    struct DropFoo;

    impl ObjectDecoder for DropFoo {
        fn decode(&self, object: &mut Value) -> Result<Vec<String>, String> {
            if object["spec"]["bad"].is_number() {
                return Err("json: cannot unmarshal number".to_owned());
            }
            Ok(
                match object["spec"].as_object_mut().and_then(|s| s.remove("foo")) {
                    Some(_) => vec!["spec.foo".to_owned()],
                    None => Vec::new(),
                },
            )
        }
    }

    #[test]
    fn unknown_fields_are_reported_per_field_validation() {
        let object = json!({"spec": {"foo": 1}});
        let ctx = RequestContext::new("ns");
        let mut warned = object.clone();
        decode_fields(Some(&DropFoo), &mut warned, FieldValidation::Warn, &ctx, "").unwrap();
        assert_eq!(warned, json!({"spec": {}}));
        assert_eq!(ctx.warnings(), ["unknown field \"spec.foo\""]);
        let mut strict = object.clone();
        let err = decode_fields(
            Some(&DropFoo),
            &mut strict,
            FieldValidation::Strict,
            &ctx,
            "",
        )
        .unwrap_err();
        assert_eq!(err.code(), http::StatusCode::BAD_REQUEST);
        assert_eq!(
            err.message(),
            "strict decoding error: unknown field \"spec.foo\""
        );
        let mut bad = json!({"spec": {"bad": 1}});
        let err = decode_fields(
            Some(&DropFoo),
            &mut bad.clone(),
            FieldValidation::Warn,
            &ctx,
            "X: ",
        )
        .unwrap_err();
        assert_eq!(err.code(), http::StatusCode::BAD_REQUEST);
        assert_eq!(err.message(), "X: json: cannot unmarshal number");
        let err =
            decode_fields(Some(&DropFoo), &mut bad, FieldValidation::Warn, &ctx, "").unwrap_err();
        assert_eq!(err.code(), http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            err.message(),
            " \"\" is invalid: patch: Invalid value: \"{\\\"spec\\\":{\\\"bad\\\":1}}\": json: cannot unmarshal number"
        );
        let mut ignored = object;
        let quiet = RequestContext::new("ns");
        decode_fields(
            Some(&DropFoo),
            &mut ignored,
            FieldValidation::Ignore,
            &quiet,
            "",
        )
        .unwrap();
        assert!(quiet.warnings().is_empty());
    }
}
