//! CustomResourceDefinitions and their custom resources, served without a
//! restart: the `apiextensions.k8s.io/v1` resource itself, and the
//! controller that names and establishes each CRD, serves its versions
//! (discovery, OpenAPI, endpoints with status and scale), and on deletion
//! removes its instances before letting it go.
//!
//! Mirrors the apiextensions-apiserver's `customresource_handler.go` (one
//! set of endpoints per served version, rebuilt when the CRD changes) and
//! its controllers: `NamingConditionController`, `EstablishingController`,
//! `CRDFinalizer`, `DiscoveryController` and the OpenAPI controllers. kapi
//! runs them in-process over its own stores, in one loop.
//!
//! Deliberate differences from Go: versions are not converted beyond their
//! `apiVersion` (conversion `None`; a `Webhook` strategy is served as
//! `None`); defaults are applied on writes, not again on reads; each
//! served version has its own watch cache.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kapi_apiextensions::{
    CUSTOM_RESOURCE_CLEANUP_FINALIZER, CrdCondition, CrdStatusStrategy, CrdStrategy, CrdVersion,
    CustomResourceStrategy, CustomResourceTable, compare_kube_aware_versions, crd_accepts_requests,
    crd_has_finalizer, establishing_update, forbid_create_while_terminating, naming_update,
    remove_crd_finalizer, served_versions, set_crd_condition,
};
use kapi_core::StatusError;
use kapi_endpoints::admission::{Admission, AdmissionPlugin, Attributes, Operation};
use kapi_endpoints::{ObjectDecoder, ResourceEndpoint, ResourceHandler, ResourceInfo};
use kapi_fieldmanager::{FieldManager, FieldSet, Path, TypeSchema};
use kapi_openapi::{OpenApiService, ResourceSpec, Subresource};
use kapi_server::{DynamicApiGroups, GenericApiServer, ResponseKind, new_default_api_group_info};
use kapi_storage::registry::{DeleteOptions, RequestContext, Store, UpdateOptions, default_attrs};
use kapi_storage::{CacherOptions, ListOptions, ObjectStore};
use serde_json::Value;

use crate::NamespacedContent;

/// The post-start hook that starts the CRD controller.
pub(crate) const CRD_CONTROLLER_HOOK: &str = "start-apiextensions-controllers";

/// What serving custom resources needs from the rest of the control plane.
#[derive(Debug, Clone)]
pub(crate) struct CrdController {
    crds: Arc<Store>,
    crd_status: Arc<Store>,
    objects: ObjectStore,
    watch_cache: bool,
    dynamic: DynamicApiGroups,
    openapi: OpenApiService,
    content: NamespacedContent,
    admission: Admission,
    served: Arc<Mutex<BTreeMap<String, Served>>>,
}

/// The endpoints of one CRD as served now, and what they were built from.
#[derive(Debug, Clone)]
struct Served {
    /// What a change of which rebuilds the endpoints.
    key: String,
    group: String,
    versions: Vec<ServedVersion>,
    /// The store of the storage version, for deleting instances.
    storage: Option<Arc<Store>>,
    terminating: Arc<AtomicBool>,
}

#[derive(Debug, Clone)]
struct ServedVersion {
    version: CrdVersion,
    endpoints: Vec<Arc<dyn ResourceEndpoint>>,
}

