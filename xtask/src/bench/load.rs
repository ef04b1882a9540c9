//! Load generators for the /healthz benchmark: `wrk` when it is installed,
//! otherwise a built-in one.
//!
//! Both keep C HTTP/1.1 connections alive over TLS for D seconds and count
//! 200 answers per second. Whichever is chosen drives both targets of one
//! run, so the ratio between them is fair even where absolute numbers are not.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http::StatusCode;

use super::client;
use super::process::wait_bounded;

/// Which load generator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GeneratorChoice {
    /// `wrk` if it is on the PATH, else the built-in one.
    Auto,
    /// `wrk -t2 -cC -dDs --latency` (fails if wrk is missing).
    Wrk,
    /// The built-in tokio + rustls generator.
    Builtin,
}

/// A resolved load generator.
#[derive(Debug, Clone)]
pub(crate) enum Generator {
    /// `wrk` at this path.
    Wrk(PathBuf),
    /// The built-in generator.
    Builtin,
}

impl Generator {
    /// Resolves `choice` against the PATH.
    pub(crate) fn resolve(choice: GeneratorChoice) -> anyhow::Result<Self> {
        let wrk = find_on_path("wrk");
        match (choice, wrk) {
            (GeneratorChoice::Builtin, _) | (GeneratorChoice::Auto, None) => Ok(Self::Builtin),
            (GeneratorChoice::Wrk | GeneratorChoice::Auto, Some(path)) => Ok(Self::Wrk(path)),
            (GeneratorChoice::Wrk, None) => {
                bail!("wrk is not on the PATH; install it with `apt-get install wrk`")
            }
        }
    }

    /// A short name for reports.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Wrk(_) => "wrk",
            Self::Builtin => "built-in (tokio + rustls)",
        }
    }

    /// Drives `GET path` on `127.0.0.1:port` with `connections` keep-alive
    /// connections for `duration`.
    pub(crate) fn run(
        &self,
        port: u16,
        path: &str,
        connections: usize,
        duration: Duration,
    ) -> anyhow::Result<Load> {
        match self {
            Self::Wrk(wrk) => run_wrk(wrk, port, path, connections, duration),
            Self::Builtin => run_builtin(port, path, connections, duration),
        }
    }
}

/// What one load run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Load {
    /// 200 answers per second.
    pub(crate) requests_per_sec: f64,
    /// Median latency.
    pub(crate) p50: Duration,
    /// 99th percentile latency.
    pub(crate) p99: Duration,
}

fn run_wrk(
    wrk: &PathBuf,
    port: u16,
    path: &str,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Load> {
    let url = format!("https://127.0.0.1:{port}{path}");
    let mut child = Command::new(wrk)
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{}s", duration.as_secs()),
        ])
        .args(["--latency", &url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting wrk")?;
    // wrk's report is a few hundred bytes: the pipes cannot fill up.
    let status = wait_bounded(&mut child, duration + Duration::from_secs(30)).context("wrk")?;
    let output = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !status.success() {
        bail!(
            "wrk exited with {status}:\n{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse_wrk(&stdout).with_context(|| format!("reading wrk's report:\n{stdout}"))
}

/// Reads requests/s and latency percentiles from wrk's `--latency` report;
/// fails if any answer was not 2xx/3xx or no request completed.
fn parse_wrk(report: &str) -> anyhow::Result<Load> {
    let mut requests_per_sec = None;
    let mut p50 = None;
    let mut p99 = None;
    for line in report.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            requests_per_sec = Some(rest.trim().parse::<f64>().context("Requests/sec")?);
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            bail!("{} answers were not 200", rest.trim());
        } else if let Some(rest) = line.strip_prefix("50%") {
            p50 = Some(parse_wrk_duration(rest.trim())?);
        } else if let Some(rest) = line.strip_prefix("99%") {
            p99 = Some(parse_wrk_duration(rest.trim())?);
        }
    }
    let requests_per_sec = requests_per_sec.context("no Requests/sec line")?;
    if requests_per_sec <= 0.0 {
        bail!("no request completed");
    }
    Ok(Load {
        requests_per_sec,
        p50: p50.context("no 50% line (was --latency given?)")?,
        p99: p99.context("no 99% line (was --latency given?)")?,
    })
}

/// Parses wrk's `812.00us`, `1.23ms`, `2.00s`, `1.50m`.
fn parse_wrk_duration(text: &str) -> anyhow::Result<Duration> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .context("no unit")?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .with_context(|| format!("latency `{text}`"))?;
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => bail!("unknown unit in `{text}`"),
    };
    Ok(Duration::from_secs_f64(seconds))
}

/// Counts of one connection's run.
#[derive(Debug, Default)]
struct Tally {
    /// Latency of each 200 answer, in microseconds.
    latencies_us: Vec<u32>,
    /// Answers other than 200.
    not_ok: u64,
    /// Connection or protocol errors (each followed by a reconnect).
    errors: u64,
    last_error: Option<String>,
}

