//! The secure server: the accept loop, per-connection serving and graceful
//! shutdown.
//!
//! Mirrors `SecureServingInfo.Serve` and `RunServer` of
//! `k8s.io/apiserver/pkg/server/secure_serving.go`: TLS with ALPN `h2` and
//! `http/1.1`, Go's `http.Server` limits (header read timeout, header size,
//! HTTP/2 streams and buffers), and a shutdown that closes the listener at
//! once, lets in-flight requests finish within a timeout, then cuts the rest.
//! The TLS handshake and the HTTP serving of one connection live in
//! `server/connection.rs`.

mod connection;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kapi_core::BoxHandler;
use rustls_pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::{Error, Result};

/// The peer address of the connection a request came in on; every request the
/// handler sees carries one in its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemoteAddr(pub SocketAddr);

/// The certificate chain the client presented and the TLS configuration's
/// client verifier accepted, leaf first; in the request extensions only when
/// the client presented one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificates(pub Vec<CertificateDer<'static>>);

/// A listener and TLS configuration ready to serve HTTPS.
///
/// Mirrors `server.SecureServingInfo`. The defaults are the ones
/// kube-apiserver gives Go's `http.Server`; the `with_*` methods change them.
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use kapi_serving::{SecureServingInfo, setup_signal_handler};
///
/// # async fn run(
/// #     tls: Arc<rustls::ServerConfig>,
/// #     handler: kapi_core::BoxHandler,
/// # ) -> Result<(), Box<dyn std::error::Error>> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:6443").await?;
/// let stop = setup_signal_handler()?;
/// let serving = SecureServingInfo::new(listener, tls)
///     .with_http2_max_streams(1000)
///     .serve(handler, Duration::from_secs(60), stop)?;
/// serving.stopped().await;
/// # Ok(())
/// # }
/// ```
///
/// HTTP/1.1 upgrades (`Connection: Upgrade`, as exec and port-forward use)
/// reach the handler: `hyper::upgrade::on(&mut request)` works on the
/// requests it receives.
///
/// Differences from Go: an idle HTTP/1.1 keep-alive connection is closed when
/// the header read timeout passes without a new request (hyper starts that
/// timer as soon as it waits for the next request; Go waits 90 s
/// `IdleTimeout`), HTTP/2 connections have no idle timeout (Go: 90 s),
/// accepted sockets get no TCP keep-alive period (Go: 3 min), and HTTP/1.1
/// requests are limited to hyper's 100 header fields.
#[derive(Debug)]
pub struct SecureServingInfo {
    listener: TcpListener,
    local_addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    http2_max_streams: u32,
    header_read_timeout: Duration,
    max_header_bytes: usize,
    handshake_timeout: Duration,
}

impl SecureServingInfo {
    /// The HTTP/2 concurrent streams per connection kube-apiserver allows when
    /// `--http2-max-streams-per-connection` is unset.
    pub const DEFAULT_HTTP2_MAX_STREAMS: u32 = 100;
    /// Go's `ReadHeaderTimeout` in kube-apiserver: just shy of the request
    /// timeout upper bound.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(32);
    /// Go's `MaxHeaderBytes` in kube-apiserver (1 MiB).
    pub const DEFAULT_MAX_HEADER_BYTES: usize = 1 << 20;
    /// How long a new connection may take to complete its TLS handshake (Go's
    /// `tls.Dialer` default).
    pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

