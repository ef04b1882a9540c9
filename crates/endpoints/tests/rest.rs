//! The REST endpoints of a ConfigMap-like resource over the memory backend:
//! every verb through `ResourceHandler::serve`, asserting status codes,
//! headers and exact JSON bodies.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use kapi_core::{Body, RequestInfoResolver, Response};
use kapi_endpoints::{ResourceHandler, ResourceInfo};
use kapi_storage::ObjectStore;
use kapi_storage::memory::MemoryBackend;
use kapi_storage::registry::{Store, Strategy};
use serde_json::{Value, json};

/// ConfigMaps: namespaced, unconditional updates, no create on update.
#[derive(Debug)]
struct ConfigMaps;

impl Strategy for ConfigMaps {
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

fn handler() -> ResourceHandler {
    let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
    let store = Store::new(storage, "", "configmaps", "ConfigMap", Arc::new(ConfigMaps));
    let info = ResourceInfo::new("", "v1", "configmaps", "ConfigMap", true);
    ResourceHandler::new(info, Arc::new(store))
}

/// A request; `headers` are `(name, value)` pairs.
async fn call(
    handler: &ResourceHandler,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Response {
    let mut builder = http::Request::builder().method(method.clone()).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(body.into()).unwrap();
    let info = RequestInfoResolver::default()
        .resolve(&method, request.uri())
        .unwrap();
    handler.serve(&info, request).await
}

async fn read(response: Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = if content_type == "application/yaml" {
        kapi_core::yaml::from_str(std::str::from_utf8(&bytes).unwrap()).unwrap_or(Value::Null)
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    (status, content_type, value)
}

const CM: &str = "/api/v1/namespaces/default/configmaps";

async fn create(handler: &ResourceHandler, name: &str, labels: Value) -> Value {
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}});
    let (status, _, value) =
        read(call(handler, Method::POST, CM, &[], body.to_string()).await).await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    value
}

/// Drops the server-set metadata so bodies compare exactly.
fn strip(mut object: Value) -> Value {
    if let Some(meta) = object["metadata"].as_object_mut() {
        for field in ["uid", "creationTimestamp", "resourceVersion"] {
            meta.remove(field);
        }
    }
    object
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code})
}

/// Compares an error body, ignoring `details`.
fn check_status(actual: (StatusCode, String, Value), code: u16, reason: &str, message: &str) {
    let (got, content_type, mut body) = actual;
    body.as_object_mut().unwrap().remove("details");
    let expected = if reason.is_empty() {
        let mut s = status(code, reason, message);
        s.as_object_mut().unwrap().remove("reason");
        s
    } else {
        status(code, reason, message)
    };
    // A YAML Accept gets its error in YAML, as Go's ErrorNegotiated writes it.
    assert!(
        content_type == "application/json" || content_type == "application/yaml",
        "{content_type}"
    );
    assert_eq!((got.as_u16(), body), (code, expected));
}

#[tokio::test]
async fn create_get_list_delete() {
    let h = handler();
    let created = create(&h, "a", json!({"app": "x"})).await;
    assert_eq!(
        strip(created.clone()),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default", "labels": {"app": "x"}}, "data": {"k": "v"}})
    );
    let (code, content_type, got) =
        read(call(&h, Method::GET, &format!("{CM}/a"), &[], Body::empty()).await).await;
    assert_eq!(
        (code, content_type.as_str(), &got),
        (StatusCode::OK, "application/json", &created)
    );

    create(&h, "b", json!({"app": "y"})).await;
    let response = call(&h, Method::GET, CM, &[], Body::empty()).await;
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = std::str::from_utf8(&bytes).unwrap();
    assert!(
        text.starts_with(
            r#"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":""#
        ),
        "{text}"
    );
    assert!(text.ends_with("]}\n"), "{text}");
    let list: Value = serde_json::from_slice(&bytes).unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(list["items"][0]["kind"], "ConfigMap");

    let (code, _, deleted) =
        read(call(&h, Method::DELETE, &format!("{CM}/a"), &[], Body::empty()).await).await;
    assert_eq!((code, strip(deleted)), (StatusCode::OK, strip(created)));
    check_status(
        read(call(&h, Method::GET, &format!("{CM}/a"), &[], Body::empty()).await).await,
        404,
        "NotFound",
        r#"configmaps "a" not found"#,
    );
}

