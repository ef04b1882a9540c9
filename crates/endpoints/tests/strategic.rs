//! Strategic merge patches end to end through `ResourceHandler::serve`: a
//! ConfigMap's data and finalizers, a ServiceAccount's `secrets` merged by
//! name, and the 415 a kind without metadata (a custom resource) gets.

use std::sync::Arc;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use kapi_core::{Body, RequestInfoResolver};
use kapi_endpoints::{ResourceHandler, ResourceInfo};
use kapi_storage::ObjectStore;
use kapi_storage::memory::MemoryBackend;
use kapi_storage::registry::{Store, Strategy};
use serde_json::{Value, json};

#[derive(Debug)]
struct Namespaced;

impl Strategy for Namespaced {
    fn namespace_scoped(&self) -> bool {
        true
    }
    fn allow_create_on_update(&self) -> bool {
        false
    }
    fn allow_unconditional_update(&self) -> bool {
        true
    }
}

fn handler(group: &str, resource: &str, kind: &str) -> ResourceHandler {
    let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
    let store = Store::new(storage, group, resource, kind, Arc::new(Namespaced));
    let info = ResourceInfo::new(group, "v1", resource, kind, true);
    ResourceHandler::new(info, Arc::new(store))
}

async fn call(
    handler: &ResourceHandler,
    method: Method,
    uri: &str,
    content_type: &str,
    body: Value,
) -> (StatusCode, Value) {
    let request = http::Request::builder()
        .method(method.clone())
        .uri(uri)
        .header("content-type", content_type)
        .body(Body::from(body.to_string()))
        .unwrap();
    let info = RequestInfoResolver::default()
        .resolve(&method, request.uri())
        .unwrap();
    let response = handler.serve(&info, request).await;
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A patch, the expected status code, the part of the response checked
/// and its expected value.
type Step = (Value, StatusCode, fn(&Value) -> Value, Value);

const SMP: &str = "application/strategic-merge-patch+json";

/// Creates `object` under `collection`, then applies each strategic merge
/// `patch` to `collection/name` in turn, checking `pick(result)`.
async fn check(handler: &ResourceHandler, collection: &str, object: Value, steps: &[Step]) {
    let (status, created) = call(
        handler,
        Method::POST,
        collection,
        "application/json",
        object,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let uri = format!(
        "{collection}/{}",
        created["metadata"]["name"].as_str().unwrap()
    );
    for (patch, code, pick, expected) in steps {
        let (status, body) = call(handler, Method::PATCH, &uri, SMP, patch.clone()).await;
        assert_eq!(
            (status, pick(&body)),
            (*code, expected.clone()),
            "patch {patch}: {body}"
        );
    }
}

fn data(v: &Value) -> Value {
    v["data"].clone()
}
fn finalizers(v: &Value) -> Value {
    v["metadata"]["finalizers"].clone()
}
fn secrets(v: &Value) -> Value {
    v["secrets"].clone()
}
fn status_line(v: &Value) -> Value {
    json!([v["reason"], v["message"]])
}

#[tokio::test]
async fn config_map() {
    let cms = handler("", "configmaps", "ConfigMap");
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "finalizers": ["a/b"]}, "data": {"k": "v", "old": "o"}});
    check(&cms, "/api/v1/namespaces/default/configmaps", object, &[
        (json!({"data": {"a": "1"}}), StatusCode::OK, data, json!({"k": "v", "old": "o", "a": "1"})),
        (json!({"data": {"old": null}}), StatusCode::OK, data, json!({"k": "v", "a": "1"})),
        (json!({"data": {"$patch": "replace", "only": "1"}}), StatusCode::OK, data, json!({"only": "1"})),
        (json!({"metadata": {"finalizers": ["c/d"]}}), StatusCode::OK, finalizers, json!(["a/b", "c/d"])),
        (json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/b"]}}), StatusCode::OK, finalizers, json!(["c/d"])),
        (json!({"metadata": {"$retainKeys": "x"}}), StatusCode::BAD_REQUEST, status_line, json!(["BadRequest", "invalid patch format of retainKeys"])),
        (json!({"data": {"$patch": "delete"}, "metadata": {"$retainKeys": ["name"], "labels": {"a": "b"}}}), StatusCode::UNPROCESSABLE_ENTITY, status_line, json!(["Invalid", "patch content doesn't match retainKeys list"])),
    ]).await;
}

#[tokio::test]
async fn service_account() {
    let sas = handler("", "serviceaccounts", "ServiceAccount");
    let object = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}, "secrets": [{"name": "s1"}, {"name": "s2"}], "imagePullSecrets": [{"name": "p1"}]});
    fn pull(v: &Value) -> Value {
        v["imagePullSecrets"].clone()
    }
    check(&sas, "/api/v1/namespaces/default/serviceaccounts", object, &[
        (json!({"secrets": [{"name": "s3"}]}), StatusCode::OK, secrets, json!([{"name": "s1"}, {"name": "s2"}, {"name": "s3"}])),
        (json!({"secrets": [{"name": "s1", "$patch": "delete"}]}), StatusCode::OK, secrets, json!([{"name": "s2"}, {"name": "s3"}])),
        (json!({"$setElementOrder/secrets": [{"name": "s3"}, {"name": "s2"}], "secrets": [{"name": "s3", "namespace": "default"}]}), StatusCode::OK, secrets, json!([{"name": "s3", "namespace": "default"}, {"name": "s2"}])),
        (json!({"imagePullSecrets": [{"name": "p2"}]}), StatusCode::OK, pull, json!([{"name": "p2"}])),
        (json!({"secrets": [{"namespace": "x"}]}), StatusCode::INTERNAL_SERVER_ERROR, |v: &Value| v["reason"].clone(), json!("InternalError")),
    ]).await;
}

#[tokio::test]
async fn custom_resource_gets_415() {
    let widgets = handler("example.com", "widgets", "Widget");
    let object =
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    check(&widgets, "/apis/example.com/v1/namespaces/default/widgets", object, &[
        (json!({"spec": {}}), StatusCode::UNSUPPORTED_MEDIA_TYPE, status_line, json!(["UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json"])),
    ]).await;
}

#[tokio::test]
async fn built_in_415_lists_strategic_merge() {
    let cms = handler("", "configmaps", "ConfigMap");
    let (status, body) = call(
        &cms,
        Method::PATCH,
        "/api/v1/namespaces/default/configmaps/x",
        "application/apply-patch+yaml",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        body["message"],
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
    );
}
