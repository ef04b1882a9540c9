//! kube-rs, unmodified, against `kapi::testing::TestServer`: typed `Api<T>`
//! CRUD of the built-ins with kube-apiserver's errors (404, 409
//! AlreadyExists and Conflict, 422 Invalid), label selectors, pagination,
//! exact-version lists, finalizers, the three patch types and server-side
//! apply with conflicts; the runtime's watcher, reflector, metadata
//! watcher, event recorder and controller; discovery; and a
//! `#[derive(CustomResource)]` type installed as a CRD. Every expectation
//! is what kube-apiserver answers; each test runs on a server of its own,
//! and every wait is bounded by [`TIMEOUT`].

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use k8s_openapi::ByteString;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event as CoreV1Event, Namespace, ObjectReference, Secret, ServiceAccount,
};
use k8s_openapi::api::events::v1::Event as EventsV1Event;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kapi::testing::TestServer;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, ObjectMeta,
    PartialObjectMeta, Patch, PatchParams, PostParams, Preconditions, TypeMeta, VersionMatch,
};
use kube::core::Status;
use kube::core::response::StatusSummary;
use kube::discovery::{self, Discovery, Scope, verbs};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{reflector, watcher};
use kube::{Client, CustomResource, CustomResourceExt as _, Resource, ResourceExt as _};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The bound on every wait: server start-up, watch events, eventual state.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The custom resource of these tests: `widgets.kapi.test`, namespaced,
/// with a status subresource and the short name `wd`.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kapi.test",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    shortname = "wd"
)]
struct WidgetSpec {
    /// How many; the schema allows 0 to 10.
    #[schemars(range(min = 0, max = 10))]
    replicas: i32,
    /// Any colour.
    color: String,
}

/// What a widget controller would report.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct WidgetStatus {
    ready: bool,
    observed_generation: Option<i64>,
}

