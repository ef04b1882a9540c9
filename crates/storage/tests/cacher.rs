//! The watch cache over the memory backend: lists and watches served from
//! memory with Kubernetes' resourceVersion rules, the sendInitialEvents
//! contract, bookmarks, slow watchers cut off, and objects shared (encoded
//! once) between the state, every list and every watcher.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use kapi_storage::memory::MemoryBackend;
use kapi_storage::{
    Cacher, CacherOptions, Error, GetOptions, ListOptions, Object, ObjectStore, ObjectWatch,
    ResourceVersionMatch, SelectionPredicate, WatchEvent,
};
use serde_json::{Value, json};

fn configmap(namespace: &str, name: &str, app: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
        "data": {"k": "v"}
    })
}

async fn setup(options: CacherOptions) -> (ObjectStore, Cacher) {
    let store = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
    let cacher = Cacher::new(store.clone(), "/configmaps", options);
    tokio::time::timeout(Duration::from_secs(5), cacher.wait_ready())
        .await
        .unwrap();
    (store, cacher)
}

fn list(rv: &str) -> ListOptions {
    let mut options = ListOptions::default();
    options.recursive = true;
    options.resource_version = rv.to_owned();
    options
}

async fn next(watch: &mut ObjectWatch) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("an event in time")
        .expect("the watch is open")
        .expect("not an error")
}

