//! Secure serving for kapi: rustls TLS (SNI, client CAs, reload), HTTP/1.1 and
//! HTTP/2 through ALPN, self-signed certificates, the loopback client config,
//! graceful shutdown and signal handling.
//!
//! Mirrors the serving half of `k8s.io/apiserver/pkg/server`
//! (`SecureServingInfo`, `RunServer`, `SetupSignalHandler`,
//! `LoopbackHostPort`), `pkg/server/dynamiccertificates`
//! (`GetNamedCertificateMap`, certificate reload) and the serving options of
//! `pkg/server/options`.
//!
//! This crate has no features.

mod certs;
mod error;
mod loopback;
mod server;
mod signals;
mod tls;

pub use certs::{
    CA_VALIDITY, CERT_DIR_PAIR_NAME, CertificateAuthority, IssuedCert, SELF_SIGNED_VALIDITY,
    SelfSignedFiles, maybe_generate_self_signed,
};
pub use error::{Error, Result};
pub use loopback::{
    LOOPBACK_CERT_VALIDITY, LoopbackCert, LoopbackClientConfig, generate_loopback_cert,
    loopback_host_port,
};
pub use server::{PeerCertificates, RemoteAddr, SecureServingInfo, ServingHandle};
pub use signals::{request_shutdown, setup_signal_handler};
pub use tls::{
    ClientIdentity, DEFAULT_RELOAD_INTERVAL, DynamicCertificates, NamedCertKey, TlsOptions,
    build_server_config, cipher_suites, peer_identity, protocol_versions,
    supported_cipher_suite_names,
};
