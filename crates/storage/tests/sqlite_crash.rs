//! `kill -9` of a process writing to the SQLite backend loses no
//! acknowledged write. The test runs its own binary again in a child mode
//! (`KAPI_SQLITE_CRASH_CHILD=<database>`) where 32 concurrent writers create
//! and update keys and print every acknowledged write as soon as it is
//! acknowledged; the parent reads those lines for a while, kills the child
//! with SIGKILL, reopens the database and checks every acknowledged write.
#![cfg(feature = "sqlite")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kapi_storage::sqlite::{SqliteBackend, SqliteOptions};
use kapi_storage::{Backend, RangeRequest, TxnOutcome};

/// The environment variable that turns the test binary into the writer.
const CHILD: &str = "KAPI_SQLITE_CRASH_CHILD";

/// How long the child writes before it is killed.
const WRITE_FOR: Duration = Duration::from_millis(1500);

/// One acknowledged write, as the child prints it: `key revision value`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    key: String,
    revision: i64,
    value: String,
}

#[test]
fn kill_9_loses_no_acknowledged_write() {
    if let Some(path) = std::env::var_os(CHILD) {
        child(Path::new(&path));
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kapi.db");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "kill_9_loses_no_acknowledged_write",
            "--nocapture",
        ])
        .env(CHILD, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    // Read on a thread so the parent can stop reading at a deadline.
    let (lines, acks) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut acknowledged = Vec::new();
    let mut writing_since = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = Instant::now();
        if writing_since.is_some_and(|since: Instant| now - since >= WRITE_FOR) || now >= deadline {
            break;
        }
        match acks.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => {
                if let Some(ack) = parse(&line) {
                    writing_since.get_or_insert(now);
                    acknowledged.push(ack);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the child exited early"),
        }
    }
    let status = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -9 failed");
    let exit = child.wait().expect("wait for child");
    assert!(
        !exit.success(),
        "the child was killed, not finished: {exit:?}"
    );
    // Lines the child printed before it died were acknowledged too.
    reader.join().expect("reader thread");
    acknowledged.extend(acks.try_iter().filter_map(|line| parse(&line)));
    assert!(
        acknowledged.len() > 100,
        "only {} writes acknowledged before the kill",
        acknowledged.len()
    );

    println!("{} writes acknowledged before kill -9", acknowledged.len());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(verify(&path, &acknowledged));
}

/// Reopens the database and checks each acknowledged write is there, at
/// its revision or superseded by a later one, and that revisions go on.
async fn verify(path: &Path, acknowledged: &[Ack]) {
    let db = SqliteBackend::open(path, SqliteOptions::default()).expect("reopen after kill");
    let current = db.current_revision().await.expect("current revision");
    let all = db
        .range(RangeRequest {
            key: "/crash/".to_owned(),
            prefix: true,
            ..RangeRequest::default()
        })
        .await
        .expect("list");
    let stored: HashMap<&str, (i64, &[u8])> = all
        .kvs
        .iter()
        .map(|kv| (kv.key.as_str(), (kv.mod_revision, &kv.value[..])))
        .collect();
    let mut latest: HashMap<&str, &Ack> = HashMap::new();
    for ack in acknowledged {
        assert!(ack.revision <= current, "{ack:?} above revision {current}");
        let entry = latest.entry(&ack.key).or_insert(ack);
        if ack.revision > entry.revision {
            *entry = ack;
        }
    }
    for ack in latest.values() {
        let Some(&(revision, value)) = stored.get(ack.key.as_str()) else {
            panic!("acknowledged {ack:?} is missing");
        };
        assert!(revision >= ack.revision, "{ack:?} went back to {revision}");
        if revision == ack.revision {
            assert_eq!(value, ack.value.as_bytes(), "{ack:?}");
        }
    }
    // Every acknowledged revision is still readable as it was.
    for ack in acknowledged.iter().step_by(97) {
        let at = db
            .range(RangeRequest {
                key: ack.key.clone(),
                revision: ack.revision,
                ..RangeRequest::default()
            })
            .await
            .expect("read at an acknowledged revision");
        assert_eq!(at.kvs.len(), 1, "{ack:?}");
        assert_eq!(at.kvs[0].value, ack.value.as_bytes(), "{ack:?}");
    }
    let highest = acknowledged.iter().map(|a| a.revision).max().unwrap_or(0);
    match db.create("/crash/after", Bytes::from_static(b"x")).await {
        Ok(TxnOutcome::Succeeded { revision, .. }) => assert!(revision > highest),
        other => panic!("write after reopen: {other:?}"),
    }
}

fn parse(line: &str) -> Option<Ack> {
    let mut parts = line.strip_prefix("ack ")?.split(' ');
    let ack = Ack {
        key: parts.next()?.to_owned(),
        revision: parts.next()?.parse().ok()?,
        value: parts.next()?.to_owned(),
    };
    Some(ack)
}

/// The child: 32 writers creating then updating keys until killed, each
/// acknowledged write printed (and flushed) at once.
fn child(path: &Path) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let db =
            std::sync::Arc::new(SqliteBackend::open(path, SqliteOptions::default()).expect("open"));
        let writers: Vec<_> = (0..32)
            .map(|writer| {
                let db = std::sync::Arc::clone(&db);
                tokio::spawn(async move {
                    // Each writer owns its keys, so it knows their revisions.
                    let mut revision = 0;
                    for round in 0u64.. {
                        let key = format!("/crash/{writer}/{}", round / 4);
                        let value = format!("w{writer}r{round}");
                        let outcome = if round % 4 == 0 {
                            db.create(&key, Bytes::from(value.clone())).await
                        } else {
                            db.update(&key, Bytes::from(value.clone()), revision).await
                        };
                        match outcome.expect("write") {
                            TxnOutcome::Succeeded { revision: at, .. } => {
                                revision = at;
                                let mut out = std::io::stdout().lock();
                                writeln!(out, "ack {key} {at} {value}").expect("print");
                                out.flush().expect("flush");
                            }
                            TxnOutcome::Failed { current } => {
                                panic!("{key}: unexpected conflict with {current:?}")
                            }
                        }
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.expect("writer");
        }
    });
}
