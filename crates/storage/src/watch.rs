//! The events of an object watch.

use std::pin::Pin;

use futures::Stream;

use crate::error::Result;
use crate::object::Object;

/// One event of an object watch (Go: `watch.Event`).
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// The object appeared (or entered the selection).
    Added(Object),
    /// The object changed.
    Modified(Object),
    /// The object was deleted (or left the selection); its resourceVersion
    /// is that of the delete.
    Deleted(Object),
    /// Every event up to `resource_version` has been delivered.
    Bookmark {
        /// The revision reached.
        resource_version: i64,
        /// This bookmark closes the initial events of a watch with
        /// `sendInitialEvents=true` (annotated
        /// `k8s.io/initial-events-end: "true"` on the wire).
        initial_events_end: bool,
    },
}

/// A stream of watch events; an `Err` item ends it (410 Expired when the
/// watcher fell behind compaction). Dropping it stops the watch.
pub type ObjectWatch = Pin<Box<dyn Stream<Item = Result<WatchEvent>> + Send + 'static>>;
