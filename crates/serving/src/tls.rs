//! The TLS half of secure serving: the serving options ([`TlsOptions`],
//! [`NamedCertKey`]), the rustls [`ServerConfig`] built from them
//! ([`build_server_config`]), the Kubernetes names of TLS versions and cipher
//! suites, and the identity of a verified client certificate
//! ([`peer_identity`]).
//!
//! Mirrors the TLS parts of `k8s.io/apiserver/pkg/server/options/serving.go`,
//! `pkg/server/secure_serving.go` (`tlsConfig`) and
//! `k8s.io/component-base/cli/flag` (`TLSVersion`, `TLSCipherSuites`,
//! `NamedCertKey`). The certificates themselves live in [`dynamic`].

mod dynamic;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::crypto::ring::cipher_suite as suites;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, SupportedCipherSuite};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

pub use dynamic::DynamicCertificates;

use crate::error::{Error, Result};

/// How often certificate files are checked for changes unless told otherwise.
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// The TLS flags of `SecureServingOptions`.
///
/// `Default` is Kubernetes' default: no files (the caller generates a
/// self-signed certificate, see [`maybe_generate_self_signed`]), TLS 1.2 and
/// 1.3, every cipher suite rustls implements, HTTP/2 on, files checked every
/// 10 seconds.
///
/// [`maybe_generate_self_signed`]: crate::maybe_generate_self_signed
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TlsOptions {
    /// `--tls-cert-file`: the default serving certificate (PEM, leaf first,
    /// then intermediates).
    pub cert_file: Option<PathBuf>,
    /// `--tls-private-key-file`: the key of [`cert_file`](Self::cert_file).
    pub key_file: Option<PathBuf>,
    /// `--tls-sni-cert-key`, in flag order (earlier entries win).
    pub sni_cert_keys: Vec<NamedCertKey>,
    /// `--client-ca-file`: client certificates signed by these CAs are
    /// verified and their identity made available through [`peer_identity`].
    pub client_ca_file: Option<PathBuf>,
    /// `--tls-min-version`: `VersionTLS12` or `VersionTLS13`; `None` means
    /// TLS 1.2.
    pub min_version: Option<String>,
    /// `--tls-cipher-suites`, by their Go names. Empty means all suites rustls
    /// implements.
    pub cipher_suites: Vec<String>,
    /// `--disable-http2-serving`: offer only `http/1.1` through ALPN.
    pub disable_http2: bool,
    /// How often the certificate files are checked for changes.
    pub reload_interval: Duration,
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            sni_cert_keys: Vec::new(),
            client_ca_file: None,
            min_version: None,
            cipher_suites: Vec::new(),
            disable_http2: false,
            reload_interval: DEFAULT_RELOAD_INTERVAL,
        }
    }
}

/// One `--tls-sni-cert-key` value: a certificate, its key, and the names it
/// is served for.
///
/// When `names` is empty the names come from the certificate itself (its
/// common name when that is a DNS name, and its DNS subject alternative
/// names); explicit names win over names taken from certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedCertKey {
    /// The certificate file (PEM).
    pub cert_file: PathBuf,
    /// The private key file (PEM).
    pub key_file: PathBuf,
    /// Explicit names, possibly wildcards such as `*.example.com`.
    pub names: Vec<String>,
}

impl FromStr for NamedCertKey {
    type Err = Error;

    /// Parses the flag syntax `cert,key` or `cert,key:name1,name2`, trimming
    /// spaces around each part, as Go's `NamedCertKey.Set` does.
    fn from_str(value: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidNamedCertKey {
            value: value.to_owned(),
            reason,
        };
        let (files, names) = match value.split_once(':') {
            Some((files, names)) => {
                let names = names.trim();
                if names.is_empty() {
                    return Err(invalid("empty names list is not allowed"));
                }
                (
                    files,
                    names.split(',').map(|n| n.trim().to_owned()).collect(),
                )
            }
            None => (value, Vec::new()),
        };
        let parts: Vec<&str> = files.trim().split(',').collect();
        let [cert, key] = parts[..] else {
            return Err(invalid(
                "expected comma separated certificate and key file paths",
            ));
        };
        Ok(Self {
            cert_file: PathBuf::from(cert.trim()),
            key_file: PathBuf::from(key.trim()),
            names,
        })
    }
}

/// The subject of a verified client certificate: the user name and groups a
/// Kubernetes x509 authenticator derives from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The subject's common name (the Kubernetes user name).
    pub common_name: String,
    /// The subject's organizations (the Kubernetes groups), in order.
    pub organizations: Vec<String>,
}