// ---------------------------------------------------------------------------
// Api<T> CRUD of the built-ins
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtins_live_and_die_through_typed_apis() {
    let server = start().await;
    let client = server.client();
    let ns = "default";

    let secret = Secret {
        metadata: meta("creds"),
        data: Some([("password".to_owned(), ByteString(b"s3cr3t".to_vec()))].into()),
        ..Secret::default()
    };
    round_trip(
        &Api::namespaced(client.clone(), ns),
        secret,
        Deleted::Status,
    )
    .await;

    let account = ServiceAccount {
        metadata: meta("robot"),
        ..ServiceAccount::default()
    };
    round_trip(
        &Api::namespaced(client.clone(), ns),
        account,
        Deleted::Object,
    )
    .await;

    let lease = Lease {
        metadata: meta("leader"),
        spec: Some(LeaseSpec {
            holder_identity: Some("node-a".to_owned()),
            lease_duration_seconds: Some(15),
            ..LeaseSpec::default()
        }),
    };
    round_trip(&Api::namespaced(client.clone(), ns), lease, Deleted::Status).await;

    let role = Role {
        metadata: meta("reader"),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["configmaps".to_owned()]),
            verbs: vec!["get".to_owned(), "list".to_owned()],
            ..PolicyRule::default()
        }]),
    };
    round_trip(&Api::namespaced(client.clone(), ns), role, Deleted::Status).await;

    let binding = RoleBinding {
        metadata: meta("reader-binding"),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_owned(),
            kind: "Role".to_owned(),
            name: "reader".to_owned(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_owned(),
            name: "robot".to_owned(),
            namespace: Some(ns.to_owned()),
            ..Subject::default()
        }]),
    };
    round_trip(
        &Api::namespaced(client.clone(), ns),
        binding,
        Deleted::Status,
    )
    .await;

    let namespace = Namespace {
        metadata: meta("scratch"),
        ..Namespace::default()
    };
    round_trip(&Api::all(client.clone()), namespace, Deleted::Terminating).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmaps_list_by_label_selector() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let objects = [
        ("a", &[("app", "demo"), ("tier", "front")][..]),
        ("b", &[("app", "demo"), ("tier", "back")]),
        ("c", &[("app", "other"), ("tier", "front")]),
        ("d", &[("app", "demo")]),
        ("e", &[]),
    ];
    for (name, labels) in objects {
        let mut configmap = configmap(name, &[("v", "1")]);
        configmap.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        api.create(&PostParams::default(), &configmap)
            .await
            .expect("create");
    }
    // (selector, the names listed, in key order)
    let cases: &[(&str, &[&str])] = &[
        ("", &["a", "b", "c", "d", "e"]),
        ("app=demo", &["a", "b", "d"]),
        ("app==demo", &["a", "b", "d"]),
        ("app!=demo", &["c", "e"]),
        ("tier in (front,back)", &["a", "b", "c"]),
        ("tier notin (front)", &["b", "d", "e"]),
        ("tier", &["a", "b", "c"]),
        ("!tier", &["d", "e"]),
        ("app=demo,tier=front", &["a"]),
        ("app=nothing", &[]),
    ];
    for (selector, expected) in cases {
        let listed = api
            .list(&ListParams::default().labels(selector))
            .await
            .unwrap_or_else(|err| panic!("list {selector:?}: {err}"));
        assert_eq!(names(&listed.items), *expected, "selector {selector:?}");
        assert!(listed.metadata.resource_version.is_some());
    }

    let err = api_error(api.list(&ListParams::default().labels("app in (")).await);
    assert_eq!(
        (err.code, err.reason.as_str()),
        (400, "BadRequest"),
        "a malformed selector: {err:?}"
    );

    // across namespaces
    let namespace = Namespace {
        metadata: meta("elsewhere"),
        ..Namespace::default()
    };
    Api::<Namespace>::all(server.client())
        .create(&PostParams::default(), &namespace)
        .await
        .expect("create a namespace");
    let mut far = configmap("z", &[]);
    far.metadata.labels = Some([("app".to_owned(), "demo".to_owned())].into());
    Api::<ConfigMap>::namespaced(server.client(), "elsewhere")
        .create(&PostParams::default(), &far)
        .await
        .expect("create in another namespace");
    let everywhere: Api<ConfigMap> = Api::all(server.client());
    let listed = everywhere
        .list(&ListParams::default().labels("app=demo"))
        .await
        .expect("list in all namespaces");
    let found: Vec<_> = listed
        .items
        .iter()
        .map(|cm| format!("{}/{}", cm.namespace().unwrap_or_default(), cm.name_any()))
        .collect();
    assert_eq!(
        found,
        ["default/a", "default/b", "default/d", "elsewhere/z"]
    );

    // delete_collection answers the deleted objects
    let deleted = api
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("app=demo"),
        )
        .await
        .expect("delete_collection")
        .left_or_else(|status| panic!("expected the deleted list, got {status:?}"));
    assert_eq!(names(&deleted.items), ["a", "b", "d"]);
    let left = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(names(&left.items), ["c", "e"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmaps_page_with_limit_and_continue() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for (name, app) in [
        ("a", "demo"),
        ("b", "demo"),
        ("c", "other"),
        ("d", "demo"),
        ("e", "other"),
    ] {
        let mut configmap = configmap(name, &[]);
        configmap.metadata.labels = Some([("app".to_owned(), app.to_owned())].into());
        api.create(&PostParams::default(), &configmap)
            .await
            .expect("create");
    }
    // (selector, pages as (names, remainingItemCount)); kube-apiserver
    // counts the remaining items only when there is no selector.
    let cases: &[(&str, &[Page])] = &[
        (
            "",
            &[
                (&["a", "b"], Some(3)),
                (&["c", "d"], Some(1)),
                (&["e"], None),
            ],
        ),
        ("app=demo", &[(&["a", "b"], None), (&["d"], None)]),
        ("app=other", &[(&["c", "e"], None)]),
    ];
    for (selector, pages) in cases {
        let mut token: Option<String> = None;
        for (i, (expected, remaining)) in pages.iter().enumerate() {
            let mut params = ListParams::default().labels(selector).limit(2);
            if let Some(token) = &token {
                params = params.continue_token(token);
            }
            let page = api.list(&params).await.expect("list a page");
            assert_eq!(names(&page.items), *expected, "{selector:?} page {i}");
            assert_eq!(
                page.metadata.remaining_item_count, *remaining,
                "{selector:?} page {i} remainingItemCount"
            );
            token = page.metadata.continue_.clone();
            let last = i + 1 == pages.len();
            assert_eq!(token.is_none(), last, "{selector:?} page {i}: {token:?}");
        }
    }
    // An empty last page when the limit divides the matches exactly.
    let page = api
        .list(&ListParams::default().limit(5))
        .await
        .expect("list");
    assert_eq!(names(&page.items), ["a", "b", "c", "d", "e"]);
    assert_eq!(page.metadata.continue_, None);

    let err = api_error(
        api.list(&ListParams::default().limit(2).continue_token("not-a-token"))
            .await,
    );
    assert_eq!(
        (err.code, err.reason.as_str()),
        (400, "BadRequest"),
        "a malformed continue token: {err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmaps_replace_patch_and_delete() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let created = api
        .create(
            &PostParams::default(),
            &configmap("settings", &[("a", "1")]),
        )
        .await
        .expect("create");
    let uid = created.uid().expect("uid");

    // replace with the current resourceVersion
    let mut next = created.clone();
    next.data = Some(data(&[("a", "2")]));
    let replaced = api
        .replace("settings", &PostParams::default(), &next)
        .await
        .expect("replace");
    assert_eq!(replaced.data, Some(data(&[("a", "2")])));
    assert_ne!(replaced.resource_version(), created.resource_version());

    // the three patch types kube-rs sends, each on the previous result
    let merge = Patch::Merge(json!({"data": {"b": "2"}, "metadata": {"labels": {"m": "y"}}}));
    let merged = api
        .patch("settings", &PatchParams::default(), &merge)
        .await
        .expect("merge patch");
    assert_eq!(merged.data, Some(data(&[("a", "2"), ("b", "2")])));
    assert_eq!(merged.labels().get("m").map(String::as_str), Some("y"));

    let json_patch = Patch::<()>::Json(
        serde_json::from_value(json!([
            {"op": "test", "path": "/data/a", "value": "2"},
            {"op": "add", "path": "/data/c", "value": "3"},
            {"op": "remove", "path": "/data/b"},
        ]))
        .expect("a JSON patch"),
    );
    let patched = api
        .patch("settings", &PatchParams::default(), &json_patch)
        .await
        .expect("JSON patch");
    assert_eq!(patched.data, Some(data(&[("a", "2"), ("c", "3")])));

    let strategic = Patch::Strategic(json!({"data": {"a": null, "d": "4"}}));
    let patched = api
        .patch("settings", &PatchParams::default(), &strategic)
        .await
        .expect("strategic merge patch");
    assert_eq!(patched.data, Some(data(&[("c", "3"), ("d", "4")])));

    // a JSON patch whose test fails: 422 with a generic message
    let failing = Patch::<()>::Json(
        serde_json::from_value(json!([{"op": "test", "path": "/data/c", "value": "nope"}]))
            .expect("a JSON patch"),
    );
    let err = api_error(
        api.patch("settings", &PatchParams::default(), &failing)
            .await,
    );
    check_status(
        &err,
        422,
        "Invalid",
        "the server rejected our request due to an error in our request",
    );

    // dry run changes nothing
    let dry = api
        .patch(
            "settings",
            &PatchParams::default().dry_run(),
            &Patch::Merge(json!({"data": {"dry": "run"}})),
        )
        .await
        .expect("dry-run patch");
    assert!(dry.data.as_ref().is_some_and(|d| d.contains_key("dry")));
    let current = api.get("settings").await.expect("get");
    assert_eq!(current.data, Some(data(&[("c", "3"), ("d", "4")])));
    assert_eq!(current.resource_version(), patched.resource_version());

    // a stale resourceVersion
    let err = api_error(
        api.replace("settings", &PostParams::default(), &created)
            .await,
    );
    check_status(
        &err,
        409,
        "Conflict",
        r#"Operation cannot be fulfilled on configmaps "settings": the object has been modified; please apply your changes to the latest version and try again"#,
    );

    // delete preconditions; the message names the kind, not the resource
    let stale = created.resource_version().expect("rv");
    let latest = current.resource_version().expect("rv");
    let cases = [
        (
            Preconditions {
                resource_version: Some(stale.clone()),
                uid: None,
            },
            format!(
                "the ResourceVersion in the precondition ({stale}) does not match the \
                 ResourceVersion in record ({latest}). The object might have been modified"
            ),
        ),
        (
            Preconditions {
                resource_version: None,
                uid: Some("not-the-uid".to_owned()),
            },
            format!(
                "the UID in the precondition (not-the-uid) does not match the UID in record \
                 ({uid}). The object might have been deleted and then recreated"
            ),
        ),
    ];
    for (preconditions, reason) in cases {
        let params = DeleteParams {
            preconditions: Some(preconditions),
            ..DeleteParams::default()
        };
        let err = api_error(api.delete("settings", &params).await);
        check_status(
            &err,
            409,
            "Conflict",
            &format!(r#"Operation cannot be fulfilled on ConfigMap "settings": {reason}"#),
        );
    }

    // delete answers a Status for configmaps
    let status = api
        .delete("settings", &DeleteParams::default())
        .await
        .expect("delete")
        .right_or_else(|object| panic!("expected a Status, got {object:?}"));
    check_success(&status, "settings", "", "configmaps", &uid);

    for result in [
        api.get("settings").await.map(drop),
        api.replace("settings", &PostParams::default(), &current)
            .await
            .map(drop),
        api.delete("settings", &DeleteParams::default())
            .await
            .map(drop),
    ] {
        check_status(
            &api_error(result),
            404,
            "NotFound",
            r#"configmaps "settings" not found"#,
        );
    }
    assert!(api.get_opt("settings").await.expect("get_opt").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmap_errors_carry_kube_apiserver_status() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &configmap("taken", &[]))
        .await
        .expect("create");

    let err = api_error(api.get("missing").await);
    check_status(&err, 404, "NotFound", r#"configmaps "missing" not found"#);
    let details = err.details.as_ref().expect("details");
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("missing", "configmaps")
    );

    let err = api_error(
        api.create(&PostParams::default(), &configmap("taken", &[]))
            .await,
    );
    check_status(
        &err,
        409,
        "AlreadyExists",
        r#"configmaps "taken" already exists"#,
    );

    let subdomain = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
        characters, '-' or '.', and must start and end with an alphanumeric character (e.g. \
        'example.com', regex used for validation is \
        '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    let err = api_error(
        api.create(&PostParams::default(), &configmap("Not_Valid", &[]))
            .await,
    );
    check_status(
        &err,
        422,
        "Invalid",
        &format!(
            r#"ConfigMap "Not_Valid" is invalid: metadata.name: Invalid value: "Not_Valid": {subdomain}"#
        ),
    );
    let details = err.details.as_ref().expect("details");
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("Not_Valid", "ConfigMap")
    );
    let causes: Vec<_> = details
        .causes
        .iter()
        .map(|c| (c.reason.as_str(), c.field.as_str()))
        .collect();
    assert_eq!(causes, [("FieldValueInvalid", "metadata.name")]);

    // a namespace that does not exist
    let elsewhere: Api<ConfigMap> = Api::namespaced(server.client(), "nowhere");
    let err = api_error(
        elsewhere
            .create(&PostParams::default(), &configmap("x", &[]))
            .await,
    );
    check_status(&err, 404, "NotFound", r#"namespaces "nowhere" not found"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizers_hold_a_deleted_configmap() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let mut held = configmap("held", &[("v", "0")]);
    held.metadata.finalizers = Some(vec!["kapi.test/hold".to_owned()]);
    let created = api
        .create(&PostParams::default(), &held)
        .await
        .expect("create");
    let uid = created.uid().expect("uid");

    // a pending finalizer: the delete answers the object, not a Status
    let deleting = api
        .delete("held", &DeleteParams::default())
        .await
        .expect("delete")
        .left_or_else(|status| panic!("expected the object, got {status:?}"));
    assert!(deleting.meta().deletion_timestamp.is_some());
    assert_eq!(deleting.finalizers(), ["kapi.test/hold"]);
    let got = api.get("held").await.expect("still there");
    assert_eq!(
        got.meta().deletion_timestamp,
        deleting.meta().deletion_timestamp
    );

    // no new finalizers while deleting
    let err = api_error(
        api.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"finalizers": ["kapi.test/hold", "kapi.test/other"]}}),
            ),
        )
        .await,
    );
    check_status(
        &err,
        422,
        "Invalid",
        r#"ConfigMap "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"kapi.test/other"}"#,
    );

    // other updates go through; removing the last finalizer deletes it
    set_value(&api, "held", "1").await;
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::<()>::Json(
            serde_json::from_value(json!([
                {"op": "test", "path": "/metadata/finalizers", "value": ["kapi.test/hold"]},
                {"op": "remove", "path": "/metadata/finalizers"},
            ]))
            .expect("a JSON patch"),
        ),
    )
    .await
    .expect("remove the finalizer");
    bounded(
        "the configmap to go",
        await_condition(api.clone(), "held", conditions::is_deleted(&uid)),
    )
    .await
    .expect("await deletion");
    check_status(
        &api_error(api.get("held").await),
        404,
        "NotFound",
        r#"configmaps "held" not found"#,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_at_an_exact_resource_version_sees_the_past() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let first = api
        .create(&PostParams::default(), &configmap("first", &[("v", "0")]))
        .await
        .expect("create");
    let then = api.list(&ListParams::default()).await.expect("list");
    let then_rv = then.metadata.resource_version.clone().expect("rv");
    api.create(&PostParams::default(), &configmap("second", &[]))
        .await
        .expect("create");
    set_value(&api, "first", "1").await;

    let params = ListParams::default()
        .at(&then_rv)
        .matching(VersionMatch::Exact);
    let past = api.list(&params).await.expect("list at an exact version");
    assert_eq!(names(&past.items), ["first"]);
    assert_eq!(value(&past.items[0]), "0");
    assert_eq!(past.items[0].resource_version(), first.resource_version());
    assert_eq!(
        past.metadata.resource_version.as_deref(),
        Some(then_rv.as_str())
    );

    // NotOlderThan and the default both see the present
    for params in [
        ListParams::default(),
        ListParams::default()
            .at(&then_rv)
            .matching(VersionMatch::NotOlderThan),
        ListParams::default().match_any(),
    ] {
        let now = api.list(&params).await.expect("list");
        assert_eq!(names(&now.items), ["first", "second"], "{params:?}");
        assert_eq!(value(&now.items[0]), "1", "{params:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_and_strategic_patches_differ_on_lists_with_a_merge_key() {
    let server = start().await;
    let api: Api<ServiceAccount> = Api::namespaced(server.client(), "default");
    let account = ServiceAccount {
        metadata: meta("robot"),
        secrets: Some(vec![reference("one")]),
        ..ServiceAccount::default()
    };
    api.create(&PostParams::default(), &account)
        .await
        .expect("create");

    // `secrets` merges on `name` (patchStrategy=merge): a strategic patch
    // adds to it, a JSON merge patch replaces it.
    let strategic = Patch::Strategic(json!({"secrets": [{"name": "two"}]}));
    let patched = api
        .patch("robot", &PatchParams::default(), &strategic)
        .await
        .expect("strategic patch");
    assert_eq!(secret_names(&patched), ["one", "two"]);

    let merge = Patch::Merge(json!({"secrets": [{"name": "three"}]}));
    let patched = api
        .patch("robot", &PatchParams::default(), &merge)
        .await
        .expect("merge patch");
    assert_eq!(secret_names(&patched), ["three"]);
}

// ---------------------------------------------------------------------------
// kube::runtime: watcher, reflector, metadata
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_reports_list_then_changes() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    create_labelled(&api, "pre", "watched", "0").await;
    create_labelled(&api, "other", "ignored", "0").await;

    let config = watcher::Config::default().labels("app=watched");
    let mut events = watcher(api.clone(), config).boxed();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe(&next(&mut events).await));
    }
    assert_eq!(seen, ["Init", "InitApply(pre v=0)", "InitDone"]);

    let mut seen = Vec::new();
    create_labelled(&api, "a", "watched", "1").await;
    seen.push(describe(&next(&mut events).await));
    create_labelled(&api, "unseen", "ignored", "1").await;
    set_value(&api, "a", "2").await;
    seen.push(describe(&next(&mut events).await));
    // leaving the selector is a delete for this watch
    api.patch(
        "pre",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "gone"}}})),
    )
    .await
    .expect("relabel");
    seen.push(describe(&next(&mut events).await));
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    seen.push(describe(&next(&mut events).await));
    assert_eq!(
        seen,
        [
            "Apply(a v=1)",
            "Apply(a v=2)",
            "Delete(pre v=0)",
            "Delete(a v=2)"
        ]
    );
}

