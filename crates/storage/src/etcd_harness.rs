//! A real etcd for tests: [`EtcdServer`] starts the `etcd` binary on free
//! loopback ports (client, peer, and a plain-HTTP metrics port that serves
//! `/health` even when clients must use TLS) with a temporary data
//! directory, waits until it is healthy, can stop and restart it on the same
//! ports and data, and kills it by PID when dropped. [`etcd_or_skip`] lets a test skip when etcd is not
//! installed, except under `CI=true`, where a missing etcd is a failure.
//!
//! The calls block (for up to [`START_TIMEOUT`]); from async tests use a
//! multi-threaded runtime or call them before starting one.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long [`EtcdServer::start`] waits for etcd to report itself healthy.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What can go wrong starting etcd.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// No etcd binary: neither `ETCD_BIN` nor `etcd` on the `PATH`.
    #[error(
        "etcd not found: set ETCD_BIN or put `etcd` on the PATH (Debian: apt-get install etcd-server)"
    )]
    NotFound,
    /// A file-system or process operation failed.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// etcd exited or did not become healthy in time.
    #[error("etcd did not become healthy: {reason}; its log ends with:\n{log_tail}")]
    Unhealthy {
        /// Why the wait ended.
        reason: String,
        /// The last lines etcd wrote.
        log_tail: String,
    },
}

/// A running (or stopped) etcd owned by a test.
#[derive(Debug)]
pub struct EtcdServer {
    binary: PathBuf,
    data_dir: PathBuf,
    client_port: u16,
    peer_port: u16,
    metrics_port: u16,
    tls: Option<EtcdTls>,
    extra_args: Vec<String>,
    child: Option<Child>,
}

/// The PEM files of an etcd that serves clients over TLS.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EtcdTls {
    /// The serving certificate (valid for 127.0.0.1).
    pub cert_file: PathBuf,
    /// Its private key.
    pub key_file: PathBuf,
    /// When set, clients must present a certificate signed by this CA.
    pub client_ca_file: Option<PathBuf>,
}

impl EtcdTls {
    /// Serving files, without client certificate authentication.
    pub fn new(cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        EtcdTls {
            cert_file: cert_file.into(),
            key_file: key_file.into(),
            client_ca_file: None,
        }
    }

    /// Requires client certificates signed by `ca_file`.
    pub fn with_client_ca(mut self, ca_file: impl Into<PathBuf>) -> Self {
        self.client_ca_file = Some(ca_file.into());
        self
    }
}

impl EtcdServer {
    /// Starts etcd on free loopback ports with a fresh data directory.
    pub fn start() -> Result<EtcdServer, HarnessError> {
        EtcdServer::start_with_args(&[])
    }

    /// Like [`EtcdServer::start`], with extra etcd flags (for example
    /// `--experimental-watch-progress-notify-interval=1s`).
    pub fn start_with_args(extra_args: &[&str]) -> Result<EtcdServer, HarnessError> {
        EtcdServer::launch_new(None, extra_args)
    }

    /// Starts etcd serving clients over TLS (`https://` endpoint).
    pub fn start_tls(tls: EtcdTls) -> Result<EtcdServer, HarnessError> {
        EtcdServer::launch_new(Some(tls), &[])
    }

    fn launch_new(tls: Option<EtcdTls>, extra_args: &[&str]) -> Result<EtcdServer, HarnessError> {
        let binary = find_etcd().ok_or(HarnessError::NotFound)?;
        let data_dir = fresh_data_dir()?;
        let mut server = EtcdServer {
            binary,
            data_dir,
            client_port: free_port()?,
            peer_port: free_port()?,
            metrics_port: free_port()?,
            tls,
            extra_args: extra_args.iter().map(|arg| (*arg).to_owned()).collect(),
            child: None,
        };
        server.launch()?;
        Ok(server)
    }

    /// The client URL, `http://127.0.0.1:<port>` (`https://` with TLS).
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    /// The process id of the running etcd, if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills etcd (SIGKILL: what etcd acknowledged is on disk already) and
    /// waits for it to exit. The data directory and ports are kept.
    pub fn stop(&mut self) -> Result<(), HarnessError> {
        if let Some(mut child) = self.child.take() {
            child.kill().map_err(io("killing etcd"))?;
            child.wait().map_err(io("waiting for etcd to exit"))?;
        }
        Ok(())
    }

