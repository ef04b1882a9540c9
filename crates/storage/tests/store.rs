//! Kubernetes object semantics (`ObjectStore`) over the memory backend:
//! resourceVersion handling, list pagination and continue tokens,
//! guaranteed updates under contention, deletes with preconditions, watches
//! with selector transitions, and the exact Status errors clients see.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use kapi_core::StatusReason;
use kapi_storage::memory::MemoryBackend;
use kapi_storage::{
    Error, GetOptions, ListOptions, ObjectStore, ObjectWatch, Preconditions, ResourceVersionMatch,
    SelectionPredicate, WatchEvent,
};
use serde_json::{Value, json};

fn store() -> ObjectStore {
    ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry")
}

fn configmap(namespace: &str, name: &str, app: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{name}"), "labels": {"app": app}},
        "data": {"k": "v"}
    })
}

fn rv(object: &Value) -> i64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn names(items: &[kapi_storage::Object]) -> Vec<&str> {
    items.iter().map(|o| o.name()).collect()
}

fn status(err: Error) -> kapi_core::StatusError {
    match err {
        Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn app_is(app: &'static str) -> SelectionPredicate {
    SelectionPredicate::matching(move |o: &Value| o["metadata"]["labels"]["app"] == app)
}

fn list_options(recursive: bool) -> ListOptions {
    let mut options = ListOptions::default();
    options.recursive = recursive;
    options
}

async fn next(watch: &mut ObjectWatch) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("a watch event in time")
        .expect("the watch is still open")
        .expect("not an error")
}

#[tokio::test]
async fn create_and_get_carry_the_revision_as_resource_version() {
    let store = store();
    let created = store
        .create("/configmaps/ns/a", configmap("ns", "a", "x"))
        .await
        .unwrap();
    let got = store
        .get("/configmaps/ns/a", &GetOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created, got);
    assert!(rv(&got) > 0);

    // Stored bytes do not hold the resourceVersion.
    let raw = store
        .backend()
        .range(kapi_storage::RangeRequest {
            key: "/registry/configmaps/ns/a".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let stored: Value = serde_json::from_slice(&raw.kvs[0].value).unwrap();
    assert!(
        stored["metadata"].get("resourceVersion").is_none(),
        "{stored}"
    );

    assert!(matches!(
        store
            .create("/configmaps/ns/a", configmap("ns", "a", "x"))
            .await,
        Err(Error::KeyExists { .. })
    ));
    let with_rv = json!({"metadata": {"name": "b", "resourceVersion": "5"}});
    assert!(matches!(
        store.create("/configmaps/ns/b", with_rv).await,
        Err(Error::InvalidRequest(_))
    ));
    assert!(matches!(
        store
            .get("/configmaps/ns/missing", &GetOptions::default())
            .await,
        Err(Error::KeyNotFound { .. })
    ));
    let mut ignore = GetOptions::default();
    ignore.ignore_not_found = true;
    assert_eq!(
        store.get("/configmaps/ns/missing", &ignore).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn keys_that_escape_the_prefix_are_refused() {
    let store = store();
    for key in ["", "/", "..", "/a/../b", "./a", "/a/./b", "/a/.."] {
        assert!(
            matches!(
                store.create(key, configmap("ns", "a", "x")).await,
                Err(Error::InvalidRequest(_))
            ),
            "{key:?}"
        );
    }
}

#[tokio::test]
async fn resource_versions_that_are_not_numbers_or_too_new_are_refused() {
    let store = store();
    store
        .create("/configmaps/ns/a", configmap("ns", "a", "x"))
        .await
        .unwrap();
    let mut options = GetOptions::default();
    options.resource_version = "abc".into();
    let err = status(store.get("/configmaps/ns/a", &options).await.unwrap_err());
    assert_eq!(err.reason(), StatusReason::BadRequest);
    assert_eq!(err.code(), 400);

    options.resource_version = "1000".into();
    let err = status(store.get("/configmaps/ns/a", &options).await.unwrap_err());
    assert_eq!(err.code(), 504);
    assert_eq!(err.reason(), StatusReason::Timeout);
    assert!(
        err.message()
            .starts_with("Timeout: Too large resource version: 1000, current: "),
        "{}",
        err.message()
    );

    let mut list = list_options(true);
    list.resource_version = "1000".into();
    list.resource_version_match = Some(ResourceVersionMatch::NotOlderThan);
    assert_eq!(
        status(store.get_list("/configmaps/", &list).await.unwrap_err()).code(),
        504
    );
}

#[tokio::test]
async fn lists_stay_inside_their_prefix_and_are_ordered_by_key() {
    let store = store();
    for (ns, name) in [("ns1", "b"), ("ns10", "a"), ("ns1", "a"), ("ns2", "c")] {
        store
            .create(
                &format!("/configmaps/{ns}/{name}"),
                configmap(ns, name, "x"),
            )
            .await
            .unwrap();
    }
    let ns1 = store
        .get_list("/configmaps/ns1", &list_options(true))
        .await
        .unwrap();
    assert_eq!(names(&ns1.items), ["a", "b"]);
    let all = store
        .get_list("/configmaps/", &list_options(true))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 4);
    assert_eq!(all.continue_token, None);
    assert_eq!(
        all.resource_version,
        store.current_resource_version().await.unwrap()
    );
    assert_eq!(store.count("/configmaps/ns1").await.unwrap(), 2);

    // A non-recursive list is one key.
    let one = store
        .get_list("/configmaps/ns1/a", &list_options(false))
        .await
        .unwrap();
    assert_eq!(names(&one.items), ["a"]);
}

#[tokio::test]
async fn pages_follow_continue_tokens_at_the_first_page_revision() {
    let store = store();
    for i in 0..10 {
        store
            .create(
                &format!("/configmaps/ns/cm-{i:02}"),
                configmap("ns", &format!("cm-{i:02}"), "x"),
            )
            .await
            .unwrap();
    }
    let mut options = list_options(true);
    options.predicate.limit = 4;
    let first = store.get_list("/configmaps/", &options).await.unwrap();
    assert_eq!(names(&first.items), ["cm-00", "cm-01", "cm-02", "cm-03"]);
    assert_eq!(first.remaining_item_count, Some(6));
    let token = first.continue_token.clone().expect("a continue token");

    // Changes after the first page do not show up in later pages.
    store
        .create("/configmaps/ns/cm-99", configmap("ns", "cm-99", "x"))
        .await
        .unwrap();
    store
        .delete("/configmaps/ns/cm-05", None, |_| Ok(()), None)
        .await
        .unwrap();

    options.predicate.continue_token = token;
    let second = store.get_list("/configmaps/", &options).await.unwrap();
    assert_eq!(names(&second.items), ["cm-04", "cm-05", "cm-06", "cm-07"]);
    assert_eq!(second.resource_version, first.resource_version);
    assert_eq!(second.remaining_item_count, Some(2));
    options.predicate.continue_token = second.continue_token.unwrap();
    let third = store.get_list("/configmaps/", &options).await.unwrap();
    assert_eq!(names(&third.items), ["cm-08", "cm-09"]);
    assert_eq!(third.continue_token, None);
    assert_eq!(third.remaining_item_count, None);
}

#[tokio::test]
async fn filtered_pages_fill_their_limit_and_omit_the_remaining_count() {
    let store = store();
    for i in 0..30 {
        let app = if i % 3 == 0 { "web" } else { "db" };
        store
            .create(
                &format!("/configmaps/ns/cm-{i:02}"),
                configmap("ns", &format!("cm-{i:02}"), app),
            )
            .await
            .unwrap();
    }
    let mut options = list_options(true);
    options.predicate = app_is("web");
    options.predicate.limit = 3;
    let mut seen = Vec::new();
    loop {
        let page = store.get_list("/configmaps/", &options).await.unwrap();
        assert!(page.items.len() <= 3);
        assert_eq!(page.remaining_item_count, None);
        seen.extend(names(&page.items).into_iter().map(str::to_owned));
        match page.continue_token {
            Some(token) => options.predicate.continue_token = token,
            None => break,
        }
    }
    let expected: Vec<String> = (0..30).step_by(3).map(|i| format!("cm-{i:02}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn bad_continue_tokens_and_resource_versions_with_continue_are_400() {
    let store = store();
    store
        .create("/configmaps/ns/a", configmap("ns", "a", "x"))
        .await
        .unwrap();
    let mut options = list_options(true);
    options.predicate.continue_token = "not-a-token".into();
    let err = status(store.get_list("/configmaps/", &options).await.unwrap_err());
    assert_eq!(err.code(), 400);
    assert!(
        err.message()
            .starts_with("invalid continue token: continue key is not valid"),
        "{}",
        err.message()
    );

    let mut options = list_options(true);
    options.predicate.limit = 1;
    store
        .create("/configmaps/ns/b", configmap("ns", "b", "x"))
        .await
        .unwrap();
    let page = store.get_list("/configmaps/", &options).await.unwrap();
    options.predicate.continue_token = page.continue_token.unwrap();
    options.resource_version = "1".into();
    let err = status(store.get_list("/configmaps/", &options).await.unwrap_err());
    assert_eq!(
        err.message(),
        "specifying resource version is not allowed when using continue"
    );
}

#[tokio::test]
async fn exact_lists_read_the_past_and_expire_once_compacted() {
    let store = store();
    let a = store
        .create("/configmaps/ns/a", configmap("ns", "a", "x"))
        .await
        .unwrap();
    store
        .create("/configmaps/ns/b", configmap("ns", "b", "x"))
        .await
        .unwrap();
    let mut options = list_options(true);
    options.resource_version = rv(&a).to_string();
    options.resource_version_match = Some(ResourceVersionMatch::Exact);
    let past = store.get_list("/configmaps/", &options).await.unwrap();
    assert_eq!(names(&past.items), ["a"]);
    assert_eq!(past.resource_version, rv(&a));

    let current = store.current_resource_version().await.unwrap();
    store.backend().compact(current).await.unwrap();
    let err = status(store.get_list("/configmaps/", &options).await.unwrap_err());
    assert_eq!(err.code(), 410);
    assert_eq!(err.reason(), StatusReason::Expired);
    assert_eq!(
        err.message(),
        "The resourceVersion for the provided list is too old."
    );
}

#[tokio::test]
async fn an_expired_continue_token_offers_a_token_at_the_latest_revision() {
    let store = store();
    for name in ["a", "b", "c"] {
        store
            .create(
                &format!("/configmaps/ns/{name}"),
                configmap("ns", name, "x"),
            )
            .await
            .unwrap();
    }
    let mut options = list_options(true);
    options.predicate.limit = 1;
    let page = store.get_list("/configmaps/", &options).await.unwrap();
    store
        .create("/configmaps/ns/d", configmap("ns", "d", "x"))
        .await
        .unwrap();
    let current = store.current_resource_version().await.unwrap();
    store.backend().compact(current).await.unwrap();
    options.predicate.continue_token = page.continue_token.unwrap();
    let err = status(store.get_list("/configmaps/", &options).await.unwrap_err());
    assert_eq!(err.code(), 410);
    assert!(
        err.message()
            .contains("use the continue token in this response"),
        "{}",
        err.message()
    );
    let fresh = err
        .to_status()
        .metadata
        .continue_
        .expect("a fresh continue token");
    // The fresh token continues at the latest revision, after "a".
    options.predicate.continue_token = fresh;
    options.predicate.limit = 10;
    let rest = store.get_list("/configmaps/", &options).await.unwrap();
    assert_eq!(names(&rest.items), ["b", "c", "d"]);
}

#[tokio::test]
async fn guaranteed_update_serializes_concurrent_writers() {
    let store = store();
    store
        .create(
            "/configmaps/ns/counter",
            json!({"metadata": {"name": "counter"}, "data": {"n": 0}}),
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                store
                    .guaranteed_update(
                        "/configmaps/ns/counter",
                        false,
                        None,
                        |mut object: Value| async move {
                            let n = object["data"]["n"].as_i64().unwrap();
                            object["data"]["n"] = json!(n + 1);
                            Ok(object)
                        },
                        None,
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let counter = store
        .get("/configmaps/ns/counter", &GetOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counter["data"]["n"], 160);
}

#[tokio::test]
async fn guaranteed_update_noops_preconditions_and_stale_hints() {
    let store = store();
    let created = store
        .create("/configmaps/ns/a", configmap("ns", "a", "x"))
        .await
        .unwrap();

    // Returning the same object writes nothing.
    let same = store
        .guaranteed_update(
            "/configmaps/ns/a",
            false,
            None,
            |o: Value| async move { Ok(o) },
            None,
        )
        .await
        .unwrap();
    assert_eq!(rv(&same), rv(&created));
    assert_eq!(
        store.current_resource_version().await.unwrap(),
        rv(&created)
    );

    // A stale hint costs a retry, not a lost update: the update function may
    // see the stale object first, but what is written builds on the fresh one.
    let bump = |mut o: Value| async move {
        let n = o["data"]["n"].as_i64().unwrap_or(0);
        o["data"]["n"] = json!(n + 1);
        Ok(o)
    };
    let updated = store
        .guaranteed_update("/configmaps/ns/a", false, None, bump, None)
        .await
        .unwrap();
    assert_eq!(updated["data"]["n"], 1);
    let from_stale = store
        .guaranteed_update("/configmaps/ns/a", false, None, bump, Some(created.clone()))
        .await
        .unwrap();
    assert_eq!(from_stale["data"]["n"], 2);
    assert!(rv(&from_stale) > rv(&updated));

    let wrong_uid = Preconditions {
        uid: Some("other".into()),
        resource_version: None,
    };
    let err = store
        .guaranteed_update(
            "/configmaps/ns/a",
            false,
            Some(&wrong_uid),
            |o: Value| async move { Ok(o) },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Precondition failed: UID in precondition: other, UID in object meta: uid-a"
    );

    assert!(matches!(
        store
            .guaranteed_update(
                "/configmaps/ns/none",
                false,
                None,
                |o: Value| async move { Ok(o) },
                None
            )
            .await,
        Err(Error::KeyNotFound { .. })
    ));
    let created_on_update = store
        .guaranteed_update(
            "/configmaps/ns/new",
            true,
            None,
            |o: Value| async move {
                assert!(o.is_null());
                Ok(configmap("ns", "new", "x"))
            },
            None,
        )
        .await
        .unwrap();
    assert!(rv(&created_on_update) > 0);

    // An error from the update function is returned as is.
    let err = store
        .guaranteed_update(
            "/configmaps/ns/a",
            false,
            None,
            |_o: Value| async move { Err(kapi_core::StatusError::bad_request("no").into()) },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(status(err).message(), "no");
}

#[tokio::test]
async fn delete_returns_the_object_at_the_delete_revision() {
    let store = store();
    let created = store
        .create("/configmaps/ns/a", configmap("ns", "a", "x"))
        .await
        .unwrap();
    let wrong_rv = Preconditions {
        uid: None,
        resource_version: Some("1".into()),
    };
    if rv(&created) != 1 {
        assert!(matches!(
            store
                .delete("/configmaps/ns/a", Some(&wrong_rv), |_| Ok(()), None)
                .await,
            Err(Error::PreconditionFailed { .. })
        ));
    }
    let refused = store
        .delete(
            "/configmaps/ns/a",
            None,
            |_| Err(kapi_core::StatusError::bad_request("keep it").into()),
            None,
        )
        .await;
    assert!(refused.is_err());
    let deleted = store
        .delete("/configmaps/ns/a", None, |_| Ok(()), Some(created.clone()))
        .await
        .unwrap();
    assert_eq!(
        rv(&deleted),
        store.current_resource_version().await.unwrap()
    );
    assert!(rv(&deleted) > rv(&created));
    assert!(matches!(
        store
            .delete("/configmaps/ns/a", None, |_| Ok(()), None)
            .await,
        Err(Error::KeyNotFound { .. })
    ));
}

#[tokio::test]
async fn watch_from_zero_sends_the_current_state_then_changes() {
    let store = store();
    store
        .create("/configmaps/ns/a", configmap("ns", "a", "x"))
        .await
        .unwrap();
    let mut options = list_options(true);
    options.resource_version = "0".into();
    let mut watch = store.watch("/configmaps/ns", &options).await.unwrap();
    assert!(
        matches!(next(&mut watch).await, WatchEvent::Added(o) if o.value()["metadata"]["name"] == "a")
    );
    store
        .create("/configmaps/ns/b", configmap("ns", "b", "x"))
        .await
        .unwrap();
    store
        .create("/configmaps/other/c", configmap("other", "c", "x"))
        .await
        .unwrap();
    store
        .guaranteed_update(
            "/configmaps/ns/a",
            false,
            None,
            |mut o: Value| async move {
                o["data"]["k"] = json!("changed");
                Ok(o)
            },
            None,
        )
        .await
        .unwrap();
    let deleted = store
        .delete("/configmaps/ns/b", None, |_| Ok(()), None)
        .await
        .unwrap();
    assert!(
        matches!(next(&mut watch).await, WatchEvent::Added(o) if o.value()["metadata"]["name"] == "b")
    );
    assert!(
        matches!(next(&mut watch).await, WatchEvent::Modified(o) if o.value()["data"]["k"] == "changed")
    );
    match next(&mut watch).await {
        WatchEvent::Deleted(o) => {
            assert_eq!(o.name(), "b");
            assert_eq!(rv(o.value()), rv(&deleted));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn watch_from_a_revision_replays_what_came_after_it() {
    let store = store();
    let a = store
        .create("/configmaps/ns/a", configmap("ns", "a", "x"))
        .await
        .unwrap();
    store
        .create("/configmaps/ns/b", configmap("ns", "b", "x"))
        .await
        .unwrap();
    let mut options = list_options(true);
    options.resource_version = rv(&a).to_string();
    let mut watch = store.watch("/configmaps/", &options).await.unwrap();
    assert!(
        matches!(next(&mut watch).await, WatchEvent::Added(o) if o.value()["metadata"]["name"] == "b")
    );
}

#[tokio::test]
async fn watches_with_selectors_see_objects_enter_and_leave() {
    let store = store();
    let mut options = list_options(true);
    options.resource_version = store.current_resource_version().await.unwrap().to_string();
    options.predicate = app_is("web");
    let mut watch = store.watch("/configmaps/", &options).await.unwrap();
    store
        .create("/configmaps/ns/a", configmap("ns", "a", "db"))
        .await
        .unwrap();
    let relabel = |app: &'static str| {
        move |mut o: Value| async move {
            o["metadata"]["labels"]["app"] = json!(app);
            Ok(o)
        }
    };
    store
        .guaranteed_update("/configmaps/ns/a", false, None, relabel("web"), None)
        .await
        .unwrap();
    store
        .guaranteed_update("/configmaps/ns/a", false, None, relabel("db"), None)
        .await
        .unwrap();
    assert!(
        matches!(next(&mut watch).await, WatchEvent::Added(o) if o.value()["metadata"]["labels"]["app"] == "web")
    );
    assert!(
        matches!(next(&mut watch).await, WatchEvent::Deleted(o) if o.value()["metadata"]["labels"]["app"] == "web")
    );
}

#[tokio::test]
async fn a_single_key_watch_does_not_see_its_siblings() {
    let store = store();
    let mut options = list_options(false);
    options.resource_version = store.current_resource_version().await.unwrap().to_string();
    let mut watch = store.watch("/configmaps/ns/a", &options).await.unwrap();
    store
        .create("/configmaps/ns/ab", configmap("ns", "ab", "x"))
        .await
        .unwrap();
    store
        .create("/configmaps/ns/a", configmap("ns", "a", "x"))
        .await
        .unwrap();
    assert!(
        matches!(next(&mut watch).await, WatchEvent::Added(o) if o.value()["metadata"]["name"] == "a")
    );
}

#[tokio::test]
async fn a_watch_from_a_compacted_revision_expires() {
    let store = store();
    let a = store
        .create("/configmaps/ns/a", configmap("ns", "a", "x"))
        .await
        .unwrap();
    store
        .create("/configmaps/ns/b", configmap("ns", "b", "x"))
        .await
        .unwrap();
    store
        .backend()
        .compact(store.current_resource_version().await.unwrap())
        .await
        .unwrap();
    let mut options = list_options(true);
    options.resource_version = (rv(&a) - 1).max(1).to_string();
    let err = match store.watch("/configmaps/", &options).await {
        Err(err) => err,
        Ok(mut watch) => tokio::time::timeout(Duration::from_secs(5), watch.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap_err(),
    };
    let err = status(err);
    assert_eq!(err.code(), 410);
    assert_eq!(
        err.message(),
        "The resourceVersion for the provided watch is too old."
    );
}

#[tokio::test]
async fn progress_becomes_a_bookmark_when_asked_for() {
    let store = store();
    store
        .create("/configmaps/ns/a", configmap("ns", "a", "x"))
        .await
        .unwrap();
    let mut options = list_options(true);
    options.resource_version = store.current_resource_version().await.unwrap().to_string();
    options.progress_notify = true;
    let mut watch = store.watch("/configmaps/", &options).await.unwrap();
    store.backend().request_progress().await.unwrap();
    match next(&mut watch).await {
        WatchEvent::Bookmark {
            resource_version, ..
        } => {
            assert_eq!(
                resource_version,
                store.current_resource_version().await.unwrap()
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn corrupt_records_are_a_clean_error() {
    let store = store();
    let backend = store.backend().clone();
    backend
        .create(
            "/registry/configmaps/ns/bad",
            Bytes::from_static(b"\xffnot json"),
        )
        .await
        .unwrap();
    backend
        .create(
            "/registry/configmaps/ns/nometa",
            Bytes::from_static(b"{\"a\":1}"),
        )
        .await
        .unwrap();
    for key in ["/configmaps/ns/bad", "/configmaps/ns/nometa"] {
        assert!(
            matches!(
                store.get(key, &GetOptions::default()).await,
                Err(Error::Corrupt { .. })
            ),
            "{key}"
        );
    }
    assert!(matches!(
        store.get_list("/configmaps/", &list_options(true)).await,
        Err(Error::Corrupt { .. })
    ));
}
