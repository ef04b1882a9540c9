//! Real TLS handshakes over 127.0.0.1 against the configurations
//! `kapi-serving` builds: protocol versions, cipher suites, SNI selection,
//! client certificates, ALPN, certificate reload, the self-signed cert-dir
//! files and the loopback client.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kapi_serving::{
    CertificateAuthority, ClientIdentity, DynamicCertificates, IssuedCert, LoopbackClientConfig,
    NamedCertKey, TlsOptions, build_server_config, generate_loopback_cert,
    maybe_generate_self_signed, peer_identity,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_util::sync::CancellationToken;
use x509_parser::prelude::*;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// Upper bound for any single network step of a test.
const STEP: Duration = Duration::from_secs(10);

/// What the server side saw of one accepted connection.
#[derive(Debug)]
struct Accepted {
    identity: Option<ClientIdentity>,
}

/// What the client side saw of one handshake.
#[derive(Debug)]
struct Handshake {
    /// The common name of the leaf certificate the server presented.
    server_cn: String,
    alpn: Option<Vec<u8>>,
    version: rustls::ProtocolVersion,
    suite: rustls::CipherSuite,
}

/// A TLS server on 127.0.0.1 that accepts connections until dropped and
/// reports each accepted connection.
struct Server {
    addr: SocketAddr,
    accepted: tokio::sync::mpsc::UnboundedReceiver<Result<Accepted, String>>,
    stop: CancellationToken,
}

impl Server {
    async fn start(config: Arc<ServerConfig>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, accepted) = tokio::sync::mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let acceptor = TlsAcceptor::from(config);
        let token = stop.clone();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = tokio::select! {
                    () = token.cancelled() => return,
                    conn = listener.accept() => conn.unwrap(),
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let result = match acceptor.accept(tcp).await {
                        Ok(mut tls) => {
                            let identity = peer_identity(tls.get_ref().1);
                            // Prove the connection works both ways.
                            let mut byte = [0u8; 1];
                            if tls.read_exact(&mut byte).await.is_ok() {
                                let _ = tls.write_all(&byte).await;
                                let _ = tls.shutdown().await;
                            }
                            Ok(Accepted { identity })
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    let _ = tx.send(result);
                });
            }
        });
        Self {
            addr,
            accepted,
            stop,
        }
    }

    async fn next_accepted(&mut self) -> Result<Accepted, String> {
        tokio::time::timeout(STEP, self.accepted.recv())
            .await
            .expect("server reported in time")
            .expect("server still running")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Connects, handshakes with `server_name`, exchanges a byte.
async fn connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    server_name: &str,
) -> Result<Handshake, String> {
    let attempt = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from(server_name.to_owned()).map_err(|e| e.to_string())?;
        let mut tls = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        // In TLS 1.3 the server checks a client certificate after the
        // client's handshake ends: only a round trip shows a rejection.
        tls.write_all(b"x").await.map_err(|e| e.to_string())?;
        let mut byte = [0u8; 1];
        tls.read_exact(&mut byte).await.map_err(|e| e.to_string())?;
        let conn = tls.get_ref().1;
        let leaf = conn.peer_certificates().unwrap()[0].clone();
        Ok(Handshake {
            server_cn: common_name(&leaf),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            version: conn.protocol_version().unwrap(),
            suite: conn.negotiated_cipher_suite().unwrap().suite(),
        })
    };
    tokio::time::timeout(STEP, attempt)
        .await
        .expect("handshake finished in time")
}

