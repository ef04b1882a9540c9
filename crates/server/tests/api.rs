//! API groups installed on a `GenericApiServer`, driven through its full
//! handler in process: the legacy discovery documents (exact JSON), CRUD
//! through the routed resource paths of the core group and of a named
//! group, the 404s for what is not installed, and aggregated discovery
//! (exact bodies, headers, `ETag` and 304, the legacy fallback, the 406 of a
//! `v2beta1`-only `Accept`).

use std::sync::Arc;

use http::{Method, StatusCode};
use http_body_util::BodyExt as _;
use kapi_core::{Body, BoxHandler};
use kapi_endpoints::ResourceInfo;
use kapi_server::{
    ApiGroupInfo, Config, GenericApiServer, new_default_api_group_info, new_empty_delegate,
};
use kapi_storage::ObjectStore;
use kapi_storage::memory::MemoryBackend;
use kapi_storage::registry::{Store, Strategy};
use serde_json::{Value, json};
use sha2::Digest as _;
use tower::ServiceExt as _;

#[derive(Debug)]
struct Simple {
    namespaced: bool,
}

impl Strategy for Simple {
    fn namespace_scoped(&self) -> bool {
        self.namespaced
    }
    fn allow_create_on_update(&self) -> bool {
        false
    }
    fn allow_unconditional_update(&self) -> bool {
        true
    }
}

fn store(
    storage: &ObjectStore,
    group: &str,
    resource: &str,
    kind: &str,
    namespaced: bool,
) -> Arc<Store> {
    Arc::new(Store::new(
        storage.clone(),
        group,
        resource,
        kind,
        Arc::new(Simple { namespaced }),
    ))
}

/// A server with core/v1 configmaps and namespaces, and, when `widgets`,
/// the group `example.com` with `widgets` at v1 and v1beta1.
fn server(widgets: bool) -> GenericApiServer {
    let server = Config::default()
        .complete()
        .unwrap()
        .new("test", new_empty_delegate())
        .unwrap();
    let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");

    let mut core = new_default_api_group_info("");
    core.add_resource(
        "v1",
        ResourceInfo::new("", "v1", "configmaps", "ConfigMap", true),
        store(&storage, "", "configmaps", "ConfigMap", true),
    )
    .short_names = vec!["cm".to_owned()];
    core.add_resource(
        "v1",
        ResourceInfo::new("", "v1", "namespaces", "Namespace", false),
        store(&storage, "", "namespaces", "Namespace", false),
    )
    .short_names = vec!["ns".to_owned()];
    server.install_legacy_api_group("/api", core).unwrap();

    if widgets {
        server.install_api_groups(vec![widget_group()]).unwrap();
        let _ = storage;
    }
    server
}

fn widget_group() -> ApiGroupInfo {
    let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
    let mut group = new_default_api_group_info("example.com");
    for version in ["v1", "v1beta1"] {
        let mut info = ResourceInfo::new("example.com", version, "widgets", "Widget", true);
        info.verbs = vec!["get".to_owned(), "list".to_owned(), "create".to_owned()];
        let discovery = group.add_resource(
            version,
            info,
            store(&storage, "example.com", "widgets", "Widget", true),
        );
        discovery.categories = vec!["all".to_owned()];
    }
    group
}

async fn call(
    handler: &BoxHandler,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:6443");
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let response = handler
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, content_type, value)
}

/// GETs `path` and checks the exact JSON document and its content type.
async fn check_document(handler: &BoxHandler, path: &str, expected: Value) {
    let (status, content_type, body) = call(handler, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    assert_eq!(content_type.as_deref(), Some("application/json"), "{path}");
    assert_eq!(body, expected, "{path}");
}

fn not_found_status() -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server could not find the requested resource",
        "reason": "NotFound",
        "details": {},
        "code": 404,
    })
}

const ALL_VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

#[tokio::test]
async fn legacy_discovery_documents() {
    let handler = server(false).handler();
    check_document(
        &handler,
        "/api",
        json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
        }),
    )
    .await;
    check_document(
        &handler,
        "/api/v1",
        json!({
            "kind": "APIResourceList",
            "groupVersion": "v1",
            "resources": [
                {"name": "configmaps", "singularName": "configmap", "namespaced": true, "kind": "ConfigMap", "verbs": ALL_VERBS, "shortNames": ["cm"]},
                {"name": "namespaces", "singularName": "namespace", "namespaced": false, "kind": "Namespace", "verbs": ALL_VERBS, "shortNames": ["ns"]},
            ],
        }),
    )
    .await;
    check_document(
        &handler,
        "/apis",
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}),
    )
    .await;
}

