//! CustomResourceDefinition validation with Go's paths and messages.
//!
//! Mirrors `pkg/apis/apiextensions/validation/validation.go`
//! (`ValidateCustomResourceDefinition`, `…Update`, `…StatusUpdate`) and the
//! helpers it calls (`webhook.ValidateWebhookURL`, `…Service`,
//! `apihelpers.GetAPIApprovalState`). Go validates the internal type, so
//! paths follow [`Internal`]: a schema shared by all versions is reported
//! under `spec.validation`, a per-version one under
//! `spec.versions[i].schema`. Schemas themselves are checked by
//! [`Structural::new`] and `validate_status_subresource_root`; CEL rules
//! are not compiled and CA bundles not parsed.

use std::collections::{BTreeSet, HashMap};

use kapi_core::field::{Error, ErrorList, Path};
use kapi_core::validation::{self, FIELD_IMMUTABLE_ERROR_MSG};
use serde_json::Value;

use super::{Internal, InternalVersion, array, bool_field, has_status, present, string, strings};
use crate::gofmt;
use crate::schema::Structural;

/// The annotation protected groups need (Go:
/// `v1beta1.KubeAPIApprovedAnnotation`).
pub(crate) const API_APPROVED_ANNOTATION: &str = "api-approved.kubernetes.io";

/// At most this many selectable fields per version (Go:
/// `MaxSelectableFields`).
const MAX_SELECTABLE_FIELDS: usize = 8;

const PRINTER_COLUMN_TYPES: &str = "boolean,date,integer,number,string";
const PRINTER_COLUMN_FORMATS: &str = "byte,date,date-time,double,float,int32,int64,password";

/// What the validation of a spec requires (Go: `validationOptions`).
#[derive(Debug, Clone)]
struct Options {
    require_recognized_conversion_review_version: bool,
    require_open_api_schema: bool,
    require_structural_schema: bool,
    /// Versions (`""` for the top level) whose selectable fields may stay
    /// above the limit.
    allow_too_many_selectable_fields: BTreeSet<String>,
}

impl Options {
    fn create() -> Self {
        Self {
            require_recognized_conversion_review_version: true,
            require_open_api_schema: true,
            require_structural_schema: true,
            allow_too_many_selectable_fields: BTreeSet::new(),
        }
    }
}

/// Validates a new CRD (Go: `ValidateCustomResourceDefinition`),
/// metadata included: the name must be `<plural>.<group>`.
pub(crate) fn validate_create(crd: &Value) -> ErrorList {
    let spec = &crd["spec"];
    let required_name = format!(
        "{}.{}",
        string(spec["names"].get("plural")),
        string(spec.get("group"))
    );
    let mut errs = validate_metadata(crd, &required_name);
    errs.extend(validate_spec(spec, &Options::create(), &Path::new("spec")));
    errs.extend(validate_common(crd, None));
    errs
}

/// Validates an update of a CRD beyond the metadata rules the store checks
/// (Go: `ValidateCustomResourceDefinitionUpdate` without
/// `ValidateObjectMetaUpdate`).
pub(crate) fn validate_update(new: &Value, old: &Value) -> ErrorList {
    let (spec, old_spec) = (&new["spec"], &old["spec"]);
    let old_internal = Internal::of(old_spec);
    let old_conversion = present(old_spec.get("conversion"));
    let opts = Options {
        require_recognized_conversion_review_version: old_conversion.is_none_or(|c| {
            let versions = strings(c["webhook"].get("conversionReviewVersions"));
            versions.is_empty() || versions.iter().any(|v| is_accepted_review_version(v))
        }),
        require_open_api_schema: all_versions_specify_schema(&old_internal),
        require_structural_schema: !old_internal
            .schemas()
            .iter()
            .any(|schema| Structural::new(schema, &Path::default()).is_err()),
        allow_too_many_selectable_fields: too_many_selectable_fields_allowed(spec, old_spec),
    };
    let path = Path::new("spec");
    let mut errs = validate_spec(spec, &opts, &path);
    if super::status::is_condition_true(old, super::status::ESTABLISHED) {
        errs.extend(immutable(
            &spec["scope"],
            &old_spec["scope"],
            &path.child("scope"),
        ));
        errs.extend(immutable(
            &spec["names"]["kind"],
            &old_spec["names"]["kind"],
            &path.child("names").child("kind"),
        ));
    }
    errs.extend(immutable(
        &spec["group"],
        &old_spec["group"],
        &path.child("group"),
    ));
    errs.extend(immutable(
        &spec["names"]["plural"],
        &old_spec["names"]["plural"],
        &path.child("names").child("plural"),
    ));
    errs.extend(validate_common(new, Some(old)));
    errs
}

