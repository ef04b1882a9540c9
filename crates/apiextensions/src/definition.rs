//! Reading `apiextensions.k8s.io/v1` CustomResourceDefinitions: what the
//! server needs to serve each version ([`CrdVersion`], [`crd_versions`]),
//! the printer columns and scale paths, v1 defaulting, the kube-aware
//! version order of discovery, and the internal view Go validates (fields
//! shared by every version hoisted to `spec.validation`,
//! `spec.subresources`, `spec.additionalPrinterColumns`).
//!
//! Mirrors `pkg/apis/apiextensions/v1` (`defaults.go`, `conversion.go`),
//! `pkg/apiserver/customresource_handler.go` (`getOrCreateServingInfoFor`,
//! `defaultDeprecationWarning`), `pkg/apiserver/helpers.go` and
//! `k8s.io/apimachinery/pkg/version` (`CompareKubeAwareVersionStrings`).

pub(crate) mod status;
pub(crate) mod strategy;
pub(crate) mod validation;

use std::cmp::Ordering;

use kapi_core::StatusError;
use serde_json::{Map, Value, json};
use tracing::warn;

/// The API group of CustomResourceDefinitions.
pub const GROUP: &str = "apiextensions.k8s.io";

/// One version of a CustomResourceDefinition, as the server serves it:
/// the names are the CRD's `status.acceptedNames` (Go serves those, not
/// `spec.names`), the rest is the version's own `spec.versions[]` entry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CrdVersion {
    /// `spec.group`.
    pub group: String,
    /// The version's name (`v1`).
    pub version: String,
    /// The resource (`crontabs`).
    pub plural: String,
    /// The singular name (`crontab`).
    pub singular: String,
    /// The kind (`CronTab`).
    pub kind: String,
    /// The list kind (`CronTabList`).
    pub list_kind: String,
    /// Short names for kubectl (`ct`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// `spec.scope == Namespaced`.
    pub namespaced: bool,
    /// Whether the version is served.
    pub served: bool,
    /// Whether this is the storage version.
    pub storage: bool,
    /// Whether the version is deprecated.
    pub deprecated: bool,
    /// The warnings every request to this version gets: the
    /// `deprecationWarning`, or Go's default text for a deprecated version
    /// (`stable.example.com/v1beta1 CronTab is deprecated; use
    /// stable.example.com/v1 CronTab`).
    pub warnings: Vec<String>,
    /// Whether the `/status` subresource is enabled.
    pub has_status: bool,
    /// The `/scale` subresource, when enabled.
    pub scale: Option<ScaleSpec>,
    /// The `additionalPrinterColumns` as declared (empty: Go's default
    /// `Age` column applies, see [`crate::CustomResourceTable`]).
    pub printer_columns: Vec<PrinterColumn>,
    /// The version's `schema.openAPIV3Schema`.
    pub schema: Option<Value>,
    /// `spec.preserveUnknownFields` (legacy; no pruning when true).
    pub preserve_unknown_fields: bool,
    /// The `selectableFields` JSONPaths (`.spec.color`).
    pub selectable_fields: Vec<String>,
    /// `spec.conversion.strategy` (`None` or `Webhook`). kapi calls no
    /// conversion webhooks.
    pub conversion_strategy: String,
}

impl CrdVersion {
    /// `group/version`, or `version` for the legacy core group.
    pub fn group_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// The `/scale` subresource of a version (Go:
/// `CustomResourceSubresourceScale`): where replicas and the selector live
/// in the custom resource.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScaleSpec {
    /// `specReplicasPath` (`.spec.replicas`).
    pub spec_replicas_path: String,
    /// `statusReplicasPath` (`.status.replicas`).
    pub status_replicas_path: String,
    /// `labelSelectorPath` (`.status.labelSelector`), if any.
    pub label_selector_path: Option<String>,
}