#[tokio::test]
async fn group_discovery_documents() {
    let handler = server(true).handler();
    let versions = json!([
        {"groupVersion": "example.com/v1", "version": "v1"},
        {"groupVersion": "example.com/v1beta1", "version": "v1beta1"},
    ]);
    let group = json!({
        "name": "example.com",
        "versions": versions,
        "preferredVersion": {"groupVersion": "example.com/v1", "version": "v1"},
    });
    let mut with_kind = group.clone();
    with_kind["kind"] = json!("APIGroup");
    with_kind["apiVersion"] = json!("v1");
    check_document(&handler, "/apis/example.com", with_kind).await;
    check_document(
        &handler,
        "/apis",
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [group]}),
    )
    .await;
    for version in ["v1", "v1beta1"] {
        check_document(
            &handler,
            &format!("/apis/example.com/{version}"),
            json!({
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": format!("example.com/{version}"),
                "resources": [{
                    "name": "widgets", "singularName": "widget", "namespaced": true,
                    "kind": "Widget", "verbs": ["create", "get", "list"], "categories": ["all"],
                }],
            }),
        )
        .await;
    }
}

/// kubectl 1.32's `Accept` for discovery (client-go's aggregated discovery).
const KUBECTL_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
const V2_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// The raw response to a GET of `path` with the given request headers.
async fn get_raw(
    handler: &BoxHandler,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let mut request = http::Request::builder()
        .uri(path)
        .header("host", "127.0.0.1:6443");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = handler
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes.to_vec())
}

/// GETs `path` with `accept` and checks an aggregated answer: its headers,
/// its exact body, and that its `ETag` is the quoted uppercase hex SHA-512
/// of the untyped list (as Go hashes it). Returns the `ETag`.
async fn check_aggregated(handler: &BoxHandler, path: &str, accept: &str, body: &str) -> String {
    let (status, headers, bytes) = get_raw(handler, path, &[("accept", accept)]).await;
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {text}");
    assert_eq!(headers["content-type"], AGGREGATED_CONTENT_TYPE, "{path}");
    assert_eq!(headers["vary"], "Accept", "{path}");
    assert_eq!(headers["cache-control"], "public", "{path}");
    assert_eq!(text, body, "{path}");
    let untyped = body
        .replacen(
            r#""kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2","#,
            "",
            1,
        )
        .trim_end()
        .to_owned();
    let digest = sha2::Sha512::digest(untyped.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{hex}\""), "{path}");
    etag
}

fn verbs_json(verbs: &[&str]) -> String {
    serde_json::to_string(verbs).unwrap()
}

fn core_discovery_body() -> String {
    let verbs = verbs_json(&ALL_VERBS);
    format!(
        concat!(
            r#"{{"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2","metadata":{{}},"items":[{{"metadata":{{}},"versions":[{{"version":"v1","resources":["#,
            r#"{{"resource":"configmaps","responseKind":{{"group":"","version":"v1","kind":"ConfigMap"}},"scope":"Namespaced","singularResource":"configmap","verbs":{verbs},"shortNames":["cm"]}},"#,
            r#"{{"resource":"namespaces","responseKind":{{"group":"","version":"v1","kind":"Namespace"}},"scope":"Cluster","singularResource":"namespace","verbs":{verbs},"shortNames":["ns"]}}"#,
            r#"],"freshness":"Current"}}]}}]}}"#,
            "\n"
        ),
        verbs = verbs
    )
}

/// The `/apis` item of `example.com` (`widgets` at v1 and v1beta1).
fn widget_discovery_item() -> String {
    let verbs = verbs_json(&["create", "get", "list"]);
    let version = |v: &str| {
        format!(
            r#"{{"version":"{v}","resources":[{{"resource":"widgets","responseKind":{{"group":"example.com","version":"{v}","kind":"Widget"}},"scope":"Namespaced","singularResource":"widget","verbs":{verbs},"categories":["all"]}}],"freshness":"Current"}}"#
        )
    };
    format!(
        r#"{{"metadata":{{"name":"example.com"}},"versions":[{},{}]}}"#,
        version("v1"),
        version("v1beta1")
    )
}

