//! The OpenAPI handlers driven with `tower::ServiceExt::oneshot`: documents,
//! hashes, ETags, conditional requests, redirects, caching headers, content
//! negotiation, and the registry changing under them (CRDs added and
//! removed).

#[path = "support/registry.rs"]
mod registry;

use http::StatusCode;
use kapi_openapi::{OpenApiService, ResourceSpec, Subresource, unknown_fields};
use registry::{get, kapi_service, send};
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

fn upper_hex_sha512(body: &[u8]) -> String {
    Sha512::digest(body)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

fn header<'a>(response: &'a http::Response<kapi_core::Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn root(service: &OpenApiService) -> Value {
    let (response, body) = send(&service.v3_handler(), get("/openapi/v3", &[])).await;
    assert_eq!(response.status(), StatusCode::OK);
    serde_json::from_slice(&body).unwrap()
}

fn url_of(root: &Value, key: &str) -> Option<String> {
    root["paths"][key]["serverRelativeURL"]
        .as_str()
        .map(str::to_owned)
}

fn has_ref_with_siblings(value: &Value) -> bool {
    match value {
        Value::Object(object) => {
            (object.get("$ref").is_some_and(Value::is_string) && object.len() > 1)
                || object.values().any(has_ref_with_siblings)
        }
        Value::Array(items) => items.iter().any(has_ref_with_siblings),
        _ => false,
    }
}

fn has_wrapped_ref(value: &Value) -> bool {
    match value {
        Value::Object(object) => {
            object
                .get("allOf")
                .and_then(Value::as_array)
                .is_some_and(|all| all.iter().any(|s| s.get("$ref").is_some()))
                || object.values().any(has_wrapped_ref)
        }
        Value::Array(items) => items.iter().any(has_wrapped_ref),
        _ => false,
    }
}

#[tokio::test]
async fn v3_root_lists_group_versions_with_their_hashes() {
    let service = kapi_service();
    let root = root(&service).await;
    let keys: Vec<&str> = root["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "api",
            "api/v1",
            "apis",
            "apis/apiextensions.k8s.io",
            "apis/apiextensions.k8s.io/v1",
            "apis/coordination.k8s.io",
            "apis/coordination.k8s.io/v1",
            "apis/events.k8s.io",
            "apis/events.k8s.io/v1",
            "apis/rbac.authorization.k8s.io",
            "apis/rbac.authorization.k8s.io/v1",
            "version",
        ]
    );
    for key in keys {
        let url = url_of(&root, key).unwrap();
        let (response, body) = send(&service.v3_group_version_handler(), get(&url, &[])).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let hash = upper_hex_sha512(&body);
        assert_eq!(url, format!("/openapi/v3/{key}?hash={hash}"));
        assert_eq!(
            header(&response, "etag"),
            Some(format!("\"{hash}\"").as_str())
        );
    }
    assert_eq!(service.group_versions().len(), 5);
}