/// Builds the rustls configuration kube-apiserver's `tlsConfig` would give:
/// certificates chosen by SNI from `certs`, ALPN `h2` and `http/1.1` (only
/// `http/1.1` when HTTP/2 is disabled), TLS 1.2 and 1.3 unless a minimum is
/// set, the configured cipher suites, and client certificates requested and
/// verified against `client_ca_file` when presented.
///
/// Deliberate difference: Go only *requests* client certificates
/// (`tls.RequestClientCert`) and verifies them later in the x509
/// authenticator, so a certificate from an unknown CA yields an anonymous or
/// 401 request there. Here a presented certificate must chain to the client
/// CA or the handshake fails; a client without a certificate is accepted.
///
/// The crypto provider is always rustls' *ring* provider, never the process
/// default.
pub fn build_server_config(
    certs: Arc<DynamicCertificates>,
    options: &TlsOptions,
) -> Result<Arc<ServerConfig>> {
    let versions = protocol_versions(options.min_version.as_deref())?;
    let provider = Arc::new(CryptoProvider {
        cipher_suites: cipher_suites(&options.cipher_suites)?,
        ..rustls::crypto::ring::default_provider()
    });
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = match &options.client_ca_file {
        Some(path) => {
            let roots = load_client_ca(path)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| Error::LoadClientCa {
                    path: path.clone(),
                    source: Box::new(e),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(certs);
    config.alpn_protocols = if options.disable_http2 {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// The identity in the client certificate of `conn`, when the client
/// presented one. rustls only exposes peer certificates that passed the
/// client verifier, so the identity is a verified one.
pub fn peer_identity(conn: &ServerConnection) -> Option<ClientIdentity> {
    let leaf = conn.peer_certificates()?.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf).ok()?;
    let subject = cert.subject();
    let common_name = subject
        .iter_common_name()
        .find_map(|attr| attr.as_str().ok())
        .unwrap_or_default()
        .to_owned();
    let organizations = subject
        .iter_organization()
        .filter_map(|attr| attr.as_str().ok().map(str::to_owned))
        .collect();
    Some(ClientIdentity {
        common_name,
        organizations,
    })
}

/// The TLS versions served for a `--tls-min-version` value, as Go's
/// `TLSVersion` names them. TLS 1.0 and 1.1 are refused: rustls does not
/// implement them.
pub fn protocol_versions(
    min_version: Option<&str>,
) -> Result<&'static [&'static rustls::SupportedProtocolVersion]> {
    static TLS12_AND_13: &[&rustls::SupportedProtocolVersion] =
        &[&rustls::version::TLS13, &rustls::version::TLS12];
    static TLS13_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
    let unsupported = |reason| Error::UnsupportedTlsVersion {
        version: min_version.unwrap_or_default().to_owned(),
        reason,
    };
    match min_version {
        None | Some("") | Some("VersionTLS12") => Ok(TLS12_AND_13),
        Some("VersionTLS13") => Ok(TLS13_ONLY),
        Some("VersionTLS10" | "VersionTLS11") => Err(unsupported(
            "rustls implements only TLS 1.2 and 1.3; use VersionTLS12 or VersionTLS13",
        )),
        Some(_) => Err(unsupported(
            "unknown tls version; use VersionTLS12 or VersionTLS13",
        )),
    }
}

/// The rustls suites for `--tls-cipher-suites` names (Go's names, including
/// Go's legacy aliases without `_SHA256` for the ChaCha20 suites).
///
/// Empty means every suite rustls implements. Go cannot restrict TLS 1.3
/// suites, so when no TLS 1.3 name is listed all TLS 1.3 suites stay enabled,
/// as in kube-apiserver; listing TLS 1.3 names restricts TLS 1.3 to those.
pub fn cipher_suites(names: &[String]) -> Result<Vec<SupportedCipherSuite>> {
    let all = rustls::crypto::ring::ALL_CIPHER_SUITES;
    if names.is_empty() {
        return Ok(all.to_vec());
    }
    let mut chosen = Vec::new();
    for name in names {
        let suite = CIPHER_SUITES
            .iter()
            .find(|(go_name, _)| go_name == name)
            .map(|(_, suite)| *suite)
            .ok_or_else(|| Error::UnsupportedCipherSuite {
                name: name.clone(),
                supported: supported_cipher_suite_names().join(", "),
            })?;
        if !chosen.contains(&suite) {
            chosen.push(suite);
        }
    }
    if !chosen.iter().any(|s| s.tls13().is_some()) {
        chosen.extend(all.iter().filter(|s| s.tls13().is_some()));
    }
    Ok(chosen)
}

/// The `--tls-cipher-suites` names kapi accepts, in rustls' preference order.
pub fn supported_cipher_suite_names() -> Vec<&'static str> {
    CIPHER_SUITES.iter().map(|(name, _)| *name).collect()
}

/// Go's cipher suite names and the rustls suite each one means.
static CIPHER_SUITES: &[(&str, SupportedCipherSuite)] = &[
    ("TLS_AES_256_GCM_SHA384", suites::TLS13_AES_256_GCM_SHA384),
    ("TLS_AES_128_GCM_SHA256", suites::TLS13_AES_128_GCM_SHA256),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        suites::TLS13_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        suites::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        suites::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        suites::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        suites::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        suites::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        suites::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        suites::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        suites::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// Reads a PEM CA bundle into a root store; an empty bundle is an error.
fn load_client_ca(path: &PathBuf) -> Result<RootCertStore> {
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| Error::LoadClientCa {
        path: path.clone(),
        source,
    };
    let pem = std::fs::read(path).map_err(|e| failed(Box::new(e)))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| failed(Box::new(e)))?;
    if certs.is_empty() {
        return Err(failed("no certificate found".into()));
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| failed(Box::new(e)))?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_cert_key_parses_the_flag_syntax() {
        fn check(input: &str, expected: Option<(&str, &str, &[&str])>) {
            let got = input.parse::<NamedCertKey>().ok();
            let expected = expected.map(|(cert, key, names)| NamedCertKey {
                cert_file: cert.into(),
                key_file: key.into(),
                names: names.iter().map(|n| n.to_string()).collect(),
            });
            assert_eq!(got, expected, "{input:?}");
        }
        check("foo.crt,foo.key", Some(("foo.crt", "foo.key", &[])));
        check(" foo.crt , foo.key ", Some(("foo.crt", "foo.key", &[])));
        check(
            "foo.crt,foo.key:*.foo.com,foo.com",
            Some(("foo.crt", "foo.key", &["*.foo.com", "foo.com"])),
        );
        check(
            "foo.crt,foo.key: a.com , b.com",
            Some(("foo.crt", "foo.key", &["a.com", "b.com"])),
        );
        check("foo.crt,foo.key:", None);
        check("foo.crt,foo.key:  ", None);
        check("foo.crt", None);
        check("a,b,c", None);
        check("", None);
    }

    #[test]
    fn tls_versions_use_kubernetes_names() {
        fn check(input: Option<&str>, expected: Option<&[u16]>) {
            let got = protocol_versions(input)
                .ok()
                .map(|v| v.iter().map(|v| u16::from(v.version)).collect::<Vec<_>>());
            assert_eq!(got.as_deref(), expected, "{input:?}");
        }
        check(None, Some(&[0x0304, 0x0303]));
        check(Some(""), Some(&[0x0304, 0x0303]));
        check(Some("VersionTLS12"), Some(&[0x0304, 0x0303]));
        check(Some("VersionTLS13"), Some(&[0x0304]));
        check(Some("VersionTLS10"), None);
        check(Some("VersionTLS11"), None);
        check(Some("TLS12"), None);
    }

    #[test]
    fn tls11_error_says_why() {
        let err = protocol_versions(Some("VersionTLS11")).unwrap_err();
        assert!(
            err.to_string()
                .contains("rustls implements only TLS 1.2 and 1.3")
        );
    }

    #[test]
    fn cipher_suite_names_map_to_rustls_suites() {
        fn check(input: &[&str], expected: Option<&[&str]>) {
            let names: Vec<String> = input.iter().map(|s| s.to_string()).collect();
            let got = cipher_suites(&names).ok().map(|suites| {
                suites
                    .iter()
                    .map(|s| format!("{:?}", s.suite()))
                    .collect::<Vec<_>>()
            });
            let expected = expected.map(|e| e.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, expected, "{input:?}");
        }
        const ALL_TLS13: [&str; 3] = [
            "TLS13_AES_256_GCM_SHA384",
            "TLS13_AES_128_GCM_SHA256",
            "TLS13_CHACHA20_POLY1305_SHA256",
        ];
        let tls12_then_all_tls13 = |first: &'static str| {
            let mut v = vec![first];
            v.extend(ALL_TLS13);
            v
        };
        check(
            &["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
            Some(&tls12_then_all_tls13(
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            )),
        );
        check(
            &["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"],
            Some(&tls12_then_all_tls13(
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            )),
        );
        check(
            &[
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_AES_128_GCM_SHA256",
            ],
            Some(&[
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS13_AES_128_GCM_SHA256",
            ]),
        );
        check(&["TLS_RSA_WITH_AES_128_CBC_SHA"], None);
        check(&["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "bogus"], None);
        assert_eq!(cipher_suites(&[]).unwrap().len(), 9);
    }

    #[test]
    fn unknown_cipher_suite_error_lists_supported_names() {
        let err = cipher_suites(&["TLS_RSA_WITH_RC4_128_SHA".into()]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("TLS_RSA_WITH_RC4_128_SHA"), "{message}");
        assert!(
            message.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            "{message}"
        );
    }
}