/// Validates a `/status` update (Go:
/// `ValidateUpdateCustomResourceDefinitionStatus` without the metadata
/// part the store checks).
pub(crate) fn validate_status_update(new: &Value) -> ErrorList {
    validate_names(
        &new["status"]["acceptedNames"],
        &Path::new("status").child("acceptedNames"),
    )
}

/// `ValidateObjectMeta` with the CRD's name rule.
fn validate_metadata(crd: &Value, required_name: &str) -> ErrorList {
    let metadata = Path::new("metadata");
    let mut errs =
        validation::validate_object_meta(crd, false, validation::name_is_dns_subdomain, &metadata);
    let detail = r#"must be spec.names.plural+"."+spec.group"#;
    let meta = &crd["metadata"];
    let generate_name = string(meta.get("generateName"));
    let name = string(meta.get("name"));
    let generate_name_path = metadata.child("generateName").to_string();
    let name_path = metadata.child("name").to_string();
    if !generate_name.is_empty() && generate_name != required_name {
        let at = errs
            .iter()
            .rposition(|e| e.field == generate_name_path)
            .map_or(0, |i| i + 1);
        errs.insert(
            at,
            Error::invalid(&metadata.child("generateName"), generate_name, detail),
        );
    }
    if !name.is_empty() && name != required_name {
        let at = errs
            .iter()
            .rposition(|e| e.field == name_path || e.field == generate_name_path)
            .map_or(0, |i| i + 1);
        errs.insert(at, Error::invalid(&metadata.child("name"), name, detail));
    }
    errs
}

/// The checks create and update share after the spec: status names,
/// stored versions, API approval, `preserveUnknownFields`.
fn validate_common(new: &Value, old: Option<&Value>) -> ErrorList {
    let status = Path::new("status");
    let mut errs = validate_names(
        &new["status"]["acceptedNames"],
        &status.child("acceptedNames"),
    );
    errs.extend(validate_stored_versions(
        new["status"].get("storedVersions"),
        array(new["spec"].get("versions")),
        &status.child("storedVersions"),
    ));
    errs.extend(validate_api_approval(new, old));
    if !old.is_some_and(|old| bool_field(&old["spec"], "preserveUnknownFields"))
        && bool_field(&new["spec"], "preserveUnknownFields")
    {
        errs.push(Error::invalid(
            &Path::new("spec").child("preserveUnknownFields"),
            true,
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        ));
    }
    errs
}