fn run_builtin(
    port: u16,
    path: &str,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Load> {
    // Two workers, like `wrk -t2`: client and server share the machine.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the load generator's runtime")?;
    let config = client::insecure_client_config()?;
    let path = path.to_owned();
    let (tallies, elapsed) = rt.block_on(async move {
        let start = Instant::now();
        let deadline = tokio::time::Instant::from_std(start + duration);
        let mut tasks = Vec::with_capacity(connections);
        for _ in 0..connections {
            let config = config.clone();
            let path = path.clone();
            tasks.push(tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut conn = None;
                while tokio::time::Instant::now() < deadline {
                    let sent = Instant::now();
                    let result =
                        tokio::time::timeout_at(deadline + Duration::from_secs(5), async {
                            // Keep-alive: reuse the connection; an error drops it.
                            let mut c = match conn.take() {
                                Some(c) => c,
                                None => client::connect(port, &config).await?,
                            };
                            let status = client::get(&mut c, port, &path).await?;
                            conn = Some(c);
                            anyhow::Ok(status)
                        })
                        .await;
                    match result {
                        Ok(Ok(StatusCode::OK)) => {
                            let micros = sent.elapsed().as_micros();
                            tally
                                .latencies_us
                                .push(u32::try_from(micros).unwrap_or(u32::MAX));
                        }
                        Ok(Ok(_)) => tally.not_ok += 1,
                        Ok(Err(err)) => {
                            tally.errors += 1;
                            tally.last_error = Some(format!("{err:#}"));
                            // Do not spin on a refusing server.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        Err(_) => {
                            tally.errors += 1;
                            tally.last_error = Some("request timed out".to_owned());
                            break;
                        }
                    }
                }
                tally
            }));
        }
        let mut tallies = Vec::with_capacity(connections);
        for task in tasks {
            tallies.push(task.await);
        }
        (tallies, start.elapsed())
    });
    let mut latencies = Vec::new();
    let (mut not_ok, mut errors, mut last_error) = (0, 0, None);
    for tally in tallies {
        let tally = tally.context("a load connection panicked")?;
        latencies.extend(tally.latencies_us);
        not_ok += tally.not_ok;
        errors += tally.errors;
        last_error = last_error.or(tally.last_error);
    }
    if not_ok > 0 {
        bail!("{not_ok} answers were not 200");
    }
    if latencies.is_empty() {
        bail!(
            "no request completed ({errors} errors; last: {})",
            last_error.unwrap_or_default()
        );
    }
    if errors > 0 {
        eprintln!(
            "note: {errors} connection errors during the run (last: {})",
            last_error.unwrap_or_default()
        );
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        Duration::from_micros(u64::from(
            latencies[super::report::rank(latencies.len(), q)],
        ))
    };
    Ok(Load {
        requests_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    })
}

/// The first executable called `name` in `$PATH`.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK_REPORT: &str = "\
Running 10s test @ https://127.0.0.1:8443/healthz
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.38ms    1.07ms  25.87ms   89.71%
    Req/Sec    24.36k     2.21k   29.45k    72.00%
  Latency Distribution
     50%    1.12ms
     75%    1.60ms
     90%    2.35ms
     99%    5.63ms
  484838 requests in 10.00s, 63.81MB read
Requests/sec:  48471.26
Transfer/sec:      6.38MB
";

    #[test]
    fn reads_a_wrk_report() {
        let load = parse_wrk(WRK_REPORT).unwrap();
        assert_eq!(load.requests_per_sec, 48471.26);
        assert_eq!(load.p50, Duration::from_micros(1120));
        assert_eq!(load.p99, Duration::from_micros(5630));
    }

    #[test]
    fn rejects_failed_wrk_runs() {
        let with_errors = WRK_REPORT.replace(
            "Requests/sec:",
            "  Non-2xx or 3xx responses: 17\nRequests/sec:",
        );
        assert!(
            parse_wrk(&with_errors)
                .unwrap_err()
                .to_string()
                .contains("17 answers")
        );
        let no_latency = WRK_REPORT.replace("99%", "98%");
        assert!(parse_wrk(&no_latency).is_err());
        let nothing = WRK_REPORT.replace("48471.26", "0.00");
        assert!(parse_wrk(&nothing).is_err());
    }

    #[test]
    fn reads_wrk_durations() {
        for (text, micros) in [
            ("812.00us", 812),
            ("1.23ms", 1230),
            ("2.00s", 2_000_000),
            ("1.50m", 90_000_000),
        ] {
            assert_eq!(
                parse_wrk_duration(text).unwrap(),
                Duration::from_micros(micros),
                "{text}"
            );
        }
        assert!(parse_wrk_duration("12").is_err());
        assert!(parse_wrk_duration("1.0ns").is_err());
    }

    #[test]
    fn builtin_fails_clearly_when_nothing_listens() {
        let port = super::super::process::free_port().unwrap();
        let start = Instant::now();
        let err = run_builtin(port, "/healthz", 2, Duration::from_millis(200)).unwrap_err();
        assert!(err.to_string().contains("no request completed"), "{err:#}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