impl ScaleSpec {
    /// A scale subresource with these paths.
    pub fn new(
        spec_replicas_path: impl Into<String>,
        status_replicas_path: impl Into<String>,
        label_selector_path: Option<String>,
    ) -> Self {
        Self {
            spec_replicas_path: spec_replicas_path.into(),
            status_replicas_path: status_replicas_path.into(),
            label_selector_path,
        }
    }

    /// Reads a version's `subresources.scale` object.
    pub fn from_json(scale: &Value) -> Option<Self> {
        let scale = scale.as_object()?;
        Some(Self {
            spec_replicas_path: string(scale.get("specReplicasPath")).to_owned(),
            status_replicas_path: string(scale.get("statusReplicasPath")).to_owned(),
            label_selector_path: scale
                .get("labelSelectorPath")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

/// One `additionalPrinterColumns` entry (Go:
/// `CustomResourceColumnDefinition`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrinterColumn {
    /// The header.
    pub name: String,
    /// `integer`, `number`, `string`, `boolean` or `date`.
    pub type_: String,
    /// The OpenAPI format, or empty.
    pub format: String,
    /// The description, or empty.
    pub description: String,
    /// 0 for the default view, more for `-o wide`.
    pub priority: i32,
    /// The JSONPath (`.spec.replicas`).
    pub json_path: String,
}

impl PrinterColumn {
    /// A priority-0 column without format or description.
    pub fn new(name: &str, type_: &str, json_path: &str) -> Self {
        Self {
            name: name.to_owned(),
            type_: type_.to_owned(),
            format: String::new(),
            description: String::new(),
            priority: 0,
            json_path: json_path.to_owned(),
        }
    }

    /// Reads one `additionalPrinterColumns` entry.
    pub fn from_json(column: &Value) -> Self {
        Self {
            name: string(column.get("name")).to_owned(),
            type_: string(column.get("type")).to_owned(),
            format: string(column.get("format")).to_owned(),
            description: string(column.get("description")).to_owned(),
            priority: column
                .get("priority")
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok())
                .unwrap_or(0),
            json_path: string(column.get("jsonPath")).to_owned(),
        }
    }
}

/// Every version of `crd` in `spec.versions` order, named by its
/// `status.acceptedNames`.
///
/// # Errors
/// Go's 500s when the accepted names are incomplete (the naming
/// controller has not accepted them yet): `the server could not properly
/// serve the resource` (plural, singular), `… the kind` and `… the list
/// kind`.
pub fn crd_versions(crd: &Value) -> Result<Vec<CrdVersion>, StatusError> {
    let spec = &crd["spec"];
    let accepted = &crd["status"]["acceptedNames"];
    let name = string(crd["metadata"].get("name"));
    for (field, what) in [
        ("plural", "resource"),
        ("singular", "resource"),
        ("kind", "kind"),
        ("listKind", "list kind"),
    ] {
        if string(accepted.get(field)).is_empty() {
            warn!(
                crd = name,
                "CustomResourceDefinition {name} has unexpected empty status.acceptedNames.{field}"
            );
            return Err(StatusError::internal(format!(
                "the server could not properly serve the {what}"
            )));
        }
    }
    let group = string(spec.get("group"));
    let kind = string(accepted.get("kind"));
    let versions = array(spec.get("versions"));
    let mut out = Vec::with_capacity(versions.len());
    for version in versions {
        let version_name = string(version.get("name"));
        let deprecated = version
            .get("deprecated")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut warnings = Vec::new();
        if deprecated {
            match version.get("deprecationWarning").and_then(Value::as_str) {
                Some(warning) => warnings.push(warning.to_owned()),
                None => warnings.push(default_deprecation_warning(version_name, spec)),
            }
        }
        let subresources = present(version.get("subresources"));
        out.push(CrdVersion {
            group: group.to_owned(),
            version: version_name.to_owned(),
            plural: string(accepted.get("plural")).to_owned(),
            singular: string(accepted.get("singular")).to_owned(),
            kind: kind.to_owned(),
            list_kind: string(accepted.get("listKind")).to_owned(),
            short_names: strings(accepted.get("shortNames")),
            categories: strings(accepted.get("categories")),
            namespaced: string(spec.get("scope")) == "Namespaced",
            served: bool_field(version, "served"),
            storage: bool_field(version, "storage"),
            deprecated,
            warnings,
            has_status: subresources.is_some_and(|s| present(s.get("status")).is_some()),
            scale: subresources
                .and_then(|s| present(s.get("scale")))
                .and_then(ScaleSpec::from_json),
            printer_columns: array(version.get("additionalPrinterColumns"))
                .iter()
                .map(PrinterColumn::from_json)
                .collect(),
            schema: present(version["schema"].get("openAPIV3Schema")).cloned(),
            preserve_unknown_fields: bool_field(spec, "preserveUnknownFields"),
            selectable_fields: array(version.get("selectableFields"))
                .iter()
                .map(|field| string(field.get("jsonPath")).to_owned())
                .collect(),
            conversion_strategy: match string(spec["conversion"].get("strategy")) {
                "" => "None".to_owned(),
                strategy => strategy.to_owned(),
            },
        });
    }
    Ok(out)
}

/// The served versions of `crd` (see [`crd_versions`]).
///
/// # Errors
/// As [`crd_versions`].
pub fn served_versions(crd: &Value) -> Result<Vec<CrdVersion>, StatusError> {
    Ok(crd_versions(crd)?
        .into_iter()
        .filter(|version| version.served)
        .collect())
}

/// Orders versions as discovery lists them, highest priority first when
/// sorted with `sort_by(|a, b| compare_kube_aware_versions(b, a))`: GA
/// above beta above alpha, then by major and minor number; versions that
/// are not Kubernetes-like (`v1foo`) come last, alphabetically (Go:
/// `version.CompareKubeAwareVersionStrings`, which returns `Greater` for
/// the version with the higher priority).
pub fn compare_kube_aware_versions(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    match (parse_kube_version(a), parse_kube_version(b)) {
        (None, None) => b.cmp(a),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y),
    }
}

/// `(stability, major, minor)`: alpha 0, beta 1, GA 2.
fn parse_kube_version(version: &str) -> Option<(u8, u64, u64)> {
    let rest = version.strip_prefix('v')?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    if digits == 0 {
        return None;
    }
    let major: u64 = rest[..digits].parse().ok()?;
    let tail = &rest[digits..];
    if tail.is_empty() {
        return Some((2, major, 0));
    }
    let (stability, minor) = if let Some(minor) = tail.strip_prefix("alpha") {
        (0, minor)
    } else if let Some(minor) = tail.strip_prefix("beta") {
        (1, minor)
    } else {
        return None;
    };
    if minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stability, major, minor.parse().ok()?))
}

