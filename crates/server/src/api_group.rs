//! API groups: [`ApiGroupInfo`] (the resources of one group, by version),
//! their installation on a [`GenericApiServer`] under `/api/<version>` or
//! `/apis/<group>/<version>`, and the legacy discovery documents (`/api`,
//! `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`).
//!
//! Mirrors `APIGroupInfo`, `NewDefaultAPIGroupInfo`, `InstallAPIGroup(s)`
//! and `InstallLegacyAPIGroup` of `pkg/server/genericapiserver.go`, and the
//! legacy handlers of `pkg/endpoints/discovery` (`root.go`, `group.go`,
//! `version.go`, `legacy.go`). Aggregated discovery, chosen on `/api` and
//! `/apis` by the `Accept` header, lives in [`aggregated`]; its document is
//! computed on each request from the groups installed so far, so a group
//! installed later shows at once.
//!
//! Deliberate differences from Go, for now:
//! - `serverAddressByClientCIDRs` of `/api` names the address the client
//!   used (the request's authority or `Host`), not `--advertise-address`;
//! - the legacy documents are always written as JSON (an `Accept` that
//!   allows neither JSON nor YAML is still 406, as in Go);
//! - on a server without a delegate, a path under `/api/` or `/apis/` that
//!   names no installed group or version answers the 404 `Status` "the
//!   server could not find the requested resource" (Go's last server
//!   answers its index); with a delegate, such paths go to the delegate;
//! - no `storageVersionHash`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use http::{HeaderValue, Method, StatusCode, header};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroup, APIGroupList, APIResource, APIResourceList, APIVersions, GroupVersionForDiscovery,
    ServerAddressByClientCIDR,
};
use kapi_core::negotiation::{Endpoint, SUPPORTED_MEDIA_TYPES, negotiate_output};
use kapi_core::{
    API_PREFIX, APIS_PREFIX, Body, BoxHandler, Request, RequestInfoResolver, Response, StatusError,
    box_handler,
};
use kapi_endpoints::{ResourceEndpoint, ResourceHandler, ResourceInfo};
use kapi_mux::PathRecorderMux;
use kapi_storage::registry::Store;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

mod aggregated;
use crate::server::GenericApiServer;

/// The resources of one API group, by version (Go: `APIGroupInfo`).
#[derive(Debug, Clone)]
pub struct ApiGroupInfo {
    group: String,
    prioritized_versions: Vec<String>,
    resources: BTreeMap<String, Vec<InstalledResource>>,
}

/// What discovery says about a resource beyond its [`ResourceInfo`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ResourceDiscovery {
    /// The singular name (`configmap`); defaults to the lowercased kind.
    pub singular_name: String,
    /// Short names (`cm`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// The kind a subresource answers when it is not the resource's own
    /// (`autoscaling/v1` `Scale` for `scale`).
    pub response_kind: Option<ResponseKind>,
}

/// A group, version and kind, as discovery names a response type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseKind {
    /// The group (`autoscaling`).
    pub group: String,
    /// The version (`v1`).
    pub version: String,
    /// The kind (`Scale`).
    pub kind: String,
}

impl ResponseKind {
    /// `group`/`version` `kind`.
    pub fn new(group: &str, version: &str, kind: &str) -> Self {
        Self {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
        }
    }
}

/// Makes an empty group whose versions are prioritized in the order their
/// first resource is added (Go: `NewDefaultAPIGroupInfo`; `""` is the
/// core group).
pub fn new_default_api_group_info(group: &str) -> ApiGroupInfo {
    ApiGroupInfo {
        group: group.to_owned(),
        prioritized_versions: Vec::new(),
        resources: BTreeMap::new(),
    }
}

impl ApiGroupInfo {
    /// The group's name (`""` for the core group).
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The versions served, most preferred first.
    pub fn prioritized_versions(&self) -> &[String] {
        &self.prioritized_versions
    }

    /// Serves `info` at `version` from `store`, and hands back its
    /// discovery details to fill in (short names, categories).
    pub fn add_resource(
        &mut self,
        version: &str,
        info: ResourceInfo,
        store: Arc<Store>,
    ) -> &mut ResourceDiscovery {
        self.add_endpoint(version, Arc::new(ResourceHandler::new(info, store)))
    }

