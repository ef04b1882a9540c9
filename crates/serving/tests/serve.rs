//! End-to-end tests of the secure server over loopback: real TLS handshakes,
//! real HTTP/1.1 and HTTP/2 clients, misbehaving clients, and graceful
//! shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{StatusCode, Version};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use kapi_core::{BoxHandler, Request, Response, box_handler, text_response};
use kapi_serving::{PeerCertificates, RemoteAddr, SecureServingInfo, ServingHandle};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn alpn_selects_the_protocol_the_handler_sees() {
    let pki = Pki::new();
    let server = TestServer::start(&pki, echo_handler(), |info| info).await;
    let check = async |offered: &[&str], kind: Kind, expected_alpn: Option<&str>| {
        let client = server.client(&pki, offered, kind).await;
        assert_eq!(client.alpn.as_deref(), expected_alpn, "{offered:?}");
        let (status, _, body) = client.get("/").await.unwrap();
        assert_eq!(status, StatusCode::OK);
        let expected_version = match kind {
            Kind::Http1 => "HTTP/1.1",
            Kind::Http2 => "HTTP/2.0",
        };
        assert_eq!(line(&body, "version"), expected_version, "{offered:?}");
    };
    check(&["h2", "http/1.1"], Kind::Http2, Some("h2")).await;
    check(&["h2"], Kind::Http2, Some("h2")).await;
    check(&["http/1.1"], Kind::Http1, Some("http/1.1")).await;
    check(&[], Kind::Http1, None).await;
}

#[tokio::test]
async fn http2_without_alpn_is_not_served() {
    // Go serves HTTP/2 over TLS only when ALPN chose it; prior knowledge is refused.
    let pki = Pki::new();
    let server = TestServer::start(&pki, echo_handler(), |info| info).await;
    let client = server.client(&pki, &[], Kind::Http2).await;
    assert!(client.get("/").await.is_err());
    server.assert_serves(&pki).await;
}

#[tokio::test]
async fn requests_carry_the_remote_address_and_client_certificates() {
    let pki = Pki::new();
    let server = TestServer::start_with(
        pki.server_config(true),
        echo_handler(),
        |info| info,
        Duration::from_secs(5),
    )
    .await;
    for (with_certificate, kind) in [
        (true, Kind::Http1),
        (true, Kind::Http2),
        (false, Kind::Http1),
    ] {
        let config = pki.client_config(kind.alpn(), with_certificate);
        let tls = tls_connect(server.addr, config).await.unwrap();
        let local = tls.get_ref().0.local_addr().unwrap();
        let client = Client::handshake(tls, kind).await;
        let (_, _, body) = client.get("/").await.unwrap();
        assert_eq!(line(&body, "remote"), local.to_string());
        let expected_certificate = if with_certificate {
            hex(pki.client_cert.as_ref())
        } else {
            "none".to_owned()
        };
        assert_eq!(line(&body, "certificate"), expected_certificate);
    }
}

#[tokio::test]
async fn http2_streams_per_connection_are_limited() {
    const LIMIT: usize = 2;
    let active = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let handler = {
        let (active, most) = (Arc::clone(&active), Arc::clone(&most));
        handler_fn(move |_| {
            let (active, most) = (Arc::clone(&active), Arc::clone(&most));
            async move {
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                active.fetch_sub(1, Ordering::SeqCst);
                text_response(StatusCode::OK, "ok")
            }
        })
    };
    let pki = Pki::new();
    let server = TestServer::start(&pki, handler, |info| {
        info.with_http2_max_streams(LIMIT as u32)
    })
    .await;
    let client = server.client(&pki, &["h2"], Kind::Http2).await;
    // The first exchange makes sure the server's SETTINGS reached the client.
    client.get("/").await.unwrap();
    most.store(0, Ordering::SeqCst);

    let requests = (0..5).map(|_| {
        let sender = client.sender.clone();
        async move { sender.get("/").await.unwrap().0 }
    });
    let statuses = within(Duration::from_secs(5), futures::future::join_all(requests)).await;
    assert_eq!(statuses, vec![StatusCode::OK; 5]);
    assert_eq!(most.load(Ordering::SeqCst), LIMIT);
}

