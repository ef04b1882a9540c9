//! Protobuf request bodies (`application/vnd.kubernetes.protobuf`) as
//! kubectl's typed commands send them: objects built with `k8s-pb`, wrapped
//! in the `k8s\0` + `runtime.Unknown` envelope, POSTed through
//! `ResourceHandler::serve`, and the object read back as JSON.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use k8s_pb::api::core::v1 as core;
use k8s_pb::api::rbac::v1 as rbac;
use k8s_pb::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use kapi_core::{Body, RequestInfoResolver};
use kapi_endpoints::{ResourceHandler, ResourceInfo};
use kapi_storage::ObjectStore;
use kapi_storage::memory::MemoryBackend;
use kapi_storage::registry::{Store, Strategy};
use prost::Message;
use serde_json::{Value, json};

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// Any resource: namespaced or not, nothing else special.
#[derive(Debug)]
struct Plain(bool);

impl Strategy for Plain {
    fn namespace_scoped(&self) -> bool {
        self.0
    }
    fn allow_create_on_update(&self) -> bool {
        false
    }
    fn allow_unconditional_update(&self) -> bool {
        true
    }
}

fn handler(group: &str, resource: &str, kind: &str, namespaced: bool) -> ResourceHandler {
    let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
    let store = Store::new(storage, group, resource, kind, Arc::new(Plain(namespaced)));
    let info = ResourceInfo::new(group, "v1", resource, kind, namespaced);
    ResourceHandler::new(info, Arc::new(store))
}

/// The envelope kube-apiserver's protobuf serializer reads.
fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.to_owned()),
            kind: Some(kind.to_owned()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut body = b"k8s\x00".to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

async fn send(
    handler: &ResourceHandler,
    method: Method,
    uri: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut builder = http::Request::builder()
        .method(method.clone())
        .uri(uri)
        .header("accept", "application/json");
    if !content_type.is_empty() {
        builder = builder.header("content-type", content_type);
    }
    let request = builder.body(Body::from(body)).unwrap();
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

/// The object without what the server sets itself.
fn user_fields(mut object: Value) -> Value {
    if let Some(meta) = object["metadata"].as_object_mut() {
        for key in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
            meta.remove(key);
        }
    }
    object
}

fn meta(name: &str) -> Option<ObjectMeta> {
    Some(ObjectMeta {
        name: Some(name.to_owned()),
        ..ObjectMeta::default()
    })
}

/// One kind: POST `raw` in protobuf to `collection`, expect 201 and
/// `expected` both in the response and from a JSON GET afterwards.
async fn check(
    handler: &ResourceHandler,
    collection: &str,
    (api_version, kind): (&str, &str),
    raw: Vec<u8>,
    expected: Value,
) {
    let body = envelope(api_version, kind, raw);
    let (status, created) = send(handler, Method::POST, collection, PROTOBUF, body).await;
    assert_eq!(status, StatusCode::CREATED, "{kind}: {created}");
    assert_eq!(user_fields(created), expected, "{kind}: create response");
    let name = expected["metadata"]["name"].as_str().unwrap();
    let uri = format!("{collection}/{name}");
    let (status, stored) = send(handler, Method::GET, &uri, "", Vec::new()).await;
    assert_eq!(status, StatusCode::OK, "{kind}: {stored}");
    assert_eq!(user_fields(stored), expected, "{kind}: stored object");
}

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn config_map_as_kubectl_create_sends_it() {
    let handler = handler("", "configmaps", "ConfigMap", true);
    let object = core::ConfigMap {
        metadata: Some(ObjectMeta {
            name: Some("demo".to_owned()),
            namespace: Some(String::new()),
            labels: BTreeMap::from([("app".to_owned(), "web".to_owned())]),
            creation_timestamp: Some(Time::default()),
            ..ObjectMeta::default()
        }),
        data: BTreeMap::from([("a".to_owned(), "b".to_owned())]),
        binary_data: BTreeMap::from([("bin".to_owned(), vec![0, 1, 255])]),
        immutable: Some(false),
    };
    let expected = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "demo", "namespace": "default", "labels": {"app": "web"}},
        "data": {"a": "b"},
        "binaryData": {"bin": "AAH/"},
        "immutable": false,
    });
    check(
        &handler,
        CONFIGMAPS,
        ("v1", "ConfigMap"),
        object.encode_to_vec(),
        expected,
    )
    .await;
}

