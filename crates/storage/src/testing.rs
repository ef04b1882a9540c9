//! The backend conformance suite: async checks every [`Backend`] must pass,
//! written against etcd's behaviour (revisions, compare-and-swap on the
//! modification revision, reads in the past, watches from a revision,
//! compaction).
//!
//! Each check is a `pub async fn check(backend: Arc<dyn Backend>)` that
//! panics with a message naming what differs. A backend's integration test
//! (`tests/<backend>.rs`) runs them all, one `#[tokio::test]` per check, with
//! [`conformance_tests!`](crate::conformance_tests):
//!
//! ```
//! use std::sync::Arc;
//! use kapi_storage::Backend;
//! use kapi_storage::memory::{MemoryBackend, MemoryOptions};
//! use kapi_storage::testing::PROGRESS_INTERVAL;
//!
//! async fn make() -> Arc<dyn Backend> {
//!     let options = MemoryOptions::default().with_progress_interval(PROGRESS_INTERVAL);
//!     Arc::new(MemoryBackend::with_options(options))
//! }
//!
//! kapi_storage::conformance_tests!(make);
//! # fn main() {}
//! ```
//!
//! Requirements on the backend under test:
//! - each check gets a fresh backend and is its only writer (the checks
//!   count revisions: every write by someone else would break them); it may
//!   start at any revision, and its compacted revision must be at or below
//!   its current one;
//! - watches opened with `progress_notify` must get a `Progress` response
//!   within [`PROGRESS_NOTIFY_WITHIN`] while idle, so build the backend with
//!   a progress interval of at most [`PROGRESS_INTERVAL`];
//! - the test crate depends on `tokio` (the macro expands to
//!   `#[tokio::test]`).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::task::JoinSet;

use crate::backend::{
    Backend, Event, KeyValue, RangeRequest, RangeResponse, TxnOutcome, WatchResponse, WatchStream,
};
use crate::error::Error;

/// The progress interval backends under test should be built with.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);

/// How long an idle `progress_notify` watch may go without a `Progress`.
pub const PROGRESS_NOTIFY_WITHIN: Duration = Duration::from_secs(3);

/// How long any single wait on a watch may take before the check fails.
const WAIT: Duration = Duration::from_secs(5);

/// How long a whole check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// Generates one `#[tokio::test]` per conformance check, each on a fresh
/// backend from `$make` (a function or closure returning a future of
/// `Arc<dyn Backend>`).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@list tests $make);
    };
    (@list $mode:ident $make:expr) => {
        $crate::conformance_tests!(@$mode $make;
            check_health,
            revisions,
            create,
            update,
            delete,
            range_single_key,
            range_prefix,
            range_pagination,
            range_count_only,
            range_past_revisions,
            range_future_revision,
            compaction,
            watch_from_now,
            watch_replay_then_live,
            watch_handoff_under_writes,
            watch_prefix_filtering,
            watch_compacted,
            watch_many_watchers,
            watch_drop,
            watch_request_progress,
            watch_progress_notify,
            concurrent_cas_increments,
            concurrent_creates,
            values_roundtrip,
        );
    };
    (@tests $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let make = $make;
                let backend = make().await;
                $crate::testing::bounded(stringify!($check), $crate::testing::$check(backend)).await;
            }
        )*
    };
    (@run $make:expr; $($check:ident),* $(,)?) => {
        $(
            println!("conformance check: {}", stringify!($check));
            let backend = ($make)().await;
            $crate::testing::bounded(stringify!($check), $crate::testing::$check(backend)).await;
        )*
    };
}

/// Runs every check, in order, each on a fresh backend from `make`, printing
/// each check's name as it starts.
pub async fn run_all(make: impl Fn() -> BoxFuture<'static, Arc<dyn Backend>>) {
    crate::conformance_tests!(@list run make);
}

/// Awaits one check, failing it when it takes longer than [`CHECK_TIMEOUT`].
#[doc(hidden)]
pub async fn bounded(name: &str, check: impl Future<Output = ()>) {
    if tokio::time::timeout(CHECK_TIMEOUT, check).await.is_err() {
        panic!("conformance check {name} did not finish within {CHECK_TIMEOUT:?}");
    }
}

/// `check_health` is Ok on a fresh backend.
pub async fn check_health(backend: Arc<dyn Backend>) {
    backend
        .check_health()
        .await
        .unwrap_or_else(|e| panic!("check_health on a fresh {} backend: {e}", backend.name()));
}

/// Every successful write (create, update, delete, on any key) bumps the
/// revision by exactly one; failed conditional writes do not; reads at
/// revision 0 report the current revision.
pub async fn revisions(backend: Arc<dyn Backend>) {
    let r0 = current(&*backend).await;
    assert!(r0 >= 0, "current revision {r0} is negative");
    let compacted = backend.compacted_revision().await.unwrap();
    assert!(
        compacted <= r0,
        "fresh backend compacted at {compacted}, beyond its revision {r0}"
    );
    assert_eq!(
        latest(&*backend, "/r/").await.revision,
        r0,
        "range revision"
    );

    let created = expect_succeeded(backend.create("/r/a", b("1")).await, "create /r/a");
    assert_eq!(created, r0 + 1, "first create");
    assert_eq!(current(&*backend).await, r0 + 1, "current after a create");

    let failures = [
        backend.create("/r/a", b("again")).await,
        backend.update("/r/a", b("2"), r0).await,
        backend.update("/r/a", b("2"), 0).await,
        backend.update("/r/missing", b("2"), 0).await,
        backend.delete("/r/a", r0).await,
        backend.delete("/r/missing", 0).await,
    ];
    for (i, outcome) in failures.into_iter().enumerate() {
        match outcome {
            Ok(TxnOutcome::Failed { .. }) => {}
            other => panic!("failing write #{i} should fail, got {other:?}"),
        }
    }
    assert_eq!(
        current(&*backend).await,
        r0 + 1,
        "failed writes bumped the revision"
    );

    let updated = expect_succeeded(backend.update("/r/a", b("2"), r0 + 1).await, "update /r/a");
    assert_eq!(updated, r0 + 2, "update");
    let other = expect_succeeded(backend.create("/r/b", b("1")).await, "create /r/b");
    assert_eq!(other, r0 + 3, "create of another key");
    let deleted = expect_succeeded(backend.delete("/r/a", r0 + 2).await, "delete /r/a");
    assert_eq!(deleted, r0 + 4, "delete");
    assert_eq!(
        current(&*backend).await,
        r0 + 4,
        "current after four writes"
    );
    assert_eq!(
        latest(&*backend, "/r/").await.revision,
        r0 + 4,
        "range revision"
    );
}

