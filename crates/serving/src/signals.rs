//! Process termination signals: the first SIGTERM or SIGINT starts a graceful
//! shutdown, the second ends the process at once.
//!
//! Mirrors `k8s.io/apiserver/pkg/server/signal.go` and `signal_posix.go`
//! (`SetupSignalHandler`, `SetupSignalContext`, `RequestShutdown`). Where Go
//! panics when the handler is set up twice, this returns an error.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// Installs the SIGTERM and SIGINT handler and returns the token it cancels.
///
/// The first signal cancels the token; a second one exits the process with
/// status 1 without waiting for the graceful shutdown to finish. Must be
/// called within a tokio runtime and at most once per process: a second call
/// fails with [`Error::SignalHandlerInstalled`].
pub fn setup_signal_handler() -> Result<CancellationToken> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| Error::NoRuntime("setup_signal_handler"))?;
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return Err(Error::SignalHandlerInstalled);
    }
    let (mut terminate, mut interrupt) = match register(&runtime) {
        Ok(streams) => streams,
        Err(err) => {
            INSTALLED.store(false, Ordering::SeqCst);
            return Err(Error::InstallSignalHandler(err));
        }
    };
    let (requests, mut requested) = mpsc::unbounded_channel();
    // Only the call that flipped INSTALLED gets here, so the cell is empty.
    let _ = REQUESTS.set(requests);

    let token = CancellationToken::new();
    let shutdown = token.clone();
    runtime.spawn(async move {
        let mut received = 0u32;
        loop {
            let cause = tokio::select! {
                Some(()) = terminate.recv() => "SIGTERM",
                Some(()) = interrupt.recv() => "SIGINT",
                Some(()) = requested.recv() => "shutdown request",
                else => return,
            };
            received += 1;
            if received == 1 {
                tracing::info!(
                    cause,
                    "shutting down gracefully; a second signal exits at once"
                );
                shutdown.cancel();
            } else {
                tracing::warn!(cause, "second termination signal; exiting");
                std::process::exit(1);
            }
        }
    });
    Ok(token)
}

/// Starts the shutdown as if a signal had arrived: the first request (or
/// signal) cancels the handler's token, a second one exits the process with
/// status 1.
///
/// Returns `false` when [`setup_signal_handler`] was not called.
pub fn request_shutdown() -> bool {
    REQUESTS
        .get()
        .is_some_and(|requests| requests.send(()).is_ok())
}

/// Registers SIGTERM and SIGINT with the OS now, before
/// [`setup_signal_handler`] returns, so a signal that arrives right after the
/// call is already caught.
fn register(runtime: &tokio::runtime::Handle) -> std::io::Result<(Signal, Signal)> {
    // `signal` finds the runtime's signal driver through the current context.
    let _entered = runtime.enter();
    Ok((
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
    ))
}

/// Set by the first [`setup_signal_handler`] call.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Where [`request_shutdown`] injects its requests.
static REQUESTS: OnceLock<mpsc::UnboundedSender<()>> = OnceLock::new();