fn common_name(der: &[u8]) -> String {
    let (_, cert) = parse_x509_certificate(der).unwrap();
    cert.subject()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// A client configuration trusting `ca_pem`, for the given versions, with
/// an optional client certificate and ALPN protocols.
fn client_config(
    ca_pem: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
    client_cert: Option<&IssuedCert>,
    alpn: &[&[u8]],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots);
    let mut config = match client_cert {
        Some(cert) => {
            let chain = CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    // Every connection must run certificate selection: a resumed session
    // would report the certificate of the session it resumes.
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

const ALL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];
const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// A CA and files on disk for the certificates a test serves.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertificateAuthority,
}

impl Pki {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            ca: CertificateAuthority::generate("test-ca").unwrap(),
        }
    }

    /// Issues a serving certificate named `cn` for `dns` and writes it as
    /// `<file>.crt` / `<file>.key`.
    fn serving(&self, file: &str, cn: &str, dns: &[&str]) -> (PathBuf, PathBuf) {
        let (cert, key) = self.paths(file);
        self.write_serving(&cert, &key, cn, dns);
        (cert, key)
    }

    fn write_serving(&self, cert: &Path, key: &Path, cn: &str, dns: &[&str]) {
        let dns: Vec<String> = dns.iter().map(|s| s.to_string()).collect();
        let issued = self
            .ca
            .issue_serving(cn, &dns, &["127.0.0.1".parse().unwrap()], DAY)
            .unwrap();
        write_atomically(cert, &issued.cert_pem);
        write_atomically(key, &issued.key_pem);
    }

    fn paths(&self, file: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.path().join(format!("{file}.crt")),
            self.dir.path().join(format!("{file}.key")),
        )
    }

    fn client(&self, versions: &[&'static rustls::SupportedProtocolVersion]) -> Arc<ClientConfig> {
        client_config(self.ca.cert_pem(), versions, None, &[])
    }
}