#[tokio::test]
async fn plaintext_http_gets_gos_answer() {
    let pki = Pki::new();
    let server = TestServer::start(&pki, echo_handler(), |info| info).await;
    let check = async |request: &str| {
        let answer = raw_exchange(server.addr, request.as_bytes()).await;
        assert_eq!(
            String::from_utf8_lossy(&answer),
            "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
            "{request:?}"
        );
        server.assert_serves(&pki).await;
    };
    check("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    check("GET /api/v1/namespaces HTTP/1.0\r\n\r\n").await;
    check("HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    check("POST /apis HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}").await;
    check("PUT /x HTTP/1.1\r\n\r\n").await;
    check("OPTIONS * HTTP/1.1\r\n\r\n").await;
}

#[tokio::test]
async fn garbage_instead_of_a_handshake_is_dropped() {
    let pki = Pki::new();
    let server = TestServer::start(&pki, echo_handler(), |info| info).await;
    // `answer_starts_with`: what the server writes before closing, if anything.
    let check = async |garbage: &[u8], answer_starts_with: Option<u8>| {
        let answer = raw_exchange(server.addr, garbage).await;
        assert_eq!(answer.first().copied(), answer_starts_with, "{garbage:?}");
        server.assert_serves(&pki).await;
    };
    check(b"\x00\x01\x02\x03\x04\x05\x06\x07", None).await;
    // Plaintext HTTP that Go does not recognise gets no answer either.
    check(b"DELETE / HTTP/1.1\r\n\r\n", None).await;
    check(b"SSH-2.0-OpenSSH_9.6\r\n", None).await;
    // A handshake record carrying an unknown message type (0x63): rustls
    // answers with a fatal alert (record type 0x15).
    check(b"\x16\x03\x01\x00\x04\x63\x00\x00\x00", Some(0x15)).await;
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let pki = Pki::new();
    let server = TestServer::start(&pki, echo_handler(), |info| {
        info.with_max_header_bytes(8192)
    })
    .await;
    let check = async |header_bytes: usize, expected_status_line: &str| {
        let config = pki.client_config(&["http/1.1"], false);
        let mut tls = tls_connect(server.addr, config).await.unwrap();
        let request = format!(
            "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
            "a".repeat(header_bytes)
        );
        tls.write_all(request.as_bytes()).await.unwrap();
        let answer = read_until_closed(&mut tls).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with(expected_status_line),
            "{header_bytes} header bytes: {answer:?}"
        );
        server.assert_serves(&pki).await;
    };
    check(6 * 1024, "HTTP/1.1 200 OK\r\n").await;
    check(
        16 * 1024,
        "HTTP/1.1 431 Request Header Fields Too Large\r\n",
    )
    .await;
    check(
        64 * 1024,
        "HTTP/1.1 431 Request Header Fields Too Large\r\n",
    )
    .await;
}

