//! `Table` output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`)
//! of a ConfigMap-like resource through `ResourceHandler::serve`: the exact
//! Table of a list and of a get with Go's default `Name`/`Created At`
//! columns and with a resource's own convertor, the `includeObject`
//! variants, the `Content-Type`, and plain objects for a JSON-only Accept.

use std::sync::Arc;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use kapi_core::{Body, RequestInfoResolver, Response};
use kapi_endpoints::{ColumnDefinition, ResourceHandler, ResourceInfo, TableConvertor};
use kapi_storage::ObjectStore;
use kapi_storage::memory::MemoryBackend;
use kapi_storage::registry::{Store, Strategy};
use serde_json::{Value, json};

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

/// A printer-like convertor: Name, Data (key count), a wide-only Age.
#[derive(Debug)]
struct DataColumns;

impl TableConvertor for DataColumns {
    fn columns(&self) -> Vec<ColumnDefinition> {
        vec![
            ColumnDefinition::name(),
            ColumnDefinition::new("Data", "string", "keys"),
            ColumnDefinition::age().wide(),
        ]
    }
    fn cells(&self, object: &Value) -> Vec<Value> {
        let keys = object["data"].as_object().map_or(0, |d| d.len());
        vec![
            object["metadata"]["name"].clone(),
            json!(keys),
            kapi_endpoints::age(object),
        ]
    }
}

fn handler(table: Option<Arc<dyn TableConvertor>>) -> ResourceHandler {
    let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
    let store = Store::new(storage, "", "configmaps", "ConfigMap", Arc::new(ConfigMaps));
    let mut info = ResourceInfo::new("", "v1", "configmaps", "ConfigMap", true);
    info.table = table;
    ResourceHandler::new(info, Arc::new(store))
}

async fn call(
    handler: &ResourceHandler,
    method: Method,
    uri: &str,
    accept: &str,
    body: impl Into<Body>,
) -> Response {
    let mut builder = http::Request::builder().method(method.clone()).uri(uri);
    if !accept.is_empty() {
        builder = builder.header("accept", accept);
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
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, content_type, value)
}

const CM: &str = "/api/v1/namespaces/default/configmaps";
const KUBECTL_GET: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATED_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

async fn create(handler: &ResourceHandler, name: &str, data: Value) -> Value {
    let body =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data});
    let (status, _, value) =
        read(call(handler, Method::POST, CM, "", body.to_string()).await).await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    value
}

fn default_columns() -> Value {
    json!([
        {"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0},
        {"name": "Created At", "type": "date", "format": "", "description": CREATED_DESCRIPTION, "priority": 0},
    ])
}

fn partial(object: &Value, version: &str) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": format!("meta.k8s.io/{version}"), "metadata": object["metadata"]})
}

#[tokio::test]
async fn list_and_get_as_default_table() {
    let h = handler(None);
    let a = create(&h, "a", json!({"k": "v"})).await;
    let b = create(&h, "b", json!({})).await;
    let (code, content_type, list) =
        read(call(&h, Method::GET, CM, KUBECTL_GET, Body::empty()).await).await;
    let rv = list["metadata"]["resourceVersion"].clone();
    assert!(rv.is_string(), "{list}");
    let row = |o: &Value| json!({"cells": [o["metadata"]["name"], o["metadata"]["creationTimestamp"]], "object": partial(o, "v1")});
    assert_eq!(
        (code, content_type.as_str(), list),
        (
            StatusCode::OK,
            "application/json",
            json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv}, "columnDefinitions": default_columns(), "rows": [row(&a), row(&b)]})
        )
    );

    let (code, content_type, got) = read(
        call(
            &h,
            Method::GET,
            &format!("{CM}/a"),
            KUBECTL_GET,
            Body::empty(),
        )
        .await,
    )
    .await;
    assert_eq!(
        (code, content_type.as_str(), got),
        (
            StatusCode::OK,
            "application/json",
            json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": a["metadata"]["resourceVersion"]}, "columnDefinitions": default_columns(), "rows": [row(&a)]})
        )
    );
}

