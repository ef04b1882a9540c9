//! The errors of registering routes on a [`PathRecorderMux`](crate::PathRecorderMux).

/// A route could not be registered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A prefix route was registered without its trailing `/` (Go panics here).
    #[error("prefix {prefix:?} must end in a trailing slash")]
    PrefixWithoutTrailingSlash {
        /// The rejected prefix.
        prefix: String,
    },
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