/// Go: `validateCustomResourceDefinitionSpec`.
fn validate_spec(spec: &Value, opts: &Options, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let internal = Internal::of(spec);
    let mut opts = opts.clone();

    let group = string(spec.get("group"));
    if group.is_empty() {
        errs.push(Error::required(&path.child("group"), ""));
    } else {
        let problems = validation::is_dns1123_subdomain(group);
        if !problems.is_empty() {
            errs.push(Error::invalid(
                &path.child("group"),
                group,
                problems.join(","),
            ));
        } else if !group.contains('.') {
            errs.push(Error::invalid(
                &path.child("group"),
                group,
                "should be a domain with at least one dot",
            ));
        }
    }

    errs.extend(enum_string(
        &path.child("scope"),
        string(spec.get("scope")),
        &["Cluster", "Namespaced"],
        true,
    ));

    let preserve_unknown_fields = bool_field(spec, "preserveUnknownFields");
    if !preserve_unknown_fields {
        opts.require_structural_schema = true;
    }
    let top_schema = internal
        .validation
        .and_then(|v| present(v.get("openAPIV3Schema")));
    if top_schema.is_none() {
        for (i, version) in internal.versions.iter().enumerate() {
            let has_schema = version
                .schema
                .and_then(|s| present(s.get("openAPIV3Schema")))
                .is_some();
            let schema_path = path
                .child("versions")
                .index(i)
                .child("schema")
                .child("openAPIV3Schema");
            if opts.require_open_api_schema {
                if !has_schema {
                    errs.push(Error::required(&schema_path, ""));
                }
            } else if !preserve_unknown_fields && bool_field(version.raw, "served") && !has_schema {
                errs.push(Error::required(
                    &schema_path,
                    "because otherwise all fields are pruned",
                ));
            }
        }
    }
    if preserve_unknown_fields && internal.schemas().into_iter().any(has_default) {
        errs.push(Error::invalid(
            &path.child("preserveUnknownFields"),
            true,
            "must be false in order to use defaults in the schema",
        ));
    }

    let mut storage_count = 0;
    let mut seen = BTreeSet::new();
    let mut unique = true;
    for (i, version) in internal.versions.iter().enumerate() {
        let name = string(version.raw.get("name"));
        if bool_field(version.raw, "storage") {
            storage_count += 1;
        }
        if !seen.insert(name) {
            unique = false;
        }
        let version_path = path.child("versions").index(i);
        let problems = is_dns1035_label(name);
        if !problems.is_empty() {
            errs.push(Error::invalid(
                &version_path.child("name"),
                name,
                problems.join(","),
            ));
        }
        let status_enabled = has_status(internal.subresources_for(version));
        errs.extend(validate_version(
            version,
            &version_path,
            status_enabled,
            &opts,
        ));
    }
    let versions_value = spec.get("versions").cloned().unwrap_or(Value::Null);
    if !unique {
        errs.push(Error::invalid(
            &path.child("versions"),
            versions_value.clone(),
            "must contain unique version names",
        ));
    }
    if storage_count != 1 {
        errs.push(Error::invalid(
            &path.child("versions"),
            versions_value,
            "must have exactly one version marked as storage version",
        ));
    }
    // The internal `spec.version` is the first version's name.
    if let Some(first) = internal.versions.first() {
        let name = string(first.raw.get("name"));
        let problems = is_dns1035_label(name);
        if !name.is_empty() && !problems.is_empty() {
            errs.push(Error::invalid(
                &path.child("version"),
                name,
                problems.join(","),
            ));
        }
    }

    let names = &spec["names"];
    let names_path = path.child("names");
    for field in ["plural", "singular", "kind", "listKind"] {
        if string(names.get(field)).is_empty() {
            errs.push(Error::required(&names_path.child(field), ""));
        }
    }
    errs.extend(validate_names(names, &names_path));
    errs.extend(validate_validation(
        internal.validation,
        internal.any_status(),
        &opts,
        &path.child("validation"),
    ));
    errs.extend(validate_subresources(
        internal.subresources,
        &path.child("subresources"),
    ));
    for (i, column) in internal.columns.iter().enumerate() {
        errs.extend(validate_column(
            column,
            &path.child("additionalPrinterColumns").index(i),
        ));
    }
    if !internal.selectable_fields.is_empty() {
        match top_schema {
            None => errs.push(Error::invalid(
                &path.child("selectableFields"),
                "",
                "may only be set when validations.schema is included",
            )),
            Some(schema) => errs.extend(validate_selectable_fields(
                internal.selectable_fields,
                schema,
                &path.child("selectableFields"),
                opts.allow_too_many_selectable_fields.contains(""),
            )),
        }
    }

    let conversion = present(spec.get("conversion"));
    let strategy = conversion.map_or("", |c| string(c.get("strategy")));
    if conversion.is_some() && strategy != "None" && preserve_unknown_fields {
        errs.push(Error::invalid(
            &path.child("conversion").child("strategy"),
            strategy,
            "must be None if spec.preserveUnknownFields is true",
        ));
    }
    if let Some(conversion) = conversion {
        errs.extend(validate_conversion(
            conversion,
            opts.require_recognized_conversion_review_version,
            &path.child("conversion"),
        ));
    }
    errs
}

/// Go: `validateCustomResourceDefinitionVersion`.
fn validate_version(
    version: &InternalVersion<'_>,
    path: &Path,
    status_enabled: bool,
    opts: &Options,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let warning = version
        .raw
        .get("deprecationWarning")
        .and_then(Value::as_str);
    for problem in validate_deprecation_warning(bool_field(version.raw, "deprecated"), warning) {
        errs.push(Error::invalid(
            &path.child("deprecationWarning"),
            warning.map_or(Value::Null, Value::from),
            problem,
        ));
    }
    errs.extend(validate_validation(
        version.schema,
        status_enabled,
        opts,
        &path.child("schema"),
    ));
    errs.extend(validate_subresources(
        version.subresources,
        &path.child("subresources"),
    ));
    for (i, column) in version.columns.iter().enumerate() {
        errs.extend(validate_column(
            column,
            &path.child("additionalPrinterColumns").index(i),
        ));
    }
    if !version.selectable_fields.is_empty() {
        match version
            .schema
            .and_then(|s| present(s.get("openAPIV3Schema")))
        {
            None => errs.push(Error::invalid(
                &path.child("selectableFields"),
                "",
                "may only be set when `version.schema.openAPIV3Schema` is not included",
            )),
            Some(schema) => errs.extend(validate_selectable_fields(
                version.selectable_fields,
                schema,
                &path.child("selectableFields"),
                opts.allow_too_many_selectable_fields
                    .contains(string(version.raw.get("name"))),
            )),
        }
    }
    errs
}

