//! What a request is about: [`RequestInfo`], resolved from the method and the
//! URL by [`RequestInfoResolver`], and the long-running check built on it.
//!
//! Mirrors `k8s.io/apiserver/pkg/endpoints/request/requestinfo.go`
//! (`RequestInfoFactory.NewRequestInfo`) and
//! `k8s.io/apiserver/pkg/server/filters/longrunning.go`
//! (`BasicLongRunningRequestCheck` with kube-apiserver's verbs and
//! subresources). Authorization, audit, priority and fairness and the REST
//! handlers all read the result, so every field is filled exactly as Go fills
//! it, including the quirks (a `metadata.name` field selector names a list).
//!
//! ```
//! use http::Method;
//! use kapi_core::{RequestInfoResolver, is_long_running};
//!
//! let uri = "/api/v1/namespaces/default/pods?watch=true".parse().unwrap();
//! let info = RequestInfoResolver::default().resolve(&Method::GET, &uri).unwrap();
//! assert_eq!((info.verb.as_str(), info.namespace.as_str(), info.resource.as_str()), ("watch", "default", "pods"));
//! assert!(is_long_running(&info));
//! ```

use std::collections::{BTreeMap, BTreeSet};

use http::{Method, Uri};

use crate::selector::{FieldSelector, LabelSelector};

/// What a request is about (Go: `request.RequestInfo`).
///
/// Resource requests (`/api/v1/namespaces/ns/pods/x`) carry the API group,
/// version, namespace, resource, subresource and name; every other request
/// carries only its path and its lowercased HTTP method as the verb.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestInfo {
    /// Whether the request is for an API resource or subresource.
    pub is_resource_request: bool,
    /// The URL path, percent-decoded (Go: `URL.Path`).
    pub path: String,
    /// The Kubernetes verb (`get`, `list`, `watch`, `create`, `update`,
    /// `patch`, `delete`, `deletecollection`, `proxy`), or the lowercased
    /// HTTP method of a non-resource request. Empty for a resource request
    /// with an unusual method (`OPTIONS`).
    pub verb: String,
    /// The API prefix (`api` or `apis`), without slashes.
    pub api_prefix: String,
    /// The API group (empty for the core group).
    pub api_group: String,
    /// The API version (`v1`).
    pub api_version: String,
    /// The namespace, empty for cluster-scoped or all-namespaces requests.
    pub namespace: String,
    /// The resource (`pods`), not the kind.
    pub resource: String,
    /// The subresource (`status`, `scale`, `exec`), if any.
    pub subresource: String,
    /// The object's name when the request names one (in the path, or with a
    /// `metadata.name=` field selector on a list or watch).
    pub name: String,
    /// The path parts from the resource on: `[resource, name, subresource, …]`.
    pub parts: Vec<String>,
    /// The raw `fieldSelector` query parameter, for list, watch and
    /// deletecollection only.
    pub field_selector: String,
    /// The raw `labelSelector` query parameter, for list, watch and
    /// deletecollection only.
    pub label_selector: String,
}

/// Resolves a method and URL into a [`RequestInfo`] (Go: `RequestInfoFactory`).
///
/// A path is a resource path when its first segment is one of
/// `api_prefixes`; prefixes in `grouped_api_prefixes` are followed by an API
/// group (`/apis/<group>/<version>/…`), the others are not (`/api/v1/…`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestInfoResolver {
    /// Path prefixes of resource requests, without slashes (`api`, `apis`).
    pub api_prefixes: BTreeSet<String>,
    /// The prefixes among `api_prefixes` that are followed by a group (`apis`).
    pub grouped_api_prefixes: BTreeSet<String>,
}

impl Default for RequestInfoResolver {
    /// kube-apiserver's resolver: prefixes `api` and `apis`, `apis` grouped.
    fn default() -> Self {
        Self {
            api_prefixes: ["api", "apis"].map(String::from).into(),
            grouped_api_prefixes: ["apis"].map(String::from).into(),
        }
    }
}

