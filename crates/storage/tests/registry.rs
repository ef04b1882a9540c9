//! The generic registry `Store` over the memory backend: metadata rules,
//! namespaces, generateName, validation, optimistic concurrency,
//! create-on-update, generation, finalizers, graceful deletion, garbage
//! collection finalizers, dry run, selectors, and the exact Status
//! messages clients see.

// Updaters answer StatusError, as the store's API does.

use std::sync::Arc;

use kapi_core::selector::{FieldSelector, LabelSelector};
use kapi_core::{StatusError, StatusReason};
use kapi_storage::memory::MemoryBackend;
use kapi_storage::registry::{
    CreateOptions, DeleteOptions, RequestContext, Store, Strategy, UpdateOptions,
};
use kapi_storage::{GetOptions, ListOptions, ObjectStore};
use serde_json::{Value, json};

/// ConfigMaps: namespaced, strict updates.
#[derive(Debug)]
struct ConfigMaps;

impl Strategy for ConfigMaps {
    fn namespace_scoped(&self) -> bool {
        true
    }
    fn allow_create_on_update(&self) -> bool {
        false
    }
    fn allow_unconditional_update(&self) -> bool {
        false
    }
}

/// A cluster-scoped, spec-carrying resource with create on update,
/// unconditional updates, generation and graceful deletion.
#[derive(Debug)]
struct Widgets;

impl Strategy for Widgets {
    fn namespace_scoped(&self) -> bool {
        false
    }
    fn allow_create_on_update(&self) -> bool {
        true
    }
    fn allow_unconditional_update(&self) -> bool {
        true
    }
    fn prepare_for_create(&self, object: &mut Value) {
        if let Some(map) = object.as_object_mut() {
            map.remove("status");
        }
    }
    fn tracks_generation(&self) -> bool {
        true
    }
    fn supports_graceful_delete(&self) -> bool {
        true
    }
    fn check_graceful_delete(&self, _object: &Value, grace: &mut Option<i64>) -> bool {
        grace.get_or_insert(30);
        true
    }
    fn warnings_on_create(&self, _object: &Value) -> Vec<String> {
        vec!["widgets are experimental".to_owned()]
    }
}

fn stores() -> (Store, Store) {
    let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
    (
        Store::new(
            storage.clone(),
            "",
            "configmaps",
            "ConfigMap",
            Arc::new(ConfigMaps),
        ),
        Store::new(
            storage,
            "example.com",
            "widgets",
            "Widget",
            Arc::new(Widgets),
        ),
    )
}

fn configmap(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
}

fn widget(name: &str) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"size": 1}, "status": {"ok": true}})
}

fn ns() -> RequestContext {
    RequestContext::new("default")
}

fn check_err<T: std::fmt::Debug>(
    result: Result<T, StatusError>,
    code: u16,
    reason: StatusReason,
    message: &str,
) {
    let err = result.expect_err("the call should fail");
    assert_eq!(
        (err.code().as_u16(), err.reason(), err.message()),
        (code, reason, message)
    );
}

fn rv(object: &Value) -> &str {
    object["metadata"]["resourceVersion"].as_str().unwrap()
}

