//! [`OpenApiService`]: the registry of served resources and the documents
//! built from it, lazily and cached until the registry changes (Go:
//! `kube-openapi/pkg/handler.OpenAPIService`, `handler3.OpenAPIService` and
//! the CRD OpenAPI controllers that update them).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use schemars::JsonSchema;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

use crate::document;
use crate::routes::{self, Route};
use crate::schema::{self, Definitions, GVK_EXTENSION};
use crate::spec::{ResourceSpec, group_version_path};

/// The schema of one kind, for field validation and server-side apply.
///
/// `definitions` are OpenAPI v3 component schemas (refs
/// `#/components/schemas/<name>`, `$ref` siblings wrapped in `allOf`): the
/// kind's own definition, named `name`, and every definition it reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeSchema {
    /// The definition name of the kind (`io.k8s.api.core.v1.ConfigMap`).
    pub name: String,
    /// The kind's definition and all definitions it references.
    pub definitions: Arc<Map<String, Value>>,
}

impl TypeSchema {
    /// The kind's own definition.
    pub fn schema(&self) -> Option<&Value> {
        self.definitions.get(&self.name)
    }
}

/// One built document: its bytes, hash and build time.
#[derive(Debug)]
pub(crate) struct Doc {
    pub(crate) body: Bytes,
    /// Uppercase hex SHA-512 of the JSON (also for the protobuf form).
    pub(crate) etag: String,
    pub(crate) last_modified: jiff::Timestamp,
}

impl Doc {
    fn json(value: &Value) -> Self {
        // Invariant: a serde_json::Value always serialises.
        let body = serde_json::to_vec(value).expect("a JSON value serialises");
        let etag = etag_of(&body);
        Self {
            body: Bytes::from(body),
            etag,
            last_modified: jiff::Timestamp::now(),
        }
    }
}

/// Go's `computeETag`: uppercase hex SHA-512.
pub(crate) fn etag_of(body: &[u8]) -> String {
    Sha512::digest(body)
        .iter()
        .fold(String::with_capacity(128), |mut out, byte| {
            use std::fmt::Write as _;
            let _ = write!(out, "{byte:02X}");
            out
        })
}

#[derive(Debug)]
struct Entry {
    spec: ResourceSpec,
    custom: bool,
    kind_def: String,
    list_def: String,
    /// Custom resources: their kind and list definitions (v3 form).
    own: Definitions,
    /// Custom resources: the same in the structural subset OpenAPI v2 gets.
    own_v2: Definitions,
    /// The kind's schema with everything it reaches.
    kind_schema: Arc<Map<String, Value>>,
}

#[derive(Debug, Default)]
struct Cache {
    groups: BTreeMap<String, Arc<Doc>>,
    root: Option<Arc<Doc>>,
    v2: Option<Arc<Doc>>,
    v2_proto: Option<Arc<Doc>>,
}

#[derive(Debug)]
struct Inner {
    version: String,
    /// Built-in definitions by name (meta types and every added kind).
    pool: Definitions,
    entries: BTreeMap<(String, String, String), Entry>,
    cache: Cache,
}

/// The OpenAPI registry of a server: add the resources it serves, then hand
/// [`OpenApiService::v2_handler`], [`OpenApiService::v3_handler`] and
/// [`OpenApiService::v3_group_version_handler`] to the mux.
///
/// Cheap to clone; all clones share one registry. Documents are built on
/// first request and cached until a resource is added or removed.
///
/// ```
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kapi_openapi::{OpenApiService, ResourceSpec};
///
/// let openapi = OpenApiService::new("v1.33.0");
/// openapi.add_builtin::<ConfigMap>(ResourceSpec::new("", "v1", "configmaps", "ConfigMap", true));
/// let schema = openapi.schema_of("", "v1", "ConfigMap").unwrap();
/// assert_eq!(schema.name, "io.k8s.api.core.v1.ConfigMap");
/// assert!(openapi.group_versions().contains(&"api/v1".to_owned()));
/// ```
#[derive(Debug, Clone)]
pub struct OpenApiService {
    inner: Arc<Mutex<Inner>>,
}

