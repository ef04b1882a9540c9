//! The SQLite backend's single writer: a dedicated thread owns the write
//! connection and commits writes in groups. It takes every request queued
//! since its last commit, applies them in arrival order in one transaction
//! (each compare-and-swap sees the earlier writes of the group, each
//! successful write gets its own revision), commits once — one fsync for
//! the group — then publishes the group's events to watchers and only
//! then answers the callers.

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::reader;
use super::schema::Meta;
use super::watch::Hub;
use crate::backend::{Event, KeyValue, TxnOutcome};
use crate::error::{Error, Result};

/// How many times the writer yields its thread, at most, waiting for a
/// group to grow to the size of the previous one before committing it.
const GATHER_YIELDS: usize = 4;

/// A conditional write.
#[derive(Debug)]
pub(super) enum Write {
    Create {
        key: String,
        value: Bytes,
    },
    Update {
        key: String,
        value: Bytes,
        expected: i64,
    },
    Delete {
        key: String,
        expected: i64,
    },
}

/// What the writer thread is asked to do.
#[derive(Debug)]
pub(super) enum Request {
    Write {
        write: Write,
        reply: oneshot::Sender<Result<TxnOutcome>>,
    },
    Compact {
        revision: i64,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Publish a progress notification once every earlier write is published.
    Progress { reply: oneshot::Sender<Result<()>> },
}

/// The revisions the writer has committed, readable without a query.
#[derive(Debug, Default)]
pub(super) struct Committed {
    pub(super) current: AtomicI64,
    pub(super) compacted: AtomicI64,
}

/// The writer thread's state.
#[derive(Debug)]
pub(super) struct Writer {
    pub(super) conn: Connection,
    pub(super) meta: Meta,
    pub(super) committed: Arc<Committed>,
    pub(super) hub: Arc<Hub>,
    pub(super) max_batch: usize,
    /// Held (locked) while the writer runs: one writer per database file.
    pub(super) _lock: File,
}

/// A request's answer, sent once the group is committed.
enum Answer {
    Write(oneshot::Sender<Result<TxnOutcome>>, Result<TxnOutcome>),
    Compact(oneshot::Sender<Result<()>>, Result<()>),
    Progress(oneshot::Sender<Result<()>>),
}

impl Writer {
    /// Serves requests until every sender is gone.
    pub(super) fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        let mut previous = 0;
        while let Some(first) = requests.blocking_recv() {
            batch.push(first);
            // The callers answered by the previous commit are usually about
            // to send their next write: give them a few chances to join this
            // group rather than pay a commit of their own.
            for _ in 0..GATHER_YIELDS {
                while batch.len() < self.max_batch {
                    match requests.try_recv() {
                        Ok(request) => batch.push(request),
                        Err(_) => break,
                    }
                }
                if batch.len() >= previous.min(self.max_batch) {
                    break;
                }
                std::thread::yield_now();
            }
            previous = batch.len();
            self.run_batch(&mut batch);
        }
        tracing::debug!("sqlite writer stopped");
    }

    fn run_batch(&mut self, batch: &mut Vec<Request>) {
        let needs_transaction = batch
            .iter()
            .any(|request| !matches!(request, Request::Progress { .. }));
        let mut answers = Vec::with_capacity(batch.len());
        let mut events = Vec::new();
        let mut meta = self.meta;
        if needs_transaction {
            if let Err(error) = self.apply(batch, &mut meta, &mut answers, &mut events) {
                tracing::error!(%error, "sqlite group commit failed");
                let error = Arc::new(error);
                for request in batch.drain(..) {
                    let failed = || Error::Backend(Box::new(Arc::clone(&error)));
                    match request {
                        Request::Write { reply, .. } => drop(reply.send(Err(failed()))),
                        Request::Compact { reply, .. } => drop(reply.send(Err(failed()))),
                        Request::Progress { reply } => drop(reply.send(Err(failed()))),
                    }
                }
                return;
            }
        } else {
            // Without a transaction the batch holds progress requests only.
            for request in batch.drain(..) {
                if let Request::Progress { reply } = request {
                    answers.push(Answer::Progress(reply));
                }
            }
        }
        self.meta = meta;
        self.committed
            .compacted
            .store(meta.compacted, Ordering::SeqCst);
        self.committed.current.store(meta.current, Ordering::SeqCst);
        if !events.is_empty() {
            self.hub.publish(meta.current, events);
        }
        if answers.iter().any(|a| matches!(a, Answer::Progress(_))) {
            self.hub.progress();
        }
        for answer in answers {
            // A caller that went away no longer needs its answer.
            match answer {
                Answer::Write(reply, result) => drop(reply.send(result)),
                Answer::Compact(reply, result) => drop(reply.send(result)),
                Answer::Progress(reply) => drop(reply.send(Ok(()))),
            }
        }
    }

