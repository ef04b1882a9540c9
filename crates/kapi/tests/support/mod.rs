//! The kubectl and `kapi serve` harness shared by the end-to-end tests:
//! finding kubectl (skip with a printed reason outside CI, fail under
//! `CI=true`), starting `kapi serve` on a data directory and waiting until
//! readyz passes, running kubectl against it, signalling and stopping it.
//!
//! A `support/mod.rs` rather than `support.rs`: cargo builds every
//! `tests/*.rs` as its own test crate, and a directory module is not one.
#![allow(dead_code, reason = "each test crate uses part of the shared support")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The kubectl to use, or `None` (with the reason printed) when it is
/// missing outside CI.
pub(crate) fn kubectl() -> Option<PathBuf> {
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

/// Runs `kubectl` with `kubeconfig`, a 10 s request timeout and `args`.
pub(crate) fn run(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--request-timeout", "10s"])
        .args(args)
        .output()
        .expect("run kubectl")
}

/// The stdout of a kubectl run, failing the test when the run failed.
pub(crate) fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "kubectl failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A running `kapi serve` and the kubectl that drives it; the process is
/// killed by PID when dropped.
#[derive(Debug)]
pub(crate) struct Kapi {
    child: Child,
    kubectl: PathBuf,
    kubeconfig: PathBuf,
}

impl Kapi {
    /// Starts `kapi serve` on 127.0.0.1, a random port and `data_dir`, with
    /// `extra` arguments, and waits until readyz passes through kubectl
    /// (which includes the hook creating the `default` namespace).
    pub(crate) fn start(kubectl: &Path, data_dir: &Path, extra: &[&str]) -> Self {
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
            .args(extra)
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

    /// The admin kubeconfig kapi wrote into its data directory.
    pub(crate) fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// kubectl with `--kubeconfig` set, for callers that need more control
    /// than [`Kapi::run`] (a streaming `get --watch`, say).
    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(&self.kubectl);
        command.arg("--kubeconfig").arg(&self.kubeconfig);
        command
    }

    /// Runs kubectl against this server.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        run(&self.kubectl, &self.kubeconfig, args)
    }

    /// Runs kubectl and returns its stdout, failing the test on failure.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
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
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "kubectl {args:?} succeeded");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// Creates configmap `name` with `literal` data through a file rendered
    /// client-side (`--dry-run=client -o json`), created with
    /// `--validate=false` since kapi serves no `/openapi/v3` yet.
    pub(crate) fn create_configmap(&self, dir: &Path, name: &str, literal: &str) {
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

    /// Sends `signal` (`"TERM"`, `"INT"`) to the process with `kill`.
    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, failing the test after `within`.
    pub(crate) fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "kapi did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the process with SIGTERM and waits (30 s at most) for it to exit.
    pub(crate) fn stop(mut self) {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(30));
    }
}

impl Drop for Kapi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