/// A watch the server ends after `timeoutSeconds` is resumed from the last
/// resourceVersion: no new list, no missed event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_resumes_after_the_server_ends_a_watch() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    create_labelled(&api, "pre", "watched", "0").await;
    let config = watcher::Config::default().labels("app=watched").timeout(1);
    let mut events = watcher(api.clone(), config).boxed();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe(&next(&mut events).await));
    }
    assert_eq!(seen, ["Init", "InitApply(pre v=0)", "InitDone"]);

    // Outlive a few server-side watch timeouts, changing things meanwhile.
    for round in 1..=3 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let name = format!("after-{round}");
        create_labelled(&api, &name, "watched", "1").await;
        assert_eq!(
            describe(&next(&mut events).await),
            format!("Apply({name} v=1)")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflector_store_follows_changes_with_list_watch() {
    reflector_store_follows_changes(watcher::Config::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflector_store_follows_changes_with_streaming_lists() {
    reflector_store_follows_changes(watcher::Config::default().streaming_lists()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflector_store_follows_changes_with_any_semantic_and_pages_of_one() {
    reflector_store_follows_changes(watcher::Config::default().any_semantic().page_size(1)).await;
}

/// A reflector's store over `app=cached` configmaps: the initial list, then
/// creates, an update, a delete, and an object leaving the selector.
async fn reflector_store_follows_changes(config: watcher::Config) {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    create_labelled(&api, "first", "cached", "0").await;
    create_labelled(&api, "zeroth", "cached", "0").await;
    create_labelled(&api, "outsider", "other", "0").await;

    let (store, writer) = reflector::store::<ConfigMap>();
    let mut stream = reflector(writer, watcher(api.clone(), config.labels("app=cached"))).boxed();
    let contents = || {
        let mut contents: Vec<String> = store
            .state()
            .iter()
            .map(|cm| format!("{} v={}", cm.name_any(), value(cm)))
            .collect();
        contents.sort();
        contents
    };
    drive_until(&mut stream, "the initial list", || {
        contents() == ["first v=0", "zeroth v=0"]
    })
    .await;
    assert!(
        store.wait_until_ready().await.is_ok(),
        "ready after the first list"
    );

    create_labelled(&api, "second", "cached", "1").await;
    create_labelled(&api, "third", "cached", "1").await;
    drive_until(&mut stream, "two creates", || {
        contents() == ["first v=0", "second v=1", "third v=1", "zeroth v=0"]
    })
    .await;

    set_value(&api, "second", "2").await;
    drive_until(&mut stream, "an update", || {
        contents() == ["first v=0", "second v=2", "third v=1", "zeroth v=0"]
    })
    .await;

    api.delete("first", &DeleteParams::default())
        .await
        .expect("delete");
    api.patch(
        "third",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "other"}}})),
    )
    .await
    .expect("relabel");
    drive_until(&mut stream, "a delete and a relabel", || {
        contents() == ["second v=2", "zeroth v=0"]
    })
    .await;

    let key = reflector::ObjectRef::new("second").within("default");
    let cached = store.get(&key).expect("second in the store");
    let fresh = api.get("second").await.expect("get");
    assert_eq!(cached.resource_version(), fresh.resource_version());
    assert_eq!(cached.uid(), fresh.uid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_list_get_and_watch() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    create_labelled(&api, "m1", "meta", "0").await;
    create_labelled(&api, "m2", "meta", "0").await;
    create_labelled(&api, "m3", "other", "0").await;
    let partial = |kind: &str| {
        Some(TypeMeta {
            api_version: "meta.k8s.io/v1".to_owned(),
            kind: kind.to_owned(),
        })
    };

    let listed = api
        .list_metadata(&ListParams::default().labels("app=meta"))
        .await
        .expect("list_metadata");
    assert_eq!(
        listed.types,
        partial("PartialObjectMetadataList").expect("type meta")
    );
    let listed_names: Vec<_> = listed.items.iter().map(|m| m.name_any()).collect();
    assert_eq!(listed_names, ["m1", "m2"]);
    for item in &listed.items {
        assert_eq!(item.types, partial("PartialObjectMetadata"), "{item:?}");
        assert!(item.metadata.uid.is_some() && item.metadata.resource_version.is_some());
        assert_eq!(item.labels().get("app").map(String::as_str), Some("meta"));
    }

    let got = api.get_metadata("m1").await.expect("get_metadata");
    assert_eq!(got.types, partial("PartialObjectMetadata"));
    let full = api.get("m1").await.expect("get");
    assert_eq!(got.metadata.uid, full.metadata.uid);
    assert_eq!(
        got.metadata.resource_version,
        full.metadata.resource_version
    );
    check_status(
        &api_error(api.get_metadata("nope").await),
        404,
        "NotFound",
        r#"configmaps "nope" not found"#,
    );

    // the deprecated helper and its replacement, `Api<PartialObjectMeta<K>>`
    let config = || watcher::Config::default().labels("app=meta");
    let mut deprecated = deprecated_metadata_watcher(api.clone(), config()).boxed();
    let meta_api: Api<PartialObjectMeta<ConfigMap>> = Api::namespaced(server.client(), "default");
    let mut typed = watcher(meta_api, config()).boxed();
    for events in [&mut deprecated, &mut typed] {
        let mut seen = Vec::new();
        for _ in 0..4 {
            let event = next(events).await;
            if let watcher::Event::InitApply(object) = &event {
                assert_eq!(object.types, partial("PartialObjectMetadata"), "{object:?}");
            }
            seen.push(describe_meta(&event));
        }
        assert_eq!(seen, ["Init", "InitApply(m1)", "InitApply(m2)", "InitDone"]);
    }

    create_labelled(&api, "m4", "meta", "1").await;
    api.delete("m1", &DeleteParams::default())
        .await
        .expect("delete");
    for events in [&mut deprecated, &mut typed] {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let event = next(events).await;
            if let watcher::Event::Apply(object) | watcher::Event::Delete(object) = &event {
                assert_eq!(object.types, partial("PartialObjectMetadata"), "{object:?}");
                assert!(object.metadata.resource_version.is_some());
            }
            seen.push(describe_meta(&event));
        }
        assert_eq!(seen, ["Apply(m4)", "Delete(m1)"]);
    }
}