fn write_atomically(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn serve(certs: Arc<DynamicCertificates>, options: &TlsOptions) -> Server {
    Server::start(build_server_config(certs, options).unwrap()).await
}

fn default_only(pki: &Pki) -> Arc<DynamicCertificates> {
    let default = pki.serving("default", "default", &["localhost"]);
    DynamicCertificates::load(Some(default), &[]).unwrap()
}

#[tokio::test]
async fn min_version_tls13_refuses_tls12_clients() {
    let pki = Pki::new();
    let certs = default_only(&pki);
    let mut options = TlsOptions::default();
    options.min_version = Some("VersionTLS13".into());
    let mut server = serve(certs.clone(), &options).await;

    assert!(
        connect(server.addr, pki.client(TLS12), "localhost")
            .await
            .is_err()
    );
    assert!(server.next_accepted().await.is_err());

    let ok = connect(server.addr, pki.client(TLS13), "localhost")
        .await
        .unwrap();
    assert_eq!(ok.version, rustls::ProtocolVersion::TLSv1_3);

    // The default accepts both.
    let server = serve(certs, &TlsOptions::default()).await;
    let tls12 = connect(server.addr, pki.client(TLS12), "localhost")
        .await
        .unwrap();
    assert_eq!(tls12.version, rustls::ProtocolVersion::TLSv1_2);
    let tls13 = connect(server.addr, pki.client(ALL_VERSIONS), "localhost")
        .await
        .unwrap();
    assert_eq!(tls13.version, rustls::ProtocolVersion::TLSv1_3);
}

/// A TLS 1.1 ClientHello (legacy version 0x0302, no supported_versions
/// extension) with SNI `localhost`, byte by byte: no TLS library we have can
/// speak 1.1 any more. Besides TLS 1.1's CBC suites it offers the ECDHE-GCM
/// suites and a signature_algorithms extension the server accepts, so the
/// version is the only reason to refuse it.
fn tls11_client_hello() -> Vec<u8> {
    let host = b"localhost";
    let mut sni = vec![0x00]; // host_name
    sni.extend((host.len() as u16).to_be_bytes());
    sni.extend(host);
    let mut sni_list = (sni.len() as u16).to_be_bytes().to_vec();
    sni_list.extend(sni);
    let mut extensions = vec![0x00, 0x00]; // server_name
    extensions.extend((sni_list.len() as u16).to_be_bytes());
    extensions.extend(sni_list);
    let schemes: [u16; 2] = [0x0403, 0x0401]; // ecdsa_secp256r1_sha256, rsa_pkcs1_sha256
    extensions.extend([0x00, 0x0d]); // signature_algorithms
    extensions.extend(((schemes.len() * 2 + 2) as u16).to_be_bytes());
    extensions.extend(((schemes.len() * 2) as u16).to_be_bytes());
    for scheme in schemes {
        extensions.extend(scheme.to_be_bytes());
    }

    let mut hello = vec![0x03, 0x02]; // client_version TLS 1.1
    hello.extend([0x42; 32]); // random
    hello.push(0); // no session id
    let suites: [u16; 5] = [0x002f, 0xc013, 0xc009, 0xc02f, 0xc02b];
    hello.extend(((suites.len() * 2) as u16).to_be_bytes());
    for suite in suites {
        hello.extend(suite.to_be_bytes());
    }
    hello.extend([0x01, 0x00]); // compression: null
    hello.extend((extensions.len() as u16).to_be_bytes());
    hello.extend(extensions);

    let mut handshake = vec![0x01]; // client_hello
    handshake.extend(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x01]; // handshake record, TLS 1.0 framing
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

#[tokio::test]
async fn a_tls11_client_is_refused_when_the_minimum_is_tls12() {
    let pki = Pki::new();
    let certs = default_only(&pki);
    let mut options = TlsOptions::default();
    options.min_version = Some("VersionTLS12".into());
    let mut server = serve(certs, &options).await;

    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(&tls11_client_hello()).await.unwrap();
    let mut reply = Vec::new();
    tokio::time::timeout(STEP, tcp.read_to_end(&mut reply))
        .await
        .expect("the server answers and closes in time")
        .unwrap();
    // One fatal alert record, protocol_version (70); never a ServerHello.
    assert!(reply.len() >= 7, "{reply:?}");
    assert_eq!(
        reply[0], 0x15,
        "an alert record, not a handshake: {reply:?}"
    );
    assert_eq!(&reply[5..7], &[2, 70], "fatal protocol_version: {reply:?}");
    assert!(server.next_accepted().await.is_err());

    // A TLS 1.2 client is still served.
    let ok = connect(server.addr, pki.client(TLS12), "localhost")
        .await
        .unwrap();
    assert_eq!(ok.version, rustls::ProtocolVersion::TLSv1_2);
}

#[tokio::test]
async fn tls10_and_tls11_cannot_be_configured() {
    let pki = Pki::new();
    let certs = default_only(&pki);
    for version in ["VersionTLS10", "VersionTLS11", "VersionSSL30", "tls1.2"] {
        let mut options = TlsOptions::default();
        options.min_version = Some(version.into());
        let err = build_server_config(certs.clone(), &options).unwrap_err();
        assert!(
            matches!(err, kapi_serving::Error::UnsupportedTlsVersion { .. }),
            "{version}: {err}"
        );
    }
}

#[tokio::test]
async fn cipher_suites_restrict_tls12_and_unknown_names_fail() {
    let pki = Pki::new();
    let certs = default_only(&pki);
    let mut options = TlsOptions::default();
    options.cipher_suites = vec!["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305".into()];
    let server = serve(certs.clone(), &options).await;
    let tls12 = connect(server.addr, pki.client(TLS12), "localhost")
        .await
        .unwrap();
    assert_eq!(
        tls12.suite,
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    );
    // TLS 1.3 suites are not restricted by TLS 1.2 names, as in Go.
    let tls13 = connect(server.addr, pki.client(TLS13), "localhost")
        .await
        .unwrap();
    assert_eq!(tls13.version, rustls::ProtocolVersion::TLSv1_3);

    options.cipher_suites = vec!["TLS_AES_256_GCM_SHA384".into()];
    options.min_version = Some("VersionTLS13".into());
    let server = serve(certs.clone(), &options).await;
    let tls13 = connect(server.addr, pki.client(TLS13), "localhost")
        .await
        .unwrap();
    assert_eq!(tls13.suite, rustls::CipherSuite::TLS13_AES_256_GCM_SHA384);

    options.cipher_suites = vec!["TLS_RSA_WITH_AES_128_CBC_SHA".into()];
    let err = build_server_config(certs, &options).unwrap_err();
    assert!(
        err.to_string()
            .contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        "{err}"
    );
}

#[tokio::test]
async fn sni_selects_exact_then_wildcard_then_default() {
    let pki = Pki::new();
    let default = pki.serving("default", "default", &["localhost"]);
    let exact = pki.serving("exact", "exact", &["a.example.com"]);
    let wildcard = pki.serving("wildcard", "wildcard", &["*.example.com"]);
    let sni = [
        NamedCertKey {
            cert_file: exact.0,
            key_file: exact.1,
            names: vec![],
        },
        NamedCertKey {
            cert_file: wildcard.0,
            key_file: wildcard.1,
            names: vec![],
        },
    ];
    let certs = DynamicCertificates::load(Some(default), &sni).unwrap();
    let server = serve(certs, &TlsOptions::default()).await;
    let client = pki.client(ALL_VERSIONS);

    let check = |name: &'static str, expected: &'static str| {
        let client = client.clone();
        async move {
            let got = connect(server.addr, client, name).await;
            assert_eq!(got.map(|h| h.server_cn).as_deref(), Ok(expected), "{name}");
        }
    };
    check("a.example.com", "exact").await;
    check("A.EXAMPLE.COM", "exact").await;
    check("b.example.com", "wildcard").await;
    check("localhost", "default").await;
    // An unknown name gets the default certificate, which the client rejects
    // because it is not valid for that name.
    let unknown = connect(server.addr, client.clone(), "unknown.test").await;
    assert!(unknown.unwrap_err().contains("certificate"));
}

#[tokio::test]
async fn explicit_names_win_over_certificate_names() {
    let pki = Pki::new();
    // Both certificates are valid for both names; which one is served shows
    // which name map entry won.
    let from_san = pki.serving("san", "from-san", &["a.example.com", "b.example.com"]);
    let explicit = pki.serving("explicit", "explicit", &["a.example.com", "b.example.com"]);
    let sni = [
        NamedCertKey {
            cert_file: from_san.0,
            key_file: from_san.1,
            names: vec![],
        },
        NamedCertKey {
            cert_file: explicit.0,
            key_file: explicit.1,
            names: vec!["A.example.com".into()],
        },
    ];
    let certs = DynamicCertificates::load(None, &sni).unwrap();
    assert_eq!(
        certs.names(),
        ["a.example.com", "b.example.com", "from-san"]
    );
    let server = serve(certs, &TlsOptions::default()).await;
    let client = pki.client(ALL_VERSIONS);
    let a = connect(server.addr, client.clone(), "a.example.com")
        .await
        .unwrap();
    assert_eq!(a.server_cn, "explicit");
    let b = connect(server.addr, client, "b.example.com").await.unwrap();
    assert_eq!(b.server_cn, "from-san");
}

#[tokio::test]
async fn earlier_sni_certificates_win_and_no_default_fails_unknown_names() {
    let pki = Pki::new();
    let first = pki.serving("first", "first", &["a.example.com"]);
    let second = pki.serving("second", "second", &["a.example.com"]);
    let sni = [
        NamedCertKey {
            cert_file: first.0,
            key_file: first.1,
            names: vec![],
        },
        NamedCertKey {
            cert_file: second.0,
            key_file: second.1,
            names: vec![],
        },
    ];
    let certs = DynamicCertificates::load(None, &sni).unwrap();
    let mut server = serve(certs, &TlsOptions::default()).await;
    let client = pki.client(ALL_VERSIONS);
    let a = connect(server.addr, client.clone(), "a.example.com")
        .await
        .unwrap();
    assert_eq!(a.server_cn, "first");
    assert!(server.next_accepted().await.is_ok());
    assert!(
        connect(server.addr, client, "other.example.com")
            .await
            .is_err()
    );
    assert!(server.next_accepted().await.is_err());
}

#[tokio::test]
async fn client_certificates_are_verified_but_optional() {
    let pki = Pki::new();
    let certs = default_only(&pki);
    let client_ca = CertificateAuthority::generate("client-ca").unwrap();
    let ca_file = pki.dir.path().join("client-ca.crt");
    std::fs::write(&ca_file, client_ca.cert_pem()).unwrap();
    let mut options = TlsOptions::default();
    options.client_ca_file = Some(ca_file);
    let mut server = serve(certs, &options).await;

    let alice = client_ca
        .issue_client("alice", &["system:masters".into(), "dev".into()], DAY)
        .unwrap();
    for versions in [TLS12, TLS13] {
        let client = client_config(pki.ca.cert_pem(), versions, Some(&alice), &[]);
        connect(server.addr, client, "localhost").await.unwrap();
        let accepted = server.next_accepted().await.unwrap();
        assert_eq!(
            accepted.identity,
            Some(ClientIdentity {
                common_name: "alice".into(),
                organizations: vec!["system:masters".into(), "dev".into()],
            })
        );
    }

    // Signed by another CA: refused at the handshake.
    let mallory = pki.ca.issue_client("mallory", &[], DAY).unwrap();
    for versions in [TLS12, TLS13] {
        let client = client_config(pki.ca.cert_pem(), versions, Some(&mallory), &[]);
        assert!(connect(server.addr, client, "localhost").await.is_err());
        let refused = server.next_accepted().await.unwrap_err();
        assert!(
            refused.contains("UnknownIssuer") || refused.contains("issuer"),
            "{refused}"
        );
    }

    // No certificate: accepted, anonymous.
    connect(server.addr, pki.client(ALL_VERSIONS), "localhost")
        .await
        .unwrap();
    assert_eq!(server.next_accepted().await.unwrap().identity, None);
}

#[tokio::test]
async fn alpn_offers_h2_and_http11_unless_http2_is_disabled() {
    let pki = Pki::new();
    let certs = default_only(&pki);
    let server = serve(certs.clone(), &TlsOptions::default()).await;
    let check = |addr, offered: &'static [&'static [u8]], expected: Option<&'static [u8]>| {
        let client = client_config(pki.ca.cert_pem(), ALL_VERSIONS, None, offered);
        async move {
            let got = connect(addr, client, "localhost").await.unwrap();
            assert_eq!(got.alpn.as_deref(), expected, "{offered:?}");
        }
    };
    check(server.addr, &[b"h2", b"http/1.1"], Some(b"h2")).await;
    check(server.addr, &[b"http/1.1"], Some(b"http/1.1")).await;
    check(server.addr, &[], None).await;

    let mut options = TlsOptions::default();
    options.disable_http2 = true;
    let server = serve(certs, &options).await;
    check(server.addr, &[b"h2", b"http/1.1"], Some(b"http/1.1")).await;
    let h2_only = client_config(pki.ca.cert_pem(), ALL_VERSIONS, None, &[b"h2"]);
    assert!(connect(server.addr, h2_only, "localhost").await.is_err());
}