#[tokio::test]
async fn slow_headers_are_cut_at_the_header_read_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(300);
    let pki = Pki::new();
    let server = TestServer::start(&pki, echo_handler(), |info| {
        info.with_header_read_timeout(TIMEOUT)
    })
    .await;
    let config = pki.client_config(&["http/1.1"], false);
    let tls = tls_connect(server.addr, config).await.unwrap();
    let (mut reader, mut writer) = tokio::io::split(tls);
    let started = Instant::now();
    // Byte by byte, 50 ms apart: the head would take 4 s to arrive.
    let trickle = tokio::spawn(async move {
        for byte in b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
            .iter()
            .chain(&[b'a'; 40])
        {
            if writer.write_all(&[*byte]).await.is_err() || writer.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    // Others are served while the slow client is connected.
    server.assert_serves(&pki).await;
    let answer = within(Duration::from_secs(3), read_until_closed(&mut reader)).await;
    let elapsed = started.elapsed();
    assert!(answer.is_empty(), "{answer:?}");
    assert!(
        elapsed >= TIMEOUT && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    trickle.abort();
    server.assert_serves(&pki).await;
}

#[tokio::test]
async fn clients_that_do_not_finish_the_handshake_are_dropped() {
    const TIMEOUT: Duration = Duration::from_millis(300);
    let pki = Pki::new();
    let server = TestServer::start(&pki, echo_handler(), |info| {
        info.with_handshake_timeout(TIMEOUT)
    })
    .await;
    let check = async |sent: &[u8]| {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(sent).await.unwrap();
        let started = Instant::now();
        server.assert_serves(&pki).await;
        let answer = within(Duration::from_secs(3), read_until_closed(&mut tcp)).await;
        let elapsed = started.elapsed();
        assert!(answer.is_empty(), "{sent:?}: {answer:?}");
        assert!(
            elapsed >= TIMEOUT - Duration::from_millis(50) && elapsed < Duration::from_secs(2),
            "{sent:?}: {elapsed:?}"
        );
    };
    // Nothing at all.
    check(b"").await;
    // The start of a handshake record, then silence.
    check(b"\x16\x03\x01").await;
    // Half of the first byte of a plaintext request ("G"), then silence.
    check(b"G").await;
}

#[tokio::test]
async fn stop_lets_in_flight_requests_finish_and_refuses_new_connections() {
    for kind in [Kind::Http1, Kind::Http2] {
        let pki = Pki::new();
        let (handler, started) = slow_handler(Duration::from_millis(500));
        let server = TestServer::start_with(
            pki.server_config(false),
            handler,
            |info| info,
            Duration::from_secs(10),
        )
        .await;
        let client = server.client(&pki, kind.alpn(), kind).await;
        let request = tokio::spawn(async move { client.get("/").await });
        within(Duration::from_secs(2), started.notified()).await;

        server.stop.cancel();
        within(Duration::from_secs(1), server.handle.listener_stopped()).await;
        let refused = TcpStream::connect(server.addr).await;
        assert!(refused.is_err(), "{kind:?}: connected after stop");

        let (status, headers, body) = within(Duration::from_secs(2), request)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "done"),
            "{kind:?}"
        );
        if kind == Kind::Http1 {
            // Keep-alive is off once the server is stopping.
            assert_eq!(headers[http::header::CONNECTION], "close");
        }
        // Nothing else is open, so the server stops long before its timeout.
        within(Duration::from_secs(1), server.handle.stopped()).await;
    }
}

#[tokio::test]
async fn stop_closes_idle_connections() {
    for kind in [Kind::Http1, Kind::Http2] {
        let pki = Pki::new();
        let server = TestServer::start_with(
            pki.server_config(false),
            echo_handler(),
            |info| info,
            Duration::from_secs(10),
        )
        .await;
        let client = server.client(&pki, kind.alpn(), kind).await;
        client.get("/").await.unwrap();
        server.stop.cancel();
        within(Duration::from_secs(1), server.handle.stopped()).await;
        // The client sees its connection end.
        within(Duration::from_secs(1), client.connection)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn requests_still_running_at_the_timeout_are_cut() {
    const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(300);
    for kind in [Kind::Http1, Kind::Http2] {
        let pki = Pki::new();
        let started = Arc::new(Notify::new());
        let (dropped_tx, dropped) = oneshot::channel::<()>();
        let dropped_tx = Arc::new(std::sync::Mutex::new(Some(dropped_tx)));
        let handler = {
            let started = Arc::clone(&started);
            handler_fn(move |_| {
                let started = Arc::clone(&started);
                let guard = DropSignal(dropped_tx.lock().unwrap().take());
                async move {
                    let _guard = guard;
                    started.notify_one();
                    std::future::pending::<Response>().await
                }
            })
        };
        let server = TestServer::start_with(
            pki.server_config(false),
            handler,
            |info| info,
            SHUTDOWN_TIMEOUT,
        )
        .await;
        let client = server.client(&pki, kind.alpn(), kind).await;
        let request = tokio::spawn(async move { client.get("/").await });
        within(Duration::from_secs(2), started.notified()).await;

        let stopping = Instant::now();
        server.stop.cancel();
        within(Duration::from_secs(2), server.handle.stopped()).await;
        assert!(stopping.elapsed() >= SHUTDOWN_TIMEOUT, "{kind:?}");
        // The client's request fails and the handler's future is dropped.
        let outcome = within(Duration::from_secs(1), request).await.unwrap();
        assert!(outcome.is_err(), "{kind:?}: {outcome:?}");
        within(Duration::from_secs(1), dropped).await.unwrap();
    }
}

#[tokio::test]
async fn http1_upgrades_reach_the_handler() {
    // The handler takes over the connection after `101`, as exec and
    // port-forward do, and answers "ping" with "pong".
    let handler = handler_fn(|mut request: Request| async move {
        let on_upgrade = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let mut io = TokioIo::new(on_upgrade.await.unwrap());
            let mut ping = [0u8; 4];
            io.read_exact(&mut ping).await.unwrap();
            assert_eq!(&ping, b"ping");
            io.write_all(b"pong").await.unwrap();
            io.flush().await.unwrap();
        });
        let mut response = text_response(StatusCode::SWITCHING_PROTOCOLS, "");
        let headers = response.headers_mut();
        headers.insert(http::header::CONNECTION, "Upgrade".parse().unwrap());
        headers.insert(http::header::UPGRADE, "kapi-test".parse().unwrap());
        response
    });
    let pki = Pki::new();
    let server = TestServer::start(&pki, handler, |info| info).await;
    let mut tls = tls_connect(server.addr, pki.client_config(&["http/1.1"], false))
        .await
        .unwrap();
    tls.write_all(
        b"GET /exec HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: kapi-test\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        within(Duration::from_secs(2), tls.read_exact(&mut byte))
            .await
            .unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head:?}"
    );
    tls.write_all(b"ping").await.unwrap();
    let mut pong = [0u8; 4];
    within(Duration::from_secs(2), tls.read_exact(&mut pong))
        .await
        .unwrap();
    assert_eq!(&pong, b"pong");
}

