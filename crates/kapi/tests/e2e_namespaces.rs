//! Namespace lifecycle through kubectl against `kapi serve`: new namespaces
//! carry the `kubernetes` finalizer; deleting one marks it `Terminating`,
//! the namespace controller deletes its content and then the namespace;
//! nothing can be created in a missing (404) or terminating (403)
//! namespace; `default` cannot be deleted.
//!
//! kubectl is on the PATH of every machine of this kind; without it these
//! tests print why and pass, except under `CI=true`, where they fail.

mod support;
use support::{Kapi, kubectl};

use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("{err}: {text}"))
}

#[test]
fn namespaces_terminate_with_their_content() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path(), &[]);

    // A missing namespace is a 404 naming the namespace.
    let missing = kapi.fails(&[
        "create",
        "configmap",
        "x",
        "-n",
        "nowhere",
        "--from-literal=a=b",
    ]);
    assert_eq!(
        missing,
        "error: failed to create configmap: namespaces \"nowhere\" not found\n"
    );

    assert_eq!(
        kapi.ok(&["create", "namespace", "team"]),
        "namespace/team created\n"
    );
    let team = json(&kapi.ok(&["get", "ns", "team", "-o", "json"]));
    assert_eq!(
        team["spec"]["finalizers"],
        serde_json::json!(["kubernetes"])
    );
    assert_eq!(team["status"]["phase"], "Active");

    // One plain configmap, one held by a finalizer of its own.
    kapi.ok(&[
        "create",
        "configmap",
        "plain",
        "-n",
        "team",
        "--from-literal=a=b",
    ]);
    let held = work.path().join("held.json");
    std::fs::write(
        &held,
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","namespace":"team","finalizers":["example.com/hold"]}}"#,
    )
    .unwrap();
    kapi.ok(&["create", "-f", held.to_str().unwrap(), "--validate=false"]);

    assert_eq!(
        kapi.ok(&["delete", "namespace", "team", "--wait=false"]),
        "namespace \"team\" deleted\n"
    );
    // The controller deletes the plain configmap; the held one waits.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let names = kapi.ok(&["get", "cm", "-n", "team", "-o", "name"]);
        if names == "configmap/held\n" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "content left: {names}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let team = json(&kapi.ok(&["get", "ns", "team", "-o", "json"]));
    assert_eq!(team["status"]["phase"], "Terminating", "{team}");
    assert!(team["metadata"]["deletionTimestamp"].is_string(), "{team}");

    // Nothing new in a terminating namespace.
    let refused = kapi.run(&[
        "create",
        "configmap",
        "late",
        "-n",
        "team",
        "--from-literal=a=b",
        "-o",
        "json",
    ]);
    assert!(!refused.status.success());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        "error: failed to create configmap: configmaps \"late\" is forbidden: unable to create new content in namespace team because it is being terminated\n"
    );

    // Releasing the last object lets the namespace go.
    kapi.ok(&[
        "patch",
        "cm",
        "held",
        "-n",
        "team",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    kapi.ok(&["wait", "--for=delete", "namespace/team", "--timeout=20s"]);
    let gone = kapi.run(&["get", "ns", "team"]);
    assert_eq!(
        String::from_utf8_lossy(&gone.stderr),
        "Error from server (NotFound): namespaces \"team\" not found\n"
    );

    // `kubectl delete` of a namespace waits for it by default.
    kapi.ok(&["create", "namespace", "brief"]);
    kapi.ok(&[
        "create",
        "configmap",
        "c",
        "-n",
        "brief",
        "--from-literal=a=b",
    ]);
    assert_eq!(
        kapi.ok(&["delete", "namespace", "brief", "--timeout=20s"]),
        "namespace \"brief\" deleted\n"
    );
    assert!(!kapi.run(&["get", "ns", "brief"]).status.success());

    let immortal = kapi.run(&["delete", "namespace", "default"]);
    assert_eq!(
        String::from_utf8_lossy(&immortal.stderr),
        "Error from server (Forbidden): namespaces \"default\" is forbidden: this namespace may not be deleted\n"
    );
    kapi.stop();
}
