//! Whole-store images over sled: export, import and the purge of one
//! universe.
//!
//! Owns: reading every tree into a [`StoreImage`] and writing one back.
//! Invariants: an import and a purge are one sled transaction over all
//! six data trees (removals of what was there and insertions of the
//! image, as batches), so a failure changes nothing; keys are listed
//! before the transaction, so a commit racing an import of this process
//! may survive it (sled allows one process per folder, and the emulator
//! restores between tests). An export reads the trees one after another
//! (consistent per entry).

use profilestore_plugin_api::codec::{decode_record, encode_record};
use profilestore_plugin_api::image::meta_universe;
use profilestore_plugin_api::ordered::ordered_value_bytes;
use profilestore_plugin_api::{
    EntryImage, MetaRecord, OrderedEntry, StorageError, StorageResult, StoreId, StoreImage,
    StoreTimes,
};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{Batch, Transactional};

use crate::keys::{decode_entry_key, entry_key, ordered_index_key, scope_prefix, store_key};
use crate::{corrupt, sled_error, Head, SledPlugin};

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> StorageResult<T> {
    postcard::from_bytes(bytes).map_err(|e| corrupt(what, e))
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("encoding into a Vec cannot fail")
}

fn text(bytes: &[u8], what: &str) -> StorageResult<String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| corrupt(what, e))
}

/// One batch per data tree, in the order of [`SledPlugin::data_trees`].
#[derive(Default)]
struct Batches([Batch; 6]);

impl SledPlugin {
    fn data_trees(&self) -> [&sled::Tree; 6] {
        [
            &self.heads,
            &self.versions,
            &self.stores,
            &self.ordered_values,
            &self.ordered_index,
            &self.meta_records,
        ]
    }