    /// Starts etcd again on the same ports and data directory (stopping it
    /// first if it runs) and waits until it is healthy.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.stop()?;
        self.launch()
    }

    fn launch(&mut self) -> Result<(), HarnessError> {
        let log_path = self.data_dir.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io("creating etcd's log file"))?;
        let log_err = log.try_clone().map_err(io("duplicating etcd's log file"))?;
        let client = self.endpoint();
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let metrics = format!("http://127.0.0.1:{}", self.metrics_port);
        let mut command = Command::new(&self.binary);
        command
            .arg("--name=test")
            .arg(format!("--data-dir={}", self.data_dir.display()))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=test={peer}"))
            .arg(format!("--listen-metrics-urls={metrics}"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        if let Some(tls) = &self.tls {
            command
                .arg(format!("--cert-file={}", tls.cert_file.display()))
                .arg(format!("--key-file={}", tls.key_file.display()));
            if let Some(ca) = &tls.client_ca_file {
                command
                    .arg("--client-cert-auth")
                    .arg(format!("--trusted-ca-file={}", ca.display()));
            }
        }
        command.args(&self.extra_args);
        // etcd refuses to start on architectures it does not support
        // officially (arm64 in 3.4) unless told to.
        if let Some(arch) = unsupported_arch() {
            command.env("ETCD_UNSUPPORTED_ARCH", arch);
        }
        let child = command.spawn().map_err(io("starting etcd"))?;
        self.child = Some(child);
        self.wait_healthy(&log_path)
    }

    /// Polls etcd's `/health` until it says `true`, etcd exits, or
    /// [`START_TIMEOUT`] passes.
    fn wait_healthy(&mut self, log_path: &Path) -> Result<(), HarnessError> {
        let deadline = Instant::now() + START_TIMEOUT;
        let unhealthy = |reason: String| HarnessError::Unhealthy {
            reason,
            log_tail: log_tail(log_path),
        };
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(unhealthy(format!("etcd exited with {status}")));
            }
            if health_ok(self.metrics_port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.stop();
                return Err(unhealthy(format!(
                    "no healthy answer within {START_TIMEOUT:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = std::fs::remove_dir_all(&self.data_dir);
        let _ = std::fs::remove_file(self.data_dir.with_extension("log"));
    }
}

/// A started etcd, or `None` (with the reason printed) when etcd is not
/// installed.
///
/// # Panics
/// When etcd is missing and `CI=true` (CI must run the etcd tests), or when
/// it is installed but fails to start.
pub fn etcd_or_skip() -> Option<EtcdServer> {
    skip_if_missing(EtcdServer::start())
}

/// The started etcd of `started` (from any `EtcdServer::start*`), or `None`
/// (with the reason printed) when etcd is not installed; panics like
/// [`etcd_or_skip`].
pub fn skip_if_missing(started: Result<EtcdServer, HarnessError>) -> Option<EtcdServer> {
    match started {
        Ok(server) => Some(server),
        Err(HarnessError::NotFound) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping: {}", HarnessError::NotFound);
            None
        }
        Err(err) => panic!("cannot start etcd: {err}"),
    }
}

/// `ETCD_BIN`, else `etcd` from the `PATH`.
fn find_etcd() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ETCD_BIN") {
        return Some(PathBuf::from(path)).filter(|path| path.is_file());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("etcd"))
        .find(|path| path.is_file())
}

/// A port nobody listens on right now (the listener is closed again; etcd
/// binds it a moment later).
fn free_port() -> Result<u16, HarnessError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io("picking a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io("reading the free port"))?
        .port();
    Ok(port)
}

/// A new, empty directory name under the temporary directory (etcd creates
/// it with the permissions it wants).
fn fresh_data_dir() -> Result<PathBuf, HarnessError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let name = format!(
        "kapi-etcd-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let dir = std::env::temp_dir().join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io("clearing a stale etcd data dir"))?;
    }
    Ok(dir)
}

/// Whether `GET /health` on the (plain-HTTP metrics) port answers `"health":"true"`.
fn health_ok(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains("\"health\":\"true\"")
}

fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The `ETCD_UNSUPPORTED_ARCH` value etcd wants on this machine, if any.
fn unsupported_arch() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => None,
        "aarch64" => Some("arm64"),
        other => Some(other),
    }
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> HarnessError {
    move |source| HarnessError::Io {
        what: what.to_owned(),
        source,
    }
}
