//! Query parameters and option bodies: list and watch options with Go's
//! `ValidateListOptions`, `dryRun`, and `DeleteOptions` from a body or the
//! query (Go: `metainternalversion` parameter decoding and validation).

use http::StatusCode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{StatusCause, StatusDetails};
use kapi_core::field::{Error as FieldError, ErrorList, Path};
use kapi_core::selector::{FieldSelector, LabelSelector};
use kapi_core::{RequestInfo, StatusError, StatusReason};
use kapi_storage::registry::{DeleteOptions, Store};
use kapi_storage::{ListOptions, Preconditions, ResourceVersionMatch};
use serde_json::Value;

use crate::info::ResourceInfo;

/// The decoded query string.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string as Go's `url.ParseQuery`.
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        Self(raw.map(kapi_core::go::parse_query).unwrap_or_default())
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub(crate) fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A boolean parameter as Go converts one: absent, `0` or `false`
    /// (any case) is false, anything else true.
    pub(crate) fn flag(&self, key: &str) -> Option<bool> {
        self.get(key)
            .map(|v| !(v == "0" || v.eq_ignore_ascii_case("false")))
    }

    /// An integer parameter (400 with `strconv.ParseInt`'s message).
    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, StatusError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(value) => value.parse().map(Some).map_err(|_| {
                StatusError::bad_request(format!(
                    "strconv.ParseInt: parsing {}: invalid syntax",
                    kapi_core::go::quote(value)
                ))
            }),
        }
    }
}

/// A list or watch request's options, checked.
#[derive(Debug)]
pub(crate) struct ListRequest {
    pub(crate) options: ListOptions,
    pub(crate) allow_watch_bookmarks: bool,
    pub(crate) timeout_seconds: Option<i64>,
}

/// Reads and validates list or watch options (Go: `get.go`'s
/// `parseListOptions` plus `ValidateListOptions`).
pub(crate) fn list_request(
    info: &ResourceInfo,
    store: &Store,
    request_info: &RequestInfo,
    query: &Query,
    watch: bool,
) -> Result<ListRequest, StatusError> {
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or_default())
        .map_err(|err| StatusError::bad_request(err.to_string()))?;
    let mut fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or_default())
        .map_err(|err| StatusError::bad_request(err.to_string()))?;
    for requirement in fields.requirements() {
        if !info.selectable_fields.contains(&requirement.field) {
            return Err(StatusError::bad_request(format!(
                "field label not supported: {}",
                requirement.field
            )));
        }
    }
    // A name in the URL (the deprecated `/watch/…/name` paths) selects it.
    if let Some(name) = request_info.parts.get(1).filter(|n| !n.is_empty()) {
        if fields.is_everything() {
            fields = FieldSelector::equals([("metadata.name", name.as_str())]);
        } else if fields.requires_exact_match("metadata.name") != Some(name.as_str()) {
            return Err(StatusError::bad_request(
                "fieldSelector metadata.name doesn't match requested name",
            ));
        }
    }
    let resource_version = query.get("resourceVersion").unwrap_or_default().to_owned();
    let matching = query.get("resourceVersionMatch").unwrap_or_default();
    let continue_token = query.get("continue").unwrap_or_default().to_owned();
    let send_initial_events = query.flag("sendInitialEvents");
    let errs = validate_list_options(
        watch,
        &resource_version,
        matching,
        &continue_token,
        send_initial_events,
    );
    if !errs.is_empty() {
        return Err(StatusError::invalid(
            "meta.k8s.io",
            "ListOptions",
            "",
            &errs,
        ));
    }
    let mut predicate = store.predicate(labels, fields);
    predicate.limit = query.int("limit")?.unwrap_or_default();
    predicate.continue_token = continue_token;
    let mut options = ListOptions::default();
    options.resource_version = resource_version;
    options.resource_version_match = match matching {
        "Exact" => Some(ResourceVersionMatch::Exact),
        "NotOlderThan" => Some(ResourceVersionMatch::NotOlderThan),
        _ => None,
    };
    options.predicate = predicate;
    let allow_watch_bookmarks = query.flag("allowWatchBookmarks").unwrap_or(false);
    options.progress_notify = allow_watch_bookmarks;
    options.send_initial_events = send_initial_events;
    Ok(ListRequest {
        options,
        allow_watch_bookmarks,
        timeout_seconds: query.int("timeoutSeconds")?,
    })
}