    /// Applies `batches` in one transaction over the data trees.
    fn apply(&self, b: &Batches) -> StorageResult<()> {
        let [t0, t1, t2, t3, t4, t5] = self.data_trees();
        (t0, t1, t2, t3, t4, t5)
            .transaction(|(v0, v1, v2, v3, v4, v5)| {
                for (tree, batch) in [v0, v1, v2, v3, v4, v5].into_iter().zip(&b.0) {
                    tree.apply_batch(batch)?;
                }
                Ok::<_, ConflictableTransactionError<StorageError>>(())
            })
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => sled_error(e),
            })?;
        self.after_write()
    }

    /// Removals of every key of each data tree accepted by `keep_out`.
    fn removals(&self, mut doomed: impl FnMut(usize, &[u8]) -> bool) -> StorageResult<Batches> {
        let mut b = Batches::default();
        for (i, tree) in self.data_trees().into_iter().enumerate() {
            for key in tree.iter().keys() {
                let key = key.map_err(sled_error)?;
                if doomed(i, &key) {
                    b.0[i].remove(key);
                }
            }
        }
        Ok(b)
    }

    fn export_entries(&self) -> StorageResult<Vec<EntryImage>> {
        let mut entries = Vec::new();
        for item in self.heads.iter() {
            let (ekey, bytes) = item.map_err(sled_error)?;
            let head: Head = decode(&bytes, "head")?;
            let entry =
                decode_entry_key(&ekey).ok_or_else(|| corrupt("entry key", "undecodable"))?;
            let versions = self
                .versions
                .scan_prefix(&ekey)
                .values()
                .map(|v| decode_record(&v.map_err(sled_error)?, "version"))
                .collect::<StorageResult<Vec<_>>>()?;
            entries.push(EntryImage {
                entry,
                max_seq: head.max_seq,
                latest: head.latest,
                updated_ms: head.updated_ms,
                versions,
            });
        }
        Ok(entries)
    }

    fn export_stores(&self, entries: &[EntryImage]) -> StorageResult<Vec<StoreTimes>> {
        let mut updated = std::collections::HashMap::new();
        for e in entries {
            let t = updated.entry(&e.entry.store).or_insert(i64::MIN);
            *t = e.updated_ms.max(*t);
        }
        let mut stores = Vec::new();
        for item in self.stores.iter() {
            let (key, bytes) = item.map_err(sled_error)?;
            let universe = u64::from_be_bytes(
                key.get(..8)
                    .and_then(|k| k.try_into().ok())
                    .ok_or_else(|| corrupt("store key", "shorter than 8 bytes"))?,
            );
            let name = text(&key[8..], "store key")?;
            let created_ms: i64 = decode(&bytes, "store")?;
            let store = StoreId { universe, name };
            let updated_ms = updated.get(&store).copied().unwrap_or(created_ms);
            stores.push(StoreTimes {
                store,
                created_ms,
                updated_ms,
            });
        }
        Ok(stores)
    }

    pub(crate) fn export(&self) -> StorageResult<StoreImage> {
        let entries = self.export_entries()?;
        let stores = self.export_stores(&entries)?;
        let mut ordered = Vec::new();
        for item in self.ordered_values.iter() {
            let (key, bytes) = item.map_err(sled_error)?;
            let entry =
                decode_entry_key(&key).ok_or_else(|| corrupt("ordered key", "undecodable"))?;
            let raw: [u8; 8] = bytes
                .as_ref()
                .try_into()
                .map_err(|_| corrupt("ordered value", "not 8 bytes"))?;
            let value = profilestore_plugin_api::ordered::ordered_value_from_bytes(raw);
            ordered.push(OrderedEntry { entry, value });
        }
        let meta = self
            .meta_records
            .iter()
            .map(|item| {
                let (k, v) = item.map_err(sled_error)?;
                Ok(MetaRecord {
                    name: text(&k, "meta record name")?,
                    value: text(&v, "meta record")?,
                })
            })
            .collect::<StorageResult<Vec<_>>>()?;
        let mut image = StoreImage {
            stores,
            entries,
            ordered,
            meta,
        };
        image.sort();
        Ok(image)
    }

    pub(crate) fn import(&self, image: &StoreImage) -> StorageResult<()> {
        let mut b = self.removals(|_, _| true)?;
        for e in &image.entries {
            let ekey = entry_key(&e.entry);
            let latest = e
                .latest
                .and_then(|seq| e.versions.iter().find(|v| v.info.seq == seq));
            let head = Head {
                max_seq: e.max_seq,
                latest: latest.map(|v| v.info.seq),
                latest_deleted: latest.is_some_and(|v| v.info.deleted),
                latest_created_ms: latest.map_or(0, |v| v.info.created_ms),
                latest_key_created_ms: latest.map_or(0, |v| v.info.key_created_ms),
                updated_ms: e.updated_ms,
            };
            b.0[0].insert(ekey.clone(), encode(&head));
            for v in &e.versions {
                let vkey = crate::keys::version_key(&ekey, v.info.seq);
                b.0[1].insert(vkey, encode_record(v));
            }
        }
        for t in &image.stores {
            b.0[2].insert(
                store_key(t.store.universe, &t.store.name),
                encode(&t.created_ms),
            );
        }
        for o in &image.ordered {
            let e = &o.entry;
            let prefix = scope_prefix(e.store.universe, &e.store.name, &e.scope);
            b.0[3].insert(entry_key(e), &ordered_value_bytes(o.value));
            b.0[4].insert(ordered_index_key(&prefix, o.value, &e.key), &[]);
        }
        for m in &image.meta {
            b.0[5].insert(m.name.as_bytes(), m.value.as_bytes());
        }
        self.apply(&b)
    }

    pub(crate) fn purge_one_universe(&self, universe: u64) -> StorageResult<u64> {
        let prefix = universe.to_be_bytes();
        let mut removed = 0;
        let b = self.removals(|tree, key| {
            let doomed = match tree {
                5 => std::str::from_utf8(key).ok().and_then(meta_universe) == Some(universe),
                _ => key.starts_with(&prefix),
            };
            // Heads and ordered values: one key per entry.
            removed += u64::from(doomed && (tree == 0 || tree == 3));
            doomed
        })?;
        self.apply(&b)?;
        Ok(removed)
    }
}
