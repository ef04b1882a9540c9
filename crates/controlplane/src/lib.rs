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
mod crd;
mod events;
mod lease;
mod namespace;
mod printers;
mod rbac;
mod scale;
mod secret;
mod typed;

pub use namespace::NamespacedContent;

use std::sync::Arc;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Event as CoreEvent, Namespace, Secret, ServiceAccount,
};
use k8s_openapi::api::events::v1::Event as EventsEvent;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kapi_core::StatusReason;
use kapi_core::field::{Error, ErrorList, Path};
use kapi_core::validation::{self, NameValidator};
use kapi_endpoints::admission::Admission;
use kapi_endpoints::{Converter, ResourceHandler, ResourceInfo};
use kapi_openapi::{OpenApiService, ResourceSpec, Subresource};
use kapi_server::{ApiGroupInfo, GenericApiServer, HookError, new_default_api_group_info};
use kapi_storage::registry::{CreateOptions, RequestContext, Store, Strategy};
use kapi_storage::{Backend, CacherOptions, ObjectStore};
use schemars::JsonSchema;
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

    let openapi = server.openapi();
    let mut core = new_default_api_group_info("");
    let add = |info: &mut ApiGroupInfo, spec: Resource, strategy: Arc<dyn Strategy>| {
        let namespaced = strategy.namespace_scoped();
        let group = info.group().to_owned();
        let store = match spec.stored_as {
            None => store(&group, spec.resource, spec.kind, strategy),
            Some((key_root, _)) => {
                let store = Store::new(objects.clone(), &group, spec.resource, spec.kind, strategy)
                    .with_key_root(key_root);
                Arc::new(if storage.watch_cache {
                    store.with_watch_cache(CacherOptions::default())
                } else {
                    store
                })
            }
        };
        let mut resource =
            ResourceInfo::new(&group, spec.version, spec.resource, spec.kind, namespaced);
        resource.converter = spec.stored_as.map(|(_, converter)| converter());
        resource.table = printers::printer(&group, spec.kind);
        // Go's registry answers a delete with a Status, except where the
        // storage sets ReturnDeletedObject (service accounts).
        resource.return_deleted_object = spec.resource == "serviceaccounts";
        (spec.schema)(
            openapi,
            ResourceSpec::new(&group, spec.version, spec.resource, spec.kind, namespaced)
                .with_delete_returns_object(resource.return_deleted_object),
        );
        typed::type_resource(openapi, &mut resource, false);
        if namespaced && spec.stored_as.is_none() {
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
        Resource::v1("configmaps", "ConfigMap", &["cm"], builtin::<ConfigMap>),
        Arc::new(ConfigMapStrategy),
    );
    // Namespaces have no deletecollection, and two subresources whose
    // strategies take only the status, or only spec.finalizers.
    let mut namespace_info = ResourceInfo::new("", "v1", "namespaces", "Namespace", false);
    namespace_info.table = printers::printer("", "Namespace");
    namespace_info.return_deleted_object = false;
    namespace_info
        .verbs
        .retain(|verb| verb != "deletecollection");
    openapi.add_builtin::<Namespace>(
        ResourceSpec::new("", "v1", "namespaces", "Namespace", false)
            .with_verbs(namespace_info.verbs.iter().map(String::as_str))
            .with_subresource(Subresource::Status)
            .with_subresource(Subresource::Finalize),
    );
    typed::type_resource(openapi, &mut namespace_info, true);
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
        Resource::v1("secrets", "Secret", &[], builtin::<Secret>),
        Arc::new(secret::SecretStrategy),
    );
    add(
        &mut core,
        Resource::v1(
            "serviceaccounts",
            "ServiceAccount",
            &["sa"],
            builtin::<ServiceAccount>,
        ),
        Arc::new(core_v1::ServiceAccountStrategy),
    );
    add(
        &mut core,
        Resource::v1("events", "Event", &["ev"], builtin::<CoreEvent>),
        Arc::new(core_v1::CORE_EVENTS),
    );

    let mut coordination = new_default_api_group_info("coordination.k8s.io");
    add(
        &mut coordination,
        Resource::v1("leases", "Lease", &[], builtin::<Lease>),
        Arc::new(lease::LeaseStrategy),
    );

    let mut events = new_default_api_group_info("events.k8s.io");
    add(
        &mut events,
        Resource::v1("events", "Event", &["ev"], builtin::<EventsEvent>)
            .stored_as("/events", events::converter),
        Arc::new(events::EVENTS_V1),
    );

    let mut rbac = new_default_api_group_info(rbac::GROUP);
    let roles: [(_, _, _, SchemaFn); 2] = [
        ("roles", "Role", true, builtin::<Role>),
        ("clusterroles", "ClusterRole", false, builtin::<ClusterRole>),
    ];
    for (resource, kind, namespaced, schema) in roles {
        let strategy = Arc::new(rbac::RoleStrategy { namespaced });
        add(
            &mut rbac,
            Resource::v1(resource, kind, &[], schema),
            strategy,
        );
    }
    let bindings: [(_, _, _, SchemaFn); 2] = [
        ("rolebindings", "RoleBinding", true, builtin::<RoleBinding>),
        (
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            builtin::<ClusterRoleBinding>,
        ),
    ];
    for (resource, kind, namespaced, schema) in bindings {
        let strategy = Arc::new(rbac::BindingStrategy { namespaced });
        add(
            &mut rbac,
            Resource::v1(resource, kind, &[], schema),
            strategy,
        );
    }

    server.install_legacy_api_group(kapi_server::API_PREFIX, core)?;
    server.install_api_groups(vec![coordination, events, rbac])?;
    let crds = crd::install(server, &objects, storage.watch_cache, &admission, &content)?;
    server.add_post_start_hook(crd::CRD_CONTROLLER_HOOK, move |ctx| async move {
        tokio::spawn(crds.run(ctx.stop));
        Ok(())
    })?;

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