fn status(err: Error) -> kapi_core::StatusError {
    match err {
        Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn write(store: &ObjectStore, name: &str, app: &str) -> i64 {
    let object = store
        .create(
            &format!("/configmaps/ns/{name}"),
            configmap("ns", name, app),
        )
        .await
        .unwrap();
    object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn consistent_lists_see_writes_made_just_before() {
    let (store, cacher) = setup(CacherOptions::default()).await;
    for i in 0..20 {
        write(&store, &format!("cm-{i:02}"), "x").await;
        // Each consistent list includes the write that just returned.
        let listed = cacher.get_list("/configmaps", &list("")).await.unwrap();
        assert_eq!(listed.items.len(), i + 1);
        assert_eq!(
            listed.resource_version,
            store.current_resource_version().await.unwrap()
        );
    }
    let from_store = store.get_list("/configmaps", &list("")).await.unwrap();
    let from_cache = cacher.get_list("/configmaps", &list("0")).await.unwrap();
    assert_eq!(from_cache.items, from_store.items);
    let ns = cacher.get_list("/configmaps/ns", &list("0")).await.unwrap();
    assert_eq!(ns.items.len(), 20);
    assert!(
        cacher
            .get_list("/configmaps/other", &list("0"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn cached_objects_are_shared_bytes_encoded_once() {
    let (store, cacher) = setup(CacherOptions::default()).await;
    let rv = write(&store, "a", "x").await;
    let one = cacher
        .get_list("/configmaps", &list(&rv.to_string()))
        .await
        .unwrap();
    let two = cacher
        .get_list("/configmaps", &list(&rv.to_string()))
        .await
        .unwrap();
    assert!(
        Object::ptr_eq(&one.items[0], &two.items[0]),
        "lists share the cached object"
    );
    let stats = cacher.stats();
    assert_eq!(stats.objects, 1);
    assert_eq!(stats.object_bytes, one.items[0].json().len());

    // Two watchers receive the very same encoded event.
    let mut first = cacher
        .watch("/configmaps", &list(&rv.to_string()), None, false)
        .await
        .unwrap();
    let mut second = cacher
        .watch("/configmaps", &list(&rv.to_string()), None, false)
        .await
        .unwrap();
    write(&store, "b", "x").await;
    let (WatchEvent::Added(a), WatchEvent::Added(b)) =
        (next(&mut first).await, next(&mut second).await)
    else {
        panic!("expected ADDED events");
    };
    assert!(Object::ptr_eq(&a, &b));
    assert!(std::ptr::eq(a.json().as_ptr(), b.json().as_ptr()));
}

#[tokio::test]
async fn consistent_gets_see_writes_made_just_before_and_share_the_cached_bytes() {
    let (store, cacher) = setup(CacherOptions::default()).await;
    for i in 0..20 {
        let app = format!("v{i}");
        let rv = if i == 0 {
            write(&store, "a", &app).await
        } else {
            let app = app.clone();
            let updated = store
                .guaranteed_update(
                    "/configmaps/ns/a",
                    false,
                    None,
                    move |mut current| {
                        current["metadata"]["labels"]["app"] = Value::from(app.clone());
                        async move { Ok(current) }
                    },
                    None,
                )
                .await
                .unwrap();
            updated["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        };
        // The write that just returned is seen, at its revision.
        let got = cacher
            .get("/configmaps/ns/a", &GetOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.value()["metadata"]["labels"]["app"], app.as_str());
        assert_eq!(got.resource_version(), rv.to_string());
    }
    // Served from memory: the same shared bytes as a read at "0".
    let mut at_zero = GetOptions::default();
    at_zero.resource_version = "0".into();
    let cached = cacher
        .get("/configmaps/ns/a", &at_zero)
        .await
        .unwrap()
        .unwrap();
    let consistent = cacher
        .get("/configmaps/ns/a", &GetOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert!(kapi_storage::Object::ptr_eq(&cached, &consistent));
    assert!(matches!(
        cacher
            .get("/configmaps/ns/zz", &GetOptions::default())
            .await,
        Err(Error::KeyNotFound { .. })
    ));
}

#[tokio::test]
async fn gets_are_served_from_the_cache_at_a_resource_version() {
    let (store, cacher) = setup(CacherOptions::default()).await;
    let rv = write(&store, "a", "x").await;
    let mut options = GetOptions::default();
    options.resource_version = rv.to_string();
    let got = cacher
        .get("/configmaps/ns/a", &options)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.name(), "a");
    options.resource_version = "0".into();
    assert!(matches!(
        cacher.get("/configmaps/ns/zz", &options).await,
        Err(Error::KeyNotFound { .. })
    ));
    options.ignore_not_found = true;
    assert_eq!(
        cacher.get("/configmaps/ns/zz", &options).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_revision_the_cache_never_reaches_is_a_504() {
    let mut options = CacherOptions::default();
    options.freshness_timeout = Duration::from_millis(200);
    let (_store, cacher) = setup(options).await;
    let mut wanted = list("1000");
    wanted.resource_version_match = Some(ResourceVersionMatch::NotOlderThan);
    let err = status(cacher.get_list("/configmaps", &wanted).await.unwrap_err());
    assert_eq!(err.code(), 504);
    assert!(
        err.message()
            .starts_with("Timeout: Too large resource version: 1000"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn watches_replay_the_window_and_expire_before_it() {
    let mut options = CacherOptions::default();
    options.event_capacity = 5;
    let (store, cacher) = setup(options).await;
    let first = write(&store, "a", "x").await;
    let mut last = first;
    for i in 0..10 {
        last = write(&store, &format!("b{i}"), "x").await;
    }
    // The last five events are in the window.
    let mut watch = cacher
        .watch("/configmaps", &list(&(last - 2).to_string()), None, false)
        .await
        .unwrap();
    for expected in [last - 1, last] {
        match next(&mut watch).await {
            WatchEvent::Added(o) => assert_eq!(o.resource_version(), expected.to_string()),
            other => panic!("{other:?}"),
        }
    }
    let err = match cacher
        .watch("/configmaps", &list(&first.to_string()), None, false)
        .await
    {
        Err(err) => status(err),
        Ok(_) => panic!("a watch before the window must expire"),
    };
    assert_eq!(err.code(), 410);
    assert!(
        err.message()
            .starts_with(&format!("too old resource version: {first} (")),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn watch_from_zero_starts_with_the_state_then_goes_live() {
    let (store, cacher) = setup(CacherOptions::default()).await;
    write(&store, "a", "x").await;
    let mut watch = cacher
        .watch("/configmaps", &list("0"), None, false)
        .await
        .unwrap();
    assert!(matches!(next(&mut watch).await, WatchEvent::Added(o) if o.name() == "a"));
    write(&store, "b", "x").await;
    assert!(matches!(next(&mut watch).await, WatchEvent::Added(o) if o.name() == "b"));
    store
        .delete("/configmaps/ns/a", None, |_| Ok(()), None)
        .await
        .unwrap();
    assert!(matches!(next(&mut watch).await, WatchEvent::Deleted(o) if o.name() == "a"));
}

#[tokio::test]
async fn send_initial_events_ends_with_an_annotated_bookmark() {
    let (store, cacher) = setup(CacherOptions::default()).await;
    write(&store, "a", "x").await;
    let rv = write(&store, "b", "x").await;
    let mut options = list("");
    options.resource_version_match = Some(ResourceVersionMatch::NotOlderThan);
    let mut watch = cacher
        .watch("/configmaps", &options, Some(true), true)
        .await
        .unwrap();
    assert!(matches!(next(&mut watch).await, WatchEvent::Added(o) if o.name() == "a"));
    assert!(matches!(next(&mut watch).await, WatchEvent::Added(o) if o.name() == "b"));
    assert_eq!(
        next(&mut watch).await,
        WatchEvent::Bookmark {
            resource_version: rv,
            initial_events_end: true
        }
    );
    write(&store, "c", "x").await;
    assert!(matches!(next(&mut watch).await, WatchEvent::Added(o) if o.name() == "c"));
}

#[tokio::test]
async fn watchers_that_allow_bookmarks_get_them_periodically() {
    let mut options = CacherOptions::default();
    options.bookmark_interval = Duration::from_millis(100);
    let (store, cacher) = setup(options).await;
    let rv = write(&store, "a", "x").await;
    let mut watch = cacher
        .watch("/configmaps", &list(&rv.to_string()), None, true)
        .await
        .unwrap();
    assert_eq!(
        next(&mut watch).await,
        WatchEvent::Bookmark {
            resource_version: rv,
            initial_events_end: false
        }
    );
    let mut quiet = cacher
        .watch("/configmaps", &list(&rv.to_string()), None, false)
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(400), quiet.next())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_slow_watcher_is_cut_off_and_the_others_go_on() {
    let mut options = CacherOptions::default();
    options.watcher_buffer = 2;
    let (store, cacher) = setup(options).await;
    let rv = store.current_resource_version().await.unwrap().to_string();
    let mut slow = cacher
        .watch("/configmaps", &list(&rv), None, false)
        .await
        .unwrap();
    let mut fast = cacher
        .watch("/configmaps", &list(&rv), None, false)
        .await
        .unwrap();
    for i in 0..10 {
        write(&store, &format!("cm-{i}"), "x").await;
        assert!(matches!(next(&mut fast).await, WatchEvent::Added(_)));
    }
    // The slow one got what fitted in its buffer, then its stream ended.
    let mut received = 0;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(2), slow.next()).await {
        event.unwrap();
        received += 1;
    }
    assert_eq!(received, 2);
    assert_eq!(cacher.stats().watchers, 1);
    write(&store, "later", "x").await;
    assert!(matches!(next(&mut fast).await, WatchEvent::Added(o) if o.name() == "later"));
}

#[tokio::test]
async fn selectors_see_objects_enter_and_leave() {
    let (store, cacher) = setup(CacherOptions::default()).await;
    let rv = store.current_resource_version().await.unwrap().to_string();
    let mut options = list(&rv);
    options.predicate =
        SelectionPredicate::matching(|o: &Value| o["metadata"]["labels"]["app"] == "web");
    let mut watch = cacher
        .watch("/configmaps", &options, None, false)
        .await
        .unwrap();
    write(&store, "a", "db").await;
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
    assert!(matches!(next(&mut watch).await, WatchEvent::Deleted(_)));

    let mut filtered = list("0");
    filtered.predicate =
        SelectionPredicate::matching(|o: &Value| o["metadata"]["labels"]["app"] == "db");
    assert_eq!(
        cacher
            .get_list("/configmaps", &filtered)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn the_window_respects_its_byte_budget() {
    let mut options = CacherOptions::default();
    options.byte_budget = 2_000;
    let (store, cacher) = setup(options).await;
    for i in 0..50 {
        write(&store, &format!("cm-{i:02}"), "x").await;
        store
            .delete(&format!("/configmaps/ns/cm-{i:02}"), None, |_| Ok(()), None)
            .await
            .unwrap();
    }
    let stats = cacher.stats();
    assert!(stats.event_bytes <= 2_000, "{stats:?}");
    assert!(stats.events < 100, "{stats:?}");
    assert_eq!(stats.objects, 0);
}

#[tokio::test]
async fn the_initial_list_is_read_in_pages_at_one_revision() {
    let store = ObjectStore::new(Arc::new(MemoryBackend::new()), "/registry");
    for i in 0..1_234 {
        store
            .create(
                &format!("/configmaps/ns/cm-{i:04}"),
                configmap("ns", &format!("cm-{i:04}"), "x"),
            )
            .await
            .unwrap();
    }
    let cacher = Cacher::new(store.clone(), "/configmaps", CacherOptions::default());
    tokio::time::timeout(Duration::from_secs(10), cacher.wait_ready())
        .await
        .unwrap();
    let stats = cacher.stats();
    assert_eq!(stats.objects, 1_234);
    assert_eq!(
        stats.resource_version,
        store.current_resource_version().await.unwrap()
    );
    let listed = cacher.get_list("/configmaps", &list("0")).await.unwrap();
    assert_eq!(listed.items.len(), 1_234);
    assert_eq!(listed.items[1_233].name(), "cm-1233");
    let bytes: usize = listed.items.iter().map(|o| o.json().len()).sum();
    assert_eq!(stats.object_bytes, bytes);
}
