//! `cargo xtask bench storage`: the storage measurements of
//! `docs/benchmarks.md` (creates/s per backend beside raw etcd puts, LIST
//! from the watch cache and from the backends, watch fan-out latency, and
//! the watch cache's memory per byte of objects).
//!
//! xtask does not link kapi's crates: the measuring code is `kapi-storage`'s
//! `storage_bench` example, which this module builds in release, runs once
//! per measurement (as child processes killed by PID after a bounded wait,
//! the cache-RSS one in a fresh process of its own), reads as JSON lines,
//! and turns into a table with the issue's targets and, with `--write`, into
//! the section of docs/benchmarks.md between the storage markers.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Deserialize;

use super::format::{met, mib, millis as ms, thousands};
use super::{BenchArgs, release_dir, run_build};
use crate::{cargo, display_command};

/// Marks the start of the section `--write` owns in docs/benchmarks.md.
const START_MARKER: &str = "<!-- bench:storage:start -->";
/// Marks its end.
const END_MARKER: &str = "<!-- bench:storage:end -->";

/// Concurrent writers of the creates measurement.
const WRITERS: usize = 32;
/// Creates per backend and round.
const CREATES: usize = 20_000;
/// Objects listed.
const LIST_OBJECTS: usize = 10_000;
/// Timed LIST runs per source.
const LIST_RUNS: usize = 7;
/// Watchers of the fan-out measurement.
const WATCHERS: usize = 10_000;
/// Writes fanned out (after one warm-up write).
const FANOUT_WRITES: usize = 5;
/// Objects in the watch cache whose memory is measured.
const RSS_OBJECTS: usize = 100_000;

/// Target: etcd3 backend creates/s over raw etcd puts/s.
const ETCD_RATIO_TARGET: f64 = 0.8;
/// Target: sqlite creates/s with 32 writers.
const SQLITE_TARGET: f64 = 5_000.0;
/// Target: fan-out delivery p99, in ms.
const FANOUT_P99_TARGET_MS: f64 = 100.0;
/// Target: watch cache RSS over the objects' JSON bytes.
const CACHE_RSS_TARGET: f64 = 1.5;

/// How long one measurement process may run before it is killed.
const STEP_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Runs `cargo xtask bench storage [--write]`.
pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let built = build()?;
    let scratch = tempfile::Builder::new()
        .prefix("kapi-bench-storage-")
        .tempdir()?;
    let rounds = args.rounds.to_string();
    let mut lines = Vec::new();
    let steps: [(&str, Vec<String>); 3] = [
        (
            "creates",
            flags(&[
                ("writers", &WRITERS.to_string()),
                ("count", &CREATES.to_string()),
                ("rounds", &rounds),
            ]),
        ),
        (
            "list",
            flags(&[
                ("objects", &LIST_OBJECTS.to_string()),
                ("runs", &LIST_RUNS.to_string()),
            ]),
        ),
        (
            "fanout",
            flags(&[
                ("watchers", &WATCHERS.to_string()),
                ("writes", &FANOUT_WRITES.to_string()),
            ]),
        ),
    ];
    for (step, step_flags) in steps {
        lines.extend(run_step(&built.binary, scratch.path(), step, &step_flags)?);
    }
    // Fill the database in one process, measure the cache in a fresh one.
    let db = scratch.path().join("rss-db");
    let db_flag = db.to_string_lossy().into_owned();
    run_step(
        &built.binary,
        scratch.path(),
        "fill",
        &flags(&[("dir", &db_flag), ("objects", &RSS_OBJECTS.to_string())]),
    )?;
    lines.extend(run_step(
        &built.binary,
        scratch.path(),
        "cache-rss",
        &flags(&[("dir", &db_flag)]),
    )?);

    let mut results = Results::from_lines(&lines)?;
    results.etcd_built = built.etcd;
    let table = results.table();
    println!("\n{table}");
    if args.write {
        super::format::write_section(START_MARKER, END_MARKER, |date, machine| {
            results.section(date, machine)
        })?;
    }
    Ok(())
}

/// The built `storage_bench` and whether it has the etcd backend.
#[derive(Debug)]
struct Built {
    binary: PathBuf,
    etcd: bool,
}