#[tokio::test]
async fn v3_group_version_caching_headers() {
    let service = kapi_service();
    let handler = service.v3_group_version_handler();
    let url = url_of(&root(&service).await, "apis/coordination.k8s.io/v1").unwrap();
    let etag = format!("\"{}\"", url.rsplit('=').next().unwrap());

    let (response, body) = send(&handler, get(&url, &[])).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(
        header(&response, "cache-control"),
        Some("public, immutable")
    );
    assert_eq!(header(&response, "vary"), Some("Accept"));
    assert_eq!(header(&response, "etag"), Some(etag.as_str()));
    let expires = header(&response, "expires").unwrap();
    let year = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .year()
        + 1;
    assert!(
        expires.contains(&year.to_string()) && expires.ends_with(" UTC"),
        "{expires}"
    );
    assert!(header(&response, "last-modified").is_some());
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["openapi"], "3.0.0");
    assert_eq!(
        doc["info"],
        json!({"title": "Kubernetes", "version": "v1.33.0"})
    );

    // Without a hash: the document, no immutable caching.
    let (response, plain) = send(
        &handler,
        get("/openapi/v3/apis/coordination.k8s.io/v1", &[]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(plain, body);
    assert_eq!(header(&response, "cache-control"), None);
    assert_eq!(header(&response, "expires"), None);

    // A stale hash redirects to the current one.
    let (response, moved) = send(
        &handler,
        get("/openapi/v3/apis/coordination.k8s.io/v1?hash=0123", &[]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(header(&response, "location"), Some(url.as_str()));
    assert!(moved.is_empty());

    // If-None-Match with the ETag: 304 without a body.
    let (response, empty) = send(&handler, get(&url, &[("if-none-match", &etag)])).await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(empty.is_empty());
    assert_eq!(header(&response, "etag"), Some(etag.as_str()));
    let (response, _) = send(&handler, get(&url, &[("if-none-match", "\"other\"")])).await;
    assert_eq!(response.status(), StatusCode::OK);

    // Unknown group versions: an empty 404, as the aggregator answers.
    let (response, body) = send(&handler, get("/openapi/v3/apis/nope.example.com/v1", &[])).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(body.is_empty());

    // Protobuf only is not served; protobuf or JSON gets JSON.
    let protobuf = "application/com.github.proto-openapi.spec.v3@v1.0+protobuf";
    let (response, _) = send(&handler, get(&url, &[("accept", protobuf)])).await;
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
    let both = format!("{protobuf}, application/json");
    let (response, _) = send(&handler, get(&url, &[("accept", both.as_str())])).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
}

#[tokio::test]
async fn v3_root_conditional_request() {
    let service = kapi_service();
    let handler = service.v3_handler();
    let (response, body) = send(&handler, get("/openapi/v3", &[])).await;
    let etag = header(&response, "etag").unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", upper_hex_sha512(&body)));
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    let (response, _) = send(&handler, get("/openapi/v3", &[("if-none-match", &etag)])).await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn v3_documents_carry_what_kubectl_needs() {
    let service = kapi_service();
    let handler = service.v3_group_version_handler();
    let (_, body) = send(&handler, get("/openapi/v3/api/v1", &[])).await;
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(!has_ref_with_siblings(&doc));
    let item = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"];
    assert_eq!(
        item["patch"]["operationId"],
        "patchCoreV1NamespacedConfigMap"
    );
    assert_eq!(item["patch"]["x-kubernetes-action"], "patch");
    assert_eq!(
        item["patch"]["x-kubernetes-group-version-kind"],
        json!({"group": "", "kind": "ConfigMap", "version": "v1"})
    );
    let patch_types: Vec<&str> = item["patch"]["requestBody"]["content"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        patch_types,
        [
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json"
        ]
    );
    let common: Vec<&str> = item["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(common, ["name", "namespace", "pretty"]);
    assert_eq!(
        doc["paths"]["/api/v1/"]["get"]["operationId"],
        "getCoreV1APIResources"
    );
    assert_eq!(
        doc["paths"]["/api/v1/configmaps"]["get"]["operationId"],
        "listCoreV1ConfigMapForAllNamespaces"
    );
    assert_eq!(
        doc["paths"]["/api/v1/watch/namespaces/{namespace}/configmaps/{name}"]["get"]["x-kubernetes-action"],
        "watch"
    );
    assert_eq!(
        doc["paths"]["/api/v1/namespaces/{namespace}/serviceaccounts/{name}"]["delete"]["responses"]
            ["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/io.k8s.api.core.v1.ServiceAccount"
    );
    // kubectl's field validation check: every PATCH names fieldValidation.
    for (path, item) in doc["paths"].as_object().unwrap() {
        if let Some(patch) = item.get("patch") {
            let names: Vec<&str> = patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert!(names.contains(&"fieldValidation"), "{path}");
        }
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["io.k8s.api.core.v1.ConfigMap"]["x-kubernetes-group-version-kind"],
        json!([{"group": "", "kind": "ConfigMap", "version": "v1"}])
    );
    assert_eq!(
        schemas["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]["x-kubernetes-group-version-kind"],
        json!([{"group": "", "kind": "DeleteOptions", "version": "v1"}])
    );
    assert_eq!(
        schemas["io.k8s.api.core.v1.ServiceAccount"]["properties"]["secrets"]["x-kubernetes-patch-merge-key"],
        "name"
    );
    assert_eq!(
        schemas["io.k8s.api.core.v1.NamespaceStatus"]["properties"]["conditions"]["x-kubernetes-list-map-keys"],
        json!(["type"])
    );

    let (_, body) = send(
        &handler,
        get("/openapi/v3/apis/rbac.authorization.k8s.io/v1", &[]),
    )
    .await;
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        doc["components"]["schemas"]["io.k8s.api.rbac.v1.PolicyRule"]["properties"]["verbs"]["x-kubernetes-list-type"],
        "atomic"
    );
    assert_eq!(
        doc["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"]["x-kubernetes-group-version-kind"],
        json!([
            {"group": "", "kind": "WatchEvent", "version": "v1"},
            {"group": "rbac.authorization.k8s.io", "kind": "WatchEvent", "version": "v1"},
        ])
    );
    assert!(
        doc["paths"]["/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"]["get"].is_object()
    );
}

#[tokio::test]
async fn v2_json_and_protobuf() {
    let service = kapi_service();
    let handler = service.v2_handler();
    let (response, body) = send(
        &handler,
        get("/openapi/v2", &[("accept", "application/json")]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(header(&response, "vary"), Some("Accept"));
    let etag = format!("\"{}\"", upper_hex_sha512(&body));
    assert_eq!(header(&response, "etag"), Some(etag.as_str()));
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["swagger"], "2.0");
    assert_eq!(
        doc["info"],
        json!({"title": "Kubernetes", "version": "v1.33.0"})
    );
    let item = &doc["paths"]["/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"];
    assert_eq!(
        item["patch"]["operationId"],
        "patchCoordinationV1NamespacedLease"
    );
    assert_eq!(
        item["put"]["parameters"][0],
        json!({"name": "body", "in": "body", "required": true,
        "schema": {"$ref": "#/definitions/io.k8s.api.coordination.v1.Lease"}})
    );
    let definitions = &doc["definitions"];
    assert_eq!(
        definitions["io.k8s.api.core.v1.ConfigMap"]["properties"]["metadata"]["$ref"],
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    let delete_options = definitions["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]["x-kubernetes-group-version-kind"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(delete_options, 5, "core/v1 and the four served API groups");
    assert!(!has_wrapped_ref(&doc), "v2 keeps $ref siblings unwrapped");
    assert!(doc["paths"]["/apis/coordination.k8s.io/"].is_object());
    assert!(doc["paths"]["/version/"].is_object());

    for accept in [
        "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
    ] {
        let (response, proto) = send(&handler, get("/openapi/v2", &[("accept", accept)])).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, "content-type"),
            Some("application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
        );
        assert_eq!(
            header(&response, "etag"),
            Some(etag.as_str()),
            "the JSON's ETag"
        );
        // Field 1 (swagger) = "2.0".
        assert_eq!(&proto[..5], &[0x0a, 3, b'2', b'.', b'0']);
    }
    let (response, _) = send(&handler, get("/openapi/v2", &[("if-none-match", &etag)])).await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    let (response, _) = send(&handler, get("/openapi/v2", &[("accept", "text/html")])).await;
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
}

fn crontab_schema() -> Value {
    json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "cronSpec": {"type": "string"}, "replicas": {"type": "integer"}}}}})
}

#[tokio::test]
async fn crds_come_and_go() {
    let service = kapi_service();
    let before = root(&service).await;
    let spec = ResourceSpec::new("stable.example.com", "v1", "crontabs", "CronTab", true)
        .with_subresource(Subresource::Status)
        .with_subresource(Subresource::Scale);
    service.add_custom(spec, crontab_schema());
    let after = root(&service).await;
    assert_eq!(
        url_of(&before, "api/v1"),
        url_of(&after, "api/v1"),
        "other documents keep their hash"
    );
    assert!(url_of(&before, "apis/stable.example.com/v1").is_none());
    assert!(
        url_of(&after, "apis/stable.example.com").is_none(),
        "no group document for CRD groups"
    );
    let url = url_of(&after, "apis/stable.example.com/v1").unwrap();
    let (response, body) = send(&service.v3_group_version_handler(), get(&url, &[])).await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(!has_ref_with_siblings(&doc));
    let list = &doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs"]["get"];
    assert_eq!(
        list["operationId"],
        "listStableExampleComV1NamespacedCronTab"
    );
    assert_eq!(
        list["x-kubernetes-group-version-kind"],
        json!({"group": "stable.example.com", "kind": "CronTab", "version": "v1"})
    );
    assert!(doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/scale"]["patch"].is_object());
    let crontab = &doc["components"]["schemas"]["com.example.stable.v1.CronTab"];
    assert_eq!(
        crontab["properties"]["spec"]["properties"]["cronSpec"]["type"],
        "string"
    );
    assert!(doc["components"]["schemas"]["io.k8s.api.autoscaling.v1.Scale"].is_object());

    // Schemas for validation and apply.
    let schema = service
        .schema_of("stable.example.com", "v1", "CronTab")
        .unwrap();
    assert_eq!(schema.name, "com.example.stable.v1.CronTab");
    assert!(
        schema
            .definitions
            .contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    );
    assert_eq!(
        unknown_fields(
            &schema,
            &json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab", "spec": {"cronSpec": "x", "image": "y"}})
        ),
        ["spec.image"]
    );
    assert_eq!(
        service
            .schema_of("stable.example.com", "v1", "CronTabList")
            .unwrap()
            .name,
        "com.example.stable.v1.CronTabList"
    );

    // The v2 document carries the CRD too.
    let (_, body) = send(&service.v2_handler(), get("/openapi/v2", &[])).await;
    let v2: Value = serde_json::from_slice(&body).unwrap();
    assert!(v2["definitions"]["com.example.stable.v1.CronTab"].is_object());

    assert!(service.remove("stable.example.com", "v1", "crontabs"));
    assert!(!service.remove("stable.example.com", "v1", "crontabs"));
    let removed = root(&service).await;
    assert_eq!(removed, before);
    let (response, _) = send(&service.v3_group_version_handler(), get(&url, &[])).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        service
            .schema_of("stable.example.com", "v1", "CronTab")
            .is_none()
    );
}

#[tokio::test]
async fn schema_of_built_in_kinds() {
    let service = kapi_service();
    let configmap = service.schema_of("", "v1", "ConfigMap").unwrap();
    assert_eq!(configmap.name, "io.k8s.api.core.v1.ConfigMap");
    assert_eq!(
        configmap.definitions["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]["ownerReferences"]
            ["x-kubernetes-list-type"],
        "map"
    );
    assert_eq!(
        unknown_fields(
            &configmap,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labelz": {}}, "data": {"k": "v"}})
        ),
        ["metadata.labelz"]
    );
    let role = service
        .schema_of("rbac.authorization.k8s.io", "v1", "Role")
        .unwrap();
    assert_eq!(
        unknown_fields(
            &role,
            &json!({"rules": [{"verbs": ["get"], "verbz": ["x"]}]})
        ),
        ["rules[0].verbz"]
    );
    assert_eq!(
        service
            .schema_of("autoscaling", "v1", "Scale")
            .unwrap()
            .name,
        "io.k8s.api.autoscaling.v1.Scale"
    );
    assert_eq!(
        service.schema_of("", "v1", "Status").unwrap().name,
        "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
    );
    assert_eq!(
        service
            .schema_of("events.k8s.io", "v1", "Event")
            .unwrap()
            .name,
        "io.k8s.api.events.v1.Event"
    );
    assert!(service.schema_of("", "v1", "Pod").is_none());
}
