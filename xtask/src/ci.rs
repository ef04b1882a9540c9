//! `cargo xtask ci`: every check CI runs, in order.
//!
//! fmt, clippy, tidy (in-process), tests (nextest when installed, then
//! doctests), rustdoc with warnings denied, and `cargo deny` when installed.
//! The first failing step stops the run and prints the command that fixes it;
//! each step's wall time is printed at the end either way.
//!
//! The etcd3 backend (`kapi-storage`'s `etcd` feature) needs `protoc` to
//! build, so it is not a default feature. CI builds, lints, tests and
//! documents it whenever a working `protoc` is found (`PROTOC`, else
//! `protoc` on the `PATH`); with `CI=true` it must be found. Elsewhere the
//! run goes on without the feature and says why.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::{cargo, display_command, project_root, tidy};

/// Flags of `cargo xtask ci`.
#[derive(Debug, clap::Args)]
pub(crate) struct CiArgs {
    /// Run the checks only (fmt, clippy, tidy, docs, deny), not the tests.
    #[arg(long, conflicts_with = "tests_only")]
    no_tests: bool,
    /// Run the tests only.
    #[arg(long)]
    tests_only: bool,
}

/// What one step runs.
#[derive(Debug)]
enum Action {
    /// An external command.
    Command(Command),
    /// `cargo xtask tidy`, run in this process.
    Tidy,
}

/// One step of the CI run.
#[derive(Debug)]
struct Step {
    name: &'static str,
    action: Action,
    /// What to run (or do) when this step fails.
    fix: String,
}

/// The cargo feature that turns on the etcd3 backend.
const ETCD_FEATURE: &str = "kapi/etcd";
/// The cargo features every compiling step turns on: `kapi::testing` and
/// its tests.
const ALWAYS_FEATURES: &str = "kapi/testing";

/// Runs the CI steps selected by `args`, stopping at the first failure.
pub(crate) fn run(args: &CiArgs) -> anyhow::Result<()> {
    let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
    let etcd = etcd_feature(in_ci, check_protoc())?;
    let steps = plan(args, etcd);
    let mut timings: Vec<(&str, Duration, &str)> = Vec::new();
    let mut failure = None;
    for Step { name, action, fix } in steps {
        let start = Instant::now();
        let ok = match action {
            Action::Command(mut cmd) => run_command(name, &mut cmd),
            Action::Tidy => {
                println!("\n==> tidy: cargo xtask tidy");
                match tidy::run_and_report(&project_root()) {
                    Ok(()) => true,
                    Err(err) => {
                        eprintln!("{err:#}");
                        false
                    }
                }
            }
        };
        timings.push((name, start.elapsed(), if ok { "ok" } else { "FAILED" }));
        if !ok {
            failure = Some((name, fix));
            break;
        }
    }
    print_timings(&timings);
    if let Some((name, fix)) = failure {
        bail!("step `{name}` failed; to fix: {fix}");
    }
    println!("xtask ci: all steps passed");
    Ok(())
}

/// Whether to build with the etcd feature: yes when protoc works; an error
/// under CI when it does not; otherwise no, saying why.
fn etcd_feature(in_ci: bool, protoc: Result<(), String>) -> anyhow::Result<bool> {
    match protoc {
        Ok(()) => {
            println!("xtask ci: protoc found, so the `{ETCD_FEATURE}` feature is built and tested");
            Ok(true)
        }
        Err(why) if in_ci => bail!(
            "CI=true requires the `{ETCD_FEATURE}` feature, whose build needs protoc: {why}; \
             install it with `apt-get install -y protobuf-compiler libprotobuf-dev` or set PROTOC \
             (and PROTOC_INCLUDE) to a protoc and its include directory"
        ),
        Err(why) => {
            println!(
                "note: the `{ETCD_FEATURE}` feature is left out ({why}); install protoc with \
                 `apt-get install -y protobuf-compiler libprotobuf-dev` or set PROTOC to include it"
            );
            Ok(false)
        }
    }
}

/// Checks that protoc (`PROTOC`, else `protoc` on the `PATH`) runs and finds
/// Google's well-known `.proto` files, which etcd-client's build imports.
fn check_protoc() -> Result<(), String> {
    check_protoc_at(std::env::var_os("PROTOC").unwrap_or_else(|| OsString::from("protoc")))
}

