//! CustomResourceDefinitions and the custom resources they define.
//!
//! Mirrors `k8s.io/apiextensions-apiserver`: the CRD strategy and its
//! validation (`pkg/registry/customresourcedefinition`,
//! `pkg/apis/apiextensions/validation`), structural schemas with their
//! validation, defaulting and pruning (`pkg/apiserver/schema`), the custom
//! resource strategy, printer columns and scale
//! (`pkg/registry/customresource`), and the naming, establishing and
//! terminating conditions (`pkg/controller/status`,
//! `pkg/controller/establish`, `pkg/controller/finalizer`).
//!
//! ```
//! use kapi_apiextensions::{CrdStrategy, served_versions};
//! use kapi_storage::registry::Strategy;
//! use serde_json::json;
//!
//! let mut crd = json!({
//!     "apiVersion": "apiextensions.k8s.io/v1",
//!     "kind": "CustomResourceDefinition",
//!     "metadata": {"name": "crontabs.stable.example.com"},
//!     "spec": {
//!         "group": "stable.example.com",
//!         "scope": "Namespaced",
//!         "names": {"plural": "crontabs", "kind": "CronTab"},
//!         "versions": [{
//!             "name": "v1", "served": true, "storage": true,
//!             "schema": {"openAPIV3Schema": {"type": "object"}},
//!         }],
//!     },
//! });
//! CrdStrategy.prepare_for_create(&mut crd);
//! assert!(CrdStrategy.validate(&crd).is_empty());
//! assert_eq!(crd["spec"]["names"]["listKind"], "CronTabList");
//! // Served under its accepted names, once the naming controller ran.
//! let named = kapi_apiextensions::naming_update(&crd, &[], jiff::Timestamp::now()).unwrap();
//! let versions = served_versions(&named).unwrap();
//! assert_eq!(versions[0].group_version(), "stable.example.com/v1");
//! ```
//!
//! This crate has no features.

mod definition;
mod gofmt;
mod jsonpath;
mod resource;
mod scale;
pub mod schema;
mod table;

pub use definition::status::{
    CUSTOM_RESOURCE_CLEANUP_FINALIZER, CrdCondition, ESTABLISHED, NAMES_ACCEPTED, NamingResult,
    TERMINATING, calculate_names_and_conditions, crd_accepts_requests, crd_has_finalizer,
    establishing_update, find_crd_condition, forbid_create_while_terminating,
    is_crd_condition_true, is_crd_terminating, mark_crd_for_deletion, naming_update,
    remove_crd_condition, remove_crd_finalizer, set_crd_condition,
};
pub use definition::strategy::{CrdStatusStrategy, CrdStrategy};
pub use definition::{
    CrdVersion, GROUP, PrinterColumn, ScaleSpec, compare_kube_aware_versions, crd_versions,
    served_versions,
};
pub use resource::{
    CustomResourceStatusStrategy, CustomResourceStrategy, strict_decoding_error,
    unknown_field_warnings,
};
pub use table::CustomResourceTable;