impl OpenApiService {
    /// An empty registry; `version` is the documents' `info.version`
    /// (kube-apiserver writes its `gitVersion` there, e.g. `v1.33.0`).
    pub fn new(version: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                version: version.into(),
                pool: schema::meta_definitions(),
                entries: BTreeMap::new(),
                cache: Cache::default(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while building a document leaves the registry consistent
        // (the cache is only written after a build succeeds).
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds (or replaces) a built-in resource whose objects are `K`.
    ///
    /// `K`'s schema and the schemas it references come from k8s-openapi;
    /// the list kind is written from `spec.list_kind`.
    pub fn add_builtin<K: JsonSchema>(&self, spec: ResourceSpec) {
        let (kind_def, generated) = schema::generate::<K>();
        let mut inner = self.lock();
        for (name, definition) in generated {
            inner.pool.entry(name).or_insert(definition);
        }
        let list_def = list_name(&kind_def, &spec.kind, &spec.list_kind);
        if !inner.pool.contains_key(&list_def) {
            let list = schema::list_definition(&list_def, &kind_def, &spec.list_kind, &spec.kind);
            inner.pool.insert(list_def.clone(), list);
        }
        for (name, kind) in [(&kind_def, &spec.kind), (&list_def, &spec.list_kind)] {
            if let Some(definition) = inner.pool.get_mut(name) {
                schema::add_gvk(definition, &spec.group, &spec.version, kind);
            }
        }
        let kind_schema = Arc::new(schema::closure(&[&inner.pool], [kind_def.as_str()]));
        let key = key_of(&spec);
        inner.entries.insert(
            key,
            Entry {
                spec,
                custom: false,
                kind_def,
                list_def,
                own: Definitions::new(),
                own_v2: Definitions::new(),
                kind_schema,
            },
        );
        // GVKs of shared definitions changed too: every entry's schema is
        // recomputed from the pool.
        refresh_kind_schemas(&mut inner);
        inner.cache = Cache::default();
    }

    /// Adds (or replaces) a custom resource version served from a CRD, with
    /// the version's `openAPIV3Schema` (`Value::Null` when it has none).
    ///
    /// Its definitions are named like kube-apiserver names them:
    /// `<reversed group>.<version>.<Kind>` and `…<ListKind>`.
    pub fn add_custom(&self, spec: ResourceSpec, schema: Value) {
        let own = schema::custom_definitions(&spec, &schema, false);
        let own_v2 = schema::custom_definitions(&spec, &schema, true);
        let kind_def = schema::custom_name(&spec.group, &spec.version, &spec.kind);
        let list_def = schema::custom_list_name(&spec);
        let mut inner = self.lock();
        let kind_schema = Arc::new(schema::closure(&[&own, &inner.pool], [kind_def.as_str()]));
        let key = key_of(&spec);
        inner.entries.insert(
            key,
            Entry {
                spec,
                custom: true,
                kind_def,
                list_def,
                own,
                own_v2,
                kind_schema,
            },
        );
        inner.cache = Cache::default();
    }

    /// Removes a resource; whether it was registered.
    pub fn remove(&self, group: &str, version: &str, resource: &str) -> bool {
        let mut inner = self.lock();
        let removed = inner
            .entries
            .remove(&(group.to_owned(), version.to_owned(), resource.to_owned()))
            .is_some();
        if removed {
            inner.cache = Cache::default();
        }
        removed
    }

    /// The group-version paths that have a document (`api/v1`,
    /// `apis/coordination.k8s.io/v1`, …), sorted.
    pub fn group_versions(&self) -> Vec<String> {
        let inner = self.lock();
        document_keys(&inner)
            .into_iter()
            .filter(|key| key.starts_with("api/") || key.matches('/').count() == 2)
            .collect()
    }

    /// The schema of a kind (or list kind) the registry serves, or of a
    /// built-in definition registered as that kind (`autoscaling/v1`
    /// `Scale`, core `v1` `Status`).
    pub fn schema_of(&self, group: &str, version: &str, kind: &str) -> Option<TypeSchema> {
        let inner = self.lock();
        for entry in inner.entries.values() {
            if entry.spec.group != group || entry.spec.version != version {
                continue;
            }
            if entry.spec.kind == kind {
                return Some(TypeSchema {
                    name: entry.kind_def.clone(),
                    definitions: Arc::clone(&entry.kind_schema),
                });
            }
            if entry.spec.list_kind == kind {
                let definitions =
                    schema::closure(&[&entry.own, &inner.pool], [entry.list_def.as_str()]);
                return Some(TypeSchema {
                    name: entry.list_def.clone(),
                    definitions: Arc::new(definitions),
                });
            }
        }
        let wanted = schema::gvk(group, version, kind);
        let name = inner.pool.iter().find_map(|(name, definition)| {
            definition
                .get(GVK_EXTENSION)
                .and_then(Value::as_array)
                .is_some_and(|gvks| gvks.contains(&wanted))
                .then(|| name.clone())
        })?;
        let definitions = schema::closure(&[&inner.pool], [name.as_str()]);
        Some(TypeSchema {
            name,
            definitions: Arc::new(definitions),
        })
    }

    /// The `/openapi/v3` root document.
    pub(crate) fn v3_root(&self) -> Arc<Doc> {
        let mut inner = self.lock();
        if let Some(doc) = &inner.cache.root {
            return Arc::clone(doc);
        }
        let mut paths = Map::new();
        for key in document_keys(&inner) {
            let Some(doc) = group_doc(&mut inner, &key) else {
                continue;
            };
            let url = format!("/openapi/v3/{key}?hash={}", doc.etag);
            paths.insert(key, json!({ "serverRelativeURL": url }));
        }
        let doc = Arc::new(Doc::json(&json!({ "paths": paths })));
        inner.cache.root = Some(Arc::clone(&doc));
        doc
    }

    /// The document of one group-version path (`api/v1`), if it exists.
    pub(crate) fn v3_group(&self, key: &str) -> Option<Arc<Doc>> {
        let mut inner = self.lock();
        group_doc(&mut inner, key)
    }

    /// The `/openapi/v2` document as JSON.
    pub(crate) fn v2_json(&self) -> Arc<Doc> {
        let mut inner = self.lock();
        v2_doc(&mut inner)
    }

    /// The `/openapi/v2` document as gnostic protobuf; the ETag is the
    /// JSON's, as in Go.
    pub(crate) fn v2_proto(&self) -> Arc<Doc> {
        let mut inner = self.lock();
        if let Some(doc) = &inner.cache.v2_proto {
            return Arc::clone(doc);
        }
        let json_doc = v2_doc(&mut inner);
        // Invariant: the v2 document was just serialised from a Value.
        let value: Value = serde_json::from_slice(&json_doc.body).expect("the v2 document is JSON");
        let doc = Arc::new(Doc {
            body: Bytes::from(crate::proto::encode_v2_document(&value)),
            etag: json_doc.etag.clone(),
            last_modified: json_doc.last_modified,
        });
        inner.cache.v2_proto = Some(Arc::clone(&doc));
        doc
    }
}

fn key_of(spec: &ResourceSpec) -> (String, String, String) {
    (
        spec.group.clone(),
        spec.version.clone(),
        spec.resource.clone(),
    )
}

fn list_name(kind_def: &str, kind: &str, list_kind: &str) -> String {
    kind_def.strip_suffix(kind).map_or_else(
        || format!("{kind_def}List"),
        |prefix| format!("{prefix}{list_kind}"),
    )
}

fn refresh_kind_schemas(inner: &mut Inner) {
    let pool = &inner.pool;
    for entry in inner.entries.values_mut() {
        let definitions = schema::closure(&[&entry.own, pool], [entry.kind_def.as_str()]);
        entry.kind_schema = Arc::new(definitions);
    }
}

/// Every document key the root lists: `api`, `api/v1`, `apis`, the built-in
/// groups (`apis/<group>`), each served group version and `version`.
fn document_keys(inner: &Inner) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    keys.insert("apis".to_owned());
    keys.insert("version".to_owned());
    for entry in inner.entries.values() {
        keys.insert(group_version_path(&entry.spec.group, &entry.spec.version));
        if entry.spec.group.is_empty() {
            keys.insert("api".to_owned());
        } else if !entry.custom {
            keys.insert(format!("apis/{}", entry.spec.group));
        }
    }
    keys
}

fn entry_routes(entry: &Entry) -> Vec<Route> {
    if entry.custom {
        routes::custom_routes(&entry.spec, &entry.kind_def, &entry.list_def)
    } else {
        routes::builtin_routes(&entry.spec, &entry.kind_def, &entry.list_def)
    }
}

/// Builds (or takes from the cache) the v3 document of a key.
fn group_doc(inner: &mut Inner, key: &str) -> Option<Arc<Doc>> {
    if let Some(doc) = inner.cache.groups.get(key) {
        return Some(Arc::clone(doc));
    }
    if !document_keys(inner).contains(key) {
        return None;
    }
    let mut routes: Vec<Route> = Vec::new();
    let mut pools: Vec<&Definitions> = Vec::new();
    let mut cross: Vec<(String, String)> = vec![(String::new(), "v1".to_owned())];
    match key {
        "api" => routes.push(routes::api_route()),
        "apis" => routes.push(routes::apis_route()),
        "version" => routes.push(routes::version_route()),
        _ => {
            let parts: Vec<&str> = key.split('/').collect();
            match parts.as_slice() {
                ["apis", group] => routes.push(routes::group_route(group)),
                ["api", version] | ["apis", _, version] => {
                    let group = if parts.len() == 3 { parts[1] } else { "" };
                    let mut builtin = false;
                    for entry in inner.entries.values() {
                        if entry.spec.group == group && entry.spec.version == *version {
                            routes.extend(entry_routes(entry));
                            pools.push(&entry.own);
                            builtin |= !entry.custom;
                        }
                    }
                    if builtin {
                        routes.push(routes::discovery_route(group, version));
                    }
                    if !(group.is_empty() && *version == "v1") {
                        cross.push((group.to_owned(), (*version).to_owned()));
                    }
                }
                _ => return None,
            }
        }
    }
    pools.push(&inner.pool);
    let value = document::v3_document(&inner.version, &routes, &pools, &cross);
    let doc = Arc::new(Doc::json(&value));
    inner.cache.groups.insert(key.to_owned(), Arc::clone(&doc));
    Some(doc)
}

fn v2_doc(inner: &mut Inner) -> Arc<Doc> {
    if let Some(doc) = &inner.cache.v2 {
        return Arc::clone(doc);
    }
    let mut routes: Vec<Route> = vec![routes::apis_route(), routes::version_route()];
    let mut pools: Vec<&Definitions> = Vec::new();
    let mut group_versions: BTreeSet<(String, String)> = BTreeSet::new();
    let mut builtin_gvs: BTreeSet<(String, String)> = BTreeSet::new();
    let mut builtin_groups: BTreeSet<String> = BTreeSet::new();
    for entry in inner.entries.values() {
        routes.extend(entry_routes(entry));
        pools.push(&entry.own_v2);
        let gv = (entry.spec.group.clone(), entry.spec.version.clone());
        group_versions.insert(gv.clone());
        if !entry.custom {
            builtin_gvs.insert(gv);
            builtin_groups.insert(entry.spec.group.clone());
        }
    }
    for (group, version) in &builtin_gvs {
        routes.push(routes::discovery_route(group, version));
    }
    for group in &builtin_groups {
        if group.is_empty() {
            routes.push(routes::api_route());
        } else {
            routes.push(routes::group_route(group));
        }
    }
    group_versions.insert((String::new(), "v1".to_owned()));
    let cross: Vec<(String, String)> = group_versions.into_iter().collect();
    pools.push(&inner.pool);
    let value = document::v2_document(&inner.version, &routes, &pools, &cross);
    let doc = Arc::new(Doc::json(&value));
    inner.cache.v2 = Some(Arc::clone(&doc));
    doc
}