/// A request whose [`RequestInfo`] cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestInfoError {
    /// A `watch` or `proxy` path segment with nothing after it
    /// (`/api/v1/watch`).
    #[error("unable to determine kind and namespace from url, {url}")]
    MissingResource {
        /// The request URL (path and query).
        url: String,
    },
    /// The path has a `%` not followed by two hex digits (Go's URL parser
    /// rejects such a request before any handler runs).
    #[error("invalid URL escape {escape:?}")]
    InvalidEscape {
        /// The offending escape, up to three characters.
        escape: String,
    },
}

impl RequestInfoResolver {
    /// Resolves what the request is about (Go: `NewRequestInfo`).
    ///
    /// The rules, in order: paths with fewer than three segments or an unknown
    /// prefix are non-resource requests; a grouped prefix needs four. A
    /// leading `watch` or `proxy` segment sets the verb, otherwise the method
    /// does. `namespaces/<ns>` is consumed unless followed by a namespace
    /// subresource (`status`, `finalize`). A GET without a name is a `list`,
    /// or a `watch` with `?watch=` set to anything but `false`/`0`, and a
    /// `fieldSelector=metadata.name=<x>` names it; a DELETE without a name is
    /// a `deletecollection`. Selectors are kept for list, watch and
    /// deletecollection unless the verb came from the path.
    pub fn resolve(&self, method: &Method, uri: &Uri) -> Result<RequestInfo, RequestInfoError> {
        let path = decode_path(uri.path())?;
        let mut info = RequestInfo {
            verb: method.as_str().to_ascii_lowercase(),
            ..RequestInfo::default()
        };
        let segments = split_path(&path);
        info.path = path.clone();

        let mut parts: &[&str] = &segments;
        if parts.len() < 3 || !self.api_prefixes.contains(parts[0]) {
            return Ok(info);
        }
        // Go records the prefix even when too few segments follow it.
        info.api_prefix = parts[0].to_owned();
        parts = &parts[1..];
        let grouped = self.grouped_api_prefixes.contains(&info.api_prefix);
        if grouped && parts.len() < 3 {
            return Ok(info);
        }
        if grouped {
            info.api_group = parts[0].to_owned();
            parts = &parts[1..];
        }
        info.is_resource_request = true;
        info.api_version = parts[0].to_owned();
        parts = &parts[1..];

        let verb_from_path = matches!(parts[0], "watch" | "proxy");
        if verb_from_path {
            if parts.len() < 2 {
                return Err(RequestInfoError::MissingResource {
                    url: uri
                        .path_and_query()
                        .map_or_else(|| uri.to_string(), |pq| pq.as_str().to_owned()),
                });
            }
            info.verb = parts[0].to_owned();
            parts = &parts[1..];
        } else {
            info.verb = match *method {
                Method::POST => "create",
                Method::GET | Method::HEAD => "get",
                Method::PUT => "update",
                Method::PATCH => "patch",
                Method::DELETE => "delete",
                _ => "",
            }
            .to_owned();
        }

        if parts[0] == "namespaces" && parts.len() > 1 {
            info.namespace = parts[1].to_owned();
            if parts.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&parts[2]) {
                parts = &parts[2..];
            }
        }
        info.parts = parts.iter().map(|p| (*p).to_owned()).collect();

        // proxy takes no subresource: everything after the name is its path.
        if parts.len() >= 3 && info.verb != "proxy" {
            info.subresource = parts[2].to_owned();
        }
        if parts.len() >= 2 {
            info.name = parts[1].to_owned();
        }
        info.resource = parts[0].to_owned();

        let query = parse_query(uri.query().unwrap_or(""));
        if info.name.is_empty() && info.verb == "get" {
            resolve_collection_get(&mut info, &query);
        }
        if info.name.is_empty() && info.verb == "delete" {
            info.verb = "deletecollection".to_owned();
        }
        // The deprecated `/watch/` paths serve single objects too, and only the
        // collection form honours selectors, so Go keeps none for them.
        if !verb_from_path && matches!(info.verb.as_str(), "list" | "watch" | "deletecollection") {
            info.field_selector = first(&query, "fieldSelector")
                .unwrap_or_default()
                .to_owned();
            info.label_selector = first(&query, "labelSelector")
                .unwrap_or_default()
                .to_owned();
        }
        Ok(info)
    }
}

