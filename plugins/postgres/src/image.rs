//! Whole-store images over PostgreSQL: export, import and the purge of one
//! universe.
//!
//! Owns: the SQL reading every table into a [`StoreImage`] and writing one
//! back. Invariants: an export is one `REPEATABLE READ READ ONLY`
//! transaction (one snapshot, consistent across entries, not blocking
//! writers); an import is one transaction that starts with `TRUNCATE` of
//! every data table, which waits for and then blocks every other
//! transaction on them (of any node) until it ends, so a failure (for
//! example a duplicate entry) changes nothing; a purge deletes the
//! universe's head rows, then the versions of exactly those rows; the
//! `ps_format` table is never part of an image.

use std::collections::HashMap;

use postgres::Transaction;
use profilestore_plugin_api::codec::{decode_record, encode_record};
use profilestore_plugin_api::image::meta_universe;
use profilestore_plugin_api::{
    EntryId, EntryImage, MetaRecord, OrderedEntry, StoreId, StoreImage, StoreTimes, VersionRecord,
};

use crate::ops::{delete_versions_of, text, Body, Key};
use crate::pool::{Db, Done, Iso};
use crate::{PostgresPlugin, Result};

type RowKey = (i64, Vec<u8>, Vec<u8>, Vec<u8>);

fn entry_of(r: &postgres::Row) -> Body<EntryId> {
    Ok(EntryId::new(
        r.get::<_, i64>(0) as u64,
        text(r.get(1), "data store name")?,
        text(r.get(2), "scope")?,
        text(r.get(3), "key")?,
    ))
}

fn export_entries(db: &mut Db<'_, Transaction<'_>>) -> Body<Vec<EntryImage>> {
    let mut versions: HashMap<RowKey, Vec<VersionRecord>> = HashMap::new();
    for r in db.raw().query(
        "SELECT universe, store, scope, key, record, seq FROM ps_versions
         ORDER BY universe, store, scope, key, seq",
        &[],
    )? {
        let key: RowKey = (r.get(0), r.get(1), r.get(2), r.get(3));
        let what = format!(
            "version {} of an entry of universe {}",
            r.get::<_, i64>(5),
            key.0
        );
        versions
            .entry(key)
            .or_default()
            .push(decode_record(r.get(4), &what)?);
    }
    let mut entries = Vec::new();
    for r in db.raw().query(
        "SELECT universe, store, scope, key, max_seq, latest, updated_ms FROM ps_entries",
        &[],
    )? {
        let key: RowKey = (r.get(0), r.get(1), r.get(2), r.get(3));
        entries.push(EntryImage {
            entry: entry_of(&r)?,
            max_seq: r.get::<_, i64>(4) as u64,
            latest: r.get::<_, Option<i64>>(5).map(|s| s as u64),
            updated_ms: r.get(6),
            versions: versions.remove(&key).unwrap_or_default(),
        });
    }
    Ok(entries)
}

fn export_rest(db: &mut Db<'_, Transaction<'_>>, image: &mut StoreImage) -> Body<()> {
    for r in db.raw().query(
        "SELECT s.universe, s.name, s.created_ms,
                (SELECT max(e.updated_ms) FROM ps_entries e
                 WHERE e.universe = s.universe AND e.store = s.name)
         FROM ps_stores s",
        &[],
    )? {
        let created_ms: i64 = r.get(2);
        image.stores.push(StoreTimes {
            store: StoreId {
                universe: r.get::<_, i64>(0) as u64,
                name: text(r.get(1), "data store name")?,
            },
            created_ms,
            updated_ms: r.get::<_, Option<i64>>(3).unwrap_or(created_ms),
        });
    }
    for r in db.raw().query(
        "SELECT universe, store, scope, key, value FROM ps_ordered",
        &[],
    )? {
        image.ordered.push(OrderedEntry {
            entry: entry_of(&r)?,
            value: r.get(4),
        });
    }
    for r in db
        .raw()
        .query("SELECT name, value FROM ps_meta_records", &[])?
    {
        let name = text(r.get(0), "meta record name")?;
        let value = text(r.get(1), &format!("meta record {name}"))?;
        image.meta.push(MetaRecord { name, value });
    }
    Ok(())
}