#[tokio::test]
async fn empty_default_table_has_null_rows_and_v1beta1_is_served() {
    let h = handler(None);
    let accept = "application/json;as=Table;v=v1beta1;g=meta.k8s.io";
    let (code, _, table) = read(call(&h, Method::GET, CM, accept, Body::empty()).await).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(table["rows"], Value::Null);
}

#[tokio::test]
async fn include_object_variants() {
    let h = handler(None);
    let a = create(&h, "a", json!({"k": "v"})).await;
    let check = async |query: &str, expected: Value| {
        let uri = format!("{CM}/a{query}");
        let (code, _, got) =
            read(call(&h, Method::GET, &uri, KUBECTL_GET, Body::empty()).await).await;
        assert_eq!(
            (code, got["rows"][0]["object"].clone()),
            (StatusCode::OK, expected),
            "{query}"
        );
    };
    check("", partial(&a, "v1")).await;
    check("?includeObject=Metadata", partial(&a, "v1")).await;
    check("?includeObject=None", Value::Null).await;
    check("?includeObject=Object", a.clone()).await;

    let (code, _, status) = read(
        call(
            &h,
            Method::GET,
            &format!("{CM}/a?includeObject=All"),
            KUBECTL_GET,
            Body::empty(),
        )
        .await,
    )
    .await;
    assert_eq!(
        (code, status["reason"].clone(), status["message"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("BadRequest"),
            json!(r#"unrecognized includeObject value: "All""#)
        )
    );
}

#[tokio::test]
async fn resource_convertor_columns_and_cells() {
    let h = handler(Some(Arc::new(DataColumns)));
    create(&h, "a", json!({"k": "v", "l": "w"})).await;
    let (code, _, table) = read(call(&h, Method::GET, CM, KUBECTL_GET, Body::empty()).await).await;
    assert_eq!(code, StatusCode::OK);
    let headers: Vec<(&str, i64)> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["priority"].as_i64().unwrap()))
        .collect();
    assert_eq!(headers, [("Name", 0), ("Data", 0), ("Age", 1)]);
    let cells = &table["rows"][0]["cells"];
    assert_eq!(cells[0], "a");
    assert_eq!(cells[1], 2);
    // Created just now: a few seconds at most.
    let age = cells[2].as_str().unwrap();
    assert!(matches!(age, "0s" | "1s" | "2s"), "{age}");

    let (_, _, empty) = read(
        call(
            &h,
            Method::GET,
            "/api/v1/namespaces/other/configmaps",
            KUBECTL_GET,
            Body::empty(),
        )
        .await,
    )
    .await;
    assert_eq!(empty["rows"], json!([]));
}

#[tokio::test]
async fn json_only_accept_gets_plain_objects() {
    let h = handler(None);
    let a = create(&h, "a", json!({"k": "v"})).await;
    for accept in ["application/json", "", "*/*"] {
        let (code, content_type, got) =
            read(call(&h, Method::GET, &format!("{CM}/a"), accept, Body::empty()).await).await;
        assert_eq!(
            (code, content_type.as_str(), &got),
            (StatusCode::OK, "application/json", &a),
            "{accept}"
        );
        let (_, _, list) = read(call(&h, Method::GET, CM, accept, Body::empty()).await).await;
        assert_eq!(list["kind"], "ConfigMapList", "{accept}");
    }
}

