//! Tests of the SQLite backend over a database in a temporary directory:
//! the shared conformance suite (one test per check), then what only SQLite has — reopening,
//! corrupt and foreign data, group-commit semantics, compaction of the log
//! and the throughput of concurrent writers.
#![cfg(feature = "sqlite")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use kapi_storage::sqlite::{CompactionPolicy, SqliteBackend, SqliteOptions};
use kapi_storage::{
    Backend, Error, Event, KeyValue, RangeRequest, RangeResponse, TxnOutcome, WatchResponse,
    WatchStream,
};
use tempfile::TempDir;

/// The shared conformance suite, one test per check.
mod conformance {
    use std::sync::Arc;

    use bytes::Bytes;
    use kapi_storage::sqlite::{SqliteBackend, SqliteOptions};
    use kapi_storage::testing::PROGRESS_INTERVAL;
    use kapi_storage::{Backend, Error, RangeRequest, RangeResponse, TxnOutcome, WatchStream};
    use tempfile::TempDir;

    /// The conformance suite's backend: a fresh database in its own temporary
    /// directory, removed when the backend is dropped.
    #[derive(Debug)]
    struct Conformance {
        // Dropped first: the writer stops before the directory goes.
        backend: SqliteBackend,
        _dir: TempDir,
    }

    fn make_with(options: SqliteOptions) -> Arc<dyn Backend> {
        let (dir, backend) = super::fresh_with(options.with_progress_interval(PROGRESS_INTERVAL));
        Arc::new(Conformance { backend, _dir: dir })
    }

    async fn make() -> Arc<dyn Backend> {
        make_with(SqliteOptions::default())
    }

    kapi_storage::conformance_tests!(make);

    /// The suite again with a hub of one group, so every watch goes through
    /// the fell-behind-and-caught-up-from-the-log path.
    mod small_buffers {
        use super::*;

        async fn make() -> Arc<dyn Backend> {
            make_with(SqliteOptions::default().with_watch_buffer(1))
        }

        kapi_storage::conformance_tests!(make);
    }

    #[async_trait::async_trait]
    impl Backend for Conformance {
        fn name(&self) -> &'static str {
            self.backend.name()
        }
        async fn range(&self, request: RangeRequest) -> Result<RangeResponse, Error> {
            self.backend.range(request).await
        }
        async fn create(&self, key: &str, value: Bytes) -> Result<TxnOutcome, Error> {
            self.backend.create(key, value).await
        }
        async fn update(
            &self,
            key: &str,
            value: Bytes,
            expected: i64,
        ) -> Result<TxnOutcome, Error> {
            self.backend.update(key, value, expected).await
        }
        async fn delete(&self, key: &str, expected: i64) -> Result<TxnOutcome, Error> {
            self.backend.delete(key, expected).await
        }
        async fn current_revision(&self) -> Result<i64, Error> {
            self.backend.current_revision().await
        }
        async fn watch(
            &self,
            prefix: &str,
            start: i64,
            progress: bool,
        ) -> Result<WatchStream, Error> {
            self.backend.watch(prefix, start, progress).await
        }
        async fn request_progress(&self) -> Result<(), Error> {
            self.backend.request_progress().await
        }
        async fn compact(&self, revision: i64) -> Result<(), Error> {
            self.backend.compact(revision).await
        }
        async fn compacted_revision(&self) -> Result<i64, Error> {
            self.backend.compacted_revision().await
        }
        async fn check_health(&self) -> Result<(), Error> {
            self.backend.check_health().await
        }
    }
}

/// A fresh backend in its own temporary directory (kept alive with it).
fn fresh() -> (TempDir, SqliteBackend) {
    fresh_with(SqliteOptions::default())
}

fn fresh_with(options: SqliteOptions) -> (TempDir, SqliteBackend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = SqliteBackend::open(dir.path().join("kapi.db"), options).expect("open");
    (dir, backend)
}

fn revision_of(outcome: &TxnOutcome) -> i64 {
    match outcome {
        TxnOutcome::Succeeded { revision, .. } => *revision,
        TxnOutcome::Failed { current } => panic!("write failed, current {current:?}"),
    }
}