#[test]
fn serve_outside_a_runtime_is_an_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pki = Pki::new();
    let info = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        SecureServingInfo::new(listener, pki.server_config(false))
    });
    let result = info.serve(
        echo_handler(),
        Duration::from_secs(1),
        CancellationToken::new(),
    );
    assert!(
        matches!(result, Err(kapi_serving::Error::NoRuntime(_))),
        "{result:?}"
    );
}

// ---------------------------------------------------------------- helpers

/// A CA, a server certificate for `localhost` and 127.0.0.1, and a client
/// certificate, all signed by the CA.
struct Pki {
    ca: CertificateDer<'static>,
    server_cert: CertificateDer<'static>,
    server_key: Vec<u8>,
    client_cert: CertificateDer<'static>,
    client_key: Vec<u8>,
}

impl Pki {
    fn new() -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let issue = |names: Vec<String>| {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &ca)
                .unwrap();
            (cert.der().clone(), key.serialize_der())
        };
        let (server_cert, server_key) = issue(vec!["localhost".into(), "127.0.0.1".into()]);
        let (client_cert, client_key) = issue(vec!["client".into()]);
        Self {
            ca: ca.der().clone(),
            server_cert,
            server_key,
            client_cert,
            client_key,
        }
    }

    /// ALPN `h2` and `http/1.1`; with `client_auth`, client certificates
    /// signed by the CA are verified when presented.
    fn server_config(&self, client_auth: bool) -> Arc<ServerConfig> {
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if client_auth {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(self.roots()),
                provider(),
            )
            .allow_unauthenticated()
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
            .with_single_cert(
                vec![self.server_cert.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone())),
            )
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }

    fn client_config(&self, alpn: &[&str], with_certificate: bool) -> Arc<ClientConfig> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(self.roots());
        let mut config = if with_certificate {
            builder
                .with_client_auth_cert(
                    vec![self.client_cert.clone()],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.client_key.clone())),
                )
                .unwrap()
        } else {
            builder.with_no_client_auth()
        };
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        Arc::new(config)
    }

    fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.clone()).unwrap();
        roots
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

struct TestServer {
    addr: SocketAddr,
    handle: ServingHandle,
    stop: CancellationToken,
}

impl TestServer {
    async fn start(
        pki: &Pki,
        handler: BoxHandler,
        configure: impl FnOnce(SecureServingInfo) -> SecureServingInfo,
    ) -> Self {
        Self::start_with(
            pki.server_config(false),
            handler,
            configure,
            Duration::from_secs(5),
        )
        .await
    }

    async fn start_with(
        tls: Arc<ServerConfig>,
        handler: BoxHandler,
        configure: impl FnOnce(SecureServingInfo) -> SecureServingInfo,
        shutdown_timeout: Duration,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let info = configure(SecureServingInfo::new(listener, tls));
        let addr = info.local_addr();
        let stop = CancellationToken::new();
        let handle = info.serve(handler, shutdown_timeout, stop.clone()).unwrap();
        assert_eq!(handle.local_addr(), addr);
        Self { addr, handle, stop }
    }

    async fn client(&self, pki: &Pki, alpn: &[&str], kind: Kind) -> Client {
        let tls = tls_connect(self.addr, pki.client_config(alpn, false))
            .await
            .unwrap();
        Client::handshake(tls, kind).await
    }

    /// A well-behaved client on a new connection is answered.
    async fn assert_serves(&self, pki: &Pki) {
        let client = self.client(pki, &["h2", "http/1.1"], Kind::Http2).await;
        let (status, _, _) = within(Duration::from_secs(2), client.get("/"))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Http1,
    Http2,
}

impl Kind {
    fn alpn(self) -> &'static [&'static str] {
        match self {
            Kind::Http1 => &["http/1.1"],
            Kind::Http2 => &["h2"],
        }
    }
}

