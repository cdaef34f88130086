//! The plugin contract over the SQLite schema.
//!
//! Owns: the SQL of every `StoragePlugin` call. Invariants: a commit reads
//! the head and writes inside one `IMMEDIATE` transaction (shared with the
//! commits grouped with it, see `group.rs`); listings read only index
//! columns, never value blobs.

use profilestore_plugin_api::codec::{decode_record, encode_record};
use profilestore_plugin_api::{
    Commit, CommitOutcome, DataStoreInfo, EntryId, Expect, GroupSizes, KeyName, KeyQuery,
    MetaRecord, OrderedOutcome, OrderedQuery, OrderedRecord, OrderedWrite, Page, PurgeStats, Seq,
    SortOrder, StorageError, StoragePlugin, StorageResult, StoreId, StoreQuery, VersionInfo,
    VersionQuery, VersionRecord,
};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use crate::{sql_error, SqlitePlugin};

/// The head row of an entry.
struct Head {
    id: i64,
    max_seq: i64,
    latest: Option<i64>,
    latest_deleted: bool,
    latest_created_ms: i64,
    latest_key_created_ms: i64,
}

fn head(conn: &Connection, entry: &EntryId) -> StorageResult<Option<Head>> {
    conn.prepare_cached(
        "SELECT id, max_seq, latest, latest_deleted, latest_created_ms, latest_key_created_ms
         FROM entries WHERE universe = ?1 AND store = ?2 AND scope = ?3 AND key = ?4",
    )
    .and_then(|mut s| {
        s.query_row(
            params![
                entry.store.universe as i64,
                entry.store.name,
                entry.scope,
                entry.key
            ],
            |r| {
                Ok(Head {
                    id: r.get(0)?,
                    max_seq: r.get(1)?,
                    latest: r.get(2)?,
                    latest_deleted: r.get(3)?,
                    latest_created_ms: r.get(4)?,
                    latest_key_created_ms: r.get(5)?,
                })
            },
        )
        .optional()
    })
    .map_err(sql_error)
}

fn record(conn: &Connection, entry_id: i64, seq: i64) -> StorageResult<Option<VersionRecord>> {
    let blob: Option<Vec<u8>> = conn
        .prepare_cached("SELECT record FROM versions WHERE entry = ?1 AND seq = ?2")
        .and_then(|mut s| s.query_row(params![entry_id, seq], |r| r.get(0)).optional())
        .map_err(sql_error)?;
    blob.map(|b| decode_record(&b, &format!("entry {entry_id} version {seq}")))
        .transpose()
}

fn info_row(r: &Row<'_>) -> rusqlite::Result<VersionInfo> {
    Ok(VersionInfo {
        seq: r.get::<_, i64>(0)? as u64,
        key_created_ms: r.get(1)?,
        created_ms: r.get(2)?,
        deleted: r.get(3)?,
        content_length: r.get::<_, i64>(4)? as u64,
    })
}

/// The latest version's info, from the head row alone.
fn latest_info(h: &Head) -> Option<VersionInfo> {
    h.latest.map(|seq| VersionInfo {
        seq: seq as u64,
        key_created_ms: h.latest_key_created_ms,
        created_ms: h.latest_created_ms,
        deleted: h.latest_deleted,
        content_length: 0,
    })
}

/// Splits `n + 1` fetched rows into a page of `n` and `more`.
pub(crate) fn page<T>(mut items: Vec<T>, limit: usize) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    Page { items, more }
}