/// Go: `ValidateListOptions` (and `validateWatchOptions`), with WatchList
/// enabled.
fn validate_list_options(
    watch: bool,
    resource_version: &str,
    matching: &str,
    continue_token: &str,
    send_initial_events: Option<bool>,
) -> ErrorList {
    let path = Path::new("resourceVersionMatch");
    let mut errs = ErrorList::new();
    if watch {
        if send_initial_events.is_some() && matching != "NotOlderThan" {
            errs.push(FieldError::forbidden(
                &path,
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !matching.is_empty() {
            if send_initial_events.is_none() {
                errs.push(FieldError::forbidden(
                    &path,
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            if matching != "NotOlderThan" {
                errs.push(FieldError::not_supported(
                    &path,
                    matching,
                    &["NotOlderThan"],
                ));
            }
            if !continue_token.is_empty() {
                errs.push(FieldError::forbidden(
                    &path,
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
        }
        return errs;
    }
    if !matching.is_empty() {
        if resource_version.is_empty() {
            errs.push(FieldError::forbidden(
                &path,
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if !continue_token.is_empty() {
            errs.push(FieldError::forbidden(
                &path,
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        if matching != "Exact" && matching != "NotOlderThan" {
            errs.push(FieldError::not_supported(
                &path,
                matching,
                &["Exact", "NotOlderThan", ""],
            ));
        }
        if matching == "Exact" && resource_version == "0" {
            errs.push(FieldError::forbidden(
                &path,
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
    }
    if send_initial_events.is_some() {
        errs.push(FieldError::forbidden(
            &Path::new("sendInitialEvents"),
            "sendInitialEvents is forbidden for list",
        ));
    }
    errs
}

/// `dryRun` values: none, or only `All` (Go: `ValidateDryRun`, a 422 on
/// the `<options_kind>.meta.k8s.io` options).
pub(crate) fn dry_run(values: &[&str], options_kind: &str) -> Result<bool, StatusError> {
    if values.iter().all(|v| *v == "All") {
        return Ok(!values.is_empty());
    }
    // Go prints the rejected value as a `[]string` literal (`%#v`).
    let rendered: Vec<String> = values.iter().map(|v| kapi_core::go::quote(v)).collect();
    let body = format!(
        "Unsupported value: []string{{{}}}: supported values: \"All\"",
        rendered.join(", ")
    );
    let details = StatusDetails {
        group: Some("meta.k8s.io".to_owned()),
        kind: Some(options_kind.to_owned()),
        name: Some(String::new()),
        causes: Some(vec![StatusCause {
            field: Some("dryRun".to_owned()),
            message: Some(body.clone()),
            reason: Some("FieldValueNotSupported".to_owned()),
        }]),
        ..StatusDetails::default()
    };
    Err(StatusError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        StatusReason::Invalid,
        format!("{options_kind}.meta.k8s.io \"\" is invalid: dryRun: {body}"),
    )
    .with_details(details))
}

/// A delete's options from its body (any served media type) or, without a
/// body, from the query (Go: `delete.go`).
pub(crate) fn delete_options(
    body: Option<&Value>,
    query: &Query,
) -> Result<(DeleteOptions, bool), StatusError> {
    let mut options = DeleteOptions::default();
    let dry_run_values: Vec<String>;
    match body {
        Some(body) => {
            let bad = |field: &str| {
                StatusError::bad_request(format!("DeleteOptions.{field} has the wrong type"))
            };
            let kind = body["kind"].as_str().unwrap_or("DeleteOptions");
            if kind != "DeleteOptions" {
                return Err(StatusError::bad_request(
                    "decoded object cannot be converted to DeleteOptions",
                ));
            }
            options.grace_period_seconds = match &body["gracePeriodSeconds"] {
                Value::Null => None,
                value => Some(value.as_i64().ok_or_else(|| bad("gracePeriodSeconds"))?),
            };
            options.propagation_policy = match &body["propagationPolicy"] {
                Value::Null => None,
                value => Some(
                    value
                        .as_str()
                        .ok_or_else(|| bad("propagationPolicy"))?
                        .to_owned(),
                ),
            };
            options.orphan_dependents = match &body["orphanDependents"] {
                Value::Null => None,
                value => Some(value.as_bool().ok_or_else(|| bad("orphanDependents"))?),
            };
            let preconditions = &body["preconditions"];
            let text = |value: &Value, field: &str| match value {
                Value::Null => Ok(None),
                value => value
                    .as_str()
                    .map(|s| Some(s.to_owned()))
                    .ok_or_else(|| bad(field)),
            };
            options.preconditions = Preconditions {
                uid: text(&preconditions["uid"], "preconditions.uid")?,
                resource_version: text(
                    &preconditions["resourceVersion"],
                    "preconditions.resourceVersion",
                )?,
            };
            dry_run_values = match &body["dryRun"] {
                Value::Null => Vec::new(),
                Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| bad("dryRun")))
                    .collect::<Result<_, _>>()?,
                _ => return Err(bad("dryRun")),
            };
        }
        None => {
            options.grace_period_seconds = query.int("gracePeriodSeconds")?;
            options.propagation_policy = query.get("propagationPolicy").map(str::to_owned);
            options.orphan_dependents = query.flag("orphanDependents");
            dry_run_values = query.all("dryRun").into_iter().map(str::to_owned).collect();
        }
    }
    let orphan_explicit_false = options.orphan_dependents == Some(false);
    let values: Vec<&str> = dry_run_values.iter().map(String::as_str).collect();
    options.dry_run = dry_run(&values, "DeleteOptions")?;
    Ok((options, orphan_explicit_false))
}