/// A create succeeds once; a second create fails with the current value; a
/// create after a delete starts a new life with a new create revision.
pub async fn create(backend: Arc<dyn Backend>) {
    let outcome = backend.create("/c/a", b("one")).await.unwrap();
    let TxnOutcome::Succeeded { revision, prev } = outcome else {
        panic!("create of a new key failed: {outcome:?}");
    };
    assert_eq!(prev, None, "create returned a previous value");
    let first = kv("/c/a", "one", revision, revision);
    assert_eq!(
        get(&*backend, "/c/a").await,
        Some(first.clone()),
        "created value"
    );

    assert_eq!(
        backend.create("/c/a", b("two")).await.unwrap(),
        TxnOutcome::Failed {
            current: Some(first.clone())
        },
        "second create of /c/a"
    );
    assert_eq!(
        get(&*backend, "/c/a").await,
        Some(first.clone()),
        "after a failed create"
    );

    let deleted = expect_succeeded(backend.delete("/c/a", revision).await, "delete /c/a");
    let outcome = backend.create("/c/a", b("three")).await.unwrap();
    let TxnOutcome::Succeeded {
        revision: recreated,
        prev: None,
    } = outcome
    else {
        panic!("create after delete: {outcome:?}");
    };
    assert_eq!(recreated, deleted + 1, "create after delete");
    assert_eq!(
        get(&*backend, "/c/a").await,
        Some(kv("/c/a", "three", recreated, recreated)),
        "a recreated key has a new create revision"
    );
}

/// Updates succeed only on the expected modification revision, keep the
/// create revision and return the previous value; on a mismatch they return
/// the current value (`None` for a missing key, whatever was expected, even
/// 0, which etcd's own compare treats as "missing").
pub async fn update(backend: Arc<dyn Backend>) {
    let r1 = expect_succeeded(backend.create("/u/a", b("v1")).await, "create");
    let v1 = kv("/u/a", "v1", r1, r1);
    let outcome = backend.update("/u/a", b("v2"), r1).await.unwrap();
    let TxnOutcome::Succeeded { revision: r2, prev } = outcome else {
        panic!("update on the right revision failed: {outcome:?}");
    };
    assert_eq!(prev, Some(v1), "update's previous value");
    let v2 = kv("/u/a", "v2", r1, r2);
    assert_eq!(
        get(&*backend, "/u/a").await,
        Some(v2.clone()),
        "updated value"
    );

    for stale in [r1, 0, r2 + 1] {
        assert_eq!(
            backend.update("/u/a", b("v3"), stale).await.unwrap(),
            TxnOutcome::Failed {
                current: Some(v2.clone())
            },
            "update expecting {stale} while at {r2}"
        );
    }
    for expected in [0, r1, r2] {
        assert_eq!(
            backend
                .update("/u/missing", b("x"), expected)
                .await
                .unwrap(),
            TxnOutcome::Failed { current: None },
            "update of a missing key expecting {expected}"
        );
    }
    assert_eq!(
        get(&*backend, "/u/missing").await,
        None,
        "update created a key"
    );
    assert_eq!(
        current(&*backend).await,
        r2,
        "failed updates bumped the revision"
    );

    // The same value again is still a write.
    let r3 = expect_succeeded(backend.update("/u/a", b("v2"), r2).await, "update same");
    assert_eq!(r3, r2 + 1, "an update to the same value");
    assert_eq!(get(&*backend, "/u/a").await, Some(kv("/u/a", "v2", r1, r3)));

    let deleted = expect_succeeded(backend.delete("/u/a", r3).await, "delete");
    assert_eq!(
        backend.update("/u/a", b("v4"), r3).await.unwrap(),
        TxnOutcome::Failed { current: None },
        "update of a deleted key"
    );
    assert_eq!(current(&*backend).await, deleted);
}

/// Deletes succeed only on the expected modification revision and return
/// the deleted value; on a mismatch they return the current value.
pub async fn delete(backend: Arc<dyn Backend>) {
    let r1 = expect_succeeded(backend.create("/d/a", b("v1")).await, "create");
    let r2 = expect_succeeded(backend.update("/d/a", b("v2"), r1).await, "update");
    let v2 = kv("/d/a", "v2", r1, r2);
    for stale in [r1, 0, r2 + 1] {
        assert_eq!(
            backend.delete("/d/a", stale).await.unwrap(),
            TxnOutcome::Failed {
                current: Some(v2.clone())
            },
            "delete expecting {stale} while at {r2}"
        );
    }
    assert_eq!(
        backend.delete("/d/a", r2).await.unwrap(),
        TxnOutcome::Succeeded {
            revision: r2 + 1,
            prev: Some(v2)
        },
        "delete on the right revision"
    );
    assert_eq!(
        get(&*backend, "/d/a").await,
        None,
        "deleted key still there"
    );
    for expected in [0, r2, r2 + 1] {
        assert_eq!(
            backend.delete("/d/a", expected).await.unwrap(),
            TxnOutcome::Failed { current: None },
            "delete of a missing key expecting {expected}"
        );
    }
    assert_eq!(
        current(&*backend).await,
        r2 + 1,
        "failed deletes bumped the revision"
    );
}