/// `kube::runtime::metadata_watcher`, deprecated in kube 3.1 in favour of
/// `watcher` over `Api<PartialObjectMeta<K>>`, still in use.
#[expect(deprecated, reason = "the deprecated helper is what we exercise")]
fn deprecated_metadata_watcher(
    api: Api<ConfigMap>,
    config: watcher::Config,
) -> impl Stream<Item = watcher::Result<watcher::Event<PartialObjectMeta<ConfigMap>>>> + Send {
    kube::runtime::metadata_watcher(api, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorder_publishes_events_and_series() {
    let server = start().await;
    let client = server.client();
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let subject = configmaps
        .create(&PostParams::default(), &configmap("subject", &[]))
        .await
        .expect("create");
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "kapi-test".to_owned(),
            instance: Some("pod-0".to_owned()),
        },
    );
    let event = Event {
        type_: EventType::Normal,
        reason: "Reconciled".to_owned(),
        note: Some("all good".to_owned()),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    let reference = subject.object_ref(&());
    // the first publish creates the event, the second patches its series
    for _ in 0..2 {
        recorder
            .publish(&event, &reference)
            .await
            .expect("publish an event");
    }

    let events: Api<EventsV1Event> = Api::namespaced(client.clone(), "default");
    let listed = events.list(&ListParams::default()).await.expect("list");
    let [published] = listed.items.as_slice() else {
        panic!("one event expected: {:?}", listed.items);
    };
    let regarding = published.regarding.as_ref().expect("regarding");
    assert_eq!(
        (
            published.type_.as_deref(),
            published.reason.as_deref(),
            published.action.as_deref(),
            published.note.as_deref(),
            published.reporting_controller.as_deref(),
            published.reporting_instance.as_deref(),
            regarding.kind.as_deref(),
            regarding.name.as_deref(),
            regarding.uid.as_deref(),
            published.series.as_ref().map(|s| s.count),
        ),
        (
            Some("Normal"),
            Some("Reconciled"),
            Some("Reconcile"),
            Some("all good"),
            Some("kapi-test"),
            Some("pod-0"),
            Some("ConfigMap"),
            Some("subject"),
            subject.uid().as_deref(),
            Some(2),
        )
    );

    // the same event through core/v1
    let core: Api<CoreV1Event> = Api::namespaced(client, "default");
    let listed = core.list(&ListParams::default()).await.expect("list");
    let [published] = listed.items.as_slice() else {
        panic!("one event expected: {:?}", listed.items);
    };
    assert_eq!(
        (
            published.type_.as_deref(),
            published.reason.as_deref(),
            published.message.as_deref(),
            published.reporting_component.as_deref(),
            published.reporting_instance.as_deref(),
            published.involved_object.name.as_deref(),
            published.series.as_ref().and_then(|s| s.count),
        ),
        (
            Some("Normal"),
            Some("Reconciled"),
            Some("all good"),
            Some("kapi-test"),
            Some("pod-0"),
            Some("subject"),
            Some(2),
        )
    );
}

// ---------------------------------------------------------------------------
// Server-side apply
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_owns_fields_and_reports_conflicts() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let apply = |values: &[(&str, &str)]| {
        Patch::Apply(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "owned"},
            "data": data(values),
        }))
    };
    let alpha = PatchParams::apply("alpha");

    // create by apply
    let created = api
        .patch("owned", &alpha, &apply(&[("a", "1")]))
        .await
        .expect("create by apply");
    assert_eq!(created.data, Some(data(&[("a", "1")])));
    assert_eq!(
        managed(&created),
        json!([["alpha", "Apply", {"f:data": {"f:a": {}}}]])
    );

    // update by apply: add a field, then drop it (alpha owned it alone)
    let updated = api
        .patch("owned", &alpha, &apply(&[("a", "1"), ("b", "2")]))
        .await
        .expect("update by apply");
    assert_eq!(updated.data, Some(data(&[("a", "1"), ("b", "2")])));
    assert_ne!(updated.resource_version(), created.resource_version());
    let updated = api
        .patch("owned", &alpha, &apply(&[("a", "1"), ("c", "3")]))
        .await
        .expect("update by apply");
    assert_eq!(updated.data, Some(data(&[("a", "1"), ("c", "3")])));
    assert_eq!(
        managed(&updated),
        json!([["alpha", "Apply", {"f:data": {"f:a": {}, "f:c": {}}}]])
    );

    // an update takes the field it changes over
    let editor = PatchParams {
        field_manager: Some("editor".to_owned()),
        ..PatchParams::default()
    };
    let edited = api
        .patch(
            "owned",
            &editor,
            &Patch::Merge(json!({"data": {"c": "edited"}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(
        managed(&edited),
        json!([
            ["alpha", "Apply", {"f:data": {"f:a": {}}}],
            ["editor", "Update", {"f:data": {"f:c": {}}}],
        ])
    );

    // applying it back conflicts with the updater, named with its API
    // version (the manager identifier carries no time)
    let err = api_error(
        api.patch("owned", &alpha, &apply(&[("a", "1"), ("c", "3")]))
            .await,
    );
    check_status(
        &err,
        409,
        "Conflict",
        r#"Apply failed with 1 conflict: conflict with "editor" using v1: .data.c"#,
    );

    // another applier conflicts with alpha
    let beta = PatchParams::apply("beta");
    let err = api_error(api.patch("owned", &beta, &apply(&[("a", "9")])).await);
    check_status(
        &err,
        409,
        "Conflict",
        r#"Apply failed with 1 conflict: conflict with "alpha": .data.a"#,
    );
    let causes: Vec<_> = err
        .details
        .as_ref()
        .expect("details")
        .causes
        .iter()
        .map(|c| (c.reason.as_str(), c.message.as_str(), c.field.as_str()))
        .collect();
    assert_eq!(
        causes,
        [(
            "FieldManagerConflict",
            r#"conflict with "alpha""#,
            ".data.a"
        )]
    );

    // .force() takes the field; alpha is left with nothing and goes
    let forced = api
        .patch("owned", &beta.force(), &apply(&[("a", "9")]))
        .await
        .expect("forced apply");
    assert_eq!(forced.data, Some(data(&[("a", "9"), ("c", "edited")])));
    assert_eq!(
        managed(&forced),
        json!([
            ["beta", "Apply", {"f:data": {"f:a": {}}}],
            ["editor", "Update", {"f:data": {"f:c": {}}}],
        ])
    );
    let entry = forced
        .managed_fields()
        .iter()
        .find(|e| e.manager.as_deref() == Some("beta"))
        .cloned()
        .expect("beta's entry");
    assert_eq!(entry.api_version.as_deref(), Some("v1"));
    assert_eq!(entry.fields_type.as_deref(), Some("FieldsV1"));
    assert!(entry.time.is_some());
}

// ---------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_the_builtins_and_a_crd() {
    let server = start().await;
    let client = server.client();
    let crud = [
        verbs::CREATE,
        verbs::DELETE,
        verbs::DELETE_COLLECTION,
        verbs::GET,
        verbs::LIST,
        verbs::PATCH,
        verbs::UPDATE,
        verbs::WATCH,
    ];
    let builtins: &[Discovered] = &[
        ("", "v1", "ConfigMap", "configmaps", true, &[]),
        ("", "v1", "Secret", "secrets", true, &[]),
        (
            "",
            "v1",
            "Namespace",
            "namespaces",
            false,
            &["finalize", "status"],
        ),
        ("coordination.k8s.io", "v1", "Lease", "leases", true, &[]),
        ("events.k8s.io", "v1", "Event", "events", true, &[]),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            true,
            &[],
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
            &[],
        ),
        (
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
            &["status"],
        ),
    ];

    for aggregated in [false, true] {
        let found = run_discovery(&client, aggregated).await;
        for &(group, version, kind, plural, namespaced, subresources) in builtins {
            let gvk = GroupVersionKind::gvk(group, version, kind);
            let (resource, caps) = found
                .resolve_gvk(&gvk)
                .unwrap_or_else(|| panic!("aggregated={aggregated}: {gvk:?} not discovered"));
            check_resource(&resource, &caps, plural, namespaced, subresources);
            if kind == "Namespace" {
                assert!(!caps.supports_operation(verbs::DELETE_COLLECTION));
            } else {
                for verb in crud {
                    assert!(caps.supports_operation(verb), "{kind}: {verb}");
                }
            }
            let api_group = found.get(group).expect("the group");
            assert_eq!(api_group.preferred_version(), Some(version));
        }
        assert!(!found.has_group("kapi.test"));
    }

    let gvk = GroupVersionKind::gvk("kapi.test", "v1", "Widget");
    assert!(discovery::pinned_kind(&client, &gvk).await.is_err());
    install_widget_crd(&client).await;

    for aggregated in [false, true] {
        // Discovery follows establishment asynchronously in kube-apiserver.
        let found = eventually("the CRD's group in discovery", || async {
            let found = run_discovery(&client, aggregated).await;
            found.has_group("kapi.test").then_some(found)
        })
        .await;
        let (resource, caps) = found.resolve_gvk(&gvk).expect("Widget discovered");
        check_resource(&resource, &caps, "widgets", true, &["status"]);
        for verb in crud {
            assert!(caps.supports_operation(verb), "Widget: {verb}");
        }
        let group = found.get("kapi.test").expect("kapi.test");
        assert_eq!(group.versions().collect::<Vec<_>>(), ["v1"]);
    }

    let (resource, caps) = discovery::pinned_kind(&client, &gvk)
        .await
        .expect("pinned_kind");
    check_resource(&resource, &caps, "widgets", true, &["status"]);
    assert_eq!(resource, Widget::api_resource());
    let group = discovery::group(&client, "kapi.test")
        .await
        .expect("oneshot group");
    let (resource, _) = group.recommended_kind("Widget").expect("Widget");
    assert_eq!(resource.plural, "widgets");
    let pinned = discovery::pinned_group(&client, &"kapi.test/v1".parse().expect("a gv"))
        .await
        .expect("pinned_group");
    assert!(pinned.recommended_kind("Widget").is_some());
    let core = discovery::group(&client, "").await.expect("the core group");
    assert!(core.recommended_kind("ConfigMap").is_some());
    assert!(discovery::group(&client, "nothing.test").await.is_err());
}

// ---------------------------------------------------------------------------
// A derived custom resource
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resource_lives_and_dies_with_its_crd() {
    let server = start().await;
    let client = server.client();
    let crd = install_widget_crd(&client).await;
    let crd_uid = crd.uid().expect("uid");
    let status = crd.status.as_ref().expect("status");
    let accepted = status.accepted_names.as_ref().expect("acceptedNames");
    assert_eq!(accepted.kind, "Widget");
    assert_eq!(accepted.plural, "widgets");
    assert_eq!(accepted.short_names, Some(vec!["wd".to_owned()]));

    let api: Api<Widget> = Api::namespaced(client.clone(), "default");
    // status is reset on create when the status subresource is on
    let mut widget = Widget::new("w1", spec(3, "red"));
    widget.status = Some(WidgetStatus {
        ready: true,
        observed_generation: None,
    });
    let created = api
        .create(&PostParams::default(), &widget)
        .await
        .expect("create");
    assert_eq!(created.spec, spec(3, "red"));
    assert_eq!(created.status, None);
    assert_eq!(created.meta().generation, Some(1));

    let err = api_error(api.create(&PostParams::default(), &widget).await);
    check_status(
        &err,
        409,
        "AlreadyExists",
        r#"widgets.kapi.test "w1" already exists"#,
    );
    let got = api.get("w1").await.expect("get");
    assert_eq!(got.spec, created.spec);
    let w2 = api
        .create(&PostParams::default(), &Widget::new("w2", spec(1, "blue")))
        .await
        .expect("create w2");
    let listed = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(names(&listed.items), ["w1", "w2"]);
    let page = api
        .list(&ListParams::default().limit(1))
        .await
        .expect("list a page");
    assert_eq!(names(&page.items), ["w1"]);
    assert!(page.metadata.continue_.is_some());

    // replace and patch the spec: the generation follows
    let mut next = got.clone();
    next.spec.replicas = 4;
    let replaced = api
        .replace("w1", &PostParams::default(), &next)
        .await
        .expect("replace");
    assert_eq!(replaced.spec.replicas, 4);
    assert_eq!(replaced.meta().generation, Some(2));
    let err = api_error(api.replace("w1", &PostParams::default(), &got).await);
    check_status(
        &err,
        409,
        "Conflict",
        r#"Operation cannot be fulfilled on widgets.kapi.test "w1": the object has been modified; please apply your changes to the latest version and try again"#,
    );
    let patched = api
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"color": "green"}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(patched.spec, spec(4, "green"));
    assert_eq!(patched.meta().generation, Some(3));

    // status through its subresource; spec changes there are ignored,
    // and the generation stays
    let mut with_status = patched.clone();
    with_status.status = Some(WidgetStatus {
        ready: false,
        observed_generation: Some(3),
    });
    with_status.spec.replicas = 9;
    let replaced = api
        .replace_status("w1", &PostParams::default(), &with_status)
        .await
        .expect("replace_status");
    assert_eq!(
        replaced.status,
        Some(WidgetStatus {
            ready: false,
            observed_generation: Some(3)
        })
    );
    assert_eq!(replaced.spec.replicas, 4);
    assert_eq!(replaced.meta().generation, Some(3));
    let patched = api
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true}})),
        )
        .await
        .expect("patch_status");
    assert_eq!(
        patched.status,
        Some(WidgetStatus {
            ready: true,
            observed_generation: Some(3)
        })
    );
    assert_eq!(
        api.get_status("w1").await.expect("get_status").status,
        patched.status
    );
    // and the main resource ignores status
    let ignored = api
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": false}})),
        )
        .await
        .expect("patch status through the main resource");
    assert_eq!(ignored.status, patched.status);

    // server-side apply of a typed custom resource
    let applied = api
        .patch(
            "w3",
            &PatchParams::apply("widget-manager"),
            &Patch::Apply(json!({
                "apiVersion": "kapi.test/v1",
                "kind": "Widget",
                "metadata": {"name": "w3"},
                "spec": {"replicas": 2, "color": "black"},
            })),
        )
        .await
        .expect("apply a widget");
    assert_eq!(applied.spec, spec(2, "black"));
    assert_eq!(
        managed(&applied),
        json!([["widget-manager", "Apply", {"f:spec": {"f:color": {}, "f:replicas": {}}}]])
    );

    // schema violations: 422 with the OpenAPI validator's messages
    let err = api_error(
        api.create(
            &PostParams::default(),
            &Widget::new("too-many", spec(20, "red")),
        )
        .await,
    );
    check_status(
        &err,
        422,
        "Invalid",
        r#"Widget.kapi.test "too-many" is invalid: spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10"#,
    );
    let causes: Vec<_> = err
        .details
        .as_ref()
        .expect("details")
        .causes
        .iter()
        .map(|c| (c.reason.as_str(), c.field.as_str()))
        .collect();
    assert_eq!(causes, [("FieldValueInvalid", "spec.replicas")]);
    let err = api_error(
        api.patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": -1}})),
        )
        .await,
    );
    check_status(
        &err,
        422,
        "Invalid",
        r#"Widget.kapi.test "w1" is invalid: spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"#,
    );
    let dynamic: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &Widget::api_resource());
    let wrong_type = dynamic_widget("wrong-type", json!({"replicas": "many", "color": "red"}));
    let err = api_error(dynamic.create(&PostParams::default(), &wrong_type).await);
    check_status(
        &err,
        422,
        "Invalid",
        r#"Widget.kapi.test "wrong-type" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#,
    );
    let missing = dynamic_widget("missing", json!({"replicas": 1}));
    let err = api_error(dynamic.create(&PostParams::default(), &missing).await);
    check_status(
        &err,
        422,
        "Invalid",
        r#"Widget.kapi.test "missing" is invalid: spec.color: Required value"#,
    );
    // unknown fields are pruned
    let extra = dynamic_widget(
        "extra",
        json!({"replicas": 1, "color": "red", "shape": "round"}),
    );
    let created_extra = dynamic
        .create(&PostParams::default(), &extra)
        .await
        .expect("create with an unknown field");
    assert_eq!(
        created_extra.data["spec"],
        json!({"replicas": 1, "color": "red"})
    );

    // deleting an instance answers a Status: the custom resource store
    // leaves `ReturnDeletedObject` false
    let answer = api
        .delete("w2", &DeleteParams::default())
        .await
        .expect("delete");
    let w2_uid = w2.uid().expect("uid");
    answer.either(
        |object| panic!("deleting a widget answered {object:?}, not a Status"),
        |status| check_success(&status, "w2", "kapi.test", "widgets", &w2_uid),
    );
    let err = api_error(api.get("w2").await);
    check_status(&err, 404, "NotFound", r#"widgets.kapi.test "w2" not found"#);

    // deleting the CRD answers the terminating CRD, removes the instances,
    // then the CRD, then the endpoint
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let terminating = crds
        .delete(Widget::crd_name(), &DeleteParams::default())
        .await
        .expect("delete the CRD")
        .left_or_else(|status| panic!("expected the CRD, got {status:?}"));
    assert!(terminating.meta().deletion_timestamp.is_some());
    assert!(
        terminating
            .finalizers()
            .contains(&"customresourcecleanup.apiextensions.k8s.io".to_owned()),
        "{:?}",
        terminating.finalizers()
    );
    bounded(
        "the CRD to go",
        await_condition(
            crds.clone(),
            Widget::crd_name(),
            conditions::is_deleted(&crd_uid),
        ),
    )
    .await
    .expect("await deletion");
    // The instances went before the CRD; its endpoint follows the CRD's
    // deletion as the handler's informer sees it (an eventual step in
    // kube-apiserver too).
    let generic = "the server could not find the requested resource";
    let err = eventually("the widgets endpoint to go", || async {
        let err = api_error(api.get("w1").await);
        (err.message == generic).then_some(err)
    })
    .await;
    check_status(&err, 404, "NotFound", generic);
    let err = api_error(crds.get(Widget::crd_name()).await);
    check_status(
        &err,
        404,
        "NotFound",
        r#"customresourcedefinitions.apiextensions.k8s.io "widgets.kapi.test" not found"#,
    );
}