    /// Applies the batch in one transaction and commits it. Per-request
    /// failures (a failed condition, a corrupt record) are answers; an
    /// `Err` means the transaction failed and nothing was written.
    fn apply(
        &mut self,
        batch: &mut Vec<Request>,
        meta: &mut Meta,
        answers: &mut Vec<Answer>,
        events: &mut Vec<Event>,
    ) -> rusqlite::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let start = *meta;
        let mut outcomes = Vec::with_capacity(batch.len());
        for request in batch.iter() {
            outcomes.push(match request {
                Request::Write { write, .. } => apply_write(&tx, write, meta, events)?,
                Request::Compact { revision, .. } => compact(&tx, *revision, meta)?,
                Request::Progress { .. } => Outcome::Progress,
            });
        }
        if meta.current != start.current {
            set_meta(&tx, "current_revision", meta.current)?;
        }
        if meta.compacted != start.compacted {
            set_meta(&tx, "compacted_revision", meta.compacted)?;
        }
        tx.commit()?;
        for (request, outcome) in batch.drain(..).zip(outcomes) {
            match (request, outcome) {
                (Request::Write { reply, .. }, Outcome::Write(result)) => {
                    answers.push(Answer::Write(reply, result));
                }
                (Request::Compact { reply, .. }, Outcome::Compact(result)) => {
                    answers.push(Answer::Compact(reply, result));
                }
                (Request::Progress { reply }, _) => answers.push(Answer::Progress(reply)),
                // `outcomes` was built from `batch` in order, one outcome of the
                // request's own kind each, so no other pairing occurs.
                _ => {}
            }
        }
        Ok(())
    }
}

/// A request's result inside the transaction.
enum Outcome {
    Write(Result<TxnOutcome>),
    Compact(Result<()>),
    Progress,
}

/// Applies one write against the state including the earlier writes of the
/// transaction.
fn apply_write(
    tx: &Connection,
    write: &Write,
    meta: &mut Meta,
    events: &mut Vec<Event>,
) -> rusqlite::Result<Outcome> {
    let key = match write {
        Write::Create { key, .. } | Write::Update { key, .. } | Write::Delete { key, .. } => key,
    };
    let current = match reader::current(tx, key) {
        Ok(current) => current,
        Err(Error::Backend(source)) => match source.downcast::<rusqlite::Error>() {
            Ok(error) => return Err(*error),
            Err(source) => return Ok(Outcome::Write(Err(Error::Backend(source)))),
        },
        Err(error) => return Ok(Outcome::Write(Err(error))),
    };
    let revision = meta.current + 1;
    let outcome = match (write, current) {
        (Write::Create { value, .. }, None) => {
            insert_log(tx, revision, key, Some(value), revision, 0)?;
            set_current(tx, key, revision)?;
            events.push(Event::Put {
                kv: KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                    create_revision: revision,
                    mod_revision: revision,
                },
                prev: None,
            });
            TxnOutcome::Succeeded {
                revision,
                prev: None,
            }
        }
        (
            Write::Update {
                value, expected, ..
            },
            Some(prev),
        ) if prev.mod_revision == *expected => {
            insert_log(
                tx,
                revision,
                key,
                Some(value),
                prev.create_revision,
                prev.mod_revision,
            )?;
            set_current(tx, key, revision)?;
            events.push(Event::Put {
                kv: KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                    create_revision: prev.create_revision,
                    mod_revision: revision,
                },
                prev: Some(prev.clone()),
            });
            TxnOutcome::Succeeded {
                revision,
                prev: Some(prev),
            }
        }
        (Write::Delete { expected, .. }, Some(prev)) if prev.mod_revision == *expected => {
            insert_log(
                tx,
                revision,
                key,
                None,
                prev.create_revision,
                prev.mod_revision,
            )?;
            tx.prepare_cached("DELETE FROM kapi_current WHERE key = ?1")?
                .execute([key.as_bytes()])?;
            events.push(Event::Delete {
                key: key.clone(),
                revision,
                prev: prev.clone(),
            });
            TxnOutcome::Succeeded {
                revision,
                prev: Some(prev),
            }
        }
        (_, current) => {
            return Ok(Outcome::Write(Ok(TxnOutcome::Failed { current })));
        }
    };
    meta.current = revision;
    Ok(Outcome::Write(Ok(outcome)))
}

/// Discards the history older than `revision`: every record superseded at
/// or before it, and every deletion record at or before it. Records newer
/// than the previous compaction are the only candidates (older ones were
/// handled then), so the cost follows the history written since.
fn compact(tx: &Connection, revision: i64, meta: &mut Meta) -> rusqlite::Result<Outcome> {
    if revision > meta.current {
        return Ok(Outcome::Compact(Err(Error::FutureRevision {
            requested: revision,
            current: meta.current,
        })));
    }
    if revision <= meta.compacted {
        return Ok(Outcome::Compact(Ok(())));
    }
    let superseded = tx.execute(
        "DELETE FROM kapi_log WHERE revision IN ( \
             SELECT o.revision FROM kapi_log n \
             JOIN kapi_log o ON o.key = n.key AND o.revision < n.revision \
             WHERE n.revision > ?1 AND n.revision <= ?2)",
        [meta.compacted, revision],
    )?;
    let deletions = tx.execute(
        "DELETE FROM kapi_log WHERE revision > ?1 AND revision <= ?2 AND value IS NULL",
        [meta.compacted, revision],
    )?;
    tracing::debug!(revision, superseded, deletions, "sqlite history compacted");
    meta.compacted = revision;
    Ok(Outcome::Compact(Ok(())))
}

