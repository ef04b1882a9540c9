//! The registry strategies of custom resources (one per CRD version) and
//! the decoding steps Go applies to their bodies: metadata and schema
//! pruning with the pruned paths `fieldValidation` reports, then
//! defaulting.
//!
//! Mirrors `pkg/registry/customresource/strategy.go`,
//! `status_strategy.go`, `validator.go`, and the `unstructuredSchemaCoercer`
//! / `unstructuredDefaulter` of `pkg/apiserver/customresource_handler.go`.
//!
//! Order of calls for the handler:
//! - request body (create, update, and a patch after it is applied):
//!   [`CustomResourceStrategy::decode`] (prune metadata, prune by schema,
//!   default), report its paths per `fieldValidation`
//!   ([`unknown_field_warnings`] for `Warn`, [`strict_decoding_error`]
//!   for `Strict`), then the store's create/update with the strategy;
//! - objects read from storage: [`CustomResourceStrategy::decode_stored`]
//!   with the strategy of the stored `apiVersion`; to answer in another
//!   version, set `apiVersion` to it (conversion `None`) and run that
//!   version's `decode_stored` again.

use kapi_core::StatusError;
use kapi_core::field::{Error, ErrorList, Path};
use kapi_core::validation::{self, FINALIZER_DELETE_DEPENDENTS, FINALIZER_ORPHAN_DEPENDENTS};
use kapi_storage::registry::Strategy;
use serde_json::{Map, Value};

use crate::jsonpath::JsonPath;
use crate::scale::{nested_int64, nested_string, split_path};
use crate::schema::Structural;
use crate::{CrdVersion, ScaleSpec, gofmt};

/// The `ObjectMeta` fields a request may carry; others are pruned and
/// reported as `metadata.<field>` (when the schema does not prune, e.g.
/// with `preserveUnknownFields`).
const OBJECT_META_FIELDS: [&str; 15] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// The strategy of one version of a custom resource (Go:
/// `customResourceStrategy`): namespaced per the CRD's scope; create drops
/// `status` when the status subresource is enabled and sets `generation`
/// 1; update keeps the stored `status` then (only `/status` changes it)
/// and bumps `generation` on any change outside `metadata`; validation
/// checks `kind`/`apiVersion`, metadata, the structural schema and the
/// scale paths.
#[derive(Debug, Clone)]
pub struct CustomResourceStrategy {
    group: String,
    version: String,
    kind: String,
    namespaced: bool,
    schema: Option<Structural>,
    preserve_unknown_fields: bool,
    has_status: bool,
    scale: Option<ScaleSpec>,
    selectable_fields: Vec<(String, Option<JsonPath>)>,
}

/// The strategy of a custom resource's `/status` (Go: `statusStrategy`):
/// an update takes only `status` (and `metadata.managedFields`) from the
/// request; everything else stays as stored.
#[derive(Debug, Clone)]
pub struct CustomResourceStatusStrategy {
    main: CustomResourceStrategy,
}

impl CustomResourceStrategy {
    /// The strategy of `version`.
    ///
    /// # Errors
    /// The version's schema is not structural (the errors of
    /// [`Structural::new`], under `openAPIV3Schema`); Go refuses to serve
    /// such a version.
    pub fn new(version: &CrdVersion) -> Result<Self, ErrorList> {
        let schema = match &version.schema {
            Some(schema) => Some(Structural::new(schema, &Path::new("openAPIV3Schema"))?),
            None => None,
        };
        let selectable_fields = version
            .selectable_fields
            .iter()
            .map(|path| {
                (
                    path.strip_prefix('.').unwrap_or(path).to_owned(),
                    JsonPath::parse(path).ok(),
                )
            })
            .collect();
        Ok(Self {
            group: version.group.clone(),
            version: version.version.clone(),
            kind: version.kind.clone(),
            namespaced: version.namespaced,
            schema,
            preserve_unknown_fields: version.preserve_unknown_fields,
            has_status: version.has_status,
            scale: version.scale.clone(),
            selectable_fields,
        })
    }