/// One commit's check and writes, inside the caller's transaction (see
/// `group.rs`): a `Conflict` writes nothing.
fn apply(tx: &Connection, c: &Commit) -> StorageResult<CommitOutcome> {
    let h = head(tx, &c.entry)?;
    let latest = h.as_ref().and_then(latest_info);
    if let Expect::Current(expected) = c.expect {
        if expected != latest.as_ref().map(|l| l.seq) {
            let current = match (&h, &latest) {
                (Some(h), Some(l)) => record(tx, h.id, l.seq as i64)?,
                _ => None,
            };
            return Ok(CommitOutcome::Conflict { current });
        }
    }
    let plan = c.plan(latest.as_ref(), h.as_ref().map_or(0, |h| h.max_seq as u64));
    let (info, replace) = (plan.info, plan.replace_latest);
    let v = &c.version;
    let blob = encode_record(&c.record(info.clone()));
    let seq = info.seq as i64;
    let entry_id = match &h {
        Some(h) => {
            if replace {
                if let Some(old) = h.latest {
                    tx.prepare_cached("DELETE FROM versions WHERE entry = ?1 AND seq = ?2")
                        .and_then(|mut s| s.execute(params![h.id, old]))
                        .map_err(sql_error)?;
                }
            }
            tx.prepare_cached(
                "UPDATE entries SET max_seq = ?2, latest = ?2, latest_deleted = ?3,
                 latest_created_ms = ?4, latest_key_created_ms = ?5, updated_ms = ?4 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    h.id,
                    seq,
                    v.deleted,
                    info.created_ms,
                    info.key_created_ms
                ])
            })
            .map_err(sql_error)?;
            h.id
        }
        None => tx
            .prepare_cached(
                "INSERT INTO entries (universe, store, scope, key, max_seq, latest, latest_deleted,
                                      latest_created_ms, latest_key_created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?7) RETURNING id",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![
                        c.entry.store.universe as i64,
                        c.entry.store.name,
                        c.entry.scope,
                        c.entry.key,
                        seq,
                        v.deleted,
                        info.created_ms,
                        info.key_created_ms
                    ],
                    |r| r.get(0),
                )
            })
            .map_err(sql_error)?,
    };
    tx.prepare_cached(
        "INSERT INTO versions (entry, seq, key_created_ms, created_ms, deleted, content_length, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            entry_id,
            seq,
            info.key_created_ms,
            info.created_ms,
            info.deleted,
            info.content_length as i64,
            blob
        ])
    })
    .map_err(sql_error)?;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO stores (universe, name, created_ms) VALUES (?1, ?2, ?3)",
    )
    .and_then(|mut s| {
        s.execute(params![
            c.entry.store.universe as i64,
            c.entry.store.name,
            info.created_ms
        ])
    })
    .map_err(sql_error)?;
    Ok(CommitOutcome::Committed(info))
}

impl StoragePlugin for SqlitePlugin {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn commit_group_sizes(&self) -> Option<GroupSizes> {
        Some(self.group.sizes().merged(&self.ordered_group.sizes()))
    }

    fn read_latest(&self, entry: &EntryId) -> StorageResult<Option<VersionRecord>> {
        self.with_conn(|conn| {
            // One read transaction, so the head and the record agree.
            let tx = conn.transaction().map_err(sql_error)?;
            match head(&tx, entry)? {
                Some(Head {
                    id,
                    latest: Some(seq),
                    ..
                }) => record(&tx, id, seq),
                _ => Ok(None),
            }
        })
    }

    fn read_version(&self, entry: &EntryId, seq: Seq) -> StorageResult<Option<VersionRecord>> {
        self.with_conn(|conn| match head(conn, entry)? {
            Some(h) => record(conn, h.id, seq as i64),
            None => Ok(None),
        })
    }

    fn commit(&self, commit: &Commit) -> StorageResult<CommitOutcome> {
        self.group.commit(commit, |batch| {
            self.with_writer(|conn| Ok(crate::group::run(conn, batch, apply)))
                .unwrap_or_else(|e| {
                    // No connection: every commit of the group gets the error.
                    let text = e.to_string();
                    batch
                        .iter()
                        .map(|_| Err(StorageError::Unavailable(text.clone())))
                        .collect()
                })
        })
    }