/// Go: `validateDeprecationWarning`.
fn validate_deprecation_warning(deprecated: bool, warning: Option<&str>) -> Vec<String> {
    if !deprecated && warning.is_some() {
        return vec!["can only be set for deprecated versions".to_owned()];
    }
    let Some(warning) = warning else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    if warning.len() > 256 {
        problems.push("must be <= 256 characters long".to_owned());
    }
    if warning.is_empty() {
        problems.push("must not be an empty string".to_owned());
    }
    if let Some((i, _)) = warning.char_indices().find(|(_, c)| !is_print(*c)) {
        problems.push(format!(
            "must only contain printable UTF-8 characters; non-printable character found at index {i}"
        ));
    }
    problems
}

/// Go's `unicode.IsPrint`, approximately: graphic characters and the ASCII
/// space.
fn is_print(c: char) -> bool {
    c == ' '
        || !(c.is_control()
            || c.is_whitespace()
            || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}'))
}

/// Go: `validateCustomResourceDefinitionValidation` for one
/// `CustomResourceValidation` at `path` (`spec.validation` or
/// `spec.versions[i].schema`).
fn validate_validation(
    validation: Option<&Value>,
    status_enabled: bool,
    opts: &Options,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(schema) = validation.and_then(|v| present(v.get("openAPIV3Schema"))) else {
        return errs;
    };
    let schema_path = path.child("openAPIV3Schema");
    if status_enabled {
        errs.extend(crate::schema::validate_status_subresource_root(
            schema,
            &schema_path,
        ));
    }
    // `nullable` at the root, structural violations, defaults and the
    // per-node OpenAPI checks all come from the structural schema.
    if opts.require_structural_schema
        && let Err(structural) = Structural::new(schema, &schema_path)
    {
        errs.extend(structural);
    }
    errs
}

/// Go: `ValidateCustomResourceDefinitionSubresources`.
fn validate_subresources(subresources: Option<&Value>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(scale) = subresources.and_then(|s| present(s.get("scale"))) else {
        return errs;
    };
    for (field, prefix, under) in [
        ("specReplicasPath", ".spec.", ".spec"),
        ("statusReplicasPath", ".status.", ".status"),
    ] {
        let field_path = path.child(&format!("scale.{field}"));
        let value = string(scale.get(field));
        if value.is_empty() {
            errs.push(Error::required(&field_path, ""));
            continue;
        }
        let simple = validate_simple_json_path(value, &field_path);
        if !simple.is_empty() {
            errs.extend(simple);
        } else if !value.starts_with(prefix) {
            errs.push(Error::invalid(
                &field_path,
                value,
                format!("should be a json path under {under}"),
            ));
        }
    }
    let selector = string(scale.get("labelSelectorPath"));
    if !selector.is_empty() {
        let field_path = path.child("scale.labelSelectorPath");
        let simple = validate_simple_json_path(selector, &field_path);
        if !simple.is_empty() {
            errs.extend(simple);
        } else if !selector.starts_with(".spec.") && !selector.starts_with(".status.") {
            errs.push(Error::invalid(
                &field_path,
                selector,
                "should be a json path under either .spec or .status",
            ));
        }
    }
    errs
}

/// Go: `validateSimpleJSONPath`.
fn validate_simple_json_path(value: &str, path: &Path) -> ErrorList {
    if value.is_empty() {
        vec![Error::invalid(path, value, "must not be empty")]
    } else if !value.starts_with('.') {
        vec![Error::invalid(
            path,
            value,
            "must be a simple json path starting with .",
        )]
    } else {
        ErrorList::new()
    }
}

/// Go: `ValidateCustomResourceColumnDefinition`.
fn validate_column(column: &Value, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if string(column.get("name")).is_empty() {
        errs.push(Error::required(&path.child("name"), ""));
    }
    let type_ = string(column.get("type"));
    let types_detail = format!("must be one of {PRINTER_COLUMN_TYPES}");
    if type_.is_empty() {
        errs.push(Error::required(&path.child("type"), types_detail));
    } else if !PRINTER_COLUMN_TYPES.split(',').any(|t| t == type_) {
        errs.push(Error::invalid(&path.child("type"), type_, types_detail));
    }
    let format = string(column.get("format"));
    if !format.is_empty() && !PRINTER_COLUMN_FORMATS.split(',').any(|f| f == format) {
        errs.push(Error::invalid(
            &path.child("format"),
            format,
            format!("must be one of {PRINTER_COLUMN_FORMATS}"),
        ));
    }
    let json_path = string(column.get("jsonPath"));
    if json_path.is_empty() {
        errs.push(Error::required(&path.child("JSONPath"), ""));
    } else {
        errs.extend(validate_simple_json_path(
            json_path,
            &path.child("JSONPath"),
        ));
    }
    errs
}

