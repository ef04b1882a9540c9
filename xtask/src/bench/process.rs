//! Child processes under measurement: spawn, wait for readiness, read RSS,
//! and always kill by PID.
//!
//! [`Server`] owns the child and kills it in `Drop`, so an error anywhere in
//! a benchmark (or a panic) never leaves a server running. Output goes to a
//! log file whose tail is shown when a server fails to come up.

use std::fs::{self, File};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http::StatusCode;
use tempfile::TempDir;
use tokio::runtime::Runtime;

use super::client;

/// How long a server may take to answer its readiness probe.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between readiness probes (the brief asks for 1–2 ms).
const PROBE_INTERVAL: Duration = Duration::from_millis(1);
/// Bound on one readiness probe (connect, handshake, request).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// A running server; killed (by PID) and reaped when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    /// The loopback port it serves on.
    pub(crate) port: u16,
    /// When it was spawned.
    started: Instant,
    log: PathBuf,
    label: String,
    /// Its data directory, removed after the child is killed.
    data_dir: Option<TempDir>,
}

impl Server {
    /// Spawns `cmd` with its output sent to `log`; `data_dir` lives as long
    /// as the server.
    pub(crate) fn spawn(
        label: &str,
        mut cmd: Command,
        port: u16,
        log: PathBuf,
        data_dir: Option<TempDir>,
    ) -> anyhow::Result<Self> {
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {label}: {cmd:?}"))?;
        Ok(Self {
            child,
            port,
            started,
            log,
            label: label.to_owned(),
            data_dir,
        })
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data directory, if it has one.
    pub(crate) fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_ref().map(TempDir::path)
    }

    /// Polls `GET path` until it answers 200; returns the time since spawn.
    pub(crate) fn wait_ready(&mut self, rt: &Runtime, path: &str) -> anyhow::Result<Duration> {
        let config = client::insecure_client_config()?;
        let mut last = String::from("no answer yet");
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited with {status} before it was ready\n{}",
                    self.label,
                    self.log_tail()
                );
            }
            if self.started.elapsed() > READY_TIMEOUT {
                bail!(
                    "{} was not ready within {READY_TIMEOUT:?} ({last})\n{}",
                    self.label,
                    self.log_tail()
                );
            }
            let probe = rt.block_on(async {
                tokio::time::timeout(PROBE_TIMEOUT, async {
                    let mut conn = client::connect(self.port, &config).await?;
                    client::get(&mut conn, self.port, path).await
                })
                .await
            });
            match probe {
                Ok(Ok(StatusCode::OK)) => return Ok(self.started.elapsed()),
                Ok(Ok(status)) => last = format!("last answer: {status}"),
                Ok(Err(err)) => last = format!("last error: {err:#}"),
                Err(_) => last = "last probe timed out".to_owned(),
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
    }

    /// Fails if the server has exited.
    pub(crate) fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited with {status}\n{}", self.label, self.log_tail());
        }
        Ok(())
    }

    /// The resident set size, from `VmRSS` in `/proc/<pid>/status`, in bytes.
    pub(crate) fn rss_bytes(&self) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.pid());
        let status = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        parse_vm_rss(&status).with_context(|| format!("no VmRSS line in {path}"))
    }

    /// The last lines of the server's output.
    pub(crate) fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(40)..];
        format!(
            "--- last output of {} ({}) ---\n{}",
            self.label,
            self.log.display(),
            tail.join("\n")
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGKILL by PID, then reap; errors mean it is already gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Copies the files and directories under `from` into `to`.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            // fs::copy keeps the permission bits (private keys stay 0600).
            fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Waits for `child` up to `timeout`; kills it (by PID) when time runs out.
pub(crate) fn wait_bounded(
    child: &mut Child,
    timeout: Duration,
) -> anyhow::Result<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("still running after {timeout:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads `VmRSS:  1234 kB` from a `/proc/<pid>/status` text, in bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let mut fields = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next()? {
        "kB" => Some(value * 1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss() {
        let status = "Name:\tkapi\nVmPeak:\t  900 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(parse_vm_rss(status), Some(12345 * 1024));
        assert_eq!(parse_vm_rss("Name:\tkapi\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn our_own_rss_is_plausible() {
        let status = fs::read_to_string("/proc/self/status").unwrap();
        let rss = parse_vm_rss(&status).unwrap();
        assert!((1 << 20..1 << 34).contains(&rss), "{rss}");
    }

    #[test]
    fn a_server_that_exits_is_reported_with_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo cannot bind; exit 3"]);
        let mut server = Server::spawn(
            "sh",
            cmd,
            free_port().unwrap(),
            dir.path().join("log"),
            None,
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = server.wait_ready(&rt, "/readyz").unwrap_err().to_string();
        assert!(err.contains("exited with exit status: 3"), "{err}");
        assert!(err.contains("cannot bind"), "{err}");
    }

    #[test]
    fn dropping_a_server_kills_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let server = Server::spawn("sleep", cmd, 0, dir.path().join("log"), None).unwrap();
        let proc_dir = PathBuf::from(format!("/proc/{}", server.pid()));
        assert!(proc_dir.exists());
        drop(server);
        // Reaped by Drop, so the PID is gone at once.
        assert!(!proc_dir.exists());
    }

    #[test]
    fn wait_bounded_kills_a_child_that_overstays() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let start = Instant::now();
        let err = wait_bounded(&mut child, Duration::from_millis(100)).unwrap_err();
        assert!(err.to_string().contains("killed"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(child.try_wait().unwrap().is_some());
    }

    #[test]
    fn copy_tree_copies_nested_files() {
        let from = tempfile::tempdir().unwrap();
        fs::create_dir_all(from.path().join("pki")).unwrap();
        fs::write(from.path().join("pki/ca.crt"), "cert").unwrap();
        fs::write(from.path().join("admin.kubeconfig"), "cfg").unwrap();
        let to = tempfile::tempdir().unwrap();
        copy_tree(from.path(), &to.path().join("data")).unwrap();
        assert_eq!(
            fs::read_to_string(to.path().join("data/pki/ca.crt")).unwrap(),
            "cert"
        );
        assert_eq!(
            fs::read_to_string(to.path().join("data/admin.kubeconfig")).unwrap(),
            "cfg"
        );
    }
}
