//! Two `kapi serve` processes on one real etcd (`--storage-backend etcd3`)
//! see each other's writes and watch events, driven with kubectl: the
//! scale-out path of the storage issue, end to end.
//!
//! Needs the `etcd` feature (`cargo xtask ci` turns it on when `protoc`
//! works), an `etcd` binary and kubectl; without them these tests print why
//! and pass, except under `CI=true`, where they fail.
#![cfg(feature = "etcd")]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kapi_storage::etcd_harness::etcd_or_skip;

mod support;
use support::{Kapi, kubectl};

/// Starts `kapi serve` with etcd3 storage on `etcd`.
fn start(kubectl: &Path, data_dir: &Path, etcd: &str) -> Kapi {
    Kapi::start(
        kubectl,
        data_dir,
        &["--storage-backend", "etcd3", "--etcd-servers", etcd],
    )
}

#[test]
fn two_servers_on_one_etcd_see_each_others_writes_and_watch_events() {
    let Some(kubectl) = kubectl() else { return };
    let Some(etcd) = etcd_or_skip() else { return };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(&kubectl, dir_a.path(), &etcd.endpoint());
    let b = start(&kubectl, dir_b.path(), &etcd.endpoint());

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
