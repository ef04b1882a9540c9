//! Structural schemas (Go: `pkg/apiserver/schema` of
//! k8s.io/apiextensions-apiserver): a CRD version's `openAPIV3Schema`
//! parsed and checked as the CRD validation does, and the validation,
//! pruning and defaulting of custom resource objects against it.
//!
//! The pieces and their Go counterparts:
//! - [`Structural::new`]: `NewStructural`, `ValidateStructural`,
//!   `ValidateDefaults` and `ValidateCustomResourceDefinitionOpenAPISchema`
//!   (`pkg/apis/apiextensions/validation`);
//! - [`Structural::validate`]: `ValidateCustomResource` (kube-openapi's
//!   schema validator, `pkg/apiserver/validation`), the embedded resources'
//!   `objectmeta.Validate` and `listtype.ValidateListSetsAndMaps`, as the
//!   custom resource strategy runs them;
//! - [`Structural::validate_update`] and
//!   [`Structural::validate_status_update`]: the same with validation
//!   ratcheting (errors in unchanged values are dropped);
//! - [`Structural::prune`]: what the custom resource decoder does
//!   (`unstructuredSchemaCoercer.apply`): unknown root metadata fields,
//!   `pruning.PruneWithOptions`, `PruneNonNullableNullsWithoutDefaults`
//!   and `objectmeta.Coerce` of embedded resources;
//! - [`Structural::apply_defaults`]: `defaulting.Default` with the pruned
//!   defaults of `PruneDefaults`.
//!
//! Go decodes a custom resource, prunes it, then defaults it; validation
//! runs on the result. `x-kubernetes-validations` (CEL) rules are accepted
//! with their static checks and otherwise ignored.

mod crd;
mod defaulting;
pub(crate) mod formats;
mod gofmt;
mod listtype;
mod model;
mod objectmeta;
mod openapi;
mod pattern;
mod pruning;
mod structural;

use kapi_core::field::{ErrorList, Path};
use serde_json::Value;

use self::model::Node;
use self::openapi::{Mode, Validator};
use self::pattern::Patterns;

/// A structural schema (Go: `structuralschema.Structural`), valid as a CRD
/// version's `openAPIV3Schema`.
#[derive(Debug, Clone)]
pub struct Structural {
    schema: Value,
    root: Node,
    /// The schema with its defaults pruned, for defaulting.
    defaulting: Node,
    patterns: Patterns,
}

impl Structural {
    /// Parses an `openAPIV3Schema` (a `JSONSchemaProps` as JSON); the
    /// errors are everything that makes it invalid in a v1 CRD being
    /// created, with paths under `fld_path` (the `openAPIV3Schema` path,
    /// e.g. `spec.versions[0].schema.openAPIV3Schema`): structural
    /// violations, invalid defaults, unsupported keywords, list and map
    /// extensions. The status-subresource restriction of the root is
    /// [`validate_status_subresource_root`].
    pub fn new(schema: &Value, fld_path: &Path) -> Result<Self, ErrorList> {
        let root = Node::parse(schema);
        let patterns = Patterns::collect(&root);
        let errs = crd::validate(&root, fld_path, &patterns);
        if !errs.is_empty() {
            return Err(errs);
        }
        let defaulting = defaulting::prune_defaults(&root);
        Ok(Self {
            schema: schema.clone(),
            root,
            defaulting,
            patterns,
        })
    }

    /// The schema as given.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Whether the schema sets any default (Go: `schemaHasDefaults`).
    pub fn has_defaults(&self) -> bool {
        fn any(node: &Node) -> bool {
            node.default.is_some()
                || node.items.as_deref().is_some_and(any)
                || node.properties.values().any(any)
                || node.additional_schema().is_some_and(any)
                || node
                    .all_of
                    .iter()
                    .chain(&node.any_of)
                    .chain(&node.one_of)
                    .any(any)
                || node.not.as_deref().is_some_and(any)
        }
        any(&self.root)
    }

    /// Validates a whole custom resource object on create, in Go's order:
    /// [`validate_schema`](Self::validate_schema),
    /// [`validate_embedded_resources`](Self::validate_embedded_resources),
    /// [`validate_list_types`](Self::validate_list_types) (Go runs the scale
    /// checks between the first and the second). Paths are from the root
    /// (`spec.replicas`).
    pub fn validate(&self, object: &Value) -> ErrorList {
        let mut errs = self.validate_schema(object);
        errs.extend(self.validate_embedded_resources(object));
        errs.extend(self.validate_list_types(object));
        errs
    }

