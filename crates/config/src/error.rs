//! The error type of kapi-config.

/// An invalid option value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A duration flag could not be parsed.
    #[error("invalid duration {value:?}: {reason}")]
    InvalidDuration {
        /// The text given.
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// The secure port could not be bound.
    #[error("failed to listen on {address}")]
    Bind {
        /// The address.
        address: std::net::SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Serving could not be set up (certificates, TLS).
    #[error(transparent)]
    Serving(#[from] kapi_serving::Error),
    /// The storage backend could not be opened.
    #[error("failed to open storage: {0}")]
    Storage(#[from] kapi_storage::Error),
    /// A flag has an invalid value.
    #[error("--{flag}: {message}")]
    InvalidFlag {
        /// The flag's name, without dashes.
        flag: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// The result type of kapi-config.
pub type Result<T, E = Error> = std::result::Result<T, E>;
