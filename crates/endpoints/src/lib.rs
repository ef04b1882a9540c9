//! The REST endpoints of one resource: get, list, watch, create, update,
//! patch, delete and deletecollection over a registry
//! [`Store`](kapi_storage::registry::Store).
//!
//! Mirrors `k8s.io/apiserver/pkg/endpoints/handlers` (`get.go`, `create.go`,
//! `update.go`, `patch.go`, `delete.go`, `watch.go`, `rest.go`,
//! `response.go`): the query parameters, body limits, content negotiation,
//! watch framing, status codes and messages of kube-apiserver.
//!
//! ```
//! use std::sync::Arc;
//!
//! use kapi_endpoints::{ResourceHandler, ResourceInfo};
//! use kapi_storage::memory::MemoryBackend;
//! use kapi_storage::registry::{Store, Strategy};
//! use kapi_storage::ObjectStore;
//!
//! #[derive(Debug)]
//! struct ConfigMaps;
//!
//! impl Strategy for ConfigMaps {
//!     fn namespace_scoped(&self) -> bool { true }
//!     fn allow_create_on_update(&self) -> bool { false }
//!     fn allow_unconditional_update(&self) -> bool { true }
//! }
//!
//! let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
//! let store = Store::new(storage, "", "configmaps", "ConfigMap", Arc::new(ConfigMaps));
//! let info = ResourceInfo::new("", "v1", "configmaps", "ConfigMap", true);
//! let handler = ResourceHandler::new(info, Arc::new(store));
//! # let _ = handler;
//! ```
//!
//! Deliberate differences from Go, for now:
//! - duplicate fields in a JSON body are not detected (the last one
//!   wins, as Go keeps it, but no `duplicate field` warning or error);
//! - server-side apply and `managedFields` need a field manager in the
//!   resource's [`ResourceInfo`]; without one, apply patches are 415 (the
//!   strategic merge patch needs the kind's metadata in
//!   `strategic/table.rs`; custom resources get 415 for it, as in Go);
//! - a table watch's bookmark is a `Table` without rows or columns;
//! - admission validates only (see [`admission`]); no audit.
//!
//! This crate has no features.

pub mod admission;
mod body;
mod handler;
mod info;
mod options;
mod patch;
mod protobuf;
mod response;
mod strategic;
mod table;
mod watch;
mod write;

pub use handler::{MAX_REQUEST_BODY_BYTES, ResourceEndpoint, ResourceHandler};
pub use info::{Converter, ResourceInfo};
pub use table::{ColumnDefinition, TableConvertor, age, since};
pub use write::{ObjectDecoder, remove_field_path};
