//! The standard-entry part of the plugin contract over the PostgreSQL
//! schema.
//!
//! Owns: the SQL of reads, commits, listings, `remove_version`,
//! `purge_expired` and `flush`. Invariants:
//! - a commit locks the entry's head row (`SELECT ... FOR UPDATE`) and
//!   decides from it, inside one transaction with its writes; every other
//!   writer of an entry's rows (`remove_version`, purges) locks or deletes
//!   that head row first, so a READ COMMITTED transaction sees the latest
//!   committed head once it holds the lock, and no decision rests on an
//!   unlocked read. A new entry is created with `INSERT ... ON CONFLICT DO
//!   NOTHING`; losing that race re-reads the winner's (now locked) row;
//! - reads are single statements (one snapshot each), so a latest read
//!   joins the head row and its version record;
//! - listings read only index columns, never record bytes;
//! - deletions that depend on other rows (`purge_expired`) only delete a
//!   head row by a predicate on that row itself (re-checked by PostgreSQL
//!   against a concurrently committed row), then the versions of exactly
//!   the rows deleted.

use postgres::{GenericClient, Transaction};
use profilestore_plugin_api::codec::{decode_record, encode_record};
use profilestore_plugin_api::{
    Commit, CommitOutcome, DataStoreInfo, EntryId, Expect, KeyName, KeyQuery, Page, PurgeStats,
    Seq, SortOrder, StorageError, StoreQuery, VersionInfo, VersionQuery, VersionRecord,
};

use crate::error::Fail;
use crate::pool::{Db, Done, Iso};
use crate::{PostgresPlugin, Result};

pub(crate) type Body<R> = std::result::Result<R, Fail>;

/// An entry's key columns as statement parameters.
pub(crate) struct Key<'a> {
    pub(crate) universe: i64,
    pub(crate) store: &'a [u8],
    pub(crate) scope: &'a [u8],
    pub(crate) key: &'a [u8],
}

impl<'a> Key<'a> {
    pub(crate) fn of(e: &'a EntryId) -> Key<'a> {
        Key {
            universe: e.store.universe as i64,
            store: e.store.name.as_bytes(),
            scope: e.scope.as_bytes(),
            key: e.key.as_bytes(),
        }
    }
}

/// A `BYTEA` column holding text (keys, names, meta values).
pub(crate) fn text(bytes: Vec<u8>, what: &str) -> std::result::Result<String, StorageError> {
    String::from_utf8(bytes).map_err(|e| StorageError::Corrupt {
        what: what.to_owned(),
        detail: format!("not UTF-8: {e}"),
    })
}

/// Splits `n + 1` fetched rows into a page of `n` and `more`.
pub(crate) fn page<T>(mut items: Vec<T>, limit: usize) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    Page { items, more }
}

/// The locked head row of an entry.
struct Head {
    max_seq: i64,
    latest: Option<i64>,
    latest_deleted: bool,
    latest_created_ms: i64,
    latest_key_created_ms: i64,
}

impl Head {
    fn latest_info(&self) -> Option<VersionInfo> {
        self.latest.map(|seq| VersionInfo {
            seq: seq as u64,
            key_created_ms: self.latest_key_created_ms,
            created_ms: self.latest_created_ms,
            deleted: self.latest_deleted,
            content_length: 0,
        })
    }
}

fn lock_head(db: &mut Db<'_, Transaction<'_>>, k: &Key<'_>) -> Body<Option<Head>> {
    let row = db.opt(
        "SELECT max_seq, latest, latest_deleted, latest_created_ms, latest_key_created_ms
         FROM ps_entries WHERE universe = $1 AND store = $2 AND scope = $3 AND key = $4 FOR UPDATE",
        &[&k.universe, &k.store, &k.scope, &k.key],
    )?;
    Ok(row.map(|r| Head {
        max_seq: r.get(0),
        latest: r.get(1),
        latest_deleted: r.get(2),
        latest_created_ms: r.get(3),
        latest_key_created_ms: r.get(4),
    }))
}

fn record<C: GenericClient>(
    db: &mut Db<'_, C>,
    e: &EntryId,
    seq: i64,
) -> Body<Option<VersionRecord>> {
    let k = Key::of(e);
    let row = db.opt(
        "SELECT record FROM ps_versions
         WHERE universe = $1 AND store = $2 AND scope = $3 AND key = $4 AND seq = $5",
        &[&k.universe, &k.store, &k.scope, &k.key, &seq],
    )?;
    Ok(row
        .map(|r| decode_record(r.get(0), &format!("{e:?} version {seq}")))
        .transpose()?)
}