    /// Serves `endpoint` (a resource, or a subresource when its info names
    /// one) at `version`, and hands back its discovery details to fill in.
    /// A resource's singular name defaults to its lowercased kind; a
    /// subresource has none.
    pub fn add_endpoint(
        &mut self,
        version: &str,
        endpoint: Arc<dyn ResourceEndpoint>,
    ) -> &mut ResourceDiscovery {
        if !self.prioritized_versions.iter().any(|v| v == version) {
            self.prioritized_versions.push(version.to_owned());
        }
        let info = endpoint.info();
        let discovery = ResourceDiscovery {
            singular_name: if info.subresource.is_empty() {
                info.kind.to_lowercase()
            } else {
                String::new()
            },
            ..ResourceDiscovery::default()
        };
        let resources = self.resources.entry(version.to_owned()).or_default();
        resources.push(InstalledResource {
            endpoint,
            discovery,
        });
        let last = resources.len() - 1;
        &mut resources[last].discovery
    }
}

impl GenericApiServer {
    /// Serves the core group under `api_prefix` (`/api`): `/api` lists its
    /// versions, `/api/<version>` its resources, and requests below reach
    /// the resources' endpoints (Go: `InstallLegacyAPIGroup`).
    pub fn install_legacy_api_group(&self, api_prefix: &str, info: ApiGroupInfo) -> Result<()> {
        if !info.group.is_empty() {
            return Err(invalid(
                &info.group,
                "the legacy API group must be the core group",
            ));
        }
        let prefix = api_prefix.trim_end_matches('/').to_owned();
        if !prefix.starts_with('/') || prefix.len() < 2 {
            return Err(invalid(
                &info.group,
                &format!("invalid legacy API prefix {api_prefix:?}"),
            ));
        }
        let versions = served_versions(&info)?;
        self.install_fallbacks();
        let mux = self.mux();
        let core = aggregated::group_discovery("", version_resources(&info, &versions));
        mux.handle(&prefix, legacy_versions_handler(versions.clone(), core));
        for version in &versions {
            let resources = info.resources[version].clone();
            install_version(
                mux,
                &format!("{prefix}/{version}"),
                version,
                resources,
                true,
            );
        }
        Ok(())
    }

    /// Serves `info` under `/apis/<group>/<version>` and adds it to `/apis`
    /// (Go: `InstallAPIGroup`).
    pub fn install_api_group(&self, info: ApiGroupInfo) -> Result<()> {
        self.install_fallbacks();
        self.api_groups().install(info)
    }

    /// Installs each group with [`install_api_group`](Self::install_api_group)
    /// (Go: `InstallAPIGroups`).
    pub fn install_api_groups(&self, infos: Vec<ApiGroupInfo>) -> Result<()> {
        infos
            .into_iter()
            .try_for_each(|info| self.install_api_group(info))
    }

    /// A handle that installs, replaces and removes API groups while the
    /// server runs (what serving custom resources needs: Go's
    /// apiextensions server routes them dynamically).
    pub fn dynamic_api_groups(&self) -> DynamicApiGroups {
        self.install_fallbacks();
        DynamicApiGroups {
            groups: self.api_groups().clone(),
        }
    }

    /// Registers `/apis` and the `/api/` and `/apis/` fallbacks, once.
    fn install_fallbacks(&self) {
        let state = self.api_groups();
        let mut installed = state.installed.lock().unwrap_or_else(|e| e.into_inner());
        if *installed {
            return;
        }
        *installed = true;
        let mux = self.mux();
        mux.handle(APIS_PREFIX, group_list_handler(state.clone()));
        let fallback = self
            .delegate_handler()
            .unwrap_or_else(|| box_handler(tower::service_fn(not_found)));
        for prefix in [API_PREFIX, APIS_PREFIX] {
            // The prefixes are constants ending in "/", which the mux accepts.
            let _ = mux.unlisted_handle_prefix(&format!("{prefix}/"), fallback.clone());
        }
    }
}

