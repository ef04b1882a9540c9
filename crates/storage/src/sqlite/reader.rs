//! The SQLite backend's reads: a small pool of read-only connections used
//! from tokio's blocking threads, range reads (latest state from
//! `kapi_current`, older revisions from the `(key, revision)` index of
//! `kapi_log`), and the history reads that let a watch catch up.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use rusqlite::types::Value;

use super::schema::{self, Meta, corrupt, decode_kv, sql};
use crate::backend::{Event, KeyValue, RangeRequest, RangeResponse, prefix_end};
use crate::error::{Error, Result};

/// Read connections, opened on demand and kept for reuse. At most
/// `max_idle` reads run at once: more would each open (and prepare
/// statements on) a connection of their own, which costs far more than
/// waiting for a warm one.
#[derive(Debug)]
pub(super) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    permits: tokio::sync::Semaphore,
}

impl ReadPool {
    pub(super) fn new(path: PathBuf, max_idle: usize) -> Self {
        let max_idle = max_idle.max(1);
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
            max_idle,
            permits: tokio::sync::Semaphore::new(max_idle),
        }
    }

    /// Runs `f` with a read connection on a blocking thread.
    pub(super) async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        // The semaphore is never closed, so acquiring only waits.
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Backend(Box::new(e)))?;
        let pool = Arc::clone(self);
        let result = tokio::task::spawn_blocking(move || {
            let mut conn = pool.take()?;
            let result = f(&mut conn);
            pool.give(conn);
            result
        })
        .await
        .map_err(|e| Error::Backend(Box::new(e)))?;
        drop(permit);
        result
    }

    fn take(&self) -> Result<Connection> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => schema::open_reader(&self.path),
        }
    }

    fn give(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }
}

/// The key interval `[low, high)` a request covers, bytewise; `high` is
/// `None` when it has no end.
#[derive(Debug, Clone)]
pub(super) struct KeyRange {
    pub(super) low: Vec<u8>,
    pub(super) high: Option<Vec<u8>>,
}

impl KeyRange {
    /// Every key starting with `prefix`.
    pub(super) fn prefix(prefix: &str) -> Self {
        KeyRange {
            low: prefix.as_bytes().to_vec(),
            high: prefix_end(prefix),
        }
    }

    /// The keys a range request covers.
    fn of(request: &RangeRequest) -> Result<Self> {
        if !request.prefix {
            if request.key.is_empty() {
                return Err(Error::InvalidRequest("empty key".to_owned()));
            }
            // The key itself is the interval [key, key + "\0").
            let mut high = request.key.as_bytes().to_vec();
            high.push(0);
            return Ok(KeyRange {
                low: request.key.as_bytes().to_vec(),
                high: Some(high),
            });
        }
        let mut range = KeyRange::prefix(&request.key);
        if let Some(start) = &request.start_key {
            if !start.starts_with(&request.key) {
                return Err(Error::InvalidRequest(format!(
                    "start key {start:?} does not start with the prefix {:?}",
                    request.key
                )));
            }
            range.low = start.as_bytes().to_vec();
        }
        Ok(range)
    }

    /// The SQL condition on `column`, binding `?1` (low) and `?2` (high).
    fn condition(&self, column: &str) -> String {
        match self.high {
            Some(_) => format!("{column} >= ?1 AND {column} < ?2"),
            None => format!("{column} >= ?1 AND ?2 IS NULL"),
        }
    }
}

