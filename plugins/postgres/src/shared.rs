//! The shared capability on PostgreSQL: the message log and versioned
//! records that several nodes on one database share.
//!
//! Owns: the `ps_log`, `ps_records` and `ps_counters` tables and their
//! statements. Invariants:
//! - an append takes its number from the `log` counter row, updated
//!   (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`) in the append's own
//!   transaction: the row lock is held until that transaction commits, so
//!   the next append gets the next number only after this one committed,
//!   and a reader of `seq > X` never misses a row committed later with a
//!   lower number; the counter only grows (trims and reopens keep it);
//! - a swap locks the record's row (`FOR UPDATE`), checks and writes in one
//!   transaction; its version comes from the `record` counter row in that
//!   transaction, so versions grow and never repeat across records; a
//!   racing creation (`INSERT ... ON CONFLICT DO NOTHING` writing nothing)
//!   re-reads and re-checks the winner's row;
//! - after an append commits, a best-effort `NOTIFY ps_log` wakes the
//!   [`log_wait`](profilestore_plugin_api::StoragePlugin::log_wait) hint of
//!   every node (`listen.rs`); nothing depends on it (CockroachDB, which
//!   has no NOTIFY, just never wakes anyone early).

use profilestore_plugin_api::shared::record_matches;
use profilestore_plugin_api::{LogMessage, RecordExpect, RecordOutcome, RecordWrite, SharedRecord};

use crate::error::Fail;
use crate::ops::{text, Body};
use crate::pool::{Db, Done, Iso};
use crate::{PostgresPlugin, Result};

/// The shared capability's tables (created with the rest of the schema).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ps_log (
    seq     BIGINT PRIMARY KEY,
    topic   BYTEA NOT NULL,
    data    BYTEA NOT NULL,
    sent_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ps_log_by_time ON ps_log (sent_ms);
