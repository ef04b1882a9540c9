//! `storage_bench`: the measurements behind `cargo xtask bench storage`.
//!
//! Each subcommand measures one thing on loopback with temporary
//! directories and prints its results as JSON lines (one object per line,
//! with a `"kind"`), which xtask turns into the table of
//! `docs/benchmarks.md`. Progress goes to stderr.
//!
//! ```text
//! storage_bench creates  [--writers 32] [--count 20000] [--rounds 2]
//! storage_bench list     [--objects 10000] [--runs 7]
//! storage_bench fanout   [--watchers 10000] [--writes 5]
//! storage_bench fill      --dir DIR [--objects 100000]
//! storage_bench cache-rss --dir DIR
//! ```
//!
//! - `creates`: creates of ~1 KiB values through the `Backend` trait by
//!   `--writers` concurrent tasks, for memory, sqlite (default options:
//!   `synchronous = FULL`) and etcd3 (a real etcd started on loopback), and
//!   the anchor: raw etcd puts through the same client at the same
//!   concurrency. The etcd rounds alternate raw, etcd3, raw, etcd3, ... so
//!   both share the machine's noise.
//! - `list`: LIST of `--objects` ~1 KiB ConfigMaps, each run timed from the
//!   call to a complete JSON list body (what a server writes), from the
//!   watch cache (`resourceVersion=0`) and from the backends (consistent
//!   read).
//! - `fanout`: `--watchers` watches on one watch cache (sqlite below it),
//!   each consumed by its own task; each write's delivery latency per
//!   watcher, from just before the write is issued to the watcher's task
//!   holding the event.
//! - `fill` + `cache-rss`: `fill` writes objects into a sqlite database;
//!   `cache-rss`, run as a fresh process, opens it, reads `VmRSS`, starts a
//!   watch cache over it, waits until it is ready and reads `VmRSS` again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use futures::StreamExt as _;
use kapi_storage::memory::MemoryBackend;
use kapi_storage::sqlite::{SqliteBackend, SqliteOptions, Synchronous};
use kapi_storage::{Backend, Cacher, CacherOptions, ListOptions, ObjectList, ObjectStore};
use kapi_storage::{TxnOutcome, WatchEvent};
use serde_json::{Value, json};

/// The size objects are padded to, in JSON bytes.
const OBJECT_BYTES: usize = 1024;
/// The prefix of every object store.
const PATH_PREFIX: &str = "/registry";
/// The resource the object measurements use.
const RESOURCE: &str = "/configmaps";
/// The bound on every wait for watchers.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let flags = Flags::parse(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    match command.as_str() {
        "creates" => creates(&runtime, &flags),
        "list" => runtime.block_on(list(&flags)),
        "fanout" => runtime.block_on(fanout(&flags)),
        "fill" => runtime.block_on(fill(&flags)),
        "cache-rss" => runtime.block_on(cache_rss(&flags)),
        other => {
            bail!("unknown command {other:?}; expected creates, list, fanout, fill or cache-rss")
        }
    }
}

/// `--name value` flags.
#[derive(Debug, Default)]
struct Flags(Vec<(String, String)>);

impl Flags {
    fn parse(args: impl Iterator<Item = String>) -> anyhow::Result<Flags> {
        let mut flags = Vec::new();
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                bail!("unexpected argument {arg:?}");
            };
            let value = args
                .next()
                .with_context(|| format!("--{name} needs a value"))?;
            flags.push((name.to_owned(), value));
        }
        Ok(Flags(flags))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(flag, _)| flag == name)
            .map(|(_, value)| value.as_str())
    }

    fn number(&self, name: &str, default: usize) -> anyhow::Result<usize> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .with_context(|| format!("--{name} {value:?} is not a number")),
        }
    }

    fn dir(&self) -> anyhow::Result<PathBuf> {
        self.get("dir")
            .map(PathBuf::from)
            .context("--dir is required")
    }
}

/// Prints one result line.
fn emit(line: Value) {
    println!("{line}");
}

// ---------------------------------------------------------------- creates --

