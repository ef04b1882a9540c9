//! `kapi`: a ready-to-run Kubernetes-style API server.
//!
//! `kapi serve` takes kube-apiserver's flag names, keeps its state,
//! certificates and an admin kubeconfig in `--data-dir`, and serves until
//! SIGTERM or SIGINT (a second signal exits at once with status 1).

mod admin;
mod serve;

use clap::{Parser, Subcommand};

/// Kubernetes-style API servers in Rust.
#[derive(Debug, Parser)]
#[command(name = "kapi", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API server.
    Serve(Box<serve::ServeArgs>),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("kapi: failed to start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(*args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("Error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
