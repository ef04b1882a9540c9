//! End-to-end tests of server-side `Table` output driven with kubectl:
//! `kubectl get` asks for `as=Table` and prints the columns kapi computes
//! (`NAME DATA AGE` for configmaps, `STATUS` for namespaces, `TYPE` for
//! secrets), including with `-o wide`.
//!
//! Configmaps are created from a client-side rendered file with
//! `--validate=false`, as in `e2e_resources.rs` (typed creates send
//! protobuf, and there is no `/openapi/v3` yet).
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

    #[allow(dead_code, reason = "shared helper; this suite never restarts kapi")]
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
fn kubectl_get_prints_server_side_columns() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path());
    kapi.create_configmap(work.path(), "two", "a=b");

    let rows = |args: &[&str]| -> Vec<Vec<String>> {
        kapi.ok(args)
            .lines()
            .map(|line| line.split_whitespace().map(str::to_owned).collect())
            .collect()
    };
    let find = |table: &[Vec<String>], name: &str| -> Vec<String> {
        table
            .iter()
            .find(|row| row.first().map(String::as_str) == Some(name))
            .cloned()
            .unwrap_or_else(|| panic!("no row {name} in {table:?}"))
    };

    for extra in [&[][..], &["-o", "wide"][..]] {
        let mut args = vec!["get", "configmaps", "-n", "default"];
        args.extend_from_slice(extra);
        let table = rows(&args);
        assert_eq!(table[0], ["NAME", "DATA", "AGE"], "{extra:?}");
        let row = find(&table, "two");
        assert_eq!(row[1], "1", "{row:?}");
        assert_eq!(row.len(), 3, "{row:?}");

        let mut args = vec!["get", "ns"];
        args.extend_from_slice(extra);
        let table = rows(&args);
        assert_eq!(table[0], ["NAME", "STATUS", "AGE"], "{extra:?}");
        assert_eq!(find(&table, "default")[1], "Active");
    }

    let manifest = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"default"},"type":"Opaque","data":{"x":"eQ==","z":"eQ=="}}"#;
    let file = work.path().join("s.json");
    std::fs::write(&file, manifest).unwrap();
    kapi.ok(&["create", "--validate=false", "-f", file.to_str().unwrap()]);
    let table = rows(&["get", "secrets", "-n", "default"]);
    assert_eq!(table[0], ["NAME", "TYPE", "DATA", "AGE"]);
    assert_eq!(find(&table, "s")[1..3], ["Opaque", "2"]);
}