fn creates(runtime: &tokio::runtime::Runtime, flags: &Flags) -> anyhow::Result<()> {
    let writers = flags.number("writers", 32)?.max(1);
    let count = flags.number("count", 20_000)?.max(1);
    let rounds = flags.number("rounds", 2)?.max(1);
    let value = Bytes::from(serde_json::to_vec(&config_map("bench", 0))?);
    let setup =
        json!({"writers": writers, "creates": count, "rounds": rounds, "value_bytes": value.len()});

    let memory: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let rate = runtime.block_on(backend_creates(
        &memory, "memory", writers, count, rounds, &value,
    ))?;
    emit(json!({"kind": "creates", "backend": "memory", "per_sec": rate, "setup": setup}));

    let dir = tempfile::Builder::new()
        .prefix("kapi-bench-sqlite-")
        .tempdir()?;
    let sqlite = open_sqlite(dir.path(), SqliteOptions::default())?;
    let rate = runtime.block_on(backend_creates(
        &sqlite, "sqlite", writers, count, rounds, &value,
    ))?;
    emit(json!({"kind": "creates", "backend": "sqlite", "per_sec": rate, "setup": setup}));
    drop(sqlite);
    drop(dir);

    etcd_creates(runtime, writers, count, rounds, &value, &setup)
}

/// Mean creates/s over `rounds` rounds of `count` creates through `backend`.
async fn backend_creates(
    backend: &Arc<dyn Backend>,
    name: &str,
    writers: usize,
    count: usize,
    rounds: usize,
    value: &Bytes,
) -> anyhow::Result<f64> {
    let mut rates = Vec::new();
    // Round 0 warms up (a tenth of the creates) and is not counted.
    for round in 0..=rounds {
        let n = if round == 0 {
            (count / 10).max(1)
        } else {
            count
        };
        let rate = run_creates(backend, round, writers, n, value).await?;
        if round > 0 {
            eprintln!("{name} round {round}: {rate:.0} creates/s");
            rates.push(rate);
        }
    }
    Ok(mean(&rates))
}

async fn run_creates(
    backend: &Arc<dyn Backend>,
    round: usize,
    writers: usize,
    count: usize,
    value: &Bytes,
) -> anyhow::Result<f64> {
    let backend = Arc::clone(backend);
    let value = value.clone();
    concurrently(writers, count, move |i| {
        let backend = Arc::clone(&backend);
        let value = value.clone();
        async move {
            let key = format!("/bench/creates/{round}/{i:08}");
            match backend.create(&key, value).await? {
                TxnOutcome::Succeeded { .. } => Ok(()),
                TxnOutcome::Failed { .. } => bail!("{key} already existed"),
            }
        }
    })
    .await
}

/// Runs `op(0..count)` on `writers` tasks; returns operations per second.
async fn concurrently<F, Fut>(writers: usize, count: usize, op: F) -> anyhow::Result<f64>
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let next = Arc::clone(&next);
            let op = op.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return anyhow::Ok(());
                    }
                    op(i).await?;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.context("a writer panicked")??;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