fn apis_discovery_body(items: &[String]) -> String {
    format!(
        "{{\"kind\":\"APIGroupDiscoveryList\",\"apiVersion\":\"apidiscovery.k8s.io/v2\",\"metadata\":{{}},\"items\":[{}]}}\n",
        items.join(",")
    )
}

#[tokio::test]
async fn aggregated_discovery_documents() {
    let handler = server(true).handler();
    for accept in [V2_ACCEPT, KUBECTL_ACCEPT] {
        check_aggregated(&handler, "/api", accept, &core_discovery_body()).await;
        check_aggregated(
            &handler,
            "/apis",
            accept,
            &apis_discovery_body(&[widget_discovery_item()]),
        )
        .await;
    }
}

#[tokio::test]
async fn aggregated_discovery_answers_a_matching_if_none_match_with_304() {
    let handler = server(true).handler();
    for path in ["/api", "/apis"] {
        let (_, headers, _) = get_raw(&handler, path, &[("accept", KUBECTL_ACCEPT)]).await;
        let etag = headers["etag"].to_str().unwrap().to_owned();

        let (status, headers, body) = get_raw(
            &handler,
            path,
            &[("accept", KUBECTL_ACCEPT), ("if-none-match", &etag)],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(body.is_empty(), "{path}");
        assert_eq!(headers["etag"], etag.as_str(), "{path}");
        assert_eq!(headers["vary"], "Accept", "{path}");
        assert_eq!(headers["cache-control"], "public", "{path}");

        // Go compares the header verbatim: an unquoted or other tag is a miss.
        let unquoted = etag.trim_matches('"').to_owned();
        for other in [unquoted.as_str(), "\"0\"", "*"] {
            let (status, _, body) = get_raw(
                &handler,
                path,
                &[("accept", KUBECTL_ACCEPT), ("if-none-match", other)],
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{path} {other}");
            assert!(!body.is_empty(), "{path} {other}");
        }
        // The legacy document ignores If-None-Match.
        let (status, headers, _) = get_raw(&handler, path, &[("if-none-match", &etag)]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(headers.get("etag").is_none(), "{path}");
    }
}

#[tokio::test]
async fn discovery_without_the_aggregated_accept_is_legacy() {
    let handler = server(true).handler();
    let check = |path: &'static str, accept: Option<&'static str>, kind: &'static str| {
        let handler = handler.clone();
        async move {
            let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
            let (status, headers, body) = get_raw(&handler, path, &headers).await;
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(status, StatusCode::OK, "{path} {accept:?}: {body}");
            assert_eq!(
                headers["content-type"], "application/json",
                "{path} {accept:?}"
            );
            assert_eq!(body["kind"], kind, "{path} {accept:?}");
            for name in ["etag", "vary"] {
                assert!(headers.get(name).is_none(), "{path} {accept:?} {name}");
            }
            // WithCacheControl's default, which aggregated discovery overrides.
            assert_eq!(
                headers["cache-control"], "no-cache, private",
                "{path} {accept:?}"
            );
        }
    };
    for (path, kind) in [("/api", "APIVersions"), ("/apis", "APIGroupList")] {
        for accept in [
            None,
            Some("application/json"),
            Some("*/*"),
            Some("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"),
        ] {
            check(path, accept, kind).await;
        }
    }
}

#[tokio::test]
async fn a_v2beta1_only_accept_is_not_acceptable() {
    let handler = server(true).handler();
    for path in ["/api", "/apis"] {
        let (status, headers, body) = get_raw(
            &handler,
            path,
            &[(
                "accept",
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
            )],
        )
        .await;
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, StatusCode::NOT_ACCEPTABLE, "{path}: {body}");
        assert_eq!(headers["content-type"], "application/json", "{path}");
        assert_eq!(
            body,
            json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
                "reason": "NotAcceptable",
                "code": 406,
            }),
            "{path}"
        );
    }
}

