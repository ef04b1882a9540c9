//! One accepted connection: the TLS handshake (with Go's answer to plaintext
//! HTTP), then HTTP/1.1 or HTTP/2 as ALPN chose, until the peer leaves or the
//! server shuts down.
//!
//! Mirrors the per-connection half of Go's `http.Server.Serve` over a
//! `tls.Listener`: a handshake that does not look like TLS is refused, and a
//! misdirected plaintext HTTP request gets the same `400` Go writes.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kapi_core::{Body, BoxHandler};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::{ALPN_H2, PeerCertificates, RemoteAddr};

/// What every connection task of one server shares.
pub(super) struct Shared {
    pub(super) acceptor: TlsAcceptor,
    /// Serves connections that negotiated `http/1.1` or no ALPN protocol.
    pub(super) http1: http1::Builder,
    /// Serves connections that negotiated `h2`.
    pub(super) http2: http2::Builder<TokioExecutor>,
    pub(super) handler: BoxHandler,
    pub(super) handshake_timeout: Duration,
    /// Cancelled when the server stops: connections are told to go away.
    pub(super) stop: CancellationToken,
    /// Cancelled when the shutdown timeout passed: connections are dropped.
    pub(super) cut: CancellationToken,
}

/// What Go's `http.Server` writes when a TLS port receives plaintext HTTP.
const PLAINTEXT_HTTP_RESPONSE: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// The TLS record types a client may open a connection with.
const TLS_RECORD_HANDSHAKE: u8 = 0x16;
const TLS_RECORD_ALERT: u8 = 0x15;

/// How much of a refused plaintext request is read and discarded after the
/// answer, so closing the socket does not reset the connection (and destroy
/// the answer) while unread request bytes remain.
const PLAINTEXT_DRAIN_BYTES: usize = 64 * 1024;

/// Serves one accepted TCP connection to its end.
pub(super) async fn serve(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    // Go's net package turns Nagle's algorithm off on every TCP connection.
    if let Err(err) = tcp.set_nodelay(true) {
        tracing::debug!(%peer, error = %err, "cannot set TCP_NODELAY");
    }
    let handshake = tokio::time::timeout(
        shared.handshake_timeout,
        handshake(&shared.acceptor, tcp, peer),
    );
    let tls = tokio::select! {
        biased;
        () = shared.stop.cancelled() => {
            tracing::debug!(%peer, "dropping a connection still in its TLS handshake at shutdown");
            return;
        }
        result = handshake => match result {
            Ok(Some(tls)) => tls,
            Ok(None) => return,
            Err(_elapsed) => {
                tracing::debug!(%peer, timeout = ?shared.handshake_timeout, "TLS handshake timed out");
                return;
            }
        },
    };

    let (_, session) = tls.get_ref();
    // Go serves HTTP/2 over TLS only when ALPN chose it: no prior knowledge,
    // no sniffing of the connection preface.
    let is_http2 = session.alpn_protocol() == Some(ALPN_H2);
    let certificates = session
        .peer_certificates()
        .map(|chain| PeerCertificates(chain.to_vec()));
    let handler = shared.handler.clone();
    let service = service_fn(move |request: http::Request<Incoming>| {
        let mut request = request.map(Body::new);
        let extensions = request.extensions_mut();
        extensions.insert(RemoteAddr(peer));
        if let Some(certificates) = &certificates {
            extensions.insert(certificates.clone());
        }
        handler.clone().oneshot(request)
    });

    let io = TokioIo::new(tls);
    if is_http2 {
        let connection = shared.http2.serve_connection(io, service);
        drive(&shared, peer, connection, |c| c.graceful_shutdown()).await;
    } else {
        let connection = shared.http1.serve_connection(io, service).with_upgrades();
        drive(&shared, peer, connection, |c| c.graceful_shutdown()).await;
    }
}

/// Runs an HTTP connection to its end; when the server stops, tells it to go
/// away (`graceful_shutdown`), and drops it when the shutdown timeout passes.
async fn drive<C>(shared: &Shared, peer: SocketAddr, connection: C, go_away: fn(Pin<&mut C>))
where
    C: Future<Output = Result<(), hyper::Error>>,
{
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            log_end(peer, result);
            return;
        }
        () = shared.stop.cancelled() => go_away(connection.as_mut()),
    }
    tokio::select! {
        result = connection => log_end(peer, result),
        () = shared.cut.cancelled() => {
            tracing::debug!(%peer, "closing a connection still busy at the shutdown timeout");
        }
    }
}

/// Completes the TLS handshake, or refuses a connection that does not start
/// one. `None` when the connection is finished.
async fn handshake(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
) -> Option<TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    match tcp.peek(&mut first).await {
        Ok(0) => {
            tracing::debug!(%peer, "connection closed before the TLS handshake");
            return None;
        }
        Ok(_) => {}
        Err(err) => {
            tracing::debug!(%peer, error = %err, "TLS handshake error");
            return None;
        }
    }
    if !matches!(first[0], TLS_RECORD_HANDSHAKE | TLS_RECORD_ALERT) {
        refuse_non_tls(tcp, peer).await;
        return None;
    }
    match acceptor.accept(tcp).await {
        Ok(tls) => Some(tls),
        Err(err) => {
            tracing::debug!(%peer, error = %err, "TLS handshake error");
            None
        }
    }
}

/// Answers plaintext HTTP the way Go does and closes any non-TLS connection.
async fn refuse_non_tls(mut tcp: TcpStream, peer: SocketAddr) {
    let mut header = [0u8; 5];
    let is_http = tcp.read_exact(&mut header).await.is_ok() && looks_like_http(&header);
    if !is_http {
        tracing::debug!(%peer, "TLS handshake error: first record does not look like a TLS handshake");
        return;
    }
    tracing::debug!(%peer, "client sent an HTTP request to an HTTPS server");
    if tcp.write_all(PLAINTEXT_HTTP_RESPONSE).await.is_err() || tcp.shutdown().await.is_err() {
        return;
    }
    // Read what is left of the request (bounded: the handshake timeout runs
    // around this) so the close is a FIN, not a reset.
    let mut sink = tokio::io::sink();
    let _ = tokio::io::copy(
        &mut (&mut tcp).take(PLAINTEXT_DRAIN_BYTES as u64),
        &mut sink,
    )
    .await;
}

/// Whether the five bytes where a TLS record header belongs start a plaintext
/// HTTP request (Go: `tlsRecordHeaderLooksLikeHTTP`).
fn looks_like_http(header: &[u8; 5]) -> bool {
    matches!(header, b"GET /" | b"HEAD " | b"POST " | b"PUT /" | b"OPTIO")
}

fn log_end(peer: SocketAddr, result: Result<(), hyper::Error>) {
    if let Err(err) = result {
        tracing::debug!(%peer, error = %err, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_http_is_recognised_like_go() {
        let check = |header: &[u8; 5], expected: bool| {
            assert_eq!(
                looks_like_http(header),
                expected,
                "{}",
                String::from_utf8_lossy(header)
            );
        };
        check(b"GET /", true);
        check(b"HEAD ", true);
        check(b"POST ", true);
        check(b"PUT /", true);
        check(b"OPTIO", true);
        check(b"DELET", false);
        check(b"PATCH", false);
        check(b"get /", false);
        check(b"\x16\x03\x01\x02\x00", false);
    }
}