#[tokio::test]
async fn metadata_fields_keep_their_json_form() {
    let handler = handler("", "configmaps", "ConfigMap", true);
    let object = core::ConfigMap {
        metadata: Some(ObjectMeta {
            name: Some("owned".to_owned()),
            annotations: BTreeMap::from([("note".to_owned(), "x".to_owned())]),
            finalizers: vec!["example.com/keep".to_owned()],
            deletion_grace_period_seconds: Some(30),
            owner_references: vec![OwnerReference {
                api_version: Some("apps/v1".to_owned()),
                kind: Some("Deployment".to_owned()),
                name: Some("web".to_owned()),
                uid: Some("0b0e6b5c-0000-4000-8000-000000000001".to_owned()),
                controller: Some(true),
                block_owner_deletion: None,
            }],
            ..ObjectMeta::default()
        }),
        ..core::ConfigMap::default()
    };
    let expected = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "owned",
            "namespace": "default",
            "annotations": {"note": "x"},
            "finalizers": ["example.com/keep"],
            "deletionGracePeriodSeconds": 30,
            "ownerReferences": [{
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": "web",
                "uid": "0b0e6b5c-0000-4000-8000-000000000001",
                "controller": true,
            }],
        },
    });
    check(
        &handler,
        CONFIGMAPS,
        ("v1", "ConfigMap"),
        object.encode_to_vec(),
        expected,
    )
    .await;
}

#[tokio::test]
async fn secret_namespace_and_service_account() {
    let secrets = handler("", "secrets", "Secret", true);
    let secret = core::Secret {
        metadata: meta("s"),
        data: BTreeMap::from([("k".to_owned(), b"v".to_vec())]),
        r#type: Some("Opaque".to_owned()),
        ..core::Secret::default()
    };
    let expected = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "default"},
        "data": {"k": "dg=="},
        "type": "Opaque",
    });
    let uri = "/api/v1/namespaces/default/secrets";
    check(
        &secrets,
        uri,
        ("v1", "Secret"),
        secret.encode_to_vec(),
        expected,
    )
    .await;

    let namespaces = handler("", "namespaces", "Namespace", false);
    let namespace = core::Namespace {
        metadata: meta("team"),
        spec: Some(core::NamespaceSpec::default()),
        status: Some(core::NamespaceStatus::default()),
    };
    let expected = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}});
    let raw = namespace.encode_to_vec();
    check(
        &namespaces,
        "/api/v1/namespaces",
        ("v1", "Namespace"),
        raw,
        expected,
    )
    .await;

    let accounts = handler("", "serviceaccounts", "ServiceAccount", true);
    let account = core::ServiceAccount {
        metadata: meta("robot"),
        image_pull_secrets: vec![core::LocalObjectReference {
            name: Some("registry".to_owned()),
        }],
        automount_service_account_token: Some(false),
        ..core::ServiceAccount::default()
    };
    let expected = json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "robot", "namespace": "default"},
        "imagePullSecrets": [{"name": "registry"}],
        "automountServiceAccountToken": false,
    });
    let uri = "/api/v1/namespaces/default/serviceaccounts";
    check(
        &accounts,
        uri,
        ("v1", "ServiceAccount"),
        account.encode_to_vec(),
        expected,
    )
    .await;
}

