//! The etcd3 backend against a real etcd started by the test harness: the
//! mapping of every `Backend` call, two backends sharing one etcd, etcd going
//! away and coming back, and background compaction. Each test starts its own
//! etcd (about a second), so revisions start fresh in every test.
#![cfg(feature = "etcd")]

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use kapi_storage::etcd_harness::{EtcdServer, etcd_or_skip};
use kapi_storage::etcd3::{EtcdBackend, EtcdOptions};
use kapi_storage::{
    Backend, Error, Event, KeyValue, RangeRequest, TxnOutcome, WatchResponse, WatchStream,
};

/// The bound on waiting for one watch response.
const WATCH_WAIT: Duration = Duration::from_secs(10);

fn options(etcd: &EtcdServer) -> EtcdOptions {
    let mut options = EtcdOptions::new([etcd.endpoint()]);
    options.request_timeout = Duration::from_secs(2);
    options.dial_timeout = Duration::from_secs(1);
    options.compaction_interval = Duration::ZERO;
    options
}

async fn connect(etcd: &EtcdServer) -> EtcdBackend {
    EtcdBackend::connect(options(etcd)).await.expect("connect")
}

fn bytes(value: &str) -> Bytes {
    Bytes::copy_from_slice(value.as_bytes())
}

/// The revision of a successful write.
fn written(outcome: TxnOutcome) -> (i64, Option<KeyValue>) {
    match outcome {
        TxnOutcome::Succeeded { revision, prev } => (revision, prev),
        TxnOutcome::Failed { current } => panic!("write failed, current {current:?}"),
    }
}

fn failed(outcome: TxnOutcome) -> Option<KeyValue> {
    match outcome {
        TxnOutcome::Failed { current } => current,
        TxnOutcome::Succeeded { revision, .. } => panic!("write succeeded at {revision}"),
    }
}

fn kv(key: &str, value: &str, create_revision: i64, mod_revision: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: bytes(value),
        create_revision,
        mod_revision,
    }
}

async fn next(watch: &mut WatchStream) -> WatchResponse {
    match tokio::time::timeout(WATCH_WAIT, watch.next()).await {
        Ok(Some(Ok(response))) => response,
        Ok(Some(Err(err))) => panic!("watch error: {err}"),
        Ok(None) => panic!("watch ended"),
        Err(_) => panic!("no watch response within {WATCH_WAIT:?}"),
    }
}

/// The next events, skipping progress notifications.
async fn next_events(watch: &mut WatchStream) -> Vec<Event> {
    loop {
        if let WatchResponse::Events(events) = next(watch).await {
            return events;
        }
    }
}

