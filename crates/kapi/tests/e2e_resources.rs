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

    /// Creates configmap `name` with `data` (see the module docs for why
    /// through a file).
    fn create_configmap(&self, dir: &Path, name: &str, literal: &str) {
        let manifest = self.ok(&[
            "create",
            "configmap",
            name,
            &format!("--from-literal={literal}"),
            "--dry-run=client",
            "-o",
            "json",
        ]);
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, manifest).unwrap();
        let created = self.ok(&["create", "--validate=false", "-f", file.to_str().unwrap()]);
        assert_eq!(created.trim(), format!("configmap/{name} created"));
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

#[test]
fn configmaps_live_and_die_through_kubectl() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path());

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
    let kapi = Kapi::start(&kubectl, dir.path());
    kapi.create_configmap(work.path(), "kept", "x=y");
    kapi.stop();

    let kapi = Kapi::start(&kubectl, dir.path());
    let kept: serde_json::Value =
        serde_json::from_str(&kapi.ok(&["get", "configmap", "kept", "-o", "json"])).unwrap();
    assert_eq!(kept["data"], serde_json::json!({"x": "y"}), "{kept}");
    // The default namespace was found, not created twice.
    assert_eq!(kapi.ok(&["get", "ns", "-o", "name"]), "namespace/default\n");
}
