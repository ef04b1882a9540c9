//! Namespaces: their strategies (main resource, `status`, `finalize`), the
//! `NamespaceLifecycle` admission plugin, and the namespace controller that
//! empties a deleted namespace and then lets it go.
//!
//! Mirrors `pkg/registry/core/namespace` (strategy and the REST's
//! `Delete`: a namespace with `spec.finalizers` is only marked
//! `Terminating`), `plugin/pkg/admission/namespace/lifecycle` and, from
//! kube-controller-manager, `pkg/controller/namespace`: kapi has no
//! controller manager, so the server runs this controller itself.
//!
//! Deliberate differences from Go: the controller deletes each resource's
//! objects with one delete-collection per resource and does not write the
//! `NamespaceDeletion*` / `NamespaceContentRemaining` conditions; the
//! admission plugin reads namespaces through the store (watch cache) rather
//! than an informer, so it needs no "not yet ready" refusal.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kapi_core::StatusError;
use kapi_core::field::{Error, ErrorList, Path};
use kapi_core::validation::{self, NameValidator};
use kapi_endpoints::admission::{AdmissionPlugin, Attributes, Operation};
use kapi_storage::registry::{DeleteOptions, RequestContext, Store, Strategy, UpdateOptions};
use kapi_storage::{GetOptions, ListOptions};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The finalizer kube-apiserver puts in every namespace's `spec.finalizers`
/// (Go: `FinalizerKubernetes`).
pub(crate) const FINALIZER_KUBERNETES: &str = "kubernetes";

/// Namespaces that may never be deleted (Go: the lifecycle plugin's
/// immortal namespaces).
const IMMORTAL: [&str; 3] = ["default", "kube-system", "kube-public"];

/// Namespaces (Go: `namespace.namespaceStrategy`): cluster-scoped,
/// DNS-1123 label names; created `Active` with the `kubernetes`
/// finalizer; updates keep `spec.finalizers` and `status` (those change
/// through `finalize` and `status`); a delete only marks a namespace with
/// finalizers `Terminating`.
#[derive(Debug)]
pub(crate) struct NamespaceStrategy;

impl Strategy for NamespaceStrategy {
    fn namespace_scoped(&self) -> bool {
        false
    }

    fn allow_create_on_update(&self) -> bool {
        false
    }

    fn allow_unconditional_update(&self) -> bool {
        true
    }