/// Polls `reload` through the reloader until `condition` holds.
async fn eventually(mut condition: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + STEP;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition never held"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn reloader_serves_new_certificates_and_keeps_old_ones_on_bad_files() {
    let pki = Pki::new();
    let (cert, key) = pki.serving("default", "first", &["localhost"]);
    let (sni_cert, sni_key) = pki.serving("sni", "sni-first", &["a.example.com"]);
    let sni = [NamedCertKey {
        cert_file: sni_cert.clone(),
        key_file: sni_key.clone(),
        names: vec![],
    }];
    let certs = DynamicCertificates::load(Some((cert.clone(), key.clone())), &sni).unwrap();
    let stop = CancellationToken::new();
    let reloader = certs.spawn_reloader(Duration::from_millis(100), stop.clone());
    let server = serve(certs.clone(), &TlsOptions::default()).await;
    let client = pki.client(ALL_VERSIONS);
    let served = |name: &'static str| {
        let client = client.clone();
        async move { connect(server.addr, client, name).await.unwrap().server_cn }
    };
    assert_eq!(served("localhost").await, "first");

    pki.write_serving(&cert, &key, "second", &["localhost"]);
    pki.write_serving(&sni_cert, &sni_key, "sni-second", &["a.example.com"]);
    eventually(async || served("localhost").await == "second").await;
    eventually(async || served("a.example.com").await == "sni-second").await;

    // A corrupt certificate: the old one keeps being served.
    write_atomically(&cert, "-----BEGIN CERTIFICATE-----\nnot base64\n");
    assert!(certs.reload().is_err());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(served("localhost").await, "second");

    // A key that does not match the certificate: also kept.
    let other = pki
        .ca
        .issue_serving("third", &["localhost".into()], &[], DAY)
        .unwrap();
    write_atomically(&cert, &other.cert_pem);
    assert!(certs.reload().is_err());
    assert_eq!(served("localhost").await, "second");

    // Once the pair is whole again it is picked up.
    write_atomically(&key, &other.key_pem);
    eventually(async || served("localhost").await == "third").await;
    assert!(
        !certs.reload().unwrap(),
        "nothing changed since the last reload"
    );

    stop.cancel();
    tokio::time::timeout(STEP, reloader).await.unwrap().unwrap();
}

