//! The shared capability on SQLite: the message log and versioned records.
//!
//! Owns: the `shared_log`, `shared_records` and `shared_counters` tables
//! and their statements. Invariants: an append, a swap and a batch of
//! swaps are each one `BEGIN IMMEDIATE` transaction (SQLite's write lock covers the counter
//! update, so numbers follow commit order across processes too); the
//! counters only grow, so numbers and versions are never reused, also
//! after a trim or a remove.

use profilestore_plugin_api::shared::record_matches;
use profilestore_plugin_api::{
    LogMessage, RecordExpect, RecordOutcome, RecordWrite, SharedRecord, StorageResult,
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::{sql_error, SqlitePlugin};

/// The shared capability's tables (created with the rest of the schema).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS shared_log (
    seq     INTEGER PRIMARY KEY,
    topic   TEXT NOT NULL,
    data    TEXT NOT NULL,
    sent_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS shared_log_by_time ON shared_log (sent_ms);
CREATE TABLE IF NOT EXISTS shared_records (
    name    TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    value   TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shared_counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Adds one to counter `name` inside the caller's transaction.
fn next(conn: &Connection, name: &str) -> rusqlite::Result<u64> {
    conn.prepare_cached(
        "INSERT INTO shared_counters (name, value) VALUES (?1, 1)
         ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
    )?
    .query_row([name], |r| r.get::<_, i64>(0))
    .map(|v| v as u64)
}

fn record_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SharedRecord> {
    Ok(SharedRecord {
        name: r.get(0)?,
        version: r.get::<_, i64>(1)? as u64,
        value: r.get(2)?,
    })
}

fn read_record(conn: &Connection, name: &str) -> rusqlite::Result<Option<SharedRecord>> {
    conn.prepare_cached("SELECT name, version, value FROM shared_records WHERE name = ?1")?
        .query_row([name], record_row)
        .optional()
}

impl SqlitePlugin {
    pub(crate) fn log_put(&self, topic: &str, data: &str, sent_ms: i64) -> StorageResult<u64> {
        self.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            let seq = next(&tx, "log").map_err(sql_error)?;
            tx.prepare_cached(
                "INSERT INTO shared_log (seq, topic, data, sent_ms) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![seq as i64, topic, data, sent_ms]))
            .map_err(sql_error)?;
            tx.commit().map_err(sql_error)?;
            Ok(seq)
        })
    }

    pub(crate) fn log_get(&self, after: u64, limit: usize) -> StorageResult<Vec<LogMessage>> {
        self.with_conn(|conn| {
            conn.prepare_cached(
                "SELECT seq, topic, data, sent_ms FROM shared_log
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![after as i64, limit as i64], |r| {
                    Ok(LogMessage {
                        seq: r.get::<_, i64>(0)? as u64,
                        topic: r.get(1)?,
                        data: r.get(2)?,
                        sent_ms: r.get(3)?,
                    })
                })?
                .collect()
            })
            .map_err(sql_error)
        })
    }

    pub(crate) fn log_top(&self) -> StorageResult<u64> {
        self.with_conn(|conn| {
            conn.prepare_cached("SELECT value FROM shared_counters WHERE name = 'log'")
                .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)).optional())
                .map(|v| v.unwrap_or(0) as u64)
                .map_err(sql_error)
        })
    }

    pub(crate) fn log_cut(&self, cutoff_ms: i64) -> StorageResult<u64> {
        self.with_writer(|conn| {
            conn.prepare_cached("DELETE FROM shared_log WHERE sent_ms < ?1")
                .and_then(|mut s| s.execute([cutoff_ms]))
                .map(|n| n as u64)
                .map_err(sql_error)
        })
    }

    pub(crate) fn record_get(&self, name: &str) -> StorageResult<Option<SharedRecord>> {
        self.with_conn(|conn| read_record(conn, name).map_err(sql_error))
    }

    pub(crate) fn record_put(
        &self,
        name: &str,
        expect: RecordExpect,
        value: Option<&str>,
    ) -> StorageResult<RecordOutcome> {
        self.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            let outcome = swap(&tx, name, expect, value).map_err(sql_error)?;
            tx.commit().map_err(sql_error)?;
            Ok(outcome)
        })
    }

    /// Every write in one `IMMEDIATE` transaction (so one fsync).
    pub(crate) fn record_put_all(
        &self,
        writes: &[RecordWrite],
    ) -> StorageResult<Vec<RecordOutcome>> {
        self.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            let outcomes = writes
                .iter()
                .map(|w| swap(&tx, &w.name, w.expect, w.value.as_deref()))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql_error)?;
            tx.commit().map_err(sql_error)?;
            Ok(outcomes)
        })
    }

    pub(crate) fn record_all(&self, prefix: &str) -> StorageResult<Vec<SharedRecord>> {
        self.with_conn(|conn| {
            conn.prepare_cached(
                "SELECT name, version, value FROM shared_records
                 WHERE name >= ?1 AND substr(name, 1, ?2) = ?1 ORDER BY name",
            )
            .and_then(|mut s| {
                s.query_map(params![prefix, prefix.chars().count() as i64], record_row)?
                    .collect()
            })
            .map_err(sql_error)
        })
    }
}

/// One checked swap inside the caller's transaction.
fn swap(
    conn: &Connection,
    name: &str,
    expect: RecordExpect,
    value: Option<&str>,
) -> rusqlite::Result<RecordOutcome> {
    let current = read_record(conn, name)?;
    if !record_matches(expect, current.as_ref()) {
        return Ok(RecordOutcome::Conflict { current });
    }
    let Some(v) = value else {
        conn.execute("DELETE FROM shared_records WHERE name = ?1", [name])?;
        return Ok(RecordOutcome::Swapped { version: None });
    };
    let version = next(conn, "record")?;
    conn.prepare_cached(
        "INSERT INTO shared_records (name, version, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version,
         value = excluded.value",
    )?
    .execute(params![name, version as i64, v])?;
    Ok(RecordOutcome::Swapped {
        version: Some(version),
    })
}
