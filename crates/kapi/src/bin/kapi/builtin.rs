//! The built-in resources of `kapi serve`: the core/v1 `configmaps` and
//! `namespaces` strategies, their stores and their installation under
//! `/api`, and the post-start hook that creates the `default` namespace.
//!
//! Mirrors the configmap and namespace strategies of
//! `k8s.io/kubernetes/pkg/registry/core/{configmap,namespace}` and the part
//! of kube-apiserver's `bootstrap-controller` that ensures the `default`
//! namespace.

use std::sync::Arc;

use kapi_config::StorageOptions;
use kapi_core::StatusReason;
use kapi_core::validation::{self, NameValidator};
use kapi_endpoints::ResourceInfo;
use kapi_server::{GenericApiServer, HookError, new_default_api_group_info};
use kapi_storage::registry::{CreateOptions, RequestContext, Store, Strategy};
use kapi_storage::{Backend, CacherOptions, ObjectStore};
use serde_json::{Value, json};

/// The name of the post-start hook that creates the `default` namespace.
const DEFAULT_NAMESPACE_HOOK: &str = "create-default-namespace";

/// Installs core/v1 `configmaps` and `namespaces` on `server`, and the hook
/// that creates the `default` namespace.
pub(crate) fn install(
    server: &GenericApiServer,
    backend: Arc<dyn Backend>,
    storage: &StorageOptions,
) -> anyhow::Result<()> {
    let objects = ObjectStore::new(backend, &storage.etcd_prefix);
    let store = |resource: &str, kind: &str, strategy: Arc<dyn Strategy>| {
        let store = Store::new(objects.clone(), "", resource, kind, strategy);
        Arc::new(if storage.watch_cache {
            store.with_watch_cache(CacherOptions::default())
        } else {
            store
        })
    };
    let configmaps = store("configmaps", "ConfigMap", Arc::new(ConfigMapStrategy));
    let namespaces = store("namespaces", "Namespace", Arc::new(NamespaceStrategy));

    let mut core = new_default_api_group_info("");
    core.add_resource(
        "v1",
        ResourceInfo::new("", "v1", "configmaps", "ConfigMap", true),
        configmaps,
    )
    .short_names = vec!["cm".to_owned()];
    core.add_resource(
        "v1",
        ResourceInfo::new("", "v1", "namespaces", "Namespace", false),
        namespaces.clone(),
    )
    .short_names = vec!["ns".to_owned()];
    server.install_legacy_api_group(kapi_server::API_PREFIX, core)?;

    server.add_post_start_hook(DEFAULT_NAMESPACE_HOOK, move |_ctx| async move {
        create_default_namespace(&namespaces).await
    })?;
    Ok(())
}

/// Creates the `default` namespace unless it exists.
async fn create_default_namespace(namespaces: &Store) -> Result<(), HookError> {
    let namespace = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "default"},
    });
    match namespaces
        .create(
            &RequestContext::cluster(),
            namespace,
            &CreateOptions::default(),
        )
        .await
    {
        Ok(_) => {
            tracing::info!("created the default namespace");
            Ok(())
        }
        Err(err) if err.reason() == StatusReason::AlreadyExists => Ok(()),
        Err(err) => Err(Box::new(err)),
    }
}

/// ConfigMaps (Go: `configmap.strategy`): namespaced, DNS-1123 subdomain
/// names, no create on update, unconditional updates allowed.
#[derive(Debug)]
struct ConfigMapStrategy;

impl Strategy for ConfigMapStrategy {
    fn namespace_scoped(&self) -> bool {
        true
    }

    fn allow_create_on_update(&self) -> bool {
        false
    }

    fn allow_unconditional_update(&self) -> bool {
        true
    }
}

/// Namespaces (Go: `namespace.namespaceStrategy`): cluster-scoped,
/// DNS-1123 label names, `status.phase: Active` on create and a status
/// kept across main-resource updates.
#[derive(Debug)]
struct NamespaceStrategy;

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
        if let Value::Object(map) = object {
            map.insert("status".to_owned(), json!({"phase": "Active"}));
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        if let Value::Object(map) = new {
            map.insert("status".to_owned(), old["status"].clone());
        }
    }

    fn name_validator(&self) -> NameValidator {
        validation::name_is_dns_label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_start_active_and_keep_their_status_on_update() {
        let mut created = json!({"metadata": {"name": "a"}, "status": {"phase": "Terminating"}});
        NamespaceStrategy.prepare_for_create(&mut created);
        assert_eq!(created["status"], json!({"phase": "Active"}));

        let mut updated = json!({"metadata": {"name": "a"}, "status": {"phase": "Terminating"}});
        NamespaceStrategy.prepare_for_update(&mut updated, &created);
        assert_eq!(updated["status"], json!({"phase": "Active"}));
    }

    #[test]
    fn name_rules() {
        let check = |strategy: &dyn Strategy, name: &str, valid: bool| {
            assert_eq!(
                (strategy.name_validator())(name, false).is_empty(),
                valid,
                "{name}"
            );
        };
        check(&NamespaceStrategy, "team-a", true);
        check(&NamespaceStrategy, "team.a", false);
        check(&ConfigMapStrategy, "team.a", true);
        check(&ConfigMapStrategy, "Team", false);
    }
}