/// Go: `ValidateCustomResourceDefinitionNames`.
fn validate_names(names: &Value, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for field in ["plural", "singular"] {
        let value = string(names.get(field));
        let problems = is_dns1035_label(value);
        if !value.is_empty() && !problems.is_empty() {
            errs.push(Error::invalid(
                &path.child(field),
                value,
                problems.join(","),
            ));
        }
    }
    for field in ["kind", "listKind"] {
        let value = string(names.get(field));
        let problems = is_dns1035_label(&value.to_lowercase());
        if !value.is_empty() && !problems.is_empty() {
            errs.push(Error::invalid(
                &path.child(field),
                value,
                format!(
                    "may have mixed case, but should otherwise match: {}",
                    problems.join(",")
                ),
            ));
        }
    }
    for (i, short_name) in strings(names.get("shortNames")).iter().enumerate() {
        let problems = is_dns1035_label(short_name);
        if !problems.is_empty() {
            errs.push(Error::invalid(
                &path.child("shortNames").index(i),
                short_name.as_str(),
                problems.join(","),
            ));
        }
    }
    let (kind, list_kind) = (string(names.get("kind")), string(names.get("listKind")));
    if !kind.is_empty() && kind == list_kind {
        errs.push(Error::invalid(
            &path.child("listKind"),
            list_kind,
            "kind and listKind may not be the same",
        ));
    }
    for (i, category) in strings(names.get("categories")).iter().enumerate() {
        let problems = is_dns1035_label(category);
        if !problems.is_empty() {
            errs.push(Error::invalid(
                &path.child("categories").index(i),
                category.as_str(),
                problems.join(","),
            ));
        }
    }
    errs
}

/// Go: `ValidateCustomResourceDefinitionStoredVersions`.
fn validate_stored_versions(stored: Option<&Value>, versions: &[Value], path: &Path) -> ErrorList {
    let stored_list: Option<Vec<String>> = present(stored).map(|s| strings(Some(s)));
    let rendered = gofmt::sharp_strings(stored_list.as_deref());
    let stored_list = stored_list.unwrap_or_default();
    if stored_list.is_empty() {
        return vec![invalid_raw(
            path,
            &rendered,
            "must have at least one stored version",
        )];
    }
    let mut errs = ErrorList::new();
    let mut remaining: HashMap<&str, usize> = stored_list
        .iter()
        .enumerate()
        .map(|(i, v)| (v.as_str(), i))
        .collect();
    for version in versions {
        let name = string(version.get("name"));
        let found = remaining.remove(name).is_some();
        if bool_field(version, "storage") && !found {
            errs.push(invalid_raw(
                path,
                &rendered,
                &format!("must have the storage version {name}"),
            ));
        }
    }
    let mut leftover: Vec<(&str, usize)> = remaining.into_iter().collect();
    leftover.sort_by_key(|(_, i)| *i);
    for (version, i) in leftover {
        errs.push(Error::invalid(
            &path.index(i),
            version,
            format!(
                "missing from spec.versions; {version} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {version} and removes {version} from status.storedVersions"
            ),
        ));
    }
    errs
}

/// An `Invalid value` whose value Go prints with `%#v` (here pre-rendered).
fn invalid_raw(path: &Path, rendered: &str, detail: &str) -> Error {
    let mut error = Error::invalid(path, Value::Null, "");
    error.bad_value = None;
    error.detail = format!("{rendered}: {detail}");
    error
}