/// Installs, replaces and removes API groups of a running server; cheap to
/// clone. Discovery (legacy and aggregated) follows at once.
#[derive(Debug, Clone)]
pub struct DynamicApiGroups {
    groups: InstalledGroups,
}

impl DynamicApiGroups {
    /// Serves `info`, replacing what its group served before: versions it
    /// no longer has stop being served.
    pub fn install(&self, info: ApiGroupInfo) -> Result<()> {
        self.groups.install(info)
    }

    /// Stops serving `group` and removes it from discovery.
    pub fn remove(&self, group: &str) {
        self.groups.remove(group);
    }
}

/// The groups installed on a server, in installation order, with their
/// aggregated discovery entries; shared with its `/apis` handler.
#[derive(Debug, Clone)]
pub(crate) struct InstalledGroups {
    mux: PathRecorderMux,
    groups: Arc<Mutex<Vec<InstalledGroup>>>,
    installed: Arc<Mutex<bool>>,
}

/// One installed group: its legacy and aggregated discovery documents and
/// the versions whose paths it registered.
#[derive(Debug, Clone)]
struct InstalledGroup {
    group: APIGroup,
    discovery: aggregated::GroupDiscovery,
    versions: Vec<String>,
}

impl InstalledGroups {
    pub(crate) fn new(mux: PathRecorderMux) -> Self {
        Self {
            mux,
            groups: Arc::default(),
            installed: Arc::default(),
        }
    }

    fn groups(&self) -> MutexGuard<'_, Vec<InstalledGroup>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn install(&self, info: ApiGroupInfo) -> Result<()> {
        if info.group.is_empty() {
            return Err(invalid(
                &info.group,
                "the core group is installed with install_legacy_api_group",
            ));
        }
        let versions = served_versions(&info)?;
        let group_versions: Vec<GroupVersionForDiscovery> = versions
            .iter()
            .map(|version| GroupVersionForDiscovery {
                group_version: format!("{}/{version}", info.group),
                version: version.clone(),
            })
            .collect();
        let group = APIGroup {
            name: info.group.clone(),
            preferred_version: group_versions.first().cloned(),
            server_address_by_client_cidrs: None,
            versions: group_versions,
        };
        let group_path = format!("{APIS_PREFIX}/{}", info.group);
        let discovery =
            aggregated::group_discovery(&info.group, version_resources(&info, &versions));
        // One lock for the whole swap keeps concurrent installs of one
        // group from interleaving their registrations.
        let mut groups = self.groups();
        for version in &versions {
            let resources = info.resources[version].clone();
            install_version(
                &self.mux,
                &format!("{group_path}/{version}"),
                &format!("{}/{version}", info.group),
                resources,
                false,
            );
        }
        self.mux.handle(&group_path, json_handler(to_json(&group)));
        if let Some(old) = groups.iter().find(|g| g.group.name == info.group) {
            for version in old.versions.iter().filter(|v| !versions.contains(v)) {
                unregister_version(&self.mux, &format!("{group_path}/{version}"));
            }
        }
        let entry = InstalledGroup {
            group,
            discovery,
            versions,
        };
        match groups.iter_mut().find(|g| g.group.name == info.group) {
            Some(existing) => *existing = entry,
            None => groups.push(entry),
        }
        Ok(())
    }

    fn remove(&self, name: &str) {
        let mut groups = self.groups();
        let Some(index) = groups.iter().position(|g| g.group.name == name) else {
            return;
        };
        let old = groups.remove(index);
        let group_path = format!("{APIS_PREFIX}/{name}");
        for version in &old.versions {
            unregister_version(&self.mux, &format!("{group_path}/{version}"));
        }
        self.mux.unregister(&group_path);
    }
}

/// One resource of a group version: its endpoints and discovery details.
#[derive(Debug, Clone)]
struct InstalledResource {
    endpoint: Arc<dyn ResourceEndpoint>,
    discovery: ResourceDiscovery,
}

/// The resources of one group version, by resource name.
struct VersionResources {
    /// By `resource` or `resource/subresource`.
    resources: BTreeMap<String, Arc<dyn ResourceEndpoint>>,
    resolver: RequestInfoResolver,
}