/// A `kube::runtime::Controller` reconciling widgets: it reports each
/// generation it has seen in the status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_reconciles_widgets() {
    let server = start().await;
    let client = server.client();
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client.clone(), "default");

    let controller = Controller::new(api.clone(), watcher::Config::default())
        .run(
            reconcile_widget,
            |_, _, _| Action::requeue(Duration::from_secs(1)),
            Arc::new(api.clone()),
        )
        .for_each(|result| async move {
            if let Err(err) = result {
                eprintln!("controller: {err}");
            }
        });
    let controller = tokio::spawn(controller);

    let observed = |generation: i64| {
        move |widget: Option<&Widget>| {
            widget
                .and_then(|w| w.status.as_ref())
                .is_some_and(|s| s.ready && s.observed_generation == Some(generation))
        }
    };
    api.create(&PostParams::default(), &Widget::new("w", spec(1, "red")))
        .await
        .expect("create");
    bounded(
        "the first reconcile",
        await_condition(api.clone(), "w", observed(1)),
    )
    .await
    .expect("await generation 1");
    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 2}})),
    )
    .await
    .expect("patch the spec");
    bounded(
        "the reconcile of generation 2",
        await_condition(api.clone(), "w", observed(2)),
    )
    .await
    .expect("await generation 2");
    controller.abort();
}