/// Whether kube-apiserver treats the request as long-running, exempt from
/// the request timeout and the max-in-flight limit.
///
/// Mirrors `BasicLongRunningRequestCheck` with kube-apiserver's sets: the verbs
/// `watch` and `proxy`; on resource requests the subresources `attach`,
/// `exec`, `proxy`, `log` and `portforward`; on other requests the paths under
/// `/debug/pprof/`.
pub fn is_long_running(info: &RequestInfo) -> bool {
    if matches!(info.verb.as_str(), "watch" | "proxy") {
        return true;
    }
    if info.is_resource_request {
        matches!(
            info.subresource.as_str(),
            "attach" | "exec" | "proxy" | "log" | "portforward"
        )
    } else {
        info.path.starts_with("/debug/pprof/")
    }
}

/// Subresources of a namespace, which `namespaces/<ns>/<x>` must not read
/// as a namespaced resource `<x>`.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

/// Turns a nameless `get` into `list` or `watch`, naming it from a
/// `metadata.name` field selector.
///
/// Go decodes the query into `ListOptions` first; when any of its parameters
/// is malformed it ignores them all but `watch`, so a field selector then
/// names nothing.
fn resolve_collection_get(info: &mut RequestInfo, query: &Query) {
    let watch = first(query, "watch").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    info.verb = if watch { "watch" } else { "list" }.to_owned();

    let options_decode = first(query, "labelSelector")
        .is_none_or(|s| LabelSelector::parse(s).is_ok())
        && ["timeoutSeconds", "limit"]
            .iter()
            .all(|key| first(query, key).is_none_or(|v| v.parse::<i64>().is_ok()));
    let field_selector = match first(query, "fieldSelector") {
        None => None,
        Some(raw) => match FieldSelector::parse(raw) {
            Ok(selector) => Some(selector),
            Err(_) => return,
        },
    };
    if !options_decode {
        return;
    }
    if let Some(name) = field_selector
        .as_ref()
        .and_then(|s| s.requires_exact_match("metadata.name"))
        && is_path_segment_name(name)
    {
        info.name = name.to_owned();
    }
}

/// Whether `name` can be a path segment (Go: `content.IsPathSegmentName`
/// returning no errors).
fn is_path_segment_name(name: &str) -> bool {
    crate::validation::is_path_segment_name(name).is_empty()
}

/// Query parameters in order of appearance, each with all its values.
pub(crate) type Query = BTreeMap<String, Vec<String>>;

pub(crate) fn first<'q>(query: &'q Query, key: &str) -> Option<&'q str> {
    query.get(key).and_then(|v| v.first()).map(String::as_str)
}

/// Parses a query string as Go's `url.ParseQuery` does, grouping the values
/// of each key.
pub(crate) fn parse_query(raw: &str) -> Query {
    let mut query = Query::new();
    for (key, value) in crate::go::parse_query(raw) {
        query.entry(key).or_default().push(value);
    }
    query
}

/// Percent-decodes a path as Go's URL parser does (a bad escape rejects the
/// request; `+` stays `+`).
fn decode_path(raw: &str) -> Result<String, RequestInfoError> {
    crate::go::path_unescape(raw).ok_or_else(|| {
        // Name the first `%` that does not start a valid escape, as Go does.
        let bad = raw
            .match_indices('%')
            .map(|(at, _)| at)
            .find(|&at| {
                let hex = |i: usize| raw.as_bytes().get(i).is_some_and(u8::is_ascii_hexdigit);
                !(hex(at + 1) && hex(at + 2))
            })
            .unwrap_or(0);
        let tail = raw.get(bad..).unwrap_or_default();
        let end = tail.char_indices().nth(3).map_or(tail.len(), |(j, _)| j);
        RequestInfoError::InvalidEscape {
            escape: tail[..end].to_owned(),
        }
    })
}