impl fmt::Debug for VersionResources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionResources")
            .field("resources", &self.resources.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The versions of `info` that have resources, in priority order.
fn served_versions(info: &ApiGroupInfo) -> Result<Vec<String>> {
    let versions: Vec<String> = info
        .prioritized_versions
        .iter()
        .filter(|v| info.resources.get(*v).is_some_and(|r| !r.is_empty()))
        .cloned()
        .collect();
    if versions.is_empty() {
        return Err(invalid(&info.group, "no resources"));
    }
    Ok(versions)
}

/// The served `versions` of `info` with their resources, for discovery.
fn version_resources<'a>(
    info: &'a ApiGroupInfo,
    versions: &'a [String],
) -> impl Iterator<Item = (&'a str, &'a [InstalledResource])> {
    versions.iter().map(|version| {
        let resources = info.resources.get(version).map_or(&[][..], Vec::as_slice);
        (version.as_str(), resources)
    })
}

/// Serves `<path>` (the `APIResourceList`) and `<path>/…` (the resources).
fn install_version(
    mux: &PathRecorderMux,
    path: &str,
    group_version: &str,
    resources: Vec<InstalledResource>,
    legacy: bool,
) {
    let list = APIResourceList {
        group_version: group_version.to_owned(),
        resources: resources.iter().map(api_resource).collect(),
    };
    let mut body = to_json(&list);
    if legacy {
        // Go writes the legacy documents without an apiVersion.
        strip_api_version(&mut body);
    }
    mux.handle(path, json_handler(body));
    let version = Arc::new(VersionResources {
        resources: resources
            .into_iter()
            .map(|r| (r.endpoint.info().endpoint_name(), r.endpoint))
            .collect(),
        resolver: RequestInfoResolver::default(),
    });
    let handler = box_handler(tower::service_fn(move |request: Request| {
        let version = version.clone();
        async move { Ok::<_, std::convert::Infallible>(serve_resource(&version, request).await) }
    }));
    // The prefix ends in "/", the only thing the mux checks.
    let _ = mux.unlisted_handle_prefix(&format!("{path}/"), handler);
}

fn invalid(group: &str, reason: &str) -> Error {
    Error::InvalidConfig(format!("api group {group:?}: {reason}"))
}

/// Routes a request below a group version to its resource's endpoints.
async fn serve_resource(version: &VersionResources, request: Request) -> Response {
    let info = match version.resolver.resolve(request.method(), request.uri()) {
        Ok(info) => info,
        Err(err) => return StatusError::internal(err).into_response(),
    };
    if !info.is_resource_request {
        return StatusError::not_found_generic().into_response();
    }
    let name = if info.subresource.is_empty() {
        info.resource.clone()
    } else {
        format!("{}/{}", info.resource, info.subresource)
    };
    match version.resources.get(&name) {
        Some(endpoint) => endpoint.serve(&info, request).await,
        None => StatusError::not_found_generic().into_response(),
    }
}

/// Stops serving the group version at `path` and its resources.
fn unregister_version(mux: &PathRecorderMux, path: &str) {
    mux.unregister(path);
    mux.unregister(&format!("{path}/"));
}

/// The discovery entry of one resource or subresource (verbs sorted, as Go
/// lists them; a subresource answering another kind names its group and
/// version).
fn api_resource(resource: &InstalledResource) -> APIResource {
    let info = resource.endpoint.info();
    let mut verbs = info.verbs.clone();
    verbs.sort();
    let discovery = &resource.discovery;
    let (group, version) = match &discovery.response_kind {
        Some(kind) => (Some(kind.group.clone()), Some(kind.version.clone())),
        None => (None, None),
    };
    APIResource {
        name: info.endpoint_name(),
        singular_name: discovery.singular_name.clone(),
        namespaced: info.namespaced,
        group,
        version,
        kind: discovery
            .response_kind
            .as_ref()
            .map_or_else(|| info.kind.clone(), |kind| kind.kind.clone()),
        verbs,
        short_names: (!discovery.short_names.is_empty()).then(|| discovery.short_names.clone()),
        categories: (!discovery.categories.is_empty()).then(|| discovery.categories.clone()),
        ..APIResource::default()
    }
}