/// Go: `validateAPIApproval`.
fn validate_api_approval(new: &Value, old: Option<&Value>) -> ErrorList {
    let group = string(new["spec"].get("group"));
    let protected = group == "k8s.io"
        || group.ends_with(".k8s.io")
        || group == "kubernetes.io"
        || group.ends_with(".kubernetes.io");
    if !protected {
        return ErrorList::new();
    }
    let annotation = |crd: &Value| {
        string(crd["metadata"]["annotations"].get(API_APPROVED_ANNOTATION)).to_owned()
    };
    let new_value = annotation(new);
    let (new_state, reason) = approval_state(&new_value);
    if let Some(old) = old
        && approval_state(&annotation(old)).0 == new_state
    {
        return ErrorList::new();
    }
    let path = Path::new("metadata")
        .child("annotations")
        .key(API_APPROVED_ANNOTATION);
    match new_state {
        Approval::Approved | Approval::Bypassed => ErrorList::new(),
        Approval::Missing => vec![Error::required(&path, reason)],
        Approval::Invalid => vec![Error::invalid(&path, new_value, reason)],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Approval {
    Invalid,
    Approved,
    Bypassed,
    Missing,
}

/// Go: `apihelpers.GetAPIApprovalState`.
fn approval_state(annotation: &str) -> (Approval, String) {
    let quoted = kapi_core::go::quote(API_APPROVED_ANNOTATION);
    if annotation.is_empty() {
        return (
            Approval::Missing,
            format!(
                "protected groups must have approval annotation {quoted}, see https://github.com/kubernetes/enhancements/pull/1111"
            ),
        );
    }
    if annotation.starts_with("unapproved") {
        return (
            Approval::Bypassed,
            format!("not approved: {}", kapi_core::go::quote(annotation)),
        );
    }
    let url = parse_url(annotation);
    if !url.scheme.is_empty() && !url.host.is_empty() && annotation.contains("://") {
        return (Approval::Approved, format!("approved in {annotation}"));
    }
    (
        Approval::Invalid,
        format!(
            "protected groups must have approval annotation {quoted} with either a URL or a reason starting with \"unapproved\", see https://github.com/kubernetes/enhancements/pull/1111"
        ),
    )
}

/// Go: `validateCustomResourceConversion` over the internal view
/// (`webhookClientConfig` and `conversionReviewVersions` at the top of
/// `spec.conversion`).
fn validate_conversion(conversion: &Value, require_recognized: bool, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let strategy = string(conversion.get("strategy"));
    errs.extend(enum_string(
        &path.child("strategy"),
        strategy,
        &["None", "Webhook"],
        true,
    ));
    let webhook = present(conversion.get("webhook"));
    let client_config = webhook.and_then(|w| present(w.get("clientConfig")));
    let review_versions = webhook.map(|w| strings(w.get("conversionReviewVersions")));
    let client_path = path.child("webhookClientConfig");
    if strategy == "Webhook" {
        match client_config {
            None => errs.push(Error::required(
                &client_path,
                "required when strategy is set to Webhook",
            )),
            Some(config) => {
                let url = present(config.get("url"));
                let service = present(config.get("service"));
                match (url, service) {
                    (Some(_), Some(_)) | (None, None) => errs.push(Error::required(
                        &client_path,
                        "exactly one of url or service is required",
                    )),
                    (Some(url), None) => errs.extend(validate_webhook_url(
                        &client_path.child("url"),
                        url.as_str().unwrap_or_default(),
                    )),
                    (None, Some(service)) => {
                        errs.extend(validate_webhook_service(
                            &client_path.child("service"),
                            service,
                        ));
                    }
                }
            }
        }
        errs.extend(validate_review_versions(
            &review_versions.unwrap_or_default(),
            require_recognized,
            &path.child("conversionReviewVersions"),
        ));
    } else {
        if client_config.is_some() {
            errs.push(Error::forbidden(
                &client_path,
                "should not be set when strategy is not set to Webhook",
            ));
        }
        if review_versions.is_some_and(|v| !v.is_empty()) {
            errs.push(Error::forbidden(
                &path.child("conversionReviewVersions"),
                "should not be set when strategy is not set to Webhook",
            ));
        }
    }
    errs
}

fn is_accepted_review_version(version: &str) -> bool {
    matches!(version, "v1" | "v1beta1")
}

/// Go: `validateConversionReviewVersions`.
fn validate_review_versions(
    versions: &[String],
    require_recognized: bool,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    if versions.is_empty() {
        errs.push(Error::required(path, ""));
        return errs;
    }
    let mut seen = BTreeSet::new();
    let mut accepted = false;
    for (i, version) in versions.iter().enumerate() {
        if !seen.insert(version.as_str()) {
            errs.push(Error::invalid(
                &path.index(i),
                version.as_str(),
                "duplicate version",
            ));
            continue;
        }
        for problem in is_dns1035_label(version) {
            errs.push(Error::invalid(&path.index(i), version.as_str(), problem));
        }
        accepted |= is_accepted_review_version(version);
    }
    if require_recognized && !accepted {
        errs.push(invalid_raw(
            path,
            &gofmt::sharp_strings(Some(versions)),
            "must include at least one of v1, v1beta1",
        ));
    }
    errs
}

/// The parts of a URL that Go's webhook checks look at.
#[derive(Debug, Default)]
struct Url<'a> {
    scheme: String,
    user: Option<&'a str>,
    host: &'a str,
    query: &'a str,
    fragment: &'a str,
}

/// A small `net/url.Parse`: `scheme://[user@]host/path?query#fragment`.
fn parse_url(text: &str) -> Url<'_> {
    let mut url = Url::default();
    let (rest, fragment) = text.split_once('#').unwrap_or((text, ""));
    url.fragment = fragment;
    let mut rest = rest;
    if let Some((scheme, tail)) = rest.split_once(':')
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        url.scheme = scheme.to_ascii_lowercase();
        rest = tail;
    }
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    url.query = query;
    if let Some(authority) = rest.strip_prefix("//") {
        let authority = authority.split('/').next().unwrap_or_default();
        match authority.rsplit_once('@') {
            Some((user, host)) => {
                url.user = Some(user);
                url.host = host;
            }
            None => url.host = authority,
        }
    }
    url
}

