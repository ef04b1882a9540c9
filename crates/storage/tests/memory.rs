//! Runs the backend conformance suite against the memory backend, one test
//! per check.

use std::sync::Arc;

use kapi_storage::Backend;
use kapi_storage::memory::{MemoryBackend, MemoryOptions};
use kapi_storage::testing::PROGRESS_INTERVAL;

async fn make() -> Arc<dyn Backend> {
    let options = MemoryOptions::default().with_progress_interval(PROGRESS_INTERVAL);
    Arc::new(MemoryBackend::with_options(options))
}

kapi_storage::conformance_tests!(make);

/// `run_all` runs the same checks in sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_in_sequence() {
    kapi_storage::testing::run_all(|| Box::pin(make())).await;
}

/// A tiny per-watch buffer forces every watch through the lag/catch-up path;
/// the suite's watch checks must still pass.
mod small_buffers {
    use super::*;

    async fn make() -> Arc<dyn Backend> {
        let options = MemoryOptions::default()
            .with_progress_interval(PROGRESS_INTERVAL)
            .with_watch_buffer(1);
        Arc::new(MemoryBackend::with_options(options))
    }

    kapi_storage::conformance_tests!(make);
}