#[cfg(feature = "etcd")]
fn etcd_creates(
    runtime: &tokio::runtime::Runtime,
    writers: usize,
    count: usize,
    rounds: usize,
    value: &Bytes,
    setup: &Value,
) -> anyhow::Result<()> {
    use kapi_storage::etcd_harness::{EtcdServer, HarnessError};
    use kapi_storage::etcd3::{EtcdBackend, EtcdOptions};

    let server = match EtcdServer::start() {
        Ok(server) => server,
        Err(HarnessError::NotFound) => return skip_etcd("etcd not found"),
        Err(err) => return Err(err).context("starting etcd"),
    };
    eprintln!("etcd {} (pid {:?})", server.endpoint(), server.pid());
    runtime.block_on(async {
        let mut options = EtcdOptions::new([server.endpoint()]);
        options.compaction_interval = Duration::ZERO;
        let etcd = EtcdBackend::connect(options).await?;
        let client = etcd.client().clone();
        let etcd: Arc<dyn Backend> = Arc::new(etcd);
        let raw_put = |round: usize, n: usize| {
            let client = client.clone();
            let value = value.clone();
            concurrently(writers, n, move |i| {
                let mut client = client.clone();
                let value = value.clone();
                async move {
                    let key = format!("/bench/raw/{round}/{i:08}");
                    client.put(key, value.to_vec(), None).await?;
                    Ok(())
                }
            })
        };
        // What the backend's create sends: a transaction that puts only
        // when the key does not exist. Shows how much of the gap to raw
        // puts is etcd's own transaction cost.
        let raw_txn = |round: usize, n: usize| {
            let client = client.clone();
            let value = value.clone();
            concurrently(writers, n, move |i| {
                let mut client = client.clone();
                let value = value.clone();
                async move {
                    use etcd_client::{Compare, CompareOp, Txn, TxnOp};
                    let key = format!("/bench/txn/{round}/{i:08}");
                    let txn = Txn::new()
                        .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                        .and_then([TxnOp::put(key, value.to_vec(), None)]);
                    if !client.txn(txn).await?.succeeded() {
                        bail!("a raw create transaction failed");
                    }
                    Ok(())
                }
            })
        };
        // Warm up every path; not counted.
        raw_put(0, (count / 10).max(1)).await?;
        raw_txn(0, (count / 10).max(1)).await?;
        run_creates(&etcd, 0, writers, (count / 10).max(1), value).await?;
        let (mut raw, mut txn, mut backend) = (Vec::new(), Vec::new(), Vec::new());
        for round in 1..=rounds {
            raw.push(raw_put(round, count).await?);
            backend.push(run_creates(&etcd, round, writers, count, value).await?);
            txn.push(raw_txn(round, count).await?);
            eprintln!(
                "etcd round {round}: raw puts {:.0}/s, etcd3 backend {:.0} creates/s, raw create transactions {:.0}/s",
                raw[round - 1],
                backend[round - 1],
                txn[round - 1]
            );
        }
        emit(json!({"kind": "creates", "backend": "etcd3", "per_sec": mean(&backend), "setup": setup}));
        emit(json!({"kind": "creates", "backend": "etcd-raw", "per_sec": mean(&raw), "setup": setup}));
        emit(json!({"kind": "creates", "backend": "etcd-raw-txn", "per_sec": mean(&txn), "setup": setup}));
        anyhow::Ok(())
    })?;
    drop(server);
    Ok(())
}

#[cfg(not(feature = "etcd"))]
fn etcd_creates(
    _: &tokio::runtime::Runtime,
    _: usize,
    _: usize,
    _: usize,
    _: &Bytes,
    _: &Value,
) -> anyhow::Result<()> {
    skip_etcd("built without the `etcd` feature")
}

fn skip_etcd(reason: &str) -> anyhow::Result<()> {
    eprintln!("etcd skipped: {reason}");
    for backend in ["etcd3", "etcd-raw", "etcd-raw-txn"] {
        emit(json!({"kind": "creates", "backend": backend, "skipped": reason}));
    }
    Ok(())
}

// ------------------------------------------------------------------- list --

async fn list(flags: &Flags) -> anyhow::Result<()> {
    let objects = flags.number("objects", 10_000)?;
    let runs = flags.number("runs", 7)?.max(1);
    let dir = tempfile::Builder::new()
        .prefix("kapi-bench-list-")
        .tempdir()?;
    let sqlite = ObjectStore::new(
        open_sqlite(dir.path(), SqliteOptions::default())?,
        PATH_PREFIX,
    );
    let memory = ObjectStore::new(Arc::new(MemoryBackend::new()), PATH_PREFIX);
    for store in [&sqlite, &memory] {
        create_objects(store, "list", objects).await?;
    }
    let cacher = Cacher::new(sqlite.clone(), RESOURCE, CacherOptions::default());
    cacher.wait_ready().await;

    let mut cached = ListOptions::default();
    cached.recursive = true;
    cached.resource_version = "0".to_owned();
    let mut consistent = ListOptions::default();
    consistent.recursive = true;

    let mut samples: [Vec<Duration>; 3] = Default::default();
    // Run 0 warms up and is not counted; the sources alternate.
    for run in 0..=runs {
        for (source, samples) in samples.iter_mut().enumerate() {
            let start = Instant::now();
            let list = match source {
                0 => cacher.get_list(RESOURCE, &cached).await?,
                1 => sqlite.get_list(RESOURCE, &consistent).await?,
                _ => memory.get_list(RESOURCE, &consistent).await?,
            };
            let body = list_body(&list);
            let elapsed = start.elapsed();
            if list.items.len() != objects {
                bail!("listed {} objects, expected {objects}", list.items.len());
            }
            if run > 0 {
                samples.push(elapsed);
            }
            drop(body);
        }
    }
    let sources = ["watch cache", "sqlite", "memory"];
    for (source, samples) in sources.iter().zip(&mut samples) {
        samples.sort();
        emit(json!({
            "kind": "list",
            "source": source,
            "objects": objects,
            "runs": samples.len(),
            "median_ms": ms(samples[samples.len() / 2]),
            "min_ms": ms(samples[0]),
        }));
    }
    Ok(())
}

