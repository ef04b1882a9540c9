//! Lifecycle signals: the fire-once events of a server's life, which hooks,
//! health checks and embedders can wait on.
//!
//! Mirrors `lifecycle_signals.go`.

use tokio_util::sync::CancellationToken;

/// A fire-once event. Cloning shares it.
#[derive(Debug, Clone)]
pub struct LifecycleSignal {
    name: &'static str,
    token: CancellationToken,
}

impl LifecycleSignal {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            token: CancellationToken::new(),
        }
    }

    /// The signal's name, as Go names it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Fires the signal; later calls do nothing.
    pub fn signal(&self) {
        if !self.token.is_cancelled() {
            tracing::debug!(signal = self.name, "lifecycle signal");
        }
        self.token.cancel();
    }

    /// Whether the signal has fired.
    pub fn is_signaled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once the signal has fired.
    pub async fn signaled(&self) {
        self.token.cancelled().await;
    }
}

/// Every lifecycle signal of one server, in the order they fire.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LifecycleSignals {
    /// Shutdown was requested (first signal or `run`'s token cancelled).
    pub shutdown_initiated: LifecycleSignal,
    /// The shutdown delay (`--shutdown-delay-duration`) has passed.
    pub after_shutdown_delay_duration: LifecycleSignal,
    /// Every pre-shutdown hook has returned.
    pub pre_shutdown_hooks_stopped: LifecycleSignal,
    /// The server no longer accepts new requests (the listener is closing).
    pub not_accepting_new_requests: LifecycleSignal,
    /// The listener is closed.
    pub http_server_stopped_listening: LifecycleSignal,
    /// In-flight requests have finished, or the shutdown timeout cut them.
    pub in_flight_requests_drained: LifecycleSignal,
    /// `/readyz` passed for the first time.
    pub has_been_ready: LifecycleSignal,
    /// Every route and discovery document is installed.
    pub mux_and_discovery_complete: LifecycleSignal,
}

impl LifecycleSignals {
    /// A fresh set of unfired signals.
    pub fn new() -> Self {
        Self {
            shutdown_initiated: LifecycleSignal::new("ShutdownInitiated"),
            after_shutdown_delay_duration: LifecycleSignal::new("AfterShutdownDelayDuration"),
            pre_shutdown_hooks_stopped: LifecycleSignal::new("PreShutdownHooksStopped"),
            not_accepting_new_requests: LifecycleSignal::new("NotAcceptingNewRequest"),
            http_server_stopped_listening: LifecycleSignal::new("HTTPServerStoppedListening"),
            in_flight_requests_drained: LifecycleSignal::new("InFlightRequestsDrained"),
            has_been_ready: LifecycleSignal::new("HasBeenReady"),
            mux_and_discovery_complete: LifecycleSignal::new("MuxAndDiscoveryComplete"),
        }
    }
}

impl Default for LifecycleSignals {
    fn default() -> Self {
        Self::new()
    }
}