#[tokio::test]
async fn list_query_parameters() {
    let h = handler();
    for (name, app) in [("a", "x"), ("b", "y"), ("c", "x")] {
        create(&h, name, json!({"app": app})).await;
    }
    async fn names(h: &ResourceHandler, query: &str) -> Vec<String> {
        let (code, _, list) =
            read(call(h, Method::GET, &format!("{CM}?{query}"), &[], Body::empty()).await).await;
        assert_eq!(code, StatusCode::OK, "{query}: {list}");
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
            .collect()
    }
    for (query, expected) in [
        ("labelSelector=app%3Dx", vec!["a", "c"]),
        ("labelSelector=app!%3Dx", vec!["b"]),
        ("fieldSelector=metadata.name%3Db", vec!["b"]),
        (
            "fieldSelector=metadata.namespace%3Ddefault&limit=1",
            vec!["a"],
        ),
        ("resourceVersion=0", vec!["a", "b", "c"]),
    ] {
        assert_eq!(names(&h, query).await, expected, "{query}");
    }
    // Paging: limit, continue, remainingItemCount.
    let (_, _, page) = read(
        call(
            &h,
            Method::GET,
            &format!("{CM}?limit=2"),
            &[],
            Body::empty(),
        )
        .await,
    )
    .await;
    assert_eq!(page["metadata"]["remainingItemCount"], 1);
    let token = page["metadata"]["continue"].as_str().unwrap();
    assert_eq!(names(&h, &format!("limit=2&continue={token}")).await, ["c"]);

    for (query, code, reason, message) in [
        (
            "fieldSelector=spec.x%3D1",
            400,
            "BadRequest",
            "field label not supported: spec.x",
        ),
        (
            "resourceVersionMatch=Exact",
            422,
            "Invalid",
            r#"ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"#,
        ),
        (
            "sendInitialEvents=true",
            422,
            "Invalid",
            r#"ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"#,
        ),
        (
            "limit=x",
            400,
            "BadRequest",
            r#"strconv.ParseInt: parsing "x": invalid syntax"#,
        ),
    ] {
        check_status(
            read(
                call(
                    &h,
                    Method::GET,
                    &format!("{CM}?{query}"),
                    &[],
                    Body::empty(),
                )
                .await,
            )
            .await,
            code,
            reason,
            message,
        );
    }
}

#[tokio::test]
async fn create_errors() {
    let h = handler();
    let too_big = vec![b' '; 3 * 1024 * 1024 + 1];
    for (headers, body, query, code, reason, message) in [
        (
            vec![],
            r#"{"apiVersion":"v2","kind":"ConfigMap","metadata":{"name":"a"}}"#.to_owned(),
            "",
            400,
            "BadRequest",
            "the API version in the data (v2) does not match the expected API version (v1)",
        ),
        (
            vec![("content-type", "text/plain")],
            "{}".to_owned(),
            "",
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        ),
        (
            vec![],
            r#"{"metadata":{"name":"a"}}"#.to_owned(),
            "?dryRun=Some",
            422,
            "Invalid",
            r#"CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Some"}: supported values: "All""#,
        ),
        (
            vec![],
            String::from_utf8(too_big).unwrap(),
            "",
            413,
            "RequestEntityTooLarge",
            "Request entity too large: limit is 3145728",
        ),
        (
            vec![],
            r#"{"metadata":{"name":"a","namespace":"other"}}"#.to_owned(),
            "",
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        ),
    ] {
        let response = call(&h, Method::POST, &format!("{CM}{query}"), &headers, body).await;
        check_status(read(response).await, code, reason, message);
    }
    // YAML in, YAML out; dryRun=All writes nothing.
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ym\n";
    let response = call(
        &h,
        Method::POST,
        &format!("{CM}?dryRun=All"),
        &[
            ("content-type", "application/yaml"),
            ("accept", "application/yaml"),
        ],
        yaml,
    )
    .await;
    let code = response.status();
    let content_type = response.headers()["content-type"].clone();
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert_eq!(
        (code, content_type.to_str().unwrap()),
        (StatusCode::CREATED, "application/yaml"),
        "{text}"
    );
    let created: Value = kapi_core::yaml::from_str(&text).unwrap();
    assert_eq!(created["metadata"]["name"], "ym");
    check_status(
        read(call(&h, Method::GET, &format!("{CM}/ym"), &[], Body::empty()).await).await,
        404,
        "NotFound",
        r#"configmaps "ym" not found"#,
    );
    // Protobuf only: 406.
    check_status(
        read(
            call(
                &h,
                Method::GET,
                CM,
                &[("accept", "application/vnd.kubernetes.protobuf")],
                Body::empty(),
            )
            .await,
        )
        .await,
        406,
        "NotAcceptable",
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
    );
}

