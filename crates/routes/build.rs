//! Captures the build facts `/version` reports: the git commit and tree state,
//! the build date and the compiler version.
//!
//! Never fails the build: without git (a crates.io tarball, no `git` binary)
//! the commit and tree state are empty, as in a Go build without ldflags.
//! `KAPI_GIT_COMMIT` and `KAPI_GIT_TREE_STATE` override what git says (like
//! Kubernetes' `KUBE_GIT_COMMIT`), and `SOURCE_DATE_EPOCH` fixes the date for
//! reproducible builds.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for var in [
        "SOURCE_DATE_EPOCH",
        "KAPI_GIT_COMMIT",
        "KAPI_GIT_TREE_STATE",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());

    let commit = env::var("KAPI_GIT_COMMIT")
        .ok()
        .or_else(|| git(&dir, &["rev-parse", "HEAD"]))
        .unwrap_or_default();
    let tree_state = env::var("KAPI_GIT_TREE_STATE").ok().unwrap_or_else(|| {
        // `--no-optional-locks`: only read, never refresh the index.
        match git(&dir, &["--no-optional-locks", "status", "--porcelain"]) {
            Some(changes) if changes.is_empty() => "clean".to_owned(),
            Some(_) => "dirty".to_owned(),
            None => String::new(),
        }
    });
    watch_git_head(&dir);

    let epoch = env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
        });

    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "rustc unknown".to_owned());

    println!("cargo::rustc-env=KAPI_BUILD_GIT_COMMIT={commit}");
    println!("cargo::rustc-env=KAPI_BUILD_GIT_TREE_STATE={tree_state}");
    println!("cargo::rustc-env=KAPI_BUILD_DATE={}", rfc3339_utc(epoch));
    println!("cargo::rustc-env=KAPI_BUILD_RUSTC_VERSION={rustc_version}");
}

/// Runs git in `dir`; its trimmed stdout, or `None` on any failure.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

/// Reruns this script when the checked-out commit changes.
fn watch_git_head(dir: &Path) {
    let mut files = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(reference) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        files.push(reference);
    }
    for file in files {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", &file]) {
            let path = dir.join(path);
            if path.exists() {
                println!("cargo::rerun-if-changed={}", path.display());
            }
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time, as Kubernetes' build writes `buildDate`.
fn rfc3339_utc(epoch: i64) -> String {
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}