/// The segments of a path without its leading and trailing slashes; inner
/// empty segments are kept (Go: `splitPath`).
fn split_path(path: &str) -> Vec<&str> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(method: &str, url: &str) -> Result<RequestInfo, RequestInfoError> {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        RequestInfoResolver::default().resolve(&method, &url.parse().unwrap())
    }

    /// `(verb, prefix, group, version, namespace, resource, subresource, name, parts)`
    type Expected<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a [&'a str],
    );

    fn check(method: &str, url: &str, expected: Expected<'_>) {
        let info = resolve(method, url).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let actual = (
            info.verb.as_str(),
            info.api_prefix.as_str(),
            info.api_group.as_str(),
            info.api_version.as_str(),
            info.namespace.as_str(),
            info.resource.as_str(),
            info.subresource.as_str(),
            info.name.as_str(),
            info.parts.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let (v, p, g, ver, ns, r, sub, n, parts) = expected;
        assert_eq!(
            actual,
            (v, p, g, ver, ns, r, sub, n, parts.to_vec()),
            "{method} {url}"
        );
        assert!(info.is_resource_request, "{method} {url}");
    }

    /// Go's `TestGetAPIRequestInfo` success cases. Go's table expects the
    /// prefix `api` for `/apis/…` paths but never checks it; the real prefix
    /// is asserted here.
    #[test]
    fn api_request_info() {
        let cases: &[(&str, &str, Expected<'_>)] = &[
            // resource paths
            (
                "GET",
                "/api/v1/namespaces",
                (
                    "list",
                    "api",
                    "",
                    "v1",
                    "",
                    "namespaces",
                    "",
                    "",
                    &["namespaces"],
                ),
            ),
            (
                "GET",
                "/api/v1/namespaces/other",
                (
                    "get",
                    "api",
                    "",
                    "v1",
                    "other",
                    "namespaces",
                    "",
                    "other",
                    &["namespaces", "other"],
                ),
            ),
            (
                "GET",
                "/api/v1/namespaces/other/pods",
                ("list", "api", "", "v1", "other", "pods", "", "", &["pods"]),
            ),
            (
                "GET",
                "/api/v1/namespaces/other/pods/foo",
                (
                    "get",
                    "api",
                    "",
                    "v1",
                    "other",
                    "pods",
                    "",
                    "foo",
                    &["pods", "foo"],
                ),
            ),
            (
                "HEAD",
                "/api/v1/namespaces/other/pods/foo",
                (
                    "get",
                    "api",
                    "",
                    "v1",
                    "other",
                    "pods",
                    "",
                    "foo",
                    &["pods", "foo"],
                ),
            ),
            (
                "GET",
                "/api/v1/pods",
                ("list", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ),
            (
                "HEAD",
                "/api/v1/pods",
                ("list", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ),
            // special verbs
            (
                "GET",
                "/api/v1/proxy/namespaces/other/pods/foo",
                (
                    "proxy",
                    "api",
                    "",
                    "v1",
                    "other",
                    "pods",
                    "",
                    "foo",
                    &["pods", "foo"],
                ),
            ),
            (
                "GET",
                "/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource",
                (
                    "proxy",
                    "api",
                    "",
                    "v1",
                    "other",
                    "pods",
                    "",
                    "foo",
                    &["pods", "foo", "subpath", "not", "a", "subresource"],
                ),
            ),
            (
                "GET",
                "/api/v1/watch/pods",
                ("watch", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ),
            (
                "GET",
                "/api/v1/pods?watch=true",
                ("watch", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ),
            (
                "GET",
                "/api/v1/pods?watch=false",
                ("list", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ),
            (
                "GET",
                "/api/v1/watch/namespaces/other/pods",
                ("watch", "api", "", "v1", "other", "pods", "", "", &["pods"]),
            ),
            (
                "GET",
                "/api/v1/namespaces/other/pods?watch=1",
                ("watch", "api", "", "v1", "other", "pods", "", "", &["pods"]),
            ),
            (
                "GET",
                "/api/v1/namespaces/other/pods?watch=0",
                ("list", "api", "", "v1", "other", "pods", "", "", &["pods"]),
            ),
            // subresource identification
            (
                "GET",
                "/api/v1/namespaces/other/pods/foo/status",
                (
                    "get",
                    "api",
                    "",
                    "v1",
                    "other",
                    "pods",
                    "status",
                    "foo",
                    &["pods", "foo", "status"],
                ),
            ),
            (
                "GET",
                "/api/v1/namespaces/other/pods/foo/proxy/subpath",
                (
                    "get",
                    "api",
                    "",
                    "v1",
                    "other",
                    "pods",
                    "proxy",
                    "foo",
                    &["pods", "foo", "proxy", "subpath"],
                ),
            ),
            (
                "PUT",
                "/api/v1/namespaces/other/finalize",
                (
                    "update",
                    "api",
                    "",
                    "v1",
                    "other",
                    "namespaces",
                    "finalize",
                    "other",
                    &["namespaces", "other", "finalize"],
                ),
            ),
            (
                "PUT",
                "/api/v1/namespaces/other/status",
                (
                    "update",
                    "api",
                    "",
                    "v1",
                    "other",
                    "namespaces",
                    "status",
                    "other",
                    &["namespaces", "other", "status"],
                ),
            ),
            // verb identification
            (
                "PATCH",
                "/api/v1/namespaces/other/pods/foo",
                (
                    "patch",
                    "api",
                    "",
                    "v1",
                    "other",
                    "pods",
                    "",
                    "foo",
                    &["pods", "foo"],
                ),
            ),
            (
                "DELETE",
                "/api/v1/namespaces/other/pods/foo",
                (
                    "delete",
                    "api",
                    "",
                    "v1",
                    "other",
                    "pods",
                    "",
                    "foo",
                    &["pods", "foo"],
                ),
            ),
            (
                "POST",
                "/api/v1/namespaces/other/pods",
                (
                    "create",
                    "api",
                    "",
                    "v1",
                    "other",
                    "pods",
                    "",
                    "",
                    &["pods"],
                ),
            ),
            // deletecollection verb identification
            (
                "DELETE",
                "/api/v1/nodes",
                (
                    "deletecollection",
                    "api",
                    "",
                    "v1",
                    "",
                    "nodes",
                    "",
                    "",
                    &["nodes"],
                ),
            ),
            (
                "DELETE",
                "/api/v1/namespaces",
                (
                    "deletecollection",
                    "api",
                    "",
                    "v1",
                    "",
                    "namespaces",
                    "",
                    "",
                    &["namespaces"],
                ),
            ),
            (
                "DELETE",
                "/api/v1/namespaces/other/pods",
                (
                    "deletecollection",
                    "api",
                    "",
                    "v1",
                    "other",
                    "pods",
                    "",
                    "",
                    &["pods"],
                ),
            ),
            (
                "DELETE",
                "/apis/extensions/v1/namespaces/other/pods",
                (
                    "deletecollection",
                    "apis",
                    "extensions",
                    "v1",
                    "other",
                    "pods",
                    "",
                    "",
                    &["pods"],
                ),
            ),
            // api group and version identification
            (
                "POST",
                "/apis/extensions/v1/namespaces/other/pods",
                (
                    "create",
                    "apis",
                    "extensions",
                    "v1",
                    "other",
                    "pods",
                    "",
                    "",
                    &["pods"],
                ),
            ),
            (
                "POST",
                "/apis/extensions/v1beta3/namespaces/other/pods",
                (
                    "create",
                    "apis",
                    "extensions",
                    "v1beta3",
                    "other",
                    "pods",
                    "",
                    "",
                    &["pods"],
                ),
            ),
            // beyond Go's table
            (
                "OPTIONS",
                "/api/v1/pods",
                ("", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ),
            (
                "GET",
                "/api/v1/watch/namespaces/other/pods/foo",
                (
                    "watch",
                    "api",
                    "",
                    "v1",
                    "other",
                    "pods",
                    "",
                    "foo",
                    &["pods", "foo"],
                ),
            ),
            (
                "GET",
                "/api/v1/watch/pods/foo/status",
                (
                    "watch",
                    "api",
                    "",
                    "v1",
                    "",
                    "pods",
                    "status",
                    "foo",
                    &["pods", "foo", "status"],
                ),
            ),
            (
                "GET",
                "/apis/apps/v1/namespaces/ns/deployments/web/scale",
                (
                    "get",
                    "apis",
                    "apps",
                    "v1",
                    "ns",
                    "deployments",
                    "scale",
                    "web",
                    &["deployments", "web", "scale"],
                ),
            ),
            (
                "GET",
                "/api/v1/pods?watch=",
                ("watch", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ),
            (
                "GET",
                "/api/v1/pods?watch=FALSE",
                ("list", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ),
            (
                "GET",
                "/api/v1/pods?watch",
                ("watch", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ),
            (
                "GET",
                "/api/v1/pods?watch=false&watch=true",
                ("list", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ),
            (
                "GET",
                "/api/v1/pods/foo?watch=true",
                (
                    "get",
                    "api",
                    "",
                    "v1",
                    "",
                    "pods",
                    "",
                    "foo",
                    &["pods", "foo"],
                ),
            ),
            (
                "GET",
                "/api/v1/namespaces/other/",
                (
                    "get",
                    "api",
                    "",
                    "v1",
                    "other",
                    "namespaces",
                    "",
                    "other",
                    &["namespaces", "other"],
                ),
            ),
            (
                "GET",
                "//api//v1/pods",
                ("get", "api", "", "", "", "v1", "", "pods", &["v1", "pods"]),
            ),
            (
                "GET",
                "/api/v1/namespaces/a%2Fb/pods",
                ("get", "api", "", "v1", "a", "b", "", "pods", &["b", "pods"]),
            ),
            (
                "GET",
                "/api/v1/namespaces/a%20b/pods/x+y",
                (
                    "get",
                    "api",
                    "",
                    "v1",
                    "a b",
                    "pods",
                    "",
                    "x+y",
                    &["pods", "x+y"],
                ),
            ),
        ];
        for (method, url, expected) in cases {
            check(method, url, *expected);
        }
    }

    /// Go's `TestGetNonAPIRequestInfo` plus its table of error cases and the
    /// requests every server answers outside the resource tree.
    #[test]
    fn resource_or_not() {
        let cases = [
            ("/api/version/resource", true),
            ("/apis/group/version/resource/name/subresource", true),
            ("/api/version/resource/name/subresource", true),
            ("/apis/batch/v1/job", true),
            ("/apis/batch/v1/job/foo", true),
            ("/apis/batch/v1/job/foo/scale", true),
            ("/not-api/version/resource", false),
            ("/apis/extensions/v1beta1", false),
            ("/apis/extensions/v1beta1/", false),
            ("/api/version", false),
            ("/api", false),
            ("/", false),
            ("/api/version/", false),
            ("/apis/group/version/", false),
            ("/badprefix/version/resource", false),
            ("/apis/version/resource", false),
            ("/apis", false),
            ("/apis/apps", false),
            ("/healthz", false),
            ("/healthz/ping", false),
            ("/version", false),
            ("/openapi/v2", false),
            ("/openapi/v3/apis/apps/v1", false),
            ("/debug/pprof/profile", false),
        ];
        for (url, expected) in cases {
            let info = resolve("GET", url).unwrap();
            assert_eq!(info.is_resource_request, expected, "{url}");
            if !expected {
                assert_eq!(info.verb, "get", "{url}");
                assert_eq!(info.path, url, "{url}");
                assert!(info.resource.is_empty() && info.parts.is_empty(), "{url}");
            }
        }
        let info = resolve("POST", "/healthz").unwrap();
        assert_eq!(info.verb, "post");
        // Go records the prefix of a too-short grouped path.
        assert_eq!(resolve("GET", "/apis/apps/v1").unwrap().api_prefix, "apis");
    }

    /// Go's `TestSelectorParsing`, plus the `ListOptions` parameters whose
    /// malformed values make Go drop the selector's name.
    #[test]
    fn selectors() {
        // (method, url, name, verb, field selector, label selector)
        let cases = [
            ("GET", "/apis/group/version/resource", "", "list", "", ""),
            (
                "GET",
                "/apis/group/version/resource?fieldSelector=metadata.name=name1",
                "name1",
                "list",
                "metadata.name=name1",
                "",
            ),
            (
                "GET",
                "/apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1",
                "name1",
                "watch",
                "metadata.name=name1",
                "",
            ),
            (
                "GET",
                "/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux",
                "",
                "list",
                "foo=bar",
                "baz=qux",
            ),
            (
                "GET",
                "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo",
                "",
                "list",
                "metadata.name=name1,foo",
                "",
            ),
            (
                "GET",
                "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true",
                "",
                "watch",
                "metadata.name=name1,foo",
                "",
            ),
            (
                "GET",
                "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=false",
                "",
                "list",
                "metadata.name=name1,foo",
                "",
            ),
            (
                "DELETE",
                "/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux",
                "",
                "deletecollection",
                "foo=bar",
                "baz=qux",
            ),
            (
                "GET",
                "/apis/group/version/resource?fieldSelector=metadata.name=foo&fieldSelector=metadata.name=bar&labelSelector=foo=bar&labelSelector=foo=baz",
                "foo",
                "list",
                "metadata.name=foo",
                "foo=bar",
            ),
            (
                "GET",
                "/apis/group/version/resource/name?fieldSelector=foo=bar&labelSelector=foo=bar",
                "name",
                "get",
                "",
                "",
            ),
            (
                "GET",
                "/apis/group/version/watch/resource?fieldSelector=metadata.name=foo&labelSelector=foo=bar",
                "",
                "watch",
                "",
                "",
            ),
            (
                "GET",
                "/apis/group/version/watch/resource/name?fieldSelector=metadata.name=foo&labelSelector=foo=bar",
                "name",
                "watch",
                "",
                "",
            ),
            // beyond Go's table
            (
                "GET",
                "/api/v1/pods?fieldSelector=metadata.name%3Dweb%2Cspec.nodeName%3Dn1",
                "web",
                "list",
                "metadata.name=web,spec.nodeName=n1",
                "",
            ),
            (
                "GET",
                "/api/v1/pods?fieldSelector=metadata.name==web",
                "web",
                "list",
                "metadata.name==web",
                "",
            ),
            (
                "GET",
                "/api/v1/pods?fieldSelector=metadata.name!=web",
                "",
                "list",
                "metadata.name!=web",
                "",
            ),
            (
                "GET",
                "/api/v1/pods?fieldSelector=metadata.name=..",
                "",
                "list",
                "metadata.name=..",
                "",
            ),
            (
                "GET",
                "/api/v1/pods?fieldSelector=metadata.name=a%25b",
                "",
                "list",
                "metadata.name=a%b",
                "",
            ),
            (
                "GET",
                "/api/v1/pods?fieldSelector=metadata.name=web&labelSelector=a%20in",
                "",
                "list",
                "metadata.name=web",
                "a in",
            ),
            (
                "GET",
                "/api/v1/pods?fieldSelector=metadata.name=web&limit=x",
                "",
                "list",
                "metadata.name=web",
                "",
            ),
            (
                "GET",
                "/api/v1/pods?fieldSelector=metadata.name=web&timeoutSeconds=",
                "",
                "list",
                "metadata.name=web",
                "",
            ),
            (
                "GET",
                "/api/v1/pods?fieldSelector=metadata.name=web&limit=500&timeoutSeconds=%2B3",
                "web",
                "list",
                "metadata.name=web",
                "",
            ),
            (
                "GET",
                "/api/v1/pods?fieldSelector=metadata.name=web;x=y",
                "",
                "list",
                "",
                "",
            ),
            (
                "GET",
                "/api/v1/pods?fieldSelector=metadata.name=%zz&labelSelector=a+b",
                "",
                "list",
                "",
                "a b",
            ),
            (
                "DELETE",
                "/api/v1/pods?fieldSelector=metadata.name=web",
                "",
                "deletecollection",
                "metadata.name=web",
                "",
            ),
            (
                "POST",
                "/api/v1/pods?fieldSelector=a=b",
                "",
                "create",
                "",
                "",
            ),
        ];
        for (method, url, name, verb, field, label) in cases {
            let info = resolve(method, url).unwrap();
            let actual = (
                info.name.as_str(),
                info.verb.as_str(),
                info.field_selector.as_str(),
                info.label_selector.as_str(),
            );
            assert_eq!(actual, (name, verb, field, label), "{method} {url}");
        }
    }

    #[test]
    fn errors() {
        let cases = [
            (
                "/api/v1/watch",
                "unable to determine kind and namespace from url, /api/v1/watch",
            ),
            (
                "/apis/g/v1/proxy/?a=b",
                "unable to determine kind and namespace from url, /apis/g/v1/proxy/?a=b",
            ),
            ("/api/v1/pods/a%zz", r#"invalid URL escape "%zz""#),
            ("/api/v1/pods/a%4", r#"invalid URL escape "%4""#),
            ("/healthz%", r#"invalid URL escape "%""#),
        ];
        for (url, message) in cases {
            let err = resolve("GET", url).unwrap_err();
            assert_eq!(err.to_string(), message, "{url}");
        }
    }

    #[test]
    fn long_running() {
        let cases = [
            ("GET", "/api/v1/pods?watch=true", true),
            ("GET", "/api/v1/watch/pods", true),
            ("GET", "/api/v1/proxy/namespaces/ns/pods/p", true),
            ("POST", "/api/v1/namespaces/ns/pods/p/exec", true),
            ("GET", "/api/v1/namespaces/ns/pods/p/attach", true),
            ("GET", "/api/v1/namespaces/ns/pods/p/log", true),
            ("POST", "/api/v1/namespaces/ns/pods/p/portforward", true),
            ("GET", "/api/v1/namespaces/ns/services/s/proxy/x", true),
            ("GET", "/debug/pprof/profile", true),
            ("GET", "/api/v1/pods", false),
            ("GET", "/api/v1/namespaces/ns/pods/p/status", false),
            ("GET", "/healthz", false),
            ("GET", "/debug/pprof", false),
            ("GET", "/logs/exec", false),
        ];
        for (method, url, expected) in cases {
            let info = resolve(method, url).unwrap();
            assert_eq!(is_long_running(&info), expected, "{method} {url}");
        }
    }

    /// Garbage paths and queries never panic.
    #[test]
    fn garbage_does_not_panic() {
        let segments = [
            "",
            "api",
            "apis",
            "v1",
            "watch",
            "proxy",
            "namespaces",
            "status",
            "%",
            "%2",
            "%zz",
            "%C3",
            "é",
            "..",
            "+",
            "?",
            "?watch",
            "?fieldSelector=metadata.name=%",
            "?;",
            "?&&=&",
        ];
        let methods = ["GET", "DELETE", "PATCH", "OPTIONS", "CUSTOM"];
        for a in segments {
            for b in segments {
                for c in segments {
                    let path = format!("/{a}/{b}/{c}/x");
                    let Ok(uri) = path.parse::<Uri>() else {
                        continue;
                    };
                    for method in methods {
                        let method = Method::from_bytes(method.as_bytes()).unwrap();
                        let _ = RequestInfoResolver::default().resolve(&method, &uri);
                    }
                }
            }
        }
    }
}
