//! [`LogHealthz`]: the `log` check, failing when logging has been blocked.
//!
//! Mirrors `healthz.LogHealthz`. Go flushes klog once a minute on a goroutine
//! and fails the check when the last completed flush is more than two minutes
//! old. kapi logs through `tracing`, whose usual writers end in the process's
//! stdout or stderr; here a background thread flushes those streams (taking
//! their locks, so a writer stuck on a full pipe holds the flush up too) and
//! stamps a heartbeat each time a flush completes.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::thread;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::request::Parts;

use crate::checker::HealthChecker;
use crate::error::{CheckError, Error};

/// How old the last completed flush may be before the check fails (Go: 2 minutes).
const DEFAULT_THRESHOLD: Duration = Duration::from_secs(120);

/// How often the background thread flushes (Go: every minute).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The check named `log`: fails with "logging blocked" when no log flush has
/// completed for more than two minutes (Go: `LogHealthz`).
///
/// Construction does nothing; the first [`check`](HealthChecker::check)
/// starts a background OS thread (not a tokio task, so no runtime is needed)
/// that flushes at once and then every minute. The thread holds only a weak
/// reference to the heartbeat and ends after the check is dropped.
///
/// The defaults flush stdout and stderr; a binary whose logs go elsewhere
/// (a file, a non-blocking appender) plugs its own flush in with
/// [`with_flush`](Self::with_flush).
pub struct LogHealthz {
    threshold: Duration,
    interval: Duration,
    clock: Arc<dyn Fn() -> Instant + Send + Sync>,
    flush: Arc<dyn Fn() + Send + Sync>,
    heartbeat: Arc<Heartbeat>,
}

impl LogHealthz {
    /// The check with Go's timings, flushing stdout and stderr.
    pub fn new() -> Self {
        Self {
            threshold: DEFAULT_THRESHOLD,
            interval: DEFAULT_INTERVAL,
            clock: Arc::new(Instant::now),
            flush: Arc::new(flush_standard_streams),
            heartbeat: Arc::new(Heartbeat::default()),
        }
    }

    /// Fails the check when the last completed flush is older than `threshold`.
    pub fn with_threshold(mut self, threshold: Duration) -> Self {
        self.threshold = threshold;
        self
    }

    /// Flushes every `interval` instead of every minute.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Reads the time from `clock` instead of [`Instant::now`] (for tests).
    pub fn with_clock(mut self, clock: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Runs `flush` on the background thread instead of flushing stdout and
    /// stderr. It may block; the check fails while it does.
    pub fn with_flush(mut self, flush: impl Fn() + Send + Sync + 'static) -> Self {
        self.flush = Arc::new(flush);
        self
    }

    /// Starts the flushing thread once; returns the time the check started.
    fn start(&self) -> Instant {
        let mut first = false;
        let started = *self.heartbeat.started.get_or_init(|| {
            first = true;
            (self.clock)()
        });
        if first {
            // Spawned once `started` is set, so the first flush is recorded.
            let heartbeat = Arc::downgrade(&self.heartbeat);
            let (flush, clock, interval) = (
                Arc::clone(&self.flush),
                Arc::clone(&self.clock),
                self.interval,
            );
            let spawned = thread::Builder::new()
                .name("log-healthz".to_owned())
                .spawn(move || flush_forever(&heartbeat, &*flush, &*clock, interval));
            if let Err(err) = spawned {
                // Without the thread no flush is ever recorded, so the check
                // fails once the threshold passes: the honest answer.
                tracing::error!(error = %err, "cannot start the log flush thread");
            }
        }
        started
    }
}

impl Default for LogHealthz {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for LogHealthz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogHealthz")
            .field("threshold", &self.threshold)
            .field("interval", &self.interval)
            .field("started", &self.heartbeat.started.get().is_some())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl HealthChecker for LogHealthz {
    fn name(&self) -> &str {
        "log"
    }

    async fn check(&self, _request: &Parts) -> Result<(), CheckError> {
        let started = self.start();
        let last_flush = started + self.heartbeat.since_start();
        if (self.clock)().saturating_duration_since(last_flush) < self.threshold {
            Ok(())
        } else {
            Err(Error::LoggingBlocked.into())
        }
    }
}

/// When the last flush completed, as an offset from the check's start: one
/// atomic word, cheap to stamp and to read.
#[derive(Default)]
struct Heartbeat {
    started: OnceLock<Instant>,
    last_flush_nanos: AtomicU64,
}

impl Heartbeat {
    fn since_start(&self) -> Duration {
        Duration::from_nanos(self.last_flush_nanos.load(Ordering::Acquire))
    }

