//! The error type of kapi-storage.

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The requested revision has been compacted away.
    #[error("required revision {requested} has been compacted (compacted revision {compacted})")]
    Compacted {
        /// The revision asked for.
        requested: i64,
        /// The revision history was compacted at (itself still readable).
        compacted: i64,
    },
    /// The requested revision is newer than the store's current revision.
    #[error("required revision {requested} is a future revision (current revision {current})")]
    FutureRevision {
        /// The revision asked for.
        requested: i64,
        /// The store's current revision.
        current: i64,
    },
    /// The backend cannot be reached or is not ready.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The backend's data is not what kapi wrote (a corrupt or foreign record).
    #[error("corrupt storage data at {key:?}: {message}")]
    Corrupt {
        /// The key holding it.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// An invalid argument (an empty key, a bad range).
    #[error("invalid storage request: {0}")]
    InvalidRequest(String),
    /// No object is stored at the key (Go: `ErrCodeKeyNotFound`).
    #[error("key not found: {key}")]
    KeyNotFound {
        /// The key.
        key: String,
    },
    /// An object is already stored at the key (Go: `ErrCodeKeyExists`).
    #[error("key exists: {key}")]
    KeyExists {
        /// The key.
        key: String,
    },
    /// A precondition (uid or resourceVersion) does not hold (Go:
    /// `ErrCodeInvalidObj` from `Preconditions.Check`).
    #[error("{message}")]
    PreconditionFailed {
        /// The key.
        key: String,
        /// What differed, in Go's words.
        message: String,
    },
    /// A failure that already is a Kubernetes API error (bad request,
    /// expired resource version, too large resource version, …).
    #[error(transparent)]
    Api(Box<kapi_core::StatusError>),
    /// The backend failed in a way that is not one of the above.
    #[error("storage backend error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<kapi_core::StatusError> for Error {
    fn from(err: kapi_core::StatusError) -> Self {
        Error::Api(Box::new(err))
    }
}

/// The result type of kapi-storage.
pub type Result<T, E = Error> = std::result::Result<T, E>;