/// Sets `status` to ready at the widget's generation.
async fn reconcile_widget(widget: Arc<Widget>, api: Arc<Api<Widget>>) -> kube::Result<Action> {
    let status = json!({"status": {"ready": true, "observedGeneration": widget.meta().generation}});
    api.patch_status(
        &widget.name_any(),
        &PatchParams::default(),
        &Patch::Merge(status),
    )
    .await?;
    Ok(Action::await_change())
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// One page of a paginated list: the names on it and its
/// `remainingItemCount`.
type Page<'a> = (&'a [&'a str], Option<i64>);

/// A discovered resource: group, version, kind, plural, whether it is
/// namespaced, and its subresources.
type Discovered<'a> = (&'a str, &'a str, &'a str, &'a str, bool, &'a [&'a str]);

/// What kube-apiserver answers a delete of a resource with.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Deleted {
    /// A `Status` (`ReturnDeletedObject` false).
    Status,
    /// The deleted object (`ReturnDeletedObject` true: serviceaccounts).
    Object,
    /// The object, now terminating, and gone once finalized (namespaces).
    Terminating,
}

/// Create (twice: the second is 409 AlreadyExists), get, list, merge-patch
/// a label, replace (stale: 409 Conflict; fresh: accepted), delete, and
/// 404 afterwards, with kube-apiserver's messages.
async fn round_trip<K>(api: &Api<K>, object: K, deleted: Deleted)
where
    K: Resource<DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned,
{
    let resource = qualified::<K>();
    let name = object.name_any();
    let what = format!("{resource} {name}");
    let created = api
        .create(&PostParams::default(), &object)
        .await
        .unwrap_or_else(|err| panic!("create {what}: {err}"));
    assert_eq!(created.name_any(), name);
    let uid = created.uid().unwrap_or_else(|| panic!("{what}: no uid"));
    assert!(created.resource_version().is_some(), "{what}");
    assert!(created.meta().creation_timestamp.is_some(), "{what}");

    let err = api_error(api.create(&PostParams::default(), &object).await);
    check_status(
        &err,
        409,
        "AlreadyExists",
        &format!(r#"{resource} "{name}" already exists"#),
    );

    let got = api
        .get(&name)
        .await
        .unwrap_or_else(|err| panic!("get {what}: {err}"));
    assert_eq!(got.uid().as_deref(), Some(uid.as_str()), "{what}");
    let listed = api
        .list(&ListParams::default())
        .await
        .unwrap_or_else(|err| panic!("list {resource}: {err}"));
    assert!(names(&listed.items).contains(&name.as_str()), "{what}");

    let patched = api
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"patched": "yes"}}})),
        )
        .await
        .unwrap_or_else(|err| panic!("patch {what}: {err}"));
    assert_eq!(
        patched.labels().get("patched").map(String::as_str),
        Some("yes"),
        "{what}"
    );
    assert_ne!(
        patched.resource_version(),
        created.resource_version(),
        "{what}"
    );

    let err = api_error(api.replace(&name, &PostParams::default(), &created).await);
    check_status(
        &err,
        409,
        "Conflict",
        &format!(
            r#"Operation cannot be fulfilled on {resource} "{name}": the object has been modified; please apply your changes to the latest version and try again"#
        ),
    );
    let mut next = patched.clone();
    next.annotations_mut()
        .insert("replaced".to_owned(), "yes".to_owned());
    let replaced = api
        .replace(&name, &PostParams::default(), &next)
        .await
        .unwrap_or_else(|err| panic!("replace {what}: {err}"));
    assert_eq!(
        replaced.annotations().get("replaced").map(String::as_str),
        Some("yes"),
        "{what}"
    );
    assert_eq!(
        replaced.labels().get("patched").map(String::as_str),
        Some("yes"),
        "{what}"
    );

    let answer = api
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap_or_else(|err| panic!("delete {what}: {err}"));
    match deleted {
        Deleted::Status => {
            let status =
                answer.right_or_else(|object| panic!("{what}: expected a Status, got {object:?}"));
            check_success(&status, &name, &K::group(&()), &K::plural(&()), &uid);
        }
        Deleted::Object | Deleted::Terminating => {
            let object =
                answer.left_or_else(|status| panic!("{what}: expected the object, got {status:?}"));
            assert_eq!(object.uid().as_deref(), Some(uid.as_str()), "{what}");
            assert_eq!(
                object.meta().deletion_timestamp.is_some(),
                deleted == Deleted::Terminating,
                "{what}: {:?}",
                object.meta()
            );
        }
    }
    let not_found = format!(r#"{resource} "{name}" not found"#);
    let err = if deleted == Deleted::Terminating {
        eventually(&format!("{what} to be finalized"), || async {
            match api.get(&name).await {
                Ok(_) => None,
                Err(kube::Error::Api(status)) => Some(*status),
                Err(err) => panic!("get {what}: {err}"),
            }
        })
        .await
    } else {
        api_error(api.get(&name).await)
    };
    check_status(&err, 404, "NotFound", &not_found);
}

