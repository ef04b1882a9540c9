//! `cargo xtask bench`: startup time, idle RSS and /healthz throughput of
//! the `kapi` binary, beside a bare axum + rustls server.
//! `cargo xtask bench storage` measures the storage layer instead (see
//! [`storage`]), `cargo xtask bench api` the REST API (see [`api`]).
//!
//! The debug-built `cargo xtask` builds the release binaries (`kapi`,
//! `hello_tls` and xtask itself) and re-runs this command from the release
//! xtask, so the probes and the built-in load generator do not measure a
//! debug build of rustls. Every server is a [`process::Server`], killed by
//! PID when it goes out of scope, and every wait is bounded.

mod api;
mod client;
mod format;
mod load;
mod process;
mod report;
mod storage;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::runtime::Runtime;

use self::load::{Generator, GeneratorChoice};
use self::process::{Server, copy_tree, free_port};
use self::report::{Healthz, Results, Startup, Summary};
use crate::{cargo, display_command, project_root};

/// Flags of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// What to measure.
    #[arg(value_enum, default_value_t = Which::All)]
    which: Which,
    /// Warm starts to time.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Keep-alive connections of the load generator.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    connections: u32,
    /// Seconds of load per round and target.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    duration: u64,
    /// Rounds per target, alternating kapi, bare, kapi, bare, ...
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// Measure the bare axum + rustls server only (no kapi binary needed).
    #[arg(long)]
    only_bare: bool,
    /// The load generator for /healthz.
    #[arg(long, value_enum, default_value_t = GeneratorChoice::Auto)]
    load_generator: GeneratorChoice,
    /// Write the results into docs/benchmarks.md between its markers.
    #[arg(long)]
    write: bool,
    /// Set when the release xtask re-runs the command: binaries are built.
    #[arg(long, hide = true)]
    built: bool,
}

/// Which measurement to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Which {
    /// Time from spawn to the first 200 from /readyz.
    Startup,
    /// Resident memory 2 s after ready.
    Rss,
    /// /healthz requests per second, kapi against the bare server.
    Healthz,
    /// All of the above.
    All,
    /// The storage backends, the watch cache and its memory (not part of
    /// `all`; needs `etcd` on the PATH for the etcd rows).
    Storage,
    /// The REST API: GET through the whole chain beside a bare server,
    /// LIST from the watch cache, `TestServer` start (not part of `all`).
    Api,
}

impl Which {
    fn includes(self, other: Which) -> bool {
        self == Which::All || self == other
    }
}

/// What is measured: kapi, or the bare reference server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Kapi,
    Bare,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Kapi => "kapi",
            Target::Bare => "hello_tls (bare axum + rustls)",
        }
    }
}

/// The release binaries under measurement.
#[derive(Debug)]
struct Binaries {
    kapi: Option<PathBuf>,
    hello: PathBuf,
}

/// Runs `cargo xtask bench`.
pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.which == Which::Storage {
        return storage::run(args);
    }
    if args.which == Which::Api {
        return api::run(args);
    }
    if args.write && (args.only_bare || args.which != Which::All) {
        bail!("--write records the whole table; run `cargo xtask bench all --write`");
    }
    if !args.built {
        build(args)?;
        return rerun_from_release();
    }
    let release = release_dir()?;
    let kapi = release.join("kapi");
    let binaries = Binaries {
        kapi: (!args.only_bare).then_some(kapi),
        hello: release.join("hello_tls"),
    };
    for path in binaries.kapi.iter().chain([&binaries.hello]) {
        if !path.is_file() {
            bail!(
                "{} is missing; run `cargo xtask bench` (it builds it)",
                path.display()
            );
        }
    }
    let results = measure(args, &binaries)?;
    let table = results.table();
    println!("\n{table}");
    if args.write {
        write_doc(&results)?;
    }
    Ok(())
}

/// Builds the release binaries the benchmarks run.
fn build(args: &BenchArgs) -> anyhow::Result<()> {
    let mut helpers = cargo();
    helpers.args(["build", "--release", "-p", "xtask", "--bins"]);
    run_build(&mut helpers).context("building xtask's release binaries")?;
    if !args.only_bare {
        let mut kapi = cargo();
        kapi.args(["build", "--release", "-p", "kapi", "--bin", "kapi"]);
        run_build(&mut kapi).context(
            "the kapi binary did not build, so kapi cannot be measured; fix the build, or \
             measure the bare server alone with `cargo xtask bench --only-bare`",
        )?;
    }
    Ok(())
}