/// Go's `defaultDeprecationWarning`.
fn default_deprecation_warning(deprecated: &str, spec: &Value) -> String {
    let group = string(spec.get("group"));
    let kind = string(spec["names"].get("kind"));
    let mut message = format!("{group}/{deprecated} {kind} is deprecated");
    let mut newer: Vec<&str> = array(spec.get("versions"))
        .iter()
        .filter(|v| {
            bool_field(v, "served")
                && !bool_field(v, "deprecated")
                && compare_kube_aware_versions(deprecated, string(v.get("name"))) == Ordering::Less
        })
        .map(|v| string(v.get("name")))
        .collect();
    newer.sort_by(|a, b| compare_kube_aware_versions(b, a));
    if let Some(best) = newer.first() {
        message.push_str(&format!("; use {group}/{best} {kind}"));
    }
    message
}

/// Applies the v1 defaults Go applies when decoding a CRD (Go:
/// `SetDefaults_CustomResourceDefinition`, `SetDefaults_ServiceReference`):
/// `singular` from the kind, `listKind` `<Kind>List`, conversion strategy
/// `None`, webhook service port 443, `status.storedVersions` from the
/// storage version.
pub(crate) fn set_defaults(crd: &mut Value) {
    let Some(object) = crd.as_object_mut() else {
        return;
    };
    let spec = object
        .entry("spec")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(spec) = spec.as_object_mut() {
        if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
            let kind = string(names.get("kind")).to_owned();
            if string(names.get("singular")).is_empty() {
                names.insert("singular".to_owned(), Value::String(kind.to_lowercase()));
            }
            if string(names.get("listKind")).is_empty() && !kind.is_empty() {
                names.insert("listKind".to_owned(), Value::String(format!("{kind}List")));
            }
        }
        if present(spec.get("conversion")).is_none() {
            spec.insert("conversion".to_owned(), json!({"strategy": "None"}));
        }
        if let Some(service) = spec
            .get_mut("conversion")
            .and_then(|c| c.get_mut("webhook"))
            .and_then(|w| w.get_mut("clientConfig"))
            .and_then(|c| c.get_mut("service"))
            .and_then(Value::as_object_mut)
            && present(service.get("port")).is_none()
        {
            service.insert("port".to_owned(), Value::from(443));
        }
    }
    let storage = storage_version(&object["spec"]).map(str::to_owned);
    if let Some(storage) = storage
        && array(object.get("status").and_then(|s| s.get("storedVersions"))).is_empty()
    {
        let status = object
            .entry("status")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(status) = status.as_object_mut() {
            status.insert("storedVersions".to_owned(), json!([storage]));
        }
    }
}