#[tokio::test]
async fn rbac_roles_and_bindings() {
    const GROUP: &str = "rbac.authorization.k8s.io";
    const API_VERSION: &str = "rbac.authorization.k8s.io/v1";
    let roles = handler(GROUP, "roles", "Role", true);
    let role = rbac::Role {
        metadata: meta("reader"),
        rules: vec![rbac::PolicyRule {
            verbs: vec!["get".to_owned(), "list".to_owned()],
            api_groups: vec![String::new()],
            resources: vec!["pods".to_owned()],
            ..rbac::PolicyRule::default()
        }],
    };
    let expected = json!({
        "apiVersion": API_VERSION,
        "kind": "Role",
        "metadata": {"name": "reader", "namespace": "default"},
        "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}],
    });
    let uri = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles";
    check(
        &roles,
        uri,
        (API_VERSION, "Role"),
        role.encode_to_vec(),
        expected,
    )
    .await;

    let bindings = handler(GROUP, "clusterrolebindings", "ClusterRoleBinding", false);
    let binding = rbac::ClusterRoleBinding {
        metadata: meta("admins"),
        subjects: vec![rbac::Subject {
            kind: Some("User".to_owned()),
            api_group: Some(GROUP.to_owned()),
            name: Some("alice".to_owned()),
            namespace: None,
        }],
        role_ref: Some(rbac::RoleRef {
            api_group: Some(GROUP.to_owned()),
            kind: Some("ClusterRole".to_owned()),
            name: Some("cluster-admin".to_owned()),
        }),
    };
    let expected = json!({
        "apiVersion": API_VERSION,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "admins"},
        "subjects": [{"kind": "User", "apiGroup": GROUP, "name": "alice"}],
        "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "cluster-admin"},
    });
    let uri = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";
    let raw = binding.encode_to_vec();
    check(
        &bindings,
        uri,
        (API_VERSION, "ClusterRoleBinding"),
        raw,
        expected,
    )
    .await;
}

#[tokio::test]
async fn lease_times_are_micro_times() {
    use k8s_pb::api::coordination::v1 as coordination;
    use k8s_pb::apimachinery::pkg::apis::meta::v1::MicroTime;
    let handler = handler("coordination.k8s.io", "leases", "Lease", true);
    let lease = coordination::Lease {
        metadata: meta("leader"),
        spec: Some(coordination::LeaseSpec {
            holder_identity: Some("node-a".to_owned()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime {
                seconds: Some(1_700_000_000),
                nanos: Some(123_456_789),
            }),
            lease_transitions: Some(0),
            ..coordination::LeaseSpec::default()
        }),
    };
    let expected = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "leader", "namespace": "default"},
        "spec": {
            "holderIdentity": "node-a",
            "leaseDurationSeconds": 15,
            "renewTime": "2023-11-14T22:13:20.123456Z",
            "leaseTransitions": 0,
        },
    });
    let uri = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
    let api = ("coordination.k8s.io/v1", "Lease");
    check(&handler, uri, api, lease.encode_to_vec(), expected).await;
}