/// Registers a built-in type's schema for one resource in the OpenAPI
/// documents.
type SchemaFn = fn(&OpenApiService, ResourceSpec);

/// The [`SchemaFn`] of the k8s-openapi type `K`.
fn builtin<K: JsonSchema>(openapi: &OpenApiService, spec: ResourceSpec) {
    openapi.add_builtin::<K>(spec);
}

/// Makes the converter of a resource stored in another resource's version.
type ConverterFn = fn() -> Arc<dyn Converter>;

/// What [`install`] needs to serve one resource beyond its strategy.
#[derive(Clone, Copy)]
struct Resource {
    version: &'static str,
    resource: &'static str,
    kind: &'static str,
    short_names: &'static [&'static str],
    schema: SchemaFn,
    /// Objects stored under another resource's key root, in its version.
    stored_as: Option<(&'static str, ConverterFn)>,
}

impl Resource {
    /// A `v1` resource with its discovery short names and schema.
    fn v1(
        resource: &'static str,
        kind: &'static str,
        short_names: &'static [&'static str],
        schema: SchemaFn,
    ) -> Self {
        Self {
            version: "v1",
            resource,
            kind,
            short_names,
            schema,
            stored_as: None,
        }
    }

    /// Stores the objects under `key_root`, converted by `converter`.
    fn stored_as(mut self, key_root: &'static str, converter: ConverterFn) -> Self {
        self.stored_as = Some((key_root, converter));
        self
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
/// names, no create on update, unconditional updates allowed; keys checked,
/// data size limited, data frozen once `immutable` (Go:
/// `ValidateConfigMap`, `ValidateConfigMapUpdate`).
#[derive(Debug)]
struct ConfigMapStrategy;

/// The largest total size of a configmap's data (Go: `MaxSecretSize`).
const MAX_CONFIG_MAP_SIZE: usize = 1024 * 1024;

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

    fn validate(&self, object: &Value) -> ErrorList {
        let mut errs = meta_errors(object, true, validation::name_is_dns_subdomain);
        errs.extend(validate_config_map(object));
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> ErrorList {
        let mut errs = ErrorList::new();
        if old["immutable"] == Value::Bool(true) {
            let detail = "field is immutable when `immutable` is set";
            if new["immutable"] != Value::Bool(true) {
                errs.push(Error::forbidden(&Path::new("immutable"), detail));
            }
            for field in ["data", "binaryData"] {
                if new[field] != old[field] {
                    errs.push(Error::forbidden(&Path::new(field), detail));
                }
            }
        }
        errs.extend(validate_config_map(new));
        errs
    }
}

/// The data checks of Go's `ValidateConfigMap`: each key a config key,
/// no key in both `data` and `binaryData`, at most 1 MiB of data.
fn validate_config_map(object: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let empty = serde_json::Map::new();
    let data = object["data"].as_object().unwrap_or(&empty);
    let binary = object["binaryData"].as_object().unwrap_or(&empty);
    let mut size = 0;
    for (key, value) in data {
        let path = Path::new("data").key(key);
        errs.extend(invalid_config_key(&path, key));
        if binary.contains_key(key) {
            errs.push(Error::invalid(
                &path,
                key.as_str(),
                "duplicate of key present in binaryData",
            ));
        }
        size += value.as_str().map_or(0, str::len);
    }
    for (key, value) in binary {
        errs.extend(invalid_config_key(&Path::new("binaryData").key(key), key));
        // The decoded length of the base64 value.
        let encoded = value.as_str().map_or(0, str::len);
        size += encoded / 4 * 3;
    }
    if size > MAX_CONFIG_MAP_SIZE {
        errs.push(Error::too_long(
            &Path::new(""),
            i64::try_from(MAX_CONFIG_MAP_SIZE).unwrap_or(i64::MAX),
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_map_keys_and_immutability() {
        let messages =
            |errs: ErrorList| -> Vec<String> { errs.iter().map(ToString::to_string).collect() };
        let valid = json!({"metadata": {"name": "c", "namespace": "n"}, "data": {"a.b_C-1": "x"}});
        assert!(ConfigMapStrategy.validate(&valid).is_empty());
        let bad = json!({"metadata": {"name": "c", "namespace": "n"},
                         "data": {"bad key": "x", "k": "y"}, "binaryData": {"k": "eQ=="}});
        assert_eq!(
            messages(ConfigMapStrategy.validate(&bad)),
            [
                "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                "data[k]: Invalid value: \"k\": duplicate of key present in binaryData",
            ]
        );
        let frozen = json!({"metadata": {"name": "c"}, "immutable": true, "data": {"a": "b"}});
        let changed = json!({"metadata": {"name": "c"}, "data": {"a": "c"}});
        assert_eq!(
            messages(ConfigMapStrategy.validate_update(&changed, &frozen)),
            [
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
        assert!(
            ConfigMapStrategy
                .validate_update(&frozen, &frozen)
                .is_empty()
        );
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
        check(&namespace::NamespaceStrategy, "team-a", true);
        check(&namespace::NamespaceStrategy, "team.a", false);
        check(&ConfigMapStrategy, "team.a", true);
        check(&ConfigMapStrategy, "Team", false);
    }
}