    /// Serving on `listener` with `tls`.
    ///
    /// When `tls` names no ALPN protocols, `h2` and `http/1.1` are offered, as
    /// Go's `Serve` does; a list that is set (for instance `http/1.1` alone to
    /// disable HTTP/2) is kept.
    pub fn new(listener: TcpListener, tls: Arc<rustls::ServerConfig>) -> Self {
        // Invariant: `getsockname` fails only on a descriptor that is not a
        // socket (EBADF, ENOTSOCK); a `TcpListener` always owns a bound socket.
        let local_addr = listener
            .local_addr()
            .expect("a bound TcpListener has a local address");
        let tls = if tls.alpn_protocols.is_empty() {
            let mut config = (*tls).clone();
            config.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()];
            Arc::new(config)
        } else {
            tls
        };
        Self {
            listener,
            local_addr,
            tls,
            http2_max_streams: Self::DEFAULT_HTTP2_MAX_STREAMS,
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            max_header_bytes: Self::DEFAULT_MAX_HEADER_BYTES,
            handshake_timeout: Self::DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// The address the listener is bound to (with the real port when it was
    /// bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The HTTP/2 concurrent streams a client may open per connection
    /// (`--http2-max-streams-per-connection`); 0 means the default, 100.
    ///
    /// The per-connection upload window is sized from it, 256 KiB per stream,
    /// as Go does.
    pub fn with_http2_max_streams(mut self, n: u32) -> Self {
        self.http2_max_streams = if n == 0 {
            Self::DEFAULT_HTTP2_MAX_STREAMS
        } else {
            n
        };
        self
    }

    /// How long an HTTP/1.1 client may take to send a request's headers,
    /// counted from when the server starts waiting for them.
    pub fn with_header_read_timeout(mut self, d: Duration) -> Self {
        self.header_read_timeout = d;
        self
    }

    /// The largest request head (request line and headers) accepted; larger
    /// ones get `431 Request Header Fields Too Large`.
    ///
    /// Like Go, HTTP/1.1 allows 4096 bytes of slack over this. For HTTP/2 it
    /// is the advertised `SETTINGS_MAX_HEADER_LIST_SIZE`.
    pub fn with_max_header_bytes(mut self, n: usize) -> Self {
        self.max_header_bytes = n;
        self
    }

    /// How long a new connection may take before its TLS handshake completes.
    pub fn with_handshake_timeout(mut self, d: Duration) -> Self {
        self.handshake_timeout = d;
        self
    }

    /// Starts serving `handler` on a spawned task and returns at once.
    ///
    /// Mirrors `SecureServingInfo.Serve` with `RunServer`. When `stop` is
    /// cancelled:
    ///
    /// 1. the listener is closed, so new connections are refused
    ///    ([`ServingHandle::listener_stopped`] resolves);
    /// 2. every connection is told to go away: HTTP/1.1 connections turn
    ///    keep-alive off (an in-flight response carries `Connection: close`,
    ///    an idle connection is closed), HTTP/2 connections send `GOAWAY`;
    ///    connections still in their TLS handshake are dropped;
    /// 3. in-flight requests may finish for up to `shutdown_timeout`;
    /// 4. whatever is still running then is dropped: long-running requests
    ///    (watches, streamed bodies) end here unless the handler ended them
    ///    earlier on its own signal, which is how kube-apiserver closes
    ///    watches before the server shuts down;
    /// 5. [`ServingHandle::stopped`] resolves.
    ///
    /// Fails only when called outside a tokio runtime.
    pub fn serve(
        self,
        handler: BoxHandler,
        shutdown_timeout: Duration,
        stop: CancellationToken,
    ) -> Result<ServingHandle> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::NoRuntime("SecureServingInfo::serve"))?;
        let handle = ServingHandle {
            local_addr: self.local_addr,
            listener_stopped: CancellationToken::new(),
            stopped: CancellationToken::new(),
        };
        let shared = Arc::new(connection::Shared {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::clone(&self.tls)),
            http1: self.http1_builder(),
            http2: self.http2_builder(),
            handler,
            handshake_timeout: self.handshake_timeout,
            stop: stop.clone(),
            cut: CancellationToken::new(),
        });
        runtime.spawn(run(self.listener, shared, shutdown_timeout, handle.clone()));
        Ok(handle)
    }

    /// HTTP/1.1 with Go's limits: header read timeout, header size (plus Go's
    /// slack), keep-alive on.
    fn http1_builder(&self) -> http1::Builder {
        let head_limit = self.max_header_bytes.saturating_add(GO_HEADER_SLACK_BYTES);
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .keep_alive(true)
            .header_read_timeout(self.header_read_timeout)
            .max_header_size(head_limit)
            .max_buf_size(head_limit.max(HYPER_MIN_BUF_SIZE));
        builder
    }

    /// HTTP/2 with kube-apiserver's settings: concurrent streams, 256 KiB
    /// frames and per-stream upload window, a connection window for all
    /// streams, the header list size.
    fn http2_builder(&self) -> http2::Builder<TokioExecutor> {
        let streams = self.http2_max_streams;
        let mut builder = http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .max_concurrent_streams(streams)
            .max_header_list_size(u32::try_from(self.max_header_bytes).unwrap_or(u32::MAX))
            .max_frame_size(RESOURCE_BODY_99_PERCENTILE)
            .initial_stream_window_size(RESOURCE_BODY_99_PERCENTILE)
            .initial_connection_window_size(
                RESOURCE_BODY_99_PERCENTILE
                    .saturating_mul(streams)
                    .min(HTTP2_MAX_WINDOW_SIZE),
            );
        builder
    }
}

/// A running server: its address and its shutdown milestones.
///
/// Mirrors the `stoppedCh` and `listenerStoppedCh` that `RunServer` returns.
/// Dropping the handle does not stop the server; cancel the `stop` token given
/// to [`SecureServingInfo::serve`].
#[derive(Debug, Clone)]
pub struct ServingHandle {
    local_addr: SocketAddr,
    listener_stopped: CancellationToken,
    stopped: CancellationToken,
}

impl ServingHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Resolves once the listener is closed: new connections are refused.
    pub async fn listener_stopped(&self) {
        self.listener_stopped.cancelled().await;
    }

    /// Resolves once every connection has finished, or the shutdown timeout
    /// passed and the remaining ones were cut.
    pub async fn stopped(&self) {
        self.stopped.cancelled().await;
    }
}

