//! The SQLite backend's on-disk schema: the tables and indexes, opening and
//! checking a database file, the connection settings, and the decoding of
//! rows into [`KeyValue`]s, where anything kapi did not write becomes
//! [`Error::Corrupt`] rather than a panic.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};

use super::Synchronous;
use crate::backend::KeyValue;
use crate::error::{Error, Result};

/// `PRAGMA application_id` of a kapi database: "kapi" in ASCII.
const APPLICATION_ID: i64 = 0x6b61_7069;

/// The schema version this code reads and writes.
const SCHEMA_VERSION: i64 = 1;

/// How long a connection waits for a lock held by another connection of
/// this process (a WAL checkpoint, the writer's schema setup) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The tables and indexes (see the module documentation of `sqlite`).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kapi_meta (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kapi_log (
    revision INTEGER PRIMARY KEY,
    key BLOB NOT NULL,
    value BLOB,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS kapi_log_key_revision ON kapi_log (key, revision);
CREATE TABLE IF NOT EXISTS kapi_current (
    key BLOB PRIMARY KEY NOT NULL,
    revision INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO kapi_meta (name, value) VALUES
    ('schema_version', 1),
    ('current_revision', 0),
    ('compacted_revision', 0);
";

/// The revisions a database resumes from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Meta {
    /// The revision of the last committed write.
    pub(super) current: i64,
    /// The revision history was compacted at.
    pub(super) compacted: i64,
}

/// Opens the writer's connection: creates the schema when the file is new,
/// checks it is a kapi database of a version this code knows, and returns
/// the revisions to resume from.
pub(super) fn open_writer(path: &Path, synchronous: Synchronous) -> Result<(Connection, Meta)> {
    let conn = Connection::open(path).map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    check_foreign(&conn)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(sql)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Unavailable(format!(
            "sqlite could not switch {} to WAL mode (journal mode is {mode})",
            path.display()
        )));
    }
    let sync = match synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync).map_err(sql)?;
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; {SCHEMA} PRAGMA application_id = {APPLICATION_ID}; COMMIT;"
    ))
    .map_err(sql)?;
    let version = read_meta_value(&conn, "schema_version")?;
    if version != SCHEMA_VERSION {
        return Err(Error::Corrupt {
            key: String::new(),
            message: format!(
                "database schema version {version} is not the supported version {SCHEMA_VERSION}"
            ),
        });
    }
    let meta = read_meta(&conn)?;
    Ok((conn, meta))
}

/// Opens a read connection (the schema exists: the writer created it).
pub(super) fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    conn.pragma_update(None, "query_only", true).map_err(sql)?;
    Ok(conn)
}

/// Reads the current and compacted revisions (within the caller's
/// transaction, if any, so they match what its other queries see).
pub(super) fn read_meta(conn: &Connection) -> Result<Meta> {
    let current = read_meta_value(conn, "current_revision")?;
    let compacted = read_meta_value(conn, "compacted_revision")?;
    if current < 0 || compacted < 0 || compacted > current {
        return Err(Error::Corrupt {
            key: String::new(),
            message: format!(
                "impossible revisions in kapi_meta: current {current}, compacted {compacted}"
            ),
        });
    }
    Ok(Meta { current, compacted })
}

/// Decodes one log row's columns (revision, key, value, create revision)
/// into a key-value; `Ok(None)` for a deletion record (a NULL value).
pub(super) fn decode_kv(
    revision: Value,
    key: Value,
    value: Value,
    create_revision: Value,
) -> Result<Option<KeyValue>> {
    let key = decode_key(key)?;
    let mod_revision = decode_revision(revision, &key, "revision")?;
    let create_revision = decode_revision(create_revision, &key, "create_revision")?;
    if create_revision > mod_revision {
        return Err(corrupt(
            &key,
            format!("create revision {create_revision} is after revision {mod_revision}"),
        ));
    }
    let value = match value {
        Value::Null => return Ok(None),
        Value::Blob(bytes) => Bytes::from(bytes),
        other => {
            return Err(corrupt(
                &key,
                format!("value is a {} instead of a blob", type_name(&other)),
            ));
        }
    };
    Ok(Some(KeyValue {
        key,
        value,
        create_revision,
        mod_revision,
    }))
}

/// Decodes a revision column that must hold a positive integer.
pub(super) fn decode_revision(value: Value, key: &str, column: &str) -> Result<i64> {
    match value {
        Value::Integer(n) if n > 0 => Ok(n),
        other => Err(corrupt(
            key,
            format!("{column} is not a positive integer ({})", type_name(&other)),
        )),
    }
}

/// Decodes a key column: kapi stores keys as blobs of UTF-8 bytes.
pub(super) fn decode_key(value: Value) -> Result<String> {
    match value {
        Value::Blob(bytes) => String::from_utf8(bytes).map_err(|e| {
            corrupt(
                &String::from_utf8_lossy(e.as_bytes()),
                "key is not valid UTF-8".to_owned(),
            )
        }),
        Value::Text(text) => Err(corrupt(
            &text,
            "key is stored as text, not a blob".to_owned(),
        )),
        other => Err(corrupt(
            "",
            format!("key is a {} instead of a blob", type_name(&other)),
        )),
    }
}

/// An [`Error::Corrupt`] about `key`.
pub(super) fn corrupt(key: &str, message: String) -> Error {
    Error::Corrupt {
        key: key.to_owned(),
        message,
    }
}

/// Maps a SQLite failure: damaged files are `Corrupt`, lock contention
/// and a full disk `Unavailable`, the rest `Backend`.
pub(super) fn sql(error: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Error::Corrupt {
            key: String::new(),
            message: error.to_string(),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::DiskFull) => {
            Error::Unavailable(format!("sqlite: {error}"))
        }
        _ => Error::Backend(Box::new(error)),
    }
}

/// Refuses a database another program created: a foreign application id,
/// or tables but no `kapi_meta`.
fn check_foreign(conn: &Connection) -> Result<()> {
    let id: i64 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(sql)?;
    let foreign = |message: String| Error::Corrupt {
        key: String::new(),
        message,
    };
    if id != 0 && id != APPLICATION_ID {
        return Err(foreign(format!(
            "not a kapi database (application id {id:#x})"
        )));
    }
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |row| row.get(0),
        )
        .map_err(sql)?;
    let ours: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'kapi_meta'",
            [],
            |row| row.get(0),
        )
        .map_err(sql)?;
    if tables > 0 && ours == 0 {
        return Err(foreign(
            "not a kapi database (it has tables but no kapi_meta)".to_owned(),
        ));
    }
    Ok(())
}

/// Reads one integer of `kapi_meta`.
fn read_meta_value(conn: &Connection, name: &str) -> Result<i64> {
    let value: Option<Value> = conn
        .prepare_cached("SELECT value FROM kapi_meta WHERE name = ?1")
        .and_then(|mut stmt| stmt.query_row([name], |row| row.get(0)).optional())
        .map_err(sql)?;
    match value {
        Some(Value::Integer(n)) => Ok(n),
        Some(other) => Err(corrupt(
            "",
            format!("kapi_meta {name} is a {}", type_name(&other)),
        )),
        None => Err(corrupt("", format!("kapi_meta has no {name}"))),
    }
}

/// The SQLite storage class of a value, for error messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Integer(_) => "integer",
        Value::Real(_) => "real",
        Value::Text(_) => "text",
        Value::Blob(_) => "blob",
    }
}
