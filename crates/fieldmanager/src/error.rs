//! The crate's error type for failures that are not HTTP responses by
//! themselves: unreadable FieldsV1, invalid managedFields entries and
//! schemas that cannot be turned into type information.

/// What went wrong outside of a request's outcome (which is always a
/// [`kapi_core::StatusError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A FieldsV1 trie could not be parsed.
    #[error("{message}")]
    FieldsV1 {
        /// Go's message.
        message: String,
    },
    /// A `metadata.managedFields` entry is invalid (Go: `DecodeManagedFields`).
    #[error("{message}")]
    ManagedFields {
        /// Go's message.
        message: String,
    },
    /// An OpenAPI schema could not be converted into type information.
    #[error("{message}")]
    Schema {
        /// What is wrong, one line per problem.
        message: String,
    },
}

impl Error {
    pub(crate) fn fields_v1(message: impl Into<String>) -> Self {
        Self::FieldsV1 {
            message: message.into(),
        }
    }

    pub(crate) fn managed_fields(message: impl Into<String>) -> Self {
        Self::ManagedFields {
            message: message.into(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