    fn record(&self, now: Instant) {
        let Some(started) = self.started.get() else {
            return;
        };
        let nanos =
            u64::try_from(now.saturating_duration_since(*started).as_nanos()).unwrap_or(u64::MAX);
        self.last_flush_nanos.fetch_max(nanos, Ordering::AcqRel);
    }
}

/// The background loop: flush, stamp, sleep; until the check is dropped.
fn flush_forever(
    heartbeat: &Weak<Heartbeat>,
    flush: &(dyn Fn() + Send + Sync),
    clock: &(dyn Fn() -> Instant + Send + Sync),
    interval: Duration,
) {
    loop {
        if heartbeat.strong_count() == 0 {
            return;
        }
        flush();
        match heartbeat.upgrade() {
            Some(heartbeat) => heartbeat.record(clock()),
            None => return,
        }
        thread::sleep(interval);
    }
}

fn flush_standard_streams() {
    // A failed flush (a closed stream) is not "blocked": the stamp still moves.
    let _ = std::io::stdout().lock().flush();
    let _ = std::io::stderr().lock().flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc;

    /// A clock that moves only when told to.
    #[derive(Clone)]
    struct FakeClock {
        base: Instant,
        offset: Arc<Mutex<Duration>>,
    }

    impl FakeClock {
        fn new() -> Self {
            Self {
                base: Instant::now(),
                offset: Arc::default(),
            }
        }
        fn now(&self) -> Instant {
            self.base + *self.offset.lock().unwrap()
        }
        fn advance(&self, by: Duration) {
            *self.offset.lock().unwrap() += by;
        }
    }

    fn request() -> Parts {
        http::Request::new(()).into_parts().0
    }

    async fn passes(check: &LogHealthz) -> bool {
        check.check(&request()).await.is_ok()
    }

    /// Polls `condition` every few milliseconds for at most five seconds.
    async fn eventually(mut condition: impl AsyncFnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if condition().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        false
    }

    #[tokio::test]
    async fn fails_while_a_flush_is_blocked_and_recovers_after_it() {
        let clock = FakeClock::new();
        let (permit, permits) = mpsc::channel::<()>();
        let permits = Mutex::new(permits);
        let check = LogHealthz::new()
            .with_interval(Duration::from_secs(3600))
            .with_clock({
                let clock = clock.clone();
                move || clock.now()
            })
            .with_flush(move || {
                // Blocks until the test hands out a permit.
                let _ = permits.lock().unwrap().recv();
            });

        assert!(passes(&check).await, "a fresh check passes");
        clock.advance(Duration::from_secs(119));
        assert!(passes(&check).await, "119 s without a flush is fine");
        clock.advance(Duration::from_secs(2));
        let err = check.check(&request()).await.unwrap_err();
        assert_eq!(err.to_string(), "logging blocked");

        permit.send(()).unwrap();
        assert!(eventually(async || passes(&check).await).await);
    }

    #[tokio::test]
    async fn threshold_is_configurable() {
        let clock = FakeClock::new();
        // The flush never completes while `_hold` lives, so only the clock moves.
        let (_hold, blocked) = mpsc::channel::<()>();
        let blocked = Mutex::new(blocked);
        let check = LogHealthz::new()
            .with_threshold(Duration::from_secs(10))
            .with_interval(Duration::from_secs(3600))
            .with_clock({
                let clock = clock.clone();
                move || clock.now()
            })
            .with_flush(move || {
                let _ = blocked.lock().unwrap().recv();
            });
        assert!(passes(&check).await);
        clock.advance(Duration::from_secs(9));
        assert!(passes(&check).await);
        clock.advance(Duration::from_secs(2));
        assert!(!passes(&check).await);
    }

    #[tokio::test]
    async fn flushes_periodically_and_stops_when_dropped() {
        let flushes = Arc::new(AtomicUsize::new(0));
        let check = LogHealthz::new()
            .with_interval(Duration::from_millis(1))
            .with_flush({
                let flushes = Arc::clone(&flushes);
                move || {
                    flushes.fetch_add(1, Ordering::SeqCst);
                }
            });
        assert_eq!(
            flushes.load(Ordering::SeqCst),
            0,
            "nothing runs before the first check"
        );
        assert!(passes(&check).await);
        assert!(eventually(async || flushes.load(Ordering::SeqCst) >= 3).await);

        drop(check);
        thread::sleep(Duration::from_millis(20));
        let after_drop = flushes.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(20));
        assert_eq!(flushes.load(Ordering::SeqCst), after_drop);
    }

    #[tokio::test]
    async fn default_check_passes_and_is_named_log() {
        let check = LogHealthz::default();
        assert_eq!(check.name(), "log");
        assert!(passes(&check).await);
    }
}