/// The name of the first version marked `storage: true`.
pub(crate) fn storage_version(spec: &Value) -> Option<&str> {
    array(spec.get("versions"))
        .iter()
        .find(|v| bool_field(v, "storage"))
        .map(|v| string(v.get("name")))
}

/// The CRD spec as Go's internal type sees it: when every version has the
/// same `schema`, `subresources`, `additionalPrinterColumns` or
/// `selectableFields`, the v1→internal conversion moves it to the top
/// level (and Go's validation errors name `spec.validation`,
/// `spec.subresources`, `spec.additionalPrinterColumns`).
#[derive(Debug)]
pub(crate) struct Internal<'a> {
    /// Top-level `validation` (a `CustomResourceValidation`).
    pub(crate) validation: Option<&'a Value>,
    /// Top-level `subresources`.
    pub(crate) subresources: Option<&'a Value>,
    /// Top-level `additionalPrinterColumns`.
    pub(crate) columns: &'a [Value],
    /// Top-level `selectableFields`.
    pub(crate) selectable_fields: &'a [Value],
    /// The versions with the fields that were not hoisted.
    pub(crate) versions: Vec<InternalVersion<'a>>,
}

/// One version of [`Internal`].
#[derive(Debug)]
pub(crate) struct InternalVersion<'a> {
    /// The v1 version entry.
    pub(crate) raw: &'a Value,
    /// Its `schema`, unless hoisted.
    pub(crate) schema: Option<&'a Value>,
    /// Its `subresources`, unless hoisted.
    pub(crate) subresources: Option<&'a Value>,
    /// Its columns, unless hoisted.
    pub(crate) columns: &'a [Value],
    /// Its selectable fields, unless hoisted.
    pub(crate) selectable_fields: &'a [Value],
}