#[tokio::test]
async fn events_of_both_groups() {
    use k8s_pb::api::events::v1 as events;
    use k8s_pb::apimachinery::pkg::apis::meta::v1::MicroTime;
    let pod = || core::ObjectReference {
        kind: Some("Pod".to_owned()),
        namespace: Some("default".to_owned()),
        name: Some("web-0".to_owned()),
        ..core::ObjectReference::default()
    };
    let core_events = handler("", "events", "Event", true);
    let event = core::Event {
        metadata: meta("web-0.1"),
        involved_object: Some(pod()),
        reason: Some("Started".to_owned()),
        message: Some("Started container".to_owned()),
        source: Some(core::EventSource {
            component: Some("kubelet".to_owned()),
            host: Some(String::new()),
        }),
        first_timestamp: Some(Time {
            seconds: Some(1_700_000_000),
            nanos: None,
        }),
        count: Some(1),
        r#type: Some("Normal".to_owned()),
        ..core::Event::default()
    };
    let expected = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web-0.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-0"},
        "reason": "Started",
        "message": "Started container",
        "source": {"component": "kubelet"},
        "firstTimestamp": "2023-11-14T22:13:20Z",
        "count": 1,
        "type": "Normal",
    });
    let uri = "/api/v1/namespaces/default/events";
    let raw = event.encode_to_vec();
    check(&core_events, uri, ("v1", "Event"), raw, expected).await;

    let new_events = handler("events.k8s.io", "events", "Event", true);
    let event = events::Event {
        metadata: meta("web-0.2"),
        event_time: Some(MicroTime {
            seconds: Some(1_700_000_000),
            nanos: Some(5_000),
        }),
        reporting_controller: Some("example.com/controller".to_owned()),
        reporting_instance: Some("controller-0".to_owned()),
        action: Some("Scale".to_owned()),
        reason: Some("Scaled".to_owned()),
        regarding: Some(pod()),
        note: Some("scaled up".to_owned()),
        r#type: Some("Normal".to_owned()),
        ..events::Event::default()
    };
    let expected = json!({
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "web-0.2", "namespace": "default"},
        "eventTime": "2023-11-14T22:13:20.000005Z",
        "reportingController": "example.com/controller",
        "reportingInstance": "controller-0",
        "action": "Scale",
        "reason": "Scaled",
        "regarding": {"kind": "Pod", "namespace": "default", "name": "web-0"},
        "note": "scaled up",
        "type": "Normal",
    });
    let uri = "/apis/events.k8s.io/v1/namespaces/default/events";
    let api = ("events.k8s.io/v1", "Event");
    check(&new_events, uri, api, event.encode_to_vec(), expected).await;
}

/// A body that is refused: `(content type, body, status, message)`.
async fn check_refused(
    handler: &ResourceHandler,
    body: Vec<u8>,
    status: StatusCode,
    message: &str,
) {
    let (got, value) = send(handler, Method::POST, CONFIGMAPS, PROTOBUF, body).await;
    assert_eq!(got, status, "{value}");
    assert_eq!(value["message"], message, "{value}");
}

#[tokio::test]
async fn broken_or_mismatched_bodies_are_400() {
    let handler = handler("", "configmaps", "ConfigMap", true);
    let cm = core::ConfigMap {
        metadata: meta("x"),
        ..core::ConfigMap::default()
    };
    check_refused(
        &handler,
        b"{}".to_vec(),
        StatusCode::BAD_REQUEST,
        "the object provided is unrecognized (must be of type ConfigMap): provided data does not appear to be a protobuf message, expected prefix [107 56 115 0] ({})",
    )
    .await;
    check_refused(
        &handler,
        b"k8s\x00".to_vec(),
        StatusCode::BAD_REQUEST,
        "the object provided is unrecognized (must be of type ConfigMap): empty body (6b387300)",
    )
    .await;
    check_refused(
        &handler,
        envelope("v1", "Secret", core::Secret::default().encode_to_vec()),
        StatusCode::BAD_REQUEST,
        "Secret in version \"v1\" cannot be handled as a ConfigMap: the kind does not match the endpoint",
    )
    .await;
    check_refused(
        &handler,
        envelope("v1", "Gizmo", cm.encode_to_vec()),
        StatusCode::BAD_REQUEST,
        "Gizmo in version \"v1\" cannot be handled as a ConfigMap: no kind \"Gizmo\" is registered for version \"v1\"",
    )
    .await;
    // Defaulted apiVersion and kind: the endpoint's.
    let (status, value) = send(
        &handler,
        Method::POST,
        CONFIGMAPS,
        PROTOBUF,
        envelope("", "", cm.encode_to_vec()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    assert_eq!(value["kind"], "ConfigMap");
}

#[tokio::test]
async fn kinds_without_protobuf_are_415() {
    let handler = handler("example.com", "widgets", "Widget", true);
    let body = envelope("example.com/v1", "Widget", Vec::new());
    let uri = "/apis/example.com/v1/namespaces/default/widgets";
    let (status, value) = send(&handler, Method::POST, uri, PROTOBUF, body).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{value}");
    assert_eq!(
        value["message"],
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml"
    );
}
