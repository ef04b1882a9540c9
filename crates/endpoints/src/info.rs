//! `ResourceInfo`: what the endpoints need to know about one served
//! resource (Go: the parts of `RequestScope` a handler reads).

use std::sync::Arc;

use kapi_fieldmanager::FieldManager;
use serde_json::Value;

use crate::table::TableConvertor;
use crate::write::ObjectDecoder;

/// What the endpoints need to know about one served resource.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResourceInfo {
    /// The API group ("" for the core group).
    pub group: String,
    /// The API version (`v1`).
    pub version: String,
    /// The resource, plural and lowercase (`configmaps`).
    pub resource: String,
    /// The subresource served (`status`, `scale`), or empty for the
    /// resource itself.
    pub subresource: String,
    /// The kind of its objects (`ConfigMap`).
    pub kind: String,
    /// The kind of its lists (`ConfigMapList`).
    pub list_kind: String,
    /// Whether its objects live in namespaces.
    pub namespaced: bool,
    /// The verbs served (`get`, `list`, `watch`, `create`, `update`,
    /// `patch`, `delete`, `deletecollection`); others are 405.
    pub verbs: Vec<String>,
    /// The fields a `fieldSelector` may name (Go: the field label
    /// conversion function); others are 400 `field label not supported`.
    pub selectable_fields: Vec<String>,
    /// Whether a delete that removes the object answers with the object
    /// (Go: `ReturnDeletedObject`, as custom resources do) rather than a
    /// `Status` of `Success`.
    pub return_deleted_object: bool,
    /// How its objects become `Table` rows (kube-apiserver's printers);
    /// `None` is Go's default convertor, `Name` and `Created At`.
    pub table: Option<Arc<dyn TableConvertor>>,
    /// `managedFields` and server-side apply (Go: the scope's
    /// `FieldManager`); `None`: writes record no managers and apply patches
    /// are 415.
    pub field_manager: Option<Arc<FieldManager>>,
    /// Pruning and defaulting of request objects, with `fieldValidation`
    /// reporting what was pruned; `None` keeps objects as sent.
    pub decoder: Option<Arc<dyn ObjectDecoder>>,
    /// How objects of this endpoint's version are stored, when the
    /// storage holds another version (events.k8s.io/v1 Events are stored
    /// as core/v1 Events); `None`: stored as served.
    pub converter: Option<Arc<dyn Converter>>,
    /// Warnings every request gets (a deprecated version's
    /// `<group>/<version> <Kind> is deprecated; use …`).
    pub warnings: Vec<String>,
}

/// Converts between an endpoint's version and the version its storage
/// holds (Go: the scheme's conversion functions through the internal
/// version).
pub trait Converter: Send + Sync + std::fmt::Debug {
    /// A request object (this endpoint's version) as stored.
    fn to_storage(&self, object: Value) -> Value;
    /// A stored object as this endpoint's version.
    fn to_served(&self, object: Value) -> Value;
}

/// Every verb of a resource endpoint.
const ALL_VERBS: [&str; 8] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];

impl ResourceInfo {
    /// A resource serving every verb, with `<kind>List` lists,
    /// `metadata.name` and `metadata.namespace` field selectors, and
    /// deletes answering with the deleted object.
    pub fn new(group: &str, version: &str, resource: &str, kind: &str, namespaced: bool) -> Self {
        Self {
            group: group.to_owned(),
            version: version.to_owned(),
            resource: resource.to_owned(),
            subresource: String::new(),
            kind: kind.to_owned(),
            list_kind: format!("{kind}List"),
            namespaced,
            verbs: ALL_VERBS.iter().map(|v| (*v).to_owned()).collect(),
            selectable_fields: vec!["metadata.name".to_owned(), "metadata.namespace".to_owned()],
            return_deleted_object: true,
            table: None,
            field_manager: None,
            decoder: None,
            converter: None,
            warnings: Vec::new(),
        }
    }

    /// `group/version`, or `version` for the core group (an object's
    /// `apiVersion`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `resource[.group]`, as messages name it.
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    /// The same resource's `subresource` endpoint, serving `verbs`
    /// (`get`, `update`, `patch` for `status`).
    pub fn for_subresource(&self, subresource: &str, verbs: &[&str]) -> Self {
        let mut info = self.clone();
        info.subresource = subresource.to_owned();
        info.verbs = verbs.iter().map(|v| (*v).to_owned()).collect();
        info
    }

    /// `resource` or `resource/subresource`, as discovery names an
    /// endpoint.
    pub fn endpoint_name(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }

    /// A request object as stored.
    pub(crate) fn to_storage(&self, object: Value) -> Value {
        match &self.converter {
            Some(converter) => converter.to_storage(object),
            None => object,
        }
    }

    /// Whether `verb` is served.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}