    /// Validates an update with ratcheting (Go: `ValidateUpdate` of the
    /// custom resource strategy with `CRDValidationRatcheting`): schema
    /// errors inside values equal to their old values are dropped, and the
    /// list-type checks only apply when the old object passed them.
    pub fn validate_update(&self, object: &Value, old: &Value) -> ErrorList {
        let outcome =
            Validator::new(&self.patterns, Mode::Resource).validate(&self.root, object, Some(old));
        let mut errs = outcome.field_errors(None);
        errs.extend(self.validate_embedded_resources(object));
        if self.validate_list_types(old).is_empty() {
            errs.extend(self.validate_list_types(object));
        }
        errs
    }

    /// Validates an update of the status subresource (Go: `ValidateUpdate`
    /// of the status strategy): `status` against the schema of
    /// `properties.status` with paths under `status` and ratcheting, then
    /// the list-type checks when they are new.
    pub fn validate_status_update(&self, object: &Value, old: &Value) -> ErrorList {
        let mut errs = ErrorList::new();
        if let (Some(status), Some(status_schema)) =
            (object.get("status"), self.root.properties.get("status"))
        {
            let old_status = old.get("status").unwrap_or(&Value::Null);
            let outcome = Validator::new(&self.patterns, Mode::Resource).validate(
                status_schema,
                status,
                Some(old_status),
            );
            errs.extend(outcome.field_errors(Some(&Path::new("status"))));
        }
        let list_errs = self.validate_list_types(object);
        if !list_errs.is_empty() && self.validate_list_types(old).is_empty() {
            errs.extend(list_errs);
        }
        errs
    }

    /// The schema validation alone (Go: `ValidateCustomResource`):
    /// kube-openapi's messages, e.g. `spec.replicas: Invalid value:
    /// "string": spec.replicas in body must be of type integer: "string"`.
    pub fn validate_schema(&self, object: &Value) -> ErrorList {
        Validator::new(&self.patterns, Mode::Resource)
            .validate(&self.root, object, None)
            .field_errors(None)
    }

    /// The `apiVersion`, `kind` and `metadata` checks of embedded resources
    /// (Go: `objectmeta.Validate` with `isResourceRoot` false; the root's
    /// metadata is the generic object metadata validation's).
    pub fn validate_embedded_resources(&self, object: &Value) -> ErrorList {
        objectmeta::validate(&Path::default(), object, Some(&self.root), false)
    }

    /// Uniqueness in `x-kubernetes-list-type: set` and `map` lists (Go:
    /// `listtype.ValidateListSetsAndMaps`).
    pub fn validate_list_types(&self, object: &Value) -> ErrorList {
        match object.as_object() {
            Some(map) => listtype::validate(&Path::default(), &self.root, map),
            None => ErrorList::new(),
        }
    }

    /// Removes what the schema does not know, as the custom resource
    /// decoder does, and returns the paths of the removed fields as Go
    /// reports them in `unknown field "<path>"` warnings: first the unknown
    /// fields of the root `metadata` (`metadata.foo`; the rest of
    /// `ObjectMeta` is kept whatever the schema says, as are `apiVersion`
    /// and `kind`), then the pruned fields (`spec.foo`, `spec.items[0].bar`),
    /// then unknown fields of embedded resources' metadata
    /// (`spec.template.metadata.foo`), each group sorted. Also drops null
    /// values the schema neither allows nor defaults, and rewrites embedded
    /// `metadata` as Go re-encodes it.
    pub fn prune(&self, object: &mut Value) -> Vec<String> {
        let mut unknown = objectmeta::drop_unknown_root_metadata(object);
        unknown.extend(pruning::prune(object, Some(&self.root), true));
        defaulting::prune_non_nullable_nulls(object, Some(&self.root));
        let (_, coerced) = objectmeta::coerce(object, &self.root, false, &Path::default(), false);
        unknown.extend(coerced);
        unknown
    }

    /// Fills in the schema's defaults (Go: `structuraldefaulting.Default`),
    /// top down; defaults were pruned by their schema at construction.
    pub fn apply_defaults(&self, object: &mut Value) {
        defaulting::apply(object, &self.defaulting);
    }
}

/// The restriction on the root schema of a CRD version with the status
/// subresource (Go: in `validateCustomResourceDefinitionValidation`): the
/// root may only be of type `object` and use a few keywords. Go reports
/// these before the errors of [`Structural::new`]; `fld_path` is the
/// `openAPIV3Schema` path.
pub fn validate_status_subresource_root(schema: &Value, fld_path: &Path) -> ErrorList {
    crd::validate_status_root(schema, fld_path)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rejects_non_structural_schema() {
        let path = Path::new("spec")
            .child("versions")
            .index(0)
            .child("schema")
            .child("openAPIV3Schema");
        let errs = Structural::new(&json!({"type": "object", "properties": {"foo": {}}}), &path)
            .err()
            .unwrap_or_default();
        let rendered: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            rendered,
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[foo].type: Required value: must not be empty for specified object fields"
            ]
        );
    }
}
