//! The resources a generic control plane serves, and their installation.
//!
//! core/v1 `configmaps`, `namespaces`, `secrets`, `serviceaccounts` and
//! `events` under `/api`; `coordination.k8s.io/v1` leases,
//! `events.k8s.io/v1` events and the `rbac.authorization.k8s.io/v1` roles
//! and bindings under `/apis`; the post-start hook that creates the
//! `default` namespace; and the configmap and namespace strategies (the
//! others live in the submodules, one per resource family). [`install`]
//! puts all of it on a [`GenericApiServer`]; the `kapi` binary and
//! `kapi::testing` both use it.
//!
//! Mirrors the strategies of `k8s.io/kubernetes/pkg/registry/...`, the
//! discovery metadata kube-apiserver advertises for them, and the part of
//! kube-apiserver's `bootstrap-controller` that ensures the `default`
//! namespace.

mod controller;
mod core_v1;
mod events;
mod lease;
mod namespace;
mod printers;
mod rbac;
mod secret;

pub use namespace::NamespacedContent;

use std::sync::Arc;

use kapi_core::StatusReason;
use kapi_core::field::{Error, ErrorList, Path};
use kapi_core::validation::{self, NameValidator};
use kapi_endpoints::admission::Admission;
use kapi_endpoints::{ResourceHandler, ResourceInfo};
use kapi_server::{ApiGroupInfo, GenericApiServer, HookError, new_default_api_group_info};
use kapi_storage::registry::{CreateOptions, RequestContext, Store, Strategy};
use kapi_storage::{Backend, CacherOptions, ObjectStore};
use serde_json::{Value, json};

/// The name of the post-start hook that creates the `default` namespace.
const DEFAULT_NAMESPACE_HOOK: &str = "create-default-namespace";

/// The name of the post-start hook that starts the namespace controller.
const NAMESPACE_CONTROLLER_HOOK: &str = "start-namespace-controller";

/// How [`install`] stores the built-in resources.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InstallOptions {
    /// The key prefix every object lives under (`--etcd-prefix`).
    pub etcd_prefix: String,
    /// Whether reads and watches are served from a watch cache
    /// (`--watch-cache`).
    pub watch_cache: bool,
}

impl Default for InstallOptions {
    /// kube-apiserver's defaults: prefix `/registry`, watch cache on.
    fn default() -> Self {
        Self {
            etcd_prefix: "/registry".to_owned(),
            watch_cache: true,
        }
    }
}

impl InstallOptions {
    /// Options with this key prefix and watch-cache setting.
    pub fn new(etcd_prefix: impl Into<String>, watch_cache: bool) -> Self {
        Self {
            etcd_prefix: etcd_prefix.into(),
            watch_cache,
        }
    }
}

/// Installs the built-in resources on `server`, stored in `backend`, the
/// `NamespaceLifecycle` admission plugin, and the post-start hooks that
/// create the `default` namespace and start the namespace controller.
///
/// # Errors
/// When a group cannot be installed (a path is taken already) or the hook
/// is registered twice.
pub fn install(
    server: &GenericApiServer,
    backend: Arc<dyn Backend>,
    storage: &InstallOptions,
) -> kapi_server::Result<Installed> {
    let objects = ObjectStore::new(backend, &storage.etcd_prefix);
    let store = |group: &str, resource: &str, kind: &str, strategy: Arc<dyn Strategy>| {
        let store = Store::new(objects.clone(), group, resource, kind, strategy);
        Arc::new(if storage.watch_cache {
            store.with_watch_cache(CacherOptions::default())
        } else {
            store
        })
    };
    let namespaces = store(
        "",
        "namespaces",
        "Namespace",
        Arc::new(namespace::NamespaceStrategy),
    );
    let admission = Admission::new(vec![Arc::new(namespace::NamespaceLifecycle {
        namespaces: namespaces.clone(),
    })]);
    let content = NamespacedContent::default();

    let mut core = new_default_api_group_info("");
    let add = |info: &mut ApiGroupInfo, spec: Resource, strategy: Arc<dyn Strategy>| {
        let namespaced = strategy.namespace_scoped();
        let group = info.group().to_owned();
        let store = store(&group, spec.resource, spec.kind, strategy);
        let mut resource =
            ResourceInfo::new(&group, spec.version, spec.resource, spec.kind, namespaced);
        resource.table = printers::printer(&group, spec.kind);
        if namespaced {
            content.add(&resource.qualified_resource(), store.clone());
        }
        let handler = ResourceHandler::new(resource, store).with_admission(admission.clone());
        info.add_endpoint(spec.version, Arc::new(handler))
            .short_names = spec
            .short_names
            .iter()
            .map(|name| (*name).to_owned())
            .collect();
    };
    add(
        &mut core,
        Resource::v1("configmaps", "ConfigMap", &["cm"]),
        Arc::new(ConfigMapStrategy),
    );
    // Namespaces have no deletecollection, and two subresources whose
    // strategies take only the status, or only spec.finalizers.
    let mut namespace_info = ResourceInfo::new("", "v1", "namespaces", "Namespace", false);
    namespace_info.table = printers::printer("", "Namespace");
    namespace_info
        .verbs
        .retain(|verb| verb != "deletecollection");
    let subresource_store = |strategy: Arc<dyn Strategy>| {
        Arc::new(Store::new(
            objects.clone(),
            "",
            "namespaces",
            "Namespace",
            strategy,
        ))
    };
    let status_info = namespace_info.for_subresource("status", &["get", "patch", "update"]);
    let finalize_info = namespace_info.for_subresource("finalize", &["update"]);
    let finalize = subresource_store(Arc::new(namespace::NamespaceFinalizeStrategy));
    let handler = |info: ResourceInfo, store: Arc<Store>| {
        Arc::new(ResourceHandler::new(info, store).with_admission(admission.clone()))
    };
    core.add_endpoint("v1", handler(namespace_info, namespaces.clone()))
        .short_names = vec!["ns".to_owned()];
    core.add_endpoint(
        "v1",
        handler(
            status_info,
            subresource_store(Arc::new(namespace::NamespaceStatusStrategy)),
        ),
    );
    core.add_endpoint("v1", handler(finalize_info, finalize.clone()));
    add(
        &mut core,
        Resource::v1("secrets", "Secret", &[]),
        Arc::new(secret::SecretStrategy),
    );
    add(
        &mut core,
        Resource::v1("serviceaccounts", "ServiceAccount", &["sa"]),
        Arc::new(core_v1::ServiceAccountStrategy),
    );
    add(
        &mut core,
        Resource::v1("events", "Event", &["ev"]),
        Arc::new(core_v1::CORE_EVENTS),
    );

    let mut coordination = new_default_api_group_info("coordination.k8s.io");
    add(
        &mut coordination,
        Resource::v1("leases", "Lease", &[]),
        Arc::new(lease::LeaseStrategy),
    );

    let mut events = new_default_api_group_info("events.k8s.io");
    add(
        &mut events,
        Resource::v1("events", "Event", &["ev"]),
        Arc::new(events::EVENTS_V1),
    );

    let mut rbac = new_default_api_group_info(rbac::GROUP);
    for (resource, kind, namespaced) in [
        ("roles", "Role", true),
        ("clusterroles", "ClusterRole", false),
    ] {
        let strategy = Arc::new(rbac::RoleStrategy { namespaced });
        add(&mut rbac, Resource::v1(resource, kind, &[]), strategy);
    }
    for (resource, kind, namespaced) in [
        ("rolebindings", "RoleBinding", true),
        ("clusterrolebindings", "ClusterRoleBinding", false),
    ] {
        let strategy = Arc::new(rbac::BindingStrategy { namespaced });
        add(&mut rbac, Resource::v1(resource, kind, &[]), strategy);
    }

    server.install_legacy_api_group(kapi_server::API_PREFIX, core)?;
    server.install_api_groups(vec![coordination, events, rbac])?;

    let controller = namespace::NamespaceController {
        namespaces: namespaces.clone(),
        finalize,
        content: content.clone(),
    };
    server.add_post_start_hook(NAMESPACE_CONTROLLER_HOOK, move |ctx| async move {
        tokio::spawn(controller.run(ctx.stop));
        Ok(())
    })?;
    server.add_post_start_hook(DEFAULT_NAMESPACE_HOOK, move |_ctx| async move {
        create_default_namespace(&namespaces).await
    })?;
    Ok(Installed {
        admission,
        namespaced_content: content,
    })
}

