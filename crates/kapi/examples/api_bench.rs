//! `api_bench`: the in-process half of `cargo xtask bench api`.
//!
//! `api_bench startup --runs N` starts [`kapi::testing::TestServer`] N times,
//! one after another (after one uncounted warm-up start), and times each
//! start: to `start()` returning (its `/readyz` answered `ok` through the
//! server's `kube::Client`), to the first resource request through that
//! client (GET the `default` namespace) and the shutdown that follows. It
//! prints one JSON line, which xtask reads:
//!
//! ```text
//! {"kind":"startup","runs":50,"ready_ms":[..],"first_request_ms":[..],"stop_ms":[..]}
//! ```
//!
//! The GET and LIST measurements drive a real `kapi serve` process from
//! xtask; this example exists because `TestServer` only runs in-process.
//! By hand: `cargo run --release -p kapi --features testing --example
//! api_bench -- startup --runs 50`.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use k8s_openapi::api::core::v1::Namespace;
use kapi::testing::TestServer;
use kube::Api;

/// The in-process API measurements of `cargo xtask bench api`.
#[derive(Debug, Parser)]
struct Args {
    #[command(subcommand)]
    step: Step,
}

#[derive(Debug, Subcommand)]
enum Step {
    /// Time `TestServer::start()` to ready, to a first request, and its stop.
    Startup {
        /// Timed starts (after one warm-up start).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        runs: u32,
    },
}

/// Bound on one start, request or stop: a hung server fails the run.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().step {
        Step::Startup { runs } => startup(runs).await,
    }
}

/// One timed start.
#[derive(Debug, Clone, Copy)]
struct Start {
    ready: Duration,
    first_request: Duration,
    stop: Duration,
}

async fn startup(runs: u32) -> anyhow::Result<()> {
    // Warm-up: the first start pays for page faults and lazy statics.
    start_once().await.context("warm-up start")?;
    let mut starts = Vec::new();
    for run in 1..=runs {
        starts.push(start_once().await.with_context(|| format!("start {run}"))?);
    }
    let ms = |pick: fn(&Start) -> Duration| -> Vec<f64> {
        starts.iter().map(|s| pick(s).as_secs_f64() * 1e3).collect()
    };
    let line = serde_json::json!({
        "kind": "startup",
        "runs": runs,
        "ready_ms": ms(|s| s.ready),
        "first_request_ms": ms(|s| s.first_request),
        "stop_ms": ms(|s| s.stop),
    });
    println!("{line}");
    Ok(())
}

/// Starts a server, sends one request through its client, stops it.
async fn start_once() -> anyhow::Result<Start> {
    let begin = Instant::now();
    let server = tokio::time::timeout(STEP_TIMEOUT, TestServer::start())
        .await
        .context("TestServer::start() timed out")??;
    let ready = begin.elapsed();
    let namespaces: Api<Namespace> = Api::all(server.client());
    let default = tokio::time::timeout(STEP_TIMEOUT, namespaces.get("default"))
        .await
        .context("GET namespace default timed out")?
        .context("GET namespace default")?;
    let first_request = begin.elapsed();
    anyhow::ensure!(
        default.metadata.name.as_deref() == Some("default"),
        "GET namespace default answered {:?}",
        default.metadata.name
    );
    let stopping = Instant::now();
    tokio::time::timeout(STEP_TIMEOUT, server.shutdown())
        .await
        .context("TestServer::shutdown() timed out")??;
    Ok(Start {
        ready,
        first_request,
        stop: stopping.elapsed(),
    })
}
