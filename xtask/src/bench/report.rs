//! Benchmark results: statistics, the Markdown table, and the section of
//! `docs/benchmarks.md` that `--write` replaces.

use std::fmt::Write as _;
use std::time::Duration;

use super::format::{met, mib, millis, thousands};
use super::load::Load;

/// Marks the start of the section `--write` owns in docs/benchmarks.md.
pub(crate) const START_MARKER: &str = "<!-- bench:foundation:start -->";
/// Marks its end.
pub(crate) const END_MARKER: &str = "<!-- bench:foundation:end -->";

/// Target: time from spawn to the first 200 from /readyz (warm, median).
pub(crate) const READY_TARGET: Duration = Duration::from_millis(100);
/// Target: idle resident set size, in MiB.
pub(crate) const RSS_TARGET_MIB: f64 = 20.0;
/// Target: kapi's /healthz requests/s over the bare server's.
pub(crate) const RATIO_TARGET: f64 = 0.8;

/// The nearest-rank index of quantile `q` in `len` sorted samples.
pub(crate) fn rank(len: usize, q: f64) -> usize {
    let rank = (q * len as f64).ceil() as usize;
    rank.clamp(1, len.max(1)) - 1
}

/// Min, median and 90th percentile of a set of durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) min: Duration,
    pub(crate) median: Duration,
    pub(crate) p90: Duration,
    pub(crate) samples: usize,
}

impl Summary {
    /// Summarizes `samples`; `None` when empty.
    pub(crate) fn of(samples: &[Duration]) -> Option<Self> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        Some(Self {
            min: *sorted.first()?,
            median: sorted[rank(sorted.len(), 0.5)],
            p90: sorted[rank(sorted.len(), 0.9)],
            samples: sorted.len(),
        })
    }
}

/// Startup times of one target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Startup {
    /// The first start in an empty data directory (kapi only).
    pub(crate) cold: Option<Duration>,
    /// Starts in a data directory that already holds certificates.
    pub(crate) warm: Summary,
}

/// /healthz throughput of one target over all rounds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Healthz {
    /// Each round's result, in order.
    pub(crate) rounds: Vec<Load>,
}

impl Healthz {
    /// Mean requests/s over the rounds.
    pub(crate) fn requests_per_sec(&self) -> f64 {
        self.rounds.iter().map(|l| l.requests_per_sec).sum::<f64>()
            / self.rounds.len().max(1) as f64
    }

    /// The worst (largest) p50 and p99 over the rounds.
    fn latency(&self) -> (Duration, Duration) {
        let p50 = self.rounds.iter().map(|l| l.p50).max().unwrap_or_default();
        let p99 = self.rounds.iter().map(|l| l.p99).max().unwrap_or_default();
        (p50, p99)
    }
}

/// What was measured of one target.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TargetResults {
    pub(crate) startup: Option<Startup>,
    pub(crate) rss_bytes: Option<u64>,
    pub(crate) healthz: Option<Healthz>,
}

/// Everything one `cargo xtask bench` run measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Results {
    pub(crate) kapi: TargetResults,
    pub(crate) bare: TargetResults,
    /// How the /healthz load was made, e.g. "wrk, 64 connections, 2 × 10 s".
    pub(crate) load_setup: Option<String>,
}

impl Results {
    /// kapi's /healthz requests/s over the bare server's, when both ran.
    pub(crate) fn ratio(&self) -> Option<f64> {
        let kapi = self.kapi.healthz.as_ref()?.requests_per_sec();
        let bare = self.bare.healthz.as_ref()?.requests_per_sec();
        (bare > 0.0).then(|| kapi / bare)
    }

