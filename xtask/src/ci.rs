//! `cargo xtask ci`: every check CI runs, in order.
//!
//! fmt, clippy, tidy (in-process), tests (nextest when installed, then
//! doctests), rustdoc with warnings denied, and `cargo deny` when installed.
//! The first failing step stops the run and prints the command that fixes it;
//! each step's wall time is printed at the end either way.

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

/// Runs the CI steps selected by `args`, stopping at the first failure.
pub(crate) fn run(args: &CiArgs) -> anyhow::Result<()> {
    let steps = plan(args);
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

/// The steps to run, in order.
fn plan(args: &CiArgs) -> Vec<Step> {
    let mut steps = Vec::new();
    if !args.tests_only {
        steps.push(Step {
            name: "fmt",
            action: Action::Command(cargo_with(&["fmt", "--all", "--", "--check"])),
            fix: "run `cargo fmt --all`".into(),
        });
        steps.push(Step {
            name: "clippy",
            action: Action::Command(cargo_with(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ])),
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
                action: Action::Command(cargo_with(&[
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
                action: Action::Command(cargo_with(&["test", "--workspace", "--locked"])),
                fix: "fix the failing tests above; rerun one with `cargo test -p <crate> <test \
                      name>`"
                    .into(),
            });
        }
        steps.push(Step {
            name: "doctest",
            action: Action::Command(cargo_with(&["test", "--workspace", "--doc", "--locked"])),
            fix: "fix the failing doctests above; rerun with `cargo test -p <crate> --doc`".into(),
        });
    }
    if !args.tests_only {
        let mut doc = cargo_with(&["doc", "--workspace", "--no-deps", "--locked"]);
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
        plan(args).iter().map(|step| step.name).collect()
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
        let shown: Vec<String> = plan(&CiArgs {
            no_tests: false,
            tests_only: false,
        })
        .iter()
        .filter_map(|step| match &step.action {
            Action::Command(cmd) => Some(display_command(cmd)),
            Action::Tidy => None,
        })
        .collect();
        assert_eq!(shown[0], "cargo fmt --all -- --check");
        assert_eq!(
            shown[1],
            "cargo clippy --workspace --all-targets --locked -- -D warnings"
        );
        assert!(
            shown[2] == "cargo nextest run --workspace --locked --no-fail-fast"
                || shown[2] == "cargo test --workspace --locked",
            "{}",
            shown[2]
        );
        assert_eq!(shown[3], "cargo test --workspace --doc --locked");
        assert_eq!(
            shown[4],
            "RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps --locked"
        );
    }
}