fn check_protoc_at(protoc: OsString) -> Result<(), String> {
    let shown = PathBuf::from(&protoc).display().to_string();
    let dir = tempfile::tempdir().map_err(|err| format!("cannot create a temp dir: {err}"))?;
    let proto = dir.path().join("probe.proto");
    std::fs::write(
        &proto,
        "syntax = \"proto3\";\nimport \"google/protobuf/descriptor.proto\";\n",
    )
    .map_err(|err| format!("cannot write {}: {err}", proto.display()))?;
    let mut cmd = Command::new(&protoc);
    cmd.arg(format!("--proto_path={}", dir.path().display()));
    if let Some(include) = std::env::var_os("PROTOC_INCLUDE") {
        cmd.arg(format!("--proto_path={}", PathBuf::from(include).display()));
    }
    cmd.arg(format!(
        "--descriptor_set_out={}",
        dir.path().join("out.pb").display()
    ))
    .arg(&proto)
    .stdout(Stdio::null());
    match cmd.output() {
        Err(err) => Err(format!("`{shown}` cannot run: {err}")),
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!(
            "`{shown}` cannot compile a file importing google/protobuf/descriptor.proto \
             (are the well-known types installed?): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

/// The steps to run, in order; every step that builds turns on
/// [`ALWAYS_FEATURES`], and `etcd` adds the etcd feature to them.
fn plan(args: &CiArgs, etcd: bool) -> Vec<Step> {
    let features = if etcd {
        format!("{ETCD_FEATURE},{ALWAYS_FEATURES}")
    } else {
        ALWAYS_FEATURES.to_owned()
    };
    let features = ["--features", features.as_str()];
    // A cargo command that compiles the workspace, with the features chosen.
    let compiling = |args: &[&str]| {
        let mut cmd = cargo_with(args);
        cmd.args(features);
        cmd
    };
    let mut steps = Vec::new();
    if !args.tests_only {
        steps.push(Step {
            name: "fmt",
            action: Action::Command(cargo_with(&["fmt", "--all", "--", "--check"])),
            fix: "run `cargo fmt --all`".into(),
        });
        steps.push(Step {
            name: "clippy",
            action: Action::Command({
                let mut cmd = compiling(&["clippy", "--workspace", "--all-targets", "--locked"]);
                cmd.args(["--", "-D", "warnings"]);
                cmd
            }),
            fix: "fix the warnings above (many go with `cargo clippy --workspace --all-targets \
                  --fix --allow-dirty`); if cargo says the lock file needs updating, run \
                  `cargo update --workspace`"
                .into(),
        });
        steps.push(Step {
            name: "tidy",
            action: Action::Tidy,
            fix: "follow the `fix:` line under each tidy error above, then run `cargo xtask tidy`"
                .into(),
        });
    }
    if !args.no_tests {
        if has_cargo_subcommand("nextest") {
            steps.push(Step {
                name: "test",
                action: Action::Command(compiling(&[
                    "nextest",
                    "run",
                    "--workspace",
                    "--locked",
                    "--no-fail-fast",
                ])),
                fix: "fix the failing tests above; rerun one with `cargo nextest run -p <crate> \
                      <test name>`"
                    .into(),
            });
        } else {
            println!(
                "note: cargo-nextest is not installed, so the tests run with `cargo test`; \
                 install it with `cargo install --locked cargo-nextest`"
            );
            steps.push(Step {
                name: "test",
                action: Action::Command(compiling(&["test", "--workspace", "--locked"])),
                fix: "fix the failing tests above; rerun one with `cargo test -p <crate> <test \
                      name>`"
                    .into(),
            });
        }
        steps.push(Step {
            name: "doctest",
            action: Action::Command(compiling(&["test", "--workspace", "--doc", "--locked"])),
            fix: "fix the failing doctests above; rerun with `cargo test -p <crate> --doc`".into(),
        });
    }
    if !args.tests_only {
        let mut doc = compiling(&["doc", "--workspace", "--no-deps", "--locked"]);
        doc.env("RUSTDOCFLAGS", "-D warnings");
        steps.push(Step {
            name: "doc",
            action: Action::Command(doc),
            fix: "fix the rustdoc warnings above (broken intra-doc links, missing docs); check \
                  with `RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps`"
                .into(),
        });
        if has_cargo_subcommand("deny") {
            steps.push(Step {
                name: "deny",
                action: Action::Command(cargo_with(&[
                    "deny", "check", "bans", "licenses", "sources",
                ])),
                fix: "drop or replace the dependency named above, or (with a reason in a comment) \
                      allow it in deny.toml; check with `cargo deny check bans licenses sources`"
                    .into(),
            });
        } else {
            println!(
                "note: cargo-deny is not installed, so `cargo deny check bans licenses sources` \
                 is skipped; install it with `cargo install --locked cargo-deny`"
            );
        }
    }
    steps
}

fn cargo_with(args: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.args(args);
    cmd
}

/// Whether `cargo <name> --version` runs, i.e. the plugin is installed.
fn has_cargo_subcommand(name: &str) -> bool {
    cargo_with(&[name, "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs `cmd` with inherited output; reports whether it succeeded.
fn run_command(name: &str, cmd: &mut Command) -> bool {
    let shown = display_command(cmd);
    println!("\n==> {name}: {shown}");
    match cmd.status() {
        Ok(status) if status.success() => true,
        Ok(status) => {
            eprintln!("xtask ci: `{shown}` exited with {status}");
            false
        }
        Err(err) => {
            eprintln!("xtask ci: could not start `{shown}`: {err}");
            false
        }
    }
}

fn print_timings(timings: &[(&str, Duration, &str)]) {
    println!("\nxtask ci: wall time per step");
    let mut total = Duration::ZERO;
    for (name, elapsed, outcome) in timings {
        total += *elapsed;
        println!("  {name:<8} {:>8.1} s  {outcome}", elapsed.as_secs_f64());
    }
    println!("  {:<8} {:>8.1} s", "total", total.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(args: &CiArgs) -> Vec<&'static str> {
        plan(args, false).iter().map(|step| step.name).collect()
    }

    fn commands(etcd: bool) -> Vec<String> {
        plan(
            &CiArgs {
                no_tests: false,
                tests_only: false,
            },
            etcd,
        )
        .iter()
        .filter_map(|step| match &step.action {
            Action::Command(cmd) => Some(display_command(cmd)),
            Action::Tidy => None,
        })
        .collect()
    }

    #[test]
    fn flags_select_steps_in_order() {
        let all = names(&CiArgs {
            no_tests: false,
            tests_only: false,
        });
        let checks = names(&CiArgs {
            no_tests: true,
            tests_only: false,
        });
        let tests = names(&CiArgs {
            no_tests: false,
            tests_only: true,
        });
        // deny is present only where cargo-deny is installed.
        let deny: &[&str] = if has_cargo_subcommand("deny") {
            &["deny"]
        } else {
            &[]
        };
        let expect = |names: &[&'static str]| -> Vec<&'static str> {
            names.iter().copied().chain(deny.iter().copied()).collect()
        };
        assert_eq!(
            all,
            expect(&["fmt", "clippy", "tidy", "test", "doctest", "doc"])
        );
        assert_eq!(checks, expect(&["fmt", "clippy", "tidy", "doc"]));
        assert_eq!(tests, ["test", "doctest"]);
    }

    #[test]
    fn commands_are_the_documented_ones() {
        let shown = commands(false);
        assert_eq!(shown[0], "cargo fmt --all -- --check");
        assert_eq!(
            shown[1],
            "cargo clippy --workspace --all-targets --locked --features kapi/testing -- -D warnings"
        );
        assert!(
            shown[2]
                == "cargo nextest run --workspace --locked --no-fail-fast --features kapi/testing"
                || shown[2] == "cargo test --workspace --locked --features kapi/testing",
            "{}",
            shown[2]
        );
        assert_eq!(
            shown[3],
            "cargo test --workspace --doc --locked --features kapi/testing"
        );
        assert_eq!(
            shown[4],
            "RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps --locked --features kapi/testing"
        );
    }

    #[test]
    fn the_etcd_feature_reaches_every_compiling_step() {
        let shown = commands(true);
        assert_eq!(shown[0], "cargo fmt --all -- --check");
        assert_eq!(
            shown[1],
            "cargo clippy --workspace --all-targets --locked --features kapi/etcd,kapi/testing -- -D \
             warnings"
        );
        assert!(
            shown[2]
                == "cargo nextest run --workspace --locked --no-fail-fast --features \
                         kapi/etcd,kapi/testing"
                || shown[2] == "cargo test --workspace --locked --features kapi/etcd,kapi/testing",
            "{}",
            shown[2]
        );
        assert_eq!(
            shown[3],
            "cargo test --workspace --doc --locked --features kapi/etcd,kapi/testing"
        );
        assert_eq!(
            shown[4],
            "RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps --locked --features \
             kapi/etcd,kapi/testing"
        );
    }

    #[test]
    fn protoc_decides_the_etcd_feature() {
        let missing = || Err("`protoc` cannot run: not found".to_owned());
        // (in CI, protoc check) -> Some(feature on) or None (an error).
        let check = |in_ci: bool, protoc: Result<(), String>, expected: Option<bool>| {
            let decided = etcd_feature(in_ci, protoc);
            match expected {
                Some(on) => assert_eq!(decided.unwrap(), on),
                None => {
                    let err = decided.unwrap_err().to_string();
                    assert!(err.contains("CI=true requires"), "{err}");
                    assert!(err.contains("apt-get install"), "{err}");
                }
            }
        };
        check(false, Ok(()), Some(true));
        check(true, Ok(()), Some(true));
        check(false, missing(), Some(false));
        check(true, missing(), None);
    }

    #[test]
    fn a_missing_protoc_is_reported() {
        let err = check_protoc_at(OsString::from("/nonexistent/protoc")).unwrap_err();
        assert!(err.contains("cannot run"), "{err}");
    }
}