fn insert_log(
    tx: &Connection,
    revision: i64,
    key: &str,
    value: Option<&Bytes>,
    create_revision: i64,
    prev_revision: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO kapi_log (revision, key, value, create_revision, prev_revision) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(rusqlite::params![
        revision,
        key.as_bytes(),
        value.map(|v| &v[..]),
        create_revision,
        prev_revision
    ])?;
    Ok(())
}

fn set_current(tx: &Connection, key: &str, revision: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO kapi_current (key, revision) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET revision = excluded.revision",
    )?
    .execute(rusqlite::params![key.as_bytes(), revision])?;
    Ok(())
}

fn set_meta(tx: &Connection, name: &str, value: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE kapi_meta SET value = ?2 WHERE name = ?1")?
        .execute(rusqlite::params![name, value])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::watch::Message;
    use crate::sqlite::{Synchronous, schema};

    fn writer(dir: &tempfile::TempDir) -> Writer {
        let path = dir.path().join("kapi.db");
        let (conn, meta) = schema::open_writer(&path, Synchronous::Normal).unwrap();
        Writer {
            conn,
            meta,
            committed: Arc::default(),
            hub: Arc::new(Hub::new(meta.current, 16)),
            max_batch: 16,
            _lock: File::create(dir.path().join("kapi.db.lock")).unwrap(),
        }
    }

    fn request(write: Write) -> (Request, oneshot::Receiver<Result<TxnOutcome>>) {
        let (reply, answer) = oneshot::channel();
        (Request::Write { write, reply }, answer)
    }

    fn create(key: &str, value: &'static str) -> Write {
        Write::Create {
            key: key.into(),
            value: Bytes::from_static(value.as_bytes()),
        }
    }

    fn update(key: &str, value: &'static str, expected: i64) -> Write {
        Write::Update {
            key: key.into(),
            value: Bytes::from_static(value.as_bytes()),
            expected,
        }
    }

    /// What a request was answered: the revision of a success, or the
    /// current revision reported by a failed condition (0: no key).
    fn answered(answer: &mut oneshot::Receiver<Result<TxnOutcome>>) -> Result<i64, i64> {
        match answer.try_recv().expect("answered").expect("no error") {
            TxnOutcome::Succeeded { revision, .. } => Ok(revision),
            TxnOutcome::Failed { current } => Err(current.map_or(0, |kv| kv.mod_revision)),
        }
    }

    #[test]
    fn a_group_applies_in_order_and_each_condition_sees_the_earlier_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = writer(&dir);
        let (mut live, _) = writer.hub.subscribe();
        let (mut requests, mut answers): (Vec<_>, Vec<_>) = [
            create("/k", "1"),
            update("/k", "2", 1), // sees the create of this group
            update("/k", "3", 1), // stale now: the update above won
            create("/k", "4"),    // exists
            Write::Delete {
                key: "/k".into(),
                expected: 2,
            },
            create("/k", "5"), // created again after the delete
        ]
        .into_iter()
        .map(request)
        .unzip();
        writer.run_batch(&mut requests);

        let got: Vec<_> = answers.iter_mut().map(answered).collect();
        assert_eq!(got, [Ok(1), Ok(2), Err(2), Err(2), Ok(3), Ok(4)]);
        assert_eq!(writer.committed.current.load(Ordering::SeqCst), 4);
        // One commit, published as one message in revision order.
        match live.try_recv().unwrap() {
            Message::Events { revision, events } => {
                assert_eq!(revision, 4);
                let revisions: Vec<i64> = events.iter().map(Event::revision).collect();
                assert_eq!(revisions, [1, 2, 3, 4]);
            }
            other => panic!("{other:?}"),
        }
        assert!(live.try_recv().is_err());
        let stored = reader::current(&writer.conn, "/k").unwrap().unwrap();
        assert_eq!((stored.create_revision, stored.mod_revision), (4, 4));
    }

    #[test]
    fn a_failed_commit_fails_the_whole_group_and_keeps_the_revision() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = writer(&dir);
        let (first, mut answer) = request(create("/a", "1"));
        writer.run_batch(&mut vec![first]);
        assert_eq!(answered(&mut answer), Ok(1));
        // Another program takes revision 2 behind the writer's back.
        writer
            .conn
            .execute_batch(
                "INSERT INTO kapi_log (revision, key, value, create_revision, prev_revision) \
                 VALUES (2, x'00', NULL, 1, 0)",
            )
            .unwrap();
        let (mut requests, mut answers): (Vec<_>, Vec<_>) = [create("/b", "1"), create("/c", "1")]
            .into_iter()
            .map(request)
            .unzip();
        writer.run_batch(&mut requests);
        for answer in &mut answers {
            assert!(matches!(answer.try_recv().unwrap(), Err(Error::Backend(_))));
        }
        assert_eq!(writer.committed.current.load(Ordering::SeqCst), 1);
        assert!(reader::current(&writer.conn, "/b").unwrap().is_none());
    }
}
