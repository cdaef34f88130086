//! Whole-store images over SQLite: export, import and the purge of one
//! universe.
//!
//! Owns: the SQL reading every table into a [`StoreImage`] and writing one
//! back. Invariants: an export is one read transaction (a consistent view
//! even while other connections commit); an import and a purge are one
//! `IMMEDIATE` transaction each (every other writer, of this process or
//! another, waits for it), so a failure changes nothing; the `meta` table
//! (the format version) is never part of an image.

use std::collections::HashMap;

use profilestore_plugin_api::codec::{decode_record, encode_record};
use profilestore_plugin_api::image::meta_universe;
use profilestore_plugin_api::{
    EntryId, EntryImage, MetaRecord, OrderedEntry, StorageResult, StoreId, StoreImage, StoreTimes,
};
use rusqlite::{params, Connection, TransactionBehavior};

use crate::{sql_error, SqlitePlugin};

fn export_entries(tx: &Connection) -> rusqlite::Result<Vec<EntryImage>> {
    let mut versions: HashMap<i64, Vec<Vec<u8>>> = HashMap::new();
    let mut s = tx.prepare("SELECT entry, record FROM versions ORDER BY entry, seq")?;
    let mut rows = s.query([])?;
    while let Some(r) = rows.next()? {
        versions.entry(r.get(0)?).or_default().push(r.get(1)?);
    }
    let mut s = tx.prepare(
        "SELECT id, universe, store, scope, key, max_seq, latest, updated_ms FROM entries
         ORDER BY universe, store, scope, key",
    )?;
    let mut rows = s.query([])?;
    let mut entries = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let entry = EntryId::new(
            r.get::<_, i64>(1)? as u64,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        );
        let blobs = versions.remove(&id).unwrap_or_default();
        let versions = blobs
            .iter()
            .map(|b| decode_record(b, &format!("entry {id} version")))
            .collect::<StorageResult<Vec<_>>>()
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        entries.push(EntryImage {
            entry,
            max_seq: r.get::<_, i64>(5)? as u64,
            latest: r.get::<_, Option<i64>>(6)?.map(|s| s as u64),
            updated_ms: r.get(7)?,
            versions,
        });
    }
    Ok(entries)
}

fn export_rest(tx: &Connection, image: &mut StoreImage) -> rusqlite::Result<()> {
    let mut s = tx.prepare(
        "SELECT s.universe, s.name, s.created_ms,
                (SELECT MAX(e.updated_ms) FROM entries e
                 WHERE e.universe = s.universe AND e.store = s.name)
         FROM stores s",
    )?;
    image.stores = s
        .query_map([], |r| {
            let created_ms: i64 = r.get(2)?;
            Ok(StoreTimes {
                store: StoreId {
                    universe: r.get::<_, i64>(0)? as u64,
                    name: r.get(1)?,
                },
                created_ms,
                updated_ms: r.get::<_, Option<i64>>(3)?.unwrap_or(created_ms),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut s = tx.prepare("SELECT universe, store, scope, key, value FROM ordered")?;
    image.ordered = s
        .query_map([], |r| {
            Ok(OrderedEntry {
                entry: EntryId::new(
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ),
                value: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut s = tx.prepare("SELECT name, value FROM meta_records")?;
    image.meta = s
        .query_map([], |r| {
            Ok(MetaRecord {
                name: r.get(0)?,
                value: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(())
}

/// Writes `image` into empty tables.
fn insert_image(tx: &Connection, image: &StoreImage) -> rusqlite::Result<()> {
    let mut store =
        tx.prepare("INSERT INTO stores (universe, name, created_ms) VALUES (?1, ?2, ?3)")?;
    for t in &image.stores {
        store.execute(params![t.store.universe as i64, t.store.name, t.created_ms])?;
    }
    let mut entry = tx.prepare(
        "INSERT INTO entries (universe, store, scope, key, max_seq, latest, latest_deleted,
                              latest_created_ms, latest_key_created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
    )?;
    let mut version = tx.prepare(
        "INSERT INTO versions (entry, seq, key_created_ms, created_ms, deleted, content_length, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for e in &image.entries {
        let latest = e
            .latest
            .and_then(|seq| e.versions.iter().find(|v| v.info.seq == seq))
            .map(|v| &v.info);
        let id: i64 = entry.query_row(
            params![
                e.entry.store.universe as i64,
                e.entry.store.name,
                e.entry.scope,
                e.entry.key,
                e.max_seq as i64,
                latest.map(|l| l.seq as i64),
                latest.is_some_and(|l| l.deleted),
                latest.map_or(0, |l| l.created_ms),
                latest.map_or(0, |l| l.key_created_ms),
                e.updated_ms
            ],
            |r| r.get(0),
        )?;
        for v in &e.versions {
            let i = &v.info;
            version.execute(params![
                id,
                i.seq as i64,
                i.key_created_ms,
                i.created_ms,
                i.deleted,
                i.content_length as i64,
                encode_record(v)
            ])?;
        }
    }
    let mut ordered = tx.prepare(
        "INSERT INTO ordered (universe, store, scope, key, value) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for o in &image.ordered {
        let e = &o.entry;
        ordered.execute(params![
            e.store.universe as i64,
            e.store.name,
            e.scope,
            e.key,
            o.value
        ])?;
    }
    let mut meta = tx.prepare("INSERT INTO meta_records (name, value) VALUES (?1, ?2)")?;
    for m in &image.meta {
        meta.execute(params![m.name, m.value])?;
    }
    Ok(())
}

impl SqlitePlugin {
    pub(crate) fn export(&self) -> StorageResult<StoreImage> {
        self.with_conn(|conn| {
            let tx = conn.transaction().map_err(sql_error)?;
            let mut image = StoreImage {
                entries: export_entries(&tx).map_err(sql_error)?,
                ..StoreImage::default()
            };
            export_rest(&tx, &mut image).map_err(sql_error)?;
            tx.commit().map_err(sql_error)?;
            image.sort();
            Ok(image)
        })
    }

    pub(crate) fn import(&self, image: &StoreImage) -> StorageResult<()> {
        self.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            tx.execute_batch(
                "DELETE FROM versions; DELETE FROM entries; DELETE FROM stores;
                 DELETE FROM ordered; DELETE FROM meta_records;",
            )
            .map_err(sql_error)?;
            insert_image(&tx, image).map_err(sql_error)?;
            tx.commit().map_err(sql_error)
        })
    }

    pub(crate) fn purge_one_universe(&self, universe: u64) -> StorageResult<u64> {
        self.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            let u = universe as i64;
            let run = |sql: &str| tx.execute(sql, [u]).map_err(sql_error);
            run(
                "DELETE FROM versions WHERE entry IN (SELECT id FROM entries WHERE universe = ?1)",
            )?;
            let entries = run("DELETE FROM entries WHERE universe = ?1")?;
            run("DELETE FROM stores WHERE universe = ?1")?;
            let ordered = run("DELETE FROM ordered WHERE universe = ?1")?;
            let names: Vec<String> = tx
                .prepare("SELECT name FROM meta_records")
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .map_err(sql_error)?;
            for name in names.iter().filter(|n| meta_universe(n) == Some(universe)) {
                tx.execute("DELETE FROM meta_records WHERE name = ?1", [name])
                    .map_err(sql_error)?;
            }
            tx.commit().map_err(sql_error)?;
            Ok((entries + ordered) as u64)
        })
    }
}