/// The body a server writes for `list`: a ConfigMapList around the items'
/// JSON (encoding each item unless it is held encoded already).
fn list_body(list: &ObjectList) -> Vec<u8> {
    let size: usize = list.items.iter().map(|item| item.json().len() + 1).sum();
    let mut body = Vec::with_capacity(size + 128);
    body.extend_from_slice(
        br#"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":""#,
    );
    body.extend_from_slice(list.resource_version.to_string().as_bytes());
    body.extend_from_slice(br#""},"items":["#);
    for (i, item) in list.items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item.json());
    }
    body.extend_from_slice(b"]}");
    body
}

// ----------------------------------------------------------------- fanout --

async fn fanout(flags: &Flags) -> anyhow::Result<()> {
    let watchers = flags.number("watchers", 10_000)?.max(1);
    let writes = flags.number("writes", 5)?.max(1);
    let dir = tempfile::Builder::new()
        .prefix("kapi-bench-fanout-")
        .tempdir()?;
    let store = ObjectStore::new(
        open_sqlite(dir.path(), SqliteOptions::default())?,
        PATH_PREFIX,
    );
    let mut options = CacherOptions::default();
    // Watchers that allow none get none; keep the timer out of the way anyway.
    options.bookmark_interval = Duration::from_secs(3600);
    let cacher = Cacher::new(store.clone(), RESOURCE, options);
    cacher.wait_ready().await;

    let mut watch_options = ListOptions::default();
    watch_options.recursive = true;
    watch_options.resource_version = cacher.stats().resource_version.to_string();
    // Write 0 warms up and is not counted.
    let expected = writes + 1;
    let received = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(watchers);
    for _ in 0..watchers {
        let mut events = cacher.watch(RESOURCE, &watch_options, None, false).await?;
        let received = Arc::clone(&received);
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(expected);
            while times.len() < expected {
                match events.next().await {
                    Some(Ok(WatchEvent::Added(_))) => {
                        times.push(Instant::now());
                        received.fetch_add(1, Ordering::Release);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(err)) => bail!("a watch failed: {err}"),
                    None => bail!("a watch ended after {} events", times.len()),
                }
            }
            Ok(times)
        }));
    }
    if cacher.stats().watchers != watchers {
        bail!(
            "{} watchers registered, expected {watchers}",
            cacher.stats().watchers
        );
    }
    eprintln!("{watchers} watchers open");

    let mut starts = Vec::with_capacity(expected);
    let mut write_latency = Vec::with_capacity(expected);
    for write in 0..expected {
        let object = config_map(&format!("fanout-{write}"), write);
        let start = Instant::now();
        store
            .create(&format!("{RESOURCE}/default/fanout-{write}"), object)
            .await?;
        write_latency.push(start.elapsed());
        starts.push(start);
        let all = watchers * (write + 1);
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        while received.load(Ordering::Acquire) < all {
            if Instant::now() > deadline {
                bail!(
                    "write {write}: only {} of {all} deliveries within {DELIVERY_TIMEOUT:?}",
                    received.load(Ordering::Acquire)
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let mut latencies = Vec::with_capacity(watchers * writes);
    for task in tasks {
        let times = task.await.context("a watcher panicked")??;
        latencies.extend(
            times
                .iter()
                .zip(&starts)
                .skip(1)
                .map(|(received, start)| received.saturating_duration_since(*start)),
        );
    }
    latencies.sort();
    write_latency.remove(0);
    write_latency.sort();
    emit(json!({
        "kind": "fanout",
        "watchers": watchers,
        "writes": writes,
        "samples": latencies.len(),
        "p50_ms": ms(quantile(&latencies, 0.50)),
        "p99_ms": ms(quantile(&latencies, 0.99)),
        "max_ms": ms(quantile(&latencies, 1.0)),
        "write_median_ms": ms(quantile(&write_latency, 0.50)),
    }));
    Ok(())
}

// ------------------------------------------------------- fill, cache-rss --

async fn fill(flags: &Flags) -> anyhow::Result<()> {
    let dir = flags.dir()?;
    let objects = flags.number("objects", 100_000)?;
    // Filling is not measured: sync at checkpoints only.
    let options = SqliteOptions::default().with_synchronous(Synchronous::Normal);
    let store = ObjectStore::new(open_sqlite(&dir, options)?, PATH_PREFIX);
    let start = Instant::now();
    create_objects(&store, "rss", objects).await?;
    eprintln!(
        "filled {objects} objects in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    emit(json!({"kind": "fill", "objects": objects}));
    Ok(())
}

async fn cache_rss(flags: &Flags) -> anyhow::Result<()> {
    let dir = flags.dir()?;
    let store = ObjectStore::new(open_sqlite(&dir, SqliteOptions::default())?, PATH_PREFIX);
    let objects = store.count(RESOURCE).await?;
    let before = memory_status()?;
    let cacher = Cacher::new(store, RESOURCE, CacherOptions::default());
    cacher.wait_ready().await;
    let stats = cacher.stats();
    let after = memory_status()?;
    // Later readings: nothing should change once the cache is ready.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let settled = memory_status()?;
    if stats.objects as i64 != objects {
        bail!(
            "the cache holds {} objects, the store {objects}",
            stats.objects
        );
    }
    emit(json!({
        "kind": "cache_rss",
        "objects": stats.objects,
        "object_bytes": stats.object_bytes,
        "rss_before": before.rss,
        "rss_after": after.rss,
        "rss_settled": settled.rss,
        "anon_before": before.anon,
        "anon_after": after.anon,
    }));
    drop(cacher);
    Ok(())
}

/// `VmRSS` and `RssAnon` of this process, in bytes.
#[derive(Debug, Clone, Copy)]
struct MemoryStatus {
    rss: u64,
    anon: u64,
}

fn memory_status() -> anyhow::Result<MemoryStatus> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .with_context(|| format!("no {name} in /proc/self/status"))?;
        let kib: u64 = line
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .with_context(|| format!("{name}{line} is not a number of kB"))?;
        Ok(kib * 1024)
    };
    Ok(MemoryStatus {
        rss: field("VmRSS:")?,
        anon: field("RssAnon:")?,
    })
}

// ---------------------------------------------------------------- helpers --

/// Opens (creating) the sqlite database in `dir`, outside the runtime's
/// worker threads (opening blocks).
fn open_sqlite(dir: &Path, options: SqliteOptions) -> anyhow::Result<Arc<dyn Backend>> {
    let path = dir.join(kapi_storage::sqlite::DATABASE_FILE_NAME);
    let open = || SqliteBackend::open(&path, options);
    let backend = match tokio::runtime::Handle::try_current() {
        Ok(_) => tokio::task::block_in_place(open),
        Err(_) => open(),
    };
    Ok(Arc::new(
        backend.with_context(|| format!("opening {}", path.display()))?,
    ))
}

/// Creates `count` ConfigMaps named `<name>-<i>` in `default` with 32
/// writers.
async fn create_objects(store: &ObjectStore, name: &str, count: usize) -> anyhow::Result<()> {
    let store = store.clone();
    let name = name.to_owned();
    concurrently(32, count, move |i| {
        let store = store.clone();
        let name = format!("{name}-{i:08}");
        async move {
            store
                .create(&format!("{RESOURCE}/default/{name}"), config_map(&name, i))
                .await?;
            Ok(())
        }
    })
    .await?;
    Ok(())
}

/// A ConfigMap whose JSON (without resourceVersion) is [`OBJECT_BYTES`]
/// long, with a payload that differs between objects.
fn config_map(name: &str, seed: usize) -> Value {
    let mut object = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": format!("00000000-0000-4000-8000-{seed:012}"),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": "storage-bench"},
        },
        "data": {"payload": ""},
    });
    let base = serde_json::to_vec(&object).map_or(0, |json| json.len());
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut state = seed as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let payload: String = (0..OBJECT_BYTES.saturating_sub(base))
        .map(|_| {
            // xorshift: cheap, varied, deterministic.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(alphabet[(state % alphabet.len() as u64) as usize])
        })
        .collect();
    object["data"]["payload"] = Value::String(payload);
    object
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The nearest-rank quantile `q` of sorted `samples`.
fn quantile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
