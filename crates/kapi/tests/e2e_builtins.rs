//! End-to-end tests of the built-in resources beyond configmaps and
//! namespaces, driven with kubectl against the `kapi` binary: discovery
//! through `kubectl api-resources`, and secrets, leases, roles and
//! clusterrolebindings through create, get and delete, plus a secret with
//! data that is not base64 refused with 422.
//!
//! Creates go through JSON files with `--validate=false` (kapi serves no
//! OpenAPI yet, which `kubectl create -f` validates against). kubectl is on the PATH of
//! every machine of this kind; without it these tests print why and pass,
//! except under `CI=true`, where they fail.

use std::path::Path;

mod support;
use support::{Kapi, kubectl};

/// Writes `manifest` to `<dir>/<file>` and returns its path.
fn write_manifest(dir: &Path, file: &str, manifest: &serde_json::Value) -> String {
    let path = dir.join(file);
    std::fs::write(&path, manifest.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn api_resources_lists_the_builtins() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path(), &[]);
    let listing = kapi.ok(&["api-resources", "--no-headers"]);
    let rows: Vec<Vec<&str>> = listing
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    // NAME [SHORTNAMES] APIVERSION NAMESPACED KIND
    let check = |expected: &[&str]| {
        assert!(
            rows.iter().any(|row| row == expected),
            "{expected:?} missing from:\n{listing}"
        );
    };
    check(&["secrets", "v1", "true", "Secret"]);
    check(&["serviceaccounts", "sa", "v1", "true", "ServiceAccount"]);
    check(&["events", "ev", "v1", "true", "Event"]);
    check(&["events", "ev", "events.k8s.io/v1", "true", "Event"]);
    check(&["leases", "coordination.k8s.io/v1", "true", "Lease"]);
    check(&["roles", "rbac.authorization.k8s.io/v1", "true", "Role"]);
    check(&[
        "rolebindings",
        "rbac.authorization.k8s.io/v1",
        "true",
        "RoleBinding",
    ]);
    check(&[
        "clusterroles",
        "rbac.authorization.k8s.io/v1",
        "false",
        "ClusterRole",
    ]);
    check(&[
        "clusterrolebindings",
        "rbac.authorization.k8s.io/v1",
        "false",
        "ClusterRoleBinding",
    ]);
}

#[test]
fn builtins_live_and_die_through_kubectl() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path(), &[]);
    let rbac = "rbac.authorization.k8s.io/v1";
    // (file, manifest, `kubectl get` target, what must read back)
    let cases = [
        (
            "secret.json",
            serde_json::json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "creds", "namespace": "default"},
                "data": {"password": "czNjcjN0"}}),
            "secret/creds",
            serde_json::json!({"type": "Opaque", "data": {"password": "czNjcjN0"}}),
        ),
        (
            "lease.json",
            serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "leader", "namespace": "default"},
                "spec": {"holderIdentity": "kapi-1", "leaseDurationSeconds": 15}}),
            "lease.coordination.k8s.io/leader",
            serde_json::json!({"spec": {"holderIdentity": "kapi-1", "leaseDurationSeconds": 15}}),
        ),
        (
            "role.json",
            serde_json::json!({"apiVersion": rbac, "kind": "Role",
                "metadata": {"name": "reader", "namespace": "default"},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}),
            "role.rbac.authorization.k8s.io/reader",
            serde_json::json!({"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}),
        ),
        (
            "binding.json",
            serde_json::json!({"apiVersion": rbac, "kind": "ClusterRoleBinding",
                "metadata": {"name": "jane-view"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"}]}),
            "clusterrolebinding.rbac.authorization.k8s.io/jane-view",
            serde_json::json!({"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"}]}),
        ),
    ];
    for (file, manifest, target, expected) in cases {
        let path = write_manifest(work.path(), file, &manifest);
        let created = kapi.ok(&["create", "--validate=false", "-f", &path]);
        assert_eq!(created.trim(), format!("{target} created"));

        let got: serde_json::Value =
            serde_json::from_str(&kapi.ok(&["get", target, "-o", "json"])).unwrap();
        for (field, value) in expected.as_object().unwrap() {
            assert_eq!(&got[field], value, "{target}.{field}");
        }
        assert_eq!(got["metadata"]["name"], manifest["metadata"]["name"]);

        let deleted = kapi.ok(&["delete", target]);
        let (kind, name) = target.split_once('/').unwrap();
        assert_eq!(deleted.trim(), format!("{kind} \"{name}\" deleted"));
        let missing = kapi.fails(&["get", target]);
        assert!(missing.contains("NotFound"), "{missing}");
    }
}

#[test]
fn a_secret_with_data_that_is_not_base64_is_refused() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path(), &[]);
    let secret = serde_json::json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "bad", "namespace": "default"},
        "data": {"token": "not base64!"}});
    let path = write_manifest(work.path(), "bad.json", &secret);
    let refused = kapi.fails(&["create", "--validate=false", "-f", &path]);
    // Go's JSON decoding of `map[string][]byte` refuses it before any
    // validation runs.
    assert_eq!(
        refused,
        format!(
            "Error from server (BadRequest): error when creating \"{path}\": Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 3\n"
        )
    );
    let raw = kapi.run(&["get", "--raw", "/api/v1/namespaces/default/secrets/bad"]);
    assert!(!raw.status.success(), "the invalid secret was stored");
}