#[tokio::test]
async fn aggregated_discovery_follows_groups_installed_later() {
    let server = server(false);
    let handler = server.handler();
    let empty = check_aggregated(&handler, "/apis", V2_ACCEPT, &apis_discovery_body(&[])).await;

    server.install_api_group(widget_group()).unwrap();
    let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
    let mut gadgets = new_default_api_group_info("a.example");
    for version in ["v1alpha1", "v2", "v1beta1", "v1"] {
        let mut info = ResourceInfo::new("a.example", version, "gadgets", "Gadget", false);
        info.verbs = vec!["list".to_owned(), "get".to_owned()];
        gadgets.add_resource(
            version,
            info,
            store(&storage, "a.example", "gadgets", "Gadget", false),
        );
    }
    server.install_api_group(gadgets).unwrap();

    // Groups by name (Go's equal default priorities), versions in
    // Kubernetes order whatever the installation order.
    let verbs = verbs_json(&["get", "list"]);
    let gadget_versions: Vec<String> = ["v2", "v1", "v1beta1", "v1alpha1"]
        .iter()
        .map(|v| {
            format!(
                r#"{{"version":"{v}","resources":[{{"resource":"gadgets","responseKind":{{"group":"a.example","version":"{v}","kind":"Gadget"}},"scope":"Cluster","singularResource":"gadget","verbs":{verbs}}}],"freshness":"Current"}}"#
            )
        })
        .collect();
    let gadget_item = format!(
        r#"{{"metadata":{{"name":"a.example"}},"versions":[{}]}}"#,
        gadget_versions.join(",")
    );
    let full = check_aggregated(
        &handler,
        "/apis",
        V2_ACCEPT,
        &apis_discovery_body(&[gadget_item, widget_discovery_item()]),
    )
    .await;
    assert_ne!(empty, full);
    let (status, _, _) = get_raw(
        &handler,
        "/apis",
        &[("accept", V2_ACCEPT), ("if-none-match", &empty)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn core_resources_are_served_through_their_paths() {
    let handler = server(false).handler();
    let configmap = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "demo"}, "data": {"a": "b"},
    });
    let (status, _, created) = call(
        &handler,
        Method::POST,
        "/api/v1/namespaces/ns/configmaps",
        Some(configmap),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["metadata"]["namespace"], "ns");
    assert!(
        created["metadata"]["resourceVersion"].is_string(),
        "{created}"
    );

    let (status, _, got) = call(
        &handler,
        Method::GET,
        "/api/v1/namespaces/ns/configmaps/demo",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["data"], json!({"a": "b"}));

    let (status, _, list) = call(&handler, Method::GET, "/api/v1/configmaps", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["kind"], "ConfigMapList");
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    let (status, _, _) = call(
        &handler,
        Method::DELETE,
        "/api/v1/namespaces/ns/configmaps/demo",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, gone) = call(
        &handler,
        Method::GET,
        "/api/v1/namespaces/ns/configmaps/demo",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(gone["message"], "configmaps \"demo\" not found");

    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}});
    let (status, _, created) = call(
        &handler,
        Method::POST,
        "/api/v1/namespaces",
        Some(namespace),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, _, got) = call(&handler, Method::GET, "/api/v1/namespaces/team", None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["metadata"]["name"], "team");
}

