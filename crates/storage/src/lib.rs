//! kapi's storage: one revisioned key-value interface with memory, SQLite
//! and etcd3 backends, Kubernetes' object semantics over it, a watch cache,
//! and the generic registry store.
//!
//! Mirrors `k8s.io/apiserver/pkg/storage` (the interface, etcd3, the cacher)
//! and `pkg/registry/generic/registry`.
//!
//! ## Features
//! - `testing`: the backend conformance suite, [`testing`].

mod backend;
mod error;
pub mod memory;
#[cfg(feature = "testing")]
pub mod testing;

pub use backend::{
    Backend, Event, KeyValue, RangeRequest, RangeResponse, TxnOutcome, WatchResponse,
    WatchStream, prefix_end,
};
pub use error::{Error, Result};
