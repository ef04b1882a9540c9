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

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The kubectl to use, or `None` (with the reason printed) when it is
/// missing outside CI.
fn kubectl() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("kubectl"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl is required when CI=true but is not on the PATH"
        );
        eprintln!("skipping: kubectl is not on the PATH");
    }
    found
}

/// A running `kapi serve` and the kubectl that drives it; the process is
/// killed by PID when dropped.
struct Kapi {
    child: Child,
    kubectl: PathBuf,
    kubeconfig: PathBuf,
}

impl Kapi {
    /// Starts kapi on `data_dir` and waits until readyz passes (which
    /// includes the hook creating the `default` namespace).
    fn start(kubectl: &Path, data_dir: &Path) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_kapi"))
            .args([
                "serve",
                "--bind-address",
                "127.0.0.1",
                "--secure-port",
                "0",
                "--data-dir",
            ])
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kapi");
        let mut kapi = Self {
            child,
            kubectl: kubectl.to_owned(),
            kubeconfig: data_dir.join("admin.kubeconfig"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = kapi.child.try_wait().unwrap() {
                panic!("kapi exited early: {status}");
            }
            if kapi.kubeconfig.exists() && kapi.run(&["get", "--raw", "/readyz"]).status.success() {
                return kapi;
            }
            assert!(Instant::now() < deadline, "kapi did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["--request-timeout", "10s"])
            .args(args)
            .output()
            .expect("run kubectl")
    }

    /// Runs kubectl and returns its stdout, failing the test on failure.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs kubectl, expecting it to fail, and returns its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "kubectl {args:?} succeeded");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// Writes `manifest` to `<dir>/<file>` and returns its path.
    fn manifest(dir: &Path, file: &str, manifest: &serde_json::Value) -> String {
        let path = dir.join(file);
        std::fs::write(&path, manifest.to_string()).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Kapi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn api_resources_lists_the_builtins() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path());
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
    let kapi = Kapi::start(&kubectl, dir.path());
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
        let path = Kapi::manifest(work.path(), file, &manifest);
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
    let kapi = Kapi::start(&kubectl, dir.path());
    let secret = serde_json::json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "bad", "namespace": "default"},
        "data": {"token": "not base64!"}});
    let path = Kapi::manifest(work.path(), "bad.json", &secret);
    let refused = kapi.fails(&["create", "--validate=false", "-f", &path]);
    assert!(
        refused.contains(
            r#"Secret "bad" is invalid: data[token]: Invalid value: illegal base64 data at input byte 3"#
        ),
        "{refused}"
    );
    let raw = kapi.run(&["get", "--raw", "/api/v1/namespaces/default/secrets/bad"]);
    assert!(!raw.status.success(), "the invalid secret was stored");
}
