//! End-to-end tests of the `kapi` binary with kubectl: the written admin
//! kubeconfig works at once, `kubectl version` and readyz answer, restarts
//! reuse the certificates, and signals stop the process as kube-apiserver's
//! do (the first gracefully, a second at once with status 1).
//!
//! kubectl is on the PATH of every machine of this kind; without it these
//! tests print why and pass, except under `CI=true`, where they fail.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod support;
use support::{Kapi, kubectl, run, stdout};

#[test]
fn kubectl_version_and_readyz_work_with_the_written_kubeconfig() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path(), &[]);

    let readyz = stdout(&run(
        &kubectl,
        kapi.kubeconfig(),
        &["get", "--raw", "/readyz?verbose"],
    ));
    assert!(readyz.starts_with("[+]ping ok\n"), "{readyz}");
    assert!(readyz.contains("[+]log ok\n"), "{readyz}");
    assert!(readyz.contains("[+]shutdown ok\n"), "{readyz}");
    // The embedded default storage is up, in the data directory.
    assert!(readyz.contains("[+]sqlite ok\n"), "{readyz}");
    assert!(readyz.contains("[+]sqlite-readiness ok\n"), "{readyz}");
    assert!(dir.path().join("kapi.db").exists());
    assert!(readyz.ends_with("readyz check passed\n"), "{readyz:?}");

    let version = stdout(&run(
        &kubectl,
        kapi.kubeconfig(),
        &["version", "-o", "json"],
    ));
    let version: serde_json::Value = serde_json::from_str(&version).unwrap();
    let server = &version["serverVersion"];
    assert_eq!(server["major"], "1", "{version}");
    assert!(
        server["gitVersion"].as_str().unwrap().contains("+kapi-"),
        "{version}"
    );
    assert_eq!(server["compiler"], "rustc", "{version}");

    // kubectl talks HTTP/2 to kapi; the healthz endpoints answer the same.
    let livez = stdout(&run(
        &kubectl,
        kapi.kubeconfig(),
        &["get", "--raw", "/livez"],
    ));
    assert_eq!(livez, "ok");
}

#[test]
fn a_restart_reuses_the_generated_certificates() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ca_before = {
        let mut kapi = Kapi::start(&kubectl, dir.path(), &[]);
        kapi.signal("TERM");
        assert!(kapi.wait_exit(Duration::from_secs(30)).success());
        std::fs::read(dir.path().join("certificates/apiserver.crt")).unwrap()
    };
    let _kapi = Kapi::start(&kubectl, dir.path(), &[]);
    let ca_after = std::fs::read(dir.path().join("certificates/apiserver.crt")).unwrap();
    assert_eq!(ca_before, ca_after);
}

#[test]
fn the_first_signal_drains_and_a_second_exits_with_status_1() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut kapi = Kapi::start(&kubectl, dir.path(), &["--shutdown-delay-duration", "60s"]);
    kapi.signal("TERM");

    // During the shutdown delay readyz fails while the server still serves.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let output = run(
            &kubectl,
            kapi.kubeconfig(),
            &["get", "--raw", "/readyz?verbose"],
        );
        if !output.status.success() {
            break;
        }
        assert!(Instant::now() < deadline, "readyz never failed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let healthz = stdout(&run(
        &kubectl,
        kapi.kubeconfig(),
        &["get", "--raw", "/healthz"],
    ));
    assert_eq!(healthz, "ok");

    kapi.signal("TERM");
    let status = kapi.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{status}");
}

/// Every `kubectl.1.NN` that sits beside the `kubectl` on the PATH.
fn versioned_kubectls(kubectl: &Path) -> Vec<PathBuf> {
    let Ok(resolved) = std::fs::canonicalize(kubectl) else {
        return Vec::new();
    };
    let Some(dir) = resolved.parent() else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| {
                    path.file_name()
                        .and_then(|name| name.to_str())
                        .is_some_and(|name| name.starts_with("kubectl.1."))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn every_installed_kubectl_version_reads_version_and_health() {
    let Some(kubectl) = kubectl() else { return };
    let kubectls = versioned_kubectls(&kubectl);
    if kubectls.is_empty() {
        eprintln!("skipping: no kubectl.1.NN beside {}", kubectl.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path(), &[]);
    for versioned in &kubectls {
        let version = stdout(&run(
            versioned,
            kapi.kubeconfig(),
            &["version", "-o", "json"],
        ));
        let version: serde_json::Value = serde_json::from_str(&version)
            .unwrap_or_else(|e| panic!("{}: {e}: {version}", versioned.display()));
        assert_eq!(
            version["serverVersion"]["minor"],
            "33",
            "{}",
            versioned.display()
        );
        let healthz = stdout(&run(
            versioned,
            kapi.kubeconfig(),
            &["get", "--raw", "/healthz?verbose"],
        ));
        assert!(
            healthz.ends_with("healthz check passed\n"),
            "{}: {healthz}",
            versioned.display()
        );
    }
}
