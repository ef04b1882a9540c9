//! End-to-end tests of kubectl's typed create commands against the `kapi`
//! binary: `kubectl create configmap`, `namespace`, `secret generic`,
//! `serviceaccount`, `role`, `clusterrole`, `rolebinding` and
//! `clusterrolebinding` send protobuf bodies
//! (`application/vnd.kubernetes.protobuf`), which kapi decodes; each object
//! is then read back with `kubectl get -o json`.
//!
//! kubectl is on the PATH of every machine of this kind; without it these
//! tests print why and pass, except under `CI=true`, where they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

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

    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "kapi did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Kapi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    let kapi = Kapi::start(&kubectl, dir.path());

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