/// A range without `prefix` reads exactly one key, never keys it prefixes.
pub async fn range_single_key(backend: Arc<dyn Backend>) {
    let keys = ["/s/a", "/s/ab", "/s/a/b", "/s/a_", "/s/a%"];
    for key in keys {
        expect_succeeded(backend.create(key, b(key)).await, key);
    }
    for key in keys.into_iter().chain(["/s/", "/s/zz", "/s/a/"]) {
        let response = backend
            .range(RangeRequest {
                key: key.to_owned(),
                ..Default::default()
            })
            .await
            .unwrap();
        let expected: Vec<&str> = keys.iter().copied().filter(|k| *k == key).collect();
        assert_eq!(
            keys_of(&response.kvs),
            expected,
            "range of the single key {key}"
        );
        assert_eq!(response.count, expected.len() as i64, "count of {key}");
        assert!(!response.more, "more on the single key {key}");
        let counted = backend
            .range(RangeRequest {
                key: key.to_owned(),
                count_only: true,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(counted.count, expected.len() as i64, "count only of {key}");
    }
}

/// Prefix reads return exactly the keys that start with the prefix, in
/// bytewise order: no sibling with a common string prefix leaks in (the
/// key just past the prefix's end, SQL `LIKE` wildcards, multi-byte UTF-8).
pub async fn range_prefix(backend: Arc<dyn Backend>) {
    let keys = [
        "/registry/pods/a",
        "/registry/pods/b/c",
        "/registry/pods/Z",
        "/registry/pods/z",
        "/registry/pods/é",
        "/registry/pods/éa",
        "/registry/pods/ê",
        "/registry/pods-x",
        "/registry/podsx",
        "/registry/pods",
        "/registry/pods0",
        "/registry/pod",
        "/registry/a_b/1",
        "/registry/axb/1",
        "/registry/a%b/1",
        "/registry/aXYb/1",
    ];
    for key in keys {
        expect_succeeded(backend.create(key, b(key)).await, key);
    }
    let cases: &[(&str, &[&str])] = &[
        (
            "/registry/pods/",
            &[
                "/registry/pods/Z",
                "/registry/pods/a",
                "/registry/pods/b/c",
                "/registry/pods/z",
                "/registry/pods/é",
                "/registry/pods/éa",
                "/registry/pods/ê",
            ],
        ),
        (
            "/registry/pods",
            &[
                "/registry/pods",
                "/registry/pods-x",
                "/registry/pods/Z",
                "/registry/pods/a",
                "/registry/pods/b/c",
                "/registry/pods/z",
                "/registry/pods/é",
                "/registry/pods/éa",
                "/registry/pods/ê",
                "/registry/pods0",
                "/registry/podsx",
            ],
        ),
        ("/registry/pods/b", &["/registry/pods/b/c"]),
        (
            "/registry/pods/é",
            &["/registry/pods/é", "/registry/pods/éa"],
        ),
        ("/registry/a_b/", &["/registry/a_b/1"]),
        ("/registry/a%b/", &["/registry/a%b/1"]),
        ("/registry/nothing/", &[]),
        ("/registry/pods/b/c/", &[]),
    ];
    for (prefix, expected) in cases {
        let response = latest(&*backend, prefix).await;
        assert_eq!(keys_of(&response.kvs), *expected, "prefix {prefix:?}");
        assert_eq!(
            response.count,
            expected.len() as i64,
            "count of prefix {prefix:?}"
        );
        assert!(!response.more, "more without limit, prefix {prefix:?}");
        for kv in &response.kvs {
            assert_eq!(kv.value, kv.key.as_bytes(), "value of {}", kv.key);
        }
    }
}

/// `start_key` (inclusive), `limit`, `more` and `count` (counted from
/// `start_key` on), and a full walk page by page as continue tokens do.
pub async fn range_pagination(backend: Arc<dyn Backend>) {
    for key in ["/p/a", "/p/b", "/p/c", "/p/d", "/p/e", "/p0", "/pz", "/o/z"] {
        expect_succeeded(backend.create(key, b(key)).await, key);
    }
    let all = ["/p/a", "/p/b", "/p/c", "/p/d", "/p/e"];
    /// (start_key, limit) => (keys, more, count)
    type Case<'a> = (Option<&'a str>, i64, &'a [&'a str], bool, i64);
    let cases: &[Case<'_>] = &[
        (None, 0, &all, false, 5),
        (None, 2, &["/p/a", "/p/b"], true, 5),
        (None, 5, &all, false, 5),
        (None, 6, &all, false, 5),
        (Some("/p/a"), 1, &["/p/a"], true, 5),
        (Some("/p/c"), 2, &["/p/c", "/p/d"], true, 3),
        (Some("/p/d"), 2, &["/p/d", "/p/e"], false, 2),
        (Some("/p/bb"), 1, &["/p/c"], true, 3),
        (Some("/p/b\0"), 0, &["/p/c", "/p/d", "/p/e"], false, 3),
        (Some("/p/e"), 5, &["/p/e"], false, 1),
        (Some("/p/f"), 1, &[], false, 0),
        (Some("/p/"), 3, &["/p/a", "/p/b", "/p/c"], true, 5),
    ];
    for (start_key, limit, keys, more, count) in cases {
        let response = backend
            .range(RangeRequest {
                key: "/p/".to_owned(),
                prefix: true,
                start_key: start_key.map(str::to_owned),
                limit: *limit,
                ..Default::default()
            })
            .await
            .unwrap();
        let what = format!("start_key {start_key:?}, limit {limit}");
        assert_eq!(keys_of(&response.kvs), *keys, "keys, {what}");
        assert_eq!(response.more, *more, "more, {what}");
        assert_eq!(response.count, *count, "count, {what}");
    }
    for limit in 1..=6 {
        let walked = paginate(&*backend, "/p/", 0, limit).await;
        assert_eq!(keys_of(&walked), all, "walk with limit {limit}");
    }
}