impl<'a> Internal<'a> {
    /// The internal view of a v1 `spec` (Go:
    /// `Convert_v1_CustomResourceDefinitionSpec_To_apiextensions_CustomResourceDefinitionSpec`).
    pub(crate) fn of(spec: &'a Value) -> Self {
        let versions = array(spec.get("versions"));
        let identical = |field: &str| {
            let first = versions.first().and_then(|v| present(v.get(field)));
            versions.iter().all(|v| {
                present(v.get(field)) == first || (empty(first) && empty(present(v.get(field))))
            })
        };
        let (same_schema, same_subresources, same_columns, same_fields) = (
            identical("schema"),
            identical("subresources"),
            identical("additionalPrinterColumns"),
            identical("selectableFields"),
        );
        let first = versions.first();
        let top = |hoisted: bool, field: &str| {
            if hoisted {
                first.and_then(|v| present(v.get(field)))
            } else {
                None
            }
        };
        Self {
            validation: top(same_schema, "schema"),
            subresources: top(same_subresources, "subresources"),
            columns: array(top(same_columns, "additionalPrinterColumns")),
            selectable_fields: array(top(same_fields, "selectableFields")),
            versions: versions
                .iter()
                .map(|raw| InternalVersion {
                    raw,
                    schema: if same_schema {
                        None
                    } else {
                        present(raw.get("schema"))
                    },
                    subresources: if same_subresources {
                        None
                    } else {
                        present(raw.get("subresources"))
                    },
                    columns: if same_columns {
                        &[]
                    } else {
                        array(raw.get("additionalPrinterColumns"))
                    },
                    selectable_fields: if same_fields {
                        &[]
                    } else {
                        array(raw.get("selectableFields"))
                    },
                })
                .collect(),
        }
    }

    /// The subresources that apply to a version (Go:
    /// `getSubresourcesForVersion`).
    pub(crate) fn subresources_for(&self, version: &InternalVersion<'a>) -> Option<&'a Value> {
        if self.versions.iter().any(|v| v.subresources.is_some()) {
            version.subresources
        } else {
            self.subresources
        }
    }

    /// Whether any version enables `/status` (Go: `hasAnyStatusEnabled`).
    pub(crate) fn any_status(&self) -> bool {
        has_status(self.subresources) || self.versions.iter().any(|v| has_status(v.subresources))
    }

    /// Every `openAPIV3Schema` of the spec (top level first).
    pub(crate) fn schemas(&self) -> Vec<&'a Value> {
        let mut schemas: Vec<&'a Value> = self
            .validation
            .and_then(|v| present(v.get("openAPIV3Schema")))
            .into_iter()
            .collect();
        schemas.extend(
            self.versions
                .iter()
                .filter_map(|v| v.schema.and_then(|s| present(s.get("openAPIV3Schema")))),
        );
        schemas
    }
}

/// Whether subresources enable `/status` (Go: `hasStatusEnabled`).
pub(crate) fn has_status(subresources: Option<&Value>) -> bool {
    subresources.is_some_and(|s| present(s.get("status")).is_some())
}

fn empty(value: Option<&Value>) -> bool {
    match value {
        None => true,
        Some(Value::Array(items)) => items.is_empty(),
        Some(_) => false,
    }
}

/// A field that is set (not missing, not null).
pub(crate) fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

/// A string field, empty when missing or not a string.
pub(crate) fn string(value: Option<&Value>) -> &str {
    value.and_then(Value::as_str).unwrap_or_default()
}