fn prefix(key: &str) -> RangeRequest {
    RangeRequest {
        key: key.to_owned(),
        prefix: true,
        ..RangeRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_compare_and_swap_on_mod_revision() {
    let Some(etcd) = etcd_or_skip() else { return };
    let backend = connect(&etcd).await;
    assert_eq!(backend.name(), "etcd3");

    let (created, prev) = written(backend.create("/a/x", bytes("1")).await.unwrap());
    assert_eq!(prev, None);
    assert_eq!(backend.current_revision().await.unwrap(), created);
    // A second create fails and returns what is there.
    let current = failed(backend.create("/a/x", bytes("2")).await.unwrap());
    assert_eq!(current, Some(kv("/a/x", "1", created, created)));

    // Update: only at the current mod revision; never creates.
    let current = failed(
        backend
            .update("/a/x", bytes("2"), created - 1)
            .await
            .unwrap(),
    );
    assert_eq!(current, Some(kv("/a/x", "1", created, created)));
    assert_eq!(
        failed(backend.update("/a/missing", bytes("2"), 0).await.unwrap()),
        None
    );
    let (updated, prev) = written(backend.update("/a/x", bytes("2"), created).await.unwrap());
    assert_eq!(updated, created + 1);
    assert_eq!(prev, Some(kv("/a/x", "1", created, created)));

    // Delete: same rule; the previous value comes back.
    let current = failed(backend.delete("/a/x", created).await.unwrap());
    assert_eq!(current, Some(kv("/a/x", "2", created, updated)));
    assert_eq!(failed(backend.delete("/a/missing", 0).await.unwrap()), None);
    let (deleted, prev) = written(backend.delete("/a/x", updated).await.unwrap());
    assert_eq!(deleted, updated + 1);
    assert_eq!(prev, Some(kv("/a/x", "2", created, updated)));
    // Re-created keys get a new creation revision.
    let (recreated, _) = written(backend.create("/a/x", bytes("3")).await.unwrap());
    assert_eq!(recreated, deleted + 1);

    for bad in [
        backend.create("", bytes("1")).await,
        backend.delete("", 1).await,
    ] {
        assert!(matches!(bad, Err(Error::InvalidRequest(_))), "{bad:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_reads_prefixes_pages_and_old_revisions() {
    let Some(etcd) = etcd_or_skip() else { return };
    let backend = connect(&etcd).await;
    let mut revisions = Vec::new();
    for key in ["/p/c", "/p/a", "/p/b", "/pz", "/q/a"] {
        revisions.push(written(backend.create(key, bytes(key)).await.unwrap()).0);
    }
    let last = *revisions.last().unwrap();
    let keys = |kvs: &[KeyValue]| kvs.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>();

    let all = backend.range(prefix("/p/")).await.unwrap();
    assert_eq!(keys(&all.kvs), ["/p/a", "/p/b", "/p/c"]);
    assert_eq!((all.count, all.more, all.revision), (3, false, last));

    // One page, then the rest from a start key (continue tokens).
    let page = backend
        .range(RangeRequest {
            limit: 2,
            ..prefix("/p/")
        })
        .await
        .unwrap();
    assert_eq!(keys(&page.kvs), ["/p/a", "/p/b"]);
    assert_eq!((page.count, page.more), (3, true));
    let rest = backend
        .range(RangeRequest {
            start_key: Some("/p/b\0".into()),
            revision: page.revision,
            ..prefix("/p/")
        })
        .await
        .unwrap();
    assert_eq!(keys(&rest.kvs), ["/p/c"]);
    assert_eq!(
        (rest.count, rest.more, rest.revision),
        (1, false, page.revision)
    );

    let counted = backend
        .range(RangeRequest {
            count_only: true,
            ..prefix("/p")
        })
        .await
        .unwrap();
    assert_eq!((counted.kvs.len(), counted.count), (0, 4));

    // An exact key, and the state as of an older revision.
    let one = backend
        .range(RangeRequest {
            key: "/p/a".into(),
            ..RangeRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(one.kvs, [kv("/p/a", "/p/a", revisions[1], revisions[1])]);
    let old = backend
        .range(RangeRequest {
            revision: revisions[1],
            ..prefix("/p/")
        })
        .await
        .unwrap();
    assert_eq!(keys(&old.kvs), ["/p/a", "/p/c"]);
    assert_eq!(old.revision, revisions[1]);

    let future = backend
        .range(RangeRequest {
            revision: last + 10,
            ..prefix("/p/")
        })
        .await;
    assert!(
        matches!(future, Err(Error::FutureRevision { requested, current }) if requested == last + 10 && current == last),
        "{future:?}"
    );
    let outside = backend
        .range(RangeRequest {
            start_key: Some("/q/a".into()),
            ..prefix("/p/")
        })
        .await;
    assert!(
        matches!(outside, Err(Error::InvalidRequest(_))),
        "{outside:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_fails_old_reads_and_watches() {
    let Some(etcd) = etcd_or_skip() else { return };
    let backend = connect(&etcd).await;
    assert_eq!(backend.compacted_revision().await.unwrap(), 0);
    let mut revisions = Vec::new();
    for value in ["1", "2", "3"] {
        let rev = match revisions.last() {
            None => written(backend.create("/c/x", bytes(value)).await.unwrap()).0,
            Some(&rev) => written(backend.update("/c/x", bytes(value), rev).await.unwrap()).0,
        };
        revisions.push(rev);
    }
    backend.compact(revisions[1]).await.unwrap();
    assert_eq!(backend.compacted_revision().await.unwrap(), revisions[1]);
    // Compacting again at or below is a no-op.
    backend.compact(revisions[0]).await.unwrap();
    backend.compact(revisions[1]).await.unwrap();

    let old = backend
        .range(RangeRequest {
            revision: revisions[0],
            ..prefix("/c/")
        })
        .await;
    assert!(
        matches!(old, Err(Error::Compacted { requested, compacted }) if requested == revisions[0] && compacted == revisions[1]),
        "{old:?}"
    );
    // The compacted revision itself is still readable (etcd's rule).
    let at = backend
        .range(RangeRequest {
            revision: revisions[1],
            ..prefix("/c/")
        })
        .await
        .unwrap();
    assert_eq!(at.kvs[0].value, bytes("2"));

    // Watches fail below the compacted revision (etcd's rule) and at it (the
    // event there has lost its previous value), and work after it.
    for start in [revisions[0], revisions[1]] {
        let watch = backend.watch("/c/", start, false).await;
        let err = match watch {
            Err(err) => err,
            Ok(mut stream) => match tokio::time::timeout(WATCH_WAIT, stream.next()).await {
                Ok(Some(Err(err))) => err,
                other => panic!("expected a compacted watch from {start}, got {other:?}"),
            },
        };
        assert!(
            matches!(err, Error::Compacted { requested, compacted } if requested == start && compacted == revisions[1]),
            "{err:?}"
        );
    }
    let mut after = backend.watch("/c/", revisions[2], false).await.unwrap();
    match next_events(&mut after).await.as_slice() {
        [
            Event::Put {
                kv,
                prev: Some(prev),
            },
        ] => {
            assert_eq!((&kv.value[..], &prev.value[..]), (&b"3"[..], &b"2"[..]));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sees_writes_with_previous_values_and_progress() {
    let Some(etcd) = etcd_or_skip() else { return };
    let backend = connect(&etcd).await;
    written(backend.create("/other", bytes("x")).await.unwrap());
    let mut watch = backend.watch("/w/", 0, true).await.unwrap();

    let (created, _) = written(backend.create("/w/a", bytes("1")).await.unwrap());
    let (updated, _) = written(backend.update("/w/a", bytes("2"), created).await.unwrap());
    written(backend.create("/elsewhere", bytes("x")).await.unwrap());
    let (deleted, _) = written(backend.delete("/w/a", updated).await.unwrap());

    let mut events = Vec::new();
    while events.len() < 3 {
        events.extend(next_events(&mut watch).await);
    }
    assert_eq!(
        events,
        [
            Event::Put {
                kv: kv("/w/a", "1", created, created),
                prev: None
            },
            Event::Put {
                kv: kv("/w/a", "2", created, updated),
                prev: Some(kv("/w/a", "1", created, created)),
            },
            Event::Delete {
                key: "/w/a".into(),
                revision: deleted,
                prev: kv("/w/a", "2", created, updated),
            },
        ]
    );

    // Progress on request, at the current revision.
    backend.request_progress().await.unwrap();
    let current = backend.current_revision().await.unwrap();
    match next(&mut watch).await {
        WatchResponse::Progress { revision } => assert_eq!(revision, current),
        other => panic!("expected progress, got {other:?}"),
    }

    // A watch from the past replays history from that revision on.
    let mut replay = backend.watch("/w/", updated, false).await.unwrap();
    let mut replayed = Vec::new();
    while replayed.len() < 2 {
        replayed.extend(next_events(&mut replay).await);
    }
    let revisions: Vec<i64> = replayed.iter().map(Event::revision).collect();
    assert_eq!(revisions, [updated, deleted]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_backends_on_one_etcd_see_each_other() {
    let Some(etcd) = etcd_or_skip() else { return };
    let (one, two) = (connect(&etcd).await, connect(&etcd).await);
    let mut watch_two = two.watch("/shared/", 0, false).await.unwrap();

    let (created, _) = written(one.create("/shared/x", bytes("from one")).await.unwrap());
    assert_eq!(
        next_events(&mut watch_two).await,
        [Event::Put {
            kv: kv("/shared/x", "from one", created, created),
            prev: None
        }]
    );
    let read = two.range(prefix("/shared/")).await.unwrap();
    assert_eq!(read.kvs, [kv("/shared/x", "from one", created, created)]);

    // Their compare-and-swaps race on the same revisions.
    let (updated, _) = written(
        two.update("/shared/x", bytes("from two"), created)
            .await
            .unwrap(),
    );
    let current = failed(
        one.update("/shared/x", bytes("stale"), created)
            .await
            .unwrap(),
    );
    assert_eq!(current, Some(kv("/shared/x", "from two", created, updated)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_prefix_namespaces_keys() {
    let Some(etcd) = etcd_or_skip() else { return };
    let namespaced = |prefix: &str| {
        let mut options = options(&etcd);
        options.key_prefix = prefix.to_owned();
        EtcdBackend::connect(options)
    };
    let (a, b) = (
        namespaced("/a").await.unwrap(),
        namespaced("/b").await.unwrap(),
    );
    let plain = connect(&etcd).await;
    let mut watch_a = a.watch("/k", 0, false).await.unwrap();
    written(a.create("/k", bytes("a")).await.unwrap());
    written(b.create("/k", bytes("b")).await.unwrap());

    let in_a = a.range(prefix("/")).await.unwrap();
    assert_eq!((in_a.kvs.len(), in_a.kvs[0].key.as_str()), (1, "/k"));
    assert_eq!(in_a.kvs[0].value, bytes("a"));
    let everything = plain.range(prefix("/")).await.unwrap();
    let keys: Vec<&str> = everything.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/a/k", "/b/k"]);
    match next_events(&mut watch_a).await.as_slice() {
        [Event::Put { kv, .. }] => assert_eq!((kv.key.as_str(), &kv.value[..]), ("/k", &b"a"[..])),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_down_fails_fast_and_the_backend_recovers() {
    let Some(mut etcd) = etcd_or_skip() else {
        return;
    };
    let mut options = options(&etcd);
    options.healthcheck_timeout = Duration::from_millis(500);
    let request_timeout = options.request_timeout;
    let backend = EtcdBackend::connect(options).await.unwrap();
    backend.check_health().await.unwrap();
    let (created, _) = written(backend.create("/d/x", bytes("1")).await.unwrap());
    let mut watch = backend.watch("/d/", 0, false).await.unwrap();

    etcd.stop().unwrap();
    let started = Instant::now();
    let health = backend.check_health().await;
    assert!(matches!(health, Err(Error::Unavailable(_))), "{health:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let write = backend.update("/d/x", bytes("2"), created).await;
    let took = started.elapsed();
    assert!(matches!(write, Err(Error::Unavailable(_))), "{write:?}");
    assert!(
        took <= request_timeout + Duration::from_millis(500),
        "{took:?}"
    );
    eprintln!("write with etcd down failed after {took:?}: {write:?}");
    // The open watch ends with an error.
    match tokio::time::timeout(WATCH_WAIT, watch.next()).await {
        Ok(Some(Err(Error::Unavailable(message)))) => eprintln!("watch ended: {message}"),
        other => panic!("expected the watch to end with Unavailable, got {other:?}"),
    }

    etcd.restart().unwrap();
    // The client reconnects by itself; allow it a few attempts.
    let deadline = Instant::now() + Duration::from_secs(15);
    let started = Instant::now();
    loop {
        match backend.update("/d/x", bytes("2"), created).await {
            Ok(outcome) => {
                written(outcome);
                break;
            }
            Err(err) if Instant::now() < deadline => {
                eprintln!("not back yet: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("etcd did not come back: {err}"),
        }
    }
    eprintln!("recovered {:?} after restart", started.elapsed());
    backend.check_health().await.unwrap();
    // A new watch from the revision after the last one seen resumes.
    let mut resumed = backend.watch("/d/", created + 1, false).await.unwrap();
    match next_events(&mut resumed).await.as_slice() {
        [Event::Put { kv, .. }] => assert_eq!(kv.value, bytes("2")),
        other => panic!("{other:?}"),
    }
}

/// Sends `signal` to etcd's process (STOP freezes it: the connection stays
/// up but nothing answers, like a hung or partitioned etcd).
fn signal(etcd: &EtcdServer, signal: &str) {
    let pid = etcd.pid().expect("etcd runs").to_string();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid}: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_etcd_fails_requests_at_the_timeout() {
    let Some(etcd) = etcd_or_skip() else { return };
    let mut options = options(&etcd);
    options.request_timeout = Duration::from_millis(800);
    options.healthcheck_timeout = Duration::from_millis(300);
    let backend = EtcdBackend::connect(options).await.unwrap();
    let (created, _) = written(backend.create("/h/x", bytes("1")).await.unwrap());

    signal(&etcd, "-STOP");
    let started = Instant::now();
    let health = backend.check_health().await;
    let health_took = started.elapsed();
    let started = Instant::now();
    let write = backend.update("/h/x", bytes("2"), created).await;
    let write_took = started.elapsed();
    signal(&etcd, "-CONT");

    assert!(matches!(health, Err(Error::Unavailable(_))), "{health:?}");
    assert!(
        (Duration::from_millis(300)..Duration::from_millis(800)).contains(&health_took),
        "{health_took:?}"
    );
    assert!(matches!(write, Err(Error::Unavailable(_))), "{write:?}");
    assert!(
        (Duration::from_millis(800)..Duration::from_millis(1500)).contains(&write_took),
        "{write_took:?}"
    );
    eprintln!(
        "hung etcd: health failed after {health_took:?}, write after {write_took:?}: {write:?}"
    );
    // Once etcd runs again the same backend works (the timed-out update
    // may or may not have been applied; read to find out).
    let now = backend
        .range(RangeRequest {
            key: "/h/x".into(),
            ..RangeRequest::default()
        })
        .await
        .unwrap();
    written(
        backend
            .update("/h/x", bytes("3"), now.kvs[0].mod_revision)
            .await
            .unwrap(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_succeeds_while_etcd_is_down() {
    let Some(mut etcd) = etcd_or_skip() else {
        return;
    };
    etcd.stop().unwrap();
    let backend = connect(&etcd).await;
    let write = backend.create("/late", bytes("1")).await;
    assert!(matches!(write, Err(Error::Unavailable(_))), "{write:?}");
    etcd.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while let Err(err) = backend.check_health().await {
        assert!(Instant::now() < deadline, "etcd did not come back: {err}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    written(backend.create("/late", bytes("1")).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compactors_on_one_etcd_take_turns() {
    let Some(etcd) = etcd_or_skip() else { return };
    const INTERVAL: Duration = Duration::from_millis(200);
    const RUN: Duration = Duration::from_secs(2);
    let compacting = || {
        let mut options = options(&etcd);
        options.compaction_interval = INTERVAL;
        EtcdBackend::connect(options)
    };
    // The shared key's writes: one per round that some server won.
    let observer = connect(&etcd).await;
    let mut rounds = observer.watch("compact_rev_key", 0, false).await.unwrap();
    let (one, two) = (compacting().await.unwrap(), compacting().await.unwrap());

    let (mut rev, _) = written(one.create("/k", bytes("0")).await.unwrap());
    let started = Instant::now();
    let mut compacted = 0;
    // Keep writing so there is always history older than one interval.
    while started.elapsed() < RUN {
        rev = written(two.update("/k", bytes("n"), rev).await.unwrap()).0;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = one.compacted_revision().await.unwrap();
        assert!(
            now >= compacted,
            "compacted revision went back: {compacted} -> {now}"
        );
        compacted = now;
    }
    drop((one, two));
    assert!(compacted > 0, "nothing compacted within {RUN:?}");
    assert!(
        compacted < rev,
        "compacted {compacted} should trail the current {rev}"
    );
    // Reads before the compacted revision fail, and the observer (which
    // never compacted) learns the revision too.
    assert_eq!(observer.compacted_revision().await.unwrap(), compacted);

    let mut won = 0;
    while let Ok(Some(Ok(WatchResponse::Events(events)))) =
        tokio::time::timeout(Duration::from_millis(100), rounds.next()).await
    {
        won += events.len();
    }
    // About one write per interval in all: without the compare-and-swap,
    // each of the two servers would write every interval.
    let intervals = (RUN.as_millis() / INTERVAL.as_millis()) as usize;
    assert!(
        (2..=intervals + 2).contains(&won),
        "{won} compaction rounds won in {intervals} intervals by two servers"
    );
}

/// PEM files of a CA, a server certificate for 127.0.0.1 and a client
/// certificate, both signed by the CA.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa,
            KeyPair,
        };
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, pem: String| std::fs::write(dir.path().join(name), pem).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        write("ca.pem", ca.pem());
        for (name, san, usage) in [
            ("server", "127.0.0.1", ExtendedKeyUsagePurpose::ServerAuth),
            ("client", "client", ExtendedKeyUsagePurpose::ClientAuth),
        ] {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec![san.to_owned()]).unwrap();
            params.extended_key_usages = vec![usage];
            let cert = params.signed_by(&key, &ca).unwrap();
            write(&format!("{name}.pem"), cert.pem());
            write(&format!("{name}-key.pem"), key.serialize_pem());
        }
        Pki { dir }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificates() {
    use kapi_storage::etcd_harness::{EtcdTls, skip_if_missing};
    let pki = Pki::new();
    let tls = EtcdTls::new(pki.path("server.pem"), pki.path("server-key.pem"))
        .with_client_ca(pki.path("ca.pem"));
    let Some(etcd) = skip_if_missing(EtcdServer::start_tls(tls)) else {
        return;
    };
    assert!(
        etcd.endpoint().starts_with("https://"),
        "{}",
        etcd.endpoint()
    );

    let mut options = options(&etcd);
    options.ca_file = Some(pki.path("ca.pem"));
    options.cert_file = Some(pki.path("client.pem"));
    options.key_file = Some(pki.path("client-key.pem"));
    let backend = EtcdBackend::connect(options.clone()).await.unwrap();
    backend.check_health().await.unwrap();
    let (created, _) = written(backend.create("/tls/x", bytes("1")).await.unwrap());
    let read = backend.range(prefix("/tls/")).await.unwrap();
    assert_eq!(read.kvs, [kv("/tls/x", "1", created, created)]);

    // Without a client certificate etcd refuses the handshake.
    options.cert_file = None;
    options.key_file = None;
    let anonymous = EtcdBackend::connect(options).await.unwrap();
    let refused = anonymous.range(prefix("/tls/")).await;
    assert!(matches!(refused, Err(Error::Unavailable(_))), "{refused:?}");
}

/// Creates/s with 32 concurrent writers through the backend versus raw etcd
/// puts through the same client. Slow: runs only with `KAPI_BENCH=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_creates_against_raw_puts() {
    if std::env::var("KAPI_BENCH").as_deref() != Ok("1") {
        eprintln!("skipping: set KAPI_BENCH=1 to run");
        return;
    }
    let Some(etcd) = etcd_or_skip() else { return };
    let backend = std::sync::Arc::new(connect(&etcd).await);
    let value = Bytes::from(vec![b'x'; 1024]);
    const WRITERS: usize = 32;
    const PER_WRITER: usize = 200;
    let run = |raw: bool, round: usize| {
        let backend = backend.clone();
        let value = value.clone();
        async move {
            let started = Instant::now();
            let tasks: Vec<_> = (0..WRITERS)
                .map(|writer| {
                    let (backend, value) = (backend.clone(), value.clone());
                    tokio::spawn(async move {
                        let mut client = backend.client().clone();
                        for n in 0..PER_WRITER {
                            let key = format!("/bench/{round}/{raw}/{writer}/{n}");
                            if raw {
                                client.put(key, value.to_vec(), None).await.unwrap();
                            } else {
                                written(backend.create(&key, value.clone()).await.unwrap());
                            }
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            (WRITERS * PER_WRITER) as f64 / started.elapsed().as_secs_f64()
        }
    };
    // Alternate the two so neither always runs on the larger database.
    let (mut raw, mut creates) = (Vec::new(), Vec::new());
    for round in 0..2 {
        raw.push(run(true, round).await);
        creates.push(run(false, round).await);
    }
    let mean = |rates: &[f64]| rates.iter().sum::<f64>() / rates.len() as f64;
    let (raw, creates) = (mean(&raw), mean(&creates));
    eprintln!(
        "32 writers, 1 KiB values: raw etcd puts {raw:.0}/s, EtcdBackend creates {creates:.0}/s ({:.2}x)",
        creates / raw
    );
}

/// The conformance suite, each check on its own etcd (the checks count
/// revisions, and etcd's revisions are global to it).
mod conformance {
    use std::sync::Arc;

    use super::*;

    /// The backend under test together with the etcd it owns, so the etcd
    /// lives exactly as long as the check.
    #[derive(Debug)]
    struct OwnEtcd {
        backend: EtcdBackend,
        _etcd: EtcdServer,
    }

    async fn make() -> Arc<dyn Backend> {
        let interval = format!(
            "--experimental-watch-progress-notify-interval={}ms",
            kapi_storage::testing::PROGRESS_INTERVAL.as_millis()
        );
        let etcd = EtcdServer::start_with_args(&[&interval]).expect("start etcd");
        let backend = connect(&etcd).await;
        Arc::new(OwnEtcd {
            backend,
            _etcd: etcd,
        })
    }

    #[async_trait::async_trait]
    impl Backend for OwnEtcd {
        fn name(&self) -> &'static str {
            self.backend.name()
        }
        async fn range(
            &self,
            request: RangeRequest,
        ) -> kapi_storage::Result<kapi_storage::RangeResponse> {
            self.backend.range(request).await
        }
        async fn create(&self, key: &str, value: Bytes) -> kapi_storage::Result<TxnOutcome> {
            self.backend.create(key, value).await
        }
        async fn update(
            &self,
            key: &str,
            value: Bytes,
            expected: i64,
        ) -> kapi_storage::Result<TxnOutcome> {
            self.backend.update(key, value, expected).await
        }
        async fn delete(&self, key: &str, expected: i64) -> kapi_storage::Result<TxnOutcome> {
            self.backend.delete(key, expected).await
        }
        async fn current_revision(&self) -> kapi_storage::Result<i64> {
            self.backend.current_revision().await
        }
        async fn watch(
            &self,
            prefix: &str,
            start: i64,
            progress: bool,
        ) -> kapi_storage::Result<WatchStream> {
            self.backend.watch(prefix, start, progress).await
        }
        async fn request_progress(&self) -> kapi_storage::Result<()> {
            self.backend.request_progress().await
        }
        async fn compact(&self, revision: i64) -> kapi_storage::Result<()> {
            self.backend.compact(revision).await
        }
        async fn compacted_revision(&self) -> kapi_storage::Result<i64> {
            self.backend.compacted_revision().await
        }
        async fn check_health(&self) -> kapi_storage::Result<()> {
            self.backend.check_health().await
        }
    }

    kapi_storage::conformance_tests!(make);
}