    /// The strategy of this version's `/status`.
    pub fn status_strategy(&self) -> CustomResourceStatusStrategy {
        CustomResourceStatusStrategy { main: self.clone() }
    }

    /// The structural schema, if the version has one.
    pub fn schema(&self) -> Option<&Structural> {
        self.schema.as_ref()
    }

    /// Decodes a request body in place as Go's CR decoder does: unknown
    /// `metadata` fields are dropped; when `kind` and the group of
    /// `apiVersion` are this resource's, fields the schema does not know
    /// are pruned (unless `preserveUnknownFields`) and the schema's
    /// defaults applied. Returns the dropped paths (`metadata.foo`,
    /// `spec.bar`), metadata first.
    pub fn decode(&self, object: &mut Value) -> Vec<String> {
        match &self.schema {
            Some(schema) if self.is_own_kind(object) => {
                let unknown = if self.preserve_unknown_fields {
                    prune_metadata(object)
                } else {
                    schema.prune(object)
                };
                schema.apply_defaults(object);
                unknown
            }
            _ => prune_metadata(object),
        }
    }

    /// Decodes an object read from storage (Go: the storage codec's
    /// coercer and defaulter): as [`CustomResourceStrategy::decode`], and a
    /// missing or zero `metadata.generation` becomes 1.
    pub fn decode_stored(&self, object: &mut Value) {
        self.decode(object);
        if self.is_own_kind(object)
            && object["metadata"]["generation"].as_i64().unwrap_or(0) == 0
            && let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut)
        {
            metadata.insert("generation".to_owned(), Value::from(1));
        }
    }

    /// The fields a field selector may match, with their values:
    /// `metadata.name`, `metadata.namespace` (namespaced resources) and
    /// each `selectableFields` path without its leading dot (Go:
    /// `customResourceStrategy.GetAttrs`). Values print as Go's `%v`; a
    /// missing field is `""`.
    ///
    /// # Errors
    /// 500 when a selectable field matches more than one value or its path
    /// does not parse.
    pub fn field_set(&self, object: &Value) -> Result<Vec<(String, String)>, StatusError> {
        let meta = &object["metadata"];
        let mut fields = vec![(
            "metadata.name".to_owned(),
            meta["name"].as_str().unwrap_or_default().to_owned(),
        )];
        if self.namespaced {
            fields.push((
                "metadata.namespace".to_owned(),
                meta["namespace"].as_str().unwrap_or_default().to_owned(),
            ));
        }
        for (name, path) in &self.selectable_fields {
            let Some(path) = path else {
                return Err(StatusError::internal(format!(
                    "unexpected error parsing jsonPath: {name}"
                )));
            };
            let values = path.find(object).map_err(|err| {
                StatusError::internal(format!(
                    "unexpected error finding value with jsonPath: {err}"
                ))
            })?;
            if values.len() > 1 {
                return Err(StatusError::internal(
                    "unexpectedly received more than one JSON path result",
                ));
            }
            let value = match values.first().map(AsRef::as_ref) {
                None | Some(Value::Null) => String::new(),
                Some(value) => gofmt::value(value),
            };
            fields.push((name.clone(), value));
        }
        Ok(fields)
    }

    fn is_own_kind(&self, object: &Value) -> bool {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        object["kind"].as_str() == Some(self.kind.as_str()) && group == self.group
    }

    fn group_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    /// Go: `customResourceValidator.ValidateTypeMeta`.
    fn validate_type_meta(&self, object: &Value) -> ErrorList {
        let mut errs = ErrorList::new();
        let kind = object["kind"].as_str().unwrap_or_default();
        if kind != self.kind {
            errs.push(Error::invalid(
                &Path::new("kind"),
                kind,
                format!("must be {}", self.kind),
            ));
        }
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let expected = self.group_version();
        if api_version != expected {
            errs.push(Error::invalid(
                &Path::new("apiVersion"),
                api_version,
                format!("must be {expected}"),
            ));
        }
        errs
    }

    /// Go: `ValidateScaleSpec`.
    fn validate_scale_spec(&self, object: &Value) -> ErrorList {
        let Some(scale) = &self.scale else {
            return ErrorList::new();
        };
        validate_replicas(object, &scale.spec_replicas_path)
    }

    /// Go: `ValidateScaleStatus`.
    fn validate_scale_status(&self, object: &Value) -> ErrorList {
        let Some(scale) = &self.scale else {
            return ErrorList::new();
        };
        let mut errs = validate_replicas(object, &scale.status_replicas_path);
        if let Some(selector) = scale.label_selector_path.as_deref()
            && let Err(message) = nested_string(object, &split_path(selector))
        {
            errs.push(Error::invalid(&Path::new(selector), "", message));
        }
        errs
    }
}