/// Starts a test server, bounded by [`TIMEOUT`] beyond its own.
async fn start() -> TestServer {
    bounded("start a test server", TestServer::start())
        .await
        .expect("start a test server")
}

/// `future`, or a panic naming `what` after [`TIMEOUT`].
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {TIMEOUT:?}"))
}

/// Polls `probe` every 20 ms until it yields something, for at most
/// [`TIMEOUT`].
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    bounded(what, async {
        loop {
            if let Some(value) = probe().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// The next event of a watcher stream; a watcher error or the end of the
/// stream fails the test.
async fn next<S, K>(stream: &mut S) -> watcher::Event<K>
where
    S: Stream<Item = watcher::Result<watcher::Event<K>>> + Unpin,
{
    match bounded("the next watcher event", stream.next()).await {
        Some(Ok(event)) => event,
        Some(Err(err)) => panic!("watcher error: {err}"),
        None => panic!("the watcher stream ended"),
    }
}

/// Polls a reflector's stream until `done` holds.
async fn drive_until<S, T>(stream: &mut S, what: &str, mut done: impl FnMut() -> bool)
where
    S: Stream<Item = watcher::Result<T>> + Unpin,
{
    bounded(what, async {
        while !done() {
            match stream.next().await {
                Some(Ok(_)) => {}
                Some(Err(err)) => panic!("{what}: watcher error: {err}"),
                None => panic!("{what}: the watcher stream ended"),
            }
        }
    })
    .await;
}

/// Creates the `Widget` CRD from `Widget::crd()` and waits until it is
/// established.
async fn install_widget_crd(client: &Client) -> CustomResourceDefinition {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let created = crds
        .create(&PostParams::default(), &Widget::crd())
        .await
        .expect("create the CRD");
    assert_eq!(created.name_any(), "widgets.kapi.test");
    let established = bounded(
        "the CRD to be established",
        await_condition(crds, Widget::crd_name(), conditions::is_crd_established()),
    )
    .await
    .expect("await the CRD")
    .expect("the CRD exists");

    // kube-apiserver serves a CRD's resource before it reports it
    // Established, so a client may use it right away.
    let widgets: Api<Widget> = Api::all(client.clone());
    widgets
        .list(&ListParams::default())
        .await
        .expect("an established CRD is served");
    established
}

/// `Discovery::run` or `run_aggregated`.
async fn run_discovery(client: &Client, aggregated: bool) -> Discovery {
    let discovery = Discovery::new(client.clone());
    let found = if aggregated {
        discovery.run_aggregated().await
    } else {
        discovery.run().await
    };
    found.unwrap_or_else(|err| panic!("discovery (aggregated={aggregated}): {err}"))
}

/// Checks a discovered resource's plural, scope and subresources.
fn check_resource(
    resource: &ApiResource,
    caps: &kube::discovery::ApiCapabilities,
    plural: &str,
    namespaced: bool,
    subresources: &[&str],
) {
    assert_eq!(resource.plural, plural, "{resource:?}");
    let scope = if namespaced {
        Scope::Namespaced
    } else {
        Scope::Cluster
    };
    assert_eq!(caps.scope, scope, "{plural}");
    let mut found: Vec<_> = caps
        .subresources
        .iter()
        .map(|(sub, _)| sub.plural.as_str())
        .collect();
    found.sort_unstable();
    assert_eq!(found, subresources, "{plural} subresources");
}

/// The error of a request that must fail with a Kubernetes Status.
fn api_error<T: Debug>(result: kube::Result<T>) -> Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected a Status error, got {other:?}"),
    }
}

/// A failure Status with kube-apiserver's code, reason and message.
#[track_caller]
fn check_status(status: &Status, code: u16, reason: &str, message: &str) {
    assert_eq!(
        (status.code, status.reason.as_str(), status.message.as_str()),
        (code, reason, message),
        "{status:?}"
    );
    assert_eq!(status.status, Some(StatusSummary::Failure), "{status:?}");
}

/// The Status of a delete: Success, with the name, group, plural and uid.
#[track_caller]
fn check_success(status: &Status, name: &str, group: &str, plural: &str, uid: &str) {
    assert_eq!(status.status, Some(StatusSummary::Success), "{status:?}");
    let details = status.details.as_ref().expect("details");
    assert_eq!(
        (
            details.name.as_str(),
            details.group.as_str(),
            details.kind.as_str(),
            details.uid.as_str()
        ),
        (name, group, plural, uid),
        "{status:?}"
    );
}

/// `plural` or `plural.group`, as kube-apiserver names a resource in its
/// messages.
fn qualified<K: Resource<DynamicType = ()>>() -> String {
    let (plural, group) = (K::plural(&()), K::group(&()));
    if group.is_empty() {
        plural.into_owned()
    } else {
        format!("{plural}.{group}")
    }
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        ..ObjectMeta::default()
    }
}