/// `count_only` returns the count and no key-values.
pub async fn range_count_only(backend: Arc<dyn Backend>) {
    for key in ["/n/a", "/n/b", "/n/c", "/nx"] {
        expect_succeeded(backend.create(key, b(key)).await, key);
    }
    let cases: &[(Option<&str>, i64)] = &[(None, 3), (Some("/n/b"), 2), (Some("/n/d"), 0)];
    for (start_key, count) in cases {
        let response = backend
            .range(RangeRequest {
                key: "/n/".to_owned(),
                prefix: true,
                start_key: start_key.map(str::to_owned),
                count_only: true,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(response.kvs.is_empty(), "count_only returned key-values");
        assert_eq!(response.count, *count, "count from {start_key:?}");
    }
}

/// Reads at every past revision of a pseudo-random history of creates,
/// updates, deletes and re-creates see exactly the state of then: single
/// keys, prefixes, counts and page-by-page walks.
pub async fn range_past_revisions(backend: Arc<dyn Backend>) {
    let keys = ["/h/a", "/h/b", "/h/b/c", "/h/c", "/h/d", "/hx"];
    let mut writer = Writer::new(Arc::clone(&backend)).await;
    // Revision 0 would mean "the latest": only a backend that starts above
    // 0 has a readable empty past.
    let mut snapshots = Vec::new();
    if writer.revision > 0 {
        snapshots.push((writer.revision, writer.current.clone()));
    }
    let mut random = Lcg(7);
    for _ in 0..60 {
        let key = keys[random.below(keys.len())];
        if writer.current.contains_key(key) && random.below(3) == 0 {
            writer.delete(key).await;
        } else {
            let value = format!("{key}@{}", writer.revision + 1);
            writer.put(key, value).await;
        }
        snapshots.push((writer.revision, writer.current.clone()));
    }
    for (revision, snapshot) in &snapshots {
        let expected: Vec<KeyValue> = snapshot
            .values()
            .filter(|kv| kv.key.starts_with("/h/"))
            .cloned()
            .collect();
        let response = at(&*backend, "/h/", true, *revision).await;
        assert_eq!(response.kvs, expected, "prefix /h/ at revision {revision}");
        assert_eq!(response.count, expected.len() as i64, "count at {revision}");
        assert_eq!(response.revision, *revision, "response revision");
        assert_eq!(
            paginate(&*backend, "/h/", *revision, 2).await,
            expected,
            "walk of /h/ at revision {revision}"
        );
        for key in keys {
            let response = at(&*backend, key, false, *revision).await;
            let expected: Vec<KeyValue> = snapshot.get(key).cloned().into_iter().collect();
            assert_eq!(response.kvs, expected, "{key} at revision {revision}");
        }
    }
}

/// Reads beyond the current revision fail with `FutureRevision`.
pub async fn range_future_revision(backend: Arc<dyn Backend>) {
    expect_succeeded(backend.create("/f/a", b("1")).await, "create");
    let now = current(&*backend).await;
    for (key, prefix, revision) in [("/f/", true, now + 1), ("/f/a", false, now + 100)] {
        let result = backend
            .range(RangeRequest {
                key: key.to_owned(),
                prefix,
                revision,
                ..Default::default()
            })
            .await;
        match result {
            Err(Error::FutureRevision { requested, current })
                if requested == revision && current >= now => {}
            other => panic!("range of {key} at future revision {revision} (now {now}): {other:?}"),
        }
    }
}

/// `compact(r)`: the compacted revision becomes `r`, reads below `r` fail
/// with `Compacted`, reads at `r` and later and the current state are
/// untouched, compaction is not a write, and compacting lower is a no-op.
pub async fn compaction(backend: Arc<dyn Backend>) {
    let mut writer = Writer::new(Arc::clone(&backend)).await;
    let r1 = writer.put("/k/a", "1").await.mod_revision;
    let r2 = writer.put("/k/a", "2").await.mod_revision;
    let r3 = writer.put("/k/b", "1").await.mod_revision;
    let at_r3 = writer.current.clone();
    let r4 = writer.delete("/k/b").await;
    let r5 = writer.put("/k/c", "1").await.mod_revision;
    let before = latest(&*backend, "/k/").await;

    backend.compact(r3).await.unwrap();
    assert_eq!(
        backend.compacted_revision().await.unwrap(),
        r3,
        "compacted revision"
    );
    assert_eq!(
        current(&*backend).await,
        r5,
        "compaction changed the revision"
    );
    assert_eq!(
        latest(&*backend, "/k/").await.kvs,
        before.kvs,
        "state after compaction"
    );
    assert_eq!(
        at(&*backend, "/k/", true, r3).await.kvs,
        at_r3.values().cloned().collect::<Vec<_>>(),
        "read at the compacted revision"
    );
    assert_eq!(
        at(&*backend, "/k/b", false, r4).await.kvs,
        [],
        "read at {r4}"
    );
    for (key, prefix, revision) in [("/k/", true, r2), ("/k/a", false, r1)] {
        let result = backend
            .range(RangeRequest {
                key: key.to_owned(),
                prefix,
                revision,
                ..Default::default()
            })
            .await;
        match result {
            Err(Error::Compacted {
                requested,
                compacted,
            }) if requested == revision && compacted == r3 => {}
            other => panic!("read of {key} at {revision}, compacted at {r3}: {other:?}"),
        }
    }

    for lower in [r3, r2, 0] {
        backend.compact(lower).await.unwrap();
        assert_eq!(
            backend.compacted_revision().await.unwrap(),
            r3,
            "compact({lower}) after compact({r3})"
        );
    }
    backend.compact(r5).await.unwrap();
    assert_eq!(
        backend.compacted_revision().await.unwrap(),
        r5,
        "compact to current"
    );
    assert_eq!(
        latest(&*backend, "/k/").await.kvs,
        before.kvs,
        "state after compaction"
    );
    assert_eq!(
        at(&*backend, "/k/", true, r5).await.kvs,
        before.kvs,
        "read at {r5}"
    );
    let r6 = writer.put("/k/a", "3").await.mod_revision;
    assert_eq!(r6, r5 + 1, "write after compaction");
}

/// A watch from 0 (or from the next revision, as Kubernetes asks) sees only
/// later writes under its prefix, in order, with their exact contents.
pub async fn watch_from_now(backend: Arc<dyn Backend>) {
    let mut writer = Writer::new(Arc::clone(&backend)).await;
    writer.put("/w/a", "before").await;
    let mark = writer.events.len();
    let mut from_zero = Watcher::open(&*backend, "/w/", 0, "watch from 0").await;
    let next = writer.revision + 1;
    let mut from_next = Watcher::open(&*backend, "/w/", next, "watch from next").await;
    writer.put("/w/b", "1").await;
    writer.put("/w/a", "after").await;
    writer.put("/x/c", "outside").await;
    writer.delete("/w/b").await;
    writer.put("/w/b", "again").await;
    let last = writer.revision;
    let expected = writer.events_under("/w/", mark);
    assert_eq!(from_zero.events_until(last).await, expected, "watch from 0");
    assert_eq!(
        from_next.events_until(last).await,
        expected,
        "watch from {next}"
    );
}

/// A watch from a past revision replays the history from there, in order
/// and with previous values, then continues live with no gap or duplicate.
pub async fn watch_replay_then_live(backend: Arc<dyn Backend>) {
    let mut writer = Writer::new(Arc::clone(&backend)).await;
    let script = [
        ("/l/a", Some("1")),
        ("/l/b", Some("1")),
        ("/l/a", Some("2")),
        ("/l/b", None),
        ("/l/b", Some("2")),
        ("/l/c", Some("1")),
        ("/l/a", None),
    ];
    for (key, value) in script {
        writer.apply(key, value).await;
    }
    let from = writer.events[2].revision();
    let mut watch = Watcher::open(&*backend, "/l/", from, "watch from the past").await;
    let replayed = watch.events_until(writer.revision).await;
    assert_eq!(replayed, writer.events_under("/l/", 2), "replayed events");
    for (key, value) in script {
        writer.apply(key, value).await;
    }
    let live = watch.events_until(writer.revision).await;
    assert_eq!(
        live,
        writer.events_under("/l/", script.len()),
        "live events"
    );

    let first = writer.events[0].revision();
    let mut whole = Watcher::open(&*backend, "/l/", first, "watch from the first write").await;
    assert_eq!(
        whole.events_until(writer.revision).await,
        writer.events_under("/l/", 0),
        "replay of the whole history"
    );
}

/// Watches started from a recent past revision while writes keep coming see
/// every revision exactly once: the hand-off from replay to live has no gap
/// and no duplicate.
pub async fn watch_handoff_under_writes(backend: Arc<dyn Backend>) {
    const WRITES: usize = 300;
    let base = current(&*backend).await;
    let writing = {
        let backend = Arc::clone(&backend);
        tokio::spawn(async move {
            let mut writer = Writer::new(backend).await;
            for i in 0..WRITES {
                writer.put(&format!("/o/k{}", i % 5), i.to_string()).await;
                if i % 10 == 9 {
                    // Give the watches a chance to start mid-stream.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            writer.revision
        })
    };
    let mut watches = Vec::new();
    let mut last_open = i64::MIN;
    loop {
        let now = current(&*backend).await;
        if now >= last_open.saturating_add(10) {
            last_open = now;
            let start = (now - 3).max(base + 1);
            watches.push((
                start,
                Watcher::open(&*backend, "/o/", start, "hand-off").await,
            ));
            if watches.len() % 4 == 0 {
                watches.push((
                    now + 1,
                    Watcher::open(&*backend, "/o/", 0, "hand-off from 0").await,
                ));
            }
        }
        if writing.is_finished() || watches.len() >= 24 {
            break;
        }
        tokio::task::yield_now().await;
    }
    let written = writing.await.expect("writer panicked");
    assert_eq!(written, base + WRITES as i64);
    // A last write every watch sees, however late it started.
    let last = expect_succeeded(backend.create("/o/last", b("1")).await, "last write");
    assert!(!watches.is_empty());
    for (start, mut watch) in watches {
        let events = watch.events_until(last).await;
        let seen: Vec<i64> = events.iter().map(Event::revision).collect();
        let first = seen[0];
        assert!(first >= start, "watch from {start} saw revision {first}");
        let expected: Vec<i64> = (first..=last).collect();
        assert_eq!(
            seen, expected,
            "watch from {start}: every revision exactly once"
        );
        if watch.name == "hand-off" {
            assert_eq!(
                first, start,
                "watch from {start} missed its first revisions"
            );
        }
    }
}

/// Watches see only keys under their prefix, both live and replayed: no
/// sibling with a common string prefix, no SQL `LIKE` wildcard match.
pub async fn watch_prefix_filtering(backend: Arc<dyn Backend>) {
    let mut writer = Writer::new(Arc::clone(&backend)).await;
    let from = writer.revision + 1;
    let mut pods = Watcher::open(&*backend, "/x/pods/", 0, "pods").await;
    let mut like = Watcher::open(&*backend, "/x/a_b/", 0, "a_b").await;
    for key in [
        "/x/pods-x",
        "/x/podsx",
        "/x/pods",
        "/x/pods0",
        "/x/pods/a",
        "/x/axb/1",
        "/x/aXb/1",
        "/x/a_b/1",
        "/x/pods/b/c",
        "/x/a_b",
    ] {
        writer.put(key, "v").await;
    }
    let last_pod = writer.put("/x/pods/z", "sentinel").await.mod_revision;
    let last_like = writer.put("/x/a_b/z", "sentinel").await.mod_revision;
    let check = |events: Vec<Event>, expected: &[&str], what: &str| {
        let keys: Vec<&str> = events.iter().map(Event::key).collect();
        assert_eq!(keys, expected, "{what}");
    };
    let pod_keys = ["/x/pods/a", "/x/pods/b/c", "/x/pods/z"];
    let like_keys = ["/x/a_b/1", "/x/a_b/z"];
    check(
        pods.events_until(last_pod).await,
        &pod_keys,
        "live /x/pods/",
    );
    check(
        like.events_until(last_like).await,
        &like_keys,
        "live /x/a_b/",
    );
    let mut pods = Watcher::open(&*backend, "/x/pods/", from, "pods replay").await;
    let mut like = Watcher::open(&*backend, "/x/a_b/", from, "a_b replay").await;
    check(
        pods.events_until(last_pod).await,
        &pod_keys,
        "replayed /x/pods/",
    );
    check(
        like.events_until(last_like).await,
        &like_keys,
        "replayed /x/a_b/",
    );
}

/// Watches starting at or below the compacted revision fail with
/// `Compacted`; the first revision after it can still be watched.
pub async fn watch_compacted(backend: Arc<dyn Backend>) {
    let mut writer = Writer::new(Arc::clone(&backend)).await;
    let r1 = writer.put("/z/a", "1").await.mod_revision;
    let r2 = writer.put("/z/a", "2").await.mod_revision;
    writer.put("/z/b", "1").await;
    backend.compact(r2).await.unwrap();
    for start in [r1, r2] {
        let result = match backend.watch("/z/", start, false).await {
            Err(error) => Err(error),
            Ok(mut stream) => match tokio::time::timeout(WAIT, stream.next()).await {
                Ok(Some(Err(error))) => Err(error),
                other => Ok(format!("{other:?}")),
            },
        };
        match result {
            Err(Error::Compacted {
                requested,
                compacted,
            }) if requested == start && compacted == r2 => {}
            other => panic!("watch from {start}, compacted at {r2}: {other:?}"),
        }
    }
    let mut watch = Watcher::open(&*backend, "/z/", r2 + 1, "watch after compaction").await;
    assert_eq!(
        watch.events_until(writer.revision).await,
        writer.events_under("/z/", 2),
        "watch from the revision after the compacted one"
    );
}

/// Many concurrent watchers, fed by concurrent writers, all see the same
/// events in the same order.
pub async fn watch_many_watchers(backend: Arc<dyn Backend>) {
    const WATCHERS: usize = 24;
    const WRITERS: usize = 4;
    const WRITES: usize = 25;
    let total = WRITERS * WRITES;
    let mut collecting = JoinSet::new();
    for i in 0..WATCHERS {
        let mut watch = Watcher::open(&*backend, "/mw/", 0, "many").await;
        collecting.spawn(async move {
            let mut events = Vec::new();
            while events.len() < total {
                if let WatchResponse::Events(batch) = watch.next().await {
                    events.extend(batch);
                }
            }
            (i, events)
        });
    }
    let mut writing = JoinSet::new();
    for w in 0..WRITERS {
        let backend = Arc::clone(&backend);
        writing.spawn(async move {
            for i in 0..WRITES {
                let key = format!("/mw/{w}/{i}");
                expect_succeeded(backend.create(&key, b(&key)).await, &key);
            }
        });
    }
    while let Some(done) = writing.join_next().await {
        done.expect("writer panicked");
    }
    let mut first: Option<Vec<Event>> = None;
    while let Some(done) = collecting.join_next().await {
        let (i, events) = done.expect("watcher panicked");
        assert_eq!(events.len(), total, "watcher {i} saw too many events");
        match &first {
            None => first = Some(events),
            Some(first) => assert_eq!(&events, first, "watcher {i} saw other events"),
        }
    }
}

/// Dropping watches (read or not) leaves the others working.
pub async fn watch_drop(backend: Arc<dyn Backend>) {
    let mut writer = Writer::new(Arc::clone(&backend)).await;
    let mut kept = Watcher::open(&*backend, "/dw/", 0, "kept").await;
    let unread = Watcher::open(&*backend, "/dw/", 0, "dropped unread").await;
    let mut half = Watcher::open(&*backend, "/dw/", 0, "dropped half-read").await;
    writer.put("/dw/a", "1").await;
    writer.put("/dw/b", "1").await;
    half.next().await;
    drop(unread);
    drop(half);
    writer.put("/dw/a", "2").await;
    writer.delete("/dw/b").await;
    let late = writer.revision + 1;
    let mut new = Watcher::open(&*backend, "/dw/", 0, "new after drops").await;
    writer.put("/dw/c", "1").await;
    assert_eq!(
        kept.events_until(writer.revision).await,
        writer.events_under("/dw/", 0),
        "kept watch"
    );
    let new_events = new.events_until(writer.revision).await;
    assert_eq!(new_events.len(), 1, "new watch");
    assert_eq!(new_events[0].revision(), late, "new watch");
}

/// `request_progress` makes watches report a `Progress` at or past the
/// store's current revision (including writes outside their prefix), after
/// every event up to it, and later events come after it.
pub async fn watch_request_progress(backend: Arc<dyn Backend>) {
    let mut writer = Writer::new(Arc::clone(&backend)).await;
    let mut watch = Watcher::open(&*backend, "/rp/", 0, "progress").await;
    let mut other = Watcher::open(&*backend, "/rq/", 0, "other prefix").await;
    let start = writer.revision;
    backend.request_progress().await.unwrap();
    let p = watch.progress().await;
    assert!(
        p >= start,
        "progress {p} before the current revision {start}"
    );
    other.progress().await;

    writer.put("/rp/a", "1").await;
    writer.put("/rp/b", "1").await;
    let events = watch.events_until(writer.revision).await;
    assert_eq!(events.len(), 2);
    writer.put("/elsewhere", "1").await;
    let now = writer.revision;
    backend.request_progress().await.unwrap();
    let p = watch.progress().await;
    assert!(p >= now, "progress {p} before the current revision {now}");
    let p = other.progress().await;
    assert!(p >= now, "progress {p} before the current revision {now}");

    writer.put("/rp/a", "2").await;
    let events = watch.events_until(writer.revision).await;
    assert_eq!(
        events,
        writer.events_under("/rp/", 3),
        "event after progress"
    );
}

/// An idle watch opened with `progress_notify` gets `Progress` responses
/// within [`PROGRESS_NOTIFY_WITHIN`], which follow writes elsewhere.
pub async fn watch_progress_notify(backend: Arc<dyn Backend>) {
    let mut writer = Writer::new(Arc::clone(&backend)).await;
    let start = writer.revision;
    let stream = backend.watch("/pn/", 0, true).await.unwrap();
    let mut watch = Watcher::new(stream, "progress notify");
    watch.wait = PROGRESS_NOTIFY_WITHIN;
    let p = watch.progress().await;
    assert!(
        p >= start,
        "progress {p} before the current revision {start}"
    );
    let elsewhere = writer.put("/elsewhere", "1").await.mod_revision;
    let deadline = tokio::time::Instant::now() + PROGRESS_NOTIFY_WITHIN * 2;
    loop {
        let p = watch.progress().await;
        if p >= elsewhere {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no progress reached revision {elsewhere} (last {p})"
        );
    }
}

/// N tasks each increment one counter by read-modify-write with
/// compare-and-swap, retrying on `Failed`: no increment is lost and every
/// successful update has its own revision.
pub async fn concurrent_cas_increments(backend: Arc<dyn Backend>) {
    const TASKS: usize = 16;
    const INCREMENTS: usize = 20;
    let created = expect_succeeded(backend.create("/cas/n", b("0")).await, "create");
    let mut tasks = JoinSet::new();
    for _ in 0..TASKS {
        let backend = Arc::clone(&backend);
        tasks.spawn(async move {
            let mut revisions = Vec::new();
            let mut current = get(&*backend, "/cas/n").await.expect("counter missing");
            for _ in 0..INCREMENTS {
                loop {
                    let n: u64 = std::str::from_utf8(&current.value)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .expect("counter is not a number");
                    let next = Bytes::from((n + 1).to_string());
                    match backend
                        .update("/cas/n", next.clone(), current.mod_revision)
                        .await
                        .unwrap()
                    {
                        TxnOutcome::Succeeded { revision, prev } => {
                            assert_eq!(prev.as_ref(), Some(&current), "prev of a CAS update");
                            revisions.push(revision);
                            current = KeyValue {
                                value: next,
                                mod_revision: revision,
                                ..current
                            };
                            break;
                        }
                        TxnOutcome::Failed { current: now } => {
                            current = now.expect("counter vanished");
                        }
                    }
                }
            }
            revisions
        });
    }
    let mut revisions = Vec::new();
    while let Some(done) = tasks.join_next().await {
        revisions.extend(done.expect("incrementing task panicked"));
    }
    let total = (TASKS * INCREMENTS) as i64;
    revisions.sort_unstable();
    let expected: Vec<i64> = (created + 1..=created + total).collect();
    assert_eq!(revisions, expected, "revisions of the successful updates");
    let counter = get(&*backend, "/cas/n").await.expect("counter missing");
    assert_eq!(
        counter,
        kv("/cas/n", &total.to_string(), created, created + total)
    );
    assert_eq!(
        current(&*backend).await,
        created + total,
        "current revision"
    );
}

/// N tasks creating distinct keys get N distinct consecutive revisions, all
/// visible; N tasks creating one key: exactly one wins, the others see it.
pub async fn concurrent_creates(backend: Arc<dyn Backend>) {
    const TASKS: usize = 32;
    let base = current(&*backend).await;
    let mut tasks = JoinSet::new();
    for i in 0..TASKS {
        let backend = Arc::clone(&backend);
        tasks.spawn(async move {
            let key = format!("/cc/{i:02}");
            let revision = expect_succeeded(backend.create(&key, b(&key)).await, &key);
            (key, revision)
        });
    }
    let mut created = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        let (key, revision) = done.expect("creating task panicked");
        created.insert(key, revision);
    }
    let revisions: BTreeSet<i64> = created.values().copied().collect();
    let expected: BTreeSet<i64> = (base + 1..=base + TASKS as i64).collect();
    assert_eq!(revisions, expected, "revisions of concurrent creates");
    let listed = latest(&*backend, "/cc/").await;
    let expected: Vec<KeyValue> = created
        .iter()
        .map(|(key, revision)| kv(key, key, *revision, *revision))
        .collect();
    assert_eq!(listed.kvs, expected, "concurrently created keys");

    let mut tasks = JoinSet::new();
    for i in 0..16 {
        let backend = Arc::clone(&backend);
        tasks.spawn(async move { backend.create("/cc/one", b(&i.to_string())).await.unwrap() });
    }
    let mut outcomes = Vec::new();
    while let Some(done) = tasks.join_next().await {
        outcomes.push(done.expect("creating task panicked"));
    }
    let winner = get(&*backend, "/cc/one").await.expect("no create won");
    let mut wins = 0;
    for outcome in outcomes {
        match outcome {
            TxnOutcome::Succeeded { revision, prev } => {
                assert_eq!((revision, prev), (winner.mod_revision, None), "the winner");
                wins += 1;
            }
            TxnOutcome::Failed { current } => {
                assert_eq!(current.as_ref(), Some(&winner), "a losing create")
            }
        }
    }
    assert_eq!(wins, 1, "creates of one key that succeeded");
}

/// Values of any bytes (empty, binary, 1 MiB) and keys with Unicode,
/// spaces and slashes round-trip exactly, in reads and in watch events.
pub async fn values_roundtrip(backend: Arc<dyn Backend>) {
    let big: Bytes = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(31) % 251) as u8)
        .collect();
    let cases: Vec<(&str, Bytes)> = vec![
        ("/v/empty", Bytes::new()),
        (
            "/v/binary",
            Bytes::from_static(b"\0\xff\x00\x80 \n\r\t\\'\"%_"),
        ),
        ("/v/big", big.clone()),
        ("/v/ключ/日本語", Bytes::from("ünïcødé ✓".to_owned())),
        ("/v/a b/c:d@e", b("spaces")),
        ("/v/a//b/", b("slashes")),
        ("/v/'; drop table kv; --", b("quotes")),
    ];
    let mut writer = Writer::new(Arc::clone(&backend)).await;
    let from = writer.revision + 1;
    for (key, value) in &cases {
        let kv = writer.put(key, value.clone()).await;
        let read = get(&*backend, key).await;
        assert_eq!(read.as_ref(), Some(&kv), "read back {key}");
    }
    let listed = latest(&*backend, "/v/").await;
    let mut expected: Vec<KeyValue> = writer.current.values().cloned().collect();
    expected.retain(|kv| kv.key.starts_with("/v/"));
    assert_eq!(listed.kvs, expected, "list of /v/");
    // Sizes change both ways.
    writer.put("/v/empty", big).await;
    writer.put("/v/big", Bytes::new()).await;
    assert_eq!(
        get(&*backend, "/v/empty").await.map(|kv| kv.value.len()),
        Some(1 << 20)
    );
    assert_eq!(
        get(&*backend, "/v/big").await.map(|kv| kv.value.len()),
        Some(0)
    );
    let mut watch = Watcher::open(&*backend, "/v/", from, "values").await;
    assert_eq!(
        watch.events_until(writer.revision).await,
        writer.events_under("/v/", 0),
        "watch events of /v/"
    );
}

// ---- helpers ----

fn b(s: &str) -> Bytes {
    Bytes::from(s.to_owned())
}

fn kv(key: &str, value: &str, create_revision: i64, mod_revision: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: b(value),
        create_revision,
        mod_revision,
    }
}