/// Serves a range request in one read transaction (one snapshot).
pub(super) fn range(conn: &mut Connection, request: &RangeRequest) -> Result<RangeResponse> {
    if request.revision < 0 {
        return Err(Error::InvalidRequest(format!(
            "negative revision {}",
            request.revision
        )));
    }
    if request.limit < 0 {
        return Err(Error::InvalidRequest(format!(
            "negative limit {}",
            request.limit
        )));
    }
    let keys = KeyRange::of(request)?;
    let tx = conn.transaction().map_err(sql)?;
    let Meta { current, compacted } = schema::read_meta(&tx)?;
    if request.revision > current {
        return Err(Error::FutureRevision {
            requested: request.revision,
            current,
        });
    }
    if request.revision != 0 && request.revision < compacted {
        return Err(Error::Compacted {
            requested: request.revision,
            compacted,
        });
    }
    let latest = request.revision == 0 || request.revision == current;
    let at = if request.revision == 0 {
        current
    } else {
        request.revision
    };
    // The keys that exist at `at`, each with the revision of its version.
    let versions = if latest {
        format!(
            "SELECT key AS k, revision AS rev FROM kapi_current WHERE {}",
            keys.condition("key")
        )
    } else {
        format!(
            "SELECT key AS k, max(revision) AS rev FROM kapi_log \
             WHERE {} AND revision <= ?3 GROUP BY key",
            keys.condition("key")
        )
    };
    let high = keys.high.as_deref();
    let count: i64 = tx
        .prepare_cached(&format!(
            "SELECT count(*) FROM ({versions}) m JOIN kapi_log l ON l.revision = m.rev \
             WHERE l.value IS NOT NULL"
        ))
        .and_then(|mut stmt| {
            if latest {
                stmt.query_row(rusqlite::params![keys.low, high], |row| row.get(0))
            } else {
                stmt.query_row(rusqlite::params![keys.low, high, at], |row| row.get(0))
            }
        })
        .map_err(sql)?;
    let mut kvs = Vec::new();
    if !request.count_only {
        let limit = if request.limit == 0 {
            -1
        } else {
            request.limit
        };
        let mut stmt = tx
            .prepare_cached(&format!(
                "SELECT m.k, l.revision, l.key, l.value, l.create_revision \
                 FROM ({versions}) m LEFT JOIN kapi_log l ON l.revision = m.rev \
                 WHERE l.value IS NOT NULL OR l.revision IS NULL ORDER BY m.k LIMIT ?4"
            ))
            .map_err(sql)?;
        let mut rows = if latest {
            stmt.query(rusqlite::params![
                keys.low,
                high,
                rusqlite::types::Null,
                limit
            ])
        } else {
            stmt.query(rusqlite::params![keys.low, high, at, limit])
        }
        .map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            let indexed = schema::decode_key(row.get(0).map_err(sql)?)?;
            let revision: Value = row.get(1).map_err(sql)?;
            if revision == Value::Null {
                return Err(corrupt(
                    &indexed,
                    "the current state points at a missing log record".to_owned(),
                ));
            }
            let kv = decode_kv(
                revision,
                row.get(2).map_err(sql)?,
                row.get(3).map_err(sql)?,
                row.get(4).map_err(sql)?,
            )?
            .ok_or_else(|| corrupt(&indexed, "unexpected deletion record".to_owned()))?;
            if kv.key != indexed {
                return Err(corrupt(
                    &indexed,
                    format!("log record {} belongs to {:?}", kv.mod_revision, kv.key),
                ));
            }
            kvs.push(kv);
        }
    }
    let more = !request.count_only && (kvs.len() as i64) < count;
    Ok(RangeResponse {
        kvs,
        more,
        count,
        revision: at,
    })
}

/// At most this many events are read per history query.
pub(super) const HISTORY_CHUNK: i64 = 512;

