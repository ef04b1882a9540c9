//! `cargo xtask`: kapi's development tasks.
//!
//! `ci` runs every check CI runs, `tidy` checks the tree's own rules (module
//! docs, manifest hygiene, layering) and `bench` measures the `kapi` binary
//! against a bare axum + rustls server. Every failure says which command
//! fixes it. The command-line surface lives here; each task has its module.

mod bench;
mod ci;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

/// kapi's development tasks (`cargo xtask <task>`).
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Run every check CI runs, in order, stopping at the first failure.
    Ci(ci::CiArgs),
    /// Check module docs, manifest hygiene and crate layering.
    Tidy,
    /// Measure startup time, idle RSS and /healthz throughput.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Ci(args) => ci::run(&args),
        Task::Tidy => tidy::run_and_report(&project_root()),
        Task::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives one level below it.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        // Invariant: CARGO_MANIFEST_DIR is `<root>/xtask`, which has a parent.
        .expect("xtask's manifest dir has a parent")
}

/// The `cargo` that runs us (set by `cargo run`), or the one on the PATH.
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(project_root());
    cmd
}

/// Renders a command the way a person would type it.
pub(crate) fn display_command(cmd: &Command) -> String {
    let mut out = String::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            let value = quote(&value.to_string_lossy());
            out.push_str(&format!("{}={value} ", key.to_string_lossy()));
        }
    }
    let program = Path::new(cmd.get_program());
    // Show `cargo`, not the absolute path cargo handed us in $CARGO.
    let program = match program.file_name() {
        Some(name) if name == "cargo" => "cargo".into(),
        _ => program.to_string_lossy(),
    };
    out.push_str(&program);
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&quote(&arg.to_string_lossy()));
    }
    out
}

/// Quotes a shell word when it needs it.
fn quote(word: &str) -> String {
    if word.is_empty() || word.contains([' ', '\'', '"', '$']) {
        format!("'{}'", word.replace('\'', r"'\''"))
    } else {
        word.to_owned()
    }
}
