//! The ordered capability over SQLite: ordered entries, metadata records
//! and `purge_store`.
//!
//! Owns: the SQL of the `ordered` and `meta_records` tables (created by
//! `SCHEMA` in `lib.rs`). Invariants:
//! - an ordered write reads the current value and writes in one
//!   `BEGIN IMMEDIATE` transaction on the writer's turn, so the check holds
//!   across processes; concurrent ordered writes share that transaction,
//!   each in its own savepoint (group commit, `group.rs`, as commits do),
//!   and the connection's `synchronous` setting gives them the plugin's
//!   durability mode;
//! - a sorted read is one `SEARCH` of the `ordered_by_value` index
//!   `(universe, store, scope, value, key)`: the start (cursor or bound) and
//!   the other bound are index range ends, never a filter over the scope
//!   (the unit tests below check the plans with `EXPLAIN QUERY PLAN`);
//! - `meta_records` is keyed by name (BINARY collation: bytewise order).

use profilestore_plugin_api::{
    EntryId, MetaRecord, OrderedExpect, OrderedOutcome, OrderedQuery, OrderedRecord, OrderedWrite,
    Page, SortOrder, StorageError, StorageResult, StoreId,
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::{sql_error, SqlitePlugin};

/// The four sorted reads: (order, resumes after a cursor). `?1..?3` name
/// the scope, `?4` is the start value (with `?5` the cursor's key), `?6`
/// the other bound, `?7` the row limit.
pub(crate) const RANGE_SQL: [(SortOrder, bool, &str); 4] = [
    (
        SortOrder::Ascending,
        false,
        "SELECT value, key FROM ordered INDEXED BY ordered_by_value
         WHERE universe = ?1 AND store = ?2 AND scope = ?3 AND value >= ?4 AND value <= ?6
         ORDER BY value ASC, key ASC LIMIT ?7",
    ),
    (
        SortOrder::Ascending,
        true,
        "SELECT value, key FROM ordered INDEXED BY ordered_by_value
         WHERE universe = ?1 AND store = ?2 AND scope = ?3 AND (value, key) > (?4, ?5)
           AND value <= ?6
         ORDER BY value ASC, key ASC LIMIT ?7",
    ),
    (
        SortOrder::Descending,
        false,
        "SELECT value, key FROM ordered INDEXED BY ordered_by_value
         WHERE universe = ?1 AND store = ?2 AND scope = ?3 AND value <= ?4 AND value >= ?6
         ORDER BY value DESC, key DESC LIMIT ?7",
    ),
    (
        SortOrder::Descending,
        true,
        "SELECT value, key FROM ordered INDEXED BY ordered_by_value
         WHERE universe = ?1 AND store = ?2 AND scope = ?3 AND (value, key) < (?4, ?5)
           AND value >= ?6
         ORDER BY value DESC, key DESC LIMIT ?7",
    ),
];

fn range_sql(order: SortOrder, cursor: bool) -> &'static str {
    RANGE_SQL
        .iter()
        .find(|(o, c, _)| *o == order && *c == cursor)
        .map(|(_, _, sql)| *sql)
        .expect("every (order, cursor) pair has its statement")
}

fn current(conn: &Connection, e: &EntryId) -> StorageResult<Option<i64>> {
    conn.prepare_cached(
        "SELECT value FROM ordered WHERE universe = ?1 AND store = ?2 AND scope = ?3 AND key = ?4",
    )
    .and_then(|mut s| {
        s.query_row(
            params![e.store.universe as i64, e.store.name, e.scope, e.key],
            |r| r.get(0),
        )
        .optional()
    })
    .map_err(sql_error)
}

