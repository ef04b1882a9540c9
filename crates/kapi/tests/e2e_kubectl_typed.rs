//! End-to-end tests of kubectl's typed create commands against the `kapi`
//! binary: `kubectl create configmap`, `namespace`, `secret generic`,
//! `serviceaccount`, `role`, `clusterrole`, `rolebinding` and
//! `clusterrolebinding` send protobuf bodies
//! (`application/vnd.kubernetes.protobuf`), which kapi decodes; each object
//! is then read back with `kubectl get -o json`.
//!
//! kubectl is on the PATH of every machine of this kind; without it these
//! tests print why and pass, except under `CI=true`, where they fail.

use serde_json::{Value, json};

mod support;
use support::{Kapi, kubectl};

/// Runs one typed create, expects kubectl's confirmation, and returns the
/// object as `kubectl get -o json` prints it.
fn create_and_get(kapi: &Kapi, create: &[&str], confirmation: &str, get: &[&str]) -> Value {
    let created = kapi.ok(create);
    assert_eq!(created.trim(), confirmation, "kubectl {create:?}");
    let mut args = get.to_vec();
    args.extend(["-o", "json"]);
    serde_json::from_str(&kapi.ok(&args)).expect("kubectl get prints JSON")
}

#[test]
fn typed_creates_send_protobuf_and_land() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path(), &[]);

    let configmap = create_and_get(
        &kapi,
        &["create", "configmap", "demo", "--from-literal=a=b"],
        "configmap/demo created",
        &["get", "configmap", "demo"],
    );
    assert_eq!(configmap["data"], json!({"a": "b"}), "{configmap}");
    assert_eq!(configmap["metadata"]["namespace"], "default");

    let namespace = create_and_get(
        &kapi,
        &["create", "namespace", "team"],
        "namespace/team created",
        &["get", "namespace", "team"],
    );
    assert_eq!(namespace["metadata"]["name"], "team", "{namespace}");
    assert_eq!(namespace["status"]["phase"], "Active", "{namespace}");

    let secret = create_and_get(
        &kapi,
        &["create", "secret", "generic", "s", "--from-literal=k=v"],
        "secret/s created",
        &["get", "secret", "s"],
    );
    assert_eq!(secret["data"], json!({"k": "dg=="}), "{secret}");
    assert_eq!(secret["type"], "Opaque", "{secret}");

    let account = create_and_get(
        &kapi,
        &["create", "serviceaccount", "robot", "-n", "team"],
        "serviceaccount/robot created",
        &["get", "serviceaccount", "robot", "-n", "team"],
    );
    assert_eq!(account["metadata"]["namespace"], "team", "{account}");

    let role = create_and_get(
        &kapi,
        &[
            "create",
            "role",
            "reader",
            "--verb=get,list",
            "--resource=configmaps",
        ],
        "role.rbac.authorization.k8s.io/reader created",
        &["get", "role", "reader"],
    );
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]),
        "{role}"
    );

    let binding = create_and_get(
        &kapi,
        &[
            "create",
            "clusterrolebinding",
            "admins",
            "--clusterrole=admin",
            "--user=alice",
        ],
        "clusterrolebinding.rbac.authorization.k8s.io/admins created",
        &["get", "clusterrolebinding", "admins"],
    );
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"}),
        "{binding}"
    );
    assert_eq!(
        binding["subjects"],
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]),
        "{binding}"
    );

    let cluster_role = create_and_get(
        &kapi,
        &[
            "create",
            "clusterrole",
            "lister",
            "--verb=list",
            "--resource=namespaces",
        ],
        "clusterrole.rbac.authorization.k8s.io/lister created",
        &["get", "clusterrole", "lister"],
    );
    assert_eq!(
        cluster_role["rules"],
        json!([{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"]}]),
        "{cluster_role}"
    );

    let role_binding = create_and_get(
        &kapi,
        &[
            "create",
            "rolebinding",
            "robots",
            "--role=reader",
            "--serviceaccount=team:robot",
        ],
        "rolebinding.rbac.authorization.k8s.io/robots created",
        &["get", "rolebinding", "robots"],
    );
    assert_eq!(
        role_binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "robot", "namespace": "team"}]),
        "{role_binding}"
    );

    kapi.stop();
}