#[tokio::test]
async fn static_certificates_rank_before_file_certificates() {
    let pki = Pki::new();
    let file = pki.serving(
        "file",
        "from-file",
        &["apiserver-loopback-client", "localhost"],
    );
    let certs = DynamicCertificates::load(
        None,
        &[NamedCertKey {
            cert_file: file.0,
            key_file: file.1,
            names: vec!["apiserver-loopback-client".into()],
        }],
    )
    .unwrap();
    let loopback = pki
        .ca
        .issue_serving("loopback", &["apiserver-loopback-client".into()], &[], DAY)
        .unwrap();
    certs
        .add_static(
            vec!["apiserver-loopback-client".into()],
            &loopback.cert_pem,
            &loopback.key_pem,
        )
        .unwrap();
    let server = serve(certs.clone(), &TlsOptions::default()).await;
    let got = connect(
        server.addr,
        pki.client(ALL_VERSIONS),
        "apiserver-loopback-client",
    )
    .await
    .unwrap();
    assert_eq!(got.server_cn, "loopback");
    assert!(
        certs
            .add_static(vec!["x".into()], "garbage", "garbage")
            .is_err()
    );
}

#[tokio::test]
async fn loopback_client_verifies_the_loopback_certificate() {
    let pki = Pki::new();
    let default = pki.serving("default", "default", &["localhost"]);
    let certs = DynamicCertificates::load(Some(default), &[]).unwrap();
    let loopback = generate_loopback_cert().unwrap();
    certs
        .add_static(
            vec![kapi_core::LOOPBACK_CLIENT_SERVER_NAME_OVERRIDE.into()],
            &loopback.cert_pem,
            &loopback.key_pem,
        )
        .unwrap();
    let server = serve(certs, &TlsOptions::default()).await;

    let bind: SocketAddr = format!("0.0.0.0:{}", server.addr.port()).parse().unwrap();
    let config = LoopbackClientConfig::new(bind, &loopback);
    assert_eq!(
        config.host,
        format!("https://127.0.0.1:{}", server.addr.port())
    );
    let dial: SocketAddr = config.host.trim_start_matches("https://").parse().unwrap();
    let got = connect(
        dial,
        config.rustls_client_config().unwrap(),
        &config.server_name,
    )
    .await
    .unwrap();
    assert!(
        got.server_cn.starts_with("apiserver-loopback-client@"),
        "{}",
        got.server_cn
    );

    // The loopback CA does not vouch for the default certificate.
    assert!(
        connect(dial, config.rustls_client_config().unwrap(), "localhost")
            .await
            .is_err()
    );

    // The loopback certificate is valid for 3 years and a day.
    let der = CertificateDer::from_pem_slice(loopback.cert_pem.as_bytes()).unwrap();
    let (_, cert) = parse_x509_certificate(&der).unwrap();
    let validity = cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
    assert_eq!(validity, (3 * 365 + 1) * 24 * 60 * 60);
}