fn apply_write(conn: &Connection, w: &OrderedWrite) -> StorageResult<OrderedOutcome> {
    let e = &w.entry;
    let previous = current(conn, e)?;
    if let OrderedExpect::Current(expected) = w.expect {
        if expected != previous {
            return Ok(OrderedOutcome::Conflict { current: previous });
        }
    }
    let ids = params![e.store.universe as i64, e.store.name, e.scope, e.key];
    match w.value {
        Some(v) => conn
            .prepare_cached(
                "INSERT INTO ordered (universe, store, scope, key, value) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (universe, store, scope, key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut s| s.execute(params![e.store.universe as i64, e.store.name, e.scope, e.key, v])),
        None => conn
            .prepare_cached(
                "DELETE FROM ordered WHERE universe = ?1 AND store = ?2 AND scope = ?3 AND key = ?4",
            )
            .and_then(|mut s| s.execute(ids)),
    }
    .map_err(sql_error)?;
    Ok(OrderedOutcome::Written { previous })
}

impl SqlitePlugin {
    pub(crate) fn ordered_get(&self, e: &EntryId) -> StorageResult<Option<i64>> {
        self.with_conn(|conn| current(conn, e))
    }

    pub(crate) fn ordered_put(&self, w: &OrderedWrite) -> StorageResult<OrderedOutcome> {
        self.ordered_group.commit(w, |batch| {
            self.with_writer(|conn| Ok(crate::group::run(conn, batch, apply_write)))
                .unwrap_or_else(|e| {
                    // No connection: every write of the group gets the error.
                    let text = e.to_string();
                    batch
                        .iter()
                        .map(|_| Err(StorageError::Unavailable(text.clone())))
                        .collect()
                })
        })
    }

    pub(crate) fn ordered_page(&self, q: &OrderedQuery) -> StorageResult<Page<OrderedRecord>> {
        let limit = q.limit.max(1);
        // The read starts at the cursor when it lies inside the bound the
        // read starts from, else at that bound.
        let (start_bound, other) = match q.order {
            SortOrder::Ascending => (q.min.unwrap_or(i64::MIN), q.max.unwrap_or(i64::MAX)),
            SortOrder::Descending => (q.max.unwrap_or(i64::MAX), q.min.unwrap_or(i64::MIN)),
        };
        let cursor = q.after.as_ref().filter(|a| match q.order {
            SortOrder::Ascending => a.value >= start_bound,
            SortOrder::Descending => a.value <= start_bound,
        });
        let (start, start_key) = match cursor {
            Some(a) => (a.value, Some(a.key.as_str())),
            None => (start_bound, None),
        };
        let items = self.with_conn(|conn| {
            conn.prepare_cached(range_sql(q.order, cursor.is_some()))
                .and_then(|mut s| {
                    s.query_map(
                        params![
                            q.store.universe as i64,
                            q.store.name,
                            q.scope,
                            start,
                            start_key,
                            other,
                            (limit + 1) as i64
                        ],
                        |r| {
                            Ok(OrderedRecord {
                                value: r.get(0)?,
                                key: r.get(1)?,
                            })
                        },
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql_error)
        })?;
        Ok(crate::ops::page(items, limit))
    }

    pub(crate) fn meta_get(&self, name: &str) -> StorageResult<Option<String>> {
        self.with_conn(|conn| {
            conn.prepare_cached("SELECT value FROM meta_records WHERE name = ?1")
                .and_then(|mut s| s.query_row([name], |r| r.get(0)).optional())
                .map_err(sql_error)
        })
    }

    pub(crate) fn meta_put(&self, name: &str, value: Option<&str>) -> StorageResult<()> {
        self.with_writer(|conn| {
            match value {
                Some(v) => conn.execute(
                    "INSERT INTO meta_records (name, value) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    params![name, v],
                ),
                None => conn.execute("DELETE FROM meta_records WHERE name = ?1", [name]),
            }
            .map(drop)
            .map_err(sql_error)
        })
    }

    pub(crate) fn meta_list(&self, prefix: &str) -> StorageResult<Vec<MetaRecord>> {
        self.with_conn(|conn| {
            // `name >= prefix` starts the primary-key search; the substr
            // test ends it (names compare bytewise, so matches are contiguous).
            conn.prepare_cached(
                "SELECT name, value FROM meta_records
                 WHERE name >= ?1 AND substr(name, 1, ?2) = ?1 ORDER BY name",
            )
            .and_then(|mut s| {
                s.query_map(params![prefix, prefix.chars().count() as i64], |r| {
                    Ok(MetaRecord {
                        name: r.get(0)?,
                        value: r.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(sql_error)
        })
    }

    /// Removes every version, entry and the creation time of `store` in one
    /// transaction.
    pub(crate) fn purge_one_store(&self, store: &StoreId) -> StorageResult<u64> {
        self.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            let ids = params![store.universe as i64, store.name];
            tx.execute(
                "DELETE FROM versions WHERE entry IN
                   (SELECT id FROM entries WHERE universe = ?1 AND store = ?2)",
                ids,
            )
            .map_err(sql_error)?;
            let entries = tx
                .execute(
                    "DELETE FROM entries WHERE universe = ?1 AND store = ?2",
                    ids,
                )
                .map_err(sql_error)?;
            tx.execute("DELETE FROM stores WHERE universe = ?1 AND name = ?2", ids)
                .map_err(sql_error)?;
            tx.commit().map_err(sql_error)?;
            Ok(entries as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use profilestore_plugin_api::{Durability, StoragePlugin};

    /// The `detail` column of `EXPLAIN QUERY PLAN sql`, one line per step.
    fn plan(conn: &Connection, sql: &str) -> Vec<String> {
        let mut s = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let n = s.parameter_count();
        let args: Vec<i64> = vec![0; n];
        s.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
            .expect("plan")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    fn filled() -> (tempfile::TempDir, SqlitePlugin) {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = SqlitePlugin::open(&dir.path().join("db.sqlite3"), Durability::Off).expect("open");
        for i in 0..200 {
            let w = OrderedWrite {
                entry: EntryId::new(1, "Board", "global", format!("k{i}")),
                expect: OrderedExpect::Any,
                value: Some(i % 17),
            };
            p.ordered_write(&w).expect("write");
        }
        p.with_conn(|c| c.execute_batch("ANALYZE").map_err(sql_error))
            .expect("analyze");
        (dir, p)
    }

    #[test]
    fn sorted_reads_search_the_value_index_with_both_ends_bounded() {
        let (_dir, p) = filled();
        p.with_conn(|conn| {
            for (order, cursor, sql) in RANGE_SQL {
                let steps = plan(conn, sql);
                let all = steps.join(" | ");
                assert_eq!(steps.len(), 1, "{order:?} cursor {cursor}: one step: {all}");
                let step = &steps[0];
                assert!(
                    step.starts_with("SEARCH ordered USING COVERING INDEX ordered_by_value"),
                    "{order:?} cursor {cursor}: {all}"
                );
                assert!(
                    step.contains("universe=? AND store=? AND scope=?"),
                    "{order:?} cursor {cursor}: the scope is the index prefix: {all}"
                );
                assert!(
                    step.contains('>') && step.contains('<'),
                    "{order:?} cursor {cursor}: both ends are index range ends: {all}"
                );
                assert!(!all.contains("SCAN"), "{order:?} cursor {cursor}: {all}");
                assert!(!all.contains("TEMP B-TREE"), "no sort step: {all}");
            }
            Ok(())
        })
        .expect("plans");
    }

    #[test]
    fn point_reads_and_meta_listings_search_their_keys() {
        let (_dir, p) = filled();
        p.with_conn(|conn| {
            let read = plan(
                conn,
                "SELECT value FROM ordered WHERE universe = ?1 AND store = ?2 AND scope = ?3 AND key = ?4",
            );
            assert!(read[0].starts_with("SEARCH ordered USING PRIMARY KEY"), "{read:?}");
            let meta = plan(
                conn,
                "SELECT name, value FROM meta_records
                 WHERE name >= ?1 AND substr(name, 1, ?2) = ?1 ORDER BY name",
            );
            assert!(meta[0].starts_with("SEARCH meta_records USING PRIMARY KEY (name>?)"), "{meta:?}");
            Ok(())
        })
        .expect("plans");
    }
}
