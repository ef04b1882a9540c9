//! The failures of kapi's built-in health checks, and the error type every
//! check returns.

/// What a failing [`HealthChecker`](crate::HealthChecker) returns: any error.
///
/// Its `Display` text is what `/<root>/<check>` shows after
/// `internal server error: `, so keep it short and free of secrets.
pub type CheckError = Box<dyn std::error::Error + Send + Sync>;

/// A built-in check failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// [`LogHealthz`](crate::LogHealthz): no log flush completed within the threshold.
    #[error("logging blocked")]
    LoggingBlocked,
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
