//! The ordered capability over PostgreSQL: ordered entries, metadata
//! records and `purge_store`.
//!
//! Owns: the SQL of `ps_ordered` and `ps_meta_records`. Invariants:
//! - an ordered write locks the entry's row (`FOR UPDATE`), checks and
//!   writes in one transaction; creating a missing entry uses `INSERT ...
//!   ON CONFLICT DO NOTHING`, and losing that race re-reads the winner's
//!   row, so exactly one "must be absent" write wins;
//! - a sorted read is one range scan of the `ps_ordered_by_value` index
//!   `(universe, store, scope, value, key)`: the start (cursor or bound) and
//!   the other bound are index conditions and the index gives the order
//!   (no sort step; `tests/explain.rs` checks the plans);
//! - metadata names compare bytewise (`BYTEA`); a prefix listing is an
//!   index range `[prefix, successor(prefix))`;
//! - `purge_store` deletes the store's head rows and then the versions of
//!   exactly those rows (see `ops.rs`).

use profilestore_plugin_api::{
    EntryId, MetaRecord, OrderedExpect, OrderedOutcome, OrderedQuery, OrderedRecord, OrderedWrite,
    Page, SortOrder, StorageError, StoreId,
};

use crate::ops::{delete_versions_of, page, text, Key};
use crate::pool::{Done, Iso};
use crate::{PostgresPlugin, Result};

/// The sorted reads without a cursor: `$4` is the start bound, `$5` the
/// other bound, `$6` the row limit.
const RANGE: [&str; 2] = [
    "SELECT value, key FROM ps_ordered
     WHERE universe = $1 AND store = $2 AND scope = $3 AND value >= $4 AND value <= $5
     ORDER BY value ASC, key ASC LIMIT $6",
    "SELECT value, key FROM ps_ordered
     WHERE universe = $1 AND store = $2 AND scope = $3 AND value <= $4 AND value >= $5
     ORDER BY value DESC, key DESC LIMIT $6",
];

/// The sorted reads resuming after a cursor `($4, $5)`: `$6` is the other
/// bound, `$7` the row limit.
const RANGE_AFTER: [&str; 2] = [
    "SELECT value, key FROM ps_ordered
     WHERE universe = $1 AND store = $2 AND scope = $3 AND (value, key) > ($4, $5)
       AND value <= $6
     ORDER BY value ASC, key ASC LIMIT $7",
    "SELECT value, key FROM ps_ordered
     WHERE universe = $1 AND store = $2 AND scope = $3 AND (value, key) < ($4, $5)
       AND value >= $6
     ORDER BY value DESC, key DESC LIMIT $7",
];

/// Every sorted-read statement (for the plan checks of the tests).
#[cfg_attr(not(feature = "test-server"), allow(dead_code))]
pub(crate) const RANGE_SQL: [&str; 4] = [RANGE[0], RANGE[1], RANGE_AFTER[0], RANGE_AFTER[1]];