fn run_build(cmd: &mut Command) -> anyhow::Result<()> {
    println!("==> {}", display_command(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("starting `{}`", display_command(cmd)))?;
    if !status.success() {
        bail!("`{}` exited with {status}", display_command(cmd));
    }
    Ok(())
}

/// Re-runs this command from the release xtask with `--built`.
fn rerun_from_release() -> anyhow::Result<()> {
    let xtask = release_dir()?.join("xtask");
    let mut cmd = Command::new(&xtask);
    cmd.args(std::env::args_os().skip(1))
        .arg("--built")
        .current_dir(project_root());
    let status = cmd
        .status()
        .with_context(|| format!("starting {}", xtask.display()))?;
    if !status.success() {
        bail!("the benchmark failed ({status})");
    }
    Ok(())
}

/// `target/release`, next to the profile directory we run from.
fn release_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the xtask binary")?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .with_context(|| format!("{} is not in target/<profile>/", exe.display()))?;
    Ok(target.join("release"))
}

/// Runs the selected measurements.
fn measure(args: &BenchArgs, binaries: &Binaries) -> anyhow::Result<Results> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the probe runtime")?;
    let scratch = tempfile::Builder::new().prefix("kapi-bench-").tempdir()?;
    let bench = Bench {
        rt,
        scratch,
        binaries,
        spawned: std::cell::Cell::new(0),
    };

    let mut results = Results::default();
    // A kapi data directory with certificates in it: warm starts copy it.
    let mut seed = None;
    let mut kapi_cold = None;
    if binaries.kapi.is_some() {
        println!("\n==> kapi, first (cold) start");
        let (server, cold) = bench.start_kapi_cold()?;
        println!("ready in {:.1} ms", cold.as_secs_f64() * 1e3);
        seed = Some(bench.keep_data_dir(server)?);
        kapi_cold = Some(cold);
    }
    let seed = seed.as_deref();
    let targets: Vec<Target> = if binaries.kapi.is_some() {
        vec![Target::Kapi, Target::Bare]
    } else {
        vec![Target::Bare]
    };

    if args.which.includes(Which::Startup) {
        for &target in &targets {
            println!("\n==> startup: {} × {}", args.runs, target.label());
            let mut samples = Vec::new();
            for _ in 0..args.runs {
                let mut server = bench.spawn(target, seed)?;
                samples.push(server.wait_ready(&bench.rt, "/readyz")?);
                if target == Target::Kapi {
                    check_kubeconfig(&server)?;
                }
            }
            let warm = Summary::of(&samples).context("at least one run")?;
            match target {
                Target::Kapi => {
                    results.kapi.startup = Some(Startup {
                        cold: kapi_cold,
                        warm,
                    })
                }
                Target::Bare => results.bare.startup = Some(Startup { cold: None, warm }),
            }
        }
    }

    if args.which.includes(Which::Rss) {
        for &target in &targets {
            println!("\n==> idle RSS: {}", target.label());
            let mut server = bench.spawn(target, seed)?;
            server.wait_ready(&bench.rt, "/readyz")?;
            std::thread::sleep(Duration::from_secs(2));
            server.ensure_running()?;
            let rss = server.rss_bytes()?;
            match target {
                Target::Kapi => results.kapi.rss_bytes = Some(rss),
                Target::Bare => results.bare.rss_bytes = Some(rss),
            }
        }
    }

    if args.which.includes(Which::Healthz) {
        let generator = Generator::resolve(args.load_generator)?;
        let duration = Duration::from_secs(args.duration);
        let connections = args.connections as usize;
        let mut servers = Vec::new();
        for &target in &targets {
            let mut server = bench.spawn(target, seed)?;
            server.wait_ready(&bench.rt, "/readyz")?;
            // Warm up connections, caches and the allocator; not counted.
            generator
                .run(server.port, "/healthz", connections, Duration::from_secs(1))
                .with_context(|| format!("warming up {}", target.label()))?;
            servers.push((target, server, Vec::new()));
        }
        for round in 1..=args.rounds {
            for (target, server, loads) in &mut servers {
                println!(
                    "\n==> /healthz round {round}/{}: {}, {} for {duration:?} with {connections} connections",
                    args.rounds,
                    target.label(),
                    generator.name()
                );
                let load = generator
                    .run(server.port, "/healthz", connections, duration)
                    .with_context(|| format!("loading {}", target.label()))?;
                server.ensure_running()?;
                println!(
                    "{:.0} requests/s, p99 {:?}",
                    load.requests_per_sec, load.p99
                );
                loads.push(load);
            }
        }
        for (target, _server, rounds) in servers {
            let healthz = Some(Healthz { rounds });
            match target {
                Target::Kapi => results.kapi.healthz = healthz,
                Target::Bare => results.bare.healthz = healthz,
            }
        }
        results.load_setup = Some(format!(
            "{}, {connections} keep-alive HTTP/1.1 connections over TLS, {} × {} s rounds per \
             target, alternating",
            generator.name(),
            args.rounds,
            args.duration
        ));
    }
    Ok(results)
}