/// Writes `image` into the (just emptied) tables.
fn insert_image(db: &mut Db<'_, Transaction<'_>>, image: &StoreImage) -> Body<()> {
    for t in &image.stores {
        db.exec(
            "INSERT INTO ps_stores (universe, name, created_ms) VALUES ($1, $2, $3)",
            &[
                &(t.store.universe as i64),
                &t.store.name.as_bytes(),
                &t.created_ms,
            ],
        )?;
    }
    for e in &image.entries {
        let k = Key::of(&e.entry);
        let latest = e
            .latest
            .and_then(|seq| e.versions.iter().find(|v| v.info.seq == seq))
            .map(|v| &v.info);
        db.exec(
            "INSERT INTO ps_entries (universe, store, scope, key, max_seq, latest, latest_deleted,
                                     latest_created_ms, latest_key_created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &k.universe,
                &k.store,
                &k.scope,
                &k.key,
                &(e.max_seq as i64),
                &latest.map(|l| l.seq as i64),
                &latest.is_some_and(|l| l.deleted),
                &latest.map_or(0, |l| l.created_ms),
                &latest.map_or(0, |l| l.key_created_ms),
                &e.updated_ms,
            ],
        )?;
        for v in &e.versions {
            let i = &v.info;
            db.exec(
                "INSERT INTO ps_versions (universe, store, scope, key, seq, key_created_ms,
                                          created_ms, deleted, content_length, record)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    &k.universe,
                    &k.store,
                    &k.scope,
                    &k.key,
                    &(i.seq as i64),
                    &i.key_created_ms,
                    &i.created_ms,
                    &i.deleted,
                    &(i.content_length as i64),
                    &encode_record(v),
                ],
            )?;
        }
    }
    for o in &image.ordered {
        let k = Key::of(&o.entry);
        db.exec(
            "INSERT INTO ps_ordered (universe, store, scope, key, value) VALUES ($1, $2, $3, $4, $5)",
            &[&k.universe, &k.store, &k.scope, &k.key, &o.value],
        )?;
    }
    for m in &image.meta {
        db.exec(
            "INSERT INTO ps_meta_records (name, value) VALUES ($1, $2)",
            &[&m.name.as_bytes(), &m.value.as_bytes()],
        )?;
    }
    Ok(())
}

impl PostgresPlugin {
    pub(crate) fn export(&self) -> Result<StoreImage> {
        let mut image = self.pool.transaction("export_image", Iso::Snapshot, |db| {
            let mut image = StoreImage {
                entries: export_entries(db)?,
                ..StoreImage::default()
            };
            export_rest(db, &mut image)?;
            Ok(Done::Commit(image))
        })?;
        image.sort();
        Ok(image)
    }

    pub(crate) fn import(&self, image: &StoreImage) -> Result<()> {
        self.pool.transaction("import_image", Iso::Locking, |db| {
            db.raw().batch_execute(
                "TRUNCATE ps_versions, ps_entries, ps_stores, ps_ordered, ps_meta_records",
            )?;
            insert_image(db, image)?;
            Ok(Done::Commit(()))
        })
    }

    pub(crate) fn purge_one_universe(&self, universe: u64) -> Result<u64> {
        let u = universe as i64;
        self.pool.transaction("purge_universe", Iso::Locking, |db| {
            let gone = db.query(
                "DELETE FROM ps_entries WHERE universe = $1 RETURNING universe, store, scope, key",
                &[&u],
            )?;
            delete_versions_of(db, &gone)?;
            db.exec("DELETE FROM ps_stores WHERE universe = $1", &[&u])?;
            let ordered = db.exec("DELETE FROM ps_ordered WHERE universe = $1", &[&u])?;
            let names: Vec<Vec<u8>> = db
                .query("SELECT name FROM ps_meta_records", &[])?
                .into_iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .filter(|n| std::str::from_utf8(n).ok().and_then(meta_universe) == Some(universe))
                .collect();
            if !names.is_empty() {
                db.exec(
                    "DELETE FROM ps_meta_records WHERE name = ANY($1)",
                    &[&names],
                )?;
            }
            Ok(Done::Commit(gone.len() as u64 + ordered))
        })
    }
}