const ALPN_H2: &[u8] = b"h2";
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Go's `http.Server` reads up to `MaxHeaderBytes` plus this much before it
/// answers 431.
const GO_HEADER_SLACK_BYTES: usize = 4096;

/// hyper refuses (panics on) an HTTP/1.1 buffer limit smaller than this.
const HYPER_MIN_BUF_SIZE: usize = 8192;

/// kube-apiserver's HTTP/2 frame size and per-stream upload buffer: 99% of
/// serialized objects in surveyed clusters were smaller than 256 KiB.
const RESOURCE_BODY_99_PERCENTILE: u32 = 256 * 1024;

/// The largest flow-control window HTTP/2 allows (2^31 - 1, RFC 9113 §6.9.1).
const HTTP2_MAX_WINDOW_SIZE: u32 = (1 << 31) - 1;

/// The first and the longest pause after an accept error (Go's `Serve`).
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Accepts until `stop`, then drains and cuts the connections.
async fn run(
    listener: TcpListener,
    shared: Arc<connection::Shared>,
    shutdown_timeout: Duration,
    handle: ServingHandle,
) {
    // Resolve both milestones even if this task panics, so nobody waits forever.
    let stopped = handle.stopped.clone().drop_guard();
    let listener_stopped = handle.listener_stopped.clone().drop_guard();
    let connections = TaskTracker::new();
    let mut backoff: Option<Duration> = None;
    tracing::info!(address = %handle.local_addr, "serving securely");
    loop {
        let accepted = tokio::select! {
            biased;
            () = shared.stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, peer)) => {
                backoff = None;
                connections.spawn(connection::serve(Arc::clone(&shared), tcp, peer));
            }
            Err(err) if is_connection_error(&err) => {
                tracing::debug!(error = %err, "accepted connection failed before it was served");
            }
            Err(err) => {
                let delay = next_backoff(backoff);
                backoff = Some(delay);
                tracing::error!(error = %err, ?delay, "accept error; retrying");
                tokio::select! {
                    () = shared.stop.cancelled() => break,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    drop(listener);
    drop(listener_stopped);
    tracing::info!(address = %handle.local_addr, "stopped listening");

    connections.close();
    if tokio::time::timeout(shutdown_timeout, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            remaining = connections.len(),
            ?shutdown_timeout,
            "connections still open at the shutdown timeout; closing them"
        );
        shared.cut.cancel();
        connections.wait().await;
    }
    drop(stopped);
    tracing::info!(address = %handle.local_addr, "secure server stopped");
}

/// Errors about one accepted connection (the peer went away before
/// `accept` returned), not about the listener.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// The pause after an accept error: 5 ms, doubling up to 1 s.
fn next_backoff(previous: Option<Duration>) -> Duration {
    match previous {
        None => ACCEPT_BACKOFF_MIN,
        Some(delay) => (delay * 2).min(ACCEPT_BACKOFF_MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls_config(alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let key = rustls_pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key.into())
        .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    async fn info(alpn: &[&[u8]]) -> SecureServingInfo {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        SecureServingInfo::new(listener, tls_config(alpn))
    }

    #[tokio::test]
    async fn alpn_defaults_to_h2_and_http11_like_go() {
        let check = async |configured: &[&[u8]], expected: &[&[u8]]| {
            assert_eq!(info(configured).await.tls.alpn_protocols, expected);
        };
        check(&[], &[b"h2", b"http/1.1"]).await;
        check(&[b"http/1.1"], &[b"http/1.1"]).await;
        check(&[b"h2", b"http/1.1"], &[b"h2", b"http/1.1"]).await;
    }

    #[tokio::test]
    async fn zero_http2_streams_means_the_default() {
        let check = async |n: u32, expected: u32| {
            let info = info(&[]).await.with_http2_max_streams(n);
            assert_eq!(info.http2_max_streams, expected, "{n}");
        };
        check(0, 100).await;
        check(1, 1).await;
        check(1000, 1000).await;
    }

    #[test]
    fn accept_backoff_doubles_up_to_one_second() {
        let mut delays = Vec::new();
        let mut previous = None;
        for _ in 0..10 {
            let delay = next_backoff(previous);
            delays.push(delay.as_millis());
            previous = Some(delay);
        }
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    }

    #[test]
    fn only_peer_failures_are_connection_errors() {
        let check = |kind: io::ErrorKind, expected: bool| {
            assert_eq!(
                is_connection_error(&io::Error::from(kind)),
                expected,
                "{kind:?}"
            );
        };
        check(io::ErrorKind::ConnectionAborted, true);
        check(io::ErrorKind::ConnectionReset, true);
        check(io::ErrorKind::ConnectionRefused, true);
        check(io::ErrorKind::Other, false);
        check(io::ErrorKind::OutOfMemory, false);
    }
}
