//! `SecureServingOptions`: the TLS serving flags of kube-apiserver and how
//! they become a live [`ServingSetup`].
//!
//! Mirrors `SecureServingOptions` and `SecureServingOptionsWithLoopback` of
//! `k8s.io/apiserver/pkg/server/options`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kapi_core::LOOPBACK_CLIENT_SERVER_NAME_OVERRIDE;
use kapi_serving::{
    DynamicCertificates, LoopbackClientConfig, NamedCertKey, SecureServingInfo, TlsOptions,
};

use crate::error::{Error, Result};

/// The flags that configure the secure (TLS) port.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct SecureServingOptions {
    /// The IP address on which to listen for the --secure-port port. If
    /// blank or an unspecified address (0.0.0.0 or ::), all interfaces are used.
    #[arg(long = "bind-address", default_value = "0.0.0.0", value_name = "IP")]
    pub bind_address: IpAddr,

    /// The port on which to serve HTTPS with authentication and
    /// authorization. 0 picks a free port.
    #[arg(long = "secure-port", default_value_t = 6443, value_name = "PORT")]
    pub secure_port: u16,

    /// The directory where the TLS certs are located. If --tls-cert-file and
    /// --tls-private-key-file are provided, this flag is ignored.
    /// Defaults to `<data-dir>/certificates`.
    #[arg(long = "cert-dir", value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,

    /// File containing the default x509 certificate for HTTPS (CA cert, if
    /// any, concatenated after server cert). If not provided, a self-signed
    /// certificate and key are generated in --cert-dir.
    #[arg(long = "tls-cert-file", value_name = "FILE")]
    pub tls_cert_file: Option<PathBuf>,

    /// File containing the default x509 private key matching --tls-cert-file.
    #[arg(long = "tls-private-key-file", value_name = "FILE")]
    pub tls_private_key_file: Option<PathBuf>,

    /// A pair of x509 certificate and private key file paths, optionally
    /// suffixed with a list of domain patterns which are fully qualified
    /// domain names, possibly with prefixed wildcard segments
    /// ("cert,key:*.example.com,example.com"). Repeatable.
    #[arg(long = "tls-sni-cert-key", value_name = "CERT,KEY[:NAMES]")]
    pub tls_sni_cert_key: Vec<NamedCertKey>,

    /// If set, any request presenting a client certificate signed by one of
    /// the authorities in this file is authenticated with an identity
    /// corresponding to the CommonName of the client certificate.
    #[arg(long = "client-ca-file", value_name = "FILE")]
    pub client_ca_file: Option<PathBuf>,

    /// Minimum TLS version supported: VersionTLS12 or VersionTLS13.
    #[arg(long = "tls-min-version", value_name = "VERSION")]
    pub tls_min_version: Option<String>,

    /// Comma-separated list of cipher suites for the server (IANA names as
    /// kube-apiserver takes them). If omitted, the default suites are used.
    #[arg(
        long = "tls-cipher-suites",
        value_delimiter = ',',
        value_name = "SUITES"
    )]
    pub tls_cipher_suites: Vec<String>,

    /// The limit that the server gives to clients for the maximum number of
    /// streams in an HTTP/2 connection. Zero means the default (100).
    #[arg(
        long = "http2-max-streams-per-connection",
        default_value_t = 1000,
        value_name = "N"
    )]
    pub http2_max_streams_per_connection: u32,

    /// If true, HTTP/2 serving is disabled.
    #[arg(long = "disable-http2-serving")]
    pub disable_http2_serving: bool,

    /// If true, SO_REUSEPORT is used when binding the port, which allows
    /// more than one instance to bind on the same address and port.
    #[arg(long = "permit-port-sharing")]
    pub permit_port_sharing: bool,

    /// How often serving certificate files are checked for changes.
    #[arg(
        long = "tls-reload-interval",
        default_value = "10s",
        value_parser = crate::duration::parse_go_duration,
        value_name = "DURATION"
    )]
    pub tls_reload_interval: Duration,
}

impl Default for SecureServingOptions {
    fn default() -> Self {
        Self {
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            secure_port: 6443,
            cert_dir: None,
            tls_cert_file: None,
            tls_private_key_file: None,
            tls_sni_cert_key: Vec::new(),
            client_ca_file: None,
            tls_min_version: None,
            tls_cipher_suites: Vec::new(),
            http2_max_streams_per_connection: 1000,
            disable_http2_serving: false,
            permit_port_sharing: false,
            tls_reload_interval: Duration::from_secs(10),
        }
    }
}

/// What applying [`SecureServingOptions`] produces: a bound listener with
/// its TLS configuration, the certificates to keep reloading, and the
/// loopback client configuration.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServingSetup {
    /// The bound listener and its TLS configuration, ready to serve.
    pub info: SecureServingInfo,
    /// The serving certificates (default, SNI and loopback).
    pub certificates: Arc<DynamicCertificates>,
    /// How often the certificate files should be checked for changes.
    pub reload_interval: Duration,
    /// How loopback clients reach this server.
    pub loopback: LoopbackClientConfig,
    /// The PEM of the CA that signed the generated serving certificate, when
    /// kapi generated it (clients outside the process should trust it).
    pub generated_ca_pem: Option<String>,
}

