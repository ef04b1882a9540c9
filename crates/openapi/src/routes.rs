//! The routes kube-apiserver's installer registers for a resource, as data
//! the OpenAPI writers turn into path items (Go: `registerResourceHandlers`
//! in `k8s.io/apiserver/pkg/endpoints/installer.go`, the discovery routes of
//! `endpoints/discovery`, and apiextensions-apiserver's custom resource
//! route builder), with operation ids and tags as
//! `endpoints/openapi.GetOperationIDAndTags` derives them.

use crate::params;
use crate::schema::{
    API_GROUP, API_GROUP_LIST, API_RESOURCE_LIST, API_VERSIONS, DELETE_OPTIONS, PATCH, SCALE,
    STATUS, VERSION_INFO, WATCH_EVENT,
};
use crate::spec::{ResourceSpec, Subresource};

/// The media types kube-apiserver encodes responses in.
pub(crate) const MEDIA_TYPES: [&str; 3] = [
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
];
const STREAM_MEDIA_TYPES: [&str; 2] = [
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf;stream=watch",
];
const PATCH_TYPES: [&str; 4] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];
const CUSTOM_PATCH_TYPES: [&str; 3] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];
const CUSTOM_MEDIA_TYPES: [&str; 2] = ["application/json", "application/yaml"];

/// An HTTP method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Method {
    Get,
    Put,
    Post,
    Delete,
    Patch,
}

impl Method {
    pub(crate) const fn key(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Put => "put",
            Self::Post => "post",
            Self::Delete => "delete",
            Self::Patch => "patch",
        }
    }
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum In {
    Path,
    Query,
}

impl In {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Path => "path",
            Self::Query => "query",
        }
    }
}

/// A non-body parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    pub(crate) name: &'static str,
    pub(crate) location: In,
    pub(crate) description: String,
    /// `string`, `integer` or `boolean`.
    pub(crate) ty: &'static str,
}

impl Param {
    fn query(name: &'static str, ty: &'static str, description: &str) -> Self {
        Self {
            name,
            location: In::Query,
            description: description.to_owned(),
            ty,
        }
    }

    fn path(name: &'static str, description: String) -> Self {
        Self {
            name,
            location: In::Path,
            description,
            ty: "string",
        }
    }

    /// Same name and location (Go: `mapKeyFromParam`).
    pub(crate) fn same_key(&self, other: &Self) -> bool {
        self.name == other.name && self.location == other.location
    }
}

/// The request body of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestBody {
    pub(crate) definition: String,
    pub(crate) required: bool,
}

/// One route: what one operation of a path item is written from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) path: String,
    pub(crate) method: Method,
    pub(crate) operation_id: String,
    pub(crate) tag: String,
    pub(crate) description: String,
    pub(crate) action: Option<&'static str>,
    pub(crate) gvk: Option<(String, String, String)>,
    pub(crate) params: Vec<Param>,
    pub(crate) body: Option<RequestBody>,
    pub(crate) consumes: Vec<&'static str>,
    pub(crate) produces: Vec<&'static str>,
    pub(crate) responses: Vec<(u16, &'static str, String)>,
}

fn pretty() -> Param {
    Param::query("pretty", "string", params::PRETTY)
}

fn list_options(skip_watch: bool) -> Vec<Param> {
    let mut out = vec![
        Param::query(
            "allowWatchBookmarks",
            "boolean",
            params::ALLOW_WATCH_BOOKMARKS,
        ),
        Param::query("continue", "string", params::CONTINUE),
        Param::query("fieldSelector", "string", params::FIELD_SELECTOR),
        Param::query("labelSelector", "string", params::LABEL_SELECTOR),
        Param::query("limit", "integer", params::LIMIT),
        Param::query("resourceVersion", "string", params::RESOURCE_VERSION),
        Param::query(
            "resourceVersionMatch",
            "string",
            params::RESOURCE_VERSION_MATCH,
        ),
        Param::query("sendInitialEvents", "boolean", params::SEND_INITIAL_EVENTS),
        Param::query("timeoutSeconds", "integer", params::TIMEOUT_SECONDS),
        Param::query("watch", "boolean", params::WATCH),
    ];
    if skip_watch {
        out.retain(|p| p.name != "watch" && p.name != "allowWatchBookmarks");
    }
    out
}