#[derive(Clone)]
enum Sender {
    Http1(Arc<tokio::sync::Mutex<http1::SendRequest<Empty<Bytes>>>>),
    Http2(http2::SendRequest<Empty<Bytes>>),
}

/// An HTTP client on one TLS connection.
struct Client {
    sender: Sender,
    alpn: Option<String>,
    /// Ends when the connection does.
    connection: tokio::task::JoinHandle<()>,
}

impl Client {
    async fn handshake(tls: TlsStream<TcpStream>, kind: Kind) -> Self {
        let alpn = tls
            .get_ref()
            .1
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let io = TokioIo::new(tls);
        let (sender, connection) = match kind {
            Kind::Http1 => {
                let (sender, connection) = http1::handshake(io).await.unwrap();
                let task = tokio::spawn(async move {
                    let _ = connection.await;
                });
                (
                    Sender::Http1(Arc::new(tokio::sync::Mutex::new(sender))),
                    task,
                )
            }
            Kind::Http2 => {
                let (sender, connection) =
                    http2::handshake(TokioExecutor::new(), io).await.unwrap();
                let task = tokio::spawn(async move {
                    let _ = connection.await;
                });
                (Sender::Http2(sender), task)
            }
        };
        Self {
            sender,
            alpn,
            connection,
        }
    }

    async fn get(&self, path: &str) -> Result<(StatusCode, http::HeaderMap, String), hyper::Error> {
        self.sender.get(path).await
    }
}

impl Sender {
    async fn get(&self, path: &str) -> Result<(StatusCode, http::HeaderMap, String), hyper::Error> {
        let response = match self {
            Sender::Http1(sender) => {
                let request = http::Request::get(path)
                    .header(http::header::HOST, "localhost")
                    .body(Empty::new())
                    .unwrap();
                let mut sender = sender.lock().await;
                sender.ready().await?;
                sender.send_request(request).await?
            }
            Sender::Http2(sender) => {
                let request = http::Request::get(format!("https://localhost{path}"))
                    .body(Empty::new())
                    .unwrap();
                let mut sender = sender.clone();
                sender.ready().await?;
                sender.send_request(request).await?
            }
        };
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok((
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&body).into_owned(),
        ))
    }
}

async fn tls_connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    within(
        Duration::from_secs(2),
        TlsConnector::from(config).connect(name, tcp),
    )
    .await
}

/// Sends `bytes` on a plain TCP connection and returns all the server writes
/// until it closes the connection.
async fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    within(Duration::from_secs(2), read_until_closed(&mut tcp)).await
}

/// Reads until EOF or a reset; returns what arrived before.
async fn read_until_closed(reader: &mut (impl tokio::io::AsyncRead + Unpin)) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
}

fn handler_fn<F, Fut>(f: F) -> BoxHandler
where
    F: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    box_handler(tower::service_fn(move |request: Request| {
        let response = f(request);
        async move { Ok::<_, Infallible>(response.await) }
    }))
}

/// Answers with what the server put in the request: `version`, `remote` and
/// `certificate` lines.
fn echo_handler() -> BoxHandler {
    handler_fn(|request: Request| async move {
        let remote = request
            .extensions()
            .get::<RemoteAddr>()
            .map_or("none".to_owned(), |RemoteAddr(addr)| addr.to_string());
        let certificate = request.extensions().get::<PeerCertificates>().map_or(
            "none".to_owned(),
            |PeerCertificates(chain)| {
                assert_eq!(chain.len(), 1);
                hex(chain[0].as_ref())
            },
        );
        let version = match request.version() {
            Version::HTTP_11 => "HTTP/1.1",
            Version::HTTP_2 => "HTTP/2.0",
            _ => "other",
        };
        text_response(
            StatusCode::OK,
            format!("version={version}\nremote={remote}\ncertificate={certificate}\n"),
        )
    })
}

/// A handler that signals when a request started, then answers `done` after
/// `delay`.
fn slow_handler(delay: Duration) -> (BoxHandler, Arc<Notify>) {
    let started = Arc::new(Notify::new());
    let handler = {
        let started = Arc::clone(&started);
        handler_fn(move |_| {
            let started = Arc::clone(&started);
            async move {
                started.notify_one();
                tokio::time::sleep(delay).await;
                text_response(StatusCode::OK, "done")
            }
        })
    };
    (handler, started)
}

/// Sends on its channel when dropped.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

fn line<'a>(body: &'a str, key: &str) -> &'a str {
    body.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {body:?}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}"))
}