/// Shared state of one benchmark run.
#[derive(Debug)]
struct Bench<'a> {
    rt: Runtime,
    /// Logs and data directories live here.
    scratch: TempDir,
    binaries: &'a Binaries,
    spawned: std::cell::Cell<u32>,
}

impl Bench<'_> {
    /// Spawns `target` on a free port; kapi gets a copy of `seed` as its data dir.
    fn spawn(&self, target: Target, seed: Option<&Path>) -> anyhow::Result<Server> {
        let n = self.spawned.get() + 1;
        self.spawned.set(n);
        let port = free_port()?;
        let log = self
            .scratch
            .path()
            .join(format!("{n:03}-{:?}.log", target).to_lowercase());
        match target {
            Target::Bare => {
                let mut cmd = Command::new(&self.binaries.hello);
                cmd.args(["--port", &port.to_string()]);
                Server::spawn(target.label(), cmd, port, log, None)
            }
            Target::Kapi => {
                let data = tempfile::Builder::new()
                    .prefix("data-")
                    .tempdir_in(self.scratch.path())?;
                if let Some(seed) = seed {
                    copy_tree(seed, data.path())?;
                }
                let cmd = self.kapi_command(data.path(), port)?;
                Server::spawn(target.label(), cmd, port, log, Some(data))
            }
        }
    }

    fn kapi_command(&self, data_dir: &Path, port: u16) -> anyhow::Result<Command> {
        let kapi = self
            .binaries
            .kapi
            .as_ref()
            .context("kapi is not being measured")?;
        let mut cmd = Command::new(kapi);
        cmd.arg("serve").arg("--data-dir").arg(data_dir).args([
            "--secure-port",
            &port.to_string(),
            "--bind-address",
            "127.0.0.1",
        ]);
        Ok(cmd)
    }

    /// Starts kapi in an empty data dir and times it to ready.
    fn start_kapi_cold(&self) -> anyhow::Result<(Server, Duration)> {
        let mut server = self.spawn(Target::Kapi, None)?;
        let ready = server.wait_ready(&self.rt, "/readyz")?;
        check_kubeconfig(&server)?;
        Ok((server, ready))
    }

    /// Stops `server` and keeps a copy of its data directory as the seed.
    fn keep_data_dir(&self, server: Server) -> anyhow::Result<PathBuf> {
        let seed = self.scratch.path().join("seed");
        let data = server.data_dir().context("kapi has a data dir")?.to_owned();
        // Copy while it runs is fine: it wrote its files before /readyz passed.
        copy_tree(&data, &seed)?;
        drop(server);
        Ok(seed)
    }
}

/// kapi writes `admin.kubeconfig` for its port before /readyz passes.
fn check_kubeconfig(server: &Server) -> anyhow::Result<()> {
    let dir = server.data_dir().context("kapi has a data dir")?;
    let path = dir.join("admin.kubeconfig");
    let text = fs::read_to_string(&path)
        .with_context(|| format!("kapi answered /readyz before writing {}", path.display()))?;
    let server_url = format!("https://127.0.0.1:{}", server.port);
    if !text.contains(&server_url) {
        bail!("{} does not name the server {server_url}", path.display());
    }
    for key in [
        "certificate-authority-data",
        "client-certificate-data",
        "client-key-data",
    ] {
        if !text.contains(key) {
            bail!("{} has no `{key}`", path.display());
        }
    }
    Ok(())
}

/// Writes the results into docs/benchmarks.md between the markers.
fn write_doc(results: &Results) -> anyhow::Result<()> {
    format::write_section(report::START_MARKER, report::END_MARKER, |date, machine| {
        results.section(date, machine)
    })
}

/// `x86_64, 2 CPUs (AMD EPYC ...)`, from `uname -m`, `nproc` and /proc/cpuinfo.
fn machine() -> String {
    let run = |program: &str, arg: Option<&str>| {
        Command::new(program)
            .args(arg)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_else(|| "?".to_owned())
    };
    let arch = run("uname", Some("-m"));
    let cpus = run("nproc", None);
    let model = fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split_once(':'))
            .map(|(_, model)| model.trim().to_owned())
    });
    match model {
        Some(model) => format!("`{arch}`, {cpus} CPUs ({model})"),
        None => format!("`{arch}`, {cpus} CPUs"),
    }
}