#[tokio::test]
async fn self_signed_cert_dir_files_are_generated_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let cert_dir = dir.path().join("certificates");
    let extra_ip: IpAddr = "10.96.0.1".parse().unwrap();
    let first = maybe_generate_self_signed(
        &cert_dir,
        Some("192.168.1.10"),
        &["kubernetes.default.svc".into()],
        &[extra_ip],
    )
    .unwrap();
    assert!(first.generated);
    assert_eq!(first.cert_file, cert_dir.join("apiserver.crt"));
    assert_eq!(first.key_file, cert_dir.join("apiserver.key"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&first.key_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let cert_bytes = std::fs::read(&first.cert_file).unwrap();
    let key_bytes = std::fs::read(&first.key_file).unwrap();

    // The file holds the leaf then the CA; the SANs cover every name.
    let chain: Vec<_> = CertificateDer::pem_slice_iter(&cert_bytes)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(chain.len(), 2);
    let (_, leaf) = parse_x509_certificate(&chain[0]).unwrap();
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for name in &leaf
        .subject_alternative_name()
        .unwrap()
        .unwrap()
        .value
        .general_names
    {
        match name {
            GeneralName::DNSName(d) => dns.push(d.to_string()),
            GeneralName::IPAddress(b) => ips.push(match b.len() {
                4 => IpAddr::from(<[u8; 4]>::try_from(*b).unwrap()),
                _ => IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()),
            }),
            _ => {}
        }
    }
    dns.sort();
    ips.sort();
    assert_eq!(
        dns,
        [
            "apiserver-loopback-client",
            "kubernetes.default.svc",
            "localhost"
        ]
    );
    let mut expected_ips: Vec<IpAddr> = ["10.96.0.1", "127.0.0.1", "192.168.1.10", "::1"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    expected_ips.sort();
    assert_eq!(ips, expected_ips);
    assert!(common_name(&chain[0]).starts_with("192.168.1.10@"));
    assert_eq!(
        CertificateDer::from_pem_slice(first.ca_pem.as_bytes()).unwrap(),
        chain[1]
    );

    // Reused: same bytes, nothing written.
    let second = maybe_generate_self_signed(&cert_dir, Some("other"), &[], &[]).unwrap();
    assert!(!second.generated);
    assert_eq!(std::fs::read(&second.cert_file).unwrap(), cert_bytes);
    assert_eq!(std::fs::read(&second.key_file).unwrap(), key_bytes);
    assert_eq!(second.ca_pem, first.ca_pem);

    // The files serve: a client trusting ca_pem connects by IP and by name.
    let certs = DynamicCertificates::load(
        Some((second.cert_file.clone(), second.key_file.clone())),
        &[],
    )
    .unwrap();
    let server = serve(certs, &TlsOptions::default()).await;
    let client = client_config(&second.ca_pem, ALL_VERSIONS, None, &[]);
    connect(server.addr, client.clone(), "127.0.0.1")
        .await
        .unwrap();
    connect(server.addr, client, "kubernetes.default.svc")
        .await
        .unwrap();

    // One file without the other is an error.
    std::fs::remove_file(&second.key_file).unwrap();
    assert!(maybe_generate_self_signed(&cert_dir, None, &[], &[]).is_err());
}