/// The smallest byte string above every string starting with `prefix`, if
/// any (`None` for the empty prefix or one of only `0xff` bytes).
pub(crate) fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xff {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

impl PostgresPlugin {
    pub(crate) fn ordered_get(&self, e: &EntryId) -> Result<Option<i64>> {
        let k = Key::of(e);
        self.pool.read("ordered_read", |db| {
            Ok(db
                .opt(
                    "SELECT value FROM ps_ordered
                     WHERE universe = $1 AND store = $2 AND scope = $3 AND key = $4",
                    &[&k.universe, &k.store, &k.scope, &k.key],
                )?
                .map(|r| r.get(0)))
        })
    }

    pub(crate) fn ordered_put(&self, w: &OrderedWrite) -> Result<OrderedOutcome> {
        let k = Key::of(&w.entry);
        let ids: [&(dyn postgres::types::ToSql + Sync); 4] =
            [&k.universe, &k.store, &k.scope, &k.key];
        self.pool.transaction("ordered_write", Iso::Locking, |db| {
            for _ in 0..3 {
                let previous: Option<i64> = db
                    .opt(
                        "SELECT value FROM ps_ordered
                         WHERE universe = $1 AND store = $2 AND scope = $3 AND key = $4 FOR UPDATE",
                        &ids,
                    )?
                    .map(|r| r.get(0));
                if let OrderedExpect::Current(expected) = w.expect {
                    if expected != previous {
                        return Ok(Done::Rollback(OrderedOutcome::Conflict { current: previous }));
                    }
                }
                let written = match (w.value, previous) {
                    (Some(v), None) => db.exec(
                        "INSERT INTO ps_ordered (universe, store, scope, key, value)
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (universe, store, scope, key) DO NOTHING",
                        &[&k.universe, &k.store, &k.scope, &k.key, &v],
                    )? == 1,
                    (Some(v), Some(_)) => {
                        db.exec(
                            "UPDATE ps_ordered SET value = $5
                             WHERE universe = $1 AND store = $2 AND scope = $3 AND key = $4",
                            &[&k.universe, &k.store, &k.scope, &k.key, &v],
                        )?;
                        true
                    }
                    (None, None) => return Ok(Done::Rollback(OrderedOutcome::Written { previous })),
                    (None, Some(_)) => {
                        db.exec(
                            "DELETE FROM ps_ordered
                             WHERE universe = $1 AND store = $2 AND scope = $3 AND key = $4",
                            &ids,
                        )?;
                        true
                    }
                };
                if written {
                    return Ok(Done::Commit(OrderedOutcome::Written { previous }));
                }
                // Another transaction created it meanwhile: lock theirs.
            }
            Err(StorageError::Unavailable(format!(
                "ordered entry {:?} was created and removed repeatedly during a write",
                w.entry
            ))
            .into())
        })
    }

    pub(crate) fn ordered_page(&self, q: &OrderedQuery) -> Result<Page<OrderedRecord>> {
        let limit = q.limit.max(1);
        let (start_bound, other, dir) = match q.order {
            SortOrder::Ascending => (q.min.unwrap_or(i64::MIN), q.max.unwrap_or(i64::MAX), 0),
            SortOrder::Descending => (q.max.unwrap_or(i64::MAX), q.min.unwrap_or(i64::MIN), 1),
        };
        // The read starts at the cursor when it lies inside the bound the
        // read starts from, else at that bound.
        let cursor = q.after.as_ref().filter(|a| match q.order {
            SortOrder::Ascending => a.value >= start_bound,
            SortOrder::Descending => a.value <= start_bound,
        });
        let (u, store, scope) = (
            q.store.universe as i64,
            q.store.name.as_bytes(),
            q.scope.as_bytes(),
        );
        let rows_limit = (limit + 1) as i64;
        let rows = self.pool.read("ordered_range", |db| {
            Ok(match cursor {
                Some(a) => db.query(
                    RANGE_AFTER[dir],
                    &[
                        &u,
                        &store,
                        &scope,
                        &a.value,
                        &a.key.as_bytes(),
                        &other,
                        &rows_limit,
                    ],
                )?,
                None => db.query(
                    RANGE[dir],
                    &[&u, &store, &scope, &start_bound, &other, &rows_limit],
                )?,
            })
        })?;
        let items = rows
            .into_iter()
            .map(|r| {
                Ok(OrderedRecord {
                    value: r.get(0),
                    key: text(r.get(1), "ordered key")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(page(items, limit))
    }

    pub(crate) fn meta_get(&self, name: &str) -> Result<Option<String>> {
        let row = self.pool.read("read_meta", |db| {
            Ok(db.opt(
                "SELECT value FROM ps_meta_records WHERE name = $1",
                &[&name.as_bytes()],
            )?)
        })?;
        row.map(|r| text(r.get(0), &format!("meta record {name}")))
            .transpose()
    }

    pub(crate) fn meta_put(&self, name: &str, value: Option<&str>) -> Result<()> {
        let name = name.as_bytes();
        self.pool.transaction("write_meta", Iso::Locking, |db| {
            match value {
                Some(v) => db.exec(
                    "INSERT INTO ps_meta_records (name, value) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    &[&name, &v.as_bytes()],
                )?,
                None => db.exec("DELETE FROM ps_meta_records WHERE name = $1", &[&name])?,
            };
            Ok(Done::Commit(()))
        })
    }

    pub(crate) fn meta_list(&self, prefix: &str) -> Result<Vec<MetaRecord>> {
        let start = prefix.as_bytes();
        let end = successor(start);
        let rows = self.pool.read("list_meta", |db| {
            Ok(match &end {
                Some(end) => db.query(
                    "SELECT name, value FROM ps_meta_records
                     WHERE name >= $1 AND name < $2 ORDER BY name",
                    &[&start, end],
                )?,
                None => db.query(
                    "SELECT name, value FROM ps_meta_records WHERE name >= $1 ORDER BY name",
                    &[&start],
                )?,
            })
        })?;
        rows.into_iter()
            .map(|r| {
                let name = text(r.get(0), "meta record name")?;
                let value = text(r.get(1), &format!("meta record {name}"))?;
                Ok(MetaRecord { name, value })
            })
            .collect()
    }

    pub(crate) fn purge_one_store(&self, store: &StoreId) -> Result<u64> {
        let (u, name) = (store.universe as i64, store.name.as_bytes());
        self.pool.transaction("purge_store", Iso::Locking, |db| {
            let gone = db.query(
                "DELETE FROM ps_entries WHERE universe = $1 AND store = $2
                 RETURNING universe, store, scope, key",
                &[&u, &name],
            )?;
            delete_versions_of(db, &gone)?;
            db.exec(
                "DELETE FROM ps_stores WHERE universe = $1 AND name = $2",
                &[&u, &name],
            )?;
            Ok(Done::Commit(gone.len() as u64))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::successor;

    #[test]
    fn successor_bounds_every_extension_of_a_prefix() {
        assert_eq!(successor(b"snap/"), Some(b"snap0".to_vec()));
        assert_eq!(successor(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(successor(b"\xff"), None);
        assert_eq!(successor(b""), None);
    }
}