#[tokio::test]
async fn create_fills_system_fields_and_namespace() {
    let (configmaps, widgets) = stores();
    let created = configmaps
        .create(&ns(), configmap("a"), &CreateOptions::default())
        .await
        .unwrap();
    let meta = &created["metadata"];
    assert_eq!(meta["namespace"], "default");
    assert_eq!(meta["uid"].as_str().unwrap().len(), 36);
    let created_at = meta["creationTimestamp"].as_str().unwrap();
    assert!(
        created_at.ends_with('Z') && created_at.len() == 20,
        "{created_at}"
    );
    assert!(
        meta.get("generation").is_none(),
        "configmaps do not track generation"
    );
    assert!(!rv(&created).is_empty());
    let read = configmaps
        .get(&ns(), "a", &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(read, created);

    // Cluster-scoped: the namespace is cleared; warnings are collected.
    let ctx = RequestContext::cluster();
    let mut body = widget("w");
    body["metadata"]["namespace"] = json!("default");
    let created = widgets
        .create(&ctx, body, &CreateOptions::default())
        .await
        .unwrap();
    assert!(created["metadata"].get("namespace").is_none());
    assert_eq!(created["metadata"]["generation"], 1);
    assert!(created.get("status").is_none(), "prepare_for_create ran");
    assert_eq!(ctx.warnings(), ["widgets are experimental"]);
}

#[tokio::test]
async fn create_errors_match_kubernetes() {
    let (configmaps, _) = stores();
    let create = |ctx: RequestContext, body: Value| {
        let configmaps = configmaps.clone();
        async move {
            configmaps
                .create(&ctx, body, &CreateOptions::default())
                .await
        }
    };
    create(ns(), configmap("x")).await.unwrap();
    check_err(
        create(ns(), configmap("x")).await,
        409,
        StatusReason::AlreadyExists,
        r#"configmaps "x" already exists"#,
    );
    let mut other = configmap("y");
    other["metadata"]["namespace"] = json!("other");
    check_err(
        create(ns(), other).await,
        400,
        StatusReason::BadRequest,
        "the namespace of the provided object does not match the namespace sent on the request",
    );
    check_err(
        create(ns(), configmap("Bad_Name")).await,
        422,
        StatusReason::Invalid,
        r#"ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
    );
    check_err(
        create(ns(), json!({"metadata": {}})).await,
        422,
        StatusReason::Invalid,
        r#"ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required"#,
    );
    check_err(
        create(RequestContext::cluster(), configmap("z")).await,
        422,
        StatusReason::Invalid,
        r#"ConfigMap "z" is invalid: metadata.namespace: Required value"#,
    );
    let mut rv_set = configmap("r");
    rv_set["metadata"]["resourceVersion"] = json!("5");
    check_err(
        create(ns(), rv_set).await,
        500,
        StatusReason::Unknown,
        "resourceVersion should not be set on objects to be created",
    );
    check_err(
        create(ns(), json!([1])).await,
        400,
        StatusReason::BadRequest,
        "the object is not a JSON object",
    );

    let err = create(ns(), configmap("Bad_Name")).await.unwrap_err();
    let causes = serde_json::to_value(err.to_status()).unwrap()["details"]["causes"].clone();
    assert_eq!(causes[0]["reason"], "FieldValueInvalid");
    assert_eq!(causes[0]["field"], "metadata.name");
}

#[tokio::test]
async fn generate_name_and_dry_run() {
    let (configmaps, _) = stores();
    let body = json!({"metadata": {"generateName": "web-"}});
    let created = configmaps
        .create(&ns(), body.clone(), &CreateOptions::default())
        .await
        .unwrap();
    let name = created["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("web-") && name.len() == 9, "{name}");
    assert!(
        name[4..]
            .bytes()
            .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b))
    );

    let mut dry = CreateOptions::default();
    dry.dry_run = true;
    let would = configmaps
        .create(&ns(), configmap("dry"), &dry)
        .await
        .unwrap();
    assert_eq!(would["metadata"]["name"], "dry");
    assert!(would["metadata"]["uid"].is_string());
    assert!(would["metadata"].get("resourceVersion").is_none());
    check_err(
        configmaps.get(&ns(), "dry", &GetOptions::default()).await,
        404,
        StatusReason::NotFound,
        r#"configmaps "dry" not found"#,
    );
    // A dry run still sees conflicts.
    check_err(
        configmaps.create(&ns(), configmap(name), &dry).await,
        409,
        StatusReason::AlreadyExists,
        &format!(r#"configmaps "{name}" already exists"#),
    );
}

#[tokio::test]
async fn updates_follow_optimistic_concurrency() {
    let (configmaps, _) = stores();
    let created = configmaps
        .create(&ns(), configmap("x"), &CreateOptions::default())
        .await
        .unwrap();
    let opts = UpdateOptions::default();
    let replace = |body: Value| move |_: Option<Value>| Ok(body.clone());

    let mut changed = created.clone();
    changed["data"]["k"] = json!("v2");
    let (updated, created_now) = configmaps
        .update(&ns(), "x", replace(changed.clone()), &opts)
        .await
        .unwrap();
    assert!(!created_now);
    assert_eq!(updated["data"]["k"], "v2");
    assert_ne!(rv(&updated), rv(&created));
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);

    // The old resourceVersion now conflicts.
    check_err(
        configmaps
            .update(&ns(), "x", replace(changed.clone()), &opts)
            .await,
        409,
        StatusReason::Conflict,
        r#"Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again"#,
    );
    let mut no_rv = updated.clone();
    no_rv["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    check_err(
        configmaps.update(&ns(), "x", replace(no_rv), &opts).await,
        422,
        StatusReason::Invalid,
        r#"configmaps "x" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update"#,
    );
    let mut new_uid = updated.clone();
    new_uid["metadata"]["uid"] = json!("other");
    check_err(
        configmaps.update(&ns(), "x", replace(new_uid), &opts).await,
        422,
        StatusReason::Invalid,
        r#"ConfigMap "x" is invalid: metadata.uid: Invalid value: "other": field is immutable"#,
    );
    // System fields the client drops are carried over.
    let mut dropped = updated.clone();
    dropped["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("creationTimestamp");
    dropped["metadata"].as_object_mut().unwrap().remove("uid");
    let (same, _) = configmaps
        .update(&ns(), "x", replace(dropped), &opts)
        .await
        .unwrap();
    assert_eq!(same, updated, "a no-op update keeps the resourceVersion");

    check_err(
        configmaps
            .update(&ns(), "missing", replace(configmap("missing")), &opts)
            .await,
        404,
        StatusReason::NotFound,
        r#"configmaps "missing" not found"#,
    );
    let mut uid_precondition = opts.clone();
    uid_precondition.preconditions.uid = Some("nope".to_owned());
    let uid = updated["metadata"]["uid"].as_str().unwrap();
    check_err(
        configmaps
            .update(&ns(), "x", replace(updated.clone()), &uid_precondition)
            .await,
        409,
        StatusReason::Conflict,
        &format!(
            r#"Operation cannot be fulfilled on configmaps "x": StorageError: invalid object, Code: 4, Key: /registry/configmaps/default/x, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: nope, UID in object meta: {uid}"#
        ),
    );

    // Dry run: validated and answered, not written.
    let mut dry = opts.clone();
    dry.dry_run = true;
    let mut again = updated.clone();
    again["data"]["k"] = json!("dry");
    let (answered, _) = configmaps
        .update(&ns(), "x", replace(again), &dry)
        .await
        .unwrap();
    assert_eq!(answered["data"]["k"], "dry");
    let stored = configmaps
        .get(&ns(), "x", &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(stored, updated);
}

#[tokio::test]
async fn create_on_update_and_generation() {
    let (_, widgets) = stores();
    let ctx = RequestContext::cluster();
    let opts = UpdateOptions::default();
    let (created, was_created) = widgets
        .update(
            &ctx,
            "w",
            |existing| {
                assert!(existing.is_none());
                Ok(widget("w"))
            },
            &opts,
        )
        .await
        .unwrap();
    assert!(was_created);
    assert_eq!(created["metadata"]["generation"], 1);

    // Unconditional updates: no resourceVersion needed. Metadata changes keep
    // the generation; spec changes bump it.
    let edit = |f: fn(&mut Value)| {
        move |existing: Option<Value>| {
            let mut object = existing.unwrap();
            object["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("resourceVersion");
            f(&mut object);
            Ok(object)
        }
    };
    let (labelled, _) = widgets
        .update(
            &ctx,
            "w",
            edit(|o| o["metadata"]["labels"] = json!({"a": "b"})),
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(labelled["metadata"]["generation"], 1);
    let (resized, _) = widgets
        .update(&ctx, "w", edit(|o| o["spec"]["size"] = json!(2)), &opts)
        .await
        .unwrap();
    assert_eq!(resized["metadata"]["generation"], 2);
    let (status_only, _) = widgets
        .update(
            &ctx,
            "w",
            edit(|o| o["status"] = json!({"ok": false})),
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(status_only["metadata"]["generation"], 2);
}

#[tokio::test]
async fn deletes_with_preconditions_and_finalizers() {
    let (configmaps, _) = stores();
    let opts = DeleteOptions::default();
    check_err(
        configmaps.delete(&ns(), "nope", &opts).await,
        404,
        StatusReason::NotFound,
        r#"configmaps "nope" not found"#,
    );

    let created = configmaps
        .create(&ns(), configmap("plain"), &CreateOptions::default())
        .await
        .unwrap();
    let mut wrong_uid = opts.clone();
    wrong_uid.preconditions.uid = Some("u".to_owned());
    let uid = created["metadata"]["uid"].as_str().unwrap();
    check_err(
        configmaps.delete(&ns(), "plain", &wrong_uid).await,
        409,
        StatusReason::Conflict,
        &format!(
            r#"Operation cannot be fulfilled on ConfigMap "plain": the UID in the precondition (u) does not match the UID in record ({uid}). The object might have been deleted and then recreated"#
        ),
    );
    let mut wrong_rv = opts.clone();
    wrong_rv.preconditions.resource_version = Some("999".to_owned());
    check_err(
        configmaps.delete(&ns(), "plain", &wrong_rv).await,
        409,
        StatusReason::Conflict,
        &format!(
            r#"Operation cannot be fulfilled on ConfigMap "plain": the ResourceVersion in the precondition (999) does not match the ResourceVersion in record ({}). The object might have been modified"#,
            rv(&created)
        ),
    );
    let mut dry = opts.clone();
    dry.dry_run = true;
    let (_, gone) = configmaps.delete(&ns(), "plain", &dry).await.unwrap();
    assert!(gone);
    configmaps
        .get(&ns(), "plain", &GetOptions::default())
        .await
        .expect("dry run kept it");
    let (deleted, gone) = configmaps.delete(&ns(), "plain", &opts).await.unwrap();
    assert!(gone);
    assert_eq!(deleted["metadata"]["name"], "plain");

    // Finalizers hold the object with a deletionTimestamp.
    let mut body = configmap("held");
    body["metadata"]["finalizers"] = json!(["example.com/hold"]);
    configmaps
        .create(&ns(), body, &CreateOptions::default())
        .await
        .unwrap();
    let (pending, gone) = configmaps.delete(&ns(), "held", &opts).await.unwrap();
    assert!(!gone);
    assert!(pending["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(pending["metadata"]["deletionGracePeriodSeconds"], 0);
    // Deleting again answers the pending object.
    let (again, gone) = configmaps.delete(&ns(), "held", &opts).await.unwrap();
    assert!(!gone);
    assert_eq!(
        again["metadata"]["deletionTimestamp"],
        pending["metadata"]["deletionTimestamp"]
    );
    // No new finalizers while deleting.
    let mut more = pending.clone();
    more["metadata"]["finalizers"] = json!(["example.com/hold", "example.com/more"]);
    check_err(
        configmaps
            .update(
                &ns(),
                "held",
                move |_| Ok(more.clone()),
                &UpdateOptions::default(),
            )
            .await,
        422,
        StatusReason::Invalid,
        r#"ConfigMap "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/more"}"#,
    );
    // Removing the last finalizer deletes it.
    let mut released = pending.clone();
    released["metadata"]["finalizers"] = json!([]);
    let (answer, created) = configmaps
        .update(
            &ns(),
            "held",
            move |_| Ok(released.clone()),
            &UpdateOptions::default(),
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(answer["metadata"]["name"], "held");
    check_err(
        configmaps.get(&ns(), "held", &GetOptions::default()).await,
        404,
        StatusReason::NotFound,
        r#"configmaps "held" not found"#,
    );
}

#[tokio::test]
async fn propagation_policy_adds_gc_finalizers() {
    let (configmaps, _) = stores();
    let check_policy = |policy: &str, expected: Option<&str>| {
        let configmaps = configmaps.clone();
        let policy = policy.to_owned();
        let expected = expected.map(str::to_owned);
        async move {
            let name = format!("p-{}", policy.to_lowercase());
            configmaps
                .create(&ns(), configmap(&name), &CreateOptions::default())
                .await
                .unwrap();
            let mut opts = DeleteOptions::default();
            opts.propagation_policy = Some(policy.clone());
            let (object, gone) = configmaps.delete(&ns(), &name, &opts).await.unwrap();
            match expected {
                None => assert!(gone, "{policy}"),
                Some(finalizer) => {
                    assert!(!gone, "{policy}");
                    assert_eq!(
                        object["metadata"]["finalizers"],
                        json!([finalizer]),
                        "{policy}"
                    );
                }
            }
        }
    };
    check_policy("Background", None).await;
    check_policy("Orphan", Some("orphan")).await;
    check_policy("Foreground", Some("foregroundDeletion")).await;

    configmaps
        .create(&ns(), configmap("bad"), &CreateOptions::default())
        .await
        .unwrap();
    let mut opts = DeleteOptions::default();
    opts.propagation_policy = Some("Sometimes".to_owned());
    check_err(
        configmaps.delete(&ns(), "bad", &opts).await,
        422,
        StatusReason::Invalid,
        r#"DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sometimes": supported values: "Foreground", "Background", "Orphan", "nil""#,
    );
}

#[tokio::test]
async fn graceful_deletion_sets_deadline_then_shortens() {
    let (_, widgets) = stores();
    let ctx = RequestContext::cluster();
    widgets
        .create(&ctx, widget("g"), &CreateOptions::default())
        .await
        .unwrap();
    let (pending, gone) = widgets
        .delete(&ctx, "g", &DeleteOptions::default())
        .await
        .unwrap();
    assert!(!gone);
    assert_eq!(pending["metadata"]["deletionGracePeriodSeconds"], 30);
    assert_eq!(
        pending["metadata"]["generation"], 2,
        "graceful deletion bumps generation"
    );
    let mut now = DeleteOptions::default();
    now.grace_period_seconds = Some(0);
    let (_, gone) = widgets.delete(&ctx, "g", &now).await.unwrap();
    assert!(gone);
    assert!(
        widgets
            .get(&ctx, "g", &GetOptions::default())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn lists_select_and_delete_collections() {
    let (configmaps, _) = stores();
    for (namespace, name, app) in [
        ("default", "a", "web"),
        ("default", "b", "db"),
        ("other", "c", "web"),
    ] {
        let mut body = configmap(name);
        body["metadata"]["labels"] = json!({"app": app});
        configmaps
            .create(
                &RequestContext::new(namespace),
                body,
                &CreateOptions::default(),
            )
            .await
            .unwrap();
    }
    let names = |list: &kapi_storage::ObjectList| {
        list.items
            .iter()
            .map(|o| o.name().to_owned())
            .collect::<Vec<_>>()
    };
    let list = |ctx: RequestContext, labels: &str, fields: &str| {
        let configmaps = configmaps.clone();
        let mut options = ListOptions::default();
        options.predicate = configmaps.predicate(
            LabelSelector::parse(labels).unwrap(),
            FieldSelector::parse(fields).unwrap(),
        );
        async move { configmaps.list(&ctx, &options).await.unwrap() }
    };
    assert_eq!(names(&list(ns(), "", "").await), ["a", "b"]);
    assert_eq!(
        names(&list(RequestContext::cluster(), "", "").await),
        ["a", "b", "c"]
    );
    assert_eq!(
        names(&list(RequestContext::cluster(), "app=web", "").await),
        ["a", "c"]
    );
    assert_eq!(
        names(&list(RequestContext::cluster(), "", "metadata.namespace=other").await),
        ["c"]
    );
    assert_eq!(names(&list(ns(), "", "metadata.name=b").await), ["b"]);
    assert_eq!(
        names(&list(ns(), "app!=web", "metadata.name!=a").await),
        ["b"]
    );

    let mut options = ListOptions::default();
    options.predicate = configmaps.predicate(
        LabelSelector::parse("app=web").unwrap(),
        FieldSelector::everything(),
    );
    let deleted = configmaps
        .delete_collection(
            &RequestContext::cluster(),
            &DeleteOptions::default(),
            &options,
        )
        .await
        .unwrap();
    assert_eq!(names(&deleted), ["a", "c"]);
    assert_eq!(names(&list(RequestContext::cluster(), "", "").await), ["b"]);
}

#[tokio::test]
async fn keys_need_namespace_and_valid_names() {
    let (configmaps, widgets) = stores();
    check_err(
        configmaps
            .get(&RequestContext::cluster(), "x", &GetOptions::default())
            .await,
        400,
        StatusReason::BadRequest,
        "Namespace parameter required.",
    );
    check_err(
        configmaps.get(&ns(), "", &GetOptions::default()).await,
        400,
        StatusReason::BadRequest,
        "Name parameter required.",
    );
    check_err(
        configmaps.get(&ns(), "a/b", &GetOptions::default()).await,
        400,
        StatusReason::BadRequest,
        r#"Name parameter invalid: "a/b": may not contain '/'"#,
    );
    check_err(
        configmaps.get(&ns(), "..", &GetOptions::default()).await,
        400,
        StatusReason::BadRequest,
        r#"Name parameter invalid: "..": may not be '..'"#,
    );
    assert_eq!(configmaps.key(&ns(), "x").unwrap(), "/configmaps/default/x");
    assert_eq!(widgets.key(&ns(), "w").unwrap(), "/example.com/widgets/w");
    assert_eq!(
        configmaps
            .clone()
            .with_key_root("/registry-cm/")
            .key(&ns(), "x")
            .unwrap(),
        "/registry-cm/default/x"
    );
    check_err(
        widgets
            .get(&RequestContext::cluster(), "w", &GetOptions::default())
            .await,
        404,
        StatusReason::NotFound,
        r#"widgets.example.com "w" not found"#,
    );
}

/// ConfigMaps behind a watch cache: lists at "0", label selectors and the
/// sendInitialEvents contract come from memory and agree with storage.
#[tokio::test]
async fn a_store_with_a_watch_cache_serves_lists_and_watches_from_memory() {
    use futures::StreamExt as _;
    use kapi_storage::{CacherOptions, WatchEvent};

    let storage = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
    let plain = Store::new(
        storage.clone(),
        "",
        "configmaps",
        "ConfigMap",
        Arc::new(ConfigMaps),
    );
    let cached = Store::new(storage, "", "configmaps", "ConfigMap", Arc::new(ConfigMaps))
        .with_watch_cache(CacherOptions::default());
    let ctx = RequestContext::new("ns");
    for (name, app) in [("a", "web"), ("b", "db"), ("c", "web")] {
        cached
            .create(
                &ctx,
                json!({"metadata": {"name": name, "labels": {"app": app}}, "data": {}}),
                &CreateOptions::default(),
            )
            .await
            .unwrap();
    }
    cached.watch_cache().unwrap().wait_ready().await;

    let mut at_zero = ListOptions::default();
    at_zero.resource_version = "0".into();
    at_zero.predicate = cached.predicate(
        LabelSelector::parse("app=web").unwrap(),
        FieldSelector::everything(),
    );
    let from_cache = cached.list(&ctx, &at_zero).await.unwrap();
    let names: Vec<&str> = from_cache.items.iter().map(|o| o.name()).collect();
    assert_eq!(names, ["a", "c"]);
    let mut consistent = at_zero.clone();
    consistent.resource_version = String::new();
    let from_storage = plain.list(&ctx, &consistent).await.unwrap();
    assert_eq!(from_cache.items, from_storage.items);

    // A get at a resourceVersion is served by the cache too.
    let mut get = GetOptions::default();
    get.resource_version = "0".into();
    assert_eq!(
        cached.get(&ctx, "b", &get).await.unwrap()["metadata"]["labels"]["app"],
        "db"
    );
    let missing = cached.get(&ctx, "zz", &get).await.unwrap_err();
    assert_eq!(missing.message(), r#"configmaps "zz" not found"#);

    // sendInitialEvents=true, with bookmarks: the state, then the marker.
    for store in [&cached, &plain] {
        let mut watch_options = ListOptions::default();
        watch_options.send_initial_events = Some(true);
        watch_options.progress_notify = true;
        watch_options.resource_version_match =
            Some(kapi_storage::ResourceVersionMatch::NotOlderThan);
        let mut watch = store.watch(&ctx, &watch_options).await.unwrap();
        let mut added = Vec::new();
        loop {
            let event = tokio::time::timeout(std::time::Duration::from_secs(5), watch.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            match event {
                WatchEvent::Added(object) => added.push(object.name().to_owned()),
                WatchEvent::Bookmark {
                    initial_events_end, ..
                } => {
                    assert!(initial_events_end);
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(added, ["a", "b", "c"]);
    }
}