impl SecureServingOptions {
    /// The TLS options these flags describe.
    pub fn tls_options(&self) -> TlsOptions {
        let mut options = TlsOptions::default();
        options.cert_file = self.tls_cert_file.clone();
        options.key_file = self.tls_private_key_file.clone();
        options.sni_cert_keys = self.tls_sni_cert_key.clone();
        options.client_ca_file = self.client_ca_file.clone();
        options.min_version = self.tls_min_version.clone();
        options.cipher_suites = self.tls_cipher_suites.clone();
        options.disable_http2 = self.disable_http2_serving;
        options.reload_interval = self.tls_reload_interval;
        options
    }

    /// Checks the flags for values that can never work.
    pub fn validate(&self) -> Vec<Error> {
        let mut errors = Vec::new();
        if self.tls_cert_file.is_some() != self.tls_private_key_file.is_some() {
            errors.push(Error::InvalidFlag {
                flag: "tls-cert-file",
                message: "--tls-cert-file and --tls-private-key-file must be given together"
                    .to_owned(),
            });
        }
        if let Err(err) = kapi_serving::protocol_versions(self.tls_min_version.as_deref()) {
            errors.push(Error::InvalidFlag {
                flag: "tls-min-version",
                message: err.to_string(),
            });
        }
        if let Err(err) = kapi_serving::cipher_suites(&self.tls_cipher_suites) {
            errors.push(Error::InvalidFlag {
                flag: "tls-cipher-suites",
                message: err.to_string(),
            });
        }
        if self.tls_reload_interval.is_zero() {
            errors.push(Error::InvalidFlag {
                flag: "tls-reload-interval",
                message: "must be greater than zero".to_owned(),
            });
        }
        errors
    }

    /// The address to listen on.
    pub fn listen_address(&self) -> SocketAddr {
        SocketAddr::new(self.bind_address, self.secure_port)
    }

    /// Binds the port, loads or generates the serving certificates (into
    /// `--cert-dir`, or `default_cert_dir` when it is not set), adds the
    /// loopback certificate and builds the TLS configuration.
    ///
    /// Mirrors `SecureServingOptionsWithLoopback.ApplyTo` together with
    /// `MaybeDefaultWithSelfSignedCerts`. `advertise_address` is added to
    /// the generated certificate's names.
    pub async fn apply(
        &self,
        default_cert_dir: &Path,
        advertise_address: Option<IpAddr>,
    ) -> Result<ServingSetup> {
        if let Some(error) = self.validate().into_iter().next() {
            return Err(error);
        }
        let listener = self.bind()?;
        let local = listener.local_addr().map_err(|source| Error::Bind {
            address: self.listen_address(),
            source,
        })?;

        let (cert_file, key_file, generated_ca_pem) =
            match (&self.tls_cert_file, &self.tls_private_key_file) {
                (Some(cert), Some(key)) => (cert.clone(), key.clone(), None),
                _ => {
                    let cert_dir = self.cert_dir.as_deref().unwrap_or(default_cert_dir);
                    let advertise = advertise_address
                        .filter(|ip| !ip.is_unspecified())
                        .map(|ip| ip.to_string());
                    let mut extra_ips = Vec::new();
                    if !self.bind_address.is_unspecified() {
                        extra_ips.push(self.bind_address);
                    }
                    let files = kapi_serving::maybe_generate_self_signed(
                        cert_dir,
                        advertise.as_deref(),
                        &[],
                        &extra_ips,
                    )?;
                    (files.cert_file, files.key_file, Some(files.ca_pem))
                }
            };

        let certificates =
            DynamicCertificates::load(Some((cert_file, key_file)), &self.tls_sni_cert_key)?;
        let loopback_cert = kapi_serving::generate_loopback_cert()?;
        certificates.add_static(
            vec![LOOPBACK_CLIENT_SERVER_NAME_OVERRIDE.to_owned()],
            &loopback_cert.cert_pem,
            &loopback_cert.key_pem,
        )?;
        let tls = kapi_serving::build_server_config(certificates.clone(), &self.tls_options())?;

        let max_streams = match self.http2_max_streams_per_connection {
            0 => 100,
            n => n,
        };
        let info = SecureServingInfo::new(listener, tls).with_http2_max_streams(max_streams);
        let loopback = LoopbackClientConfig::new(local, &loopback_cert);
        Ok(ServingSetup {
            info,
            certificates,
            reload_interval: self.tls_reload_interval,
            loopback,
            generated_ca_pem,
        })
    }

    fn bind(&self) -> Result<tokio::net::TcpListener> {
        let address = self.listen_address();
        let bind_error = |source| Error::Bind { address, source };
        let socket = if address.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .map_err(bind_error)?;
        // Go's net.Listen sets SO_REUSEADDR on Unix, so a restarted server can
        // bind at once while old connections sit in TIME_WAIT.
        socket.set_reuseaddr(true).map_err(bind_error)?;
        if self.permit_port_sharing {
            socket.set_reuseport(true).map_err(bind_error)?;
        }
        socket.bind(address).map_err(bind_error)?;
        socket.listen(1024).map_err(bind_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_half_a_key_pair_and_old_tls() {
        let options = SecureServingOptions {
            tls_cert_file: Some(PathBuf::from("a.crt")),
            tls_min_version: Some("VersionTLS11".to_owned()),
            ..Default::default()
        };
        let messages: Vec<String> = options.validate().iter().map(|e| e.to_string()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("must be given together"));
        assert!(messages[1].contains("VersionTLS11"));
        assert!(SecureServingOptions::default().validate().is_empty());
    }
}