/// Writes the head row and version of a commit whose expectation held;
/// `false` when the entry was created meanwhile by another transaction.
fn write_version(
    db: &mut Db<'_, Transaction<'_>>,
    c: &Commit,
    head: Option<&Head>,
) -> Body<Option<VersionInfo>> {
    let k = Key::of(&c.entry);
    let plan = c.plan(
        head.and_then(Head::latest_info).as_ref(),
        head.map_or(0, |h| h.max_seq as u64),
    );
    let info = plan.info;
    let seq = info.seq as i64;
    match head {
        Some(h) => {
            if let (true, Some(old)) = (plan.replace_latest, h.latest) {
                db.exec(
                    "DELETE FROM ps_versions
                     WHERE universe = $1 AND store = $2 AND scope = $3 AND key = $4 AND seq = $5",
                    &[&k.universe, &k.store, &k.scope, &k.key, &old],
                )?;
            }
            db.exec(
                "UPDATE ps_entries SET max_seq = $5, latest = $5, latest_deleted = $6,
                        latest_created_ms = $7, latest_key_created_ms = $8, updated_ms = $7
                 WHERE universe = $1 AND store = $2 AND scope = $3 AND key = $4",
                &[
                    &k.universe,
                    &k.store,
                    &k.scope,
                    &k.key,
                    &seq,
                    &info.deleted,
                    &info.created_ms,
                    &info.key_created_ms,
                ],
            )?;
        }
        None => {
            let created = db.exec(
                "INSERT INTO ps_entries (universe, store, scope, key, max_seq, latest, latest_deleted,
                                         latest_created_ms, latest_key_created_ms, updated_ms)
                 VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $7)
                 ON CONFLICT (universe, store, scope, key) DO NOTHING",
                &[&k.universe, &k.store, &k.scope, &k.key, &seq, &info.deleted, &info.created_ms, &info.key_created_ms],
            )?;
            if created == 0 {
                return Ok(None);
            }
        }
    }
    let bytes = encode_record(&c.record(info.clone()));
    db.exec(
        "INSERT INTO ps_versions (universe, store, scope, key, seq, key_created_ms, created_ms,
                                  deleted, content_length, record)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &k.universe,
            &k.store,
            &k.scope,
            &k.key,
            &seq,
            &info.key_created_ms,
            &info.created_ms,
            &info.deleted,
            &(info.content_length as i64),
            &bytes,
        ],
    )?;
    db.exec(
        "INSERT INTO ps_stores (universe, name, created_ms) VALUES ($1, $2, $3)
         ON CONFLICT (universe, name) DO NOTHING",
        &[&k.universe, &k.store, &info.created_ms],
    )?;
    Ok(Some(info))
}

/// One commit: lock, check, write (see the module invariants).
fn apply(db: &mut Db<'_, Transaction<'_>>, c: &Commit) -> Body<Done<CommitOutcome>> {
    let k = Key::of(&c.entry);
    // Twice at most: a lost creation race leaves a row to lock.
    for _ in 0..3 {
        let head = lock_head(db, &k)?;
        let latest = head.as_ref().and_then(|h| h.latest);
        if let Expect::Current(expected) = c.expect {
            if expected.map(|s| s as i64) != latest {
                let current = match latest {
                    Some(seq) => record(db, &c.entry, seq)?,
                    None => None,
                };
                return Ok(Done::Rollback(CommitOutcome::Conflict { current }));
            }
        }
        if let Some(info) = write_version(db, c, head.as_ref())? {
            return Ok(Done::Commit(CommitOutcome::Committed(info)));
        }
    }
    Err(StorageError::Unavailable(format!(
        "{:?} was created and removed repeatedly by other transactions during a commit",
        c.entry
    ))
    .into())
}

fn info_row(r: &postgres::Row) -> VersionInfo {
    VersionInfo {
        seq: r.get::<_, i64>(0) as u64,
        key_created_ms: r.get(1),
        created_ms: r.get(2),
        deleted: r.get(3),
        content_length: r.get::<_, i64>(4) as u64,
    }
}

impl PostgresPlugin {
    pub(crate) fn latest(&self, e: &EntryId) -> Result<Option<VersionRecord>> {
        let k = Key::of(e);
        let row = self.pool.read("read_latest", |db| {
            Ok(db.opt(
                "SELECT v.record FROM ps_entries h JOIN ps_versions v
                   ON v.universe = h.universe AND v.store = h.store AND v.scope = h.scope
                  AND v.key = h.key AND v.seq = h.latest
                 WHERE h.universe = $1 AND h.store = $2 AND h.scope = $3 AND h.key = $4",
                &[&k.universe, &k.store, &k.scope, &k.key],
            )?)
        })?;
        row.map(|r| decode_record(r.get(0), &format!("{e:?} latest version")))
            .transpose()
    }