/// Reads the writes to `keys` with revisions in `[from, to]`, at most
/// [`HISTORY_CHUNK`] of them, in revision order, each with its previous
/// value. Fails with `Compacted` when `from` is at or below the compacted
/// revision, in the same snapshot.
pub(super) fn history(
    conn: &mut Connection,
    keys: &KeyRange,
    from: i64,
    to: i64,
) -> Result<Vec<Event>> {
    let tx = conn.transaction().map_err(sql)?;
    let Meta { compacted, .. } = schema::read_meta(&tx)?;
    if from <= compacted {
        return Err(Error::Compacted {
            requested: from,
            compacted,
        });
    }
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT l.revision, l.key, l.value, l.create_revision, l.prev_revision, \
                    p.revision, p.key, p.value, p.create_revision \
             FROM kapi_log l LEFT JOIN kapi_log p ON p.revision = l.prev_revision \
             WHERE {} AND l.revision >= ?3 AND l.revision <= ?4 \
             ORDER BY l.revision LIMIT ?5",
            keys.condition("l.key")
        ))
        .map_err(sql)?;
    let mut rows = stmt
        .query(rusqlite::params![
            keys.low,
            keys.high.as_deref(),
            from,
            to,
            HISTORY_CHUNK
        ])
        .map_err(sql)?;
    let mut events = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let revision: Value = row.get(0).map_err(sql)?;
        let key = schema::decode_key(row.get(1).map_err(sql)?)?;
        let prev_revision: Value = row.get(4).map_err(sql)?;
        let prev = match prev_revision {
            Value::Integer(0) => None,
            Value::Integer(n) if n > 0 => {
                let found: Value = row.get(5).map_err(sql)?;
                if found == Value::Null {
                    return Err(corrupt(
                        &key,
                        format!("previous version {n} is missing from the log"),
                    ));
                }
                let prev = decode_kv(
                    found,
                    row.get(6).map_err(sql)?,
                    row.get(7).map_err(sql)?,
                    row.get(8).map_err(sql)?,
                )?
                .ok_or_else(|| {
                    corrupt(&key, format!("previous version {n} is a deletion record"))
                })?;
                if prev.key != key {
                    return Err(corrupt(
                        &key,
                        format!("previous version {n} belongs to {:?}", prev.key),
                    ));
                }
                Some(prev)
            }
            _ => {
                return Err(corrupt(
                    &key,
                    "prev_revision is not a non-negative integer".to_owned(),
                ));
            }
        };
        let kv = decode_kv(
            revision.clone(),
            Value::Blob(key.clone().into_bytes()),
            row.get(2).map_err(sql)?,
            row.get(3).map_err(sql)?,
        )?;
        events.push(match (kv, prev) {
            (Some(kv), prev) => Event::Put { kv, prev },
            (None, Some(prev)) => Event::Delete {
                key,
                revision: schema::decode_revision(revision, &prev.key, "revision")?,
                prev,
            },
            (None, None) => {
                return Err(corrupt(
                    &key,
                    "deletion record without a previous version".to_owned(),
                ));
            }
        });
    }
    Ok(events)
}

/// The current value of `key` as the writer sees it (inside its
/// transaction): `Ok(None)` when it does not exist.
pub(super) fn current(conn: &Connection, key: &str) -> Result<Option<KeyValue>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT c.revision, l.revision, l.key, l.value, l.create_revision \
             FROM kapi_current c LEFT JOIN kapi_log l ON l.revision = c.revision \
             WHERE c.key = ?1",
        )
        .map_err(sql)?;
    let mut rows = stmt.query([key.as_bytes()]).map_err(sql)?;
    let Some(row) = rows.next().map_err(sql)? else {
        return Ok(None);
    };
    let revision: Value = row.get(1).map_err(sql)?;
    if revision == Value::Null {
        return Err(corrupt(
            key,
            "the current state points at a missing log record".to_owned(),
        ));
    }
    let kv = decode_kv(
        revision,
        row.get(2).map_err(sql)?,
        row.get(3).map_err(sql)?,
        row.get(4).map_err(sql)?,
    )?
    .ok_or_else(|| corrupt(key, "the current state is a deletion record".to_owned()))?;
    if kv.key != key {
        return Err(corrupt(
            key,
            format!("log record {} belongs to {:?}", kv.mod_revision, kv.key),
        ));
    }
    Ok(Some(kv))
}