async fn create(backend: &SqliteBackend, key: &str, value: &str) -> i64 {
    revision_of(
        &backend
            .create(key, Bytes::from(value.to_owned()))
            .await
            .expect("create"),
    )
}

async fn list(
    backend: &SqliteBackend,
    prefix: &str,
    revision: i64,
) -> Result<RangeResponse, Error> {
    backend
        .range(RangeRequest {
            key: prefix.to_owned(),
            prefix: true,
            revision,
            ..RangeRequest::default()
        })
        .await
}

async fn get(backend: &SqliteBackend, key: &str) -> Option<KeyValue> {
    let response = backend
        .range(RangeRequest {
            key: key.to_owned(),
            ..RangeRequest::default()
        })
        .await
        .expect("get");
    response.kvs.into_iter().next()
}

fn keys(response: &RangeResponse) -> Vec<&str> {
    response.kvs.iter().map(|kv| kv.key.as_str()).collect()
}

/// The next response of a watch, within a second.
async fn next(stream: &mut WatchStream) -> Result<WatchResponse, Error> {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("watch response within 5s")
        .expect("watch stream ended")
}

/// Collects watch events until `count` have arrived (progress skipped).
async fn events(stream: &mut WatchStream, count: usize) -> Vec<Event> {
    let mut events = Vec::new();
    while events.len() < count {
        match next(stream).await.expect("watch response") {
            WatchResponse::Events(batch) => events.extend(batch),
            WatchResponse::Progress { .. } => {}
        }
    }
    events
}

#[tokio::test]
async fn writes_follow_the_revision_model() {
    let (_dir, db) = fresh();
    assert_eq!(db.name(), "sqlite");
    assert_eq!(db.current_revision().await.unwrap(), 0);
    let r1 = create(&db, "/a", "one").await;
    assert_eq!(r1, 1);
    // A second create of the key fails with the current value.
    match db.create("/a", Bytes::from_static(b"x")).await.unwrap() {
        TxnOutcome::Failed { current: Some(kv) } => assert_eq!(kv.value, "one"),
        other => panic!("{other:?}"),
    }
    // Update with a stale revision fails; with the right one succeeds.
    assert!(matches!(
        db.update("/a", Bytes::from_static(b"two"), r1 + 7)
            .await
            .unwrap(),
        TxnOutcome::Failed { current: Some(_) }
    ));
    let outcome = db
        .update("/a", Bytes::from_static(b"two"), r1)
        .await
        .unwrap();
    let TxnOutcome::Succeeded { revision: r2, prev } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(r2, 2);
    assert_eq!(prev.unwrap().value, "one");
    let kv = get(&db, "/a").await.unwrap();
    assert_eq!(
        (kv.create_revision, kv.mod_revision, &kv.value[..]),
        (1, 2, &b"two"[..])
    );
    // Delete needs the current revision too.
    assert!(matches!(
        db.delete("/a", r1).await.unwrap(),
        TxnOutcome::Failed { .. }
    ));
    assert_eq!(revision_of(&db.delete("/a", r2).await.unwrap()), 3);
    assert!(get(&db, "/a").await.is_none());
    assert!(matches!(
        db.update("/a", Bytes::new(), r2).await.unwrap(),
        TxnOutcome::Failed { current: None }
    ));
    // Recreated: a new create revision; empty values round-trip.
    assert_eq!(
        revision_of(&db.create("/a", Bytes::new()).await.unwrap()),
        4
    );
    let kv = get(&db, "/a").await.unwrap();
    assert_eq!((kv.create_revision, kv.value.len()), (4, 0));
    assert_eq!(db.current_revision().await.unwrap(), 4);
    assert!(matches!(
        db.create("", Bytes::new()).await,
        Err(Error::InvalidRequest(_))
    ));
    db.check_health().await.unwrap();
}