#[tokio::test]
async fn update_and_patch() {
    let h = handler();
    create(&h, "a", json!({})).await;
    let put = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "w"}});
    let (code, _, updated) =
        read(call(&h, Method::PUT, &format!("{CM}/a"), &[], put.to_string()).await).await;
    assert_eq!(
        (code, &updated["data"]),
        (StatusCode::OK, &json!({"k": "w"}))
    );
    check_status(
        read(call(&h, Method::PUT, &format!("{CM}/b"), &[], put.to_string()).await).await,
        400,
        "BadRequest",
        "the name of the object (a) does not match the name on the URL (b)",
    );

    let merge = [("content-type", "application/merge-patch+json")];
    let (code, _, patched) = read(
        call(
            &h,
            Method::PATCH,
            &format!("{CM}/a"),
            &merge,
            r#"{"data":{"n":"1","k":null}}"#,
        )
        .await,
    )
    .await;
    assert_eq!(
        (code, &patched["data"]),
        (StatusCode::OK, &json!({"n": "1"}))
    );
    let json_patch = [("content-type", "application/json-patch+json")];
    let (code, _, patched) = read(
        call(
            &h,
            Method::PATCH,
            &format!("{CM}/a"),
            &json_patch,
            r#"[{"op":"add","path":"/data/m","value":"2"}]"#,
        )
        .await,
    )
    .await;
    assert_eq!(
        (code, &patched["data"]),
        (StatusCode::OK, &json!({"n": "1", "m": "2"}))
    );

    for (headers, name, body, code, reason, message) in [
        (
            json_patch,
            "a",
            r#"[{"op":"test","path":"/data/n","value":"9"}]"#,
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
        ),
        (
            merge,
            "missing",
            "{}",
            404,
            "NotFound",
            r#"configmaps "missing" not found"#,
        ),
        (
            merge,
            "a",
            r#"{"metadata":{"name":"Bad_Name"}}"#,
            400,
            "BadRequest",
            "the name of the object (Bad_Name) does not match the name on the URL (a)",
        ),
        (
            [("content-type", "application/apply-patch+yaml")],
            "a",
            "{}",
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json",
        ),
    ] {
        let response = call(&h, Method::PATCH, &format!("{CM}/{name}"), &headers, body).await;
        check_status(read(response).await, code, reason, message);
    }
    // A patch that makes the object invalid is the store's 422.
    let (code, _, body) = read(
        call(
            &h,
            Method::PATCH,
            &format!("{CM}/a"),
            &merge,
            r#"{"metadata":{"labels":{"-bad":"x"}}}"#,
        )
        .await,
    )
    .await;
    assert_eq!(
        (code.as_u16(), body["reason"].as_str()),
        (422, Some("Invalid"))
    );
}

#[tokio::test]
async fn delete_options_and_collection() {
    let h = handler();
    let a = create(&h, "a", json!({"app": "x"})).await;
    let body =
        json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "nope"}});
    let (code, _, err) = read(
        call(
            &h,
            Method::DELETE,
            &format!("{CM}/a"),
            &[],
            body.to_string(),
        )
        .await,
    )
    .await;
    assert_eq!(
        (code.as_u16(), err["reason"].as_str()),
        (409, Some("Conflict"))
    );
    check_status(
        read(
            call(
                &h,
                Method::DELETE,
                &format!("{CM}/a?dryRun=x"),
                &[],
                Body::empty(),
            )
            .await,
        )
        .await,
        422,
        "Invalid",
        r#"DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"x"}: supported values: "All""#,
    );
    let (code, _, _) = read(
        call(
            &h,
            Method::DELETE,
            &format!("{CM}/a?dryRun=All"),
            &[],
            Body::empty(),
        )
        .await,
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let uid = a["metadata"]["uid"].as_str().unwrap();
    let body = json!({"preconditions": {"uid": uid}, "propagationPolicy": "Background"});
    let (code, _, _) = read(
        call(
            &h,
            Method::DELETE,
            &format!("{CM}/a"),
            &[],
            body.to_string(),
        )
        .await,
    )
    .await;
    assert_eq!(code, StatusCode::OK);

    for name in ["b", "c", "d"] {
        create(
            &h,
            name,
            json!({"app": if name == "d" { "y" } else { "x" }}),
        )
        .await;
    }
    let (code, _, list) = read(
        call(
            &h,
            Method::DELETE,
            &format!("{CM}?labelSelector=app%3Dx"),
            &[],
            Body::empty(),
        )
        .await,
    )
    .await;
    assert_eq!(
        (
            code,
            list["kind"].as_str(),
            list["items"].as_array().map(Vec::len)
        ),
        (StatusCode::OK, Some("ConfigMapList"), Some(2))
    );
    let (_, _, left) = read(call(&h, Method::GET, CM, &[], Body::empty()).await).await;
    assert_eq!(left["items"][0]["metadata"]["name"], "d");
}

#[tokio::test]
async fn unsupported_verb_is_405() {
    let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
    let store = Store::new(storage, "", "configmaps", "ConfigMap", Arc::new(ConfigMaps));
    let mut info = ResourceInfo::new("", "v1", "configmaps", "ConfigMap", true);
    info.verbs.retain(|v| v != "delete");
    let h = ResourceHandler::new(info, Arc::new(store));
    let (code, _, body) =
        read(call(&h, Method::DELETE, &format!("{CM}/a"), &[], Body::empty()).await).await;
    assert_eq!(
        (code, body),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": r#"delete is not supported on resources of kind "configmaps""#, "reason": "MethodNotAllowed", "details": {"kind": "configmaps"}, "code": 405})
        )
    );
}