    /// The results as a Markdown table.
    pub(crate) fn table(&self) -> String {
        let mut rows: Vec<[String; 5]> = Vec::new();
        let dash = || "–".to_owned();
        let startup = (self.kapi.startup, self.bare.startup);
        if startup.0.is_some() || startup.1.is_some() {
            let runs = startup.0.or(startup.1).map_or(0, |s| s.warm.samples);
            let show = |s: Option<Startup>| {
                s.map_or_else(dash, |s| {
                    format!(
                        "{} ({} / {})",
                        ms(s.warm.median),
                        ms(s.warm.min),
                        ms(s.warm.p90)
                    )
                })
            };
            rows.push([
                format!("ready after start, warm: median (min / p90) of {runs}"),
                show(startup.0),
                show(startup.1),
                format!("≤ {} ms", READY_TARGET.as_millis()),
                met(startup.0.map(|s| s.warm.median <= READY_TARGET)),
            ]);
            if let Some(cold) = startup.0.and_then(|s| s.cold) {
                rows.push([
                    "ready after first start, cold (makes certificates)".to_owned(),
                    ms(cold),
                    dash(),
                    dash(),
                    dash(),
                ]);
            }
        }
        if self.kapi.rss_bytes.is_some() || self.bare.rss_bytes.is_some() {
            let show = |b: Option<u64>| b.map_or_else(dash, |b| format!("{:.1} MiB", mib(b)));
            rows.push([
                "idle RSS, 2 s after ready".to_owned(),
                show(self.kapi.rss_bytes),
                show(self.bare.rss_bytes),
                format!("≤ {RSS_TARGET_MIB:.0} MiB"),
                met(self.kapi.rss_bytes.map(|b| mib(b) <= RSS_TARGET_MIB)),
            ]);
        }
        if self.kapi.healthz.is_some() || self.bare.healthz.is_some() {
            let rps = |h: &Option<Healthz>| {
                h.as_ref()
                    .map_or_else(dash, |h| thousands(h.requests_per_sec()))
            };
            let latency = |h: &Option<Healthz>| {
                h.as_ref().map_or_else(dash, |h| {
                    let (p50, p99) = h.latency();
                    format!("{} / {}", ms(p50), ms(p99))
                })
            };
            rows.push([
                "GET /healthz requests/s (mean of rounds)".to_owned(),
                rps(&self.kapi.healthz),
                rps(&self.bare.healthz),
                dash(),
                dash(),
            ]);
            rows.push([
                "GET /healthz latency p50 / p99 (worst round)".to_owned(),
                latency(&self.kapi.healthz),
                latency(&self.bare.healthz),
                dash(),
                dash(),
            ]);
            rows.push([
                "requests/s ratio kapi / bare".to_owned(),
                self.ratio().map_or_else(dash, |r| format!("{r:.2}")),
                dash(),
                format!("≥ {RATIO_TARGET}"),
                met(self.ratio().map(|r| r >= RATIO_TARGET)),
            ]);
        }
        let mut out = String::from(
            "| measurement | kapi | bare axum + rustls | target | met |\n|---|---:|---:|---|---|\n",
        );
        for row in rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        if let Some(setup) = &self.load_setup {
            let _ = writeln!(out, "\n/healthz load: {setup}.");
        }
        out
    }

    /// The body of the docs/benchmarks.md section: when, where, the table
    /// and the targets.
    pub(crate) fn section(&self, date: &str, machine: &str) -> String {
        format!(
            "Measured {date} on {machine}.\n\n{}\nTargets: ready ≤ {} ms after start (warm, median), \
             idle RSS ≤ {RSS_TARGET_MIB:.0} MiB, /healthz requests/s ratio kapi / bare ≥ \
             {RATIO_TARGET}.\n",
            self.table(),
            READY_TARGET.as_millis(),
        )
    }
}

/// Replaces what lies between the markers in `doc` with `body`.
#[cfg(test)]
fn replace_section(doc: &str, body: &str) -> anyhow::Result<String> {
    super::format::replace_between(doc, START_MARKER, END_MARKER, body)
}