#[tokio::test]
async fn ranges_are_bytewise_and_read_old_revisions() {
    let (_dir, db) = fresh();
    // Bytewise order: "/p/Z" < "/p/a" < "/p/\u{7f}" < "/p/é" (0xc3 0xa9) < "/p/😀" (0xf0 ...).
    for key in ["/p/é", "/p/a", "/p/😀", "/p/Z", "/p/\u{7f}", "/q/a", "/p"] {
        create(&db, key, key).await;
    }
    let all = list(&db, "/p/", 0).await.unwrap();
    assert_eq!(keys(&all), ["/p/Z", "/p/a", "/p/\u{7f}", "/p/é", "/p/😀"]);
    assert_eq!((all.count, all.more, all.revision), (5, false, 7));
    // A prefix ending in a non-ASCII byte sequence.
    let accented = list(&db, "/p/\u{e9}", 0).await.unwrap();
    assert_eq!(keys(&accented), ["/p/é"]);
    // Limit, start key and count.
    let page = db
        .range(RangeRequest {
            key: "/p/".into(),
            prefix: true,
            start_key: Some("/p/a".into()),
            limit: 2,
            ..RangeRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(keys(&page), ["/p/a", "/p/\u{7f}"]);
    assert_eq!((page.count, page.more), (4, true));
    let counted = db
        .range(RangeRequest {
            key: "/p/".into(),
            prefix: true,
            count_only: true,
            ..RangeRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (counted.count, counted.kvs.len(), counted.more),
        (5, 0, false)
    );
    // Everything, with the empty prefix.
    assert_eq!(list(&db, "", 0).await.unwrap().count, 7);
    assert!(matches!(
        db.range(RangeRequest {
            key: "/p/".into(),
            prefix: true,
            start_key: Some("/q/".into()),
            ..RangeRequest::default()
        })
        .await,
        Err(Error::InvalidRequest(_))
    ));

    // History: update and delete, then read as of earlier revisions.
    let a = get(&db, "/p/a").await.unwrap();
    let r8 = revision_of(
        &db.update("/p/a", Bytes::from_static(b"v2"), a.mod_revision)
            .await
            .unwrap(),
    );
    let z = get(&db, "/p/Z").await.unwrap();
    let r9 = revision_of(&db.delete("/p/Z", z.mod_revision).await.unwrap());
    let check = |response: RangeResponse, expected: &[(&str, &str)]| {
        let got: Vec<(String, String)> = response
            .kvs
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    String::from_utf8(kv.value.to_vec()).unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(got, expected);
    };
    check(
        list(&db, "/p/", 2).await.unwrap(),
        &[("/p/a", "/p/a"), ("/p/é", "/p/é")],
    );
    check(
        list(&db, "/p/", r8).await.unwrap(),
        &[
            ("/p/Z", "/p/Z"),
            ("/p/a", "v2"),
            ("/p/\u{7f}", "/p/\u{7f}"),
            ("/p/é", "/p/é"),
            ("/p/😀", "/p/😀"),
        ],
    );
    check(
        list(&db, "/p/", r9).await.unwrap(),
        &[
            ("/p/a", "v2"),
            ("/p/\u{7f}", "/p/\u{7f}"),
            ("/p/é", "/p/é"),
            ("/p/😀", "/p/😀"),
        ],
    );
    let old = list(&db, "/p/", r8 - 1).await.unwrap();
    assert_eq!(old.revision, r8 - 1);
    assert_eq!(old.kvs[1].value, "/p/a");
    assert_eq!(old.count, 5);
    assert!(matches!(
        list(&db, "/p/", r9 + 1).await,
        Err(Error::FutureRevision { requested, current }) if requested == r9 + 1 && current == r9
    ));
}

#[tokio::test]
async fn compaction_keeps_the_current_state() {
    let (_dir, db) = fresh();
    let r1 = create(&db, "/c/a", "a1").await;
    let r2 = revision_of(
        &db.update("/c/a", Bytes::from_static(b"a2"), r1)
            .await
            .unwrap(),
    );
    let r3 = create(&db, "/c/b", "b1").await;
    let r4 = revision_of(&db.delete("/c/b", r3).await.unwrap());
    let r5 = create(&db, "/c/d", "d1").await;
    let r6 = revision_of(
        &db.update("/c/a", Bytes::from_static(b"a3"), r2)
            .await
            .unwrap(),
    );

    db.compact(r5).await.unwrap();
    assert_eq!(db.compacted_revision().await.unwrap(), r5);
    // Compacting lower again is a no-op; beyond the current revision fails.
    db.compact(r2).await.unwrap();
    assert_eq!(db.compacted_revision().await.unwrap(), r5);
    assert!(matches!(
        db.compact(r6 + 1).await,
        Err(Error::FutureRevision { .. })
    ));

    assert!(matches!(
        list(&db, "/c/", r4).await,
        Err(Error::Compacted { requested, compacted }) if requested == r4 && compacted == r5
    ));
    let at_r5 = list(&db, "/c/", r5).await.unwrap();
    assert_eq!(keys(&at_r5), ["/c/a", "/c/d"]);
    assert_eq!(at_r5.kvs[0].value, "a2");
    let latest = list(&db, "/c/", 0).await.unwrap();
    assert_eq!(latest.kvs[0].value, "a3");
    assert_eq!(latest.kvs[0].create_revision, r1);
    // A watch from above the compacted revision still gets previous values.
    let mut watch = db.watch("/c/", r6, false).await.unwrap();
    match &events(&mut watch, 1).await[0] {
        Event::Put {
            kv,
            prev: Some(prev),
        } => {
            assert_eq!((kv.mod_revision, prev.mod_revision), (r6, r2));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        db.watch("/c/", r5, false).await.err(),
        Some(Error::Compacted { .. })
    ));
}

#[tokio::test]
async fn compaction_policy_keeps_the_last_revisions() {
    let mut options = SqliteOptions::default();
    options.compaction = CompactionPolicy::KeepRevisions(3);
    let (_dir, db) = fresh_with(options);
    assert_eq!(db.compact_by_policy().await.unwrap(), None);
    for i in 0..10 {
        create(&db, &format!("/k/{i}"), "v").await;
    }
    assert_eq!(db.compact_by_policy().await.unwrap(), Some(7));
    assert_eq!(db.compacted_revision().await.unwrap(), 7);
    assert_eq!(db.compact_by_policy().await.unwrap(), None);

    let mut options = SqliteOptions::default();
    options.compaction = CompactionPolicy::KeepFor(Duration::from_millis(50));
    let (_dir, db) = fresh_with(options);
    create(&db, "/k", "v").await;
    assert_eq!(db.compact_by_policy().await.unwrap(), None);
    create(&db, "/l", "v").await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    // The revision seen 50 ms ago (1) is compacted, not the current one (2).
    assert_eq!(db.compact_by_policy().await.unwrap(), Some(1));
}

#[tokio::test]
async fn watch_catches_up_then_follows_without_gap_or_duplicate() {
    let (_dir, db) = fresh();
    let db = Arc::new(db);
    for i in 0..600 {
        create(&db, &format!("/w/{i:04}"), "v").await;
        create(&db, &format!("/other/{i:04}"), "v").await;
    }
    // Writers keep going while the watch catches up from revision 1.
    let writer = {
        let db = Arc::clone(&db);
        tokio::spawn(async move {
            for i in 600..900 {
                create(&db, &format!("/w/{i:04}"), "v").await;
            }
        })
    };
    let mut watch = db.watch("/w/", 1, false).await.unwrap();
    let seen = events(&mut watch, 900).await;
    writer.await.unwrap();
    let revisions: Vec<i64> = seen.iter().map(Event::revision).collect();
    assert!(
        revisions.windows(2).all(|w| w[0] < w[1]),
        "revisions increase"
    );
    let keys: Vec<&str> = seen.iter().map(Event::key).collect();
    let expected: Vec<String> = (0..900).map(|i| format!("/w/{i:04}")).collect();
    assert_eq!(keys, expected);
    assert!(
        seen.iter()
            .all(|e| matches!(e, Event::Put { prev: None, .. }))
    );
}

#[tokio::test]
async fn watch_reports_deletes_and_progress() {
    let mut options = SqliteOptions::default();
    options.progress_interval = Duration::from_millis(100);
    let (_dir, db) = fresh_with(options);
    let r1 = create(&db, "/x/a", "1").await;
    let mut watch = db.watch("/x/", 0, true).await.unwrap();
    let r2 = revision_of(&db.delete("/x/a", r1).await.unwrap());
    create(&db, "/y/a", "1").await;
    match &events(&mut watch, 1).await[0] {
        Event::Delete {
            key,
            revision,
            prev,
        } => {
            assert_eq!(
                (key.as_str(), *revision, prev.mod_revision),
                ("/x/a", r2, r1)
            );
        }
        other => panic!("{other:?}"),
    }
    // Periodic progress reports the store's revision, writes elsewhere included.
    let started = Instant::now();
    assert_eq!(
        next(&mut watch).await.unwrap(),
        WatchResponse::Progress { revision: r2 + 1 }
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // Requested progress, on a watch without periodic notifications.
    let mut quiet = db.watch("/x/", 0, false).await.unwrap();
    db.request_progress().await.unwrap();
    assert_eq!(
        next(&mut quiet).await.unwrap(),
        WatchResponse::Progress { revision: r2 + 1 }
    );
}

#[tokio::test]
async fn slow_watcher_catches_up_from_the_log() {
    // The hub keeps 4 groups; the stream buffers a few responses.
    let (_dir, db) = fresh_with(SqliteOptions::default().with_watch_buffer(4));
    let mut watch = db.watch("/s/", 0, false).await.unwrap();
    // 300 groups committed while the watcher reads nothing.
    for i in 0..300 {
        create(&db, &format!("/s/{i:03}"), "v").await;
    }
    let seen = events(&mut watch, 300).await;
    let keys: Vec<&str> = seen.iter().map(Event::key).collect();
    let expected: Vec<String> = (0..300).map(|i| format!("/s/{i:03}")).collect();
    assert_eq!(keys, expected, "no gap, no duplicate");
    // Caught up, it follows live writes again.
    create(&db, "/s/live", "v").await;
    assert_eq!(events(&mut watch, 1).await[0].key(), "/s/live");
}

#[tokio::test]
async fn reopening_keeps_data_and_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/kapi.db");
    let db = SqliteBackend::open(&path, SqliteOptions::default()).unwrap();
    let r1 = create(&db, "/r/a", "a").await;
    let r2 = create(&db, "/r/b", "b").await;
    // Deleting the newest key: its deletion record may be compacted away,
    // the revision must survive anyway.
    let r3 = revision_of(&db.delete("/r/b", r2).await.unwrap());
    db.compact(r3).await.unwrap();
    // A second open of the same file is refused while the first is open.
    assert!(matches!(
        SqliteBackend::open(&path, SqliteOptions::default()),
        Err(Error::Unavailable(_))
    ));
    drop(db);
    let db = SqliteBackend::open(&path, SqliteOptions::default()).unwrap();
    assert_eq!(db.current_revision().await.unwrap(), r3);
    assert_eq!(db.compacted_revision().await.unwrap(), r3);
    let kv = get(&db, "/r/a").await.unwrap();
    assert_eq!((kv.mod_revision, &kv.value[..]), (r1, &b"a"[..]));
    assert_eq!(create(&db, "/r/c", "c").await, r3 + 1);
}

/// Runs raw SQL against the backend's file, as another program would.
fn tamper(path: &std::path::Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[tokio::test]
async fn corrupt_rows_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kapi.db");
    let db = SqliteBackend::open(&path, SqliteOptions::default()).unwrap();
    create(&db, "/ok", "fine").await;
    create(&db, "/t/value", "v").await;
    create(&db, "/t/dangling", "v").await;
    create(&db, "/u/create", "v").await;
    tamper(
        &path,
        "UPDATE kapi_log SET value = 42 WHERE key = CAST('/t/value' AS BLOB);
         INSERT INTO kapi_current (key, revision) VALUES (x'2f762fff', 99);
         UPDATE kapi_current SET revision = 1000 WHERE key = CAST('/t/dangling' AS BLOB);
         UPDATE kapi_log SET create_revision = 'soon' WHERE key = CAST('/u/create' AS BLOB);
         INSERT INTO kapi_log (revision, key, value, create_revision, prev_revision)
             VALUES (100, x'2f772fff', x'00', 100, 0);
         INSERT INTO kapi_current (key, revision) VALUES (x'2f772fff', 100);",
    );
    // Each read that meets a foreign row fails with Corrupt, naming the key.
    let check = async |prefix: &str, expected_key: &str| match list(&db, prefix, 0).await {
        Err(Error::Corrupt { key, .. }) => assert_eq!(key, expected_key, "{prefix}"),
        other => panic!("{prefix}: {other:?}"),
    };
    check("/t/value", "/t/value").await;
    check("/t/dangling", "/t/dangling").await;
    check("/u/", "/u/create").await;
    check("/v/", "/v/\u{fffd}").await;
    check("/w/", "/w/\u{fffd}").await;
    // Writes to a corrupt key fail alone; the rest of the store works.
    assert!(matches!(
        db.update("/t/value", Bytes::new(), 2).await,
        Err(Error::Corrupt { .. })
    ));
    assert_eq!(get(&db, "/ok").await.unwrap().value, "fine");
    assert!(create(&db, "/ok2", "x").await > 4);
    let mut watch = db.watch("/u/", 1, false).await.unwrap();
    assert!(matches!(next(&mut watch).await, Err(Error::Corrupt { .. })));
}

#[tokio::test]
async fn foreign_databases_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let check = |name: &str, setup: &dyn Fn(&std::path::Path)| {
        let path = dir.path().join(name);
        setup(&path);
        match SqliteBackend::open(&path, SqliteOptions::default()) {
            Err(Error::Corrupt { .. }) => {}
            other => panic!("{name}: {other:?}"),
        }
    };
    check("garbage.db", &|path| {
        std::fs::write(path, vec![0x5a; 8192]).unwrap()
    });
    check("other-app.db", &|path| {
        tamper(path, "CREATE TABLE users (id INTEGER);")
    });
    check("other-id.db", &|path| {
        tamper(path, "PRAGMA application_id = 7;")
    });
    check("future.db", &|path| {
        drop(SqliteBackend::open(path, SqliteOptions::default()).unwrap());
        tamper(
            path,
            "UPDATE kapi_meta SET value = 99 WHERE name = 'schema_version';",
        );
    });
}

#[tokio::test]
async fn concurrent_compare_and_swap_sees_earlier_writes() {
    let (_dir, db) = fresh();
    let r = create(&db, "/cas", "0").await;
    // Many writers race on the same expected revision: exactly one wins,
    // every loser is told the winner's value.
    let attempts = (0..32).map(|i| db.update("/cas", Bytes::from(format!("{i}")), r));
    let outcomes = futures::future::join_all(attempts).await;
    let winners: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o.as_ref().unwrap() {
            TxnOutcome::Succeeded { revision, .. } => Some(*revision),
            TxnOutcome::Failed { .. } => None,
        })
        .collect();
    assert_eq!(winners.len(), 1);
    let current = get(&db, "/cas").await.unwrap();
    assert_eq!(current.mod_revision, winners[0]);
    for outcome in &outcomes {
        if let Ok(TxnOutcome::Failed { current: seen }) = outcome {
            assert_eq!(seen.as_ref(), Some(&current));
        }
    }
}

/// 32 concurrent writers creating keys with 1 KiB values, synchronous=FULL.
/// Set `KAPI_STORAGE_BENCH=1` to run it (in release mode for a real figure);
/// it asserts the 5,000 creates/s target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_per_second_with_32_writers() {
    if std::env::var_os("KAPI_STORAGE_BENCH").is_none() {
        return;
    }
    // `KAPI_STORAGE_BENCH_NORMAL=1` measures synchronous=NORMAL instead.
    let mut options = SqliteOptions::default();
    if std::env::var_os("KAPI_STORAGE_BENCH_NORMAL").is_some() {
        options.synchronous = kapi_storage::sqlite::Synchronous::Normal;
    }
    let mode = format!("{:?}", options.synchronous);
    let (_dir, db) = fresh_with(options);
    let db = Arc::new(db);
    let value = Bytes::from(vec![b'x'; 1024]);
    let per_writer = 1000;
    let started = Instant::now();
    let tasks: Vec<_> = (0..32)
        .map(|w| {
            let (db, value) = (Arc::clone(&db), value.clone());
            tokio::spawn(async move {
                for i in 0..per_writer {
                    let outcome = db.create(&format!("/bench/{w}/{i}"), value.clone()).await;
                    assert!(matches!(outcome, Ok(TxnOutcome::Succeeded { .. })));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let rate = f64::from(32 * per_writer) / started.elapsed().as_secs_f64();
    println!("sqlite: {rate:.0} creates/s with 32 writers (synchronous {mode})");
    assert!(rate >= 5000.0, "{rate:.0} creates/s");
}