/// Go: `webhook.ValidateWebhookURL` with `forceHttps`.
fn validate_webhook_url(path: &Path, text: &str) -> ErrorList {
    const FORM: &str = "; desired format: https://host[/path]";
    let mut errs = ErrorList::new();
    if text.chars().any(|c| c.is_ascii_control()) {
        errs.push(Error::required(
            path,
            format!(
                "url must be a valid URL: parse {}: net/url: invalid control character in URL{FORM}",
                kapi_core::go::quote(text)
            ),
        ));
        return errs;
    }
    let url = parse_url(text);
    if url.scheme != "https" {
        errs.push(Error::invalid(
            path,
            url.scheme.as_str(),
            format!("'https' is the only allowed URL scheme{FORM}"),
        ));
    }
    if url.host.is_empty() {
        errs.push(Error::invalid(
            path,
            url.host,
            format!("host must be specified{FORM}"),
        ));
    }
    if let Some(user) = url.user {
        errs.push(Error::invalid(
            path,
            user,
            "user information is not permitted in the URL",
        ));
    }
    if !url.fragment.is_empty() {
        errs.push(Error::invalid(
            path,
            url.fragment,
            "fragments are not permitted in the URL",
        ));
    }
    if !url.query.is_empty() {
        errs.push(Error::invalid(
            path,
            url.query,
            "query parameters are not permitted in the URL",
        ));
    }
    errs
}

/// Go: `webhook.ValidateWebhookService`.
fn validate_webhook_service(path: &Path, service: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    if string(service.get("name")).is_empty() {
        errs.push(Error::required(&path.child("name"), ""));
    }
    if string(service.get("namespace")).is_empty() {
        errs.push(Error::required(&path.child("namespace"), ""));
    }
    let port = service.get("port").and_then(Value::as_i64).unwrap_or(443);
    if !(1..=65535).contains(&port) {
        errs.push(Error::invalid(
            &path.child("port"),
            port,
            "port is not valid: must be between 1 and 65535, inclusive",
        ));
    }
    let Some(url_path) = service.get("path").and_then(Value::as_str) else {
        return errs;
    };
    if url_path.is_empty() || url_path == "/" {
        return errs;
    }
    if url_path == "//" {
        errs.push(Error::invalid(
            &path.child("path"),
            url_path,
            "segment[0] may not be empty",
        ));
        return errs;
    }
    if !url_path.starts_with('/') {
        errs.push(Error::invalid(
            &path.child("path"),
            url_path,
            "must start with a '/'",
        ));
    }
    let mut check = url_path.get(1..).unwrap_or_default();
    check = check.strip_suffix('/').unwrap_or(check);
    for (i, step) in check.split('/').enumerate() {
        if step.is_empty() {
            errs.push(Error::invalid(
                &path.child("path"),
                url_path,
                format!("segment[{i}] may not be empty"),
            ));
            continue;
        }
        for problem in validation::is_dns1123_subdomain(step) {
            errs.push(Error::invalid(
                &path.child("path"),
                url_path,
                format!("segment[{i}]: {problem}"),
            ));
        }
    }
    errs
}

/// Go: `ValidateCustomResourceSelectableFields` (the JSONPath walk of
/// `cel.ValidFieldPath` without array notation).
fn validate_selectable_fields(
    fields: &[Value],
    schema: &Value,
    path: &Path,
    allow_too_many: bool,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut unique = BTreeSet::new();
    for (i, field) in fields.iter().enumerate() {
        let field_path = path.index(i).child("jsonPath");
        let json_path = string(field.get("jsonPath"));
        if json_path.is_empty() {
            errs.push(Error::required(&field_path, ""));
            continue;
        }
        let (segments, found) = match valid_field_path(json_path, schema) {
            Ok(found) => found,
            Err(problem) => {
                errs.push(Error::invalid(
                    &field_path,
                    json_path,
                    format!("is an invalid path: {problem}"),
                ));
                continue;
            }
        };
        if segments.first().map(String::as_str) == Some("metadata") {
            errs.push(Error::invalid(
                &field_path,
                json_path,
                "must not point to fields in metadata",
            ));
        }
        if !matches!(string(found.get("type")), "string" | "boolean" | "integer") {
            errs.push(Error::invalid(
                &field_path,
                json_path,
                "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
            ));
        }
        if !unique.insert(segments.join(".")) {
            errs.push(Error::duplicate(&field_path, json_path));
        }
    }
    if unique.len() > MAX_SELECTABLE_FIELDS && !allow_too_many {
        errs.push(Error::too_many(
            path,
            i64::try_from(unique.len()).unwrap_or(i64::MAX),
            i64::try_from(MAX_SELECTABLE_FIELDS).unwrap_or(i64::MAX),
        ));
    }
    errs
}