/// Installs `apiextensions.k8s.io/v1` `customresourcedefinitions` (with
/// `status`) on `server` and returns the controller to run after start.
pub(crate) fn install(
    server: &GenericApiServer,
    objects: &ObjectStore,
    watch_cache: bool,
    admission: &Admission,
    content: &NamespacedContent,
) -> kapi_server::Result<CrdController> {
    let group = kapi_apiextensions::GROUP;
    let mut crd_store = Store::new(
        objects.clone(),
        group,
        "customresourcedefinitions",
        "CustomResourceDefinition",
        Arc::new(CrdStrategy),
    );
    if watch_cache {
        crd_store = crd_store.with_watch_cache(CacherOptions::default());
    }
    let crds = Arc::new(crd_store);
    let crd_status = Arc::new(Store::new(
        objects.clone(),
        group,
        "customresourcedefinitions",
        "CustomResourceDefinition",
        Arc::new(CrdStatusStrategy),
    ));
    let openapi = server.openapi();
    openapi.add_builtin::<CustomResourceDefinition>(
        ResourceSpec::new(
            group,
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
        )
        .with_subresource(Subresource::Status),
    );
    let mut info = ResourceInfo::new(
        group,
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
    );
    info.return_deleted_object = false;
    crate::typed::type_resource(openapi, &mut info, true);
    let status_info = info.for_subresource("status", &["get", "patch", "update"]);
    let mut api_group = new_default_api_group_info(group);
    let discovery = api_group.add_endpoint(
        "v1",
        Arc::new(ResourceHandler::new(info, crds.clone()).with_admission(admission.clone())),
    );
    discovery.short_names = vec!["crd".to_owned(), "crds".to_owned()];
    discovery.categories = vec!["api-extensions".to_owned()];
    api_group.add_endpoint(
        "v1",
        Arc::new(
            ResourceHandler::new(status_info, crd_status.clone()).with_admission(admission.clone()),
        ),
    );
    server.install_api_group(api_group)?;
    Ok(CrdController {
        crds,
        crd_status,
        objects: objects.clone(),
        watch_cache,
        dynamic: server.dynamic_api_groups(),
        openapi: openapi.clone(),
        content: content.clone(),
        admission: admission.clone(),
        served: Arc::default(),
    })
}

impl CrdController {
    /// Runs until `stop`.
    pub(crate) async fn run(self, stop: tokio_util::sync::CancellationToken) {
        let crds = self.crds.clone();
        crate::controller::run("customresourcedefinitions", crds, stop, |list| {
            let this = self.clone();
            async move { this.sync(list).await }
        })
        .await;
    }

    /// One pass over every CRD; returns whether work is pending.
    async fn sync(&self, crds: Vec<Value>) -> bool {
        let mut pending = false;
        let now = jiff::Timestamp::now();
        // Serve first: a CRD is served once its names are accepted, before
        // it is reported Established (a client waiting for the condition
        // then finds its endpoints).
        self.serve(&crds);
        for crd in &crds {
            let name = crd["metadata"]["name"].as_str().unwrap_or_default();
            let update = naming_update(crd, &crds, now).or_else(|| establishing_update(crd, now));
            if let Some(updated) = update {
                pending = true;
                if let Err(err) = self.write_status(name, updated).await {
                    tracing::warn!(crd = name, error = %err.message(), "CRD status update");
                }
            }
        }
        for crd in &crds {
            let deleting = !crd["metadata"]["deletionTimestamp"].is_null();
            if deleting && crd_has_finalizer(crd, CUSTOM_RESOURCE_CLEANUP_FINALIZER) {
                pending |= !self.finalize(crd).await;
            }
        }
        pending
    }

    /// Writes `crd` through `/status`.
    async fn write_status(&self, name: &str, crd: Value) -> Result<(), StatusError> {
        self.crd_status
            .update(
                &RequestContext::cluster(),
                name,
                |_| Ok(crd.clone()),
                &UpdateOptions::default(),
            )
            .await
            .map(drop)
    }