    fn list_versions(
        &self,
        entry: &EntryId,
        query: &VersionQuery,
    ) -> StorageResult<Page<VersionInfo>> {
        self.with_conn(|conn| {
            let Some(h) = head(conn, entry)? else {
                return Ok(Page {
                    items: Vec::new(),
                    more: false,
                });
            };
            let sql = match query.order {
                SortOrder::Ascending => {
                    "SELECT seq, key_created_ms, created_ms, deleted, content_length FROM versions
                     WHERE entry = ?1 AND created_ms >= ?2 AND created_ms <= ?3 AND seq > ?4
                     ORDER BY seq ASC LIMIT ?5"
                }
                SortOrder::Descending => {
                    "SELECT seq, key_created_ms, created_ms, deleted, content_length FROM versions
                     WHERE entry = ?1 AND created_ms >= ?2 AND created_ms <= ?3 AND seq < ?4
                     ORDER BY seq DESC LIMIT ?5"
                }
            };
            let after = match (query.after, query.order) {
                (Some(a), _) => a as i64,
                (None, SortOrder::Ascending) => 0,
                (None, SortOrder::Descending) => i64::MAX,
            };
            let limit = query.limit.max(1);
            let items = conn
                .prepare_cached(sql)
                .and_then(|mut s| {
                    s.query_map(
                        params![
                            h.id,
                            query.min_ms.unwrap_or(i64::MIN),
                            query.max_ms.unwrap_or(i64::MAX),
                            after,
                            (limit + 1) as i64
                        ],
                        info_row,
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql_error)?;
            Ok(page(items, limit))
        })
    }

    fn list_keys(&self, query: &KeyQuery) -> StorageResult<Page<KeyName>> {
        self.with_conn(|conn| {
            let limit = query.limit.max(1);
            let (after_scope, after_key) = match &query.after {
                Some(k) => (Some(k.scope.as_str()), Some(k.key.as_str())),
                None => (None, None),
            };
            let prefix_chars = query.prefix.chars().count() as i64;
            let items = conn
                .prepare_cached(
                    "SELECT scope, key FROM entries
                     WHERE universe = ?1 AND store = ?2 AND latest IS NOT NULL
                       AND (?3 OR latest_deleted = 0)
                       AND (?4 IS NULL OR scope = ?4)
                       AND substr(CASE WHEN ?4 IS NULL THEN scope || '/' || key ELSE key END, 1, ?5) = ?6
                       AND (?7 IS NULL OR (scope, key) > (?7, ?8))
                     ORDER BY scope, key LIMIT ?9",
                )
                .and_then(|mut s| {
                    s.query_map(
                        params![
                            query.store.universe as i64,
                            query.store.name,
                            query.include_deleted,
                            query.scope,
                            prefix_chars,
                            query.prefix,
                            after_scope,
                            after_key,
                            (limit + 1) as i64
                        ],
                        |r| {
                            Ok(KeyName {
                                scope: r.get(0)?,
                                key: r.get(1)?,
                            })
                        },
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql_error)?;
            Ok(page(items, limit))
        })
    }

    fn list_data_stores(&self, query: &StoreQuery) -> StorageResult<Page<DataStoreInfo>> {
        self.with_conn(|conn| {
            let limit = query.limit.max(1);
            let items = conn
                .prepare_cached(
                    "SELECT name, created_ms,
                            (SELECT max(e.updated_ms) FROM entries e
                             WHERE e.universe = s.universe AND e.store = s.name)
                     FROM stores s
                     WHERE universe = ?1 AND substr(name, 1, ?2) = ?3
                       AND (?4 IS NULL OR name > ?4)
                       AND EXISTS (SELECT 1 FROM entries e WHERE e.universe = s.universe
                                   AND e.store = s.name AND e.latest IS NOT NULL)
                     ORDER BY name LIMIT ?5",
                )
                .and_then(|mut s| {
                    s.query_map(
                        params![
                            query.universe as i64,
                            query.prefix.chars().count() as i64,
                            query.prefix,
                            query.after,
                            (limit + 1) as i64
                        ],
                        |r| {
                            Ok(DataStoreInfo {
                                name: r.get(0)?,
                                created_ms: r.get(1)?,
                                updated_ms: r.get(2)?,
                            })
                        },
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql_error)?;
            Ok(page(items, limit))
        })
    }

    fn remove_version(&self, entry: &EntryId, seq: Seq) -> StorageResult<bool> {
        self.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            let Some(h) = head(&tx, entry)? else {
                return Ok(false);
            };
            let removed = tx
                .execute(
                    "DELETE FROM versions WHERE entry = ?1 AND seq = ?2",
                    params![h.id, seq as i64],
                )
                .map_err(sql_error)?;
            if h.latest == Some(seq as i64) {
                tx.execute(
                    "UPDATE entries SET latest = NULL, latest_deleted = 0 WHERE id = ?1",
                    params![h.id],
                )
                .map_err(sql_error)?;
            }
            tx.commit().map_err(sql_error)?;
            Ok(removed > 0)
        })
    }

    fn purge_expired(&self, cutoff_ms: i64) -> StorageResult<PurgeStats> {
        self.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            // Superseded versions: the next stored version (or, for the
            // highest one of an entry without a current version, itself)
            // was created before the cutoff. Expired latest tombstones too.
            let versions = tx
                .execute(
                    "DELETE FROM versions WHERE (entry, seq) IN (
                       SELECT v.entry, v.seq FROM (
                         SELECT entry, seq, deleted, created_ms,
                                LEAD(created_ms) OVER (PARTITION BY entry ORDER BY seq) AS next_ms
                         FROM versions) v
                       JOIN entries e ON e.id = v.entry
                       WHERE (e.latest IS NOT v.seq AND coalesce(v.next_ms, v.created_ms) < ?1)
                          OR (e.latest IS v.seq AND v.deleted = 1 AND v.created_ms < ?1))",
                    params![cutoff_ms],
                )
                .map_err(sql_error)?;
            // An expired tombstone takes its whole entry with it.
            let tombstoned = tx
                .execute(
                    "DELETE FROM versions WHERE entry IN (
                       SELECT e.id FROM entries e WHERE e.latest IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.entry = e.id AND v.seq = e.latest))",
                    [],
                )
                .map_err(sql_error)?;
            let entries = tx
                .execute(
                    "DELETE FROM entries WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.entry = entries.id)
                        OR (latest IS NOT NULL AND NOT EXISTS
                            (SELECT 1 FROM versions v WHERE v.entry = entries.id AND v.seq = entries.latest))",
                    [],
                )
                .map_err(sql_error)?;
            tx.commit().map_err(sql_error)?;
            Ok(PurgeStats {
                versions: (versions + tombstoned) as u64,
                entries: entries as u64,
            })
        })
    }

    fn flush(&self) -> StorageResult<()> {
        // Whatever the durability mode, a flush syncs the WAL and checkpoints
        // it into the database file.
        let restore = match self.durability {
            profilestore_plugin_api::Durability::Full => "FULL",
            profilestore_plugin_api::Durability::Normal => "NORMAL",
            profilestore_plugin_api::Durability::Off => "OFF",
        };
        self.with_conn(|conn| {
            conn.execute_batch(&format!(
                "PRAGMA synchronous = FULL; PRAGMA wal_checkpoint(FULL); PRAGMA synchronous = {restore};"
            ))
            .map_err(sql_error)
        })
    }

    fn purge_store(&self, store: &StoreId) -> StorageResult<u64> {
        self.purge_one_store(store)
    }

    fn ordered_read(&self, entry: &EntryId) -> StorageResult<Option<i64>> {
        self.ordered_get(entry)
    }

    fn ordered_write(&self, write: &OrderedWrite) -> StorageResult<OrderedOutcome> {
        self.ordered_put(write)
    }

    fn ordered_range(&self, query: &OrderedQuery) -> StorageResult<Page<OrderedRecord>> {
        self.ordered_page(query)
    }

    fn log_append(&self, topic: &str, data: &str, sent_ms: i64) -> StorageResult<u64> {
        self.log_put(topic, data, sent_ms)
    }

    fn log_read(
        &self,
        after: u64,
        limit: usize,
    ) -> StorageResult<Vec<profilestore_plugin_api::LogMessage>> {
        self.log_get(after, limit)
    }

    fn log_head(&self) -> StorageResult<u64> {
        self.log_top()
    }

    fn log_trim(&self, cutoff_ms: i64) -> StorageResult<u64> {
        self.log_cut(cutoff_ms)
    }

    fn record_read(
        &self,
        name: &str,
    ) -> StorageResult<Option<profilestore_plugin_api::SharedRecord>> {
        self.record_get(name)
    }

    fn record_swap(
        &self,
        name: &str,
        expect: profilestore_plugin_api::RecordExpect,
        value: Option<&str>,
    ) -> StorageResult<profilestore_plugin_api::RecordOutcome> {
        self.record_put(name, expect, value)
    }

    fn record_swap_all(
        &self,
        writes: &[profilestore_plugin_api::RecordWrite],
    ) -> StorageResult<Vec<profilestore_plugin_api::RecordOutcome>> {
        self.record_put_all(writes)
    }

    fn record_list(
        &self,
        prefix: &str,
    ) -> StorageResult<Vec<profilestore_plugin_api::SharedRecord>> {
        self.record_all(prefix)
    }

    fn read_meta(&self, name: &str) -> StorageResult<Option<String>> {
        self.meta_get(name)
    }

    fn write_meta(&self, name: &str, value: Option<&str>) -> StorageResult<()> {
        self.meta_put(name, value)
    }

    fn list_meta(&self, prefix: &str) -> StorageResult<Vec<MetaRecord>> {
        self.meta_list(prefix)
    }

    fn export_image(&self) -> StorageResult<profilestore_plugin_api::StoreImage> {
        self.export()
    }

    fn import_image(&self, image: &profilestore_plugin_api::StoreImage) -> StorageResult<()> {
        self.import(image)
    }

    fn purge_universe(&self, universe: u64) -> StorageResult<u64> {
        self.purge_one_universe(universe)
    }
}
