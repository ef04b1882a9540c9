//! API groups installed on a `GenericApiServer`, driven through its full
//! handler in process: the legacy discovery documents (exact JSON), CRUD
//! through the routed resource paths of the core group and of a named
//! group, and the 404s for what is not installed.

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

#[tokio::test]
async fn aggregated_discovery_requests_get_the_legacy_documents() {
    let handler = server(true).handler();
    for path in ["/api", "/apis"] {
        let request = http::Request::builder()
            .uri(path)
            .header(
                "accept",
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
            )
            .body(Body::empty())
            .unwrap();
        let response = handler.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{path}"
        );
    }
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