fn write_options(patch: bool) -> Vec<Param> {
    let mut out = vec![
        Param::query("dryRun", "string", params::DRY_RUN),
        Param::query(
            "fieldManager",
            "string",
            if patch {
                params::FIELD_MANAGER_PATCH
            } else {
                params::FIELD_MANAGER
            },
        ),
        Param::query("fieldValidation", "string", params::FIELD_VALIDATION),
    ];
    if patch {
        out.push(Param::query("force", "boolean", params::FORCE));
    }
    out
}

fn delete_options() -> Vec<Param> {
    vec![
        Param::query("dryRun", "string", params::DRY_RUN),
        Param::query(
            "gracePeriodSeconds",
            "integer",
            params::GRACE_PERIOD_SECONDS,
        ),
        Param::query(
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            "boolean",
            params::IGNORE_STORE_READ_ERROR,
        ),
        Param::query("orphanDependents", "boolean", params::ORPHAN_DEPENDENTS),
        Param::query("propagationPolicy", "string", params::PROPAGATION_POLICY),
    ]
}

/// Go's `ToValidOperationID`: letters, `_` and (not first) digits survive;
/// anything else drops out and capitalises the next kept letter.
pub(crate) fn to_valid_operation_id(s: &str, capitalize_first: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut capitalize = capitalize_first;
    for (i, c) in s.char_indices() {
        if c.is_alphabetic() || c == '_' || (i != 0 && c.is_numeric()) {
            if capitalize {
                out.extend(c.to_uppercase());
                capitalize = false;
            } else {
                out.push(c);
            }
        } else {
            capitalize = true;
        }
    }
    out
}

const OPERATION_VERBS: [&str; 12] = [
    "get",
    "log",
    "read",
    "replace",
    "patch",
    "delete",
    "watch",
    "connect",
    "proxy",
    "list",
    "create",
    "deletecollection",
];

/// The operation id and tag of a route (Go: `GetOperationIDAndTags`): the
/// verb prefix, then group (without `.k8s.io`) and version, then the rest.
pub(crate) fn operation_id_and_tag(operation: &str, path: &str) -> (String, String) {
    // The shortest verb that prefixes the operation (Go's trie stops at the
    // first complete word, so "deletecollection…" splits after "delete").
    let prefix = OPERATION_VERBS
        .iter()
        .filter(|verb| operation.starts_with(*verb))
        .min_by_key(|verb| verb.len())
        .copied()
        .unwrap_or("");
    let rest = &operation[prefix.len()..];
    let mut parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if parts.first() == Some(&"api") {
        parts.splice(0..1, ["apis", "core"]);
    }
    let mut id = prefix.to_owned();
    let tag = if parts.len() >= 2 && parts[0] == "apis" {
        let group = parts[1].strip_suffix(".k8s.io").unwrap_or(parts[1]);
        id.push_str(&to_valid_operation_id(group, !id.is_empty()));
        let mut tag = to_valid_operation_id(group, false);
        if parts.len() > 2 {
            id.push_str(&to_valid_operation_id(parts[2], !id.is_empty()));
            tag.push('_');
            tag.push_str(&to_valid_operation_id(parts[2], false));
        }
        tag
    } else {
        to_valid_operation_id(parts.first().copied().unwrap_or(""), false)
    };
    id.push_str(&to_valid_operation_id(rest, !id.is_empty()));
    (id, tag)
}

/// Go's `GetArticleForNoun`: no article for plurals, `an` before a vowel.
fn article_for(noun: &str, padding: &str) -> String {
    if !noun.ends_with("ss") && noun.ends_with('s') {
        return padding.to_owned();
    }
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{padding}{article}{padding}")
}

fn title(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

struct Builder<'a> {
    root: String,
    kind_def: &'a str,
    list_def: &'a str,
    routes: Vec<Route>,
}