    pub(crate) fn version(&self, e: &EntryId, seq: Seq) -> Result<Option<VersionRecord>> {
        self.pool
            .read("read_version", |db| record(db, e, seq as i64))
    }

    pub(crate) fn commit_one(&self, c: &Commit) -> Result<CommitOutcome> {
        self.pool
            .transaction("commit", Iso::Locking, |db| apply(db, c))
    }

    pub(crate) fn versions_page(&self, e: &EntryId, q: &VersionQuery) -> Result<Page<VersionInfo>> {
        let k = Key::of(e);
        let limit = q.limit.max(1);
        let (sql, after): (&'static str, i64) = match q.order {
            SortOrder::Ascending => (
                "SELECT seq, key_created_ms, created_ms, deleted, content_length FROM ps_versions
                 WHERE universe = $1 AND store = $2 AND scope = $3 AND key = $4
                   AND created_ms >= $5 AND created_ms <= $6 AND seq > $7
                 ORDER BY seq ASC LIMIT $8",
                q.after.map_or(0, |a| a as i64),
            ),
            SortOrder::Descending => (
                "SELECT seq, key_created_ms, created_ms, deleted, content_length FROM ps_versions
                 WHERE universe = $1 AND store = $2 AND scope = $3 AND key = $4
                   AND created_ms >= $5 AND created_ms <= $6 AND seq < $7
                 ORDER BY seq DESC LIMIT $8",
                q.after.map_or(i64::MAX, |a| a as i64),
            ),
        };
        let (min, max) = (q.min_ms.unwrap_or(i64::MIN), q.max_ms.unwrap_or(i64::MAX));
        let rows = self.pool.read("list_versions", |db| {
            Ok(db.query(
                sql,
                &[
                    &k.universe,
                    &k.store,
                    &k.scope,
                    &k.key,
                    &min,
                    &max,
                    &after,
                    &((limit + 1) as i64),
                ],
            )?)
        })?;
        Ok(page(rows.iter().map(info_row).collect(), limit))
    }