fn ms(d: Duration) -> String {
    millis(d.as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nearest_rank_quantiles() {
        for (len, q, index) in [
            (10, 0.5, 4),
            (10, 0.9, 8),
            (10, 0.99, 9),
            (1, 0.9, 0),
            (3, 0.5, 1),
            (100, 0.99, 98),
        ] {
            assert_eq!(rank(len, q), index, "len {len} q {q}");
        }
    }

    #[test]
    fn summarizes_durations() {
        let samples: Vec<Duration> = [7, 3, 9, 1, 5, 2, 8, 4, 10, 6].map(ms_).to_vec();
        let summary = Summary::of(&samples).unwrap();
        assert_eq!(
            (summary.min, summary.median, summary.p90),
            (ms_(1), ms_(5), ms_(9))
        );
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn formats_numbers() {
        for (value, text) in [
            (0.0, "0"),
            (999.4, "999"),
            (1000.0, "1,000"),
            (48471.26, "48,471"),
            (1234567.0, "1,234,567"),
        ] {
            assert_eq!(thousands(value), text);
        }
        assert_eq!(ms(Duration::from_micros(1234)), "1.23 ms");
        assert_eq!(ms(ms_(123)), "123.0 ms");
    }

    fn load(rps: f64) -> Load {
        Load {
            requests_per_sec: rps,
            p50: ms_(1),
            p99: ms_(4),
        }
    }

    #[test]
    fn table_shows_targets_and_ratio() {
        let warm = Summary::of(&[ms_(20), ms_(30), ms_(40)]).unwrap();
        let results = Results {
            kapi: TargetResults {
                startup: Some(Startup {
                    cold: Some(ms_(300)),
                    warm,
                }),
                rss_bytes: Some(25 * 1024 * 1024),
                healthz: Some(Healthz {
                    rounds: vec![load(40_000.0), load(44_000.0)],
                }),
            },
            bare: TargetResults {
                startup: Some(Startup { cold: None, warm }),
                rss_bytes: Some(5 * 1024 * 1024),
                healthz: Some(Healthz {
                    rounds: vec![load(50_000.0), load(50_000.0)],
                }),
            },
            load_setup: Some("wrk, 64 connections, 2 × 10 s rounds".to_owned()),
        };
        assert_eq!(results.ratio(), Some(0.84));
        let table = results.table();
        for expected in [
            "| ready after start, warm: median (min / p90) of 3 | 30.0 ms (20.0 ms / 40.0 ms) | 30.0 ms (20.0 ms / 40.0 ms) | ≤ 100 ms | yes |",
            "| ready after first start, cold (makes certificates) | 300.0 ms | – | – | – |",
            "| idle RSS, 2 s after ready | 25.0 MiB | 5.0 MiB | ≤ 20 MiB | **no** |",
            "| GET /healthz requests/s (mean of rounds) | 42,000 | 50,000 | – | – |",
            "| requests/s ratio kapi / bare | 0.84 | – | ≥ 0.8 | yes |",
            "/healthz load: wrk, 64 connections, 2 × 10 s rounds.",
        ] {
            assert!(table.contains(expected), "missing {expected:?} in\n{table}");
        }
    }

    #[test]
    fn bare_only_results_leave_kapi_blank() {
        let results = Results {
            bare: TargetResults {
                rss_bytes: Some(4 * 1024 * 1024),
                ..TargetResults::default()
            },
            ..Results::default()
        };
        assert_eq!(results.ratio(), None);
        let table = results.table();
        assert!(
            table.contains("| idle RSS, 2 s after ready | – | 4.0 MiB | ≤ 20 MiB | – |"),
            "{table}"
        );
        assert!(!table.contains("healthz"), "{table}");
    }

    #[test]
    fn replaces_only_the_marked_section() {
        let doc =
            format!("# Benchmarks\n\nintro\n\n{START_MARKER}\nold table\n{END_MARKER}\n\nafter\n");
        let updated = replace_section(&doc, "new table\n").unwrap();
        assert_eq!(
            updated,
            format!("# Benchmarks\n\nintro\n\n{START_MARKER}\nnew table\n{END_MARKER}\n\nafter\n")
        );
        // Idempotent.
        assert_eq!(replace_section(&updated, "new table").unwrap(), updated);
        assert!(replace_section("no markers", "x").is_err());
        assert!(replace_section(&format!("{END_MARKER}\n{START_MARKER}\n"), "x").is_err());
    }
}