#[tokio::test]
async fn table_in_yaml_and_not_in_protobuf() {
    let h = handler(None);
    create(&h, "a", json!({})).await;
    let response = call(
        &h,
        Method::GET,
        CM,
        "application/yaml;as=Table;v=v1;g=meta.k8s.io",
        Body::empty(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/yaml");
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
    assert!(text.contains("kind: Table"), "{text}");

    let accept = "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io";
    let (code, _, status) = read(call(&h, Method::GET, CM, accept, Body::empty()).await).await;
    assert_eq!(
        (code, status["reason"].clone()),
        (StatusCode::NOT_ACCEPTABLE, json!("NotAcceptable"))
    );
}

#[tokio::test]
async fn writes_answer_tables_too() {
    let h = handler(None);
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let (code, _, got) =
        read(call(&h, Method::POST, CM, KUBECTL_GET, body.to_string()).await).await;
    assert_eq!(
        (
            code,
            got["kind"].clone(),
            got["rows"][0]["cells"][0].clone()
        ),
        (StatusCode::CREATED, json!("Table"), json!("c"))
    );
}

const PARTIAL_LIST: &str =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
const PARTIAL: &str =
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

#[tokio::test]
async fn partial_object_metadata_of_objects_and_lists() {
    let h = handler(None);
    let a = create(&h, "a", json!({"k": "v"})).await;
    let b = create(&h, "b", json!({})).await;

    let (status, _, list) =
        read(call(&h, Method::GET, CM, PARTIAL_LIST, Body::empty()).await).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(list["items"], json!([partial(&a, "v1"), partial(&b, "v1")]));
    assert!(list["metadata"]["resourceVersion"].is_string(), "{list}");

    let (status, _, got) =
        read(call(&h, Method::GET, &format!("{CM}/a"), PARTIAL, Body::empty()).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, partial(&a, "v1"));
    let v1beta1 = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1";
    let (_, _, got) =
        read(call(&h, Method::GET, &format!("{CM}/a"), v1beta1, Body::empty()).await).await;
    assert_eq!(got, partial(&a, "v1beta1"));

    // The wrong shape is Go's 406.
    let list_only = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    let (status, _, err) = read(
        call(
            &h,
            Method::GET,
            &format!("{CM}/a"),
            list_only,
            Body::empty(),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE, "{err}");
    assert_eq!(err["reason"], "NotAcceptable");
    let object_only = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
    let (status, _, err) = read(call(&h, Method::GET, CM, object_only, Body::empty()).await).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE, "{err}");
}

/// The watch frames of `uri` with `accept` until `count` arrived.
async fn watch_frames(h: &ResourceHandler, uri: &str, accept: &str, count: usize) -> Vec<Value> {
    let response = call(h, Method::GET, uri, accept, Body::empty()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut buffer = Vec::new();
    let mut frames = Vec::new();
    while frames.len() < count {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .expect("a frame in time")
            .expect("the stream goes on")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            buffer.extend_from_slice(&data);
        }
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            frames.push(serde_json::from_slice(&line).unwrap());
        }
    }
    frames
}

#[tokio::test]
async fn watches_stream_table_rows_and_partial_metadata() {
    let h = handler(Some(Arc::new(DataColumns)));
    let a = create(&h, "a", json!({"k": "v"})).await;
    let b = create(&h, "b", json!({})).await;
    let uri = format!("{CM}?watch=true&resourceVersion=0");

    let frames = watch_frames(&h, &uri, KUBECTL_GET, 2).await;
    assert_eq!(frames[0]["type"], "ADDED");
    let first = &frames[0]["object"];
    assert_eq!(first["kind"], "Table");
    assert_eq!(first["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(first["columnDefinitions"].as_array().unwrap().len(), 3);
    assert_eq!(first["rows"][0]["cells"][0], "a");
    assert_eq!(first["rows"][0]["cells"][1], 1);
    assert_eq!(first["rows"][0]["object"], partial(&a, "v1"));
    assert_eq!(
        first["metadata"]["resourceVersion"],
        a["metadata"]["resourceVersion"]
    );
    // Later rows come without the column definitions.
    let second = &frames[1]["object"];
    assert!(second["columnDefinitions"].is_null(), "{second}");
    assert_eq!(second["rows"][0]["cells"][0], "b");

    let frames = watch_frames(&h, &uri, PARTIAL, 2).await;
    assert_eq!(
        frames[0],
        json!({"type": "ADDED", "object": partial(&a, "v1")})
    );
    assert_eq!(
        frames[1],
        json!({"type": "ADDED", "object": partial(&b, "v1")})
    );

    // A JSON-only Accept still streams the objects themselves.
    let frames = watch_frames(&h, &uri, "application/json", 1).await;
    assert_eq!(frames[0]["object"]["kind"], "ConfigMap");
}