    fn prepare_for_create(&self, object: &mut Value) {
        let Value::Object(map) = object else {
            return;
        };
        map.insert("status".to_owned(), json!({"phase": "Active"}));
        let spec = map
            .entry("spec")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        if let Some(spec) = spec {
            let finalizers = spec
                .entry("finalizers")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = finalizers {
                if !list.iter().any(|f| f == FINALIZER_KUBERNETES) {
                    list.push(Value::from(FINALIZER_KUBERNETES));
                }
            } else {
                *finalizers = json!([FINALIZER_KUBERNETES]);
            }
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        set(new, "status", old["status"].clone());
        let finalizers = old["spec"]["finalizers"].clone();
        set_spec_finalizers(new, finalizers);
    }

    fn name_validator(&self) -> NameValidator {
        validation::name_is_dns_label
    }

    fn validate(&self, object: &Value) -> ErrorList {
        let mut errs = super::meta_errors(object, false, validation::name_is_dns_label);
        errs.extend(validate_finalizers(object));
        errs
    }

    fn blocks_deletion(&self, object: &Value) -> bool {
        object["spec"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    }

    fn prepare_for_deletion(&self, object: &mut Value) {
        if let Some(status) = object.get_mut("status").and_then(Value::as_object_mut) {
            status.insert("phase".to_owned(), Value::from("Terminating"));
        } else {
            set(object, "status", json!({"phase": "Terminating"}));
        }
    }
}

/// `namespaces/status` (Go: `namespaceStatusStrategy`): only the status
/// changes.
#[derive(Debug)]
pub(crate) struct NamespaceStatusStrategy;

impl Strategy for NamespaceStatusStrategy {
    fn namespace_scoped(&self) -> bool {
        false
    }

    fn allow_create_on_update(&self) -> bool {
        false
    }

    fn allow_unconditional_update(&self) -> bool {
        true
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        set(new, "spec", old["spec"].clone());
    }

    fn name_validator(&self) -> NameValidator {
        validation::name_is_dns_label
    }

    fn blocks_deletion(&self, object: &Value) -> bool {
        NamespaceStrategy.blocks_deletion(object)
    }
}

/// `namespaces/finalize` (Go: `namespaceFinalizeStrategy`): only
/// `spec.finalizers` changes; clearing the last one of a deleting
/// namespace deletes it.
#[derive(Debug)]
pub(crate) struct NamespaceFinalizeStrategy;

impl Strategy for NamespaceFinalizeStrategy {
    fn namespace_scoped(&self) -> bool {
        false
    }

    fn allow_create_on_update(&self) -> bool {
        false
    }

    fn allow_unconditional_update(&self) -> bool {
        true
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        let finalizers = new["spec"]["finalizers"].clone();
        let mut updated = old.clone();
        set_spec_finalizers(&mut updated, finalizers);
        if let Some(version) = new["metadata"].get("resourceVersion").cloned()
            && let Some(meta) = updated.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.insert("resourceVersion".to_owned(), version);
        }
        *new = updated;
    }

    fn name_validator(&self) -> NameValidator {
        validation::name_is_dns_label
    }

    fn validate_update(&self, new: &Value, _old: &Value) -> ErrorList {
        validate_finalizers(new)
    }

    fn blocks_deletion(&self, object: &Value) -> bool {
        NamespaceStrategy.blocks_deletion(object)
    }
}

/// Go's `validateFinalizerName` over `spec.finalizers`: qualified names,
/// and a bare name only when it is a standard finalizer (`kubernetes`).
fn validate_finalizers(object: &Value) -> ErrorList {
    let path = Path::new("spec").child("finalizers");
    let mut errs = ErrorList::new();
    for (index, finalizer) in object["spec"]["finalizers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let name = finalizer.as_str().unwrap_or_default();
        let item = path.index(index);
        for message in validation::is_qualified_name(name) {
            errs.push(Error::invalid(&item, name, message));
        }
        if errs.is_empty() && !name.contains('/') && name != FINALIZER_KUBERNETES {
            errs.push(Error::invalid(
                &item,
                name,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    errs
}

fn set(object: &mut Value, field: &str, value: Value) {
    if let Value::Object(map) = object {
        if value.is_null() {
            map.remove(field);
        } else {
            map.insert(field.to_owned(), value);
        }
    }
}

fn set_spec_finalizers(object: &mut Value, finalizers: Value) {
    let Value::Object(map) = object else {
        return;
    };
    let spec = map.entry("spec").or_insert_with(|| json!({}));
    if let Value::Object(spec) = spec {
        if finalizers.is_null() {
            spec.remove("finalizers");
        } else {
            spec.insert("finalizers".to_owned(), finalizers);
        }
    }
}

/// The stores of every namespaced resource, whose objects the controller
/// deletes with their namespace; custom resources join and leave as their
/// definitions do.
#[derive(Debug, Clone, Default)]
pub struct NamespacedContent {
    stores: Arc<Mutex<BTreeMap<String, Arc<Store>>>>,
}

impl NamespacedContent {
    /// Adds (or replaces) the store of `resource` (`configmaps`,
    /// `crontabs.stable.example.com`).
    pub fn add(&self, resource: &str, store: Arc<Store>) {
        self.lock().insert(resource.to_owned(), store);
    }

    /// Removes the store of `resource`.
    pub fn remove(&self, resource: &str) {
        self.lock().remove(resource);
    }

    fn stores(&self) -> Vec<Arc<Store>> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<Store>>> {
        self.stores.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `NamespaceLifecycle`: no new objects in a namespace that is missing
/// (404) or terminating (403), and the immortal namespaces cannot be
/// deleted.
#[derive(Debug)]
pub(crate) struct NamespaceLifecycle {
    pub(crate) namespaces: Arc<Store>,
}

#[async_trait::async_trait]
impl AdmissionPlugin for NamespaceLifecycle {
    fn name(&self) -> &str {
        "NamespaceLifecycle"
    }

    fn handles(&self, operation: Operation) -> bool {
        matches!(operation, Operation::Create | Operation::Delete)
    }

    async fn admit(&self, attributes: &Attributes) -> Result<(), StatusError> {
        let is_namespace = attributes.group.is_empty() && attributes.resource == "namespaces";
        if attributes.operation == Operation::Delete {
            if is_namespace
                && attributes.subresource.is_empty()
                && IMMORTAL.contains(&attributes.name.as_str())
            {
                return Err(attributes.forbidden("this namespace may not be deleted"));
            }
            return Ok(());
        }
        if attributes.namespace.is_empty() || is_namespace {
            return Ok(());
        }
        let namespace = &attributes.namespace;
        let found = self
            .namespaces
            .get(
                &RequestContext::cluster(),
                namespace,
                &GetOptions::default(),
            )
            .await;
        let namespace_object = match found {
            Ok(object) => object,
            Err(err) if err.reason() == kapi_core::StatusReason::NotFound => {
                return Err(StatusError::not_found("namespaces", namespace));
            }
            Err(err) => return Err(err),
        };
        if namespace_object["status"]["phase"] == "Terminating" {
            return Err(attributes
                .forbidden(format!(
                    "unable to create new content in namespace {namespace} because it is being terminated"
                ))
                .with_field_cause(
                    "NamespaceTerminating",
                    format!("namespace {namespace} is being terminated"),
                    "metadata.namespace",
                ));
        }
        Ok(())
    }
}

/// The namespace controller: for each namespace marked for deletion that
/// still has the `kubernetes` finalizer, deletes everything in it, then
/// removes the finalizer through `finalize`, which deletes the namespace.
#[derive(Debug, Clone)]
pub(crate) struct NamespaceController {
    pub(crate) namespaces: Arc<Store>,
    pub(crate) finalize: Arc<Store>,
    pub(crate) content: NamespacedContent,
}

impl NamespaceController {
    /// Runs until `stop`, handling the deleting namespaces after each
    /// change of any namespace.
    pub(crate) async fn run(self, stop: CancellationToken) {
        let namespaces = self.namespaces.clone();
        crate::controller::run("namespace", namespaces, stop, |list| {
            let this = self.clone();
            async move { this.sync_all(&list).await }
        })
        .await;
    }

    /// Handles every deleting namespace once; returns whether one still
    /// waits for its content.
    async fn sync_all(&self, namespaces: &[Value]) -> bool {
        let mut pending = false;
        for namespace in namespaces.iter().filter(|ns| deleting(ns)) {
            let name = namespace["metadata"]["name"].as_str().unwrap_or_default();
            match self.sync(name).await {
                Ok(done) => pending |= !done,
                Err(err) => {
                    tracing::warn!(namespace = name, error = %err.message(), "namespace controller");
                    pending = true;
                }
            }
        }
        pending
    }

    /// Deletes the content of `namespace`; once none is left, removes the
    /// `kubernetes` finalizer. Returns whether the namespace is done.
    async fn sync(&self, namespace: &str) -> Result<bool, StatusError> {
        let ctx = RequestContext::new(namespace);
        let mut remaining = 0;
        for store in self.content.stores() {
            let deleted = store
                .delete_collection(&ctx, &DeleteOptions::default(), &ListOptions::default())
                .await?;
            let left = store.list(&ctx, &ListOptions::default()).await?;
            if !left.items.is_empty() {
                tracing::debug!(
                    namespace,
                    resource = %store.qualified_resource(),
                    deleted = deleted.items.len(),
                    left = left.items.len(),
                    "namespace content is waiting for finalizers"
                );
            }
            remaining += left.items.len();
        }
        if remaining > 0 {
            return Ok(false);
        }
        let result = self
            .finalize
            .update(
                &RequestContext::cluster(),
                namespace,
                |existing| {
                    let mut object =
                        existing.ok_or_else(|| StatusError::not_found("namespaces", namespace))?;
                    let finalizers: Vec<Value> = object["spec"]["finalizers"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                        .iter()
                        .filter(|f| *f != FINALIZER_KUBERNETES)
                        .cloned()
                        .collect();
                    set_spec_finalizers(&mut object, Value::Array(finalizers));
                    Ok(object)
                },
                &UpdateOptions::default(),
            )
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if err.reason() == kapi_core::StatusReason::NotFound => Ok(true),
            Err(err) => Err(err),
        }
    }
}

/// Whether `namespace` is marked for deletion and still carries the
/// `kubernetes` finalizer.
fn deleting(namespace: &Value) -> bool {
    !namespace["metadata"]["deletionTimestamp"].is_null()
        && namespace["spec"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == FINALIZER_KUBERNETES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_start_active_with_the_kubernetes_finalizer() {
        let check = |mut object: Value, finalizers: Value| {
            NamespaceStrategy.prepare_for_create(&mut object);
            assert_eq!(object["status"], json!({"phase": "Active"}));
            assert_eq!(object["spec"]["finalizers"], finalizers);
        };
        check(
            json!({"metadata": {"name": "a"}, "status": {"phase": "Terminating"}}),
            json!(["kubernetes"]),
        );
        check(
            json!({"metadata": {"name": "a"}, "spec": {"finalizers": ["example.com/x"]}}),
            json!(["example.com/x", "kubernetes"]),
        );
        check(
            json!({"metadata": {"name": "a"}, "spec": {"finalizers": ["kubernetes"]}}),
            json!(["kubernetes"]),
        );
    }

    #[test]
    fn updates_keep_status_and_finalizers_and_finalize_takes_only_finalizers() {
        let old = json!({"metadata": {"name": "a", "resourceVersion": "5"},
                         "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
        let mut new = json!({"metadata": {"name": "a", "labels": {"x": "y"}},
                             "spec": {"finalizers": []}, "status": {"phase": "Terminating"}});
        NamespaceStrategy.prepare_for_update(&mut new, &old);
        assert_eq!(new["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(new["status"]["phase"], "Active");
        assert_eq!(new["metadata"]["labels"]["x"], "y");

        let mut finalize = json!({"metadata": {"name": "a", "labels": {"x": "y"}, "resourceVersion": "5"},
                                  "spec": {"finalizers": []}, "status": {"phase": "Gone"}});
        NamespaceFinalizeStrategy.prepare_for_update(&mut finalize, &old);
        assert_eq!(finalize["spec"]["finalizers"], json!([]));
        assert_eq!(finalize["status"]["phase"], "Active");
        assert!(finalize["metadata"]["labels"].is_null());

        let mut status = json!({"metadata": {"name": "a"}, "spec": {"finalizers": []},
                                "status": {"phase": "Terminating"}});
        NamespaceStatusStrategy.prepare_for_update(&mut status, &old);
        assert_eq!(status["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(status["status"]["phase"], "Terminating");
    }

    #[test]
    fn deletion_marks_terminating_while_finalizers_remain() {
        let mut object = json!({"metadata": {"name": "a"}, "spec": {"finalizers": ["kubernetes"]},
                                "status": {"phase": "Active"}});
        assert!(NamespaceStrategy.blocks_deletion(&object));
        NamespaceStrategy.prepare_for_deletion(&mut object);
        assert_eq!(object["status"]["phase"], "Terminating");
        assert!(!NamespaceStrategy.blocks_deletion(&json!({"spec": {"finalizers": []}})));
    }

    #[test]
    fn finalizer_names() {
        let messages = |finalizers: Value| -> Vec<String> {
            validate_finalizers(&json!({"spec": {"finalizers": finalizers}}))
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert!(messages(json!(["kubernetes", "example.com/cleanup"])).is_empty());
        assert_eq!(
            messages(json!(["cleanup"])),
            [
                "spec.finalizers[0]: Invalid value: \"cleanup\": name is neither a standard finalizer name nor is it fully qualified"
            ]
        );
    }
}
