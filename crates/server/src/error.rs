//! The error type of kapi-server.

/// What can go wrong while building or running a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot be completed.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A hook with this name is already registered.
    #[error("unable to add {kind} hook {name:?} because it was already registered")]
    DuplicateHook {
        /// "post-start" or "pre-shutdown".
        kind: &'static str,
        /// The hook's name.
        name: String,
    },
    /// A post-start hook failed; the server shut down.
    #[error("post-start hook {name:?} failed")]
    PostStartHook {
        /// The hook's name.
        name: String,
        /// What it returned.
        #[source]
        source: crate::hooks::HookError,
    },
    /// One or more pre-shutdown hooks failed.
    #[error("pre-shutdown hook {name:?} failed")]
    PreShutdownHook {
        /// The hook's name.
        name: String,
        /// What it returned.
        #[source]
        source: crate::hooks::HookError,
    },
    /// Serving failed to start.
    #[error(transparent)]
    Serving(#[from] kapi_serving::Error),
}

/// The result type of kapi-server.
pub type Result<T, E = Error> = std::result::Result<T, E>;