/// Reads newline-delimited frames until the stream ends (bounded).
async fn frames(response: Response, count: usize) -> Vec<Value> {
    let mut body = response.into_body();
    let mut buffer = Vec::new();
    let mut out = Vec::new();
    while out.len() < count {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("frame in time");
        let Some(frame) = frame else { break };
        buffer.extend_from_slice(frame.unwrap().data_ref().unwrap());
        while let Some(i) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=i).collect();
            out.push(serde_json::from_slice(&line).unwrap());
        }
    }
    out
}

#[tokio::test]
async fn watch_streams_events() {
    let h = handler();
    let a = create(&h, "a", json!({})).await;
    let response = call(
        &h,
        Method::GET,
        &format!("{CM}?watch=true&timeoutSeconds=5"),
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    let b = create(&h, "b", json!({})).await;
    let events = frames(response, 2).await;
    assert_eq!(
        events,
        vec![
            json!({"type": "ADDED", "object": a}),
            json!({"type": "ADDED", "object": b})
        ]
    );

    // sendInitialEvents: the initial-events-end bookmark.
    let uri = format!(
        "{CM}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=5"
    );
    let events = frames(call(&h, Method::GET, &uri, &[], Body::empty()).await, 3).await;
    assert_eq!(events[2]["type"], "BOOKMARK", "{events:?}");
    let rv = events[2]["object"]["metadata"]["resourceVersion"].clone();
    assert_eq!(
        events[2]["object"],
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"resourceVersion": rv, "annotations": {"k8s.io/initial-events-end": "true"}}})
    );

    // timeoutSeconds ends the stream.
    let response = call(
        &h,
        Method::GET,
        &format!(
            "{CM}?watch=true&resourceVersion={}&timeoutSeconds=1",
            b["metadata"]["resourceVersion"].as_str().unwrap()
        ),
        &[],
        Body::empty(),
    )
    .await;
    let started = std::time::Instant::now();
    assert!(frames(response, 1).await.is_empty());
    assert!(started.elapsed() < Duration::from_secs(3));

    // Validation and YAML (no stream form).
    check_status(
        read(
            call(
                &h,
                Method::GET,
                &format!("{CM}?watch=true&sendInitialEvents=true"),
                &[],
                Body::empty(),
            )
            .await,
        )
        .await,
        422,
        "Invalid",
        r#"ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"#,
    );
    check_status(
        read(
            call(
                &h,
                Method::GET,
                &format!("{CM}?watch=true"),
                &[("accept", "application/yaml")],
                Body::empty(),
            )
            .await,
        )
        .await,
        406,
        "NotAcceptable",
        "only the following media types are accepted: application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch",
    );
}

#[tokio::test]
async fn delete_without_returning_the_object_is_a_success_status() {
    let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
    let store = Store::new(storage, "", "configmaps", "ConfigMap", Arc::new(ConfigMaps));
    let mut info = ResourceInfo::new("", "v1", "configmaps", "ConfigMap", true);
    info.return_deleted_object = false;
    let h = ResourceHandler::new(info, Arc::new(store));
    let a = create(&h, "a", json!({})).await;
    let (code, _, body) =
        read(call(&h, Method::DELETE, &format!("{CM}/a"), &[], Body::empty()).await).await;
    assert_eq!(
        (code, body),
        (
            StatusCode::OK,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": {"name": "a", "kind": "configmaps", "uid": a["metadata"]["uid"]}})
        )
    );
}

#[tokio::test]
async fn errors_are_written_in_the_negotiated_media_type() {
    let h = handler();
    let missing = format!("{CM}/missing");
    let check = |accept: &'static str, content_type: &'static str| {
        let h = h.clone();
        let missing = missing.clone();
        async move {
            let (code, got_type, body) = read(
                call(
                    &h,
                    Method::GET,
                    &missing,
                    &[("accept", accept)],
                    Body::empty(),
                )
                .await,
            )
            .await;
            assert_eq!(code, StatusCode::NOT_FOUND);
            assert_eq!(got_type, content_type, "{accept}");
            assert_eq!(
                body["message"], "configmaps \"missing\" not found",
                "{accept}"
            );
            assert_eq!(body["reason"], "NotFound");
        }
    };
    check("application/yaml", "application/yaml").await;
    check("application/json", "application/json").await;
    // kubectl's Table-then-JSON Accept: errors carry no conversion, so JSON.
    check(
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        "application/json",
    )
    .await;
}
