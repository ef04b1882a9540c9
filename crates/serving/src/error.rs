//! The error type of kapi-serving.

use std::path::PathBuf;

/// Everything that can go wrong while setting up secure serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A certificate or key file could not be read or parsed.
    #[error("failed to load certificate {cert} / key {key}")]
    LoadCertificate {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An I/O operation on a path failed.
    #[error("{action} {path}")]
    Io {
        /// What was being done ("write", "read", "create directory").
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Binding or configuring the listener failed.
    #[error("failed to listen on {address}")]
    Listen {
        /// The address.
        address: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Certificate generation failed.
    #[error("failed to generate certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The TLS configuration is invalid.
    #[error("invalid TLS configuration: {0}")]
    Tls(String),
    /// An in-memory certificate (such as the loopback certificate) could not be parsed.
    #[error("invalid certificate for {names:?}")]
    StaticCertificate {
        /// The names it was to be served for.
        names: Vec<String>,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The client CA bundle could not be read or parsed.
    #[error("failed to load client CA file {path}")]
    LoadClientCa {
        /// The CA bundle file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A `--tls-min-version` value that kapi cannot serve.
    #[error("unsupported tls version {version:?}: {reason}")]
    UnsupportedTlsVersion {
        /// The version name as given.
        version: String,
        /// Why it is refused, with the accepted values.
        reason: &'static str,
    },
    /// A `--tls-cipher-suites` name that rustls does not implement.
    #[error("cipher suite {name:?} is not supported (supported: {supported})")]
    UnsupportedCipherSuite {
        /// The suite name as given.
        name: String,
        /// The supported names, comma separated.
        supported: String,
    },
    /// A `--tls-sni-cert-key` value that does not parse.
    #[error("invalid sni cert key {value:?}: {reason}")]
    InvalidNamedCertKey {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signal handler was already installed in this process.
    #[error("the signal handler is already installed")]
    SignalHandlerInstalled,
    /// Installing the SIGTERM/SIGINT handler failed.
    #[error("failed to install the signal handler")]
    InstallSignalHandler(#[source] std::io::Error),
    /// A function that spawns tasks was called outside a tokio runtime.
    #[error("{0} must be called within a tokio runtime")]
    NoRuntime(&'static str),
}

/// The result type of kapi-serving.
pub type Result<T, E = Error> = std::result::Result<T, E>;
