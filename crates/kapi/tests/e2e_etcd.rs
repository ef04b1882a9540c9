//! Two `kapi serve` processes on one real etcd (`--storage-backend etcd3`)
//! see each other's writes and watch events, driven with kubectl: the
//! scale-out path of the storage issue, end to end.
//!
//! Needs the `etcd` feature (`cargo xtask ci` turns it on when `protoc`
//! works), an `etcd` binary and kubectl; without them these tests print why
//! and pass, except under `CI=true`, where they fail.
#![cfg(feature = "etcd")]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kapi_storage::etcd_harness::etcd_or_skip;

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

/// A running `kapi serve` on etcd, killed by PID when dropped.
struct Kapi {
    child: Child,
    kubectl: PathBuf,
    kubeconfig: PathBuf,
}

impl Kapi {
    fn start(kubectl: &Path, data_dir: &Path, etcd: &str) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_kapi"))
            .args(["serve", "--bind-address", "127.0.0.1", "--secure-port", "0"])
            .args(["--storage-backend", "etcd3", "--etcd-servers", etcd])
            .arg("--data-dir")
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

    fn command(&self) -> Command {
        let mut command = Command::new(&self.kubectl);
        command.arg("--kubeconfig").arg(&self.kubeconfig);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command()
            .args(["--request-timeout", "10s"])
            .args(args)
            .output()
            .expect("run kubectl")
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Kapi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_servers_on_one_etcd_see_each_others_writes_and_watch_events() {
    let Some(kubectl) = kubectl() else { return };
    let Some(etcd) = etcd_or_skip() else { return };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Kapi::start(&kubectl, dir_a.path(), &etcd.endpoint());
    let b = Kapi::start(&kubectl, dir_b.path(), &etcd.endpoint());

    // Both bootstrap hooks ran; there is still one `default` namespace.
    assert_eq!(b.ok(&["get", "ns", "-o", "name"]), "namespace/default\n");

    // A watch on B, started before A writes.
    let mut watch = b
        .command()
        .args([
            "get",
            "configmaps",
            "--watch",
            "--output-watch-events",
            "-o",
            "name",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kubectl watch");
    let (lines_tx, lines) = mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let wait_for = |name: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains(name) => return line,
                Ok(_) => continue,
                Err(_) => panic!("B's watch never showed {name}"),
            }
        }
    };
    // B's own write shows up in its watch: from here on the watch is live.
    b.ok(&["create", "configmap", "marker"]);
    wait_for("configmap/marker");

    a.ok(&[
        "create",
        "configmap",
        "shared",
        "--from-literal=written-by=a",
    ]);
    let on_b = b.ok(&[
        "get",
        "configmap",
        "shared",
        "-o",
        "jsonpath={.data.written-by}",
    ]);
    assert_eq!(on_b, "a");

    // A's write reaches B's watch through etcd.
    wait_for("configmap/shared");

    // And the other way round: B deletes, A no longer finds it.
    b.ok(&["delete", "configmap", "shared"]);
    let gone = a.run(&["get", "configmap", "shared"]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains(r#"configmaps "shared" not found"#));

    let _ = watch.kill();
    let _ = watch.wait();
}
