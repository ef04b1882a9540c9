//! The loopback client: how the server reaches itself over TLS. A
//! certificate generated at start-up for the fixed name
//! `apiserver-loopback-client` is served under that SNI name, and the
//! loopback client trusts it, sends that name and a random bearer token.
//!
//! Mirrors `SecureServingOptionsWithLoopback.ApplyTo`
//! (`k8s.io/apiserver/pkg/server/options/serving_with_loopback.go`),
//! `SecureServingInfo.NewLoopbackClientConfig` and `LoopbackHostPort`
//! (`pkg/server/config_selfclient.go`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kapi_core::LOOPBACK_CLIENT_SERVER_NAME_OVERRIDE;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

use crate::certs::CertificateAuthority;
use crate::error::{Error, Result};

/// How long the loopback certificate is valid: three years and a day, as
/// kube-apiserver (restarting the server makes a new one).
pub const LOOPBACK_CERT_VALIDITY: Duration = Duration::from_secs((3 * 365 + 1) * 24 * 60 * 60);

/// The loopback serving certificate, to register with
/// [`DynamicCertificates::add_static`] under
/// [`LOOPBACK_CLIENT_SERVER_NAME_OVERRIDE`].
///
/// [`DynamicCertificates::add_static`]: crate::DynamicCertificates::add_static
#[derive(Clone)]
pub struct LoopbackCert {
    /// The serving certificate followed by the CA that signed it, as Go's
    /// `GenerateSelfSignedCertKeyWithOptions` returns them. The loopback
    /// client trusts this whole bundle.
    pub cert_pem: String,
    /// The serving key (PEM).
    pub key_pem: String,
}

/// How the server's own clients reach it (Go's loopback `rest.Config`).
///
/// `Debug` does not print the bearer token.
#[derive(Clone)]
pub struct LoopbackClientConfig {
    /// `https://<loopback address>:<port>`.
    pub host: String,
    /// The TLS server name to send and verify: `apiserver-loopback-client`.
    pub server_name: String,
    /// The CA bundle to trust (PEM).
    pub ca_pem: String,
    /// The bearer token the server accepts as `system:apiserver` in group
    /// `system:masters`.
    pub bearer_token: String,
}

/// The address the loopback client dials for a server bound to `bind`: an
/// unspecified address (`0.0.0.0`, `::`) becomes the loopback address of the
/// same family, anything else is kept.
pub fn loopback_host_port(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// Generates the loopback certificate: a CA and a serving certificate for
/// `apiserver-loopback-client` signed by it, valid for
/// [`LOOPBACK_CERT_VALIDITY`] from an hour ago.
pub fn generate_loopback_cert() -> Result<LoopbackCert> {
    let host = LOOPBACK_CLIENT_SERVER_NAME_OVERRIDE;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let ca = CertificateAuthority::generate_with_validity(
        &format!("{host}-ca@{now}"),
        LOOPBACK_CERT_VALIDITY,
    )?;
    let serving = ca.issue_serving(
        &format!("{host}@{now}"),
        &[host.to_owned()],
        &[],
        LOOPBACK_CERT_VALIDITY,
    )?;
    Ok(LoopbackCert {
        cert_pem: format!("{}{}", serving.cert_pem, ca.cert_pem()),
        key_pem: serving.key_pem,
    })
}

impl LoopbackClientConfig {
    /// The loopback client of a server listening on `local` (pass the bound
    /// address; it goes through [`loopback_host_port`]) serving `cert`, with
    /// a fresh random UUID as bearer token.
    pub fn new(local: SocketAddr, cert: &LoopbackCert) -> Self {
        Self {
            host: format!("https://{}", loopback_host_port(local)),
            server_name: LOOPBACK_CLIENT_SERVER_NAME_OVERRIDE.to_owned(),
            ca_pem: cert.cert_pem.clone(),
            bearer_token: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// [`server_name`](Self::server_name) as rustls wants it for
    /// `TlsConnector::connect`.
    pub fn rustls_server_name(&self) -> Result<ServerName<'static>> {
        ServerName::try_from(self.server_name.clone())
            .map_err(|e| Error::Tls(format!("invalid loopback server name: {e}")))
    }

    /// A rustls client configuration trusting [`ca_pem`](Self::ca_pem) only,
    /// with the *ring* provider and no ALPN (set `alpn_protocols` on a clone
    /// to negotiate HTTP/2).
    pub fn rustls_client_config(&self) -> Result<Arc<ClientConfig>> {
        let invalid = |e: &dyn fmt::Display| Error::Tls(format!("invalid loopback CA: {e}"));
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            let cert = cert.map_err(|e| invalid(&e))?;
            roots.add(cert).map_err(|e| invalid(&e))?;
        }
        if roots.is_empty() {
            return Err(invalid(&"no certificate found"));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

impl fmt::Debug for LoopbackClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopbackClientConfig")
            .field("host", &self.host)
            .field("server_name", &self.server_name)
            .field("bearer_token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for LoopbackCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopbackCert")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_bind_addresses_become_loopback() {
        fn check(bind: &str, expected: &str) {
            let got = loopback_host_port(bind.parse().unwrap());
            assert_eq!(got, expected.parse().unwrap(), "{bind}");
        }
        check("0.0.0.0:6443", "127.0.0.1:6443");
        check("[::]:443", "[::1]:443");
        check("10.0.0.5:6443", "10.0.0.5:6443");
        check("127.0.0.1:1", "127.0.0.1:1");
        check("[fe80::1]:8443", "[fe80::1]:8443");
    }

    #[test]
    fn config_has_a_fresh_token_and_hides_it() {
        let cert = generate_loopback_cert().unwrap();
        let a = LoopbackClientConfig::new("0.0.0.0:6443".parse().unwrap(), &cert);
        let b = LoopbackClientConfig::new("[::]:6443".parse().unwrap(), &cert);
        assert_eq!(a.host, "https://127.0.0.1:6443");
        assert_eq!(b.host, "https://[::1]:6443");
        assert_eq!(a.server_name, "apiserver-loopback-client");
        assert_ne!(a.bearer_token, b.bearer_token);
        assert!(uuid::Uuid::parse_str(&a.bearer_token).is_ok());
        let debug = format!("{a:?}");
        assert!(!debug.contains(&a.bearer_token), "{debug}");
        assert!(a.rustls_client_config().is_ok());
    }
}
