//! [`ResourceSpec`]: what the OpenAPI documents need to know about one served
//! resource to write its paths (Go: the facts `registerResourceHandlers` reads
//! off a resource's storage).

/// A subresource whose paths the documents carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Subresource {
    /// `<item>/status`: get, replace and patch of the parent kind.
    Status,
    /// `<item>/scale`: get, replace and patch of `autoscaling/v1` `Scale`.
    Scale,
    /// `<item>/finalize`: replace of the parent kind (namespaces).
    Finalize,
}

impl Subresource {
    /// The path segment (`status`, `scale`, `finalize`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Scale => "scale",
            Self::Finalize => "finalize",
        }
    }
}

/// One served resource: the facts its paths and operations are written from.
///
/// `verbs` are the discovery verbs the storage supports (`get`, `list`,
/// `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`); only
/// operations for these are written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceSpec {
    /// API group, empty for the legacy core group.
    pub group: String,
    /// API version (`v1`).
    pub version: String,
    /// Resource name, the plural (`configmaps`).
    pub resource: String,
    /// Kind (`ConfigMap`).
    pub kind: String,
    /// List kind (`ConfigMapList`).
    pub list_kind: String,
    /// Whether the resource lives in namespaces.
    pub namespaced: bool,
    /// Discovery verbs the resource supports.
    pub verbs: Vec<String>,
    /// Subresources served below each object.
    pub subresources: Vec<Subresource>,
    /// Whether DELETE answers with the deleted object rather than a `Status`
    /// (Go: `rest.MayReturnFullObjectDeleter`; service accounts do).
    pub delete_returns_object: bool,
    /// Custom resources only: the CRD version's `selectableFields` JSON paths
    /// (`.spec.color`), published as `x-kubernetes-selectable-fields`.
    pub selectable_fields: Vec<String>,
}

/// The verbs of a resource with complete REST storage.
pub const ALL_VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

impl ResourceSpec {
    /// A resource with all eight verbs, `<kind>List` as list kind and no
    /// subresources.
    pub fn new(
        group: impl Into<String>,
        version: impl Into<String>,
        resource: impl Into<String>,
        kind: impl Into<String>,
        namespaced: bool,
    ) -> Self {
        let kind = kind.into();
        Self {
            group: group.into(),
            version: version.into(),
            resource: resource.into(),
            list_kind: format!("{kind}List"),
            kind,
            namespaced,
            verbs: ALL_VERBS.iter().map(|verb| (*verb).to_owned()).collect(),
            subresources: Vec::new(),
            delete_returns_object: false,
            selectable_fields: Vec::new(),
        }
    }

    /// Replaces the verbs.
    #[must_use]
    pub fn with_verbs<I, S>(mut self, verbs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.verbs = verbs.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a subresource.
    #[must_use]
    pub fn with_subresource(mut self, subresource: Subresource) -> Self {
        if !self.subresources.contains(&subresource) {
            self.subresources.push(subresource);
        }
        self
    }

    /// Replaces the list kind.
    #[must_use]
    pub fn with_list_kind(mut self, list_kind: impl Into<String>) -> Self {
        self.list_kind = list_kind.into();
        self
    }

    /// Makes DELETE answer with the deleted object.
    #[must_use]
    pub fn with_delete_returns_object(mut self, returns_object: bool) -> Self {
        self.delete_returns_object = returns_object;
        self
    }

    /// Sets the selectable fields of a custom resource version.
    #[must_use]
    pub fn with_selectable_fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.selectable_fields = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Whether the resource supports `verb`.
    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// The group-version path the documents are keyed by: `api/v1` or
    /// `apis/<group>/<version>`.
    pub fn group_version_path(&self) -> String {
        group_version_path(&self.group, &self.version)
    }
}

/// `api/<version>` for the core group, `apis/<group>/<version>` otherwise.
pub(crate) fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}