/// Builds the example in release, with the etcd backend when it builds
/// (it needs `protoc`), else without it (the etcd rows are then skipped).
fn build() -> anyhow::Result<Built> {
    let binary = release_dir()?.join("examples/storage_bench");
    let command = |features: &str| {
        let mut cmd = cargo();
        cmd.args([
            "build",
            "--release",
            "-p",
            "kapi-storage",
            "--example",
            "storage_bench",
            "--features",
            features,
        ]);
        cmd
    };
    if run_build(&mut command("etcd,testing")).is_ok() {
        return Ok(Built { binary, etcd: true });
    }
    println!("the etcd backend did not build (is `protoc` installed?); measuring without it");
    run_build(&mut command("testing")).context("building kapi-storage's storage_bench example")?;
    Ok(Built {
        binary,
        etcd: false,
    })
}

fn flags(pairs: &[(&str, &str)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(name, value)| [format!("--{name}"), (*value).to_owned()])
        .collect()
}

/// Runs one measurement process and returns the JSON lines it printed.
fn run_step(
    binary: &Path,
    scratch: &Path,
    step: &str,
    step_flags: &[String],
) -> anyhow::Result<Vec<Line>> {
    let out_path = scratch.join(format!("{step}.jsonl"));
    let out =
        File::create(&out_path).with_context(|| format!("creating {}", out_path.display()))?;
    let mut cmd = Command::new(binary);
    cmd.arg(step)
        .args(step_flags)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::inherit());
    println!("\n==> {}", display_command(&cmd));
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let mut child = KillOnDrop(child);
    let deadline = Instant::now() + STEP_TIMEOUT;
    let status = loop {
        if let Some(status) = child.0.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            bail!("`storage_bench {step}` ran longer than {STEP_TIMEOUT:?}; killed it");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if !status.success() {
        bail!("`{}` failed ({status})", display_command(&cmd));
    }
    let text = fs::read_to_string(&out_path)?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .with_context(|| format!("`storage_bench {step}` printed {line:?}"))
        })
        .collect()
}

/// A child process killed (by PID) and reaped when dropped.
#[derive(Debug)]
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// One line `storage_bench` prints.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Line {
    Creates {
        backend: String,
        per_sec: Option<f64>,
        skipped: Option<String>,
    },
    List {
        source: String,
        objects: usize,
        runs: usize,
        median_ms: f64,
    },
    Fanout {
        watchers: usize,
        writes: usize,
        p50_ms: f64,
        p99_ms: f64,
        max_ms: f64,
        write_median_ms: f64,
    },
    Fill {
        objects: usize,
    },
    CacheRss {
        objects: usize,
        object_bytes: u64,
        rss_before: u64,
        rss_after: u64,
        anon_before: u64,
        anon_after: u64,
    },
}

/// Creates/s of one backend, or why it was not measured.
type Rate = Result<f64, String>;