impl Builder<'_> {
    #[allow(clippy::too_many_arguments)] // one argument per fact of Go's route builder
    fn push(
        &mut self,
        path: &str,
        method: Method,
        operation: String,
        description: String,
        action: &'static str,
        gvk: (String, String, String),
        params: Vec<Param>,
        body: Option<RequestBody>,
        consumes: &[&'static str],
        produces: &[&'static str],
        responses: Vec<(u16, &'static str, String)>,
    ) {
        let full = format!("{}/{}", self.root, path);
        let (operation_id, tag) = operation_id_and_tag(&operation, &full);
        self.routes.push(Route {
            path: full,
            method,
            operation_id,
            tag,
            description,
            action: Some(action),
            gvk: Some(gvk),
            params,
            body,
            consumes: consumes.to_vec(),
            produces: produces.to_vec(),
            responses,
        });
    }
}

/// The routes of a built-in resource and its subresources.
pub(crate) fn builtin_routes(spec: &ResourceSpec, kind_def: &str, list_def: &str) -> Vec<Route> {
    let mut b = Builder {
        root: root_path(spec),
        kind_def,
        list_def,
        routes: Vec::new(),
    };
    let kind = spec.kind.as_str();
    let gvk = (spec.group.clone(), spec.version.clone(), spec.kind.clone());
    let namespaced = if spec.namespaced { "Namespaced" } else { "" };
    let (collection, item) = if spec.namespaced {
        (
            format!("namespaces/{{namespace}}/{}", spec.resource),
            format!("namespaces/{{namespace}}/{}/{{name}}", spec.resource),
        )
    } else {
        (spec.resource.clone(), format!("{}/{{name}}", spec.resource))
    };
    let name_param = |kind: &str| Param::path("name", format!("name of the {kind}"));
    let ns_param = || Param::path("namespace", params::NAMESPACE.to_owned());
    let collection_params = || {
        let mut p = vec![pretty()];
        if spec.namespaced {
            p.push(ns_param());
        }
        p
    };
    let item_params = |kind: &str| {
        let mut p = collection_params();
        p.push(name_param(kind));
        p
    };
    let all = [&MEDIA_TYPES[..], &STREAM_MEDIA_TYPES[..]].concat();
    let kind_def = b.kind_def.to_owned();
    let list_def = b.list_def.to_owned();
    let delete_returns = if spec.delete_returns_object {
        kind_def.clone()
    } else {
        STATUS.to_owned()
    };
    let ok = |def: &str| vec![(200, "OK", def.to_owned())];

    if spec.has_verb("list") {
        let doc = if spec.has_verb("watch") {
            format!("list or watch objects of kind {kind}")
        } else {
            format!("list objects of kind {kind}")
        };
        b.push(
            &collection,
            Method::Get,
            format!("list{namespaced}{kind}"),
            doc,
            "list",
            gvk.clone(),
            [collection_params(), list_options(false)].concat(),
            None,
            &["*/*"],
            &all,
            ok(&list_def),
        );
    }
    if spec.has_verb("create") {
        b.push(
            &collection,
            Method::Post,
            format!("create{namespaced}{kind}"),
            format!("create{}{kind}", article_for(kind, " ")),
            "post",
            gvk.clone(),
            [collection_params(), write_options(false)].concat(),
            Some(RequestBody {
                definition: kind_def.clone(),
                required: true,
            }),
            &["*/*"],
            &MEDIA_TYPES,
            vec![
                (200, "OK", kind_def.clone()),
                (201, "Created", kind_def.clone()),
                (202, "Accepted", kind_def.clone()),
            ],
        );
    }
    if spec.has_verb("deletecollection") {
        b.push(
            &collection,
            Method::Delete,
            format!("deletecollection{namespaced}{kind}"),
            format!("delete collection of {kind}"),
            "deletecollection",
            gvk.clone(),
            [collection_params(), delete_options(), list_options(true)].concat(),
            Some(RequestBody {
                definition: DELETE_OPTIONS.to_owned(),
                required: false,
            }),
            &["*/*"],
            &MEDIA_TYPES,
            ok(STATUS),
        );
    }
    if spec.has_verb("watch") && spec.has_verb("list") {
        b.push(
            &format!("watch/{collection}"),
            Method::Get,
            format!("watch{namespaced}{kind}List"),
            format!(
                "watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."
            ),
            "watchlist",
            gvk.clone(),
            [collection_params(), list_options(false)].concat(),
            None,
            &["*/*"],
            &all,
            ok(WATCH_EVENT),
        );
    }
    if spec.has_verb("get") {
        b.push(
            &item,
            Method::Get,
            format!("read{namespaced}{kind}"),
            format!("read the specified {kind}"),
            "get",
            gvk.clone(),
            item_params(kind),
            None,
            &["*/*"],
            &MEDIA_TYPES,
            ok(&kind_def),
        );
    }
    if spec.has_verb("update") {
        b.push(
            &item,
            Method::Put,
            format!("replace{namespaced}{kind}"),
            format!("replace the specified {kind}"),
            "put",
            gvk.clone(),
            [item_params(kind), write_options(false)].concat(),
            Some(RequestBody {
                definition: kind_def.clone(),
                required: true,
            }),
            &["*/*"],
            &MEDIA_TYPES,
            vec![
                (200, "OK", kind_def.clone()),
                (201, "Created", kind_def.clone()),
            ],
        );
    }
    if spec.has_verb("patch") {
        b.push(
            &item,
            Method::Patch,
            format!("patch{namespaced}{kind}"),
            format!("partially update the specified {kind}"),
            "patch",
            gvk.clone(),
            [item_params(kind), write_options(true)].concat(),
            Some(RequestBody {
                definition: PATCH.to_owned(),
                required: true,
            }),
            &PATCH_TYPES,
            &MEDIA_TYPES,
            vec![
                (200, "OK", kind_def.clone()),
                (201, "Created", kind_def.clone()),
            ],
        );
    }
    if spec.has_verb("delete") {
        b.push(
            &item,
            Method::Delete,
            format!("delete{namespaced}{kind}"),
            format!("delete{}{kind}", article_for(kind, " ")),
            "delete",
            gvk.clone(),
            [item_params(kind), delete_options()].concat(),
            Some(RequestBody {
                definition: DELETE_OPTIONS.to_owned(),
                required: false,
            }),
            &["*/*"],
            &MEDIA_TYPES,
            vec![
                (200, "OK", delete_returns.clone()),
                (202, "Accepted", delete_returns),
            ],
        );
    }
    if spec.has_verb("watch") {
        b.push(
            &format!("watch/{item}"),
            Method::Get,
            format!("watch{namespaced}{kind}"),
            format!(
                "watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."
            ),
            "watch",
            gvk.clone(),
            [item_params(kind), list_options(false)].concat(),
            None,
            &["*/*"],
            &all,
            ok(WATCH_EVENT),
        );
    }
    let mut subresources = spec.subresources.clone();
    subresources.sort();
    for subresource in subresources {
        let sub = subresource.as_str();
        let path = format!("{item}/{sub}");
        let (sub_kind, sub_def, sub_gvk) = match subresource {
            Subresource::Scale => (
                "Scale",
                SCALE.to_owned(),
                (
                    "autoscaling".to_owned(),
                    "v1".to_owned(),
                    "Scale".to_owned(),
                ),
            ),
            _ => (kind, kind_def.clone(), gvk.clone()),
        };
        let suffix = title(sub);
        let methods: &[Method] = match subresource {
            Subresource::Finalize => &[Method::Put],
            _ => &[Method::Get, Method::Put, Method::Patch],
        };
        for method in methods {
            match method {
                Method::Get => b.push(
                    &path,
                    Method::Get,
                    format!("read{namespaced}{kind}{suffix}"),
                    format!("read {sub} of the specified {kind}"),
                    "get",
                    sub_gvk.clone(),
                    item_params(sub_kind),
                    None,
                    &["*/*"],
                    &MEDIA_TYPES,
                    ok(&sub_def),
                ),
                Method::Put => b.push(
                    &path,
                    Method::Put,
                    format!("replace{namespaced}{kind}{suffix}"),
                    format!("replace {sub} of the specified {kind}"),
                    "put",
                    sub_gvk.clone(),
                    [item_params(sub_kind), write_options(false)].concat(),
                    Some(RequestBody {
                        definition: sub_def.clone(),
                        required: true,
                    }),
                    &["*/*"],
                    &MEDIA_TYPES,
                    vec![
                        (200, "OK", sub_def.clone()),
                        (201, "Created", sub_def.clone()),
                    ],
                ),
                Method::Patch => b.push(
                    &path,
                    Method::Patch,
                    format!("patch{namespaced}{kind}{suffix}"),
                    format!("partially update {sub} of the specified {kind}"),
                    "patch",
                    sub_gvk.clone(),
                    [item_params(sub_kind), write_options(true)].concat(),
                    Some(RequestBody {
                        definition: PATCH.to_owned(),
                        required: true,
                    }),
                    &PATCH_TYPES,
                    &MEDIA_TYPES,
                    vec![
                        (200, "OK", sub_def.clone()),
                        (201, "Created", sub_def.clone()),
                    ],
                ),
                Method::Post | Method::Delete => {}
            }
        }
    }
    if spec.namespaced && spec.has_verb("list") {
        let resource = spec.resource.clone();
        b.push(
            &resource,
            Method::Get,
            format!("list{kind}ForAllNamespaces"),
            if spec.has_verb("watch") {
                format!("list or watch objects of kind {kind}")
            } else {
                format!("list objects of kind {kind}")
            },
            "list",
            gvk.clone(),
            [vec![pretty()], list_options(false)].concat(),
            None,
            &["*/*"],
            &all,
            ok(&list_def),
        );
        if spec.has_verb("watch") {
            b.push(
                &format!("watch/{resource}"),
                Method::Get,
                format!("watch{kind}ListForAllNamespaces"),
                format!(
                    "watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."
                ),
                "watchlist",
                gvk,
                [vec![pretty()], list_options(false)].concat(),
                None,
                &["*/*"],
                &all,
                ok(WATCH_EVENT),
            );
        }
    }
    b.routes
}

/// The routes apiextensions-apiserver publishes for a custom resource
/// version: no watch paths, JSON and YAML only, no strategic merge patch.
pub(crate) fn custom_routes(spec: &ResourceSpec, kind_def: &str, list_def: &str) -> Vec<Route> {
    let mut b = Builder {
        root: root_path(spec),
        kind_def,
        list_def,
        routes: Vec::new(),
    };
    let kind = spec.kind.as_str();
    let gvk = (spec.group.clone(), spec.version.clone(), spec.kind.clone());
    let namespaced = if spec.namespaced { "Namespaced" } else { "" };
    let collection = if spec.namespaced {
        format!("namespaces/{{namespace}}/{}", spec.resource)
    } else {
        spec.resource.clone()
    };
    let item = format!("{collection}/{{name}}");
    let kind_def = b.kind_def.to_owned();
    let list_def = b.list_def.to_owned();
    let path_params = |path: &str| {
        let mut p = vec![pretty()];
        if path.contains("{namespace}") {
            p.push(Param::path("namespace", params::NAMESPACE.to_owned()));
        }
        if path.contains("{name}") {
            p.push(Param::path("name", format!("name of the {kind}")));
        }
        p
    };
    let get_options = || {
        vec![Param::query(
            "resourceVersion",
            "string",
            params::RESOURCE_VERSION,
        )]
    };
    let ok = |def: &str| vec![(200, "OK", def.to_owned())];
    let with_custom = |path: &str, extra: Vec<Param>| [path_params(path), extra].concat();

    if spec.namespaced && spec.has_verb("list") {
        let resource = spec.resource.clone();
        b.push(
            &resource,
            Method::Get,
            format!("list{kind}ForAllNamespaces"),
            format!("list objects of kind {kind}"),
            "list",
            gvk.clone(),
            with_custom(&resource, list_options(false)),
            None,
            &CUSTOM_MEDIA_TYPES,
            &CUSTOM_MEDIA_TYPES,
            ok(&list_def),
        );
    }
    if spec.has_verb("list") {
        b.push(
            &collection,
            Method::Get,
            format!("list{namespaced}{kind}"),
            format!("list objects of kind {kind}"),
            "list",
            gvk.clone(),
            with_custom(&collection, list_options(false)),
            None,
            &CUSTOM_MEDIA_TYPES,
            &CUSTOM_MEDIA_TYPES,
            ok(&list_def),
        );
    }
    if spec.has_verb("create") {
        b.push(
            &collection,
            Method::Post,
            format!("create{namespaced}{kind}"),
            format!("create{}{kind}", article_for(kind, " ")),
            "post",
            gvk.clone(),
            with_custom(&collection, write_options(false)),
            Some(RequestBody {
                definition: kind_def.clone(),
                required: true,
            }),
            &CUSTOM_MEDIA_TYPES,
            &CUSTOM_MEDIA_TYPES,
            vec![
                (200, "OK", kind_def.clone()),
                (201, "Created", kind_def.clone()),
                (202, "Accepted", kind_def.clone()),
            ],
        );
    }
    if spec.has_verb("deletecollection") {
        b.push(
            &collection,
            Method::Delete,
            format!("deletecollection{namespaced}{kind}"),
            format!("delete collection of {kind}"),
            "deletecollection",
            gvk.clone(),
            with_custom(&collection, list_options(false)),
            None,
            &CUSTOM_MEDIA_TYPES,
            &CUSTOM_MEDIA_TYPES,
            ok(STATUS),
        );
    }
    let mut item_routes = vec![(item.clone(), kind_def.clone(), "")];
    let mut subresources = spec.subresources.clone();
    subresources.sort();
    for subresource in subresources {
        match subresource {
            Subresource::Status => {
                item_routes.push((format!("{item}/status"), kind_def.clone(), "status"))
            }
            Subresource::Scale => {
                item_routes.push((format!("{item}/scale"), SCALE.to_owned(), "scale"))
            }
            Subresource::Finalize => {}
        }
    }
    for (path, def, sub) in item_routes {
        let suffix = title(sub);
        let of = if sub.is_empty() {
            String::new()
        } else {
            format!(" {sub} of")
        };
        if spec.has_verb("get") {
            b.push(
                &path,
                Method::Get,
                format!("read{namespaced}{kind}{suffix}"),
                format!("read{of} the specified {kind}"),
                "get",
                gvk.clone(),
                with_custom(&path, get_options()),
                None,
                &CUSTOM_MEDIA_TYPES,
                &CUSTOM_MEDIA_TYPES,
                ok(&def),
            );
        }
        if spec.has_verb("update") {
            b.push(
                &path,
                Method::Put,
                format!("replace{namespaced}{kind}{suffix}"),
                format!("replace{of} the specified {kind}"),
                "put",
                gvk.clone(),
                with_custom(&path, write_options(false)),
                Some(RequestBody {
                    definition: def.clone(),
                    required: true,
                }),
                &CUSTOM_MEDIA_TYPES,
                &CUSTOM_MEDIA_TYPES,
                vec![(200, "OK", def.clone()), (201, "Created", def.clone())],
            );
        }
        if sub.is_empty() && spec.has_verb("delete") {
            b.push(
                &path,
                Method::Delete,
                format!("delete{namespaced}{kind}"),
                format!("delete{}{kind}", article_for(kind, " ")),
                "delete",
                gvk.clone(),
                with_custom(&path, delete_options()),
                Some(RequestBody {
                    definition: DELETE_OPTIONS.to_owned(),
                    required: false,
                }),
                &CUSTOM_MEDIA_TYPES,
                &CUSTOM_MEDIA_TYPES,
                vec![
                    (200, "OK", STATUS.to_owned()),
                    (202, "Accepted", STATUS.to_owned()),
                ],
            );
        }
        if spec.has_verb("patch") {
            b.push(
                &path,
                Method::Patch,
                format!("patch{namespaced}{kind}{suffix}"),
                format!("partially update{of} the specified {kind}"),
                "patch",
                gvk.clone(),
                with_custom(&path, write_options(true)),
                Some(RequestBody {
                    definition: PATCH.to_owned(),
                    required: true,
                }),
                &CUSTOM_PATCH_TYPES,
                &CUSTOM_MEDIA_TYPES,
                vec![(200, "OK", def.clone()), (201, "Created", def.clone())],
            );
        }
    }
    b.routes
}

fn root_path(spec: &ResourceSpec) -> String {
    format!("/{}", spec.group_version_path())
}

fn simple_route(
    path: &str,
    operation: &str,
    description: &str,
    definition: &str,
    media: &[&'static str],
) -> Route {
    let (operation_id, tag) = operation_id_and_tag(operation, path);
    Route {
        path: path.to_owned(),
        method: Method::Get,
        operation_id,
        tag,
        description: description.to_owned(),
        action: None,
        gvk: None,
        params: Vec::new(),
        body: None,
        consumes: media.to_vec(),
        produces: media.to_vec(),
        responses: vec![(200, "OK", definition.to_owned())],
    }
}

/// `GET /api/v1/` or `/apis/<group>/<version>/`: the group version's
/// resources (Go: `discovery.NewAPIVersionHandler`).
pub(crate) fn discovery_route(group: &str, version: &str) -> Route {
    let path = format!("/{}/", crate::spec::group_version_path(group, version));
    simple_route(
        &path,
        "getAPIResources",
        "get available resources",
        API_RESOURCE_LIST,
        &MEDIA_TYPES,
    )
}

/// `GET /apis/<group>/`: the group (Go: `discovery.NewAPIGroupHandler`).
pub(crate) fn group_route(group: &str) -> Route {
    simple_route(
        &format!("/apis/{group}/"),
        "getAPIGroup",
        "get information of a group",
        API_GROUP,
        &MEDIA_TYPES,
    )
}

/// `GET /apis/`: the groups.
pub(crate) fn apis_route() -> Route {
    simple_route(
        "/apis/",
        "getAPIVersions",
        "get available API versions",
        API_GROUP_LIST,
        &MEDIA_TYPES,
    )
}

/// `GET /api/`: the legacy versions.
pub(crate) fn api_route() -> Route {
    simple_route(
        "/api/",
        "getAPIVersions",
        "get available API versions",
        API_VERSIONS,
        &MEDIA_TYPES,
    )
}

/// `GET /version/`: the server's version.
pub(crate) fn version_route() -> Route {
    simple_route(
        "/version/",
        "getCodeVersion",
        "get the version information for this server",
        VERSION_INFO,
        &["application/json"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_id(operation: &str, path: &str, id: &str, tag: &str) {
        assert_eq!(
            operation_id_and_tag(operation, path),
            (id.to_owned(), tag.to_owned()),
            "{operation} {path}"
        );
    }

    #[test]
    fn operation_ids_like_go() {
        check_id(
            "listNamespacedConfigMap",
            "/api/v1/namespaces/{namespace}/configmaps",
            "listCoreV1NamespacedConfigMap",
            "core_v1",
        );
        check_id(
            "deletecollectionNamespacedConfigMap",
            "/api/v1/namespaces/{namespace}/configmaps",
            "deleteCoreV1CollectionNamespacedConfigMap",
            "core_v1",
        );
        check_id(
            "watchNamespacedLeaseList",
            "/apis/coordination.k8s.io/v1/watch/namespaces/{namespace}/leases",
            "watchCoordinationV1NamespacedLeaseList",
            "coordination_v1",
        );
        check_id(
            "readClusterRole",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}",
            "readRbacAuthorizationV1ClusterRole",
            "rbacAuthorization_v1",
        );
        check_id(
            "getAPIResources",
            "/api/v1/",
            "getCoreV1APIResources",
            "core_v1",
        );
        check_id(
            "getAPIGroup",
            "/apis/coordination.k8s.io/",
            "getCoordinationAPIGroup",
            "coordination",
        );
        check_id("getAPIVersions", "/apis/", "getAPIVersions", "apis");
        check_id("getAPIVersions", "/api/", "getCoreAPIVersions", "core");
        check_id("getCodeVersion", "/version/", "getCodeVersion", "version");
        check_id(
            "listCronTabForAllNamespaces",
            "/apis/stable.example.com/v1/crontabs",
            "listStableExampleComV1CronTabForAllNamespaces",
            "stableExampleCom_v1",
        );
    }

    #[test]
    fn articles() {
        assert_eq!(article_for("Event", " "), " an ");
        assert_eq!(article_for("ConfigMap", " "), " a ");
        assert_eq!(article_for("Endpoints", " "), " ");
        assert_eq!(article_for("Ingress", " "), " an ");
    }

    #[test]
    fn configmap_routes() {
        let spec = ResourceSpec::new("", "v1", "configmaps", "ConfigMap", true);
        let routes = builtin_routes(
            &spec,
            "io.k8s.api.core.v1.ConfigMap",
            "io.k8s.api.core.v1.ConfigMapList",
        );
        let ids: Vec<(&str, &str, &str)> = routes
            .iter()
            .map(|r| (r.path.as_str(), r.method.key(), r.operation_id.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                (
                    "/api/v1/namespaces/{namespace}/configmaps",
                    "get",
                    "listCoreV1NamespacedConfigMap"
                ),
                (
                    "/api/v1/namespaces/{namespace}/configmaps",
                    "post",
                    "createCoreV1NamespacedConfigMap"
                ),
                (
                    "/api/v1/namespaces/{namespace}/configmaps",
                    "delete",
                    "deleteCoreV1CollectionNamespacedConfigMap"
                ),
                (
                    "/api/v1/watch/namespaces/{namespace}/configmaps",
                    "get",
                    "watchCoreV1NamespacedConfigMapList"
                ),
                (
                    "/api/v1/namespaces/{namespace}/configmaps/{name}",
                    "get",
                    "readCoreV1NamespacedConfigMap"
                ),
                (
                    "/api/v1/namespaces/{namespace}/configmaps/{name}",
                    "put",
                    "replaceCoreV1NamespacedConfigMap"
                ),
                (
                    "/api/v1/namespaces/{namespace}/configmaps/{name}",
                    "patch",
                    "patchCoreV1NamespacedConfigMap"
                ),
                (
                    "/api/v1/namespaces/{namespace}/configmaps/{name}",
                    "delete",
                    "deleteCoreV1NamespacedConfigMap"
                ),
                (
                    "/api/v1/watch/namespaces/{namespace}/configmaps/{name}",
                    "get",
                    "watchCoreV1NamespacedConfigMap"
                ),
                (
                    "/api/v1/configmaps",
                    "get",
                    "listCoreV1ConfigMapForAllNamespaces"
                ),
                (
                    "/api/v1/watch/configmaps",
                    "get",
                    "watchCoreV1ConfigMapListForAllNamespaces"
                ),
            ]
        );
        let patch = &routes[6];
        assert!(patch.params.iter().any(|p| p.name == "fieldValidation"));
        assert!(patch.params.iter().any(|p| p.name == "force"));
    }

    #[test]
    fn subresource_routes() {
        let spec = ResourceSpec::new("", "v1", "namespaces", "Namespace", false)
            .with_subresource(Subresource::Status)
            .with_subresource(Subresource::Finalize);
        let routes = builtin_routes(
            &spec,
            "io.k8s.api.core.v1.Namespace",
            "io.k8s.api.core.v1.NamespaceList",
        );
        let ids: Vec<&str> = routes.iter().map(|r| r.operation_id.as_str()).collect();
        assert!(ids.contains(&"readCoreV1NamespaceStatus"));
        assert!(ids.contains(&"patchCoreV1NamespaceStatus"));
        assert!(ids.contains(&"replaceCoreV1NamespaceFinalize"));
        assert!(!ids.contains(&"listCoreV1NamespaceForAllNamespaces"));

        let spec = ResourceSpec::new("stable.example.com", "v1", "crontabs", "CronTab", true)
            .with_subresource(Subresource::Scale);
        let routes = custom_routes(
            &spec,
            "com.example.stable.v1.CronTab",
            "com.example.stable.v1.CronTabList",
        );
        let scale = routes
            .iter()
            .find(|r| r.operation_id == "readStableExampleComV1NamespacedCronTabScale")
            .expect("scale route");
        assert_eq!(
            scale.gvk,
            Some(("stable.example.com".into(), "v1".into(), "CronTab".into()))
        );
        assert_eq!(scale.responses[0].2, SCALE);
    }
}