/// `/api`: the `APIVersions` of the core group, or its aggregated
/// discovery when the `Accept` header asks for it.
fn legacy_versions_handler(versions: Vec<String>, core: aggregated::GroupDiscovery) -> BoxHandler {
    let core = Arc::new([core]);
    box_handler(tower::service_fn(move |request: Request| {
        let versions = versions.clone();
        let core = core.clone();
        async move {
            let response = if request.method() != Method::GET && request.method() != Method::HEAD {
                StatusError::not_found_generic().into_response()
            } else if let Some(response) = aggregated::serve(&request, &core[..]) {
                response
            } else if let Err(err) = negotiate_legacy(&request) {
                err.into_response()
            } else {
                let address = client_address(&request);
                let document = APIVersions {
                    versions,
                    server_address_by_client_cidrs: vec![ServerAddressByClientCIDR {
                        client_cidr: "0.0.0.0/0".to_owned(),
                        server_address: address,
                    }],
                };
                let mut body = to_json(&document);
                strip_api_version(&mut body);
                json_response(&body)
            };
            Ok::<_, std::convert::Infallible>(response)
        }
    }))
}

/// `/apis`: the `APIGroupList` of the installed groups, or their
/// aggregated discovery when the `Accept` header asks for it.
fn group_list_handler(state: InstalledGroups) -> BoxHandler {
    box_handler(tower::service_fn(move |request: Request| {
        let state = state.clone();
        async move {
            let (groups, discovery): (Vec<_>, Vec<_>) = state
                .groups()
                .iter()
                .map(|g| (g.group.clone(), g.discovery.clone()))
                .unzip();
            let response = if request.method() != Method::GET && request.method() != Method::HEAD {
                StatusError::not_found_generic().into_response()
            } else if let Some(response) = aggregated::serve(&request, &discovery) {
                response
            } else if let Err(err) = negotiate_legacy(&request) {
                err.into_response()
            } else {
                let mut body = to_json(&APIGroupList { groups });
                // k8s-openapi types each item; Go's list items carry no type.
                if let Some(items) = body["groups"].as_array_mut() {
                    for item in items {
                        if let Value::Object(map) = item {
                            map.remove("kind");
                            map.remove("apiVersion");
                        }
                    }
                }
                json_response(&body)
            };
            Ok::<_, std::convert::Infallible>(response)
        }
    }))
}

/// A fixed JSON document, for GET (and HEAD); other methods are 404 as
/// go-restful answers a route that does not match.
fn json_handler(body: Value) -> BoxHandler {
    let body = Arc::new(body);
    box_handler(tower::service_fn(move |request: Request| {
        let body = body.clone();
        async move {
            let response = if request.method() != Method::GET && request.method() != Method::HEAD {
                StatusError::not_found_generic().into_response()
            } else {
                json_response(&body)
            };
            Ok::<_, std::convert::Infallible>(response)
        }
    }))
}

/// The 406 of a legacy discovery document whose `Accept` allows none of
/// the served media types (Go writes them with the default endpoint
/// restrictions, so a `v2beta1`-only aggregated `Accept` ends here).
fn negotiate_legacy(request: &Request) -> Result<(), StatusError> {
    negotiate_output(
        request.headers().get(header::ACCEPT),
        &SUPPORTED_MEDIA_TYPES,
        Endpoint::Plain,
    )
    .map(drop)
}

async fn not_found(_request: Request) -> Result<Response, std::convert::Infallible> {
    Ok(StatusError::not_found_generic().into_response())
}

/// The host:port the client reached us at: the URI's authority (HTTP/2) or
/// the `Host` header (HTTP/1.1).
fn client_address(request: &Request) -> String {
    if let Some(authority) = request.uri().authority() {
        return authority.to_string();
    }
    request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn to_json<T: Serialize>(document: &T) -> Value {
    // k8s-openapi's discovery types serialize to JSON without fail.
    serde_json::to_value(document).unwrap_or(Value::Null)
}

fn strip_api_version(body: &mut Value) {
    if let Value::Object(map) = body {
        map.remove("apiVersion");
    }
}

fn json_response(body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