/// Walks `.a.b` through a schema's properties (or additionalProperties);
/// the segments and the schema found.
fn valid_field_path<'a>(
    json_path: &str,
    schema: &'a Value,
) -> Result<(Vec<String>, &'a Value), String> {
    let mut segments = Vec::new();
    let mut current = schema;
    let mut tokens = tokenize(json_path).into_iter();
    while let Some(token) = tokens.next() {
        match token.as_str() {
            "[" => return Err("array notation is not allowed".to_owned()),
            "." => {
                let Some(name) = tokens.next() else {
                    return Err("unexpected end of JSON path".to_owned());
                };
                if let Some(properties) = present(current.get("properties")) {
                    current = properties
                        .get(&name)
                        .ok_or_else(|| "does not refer to a valid field".to_owned())?;
                } else if let Some(additional) = present(current.get("additionalProperties")) {
                    current = additional;
                } else {
                    return Err("does not refer to a valid field".to_owned());
                }
                segments.push(name);
            }
            other => return Err(format!("expected [ or . but got: {other}")),
        }
    }
    Ok((segments, current))
}

/// Splits a field path into `.`, `[`, `]` and the names between them.
fn tokenize(json_path: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    for c in json_path.chars() {
        if matches!(c, '.' | '[' | ']') {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
            tokens.push(c.to_string());
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Go: `findTooManySelectableFieldsAllowed`.
fn too_many_selectable_fields_allowed(spec: &Value, old_spec: &Value) -> BTreeSet<String> {
    let mut allowed = BTreeSet::new();
    let (new, old) = (Internal::of(spec), Internal::of(old_spec));
    if old.selectable_fields.len() > MAX_SELECTABLE_FIELDS
        && new.selectable_fields == old.selectable_fields
    {
        allowed.insert(String::new());
    }
    for version in &new.versions {
        let name = string(version.raw.get("name"));
        if let Some(old_version) = old
            .versions
            .iter()
            .find(|v| string(v.raw.get("name")) == name)
            && old_version.selectable_fields.len() > MAX_SELECTABLE_FIELDS
            && old_version.selectable_fields == version.selectable_fields
        {
            allowed.insert(name.to_owned());
        }
    }
    allowed
}

/// Go: `allVersionsSpecifyOpenAPISchema`.
fn all_versions_specify_schema(internal: &Internal<'_>) -> bool {
    internal
        .validation
        .and_then(|v| present(v.get("openAPIV3Schema")))
        .is_some()
        || internal.versions.iter().all(|v| {
            v.schema
                .and_then(|s| present(s.get("openAPIV3Schema")))
                .is_some()
        })
}

/// Whether a schema sets `default` anywhere.
fn has_default(schema: &Value) -> bool {
    super::strategy::schema_has(schema, &mut |s| present(s.get("default")).is_some())
}

/// Go: `validateEnumStrings`.
fn enum_string(path: &Path, value: &str, accepted: &[&str], required: bool) -> ErrorList {
    if value.is_empty() {
        return if required {
            vec![Error::required(path, "")]
        } else {
            ErrorList::new()
        };
    }
    if accepted.contains(&value) {
        ErrorList::new()
    } else {
        vec![Error::not_supported(path, value, accepted)]
    }
}

/// Go: `ValidateImmutableField`.
fn immutable(new: &Value, old: &Value, path: &Path) -> ErrorList {
    let normalize = |v: &Value| {
        if v.is_null() {
            Value::from("")
        } else {
            v.clone()
        }
    };
    if normalize(new) == normalize(old) {
        ErrorList::new()
    } else {
        vec![Error::invalid(
            path,
            normalize(new),
            FIELD_IMMUTABLE_ERROR_MSG,
        )]
    }
}

/// Go: `IsDNS1035Label`.
pub(crate) fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if value.len() > 63 {
        problems.push("must be no more than 63 characters".to_owned());
    }
    let bytes = value.as_bytes();
    let valid = !bytes.is_empty()
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[bytes.len() - 1] != b'-';
    if !valid {
        // Go's RegexError leaves the double space before "or".
        problems.push("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_owned());
    }
    problems
}

#[cfg(test)]
mod tests;