fn keys_of(kvs: &[KeyValue]) -> Vec<&str> {
    kvs.iter().map(|kv| kv.key.as_str()).collect()
}

fn expect_succeeded(outcome: crate::Result<TxnOutcome>, what: &str) -> i64 {
    match outcome {
        Ok(TxnOutcome::Succeeded { revision, .. }) => revision,
        other => panic!("{what}: expected success, got {other:?}"),
    }
}

async fn current(backend: &dyn Backend) -> i64 {
    backend.current_revision().await.unwrap()
}

async fn at(backend: &dyn Backend, key: &str, prefix: bool, revision: i64) -> RangeResponse {
    backend
        .range(RangeRequest {
            key: key.to_owned(),
            prefix,
            revision,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("range of {key} at {revision}: {e}"))
}

async fn latest(backend: &dyn Backend, prefix: &str) -> RangeResponse {
    at(backend, prefix, true, 0).await
}

async fn get(backend: &dyn Backend, key: &str) -> Option<KeyValue> {
    let response = at(backend, key, false, 0).await;
    assert!(
        response.kvs.len() <= 1,
        "single-key read of {key}: {response:?}"
    );
    response.kvs.into_iter().next()
}

/// Reads a prefix page by page at one revision (0: the first page's), as
/// continue tokens do: the next page starts just after the last key.
async fn paginate(backend: &dyn Backend, prefix: &str, revision: i64, limit: i64) -> Vec<KeyValue> {
    let mut all: Vec<KeyValue> = Vec::new();
    let mut start_key = None;
    let mut revision = revision;
    loop {
        let response = backend
            .range(RangeRequest {
                key: prefix.to_owned(),
                prefix: true,
                start_key: start_key.clone(),
                revision,
                limit,
                count_only: false,
            })
            .await
            .unwrap_or_else(|e| panic!("page of {prefix} from {start_key:?} at {revision}: {e}"));
        if revision == 0 {
            revision = response.revision;
        }
        assert_eq!(response.revision, revision, "page revision");
        assert!(
            response.kvs.len() as i64 <= limit,
            "page larger than {limit}"
        );
        assert!(
            response.count >= response.kvs.len() as i64,
            "count below the page"
        );
        assert_eq!(
            response.more,
            response.count > response.kvs.len() as i64,
            "more vs count {} on a page of {}",
            response.count,
            response.kvs.len()
        );
        let last = response.kvs.last().map(|kv| format!("{}\0", kv.key));
        all.extend(response.kvs);
        match (response.more, last) {
            (true, Some(next)) => start_key = Some(next),
            (true, None) => panic!("more with an empty page"),
            (false, _) => return all,
        }
    }
}

/// Writes through a backend while keeping a model of its state and of the
/// events a watch must see; asserts each write's outcome exactly.
struct Writer {
    backend: Arc<dyn Backend>,
    revision: i64,
    current: BTreeMap<String, KeyValue>,
    events: Vec<Event>,
}

impl Writer {
    async fn new(backend: Arc<dyn Backend>) -> Writer {
        let revision = current(&*backend).await;
        Writer {
            backend,
            revision,
            current: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    /// Creates or updates `key`.
    async fn put(&mut self, key: &str, value: impl Into<Bytes>) -> KeyValue {
        let value = value.into();
        let prev = self.current.get(key).cloned();
        let outcome = match &prev {
            None => self.backend.create(key, value.clone()).await,
            Some(prev) => {
                self.backend
                    .update(key, value.clone(), prev.mod_revision)
                    .await
            }
        };
        let revision = self.expect_next(outcome, prev.clone(), key);
        let kv = KeyValue {
            key: key.to_owned(),
            value,
            create_revision: prev.as_ref().map_or(revision, |prev| prev.create_revision),
            mod_revision: revision,
        };
        self.current.insert(key.to_owned(), kv.clone());
        self.events.push(Event::Put {
            kv: kv.clone(),
            prev,
        });
        kv
    }

    async fn delete(&mut self, key: &str) -> i64 {
        let prev = self
            .current
            .remove(key)
            .expect("model: deleting a missing key");
        let outcome = self.backend.delete(key, prev.mod_revision).await;
        let revision = self.expect_next(outcome, Some(prev.clone()), key);
        self.events.push(Event::Delete {
            key: key.to_owned(),
            revision,
            prev,
        });
        revision
    }

    async fn apply(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(value) => {
                self.put(key, b(value)).await;
            }
            None => {
                self.delete(key).await;
            }
        }
    }

    fn expect_next(
        &mut self,
        outcome: crate::Result<TxnOutcome>,
        prev: Option<KeyValue>,
        key: &str,
    ) -> i64 {
        let expected = TxnOutcome::Succeeded {
            revision: self.revision + 1,
            prev,
        };
        match outcome {
            Ok(outcome) if outcome == expected => {}
            other => panic!("write of {key}: expected {expected:?}, got {other:?}"),
        }
        self.revision += 1;
        self.revision
    }

    /// The events from the `from`-th write on, under `prefix`.
    fn events_under(&self, prefix: &str, from: usize) -> Vec<Event> {
        self.events[from..]
            .iter()
            .filter(|event| event.key().starts_with(prefix))
            .cloned()
            .collect()
    }
}

/// A watch stream that checks the stream's invariants on every response:
/// non-empty batches, strictly increasing revisions, progress never behind
/// a delivered event and never followed by an event at or below it.
struct Watcher {
    name: String,
    stream: WatchStream,
    wait: Duration,
    last_event: i64,
    last_progress: i64,
}

impl Watcher {
    async fn open(backend: &dyn Backend, prefix: &str, start: i64, name: &str) -> Watcher {
        let stream = backend
            .watch(prefix, start, false)
            .await
            .unwrap_or_else(|e| panic!("{name}: watch of {prefix} from {start}: {e}"));
        Watcher::new(stream, name)
    }

    fn new(stream: WatchStream, name: &str) -> Watcher {
        Watcher {
            name: name.to_owned(),
            stream,
            wait: WAIT,
            last_event: 0,
            last_progress: 0,
        }
    }

    async fn next(&mut self) -> WatchResponse {
        let name = &self.name;
        let response = match tokio::time::timeout(self.wait, self.stream.next()).await {
            Err(_) => panic!(
                "{name}: no watch response within {:?} (last event {}, last progress {})",
                self.wait, self.last_event, self.last_progress
            ),
            Ok(None) => panic!("{name}: the watch ended"),
            Ok(Some(Err(e))) => panic!("{name}: the watch failed: {e}"),
            Ok(Some(Ok(response))) => response,
        };
        match &response {
            WatchResponse::Events(events) => {
                assert!(!events.is_empty(), "{name}: an empty batch of events");
                for event in events {
                    let revision = event.revision();
                    assert!(
                        revision > self.last_event,
                        "{name}: event at {revision} after one at {}",
                        self.last_event
                    );
                    assert!(
                        revision > self.last_progress,
                        "{name}: event at {revision} after progress {}",
                        self.last_progress
                    );
                    self.last_event = revision;
                }
            }
            WatchResponse::Progress { revision } => {
                assert!(
                    *revision >= self.last_event && *revision >= self.last_progress,
                    "{name}: progress {revision} after event {} / progress {}",
                    self.last_event,
                    self.last_progress
                );
                self.last_progress = *revision;
            }
        }
        response
    }

    /// Every event until one at `revision` or later.
    async fn events_until(&mut self, revision: i64) -> Vec<Event> {
        let mut events = Vec::new();
        while self.last_event < revision {
            if let WatchResponse::Events(batch) = self.next().await {
                events.extend(batch);
            }
        }
        events
    }

    /// The next response, which must be a `Progress`.
    async fn progress(&mut self) -> i64 {
        match self.next().await {
            WatchResponse::Progress { revision } => revision,
            other => panic!("{}: expected progress, got {other:?}", self.name),
        }
    }
}

/// A small deterministic pseudo-random sequence (Knuth's MMIX LCG).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}