    /// Deletes the instances of a deleting CRD, then removes its finalizer
    /// (which deletes it). Returns whether it is done.
    async fn finalize(&self, crd: &Value) -> bool {
        let name = crd["metadata"]["name"].as_str().unwrap_or_default();
        let storage = self.lock().get(name).and_then(|s| s.storage.clone());
        let result = match &storage {
            Some(store) => delete_instances(store).await,
            None => Ok(true),
        };
        let condition = match &result {
            Ok(true) => CrdCondition::instance_deletion_completed(),
            Ok(false) => CrdCondition::instance_deletion_in_progress(),
            Err(err) => CrdCondition::could_not_delete_instances(err.message()),
        };
        let mut updated = crd.clone();
        set_crd_condition(&mut updated, &condition, jiff::Timestamp::now());
        let done = matches!(result, Ok(true));
        if done {
            remove_crd_finalizer(&mut updated, CUSTOM_RESOURCE_CLEANUP_FINALIZER);
        }
        match self.write_status(name, updated).await {
            Ok(()) => done,
            Err(err) => {
                tracing::warn!(crd = name, error = %err.message(), "CRD finalizer");
                false
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Served>> {
        self.served.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Brings the served endpoints, discovery and OpenAPI in line with
    /// `crds`: every CRD whose names are accepted is served; groups whose
    /// CRDs changed are installed again, groups left empty removed.
    fn serve(&self, crds: &[Value]) {
        let mut served = self.lock();
        let mut changed_groups = BTreeSet::new();
        let mut wanted = BTreeSet::new();
        for crd in crds.iter().filter(|crd| crd_accepts_requests(crd)) {
            let name = crd["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let key = serving_key(crd);
            let terminating = !crd["metadata"]["deletionTimestamp"].is_null();
            wanted.insert(name.clone());
            if let Some(existing) = served.get(&name) {
                existing.terminating.store(terminating, Ordering::Relaxed);
                if existing.key == key {
                    continue;
                }
                changed_groups.insert(existing.group.clone());
                // The rebuilt entry registers the versions it still serves.
                self.unpublish(existing);
            }
            match self.build(crd, key, terminating) {
                Ok(entry) => {
                    changed_groups.insert(entry.group.clone());
                    served.insert(name, entry);
                }
                Err(err) => {
                    tracing::warn!(crd = %name, error = %err, "cannot serve CRD");
                    if let Some(old) = served.remove(&name) {
                        changed_groups.insert(old.group);
                    }
                }
            }
        }
        let gone: Vec<String> = served
            .keys()
            .filter(|name| !wanted.contains(*name))
            .cloned()
            .collect();
        for name in gone {
            if let Some(old) = served.remove(&name) {
                changed_groups.insert(old.group.clone());
                self.unpublish(&old);
                if let Some(first) = old.versions.first() {
                    self.content
                        .remove(&format!("{}.{}", first.version.plural, old.group));
                }
            }
        }
        for group in changed_groups {
            self.install_group(&group, &served);
        }
    }

    /// Removes a served CRD's versions from the OpenAPI documents.
    fn unpublish(&self, served: &Served) {
        for version in &served.versions {
            let v = &version.version;
            self.openapi.remove(&v.group, &v.version, &v.plural);
        }
    }

    /// Installs `group` with every served CRD in it, or removes it.
    fn install_group(&self, group: &str, served: &BTreeMap<String, Served>) {
        let mut versions: Vec<&ServedVersion> = served
            .values()
            .filter(|s| s.group == group)
            .flat_map(|s| s.versions.iter())
            .collect();
        if versions.is_empty() {
            self.dynamic.remove(group);
            return;
        }
        versions.sort_by(|a, b| {
            compare_kube_aware_versions(&b.version.version, &a.version.version)
                .then_with(|| a.version.plural.cmp(&b.version.plural))
        });
        let mut info = new_default_api_group_info(group);
        for served_version in versions {
            let version = &served_version.version;
            for endpoint in &served_version.endpoints {
                let subresource = endpoint.info().subresource.clone();
                let discovery = info.add_endpoint(&version.version, endpoint.clone());
                match subresource.as_str() {
                    "" => {
                        discovery.singular_name.clone_from(&version.singular);
                        discovery.short_names.clone_from(&version.short_names);
                        discovery.categories.clone_from(&version.categories);
                    }
                    "scale" => {
                        discovery.response_kind =
                            Some(ResponseKind::new("autoscaling", "v1", "Scale"));
                    }
                    _ => {}
                }
            }
        }
        if let Err(err) = self.dynamic.install(info) {
            tracing::warn!(group, %err, "cannot install custom resource group");
        }
    }

    /// The endpoints of every served version of `crd`.
    fn build(&self, crd: &Value, key: String, terminating: bool) -> Result<Served, String> {
        let versions = served_versions(crd).map_err(|err| err.message().to_owned())?;
        let group = crd["spec"]["group"].as_str().unwrap_or_default().to_owned();
        let terminating = Arc::new(AtomicBool::new(terminating));
        let mut served = Served {
            key,
            group,
            versions: Vec::new(),
            storage: None,
            terminating: terminating.clone(),
        };
        for version in versions.into_iter().filter(|v| v.served) {
            let strategy = match CustomResourceStrategy::new(&version) {
                Ok(strategy) => strategy,
                Err(errs) => {
                    tracing::warn!(version = %version.version, ?errs, "version not served");
                    continue;
                }
            };
            let (endpoints, store) = self.version_endpoints(&version, &strategy, &terminating);
            if version.storage || served.storage.is_none() {
                served.storage = Some(store.clone());
            }
            if version.namespaced && version.storage {
                self.content
                    .add(&format!("{}.{}", version.plural, version.group), store);
            }
            let mut spec = ResourceSpec::new(
                &version.group,
                &version.version,
                &version.plural,
                &version.kind,
                version.namespaced,
            )
            .with_list_kind(&version.list_kind)
            .with_delete_returns_object(false);
            if version.has_status {
                spec = spec.with_subresource(Subresource::Status);
            }
            if version.scale.is_some() {
                spec = spec.with_subresource(Subresource::Scale);
            }
            self.openapi
                .add_custom(spec, version.schema.clone().unwrap_or(Value::Null));
            served.versions.push(ServedVersion { version, endpoints });
        }
        Ok(served)
    }

    /// The endpoints of one version: the resource, `status` and `scale` as
    /// the version declares them; and the resource's store.
    fn version_endpoints(
        &self,
        version: &CrdVersion,
        strategy: &CustomResourceStrategy,
        terminating: &Arc<AtomicBool>,
    ) -> (Vec<Arc<dyn ResourceEndpoint>>, Arc<Store>) {
        let field_strategy = strategy.clone();
        let namespaced = version.namespaced;
        let attrs: kapi_storage::AttrFunc = Arc::new(move |object: &Value| {
            let (labels, _) = default_attrs(object, namespaced);
            let fields = field_strategy
                .field_set(object)
                .unwrap_or_default()
                .into_iter()
                .collect();
            (labels, fields)
        });
        let mut store = Store::new(
            self.objects.clone(),
            &version.group,
            &version.plural,
            &version.kind,
            Arc::new(strategy.clone()),
        )
        .with_attrs(attrs.clone());
        if self.watch_cache {
            store = store.with_watch_cache(CacherOptions::default());
        }
        let store = Arc::new(store);

        let mut info = ResourceInfo::new(
            &version.group,
            &version.version,
            &version.plural,
            &version.kind,
            version.namespaced,
        );
        info.list_kind.clone_from(&version.list_kind);
        info.warnings.clone_from(&version.warnings);
        // Go's custom resource store answers a delete with a Status.
        info.return_deleted_object = false;
        info.table = Some(Arc::new(CustomResourceTable::new(&version.printer_columns)));
        info.selectable_fields.extend(
            version
                .selectable_fields
                .iter()
                .map(|path| path.trim_start_matches('.').to_owned()),
        );
        info.decoder = Some(Arc::new(CustomResourceDecoder(strategy.clone())));
        info.field_manager = self.field_manager(version, strategy).map(Arc::new);
        let admission =
            self.admission
                .clone()
                .with_plugin(Arc::new(ForbidCreateWhileTerminating {
                    terminating: terminating.clone(),
                }));
        let mut endpoints: Vec<Arc<dyn ResourceEndpoint>> = Vec::new();
        if version.has_status {
            let status_store = Arc::new(
                Store::new(
                    self.objects.clone(),
                    &version.group,
                    &version.plural,
                    &version.kind,
                    Arc::new(strategy.status_strategy()),
                )
                .with_attrs(attrs),
            );
            let status_info = info.for_subresource("status", &["get", "patch", "update"]);
            endpoints.push(Arc::new(
                ResourceHandler::new(status_info, status_store).with_admission(admission.clone()),
            ));
        }
        if let Some(scale) = &version.scale {
            let scale_info = info.for_subresource("scale", &["get", "patch", "update"]);
            endpoints.push(Arc::new(crate::scale::ScaleEndpoint::new(
                scale_info,
                store.clone(),
                scale.clone(),
            )));
        }
        endpoints.insert(
            0,
            Arc::new(ResourceHandler::new(info, store.clone()).with_admission(admission)),
        );
        (endpoints, store)
    }

    /// Server-side apply typed by the version's schema (Go builds it from
    /// the CRD's OpenAPI, with `metadata` typed as `ObjectMeta`).
    fn field_manager(
        &self,
        version: &CrdVersion,
        strategy: &CustomResourceStrategy,
    ) -> Option<FieldManager> {
        let definitions = self
            .openapi
            .schema_of("", "v1", "ConfigMap")
            .map(|schema| schema.definitions)
            .unwrap_or_default();
        let typed = match &version.schema {
            Some(schema) => TypeSchema::custom_resource(schema.clone(), definitions)
                .preserve_unknown_fields(version.preserve_unknown_fields),
            None => TypeSchema::deduced(),
        };
        let defaulting = strategy.clone();
        let manager = FieldManager::new(&typed, version.group_version(), &version.kind)
            .map_err(|err| tracing::warn!(kind = %version.kind, %err, "no field manager"))
            .ok()?
            .with_defaulter(move |object| {
                defaulting.decode(object);
            });
        Some(if version.has_status {
            let status = FieldSet::from_paths([Path::fields(["status"])]);
            let spec = FieldSet::from_paths([Path::fields(["spec"])]);
            manager
                .with_reset_fields("", status)
                .with_reset_fields("status", spec)
        } else {
            manager
        })
    }
}

/// What rebuilds a CRD's endpoints when it changes: its identity, spec and
/// accepted names.
fn serving_key(crd: &Value) -> String {
    format!(
        "{}/{}/{}",
        crd["metadata"]["uid"], crd["spec"], crd["status"]["acceptedNames"]
    )
}

/// Deletes every instance of a custom resource; `Ok(true)` once none is
/// left.
async fn delete_instances(store: &Store) -> Result<bool, StatusError> {
    let ctx = RequestContext::cluster();
    store
        .delete_collection(&ctx, &DeleteOptions::default(), &ListOptions::default())
        .await?;
    let left = store.list(&ctx, &ListOptions::default()).await?;
    Ok(left.items.is_empty())
}

/// A custom resource's request decoding: metadata and schema pruning, then
/// defaults.
#[derive(Debug)]
struct CustomResourceDecoder(CustomResourceStrategy);

impl ObjectDecoder for CustomResourceDecoder {
    fn decode(&self, object: &mut Value) -> Result<Vec<String>, String> {
        Ok(self.0.decode(object))
    }
}

/// No new custom resources while their CRD is being deleted (Go:
/// `forbidCreateAdmission` of the CR handler).
#[derive(Debug)]
struct ForbidCreateWhileTerminating {
    terminating: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl AdmissionPlugin for ForbidCreateWhileTerminating {
    fn name(&self) -> &str {
        "ForbidCreateWhileTerminating"
    }

    fn handles(&self, operation: Operation) -> bool {
        operation == Operation::Create
    }

    async fn admit(&self, attributes: &Attributes) -> Result<(), StatusError> {
        if !self.terminating.load(Ordering::Relaxed) {
            return Ok(());
        }
        let name = attributes
            .object
            .as_ref()
            .and_then(|o| o["metadata"]["name"].as_str())
            .unwrap_or(&attributes.name);
        Err(forbid_create_while_terminating(
            &attributes.group,
            &attributes.resource,
            name,
        ))
    }
}