impl Strategy for CustomResourceStrategy {
    fn namespace_scoped(&self) -> bool {
        self.namespaced
    }

    fn allow_create_on_update(&self) -> bool {
        false
    }

    fn allow_unconditional_update(&self) -> bool {
        false
    }

    fn prepare_for_create(&self, object: &mut Value) {
        if self.has_status
            && let Some(map) = object.as_object_mut()
        {
            map.remove("status");
        }
        set_generation(object, 1);
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        if self.has_status
            && let Some(map) = new.as_object_mut()
        {
            match old.get("status") {
                Some(status) => {
                    map.insert("status".to_owned(), status.clone());
                }
                None => {
                    map.remove("status");
                }
            }
        }
        if without_metadata(new) != without_metadata(old) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(0);
            set_generation(new, generation.saturating_add(1));
        }
    }

    fn validate(&self, object: &Value) -> ErrorList {
        let type_errs = self.validate_type_meta(object);
        if !type_errs.is_empty() {
            return type_errs;
        }
        let mut errs = validation::validate_object_meta(
            object,
            self.namespaced,
            validation::name_is_dns_subdomain,
            &Path::new("metadata"),
        );
        if let Some(schema) = &self.schema {
            errs.extend(schema.validate_schema(object));
        }
        errs.extend(self.validate_scale_spec(object));
        errs.extend(self.validate_scale_status(object));
        if let Some(schema) = &self.schema {
            errs.extend(schema.validate_embedded_resources(object));
            errs.extend(schema.validate_list_types(object));
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> ErrorList {
        let type_errs = self.validate_type_meta(new);
        if !type_errs.is_empty() {
            return type_errs;
        }
        let mut errs = self
            .schema
            .as_ref()
            .map(|schema| schema.validate_update(new, old))
            .unwrap_or_default();
        errs.extend(self.validate_scale_spec(new));
        errs.extend(self.validate_scale_status(new));
        errs
    }

    fn warnings_on_create(&self, object: &Value) -> Vec<String> {
        finalizer_warnings(object, None)
    }

    fn warnings_on_update(&self, new: &Value, old: &Value) -> Vec<String> {
        finalizer_warnings(new, Some(old))
    }
}

impl Strategy for CustomResourceStatusStrategy {
    fn namespace_scoped(&self) -> bool {
        self.main.namespaced
    }

    fn allow_create_on_update(&self) -> bool {
        false
    }

    fn allow_unconditional_update(&self) -> bool {
        false
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        let status = new.get("status").cloned();
        let managed_fields = new["metadata"].get("managedFields").cloned();
        *new = old.clone();
        if let Some(metadata) = new.get_mut("metadata").and_then(Value::as_object_mut) {
            match managed_fields {
                Some(fields) => metadata.insert("managedFields".to_owned(), fields),
                None => metadata.remove("managedFields"),
            };
        }
        if let Some(map) = new.as_object_mut() {
            match status {
                Some(status) => map.insert("status".to_owned(), status),
                None => map.remove("status"),
            };
        }
    }

    fn validate(&self, object: &Value) -> ErrorList {
        self.main.validate(object)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> ErrorList {
        let type_errs = self.main.validate_type_meta(new);
        if !type_errs.is_empty() {
            return type_errs;
        }
        let mut errs = self
            .main
            .schema
            .as_ref()
            .map(|schema| schema.validate_status_update(new, old))
            .unwrap_or_default();
        errs.extend(self.main.validate_scale_status(new));
        errs
    }
}

/// The paths `fieldValidation=Warn` reports, one warning each:
/// `unknown field "spec.foo"`.
pub fn unknown_field_warnings(paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .map(|path| format!("unknown field \"{path}\""))
        .collect()
}

/// The 400 of `fieldValidation=Strict`: `strict decoding error: unknown
/// field "spec.foo", unknown field "spec.bar"`; `None` without paths.
pub fn strict_decoding_error(paths: &[String]) -> Option<StatusError> {
    if paths.is_empty() {
        return None;
    }
    Some(StatusError::bad_request(format!(
        "strict decoding error: {}",
        unknown_field_warnings(paths).join(", ")
    )))
}

/// Drops the `metadata` fields `ObjectMeta` does not have.
fn prune_metadata(object: &mut Value) -> Vec<String> {
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let unknown: Vec<String> = metadata
        .keys()
        .filter(|key| !OBJECT_META_FIELDS.contains(&key.as_str()))
        .cloned()
        .collect();
    for key in &unknown {
        metadata.remove(key);
    }
    unknown
        .into_iter()
        .map(|key| format!("metadata.{key}"))
        .collect()
}

fn set_generation(object: &mut Value, generation: i64) {
    if let Some(map) = object.as_object_mut() {
        let metadata = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("generation".to_owned(), Value::from(generation));
        }
    }
}

fn without_metadata(object: &Value) -> Map<String, Value> {
    let mut map = object.as_object().cloned().unwrap_or_default();
    map.remove("metadata");
    map
}

/// Go: `ValidateScaleSpec`/`ValidateScaleStatus` for one replicas path.
fn validate_replicas(object: &Value, path: &str) -> ErrorList {
    let field = Path::new(path);
    match nested_int64(object, &split_path(path)) {
        Err(message) => vec![Error::invalid(&field, 0, message)],
        Ok(Some(replicas)) if replicas < 0 => vec![Error::invalid(
            &field,
            replicas,
            "should be a non-negative integer",
        )],
        Ok(Some(replicas)) if replicas > i64::from(i32::MAX) => vec![Error::invalid(
            &field,
            replicas,
            format!("should be less than or equal to {}", i32::MAX),
        )],
        Ok(_) => ErrorList::new(),
    }
}

/// Go: `generateWarningsFromObj`: warnings for finalizers added by this
/// write that are not qualified names or not domain-qualified.
fn finalizer_warnings(new: &Value, old: Option<&Value>) -> Vec<String> {
    let finalizers = |object: &Value| -> Vec<String> {
        object["metadata"]["finalizers"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let previous = old.map(finalizers).unwrap_or_default();
    let mut added: Vec<String> = finalizers(new)
        .into_iter()
        .filter(|f| !previous.contains(f))
        .collect();
    added.sort();
    added.dedup();
    let mut warnings = Vec::new();
    for finalizer in added {
        let quoted = kapi_core::go::quote(&finalizer);
        for problem in validation::is_qualified_name(&finalizer) {
            warnings.push(format!("metadata.finalizers: {quoted}: {problem}"));
        }
        let standard = [
            FINALIZER_ORPHAN_DEPENDENTS,
            FINALIZER_DELETE_DEPENDENTS,
            "kubernetes",
        ];
        if !finalizer.contains('/') && !standard.contains(&finalizer.as_str()) {
            let advice = if finalizer.contains('.') {
                "prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers"
            } else {
                "prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers"
            };
            warnings.push(format!("metadata.finalizers: {quoted}: {advice}"));
        }
    }
    warnings
}

#[cfg(test)]
mod tests;
