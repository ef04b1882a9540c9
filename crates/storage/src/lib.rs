//! kapi's storage: one revisioned key-value interface with memory, SQLite
//! and etcd3 backends, Kubernetes' object semantics over it, a watch cache,
//! and the generic registry store.
//!
//! Mirrors `k8s.io/apiserver/pkg/storage` (the interface, etcd3, the cacher)
//! and `pkg/registry/generic/registry`.
//!
//! ## Features
//! - `testing`: the backend conformance suite, `testing`, and a real etcd
//!   for tests, `etcd_harness`.
//! - `etcd`: the etcd3 backend, `etcd3` (building it needs `protoc`).
//! - `sqlite` (default): the durable SQLite backend, [`sqlite`].

mod backend;
mod cacher;
mod error;
#[cfg(feature = "etcd")]
pub mod etcd3;
#[cfg(feature = "testing")]
pub mod etcd_harness;
pub mod memory;
mod object;
pub mod registry;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod watch;

pub use backend::{
    Backend, Event, KeyValue, RangeRequest, RangeResponse, TxnOutcome, WatchResponse, WatchStream,
    prefix_end,
};
pub use cacher::{CacheStats, Cacher, CacherOptions};
pub use error::{Error, Result};
pub use object::Object;
pub use store::{
    AttrFunc, GetOptions, ListOptions, ObjectList, ObjectStore, Preconditions,
    ResourceVersionMatch, SelectionPredicate, Stats, parse_resource_version,
};
pub use watch::{ObjectWatch, WatchEvent};