    pub(crate) fn keys_page(&self, q: &KeyQuery) -> Result<Page<KeyName>> {
        let limit = q.limit.max(1);
        let scope = q.scope.as_deref().map(str::as_bytes);
        let (after_scope, after_key) = match &q.after {
            Some(a) => (Some(a.scope.as_bytes()), Some(a.key.as_bytes())),
            None => (None, None),
        };
        let prefix = q.prefix.as_bytes();
        let rows = self.pool.read("list_keys", |db| {
            Ok(db.query(
                "SELECT scope, key FROM ps_entries
                 WHERE universe = $1 AND store = $2 AND latest IS NOT NULL
                   AND ($3 OR NOT latest_deleted)
                   AND ($4::bytea IS NULL OR scope = $4)
                   AND substr(CASE WHEN $4::bytea IS NULL THEN scope || '\\x2f'::bytea || key
                                   ELSE key END, 1, $5) = $6
                   AND ($7::bytea IS NULL OR (scope, key) > ($7, $8::bytea))
                 ORDER BY scope, key LIMIT $9",
                &[
                    &(q.store.universe as i64),
                    &q.store.name.as_bytes(),
                    &q.include_deleted,
                    &scope,
                    &(prefix.len() as i32),
                    &prefix,
                    &after_scope,
                    &after_key,
                    &((limit + 1) as i64),
                ],
            )?)
        })?;
        let items = rows
            .into_iter()
            .map(|r| {
                Ok(KeyName {
                    scope: text(r.get(0), "key scope")?,
                    key: text(r.get(1), "key")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(page(items, limit))
    }

    pub(crate) fn stores_page(&self, q: &StoreQuery) -> Result<Page<DataStoreInfo>> {
        let limit = q.limit.max(1);
        let prefix = q.prefix.as_bytes();
        let after = q.after.as_deref().map(str::as_bytes);
        let rows = self.pool.read("list_data_stores", |db| {
            Ok(db.query(
                "SELECT s.name, s.created_ms,
                        (SELECT max(e.updated_ms) FROM ps_entries e
                         WHERE e.universe = s.universe AND e.store = s.name)
                 FROM ps_stores s
                 WHERE s.universe = $1 AND substr(s.name, 1, $2) = $3
                   AND ($4::bytea IS NULL OR s.name > $4)
                   AND EXISTS (SELECT 1 FROM ps_entries e WHERE e.universe = s.universe
                               AND e.store = s.name AND e.latest IS NOT NULL)
                 ORDER BY s.name LIMIT $5",
                &[
                    &(q.universe as i64),
                    &(prefix.len() as i32),
                    &prefix,
                    &after,
                    &((limit + 1) as i64),
                ],
            )?)
        })?;
        let items = rows
            .into_iter()
            .map(|r| {
                let created_ms: i64 = r.get(1);
                Ok(DataStoreInfo {
                    name: text(r.get(0), "data store name")?,
                    created_ms,
                    updated_ms: r.get::<_, Option<i64>>(2).unwrap_or(created_ms),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(page(items, limit))
    }

    pub(crate) fn remove_one(&self, e: &EntryId, seq: Seq) -> Result<bool> {
        let k = Key::of(e);
        let seq = seq as i64;
        self.pool.transaction("remove_version", Iso::Locking, |db| {
            let Some(head) = lock_head(db, &k)? else {
                return Ok(Done::Rollback(false));
            };
            let removed = db.exec(
                "DELETE FROM ps_versions
                 WHERE universe = $1 AND store = $2 AND scope = $3 AND key = $4 AND seq = $5",
                &[&k.universe, &k.store, &k.scope, &k.key, &seq],
            )?;
            if head.latest == Some(seq) {
                db.exec(
                    "UPDATE ps_entries SET latest = NULL, latest_deleted = FALSE
                     WHERE universe = $1 AND store = $2 AND scope = $3 AND key = $4",
                    &[&k.universe, &k.store, &k.scope, &k.key],
                )?;
            }
            Ok(Done::Commit(removed > 0))
        })
    }

    pub(crate) fn purge(&self, cutoff_ms: i64) -> Result<PurgeStats> {
        self.pool.transaction("purge_expired", Iso::Locking, |db| {
            // Expired latest tombstones take their entries (a predicate on
            // the head row alone: a commit racing it keeps its entry).
            let gone = db.query(
                "DELETE FROM ps_entries
                 WHERE latest IS NOT NULL AND latest_deleted AND latest_created_ms < $1
                 RETURNING universe, store, scope, key",
                &[&cutoff_ms],
            )?;
            let mut versions = delete_versions_of(db, &gone)?;
            // Superseded versions: the next stored version (or, for the
            // highest one of an entry without a current version, itself)
            // was created before the cutoff.
            versions += db.exec(
                "DELETE FROM ps_versions d USING (
                   SELECT v.universe, v.store, v.scope, v.key, v.seq FROM (
                     SELECT universe, store, scope, key, seq, created_ms,
                            LEAD(created_ms) OVER (PARTITION BY universe, store, scope, key
                                                   ORDER BY seq) AS next_ms
                     FROM ps_versions) v
                   JOIN ps_entries e ON e.universe = v.universe AND e.store = v.store
                                    AND e.scope = v.scope AND e.key = v.key
                   WHERE e.latest IS DISTINCT FROM v.seq
                     AND coalesce(v.next_ms, v.created_ms) < $1) x
                 WHERE d.universe = x.universe AND d.store = x.store AND d.scope = x.scope
                   AND d.key = x.key AND d.seq = x.seq",
                &[&cutoff_ms],
            )?;
            let emptied = db.exec(
                "DELETE FROM ps_entries e WHERE e.latest IS NULL AND NOT EXISTS (
                   SELECT 1 FROM ps_versions v WHERE v.universe = e.universe AND v.store = e.store
                   AND v.scope = e.scope AND v.key = e.key)",
                &[],
            )?;
            Ok(Done::Commit(PurgeStats {
                versions,
                entries: gone.len() as u64 + emptied,
            }))
        })
    }

    pub(crate) fn flush_all(&self) -> Result<()> {
        // A commit with synchronous_commit on flushes the WAL up to itself,
        // so every earlier (asynchronous) commit too. It must write to get
        // a commit record.
        self.pool.transaction("flush", Iso::Locking, |db| {
            db.raw()
                .batch_execute("SET LOCAL synchronous_commit = on")?;
            db.exec(
                "UPDATE ps_format SET value = value WHERE key = 'format_version'",
                &[],
            )?;
            Ok(Done::Commit(()))
        })
    }
}

/// Deletes every version of the entries in `rows` (columns universe,
/// store, scope, key): the head rows this transaction deleted, so no other
/// transaction writes their versions until it ends.
pub(crate) fn delete_versions_of(
    db: &mut Db<'_, Transaction<'_>>,
    rows: &[postgres::Row],
) -> Body<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let universes: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    let column = |i| -> Vec<&[u8]> { rows.iter().map(|r| r.get(i)).collect() };
    let (stores, scopes, keys) = (column(1), column(2), column(3));
    Ok(db.exec(
        "DELETE FROM ps_versions v
         USING unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bytea[]) AS g(universe, store, scope, key)
         WHERE v.universe = g.universe AND v.store = g.store AND v.scope = g.scope AND v.key = g.key",
        &[&universes, &stores, &scopes, &keys],
    )?)
}