fn data(values: &[(&str, &str)]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn configmap(name: &str, values: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: meta(name),
        data: Some(data(values)),
        ..ConfigMap::default()
    }
}

/// Creates configmap `name` labelled `app=<app>` with `data.v = v`.
async fn create_labelled(api: &Api<ConfigMap>, name: &str, app: &str, v: &str) {
    let mut object = configmap(name, &[("v", v)]);
    object.metadata.labels = Some([("app".to_owned(), app.to_owned())].into());
    api.create(&PostParams::default(), &object)
        .await
        .unwrap_or_else(|err| panic!("create {name}: {err}"));
}

/// Sets `data.v` of configmap `name` by replace.
async fn set_value(api: &Api<ConfigMap>, name: &str, v: &str) {
    let mut object = api.get(name).await.expect("get");
    object.data = Some(data(&[("v", v)]));
    api.replace(name, &PostParams::default(), &object)
        .await
        .expect("replace");
}

/// `data.v`, or `-`.
fn value(configmap: &ConfigMap) -> &str {
    configmap
        .data
        .as_ref()
        .and_then(|d| d.get("v"))
        .map_or("-", String::as_str)
}

fn describe(event: &watcher::Event<ConfigMap>) -> String {
    let show = |cm: &ConfigMap| format!("{} v={}", cm.name_any(), value(cm));
    match event {
        watcher::Event::Init => "Init".to_owned(),
        watcher::Event::InitApply(cm) => format!("InitApply({})", show(cm)),
        watcher::Event::InitDone => "InitDone".to_owned(),
        watcher::Event::Apply(cm) => format!("Apply({})", show(cm)),
        watcher::Event::Delete(cm) => format!("Delete({})", show(cm)),
    }
}

fn describe_meta(event: &watcher::Event<PartialObjectMeta<ConfigMap>>) -> String {
    event.to_string()
}

fn names<K: Resource>(items: &[K]) -> Vec<&str> {
    items
        .iter()
        .map(|item| item.meta().name.as_deref().unwrap_or_default())
        .collect()
}

fn reference(name: &str) -> ObjectReference {
    ObjectReference {
        name: Some(name.to_owned()),
        ..ObjectReference::default()
    }
}

fn secret_names(account: &ServiceAccount) -> Vec<&str> {
    account
        .secrets
        .iter()
        .flatten()
        .filter_map(|s| s.name.as_deref())
        .collect()
}

/// `[[manager, operation, fieldsV1], …]` of the managedFields entries,
/// sorted by manager.
fn managed<K: Resource>(object: &K) -> serde_json::Value {
    let mut entries: Vec<_> = object
        .managed_fields()
        .iter()
        .map(|entry| {
            let fields = entry.fields_v1.as_ref().map(|f| f.0.clone());
            json!([entry.manager, entry.operation, fields])
        })
        .collect();
    entries.sort_by_key(|entry| entry[0].as_str().map(str::to_owned));
    serde_json::Value::Array(entries)
}

fn spec(replicas: i32, color: &str) -> WidgetSpec {
    WidgetSpec {
        replicas,
        color: color.to_owned(),
    }
}

/// A widget as a `DynamicObject`, to send what the typed spec cannot.
fn dynamic_widget(name: &str, spec: serde_json::Value) -> DynamicObject {
    let mut object = DynamicObject::new(name, &Widget::api_resource());
    object.data = json!({ "spec": spec });
    object
}
