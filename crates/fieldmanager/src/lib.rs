//! Server-side apply and `metadata.managedFields`, as kube-apiserver does
//! them.
//!
//! Mirrors `sigs.k8s.io/structured-merge-diff/v6` (field paths and sets,
//! typed merge and comparison, the update/apply ownership engine, conflicts)
//! and `k8s.io/apimachinery/pkg/util/managedfields` with its `internal`
//! managers (`FieldManager`, managedFields encoding, the update managers
//! cap, "before-first-apply", the last-applied annotation, stripped
//! metadata), plus the request helpers of
//! `k8s.io/apiserver/pkg/endpoints/handlers` (manager names).
//!
//! Objects are whole Kubernetes objects as `serde_json::Value`; type
//! information comes from OpenAPI v3 schemas ([`TypeSchema`]); time is a
//! parameter so results are reproducible.
//!
//! ```
//! use kapi_fieldmanager::{FieldManager, TypeSchema};
//! use serde_json::json;
//!
//! let schema = TypeSchema::inline(json!({
//!     "type": "object",
//!     "properties": {
//!         "apiVersion": {"type": "string"},
//!         "kind": {"type": "string"},
//!         "metadata": {"type": "object"},
//!         "data": {"type": "object", "additionalProperties": {"type": "string"}}
//!     }
//! }));
//! let manager = FieldManager::new(&schema, "v1", "ConfigMap").unwrap();
//! let now = "2024-05-01T10:00:00Z".parse().unwrap();
//!
//! let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "cm"}, "data": {"a": "1"}});
//! let created = manager.apply(None, &config, "alice", false, "", now).unwrap();
//! assert_eq!(created["metadata"]["managedFields"][0]["fieldsV1"], json!({"f:data": {"f:a": {}}}));
//!
//! // Another applier setting the same key to another value conflicts.
//! let other = json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "cm"}, "data": {"a": "2"}});
//! let err = manager.apply(Some(&created), &other, "bob", false, "", now).unwrap_err();
//! assert_eq!(err.message(), r#"Apply failed with 1 conflict: conflict with "alice": .data.a"#);
//! ```
//!
//! This crate has no features.

mod conflict;
mod error;
mod fieldsv1;
mod lastapplied;
mod managed;
mod manager;
mod options;
mod path;
mod schema;
mod set;
mod timestamps;
mod typed;
mod updater;
mod value;

pub use conflict::{Conflict, Conflicts};
pub use error::{Error, Result};
pub use lastapplied::LAST_APPLIED_CONFIG_ANNOTATION;
pub use managed::{ManagedFieldsEntry, Operation, decode_managed_fields, encode_managed_fields};
pub use manager::{
    ANCIENT_CHANGES_MANAGER, BEFORE_FIRST_APPLY_MANAGER, DEFAULT_MAX_UPDATE_MANAGERS, FieldManager,
    stripped_fields,
};
pub use options::{
    FIELD_MANAGER_MAX_LENGTH, default_manager_from_user_agent, manager_or_user_agent,
    validate_manager_name,
};
pub use path::{Path, PathElement};
pub use schema::TypeSchema;
pub use set::FieldSet;
pub use timestamps::ignore_managed_fields_timestamps;