/// Everything one run measured.
#[derive(Debug, Default, Clone, PartialEq)]
struct Results {
    memory: Option<Rate>,
    sqlite: Option<Rate>,
    etcd3: Option<Rate>,
    etcd_raw: Option<Rate>,
    /// Raw etcd create transactions (what the etcd3 backend's create sends).
    etcd_raw_txn: Option<Rate>,
    /// Median LIST ms per source: watch cache, sqlite, memory.
    list: Vec<(String, f64)>,
    list_objects: usize,
    list_runs: usize,
    fanout: Option<Fanout>,
    cache: Option<CacheRss>,
    etcd_built: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Fanout {
    watchers: usize,
    writes: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    write_median_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct CacheRss {
    objects: usize,
    object_bytes: u64,
    rss_delta: u64,
    anon_delta: u64,
}

impl CacheRss {
    fn ratio(&self) -> f64 {
        self.rss_delta as f64 / self.object_bytes.max(1) as f64
    }
}

impl Results {
    fn from_lines(lines: &[Line]) -> anyhow::Result<Results> {
        let mut results = Results {
            etcd_built: true,
            ..Results::default()
        };
        for line in lines {
            match line.clone() {
                Line::Creates {
                    backend,
                    per_sec,
                    skipped,
                } => {
                    let rate = match (per_sec, skipped) {
                        (_, Some(reason)) => Err(reason),
                        (Some(rate), None) => Ok(rate),
                        (None, None) => bail!("creates for {backend} has no rate"),
                    };
                    let slot = match backend.as_str() {
                        "memory" => &mut results.memory,
                        "sqlite" => &mut results.sqlite,
                        "etcd3" => &mut results.etcd3,
                        "etcd-raw" => &mut results.etcd_raw,
                        "etcd-raw-txn" => &mut results.etcd_raw_txn,
                        other => bail!("creates for an unknown backend {other:?}"),
                    };
                    *slot = Some(rate);
                }
                Line::List {
                    source,
                    objects,
                    runs,
                    median_ms,
                } => {
                    results.list_objects = objects;
                    results.list_runs = runs;
                    results.list.push((source, median_ms));
                }
                Line::Fanout {
                    watchers,
                    writes,
                    p50_ms,
                    p99_ms,
                    max_ms,
                    write_median_ms,
                } => {
                    results.fanout = Some(Fanout {
                        watchers,
                        writes,
                        p50_ms,
                        p99_ms,
                        max_ms,
                        write_median_ms,
                    })
                }
                Line::Fill { .. } => {}
                Line::CacheRss {
                    objects,
                    object_bytes,
                    rss_before,
                    rss_after,
                    anon_before,
                    anon_after,
                } => {
                    results.cache = Some(CacheRss {
                        objects,
                        object_bytes,
                        rss_delta: rss_after.saturating_sub(rss_before),
                        anon_delta: anon_after.saturating_sub(anon_before),
                    })
                }
            }
        }
        Ok(results)
    }

    /// etcd3 backend creates/s over raw etcd puts/s, when both ran.
    fn etcd_ratio(&self) -> Option<f64> {
        match (&self.etcd3, &self.etcd_raw) {
            (Some(Ok(backend)), Some(Ok(raw))) if *raw > 0.0 => Some(backend / raw),
            _ => None,
        }
    }

    fn list_ms(&self, source: &str) -> Option<f64> {
        self.list
            .iter()
            .find(|(name, _)| name == source)
            .map(|(_, ms)| *ms)
    }

    /// The results as a Markdown table.
    fn table(&self) -> String {
        let dash = || "–".to_owned();
        let mut rows: Vec<[String; 4]> = Vec::new();
        let rate = |rate: &Option<Rate>| match rate {
            Some(Ok(rate)) => thousands(*rate),
            Some(Err(reason)) => format!("skipped: {reason}"),
            None if !self.etcd_built => "skipped: etcd backend not built".to_owned(),
            None => dash(),
        };
        let creates = format!("creates/s, {WRITERS} concurrent writers, ~1 KiB values");
        rows.push([
            format!("{creates}: memory"),
            rate(&self.memory),
            dash(),
            dash(),
        ]);
        rows.push([
            format!("{creates}: sqlite (synchronous=FULL)"),
            rate(&self.sqlite),
            format!("≥ {}", thousands(SQLITE_TARGET)),
            met(match &self.sqlite {
                Some(Ok(rate)) => Some(*rate >= SQLITE_TARGET),
                _ => None,
            }),
        ]);
        rows.push([
            format!("{creates}: etcd3 backend"),
            rate(&self.etcd3),
            dash(),
            dash(),
        ]);
        rows.push([
            "raw etcd puts/s, same client and concurrency (anchor)".to_owned(),
            rate(&self.etcd_raw),
            dash(),
            dash(),
        ]);
        rows.push([
            "raw etcd create transactions/s (put if absent: what the etcd3 backend sends)"
                .to_owned(),
            rate(&self.etcd_raw_txn),
            dash(),
            dash(),
        ]);
        rows.push([
            "etcd3 backend / raw etcd puts".to_owned(),
            self.etcd_ratio().map_or_else(dash, |r| format!("{r:.2}")),
            format!("≥ {ETCD_RATIO_TARGET}"),
            met(self.etcd_ratio().map(|r| r >= ETCD_RATIO_TARGET)),
        ]);
        if !self.list.is_empty() {
            let list = format!(
                "LIST {} × ~1 KiB to a response body, median of {}",
                thousands(self.list_objects as f64),
                self.list_runs
            );
            for (source, label) in [
                ("watch cache", "watch cache (resourceVersion=0)"),
                ("sqlite", "sqlite backend (consistent)"),
                ("memory", "memory backend (consistent)"),
            ] {
                if let Some(value) = self.list_ms(source) {
                    rows.push([format!("{list}: {label}"), ms(value), dash(), dash()]);
                }
            }
            if let (Some(cache), Some(sqlite)) =
                (self.list_ms("watch cache"), self.list_ms("sqlite"))
            {
                rows.push([
                    "LIST speed-up, watch cache over sqlite".to_owned(),
                    format!("{:.1}×", sqlite / cache.max(f64::EPSILON)),
                    dash(),
                    dash(),
                ]);
            }
        }
        if let Some(f) = &self.fanout {
            rows.push([
                format!(
                    "one write to {} watchers: delivery p50 / p99 / max ({} writes)",
                    thousands(f.watchers as f64),
                    f.writes
                ),
                format!("{} / {} / {}", ms(f.p50_ms), ms(f.p99_ms), ms(f.max_ms)),
                format!("p99 ≤ {FANOUT_P99_TARGET_MS:.0} ms"),
                met(Some(f.p99_ms <= FANOUT_P99_TARGET_MS)),
            ]);
            rows.push([
                "the write itself (sqlite create), median".to_owned(),
                ms(f.write_median_ms),
                dash(),
                dash(),
            ]);
        }
        if let Some(c) = &self.cache {
            rows.push([
                format!(
                    "watch cache RSS for {} × ~1 KiB objects / their JSON bytes",
                    thousands(c.objects as f64)
                ),
                format!(
                    "{:.2}× ({:.1} MiB / {:.1} MiB)",
                    c.ratio(),
                    mib(c.rss_delta),
                    mib(c.object_bytes)
                ),
                format!("≤ {CACHE_RSS_TARGET}×"),
                met(Some(c.ratio() <= CACHE_RSS_TARGET)),
            ]);
            rows.push([
                "of which anonymous memory (RssAnon)".to_owned(),
                format!("{:.1} MiB", mib(c.anon_delta)),
                dash(),
                dash(),
            ]);
        }
        let mut out = String::from("| measurement | result | target | met |\n|---|---:|---|---|\n");
        for row in rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }

    /// The body of the docs/benchmarks.md section.
    fn section(&self, date: &str, machine: &str) -> String {
        format!(
            "Measured {date} on {machine}.\n\n{}\nTargets: etcd3 backend ≥ {ETCD_RATIO_TARGET}× \
             raw etcd puts; sqlite ≥ {} creates/s with {WRITERS} writers; fan-out p99 ≤ \
             {FANOUT_P99_TARGET_MS:.0} ms; watch cache RSS ≤ {CACHE_RSS_TARGET}× the objects' \
             bytes.\n",
            self.table(),
            thousands(SQLITE_TARGET),
        )
    }
}

/// Replaces what lies between the storage markers in `doc` with `body`.
#[cfg(test)]
fn replace_section(doc: &str, body: &str) -> anyhow::Result<String> {
    super::format::replace_between(doc, START_MARKER, END_MARKER, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Results {
        let lines: Vec<Line> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        Results::from_lines(&lines).unwrap()
    }

    const FULL_RUN: &str = r#"{"kind":"creates","backend":"memory","per_sec":250000.0,"setup":{}}
{"kind":"creates","backend":"sqlite","per_sec":6200.4}
{"kind":"creates","backend":"etcd3","per_sec":7000.0}
{"kind":"creates","backend":"etcd-raw","per_sec":10000.0}
{"kind":"creates","backend":"etcd-raw-txn","per_sec":7500.0}
{"kind":"list","source":"watch cache","objects":10000,"runs":7,"median_ms":4.5,"min_ms":4.0}
{"kind":"list","source":"sqlite","objects":10000,"runs":7,"median_ms":45.0,"min_ms":40.0}
{"kind":"list","source":"memory","objects":10000,"runs":7,"median_ms":30.0,"min_ms":29.0}
{"kind":"fanout","watchers":10000,"writes":5,"samples":50000,"p50_ms":12.0,"p99_ms":150.0,"max_ms":160.0,"write_median_ms":2.0}
{"kind":"fill","objects":100000}
{"kind":"cache_rss","objects":100000,"object_bytes":104857600,"rss_before":10485760,"rss_after":220200960,"rss_settled":220200960,"anon_before":5242880,"anon_after":214958080}"#;

    fn row<'a>(table: &'a str, starts: &str) -> &'a str {
        table
            .lines()
            .find(|line| line.starts_with(&format!("| {starts}")))
            .unwrap_or_else(|| panic!("no row starting {starts:?} in\n{table}"))
    }

    #[test]
    fn table_judges_each_target() {
        let table = parse(FULL_RUN).table();
        let check = |starts: &str, expected: &str| {
            let line = row(&table, starts);
            assert!(line.contains(expected), "{line:?} lacks {expected:?}");
        };
        check(
            "creates/s, 32 concurrent writers, ~1 KiB values: memory",
            "| 250,000 |",
        );
        check(
            "creates/s, 32 concurrent writers, ~1 KiB values: sqlite",
            "| 6,200 | ≥ 5,000 | yes |",
        );
        check("etcd3 backend / raw", "| 0.70 | ≥ 0.8 | **no** |");
        check("raw etcd create transactions/s", "| 7,500 | – | – |");
        check("LIST speed-up", "| 10.0× |");
        check(
            "LIST 10,000 × ~1 KiB to a response body, median of 7: watch cache",
            "| 4.50 ms |",
        );
        check(
            "one write to 10,000 watchers",
            "| 12.0 ms / 150.0 ms / 160.0 ms | p99 ≤ 100 ms | **no** |",
        );
        check(
            "watch cache RSS",
            "| 2.00× (200.0 MiB / 100.0 MiB) | ≤ 1.5× | **no** |",
        );
        check("of which anonymous", "| 200.0 MiB |");
    }

    #[test]
    fn skipped_etcd_rows_say_why() {
        let results = parse(
            r#"{"kind":"creates","backend":"sqlite","per_sec":4000.0}
{"kind":"creates","backend":"etcd3","skipped":"etcd not found"}
{"kind":"creates","backend":"etcd-raw","skipped":"etcd not found"}"#,
        );
        let table = results.table();
        assert!(
            row(
                &table,
                "creates/s, 32 concurrent writers, ~1 KiB values: etcd3"
            )
            .contains("skipped: etcd not found")
        );
        assert!(row(&table, "etcd3 backend / raw").ends_with("| – | ≥ 0.8 | – |"));
        assert!(
            row(
                &table,
                "creates/s, 32 concurrent writers, ~1 KiB values: sqlite"
            )
            .ends_with("| **no** |")
        );

        let unbuilt = Results {
            etcd_built: false,
            ..Results::default()
        };
        assert!(unbuilt.table().contains("skipped: etcd backend not built"));
    }

    #[test]
    fn rejects_lines_without_a_rate() {
        let lines = vec![Line::Creates {
            backend: "sqlite".to_owned(),
            per_sec: None,
            skipped: None,
        }];
        assert!(Results::from_lines(&lines).is_err());
    }

    #[test]
    fn replaces_only_the_storage_section() {
        let doc = "# B\n<!-- bench:foundation:start -->\nF\n<!-- bench:foundation:end -->\n\
                   ## Storage\n<!-- bench:storage:start -->\nold\n<!-- bench:storage:end -->\ntail\n";
        let updated = replace_section(doc, "new table\n").unwrap();
        assert_eq!(
            updated,
            "# B\n<!-- bench:foundation:start -->\nF\n<!-- bench:foundation:end -->\n\
             ## Storage\n<!-- bench:storage:start -->\nnew table\n<!-- bench:storage:end -->\ntail\n"
        );
        assert!(replace_section("no markers", "x").is_err());
        assert!(replace_section("<!-- bench:storage:start --> only", "x").is_err());
    }
}