#[tokio::test]
async fn group_resources_are_served_per_version() {
    let handler = server(true).handler();
    let widget = json!({
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
    });
    let (status, _, created) = call(
        &handler,
        Method::POST,
        "/apis/example.com/v1/namespaces/ns/widgets",
        Some(widget),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, _, got) = call(
        &handler,
        Method::GET,
        "/apis/example.com/v1/namespaces/ns/widgets/w",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["apiVersion"], "example.com/v1");
    // A verb the resource does not serve.
    let (status, _, body) = call(
        &handler,
        Method::DELETE,
        "/apis/example.com/v1/namespaces/ns/widgets/w",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
}

#[tokio::test]
async fn what_is_not_installed_is_a_404_status() {
    let handler = server(true).handler();
    for path in [
        "/api/v2",
        "/api/v2/namespaces/ns/configmaps",
        "/api/v1/secrets",
        "/api/v1/namespaces/ns/secrets/x",
        "/apis/unknown.io",
        "/apis/unknown.io/v1/things",
        "/apis/example.com/v2",
        "/apis/example.com/v2/widgets",
        "/apis/example.com/v1/gadgets",
        "/apis/example.com/v1/namespaces/ns/widgets/w/status",
    ] {
        let (status, content_type, body) = call(&handler, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(content_type.as_deref(), Some("application/json"), "{path}");
        assert_eq!(body, not_found_status(), "{path}");
    }
}

#[tokio::test]
async fn installing_needs_resources_and_the_right_kind_of_group() {
    let server = server(false);
    let error = server
        .install_api_group(new_default_api_group_info("empty.io"))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid configuration: api group \"empty.io\": no resources"
    );
    assert!(
        server
            .install_api_group(new_default_api_group_info(""))
            .is_err()
    );
    assert!(
        server
            .install_legacy_api_group("/api", widget_group())
            .is_err()
    );
}

/// The `example.com` group with `widgets` and `widgets/status` at `versions`.
fn widgets_with_status(storage: &ObjectStore, versions: &[&str]) -> ApiGroupInfo {
    let mut group = new_default_api_group_info("example.com");
    for version in versions {
        let info = ResourceInfo::new("example.com", version, "widgets", "Widget", true);
        let status = info.for_subresource("status", &["get", "update", "patch"]);
        let widgets = store(storage, "example.com", "widgets", "Widget", true);
        group.add_resource(version, info, widgets.clone());
        group.add_resource(version, status, widgets);
    }
    group
}

#[tokio::test]
async fn dynamic_groups_are_replaced_and_removed_while_serving() {
    let server = server(false);
    let handler = server.handler();
    let dynamic = server.dynamic_api_groups();
    let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");

    dynamic
        .install(widgets_with_status(&storage, &["v1", "v1beta1"]))
        .unwrap();
    let status_verbs = verbs_json(&["get", "patch", "update"]);
    let (_, _, list) = call(&handler, Method::GET, "/apis/example.com/v1beta1", None).await;
    assert_eq!(
        list["resources"][1],
        json!({"name": "widgets/status", "singularName": "", "namespaced": true,
               "kind": "Widget", "verbs": ["get", "patch", "update"]}),
        "{list}"
    );
    let body =
        String::from_utf8(get_raw(&handler, "/apis", &[("accept", V2_ACCEPT)]).await.2).unwrap();
    assert!(
        body.contains(&format!(
            r#""subresources":[{{"subresource":"status","responseKind":{{"group":"example.com","version":"v1","kind":"Widget"}},"verbs":{status_verbs}}}]"#
        )),
        "{body}"
    );

    // The status subresource reaches the same objects.
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
                        "metadata": {"name": "w"}, "status": {"ready": true}});
    let path = "/apis/example.com/v1/namespaces/ns/widgets";
    let (status, _, _) = call(&handler, Method::POST, path, Some(widget)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, got) = call(&handler, Method::GET, &format!("{path}/w/status"), None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["status"]["ready"], true);
    let (status, _, _) = call(&handler, Method::DELETE, &format!("{path}/w/status"), None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _, _) = call(&handler, Method::GET, &format!("{path}/w/scale"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Replacing the group drops the version it no longer has.
    dynamic
        .install(widgets_with_status(&storage, &["v1"]))
        .unwrap();
    let (status, _, _) = call(&handler, Method::GET, "/apis/example.com/v1beta1", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(
        &handler,
        Method::GET,
        "/apis/example.com/v1beta1/namespaces/ns/widgets/w",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, group) = call(&handler, Method::GET, "/apis/example.com", None).await;
    assert_eq!(group["versions"].as_array().unwrap().len(), 1, "{group}");
    let (status, _, _) = call(&handler, Method::GET, &format!("{path}/w"), None).await;
    assert_eq!(status, StatusCode::OK);

    // Removing it empties discovery and routing.
    dynamic.remove("example.com");
    let (_, _, groups) = call(&handler, Method::GET, "/apis", None).await;
    assert_eq!(groups["groups"], json!([]), "{groups}");
    for path in [
        "/apis/example.com",
        "/apis/example.com/v1",
        &format!("{path}/w"),
    ] {
        let (status, _, body) = call(&handler, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body, not_found_status(), "{path}");
    }
}
