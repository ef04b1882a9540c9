//! End-to-end tests of the resources `kapi serve` serves out of the box,
//! driven with kubectl: the `default` namespace, configmaps through their
//! whole life (create, get, short name from discovery, delete, NotFound),
//! and objects surviving a restart on the same data directory.
//!
//! The configmap is rendered client-side (`--dry-run=client -o json`) and
//! created from the file, which exercises JSON request bodies (the typed,
//! protobuf form is covered by `e2e_kubectl_typed.rs`); there is no
//! `/openapi/v3` yet, so `create -f` passes `--validate=false`.
//!
//! kubectl is on the PATH of every machine of this kind; without it these
//! tests print why and pass, except under `CI=true`, where they fail.

mod support;
use support::{Kapi, kubectl};

#[test]
fn configmaps_live_and_die_through_kubectl() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path(), &[]);

    let namespaces = kapi.ok(&["get", "ns", "-o", "name"]);
    assert_eq!(namespaces, "namespace/default\n");
    let default: serde_json::Value =
        serde_json::from_str(&kapi.ok(&["get", "namespace", "default", "-o", "json"])).unwrap();
    assert_eq!(default["status"]["phase"], "Active", "{default}");

    kapi.create_configmap(work.path(), "demo", "a=b");
    let demo: serde_json::Value =
        serde_json::from_str(&kapi.ok(&["get", "configmap", "demo", "-o", "json"])).unwrap();
    assert_eq!(demo["data"], serde_json::json!({"a": "b"}), "{demo}");
    assert_eq!(demo["metadata"]["namespace"], "default", "{demo}");
    assert!(
        !demo["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .is_empty(),
        "{demo}"
    );

    // `cm` resolves through the shortNames of /api/v1.
    let listed = kapi.ok(&["get", "cm", "-o", "name"]);
    assert_eq!(listed, "configmap/demo\n");
    let resources = kapi.ok(&["api-resources", "--no-headers", "-o", "name"]);
    let resources: Vec<&str> = resources.lines().collect();
    for expected in ["configmaps", "namespaces"] {
        assert!(
            resources.contains(&expected),
            "{expected} missing from {resources:?}"
        );
    }

    assert_eq!(
        kapi.ok(&["delete", "configmap", "demo"]),
        "configmap \"demo\" deleted\n"
    );
    let gone = kapi.run(&["get", "configmap", "demo"]);
    assert!(!gone.status.success());
    assert_eq!(
        String::from_utf8_lossy(&gone.stderr),
        "Error from server (NotFound): configmaps \"demo\" not found\n"
    );
}

#[test]
fn configmaps_survive_a_restart() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path(), &[]);
    kapi.create_configmap(work.path(), "kept", "x=y");
    kapi.stop();

    let kapi = Kapi::start(&kubectl, dir.path(), &[]);
    let kept: serde_json::Value =
        serde_json::from_str(&kapi.ok(&["get", "configmap", "kept", "-o", "json"])).unwrap();
    assert_eq!(kept["data"], serde_json::json!({"x": "y"}), "{kept}");
    // The default namespace was found, not created twice.
    assert_eq!(kapi.ok(&["get", "ns", "-o", "name"]), "namespace/default\n");
}