/// A list field, empty when missing or not a list.
pub(crate) fn array(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A list of strings (non-strings skipped).
pub(crate) fn strings(value: Option<&Value>) -> Vec<String> {
    array(value)
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// A boolean field, false when missing.
pub(crate) fn bool_field(object: &Value, field: &str) -> bool {
    object.get(field).and_then(Value::as_bool).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {
                "group": "stable.example.com",
                "scope": "Namespaced",
                "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
                "versions": [
                    {"name": "v1beta1", "served": true, "storage": false, "deprecated": true,
                     "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {"name": "v1", "served": true, "storage": true,
                     "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                     "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                     "additionalPrinterColumns": [{"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec", "priority": 1}]},
                    {"name": "v2alpha1", "served": false, "storage": false,
                     "schema": {"openAPIV3Schema": {"type": "object"}}},
                ],
            },
            "status": {"acceptedNames": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "listKind": "CronTabList", "shortNames": ["ct"]}},
        })
    }

    #[test]
    fn versions_use_accepted_names_and_per_version_fields() {
        let versions = crd_versions(&crd()).unwrap();
        assert_eq!(versions.len(), 3);
        let v1 = &versions[1];
        assert_eq!(v1.group_version(), "stable.example.com/v1");
        assert_eq!(
            (v1.plural.as_str(), v1.kind.as_str(), v1.list_kind.as_str()),
            ("crontabs", "CronTab", "CronTabList")
        );
        assert!(v1.namespaced && v1.served && v1.storage && v1.has_status);
        assert_eq!(
            v1.scale,
            Some(ScaleSpec::new(".spec.replicas", ".status.replicas", None))
        );
        let mut column = PrinterColumn::new("Spec", "string", ".spec.cronSpec");
        column.priority = 1;
        assert_eq!(v1.printer_columns, vec![column]);
        assert_eq!(v1.conversion_strategy, "None");
        assert!(!versions[0].has_status);
        assert_eq!(
            versions[0].warnings,
            vec![
                "stable.example.com/v1beta1 CronTab is deprecated; use stable.example.com/v1 CronTab"
            ]
        );
        let served: Vec<String> = served_versions(&crd())
            .unwrap()
            .into_iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(served, ["v1beta1", "v1"]);
    }

    #[test]
    fn versions_need_accepted_names() {
        let mut crd = crd();
        crd["status"]["acceptedNames"]["listKind"] = json!("");
        let err = crd_versions(&crd).unwrap_err();
        assert_eq!(
            err.message(),
            "Internal error occurred: the server could not properly serve the list kind"
        );
    }

    #[test]
    fn kube_aware_version_order() {
        let mut versions = vec![
            "v1alpha1",
            "v2",
            "foo",
            "v1beta2",
            "v1",
            "v11alpha2",
            "v1beta1",
            "v12",
            "bar",
        ];
        versions.sort_by(|a, b| compare_kube_aware_versions(b, a));
        assert_eq!(
            versions,
            [
                "v12",
                "v2",
                "v1",
                "v1beta2",
                "v1beta1",
                "v11alpha2",
                "v1alpha1",
                "bar",
                "foo"
            ]
        );
    }

    #[test]
    fn defaults_fill_names_conversion_and_stored_versions() {
        let mut crd = json!({"spec": {
            "names": {"plural": "crontabs", "kind": "CronTab"},
            "versions": [{"name": "v1", "served": true, "storage": true}],
            "conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {"service": {"name": "s", "namespace": "n"}}}},
        }});
        set_defaults(&mut crd);
        assert_eq!(crd["spec"]["names"]["singular"], "crontab");
        assert_eq!(crd["spec"]["names"]["listKind"], "CronTabList");
        assert_eq!(
            crd["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"],
            443
        );
        assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
        let mut bare = json!({"spec": {"names": {"kind": "X"}}});
        set_defaults(&mut bare);
        assert_eq!(bare["spec"]["conversion"], json!({"strategy": "None"}));
    }

    #[test]
    fn identical_per_version_fields_are_hoisted() {
        let spec = json!({"versions": [
            {"name": "v1", "schema": {"openAPIV3Schema": {"type": "object"}}, "subresources": {"status": {}}},
            {"name": "v2", "schema": {"openAPIV3Schema": {"type": "object"}}, "additionalPrinterColumns": []},
        ]});
        let internal = Internal::of(&spec);
        assert!(internal.validation.is_some());
        assert!(internal.versions.iter().all(|v| v.schema.is_none()));
        assert!(internal.subresources.is_none());
        assert!(internal.versions[0].subresources.is_some());
        assert!(internal.versions[1].subresources.is_none());
        assert!(internal.columns.is_empty());
        assert!(internal.any_status());
        assert!(has_status(internal.subresources_for(&internal.versions[0])));
        assert!(!has_status(
            internal.subresources_for(&internal.versions[1])
        ));
    }
}