/// What [`install`] set up that later resources (custom resources) share.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Installed {
    /// The admission chain every write goes through.
    pub admission: Admission,
    /// The namespaced stores whose objects go with their namespace.
    pub namespaced_content: NamespacedContent,
}

/// What [`install`] needs to serve one resource beyond its strategy.
#[derive(Debug, Clone, Copy)]
struct Resource {
    version: &'static str,
    resource: &'static str,
    kind: &'static str,
    short_names: &'static [&'static str],
}

impl Resource {
    /// A `v1` resource with its discovery short names.
    fn v1(
        resource: &'static str,
        kind: &'static str,
        short_names: &'static [&'static str],
    ) -> Self {
        Self {
            version: "v1",
            resource,
            kind,
            short_names,
        }
    }
}

/// Go's `ValidateObjectMeta` as the strategies that validate more than the
/// metadata call it.
fn meta_errors(object: &Value, namespaced: bool, names: NameValidator) -> ErrorList {
    validation::validate_object_meta(object, namespaced, names, &Path::new("metadata"))
}

/// Go's `IsConfigMapKey` (used for secret data keys), as field errors at
/// `path`.
fn invalid_config_key(path: &Path, key: &str) -> ErrorList {
    let mut messages = Vec::new();
    if key.len() > 253 {
        messages.push("must be no more than 253 characters".to_owned());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if key.is_empty() || !key.chars().all(allowed) {
        messages.push(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' \
             (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation \
             is '[-._a-zA-Z0-9]+')"
                .to_owned(),
        );
    }
    match key {
        "." => messages.push("must not be '.'".to_owned()),
        ".." => messages.push("must not be '..'".to_owned()),
        _ if key.starts_with("..") => messages.push("must not start with '..'".to_owned()),
        _ => {}
    }
    messages
        .into_iter()
        .map(|message| Error::invalid(path, key, message))
        .collect()
}

/// `<field>: Invalid value: "": can have at most <max> characters` when the
/// string `field` of `object` is longer than `max` bytes (Go's event
/// length limits).
fn max_length(object: &Value, field: &str, max: usize) -> ErrorList {
    let length = object[field].as_str().map(str::len).unwrap_or_default();
    if length > max {
        vec![Error::invalid(
            &Path::new(field),
            "",
            format!("can have at most {max} characters"),
        )]
    } else {
        ErrorList::new()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        let check = |strategy: &dyn Strategy, name: &str, valid: bool| {
            assert_eq!(
                (strategy.name_validator())(name, false).is_empty(),
                valid,
                "{name}"
            );
        };
        check(&namespace::NamespaceStrategy, "team-a", true);
        check(&namespace::NamespaceStrategy, "team.a", false);
        check(&ConfigMapStrategy, "team.a", true);
        check(&ConfigMapStrategy, "Team", false);
    }
}