CREATE TABLE IF NOT EXISTS ps_records (
    name    BYTEA PRIMARY KEY,
    version BIGINT NOT NULL,
    value   BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS ps_counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
";

/// Adds one to counter `name` inside the caller's transaction, holding its
/// row lock until that transaction ends.
fn next<C: postgres::GenericClient>(db: &mut Db<'_, C>, name: &str) -> Body<i64> {
    let row = db
        .opt(
            "INSERT INTO ps_counters (name, value) VALUES ($1, 1)
             ON CONFLICT (name) DO UPDATE SET value = ps_counters.value + 1 RETURNING value",
            &[&name],
        )?
        .ok_or_else(|| Fail::Storage(missing("counter")))?;
    Ok(row.get(0))
}

fn missing(what: &str) -> profilestore_plugin_api::StorageError {
    profilestore_plugin_api::StorageError::Corrupt {
        what: what.to_owned(),
        detail: "a RETURNING statement returned no row".to_owned(),
    }
}

fn record_row(r: &postgres::Row) -> Result<SharedRecord> {
    let name = text(r.get(0), "shared record name")?;
    let value = text(r.get(2), &format!("shared record {name}"))?;
    Ok(SharedRecord {
        name,
        version: r.get::<_, i64>(1) as u64,
        value,
    })
}

fn swap(
    db: &mut Db<'_, postgres::Transaction<'_>>,
    name: &str,
    expect: RecordExpect,
    value: Option<&str>,
) -> Body<Done<RecordOutcome>> {
    let key = name.as_bytes();
    for _ in 0..3 {
        let current = db
            .opt(
                "SELECT name, version, value FROM ps_records WHERE name = $1 FOR UPDATE",
                &[&key],
            )?
            .map(|r| record_row(&r))
            .transpose()?;
        if !record_matches(expect, current.as_ref()) {
            return Ok(Done::Rollback(RecordOutcome::Conflict { current }));
        }
        let Some(v) = value else {
            if current.is_none() {
                return Ok(Done::Rollback(RecordOutcome::Swapped { version: None }));
            }
            db.exec("DELETE FROM ps_records WHERE name = $1", &[&key])?;
            return Ok(Done::Commit(RecordOutcome::Swapped { version: None }));
        };
        let version = next(db, "record")?;
        let written = if current.is_some() {
            db.exec(
                "UPDATE ps_records SET version = $2, value = $3 WHERE name = $1",
                &[&key, &version, &v.as_bytes()],
            )?
        } else {
            db.exec(
                "INSERT INTO ps_records (name, version, value) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO NOTHING",
                &[&key, &version, &v.as_bytes()],
            )?
        };
        if written == 1 {
            let version = Some(version as u64);
            return Ok(Done::Commit(RecordOutcome::Swapped { version }));
        }
        // Created meanwhile by another transaction: lock and check theirs.
    }
    Err(Fail::Storage(
        profilestore_plugin_api::StorageError::Unavailable(format!(
            "shared record {name} was created and removed repeatedly during a swap"
        )),
    ))
}

impl PostgresPlugin {
    pub(crate) fn log_put(&self, topic: &str, data: &str, sent_ms: i64) -> Result<u64> {
        let seq = self.pool.transaction("log_append", Iso::Locking, |db| {
            let seq = next(db, "log")?;
            db.exec(
                "INSERT INTO ps_log (seq, topic, data, sent_ms) VALUES ($1, $2, $3, $4)",
                &[&seq, &topic.as_bytes(), &data.as_bytes(), &sent_ms],
            )?;
            Ok(Done::Commit(seq as u64))
        })?;
        self.listener.notify(&self.pool);
        Ok(seq)
    }

    pub(crate) fn log_get(&self, after: u64, limit: usize) -> Result<Vec<LogMessage>> {
        let rows = self.pool.read("log_read", |db| {
            Ok(db.query(
                "SELECT seq, topic, data, sent_ms FROM ps_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&(after.min(i64::MAX as u64) as i64), &(limit as i64)],
            )?)
        })?;
        rows.into_iter()
            .map(|r| {
                Ok(LogMessage {
                    seq: r.get::<_, i64>(0) as u64,
                    topic: text(r.get(1), "log message topic")?,
                    data: text(r.get(2), "log message data")?,
                    sent_ms: r.get(3),
                })
            })
            .collect()
    }

    pub(crate) fn log_top(&self) -> Result<u64> {
        self.pool.read("log_head", |db| {
            Ok(db
                .opt("SELECT value FROM ps_counters WHERE name = 'log'", &[])?
                .map_or(0, |r| r.get::<_, i64>(0) as u64))
        })
    }

    pub(crate) fn log_cut(&self, cutoff_ms: i64) -> Result<u64> {
        self.pool.transaction("log_trim", Iso::Locking, |db| {
            let n = db.exec("DELETE FROM ps_log WHERE sent_ms < $1", &[&cutoff_ms])?;
            Ok(Done::Commit(n))
        })
    }

    pub(crate) fn record_get(&self, name: &str) -> Result<Option<SharedRecord>> {
        let row = self.pool.read("record_read", |db| {
            Ok(db.opt(
                "SELECT name, version, value FROM ps_records WHERE name = $1",
                &[&name.as_bytes()],
            )?)
        })?;
        row.map(|r| record_row(&r)).transpose()
    }

    pub(crate) fn record_put(
        &self,
        name: &str,
        expect: RecordExpect,
        value: Option<&str>,
    ) -> Result<RecordOutcome> {
        self.pool.transaction("record_swap", Iso::Locking, |db| {
            swap(db, name, expect, value)
        })
    }

    /// Every write in one transaction (rolled back when none wrote).
    pub(crate) fn record_put_all(&self, writes: &[RecordWrite]) -> Result<Vec<RecordOutcome>> {
        self.pool
            .transaction("record_swap_all", Iso::Locking, |db| {
                let mut outcomes = Vec::with_capacity(writes.len());
                let mut wrote = false;
                for w in writes {
                    match swap(db, &w.name, w.expect, w.value.as_deref())? {
                        Done::Commit(o) => {
                            wrote = true;
                            outcomes.push(o);
                        }
                        Done::Rollback(o) => outcomes.push(o),
                    }
                }
                Ok(if wrote {
                    Done::Commit(outcomes)
                } else {
                    Done::Rollback(outcomes)
                })
            })
    }

    pub(crate) fn record_all(&self, prefix: &str) -> Result<Vec<SharedRecord>> {
        let start = prefix.as_bytes();
        let end = crate::ordered::successor(start);
        let rows = self.pool.read("record_list", |db| {
            Ok(match &end {
                Some(end) => db.query(
                    "SELECT name, version, value FROM ps_records
                     WHERE name >= $1 AND name < $2 ORDER BY name",
                    &[&start, end],
                )?,
                None => db.query(
                    "SELECT name, version, value FROM ps_records WHERE name >= $1 ORDER BY name",
                    &[&start],
                )?,
            })
        })?;
        rows.iter().map(record_row).collect()
    }
}
