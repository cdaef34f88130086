//! The plugin contract over the sled trees.
//!
//! Owns: every `StoragePlugin` call. Invariants: writes happen only inside
//! sled transactions that re-read the head they decide on; listings read
//! `heads` and the info headers of `versions`, never whole values.

use profilestore_plugin_api::codec::{decode_info, decode_record, encode_record};
use profilestore_plugin_api::{
    Commit, CommitOutcome, DataStoreInfo, EntryId, Expect, KeyName, KeyQuery, MetaRecord,
    OrderedOutcome, OrderedQuery, OrderedRecord, OrderedWrite, Page, PurgeStats, Seq, SortOrder,
    StorageError, StoragePlugin, StorageResult, StoreId, StoreImage, StoreQuery, VersionInfo,
    VersionQuery, VersionRecord,
};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use sled::Transactional;

use crate::keys::{entry_key, scope_and_key, seq_of, store_key, store_prefix, version_key};
use crate::{corrupt, sled_error, Head, SledPlugin};

type TxResult<T> = Result<T, ConflictableTransactionError<StorageError>>;

pub(crate) fn tx_error(err: TransactionError<StorageError>) -> StorageError {
    match err {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => sled_error(e),
    }
}

fn abort(err: StorageError) -> ConflictableTransactionError<StorageError> {
    ConflictableTransactionError::Abort(err)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> StorageResult<T> {
    postcard::from_bytes(bytes).map_err(|e| corrupt(what, e))
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("encoding into a Vec cannot fail")
}

fn tx_get<T: serde::de::DeserializeOwned>(
    tree: &TransactionalTree,
    key: &[u8],
    what: &str,
) -> TxResult<Option<T>> {
    match tree.get(key).map_err(unabortable)? {
        Some(bytes) => decode(&bytes, what).map(Some).map_err(abort),
        None => Ok(None),
    }
}

fn unabortable(e: UnabortableTransactionError) -> ConflictableTransactionError<StorageError> {
    e.into()
}

fn page<T>(
    mut iter: impl Iterator<Item = StorageResult<T>>,
    limit: usize,
) -> StorageResult<Page<T>> {
    let limit = limit.max(1);
    let mut items = Vec::new();
    for item in iter.by_ref() {
        items.push(item?);
        if items.len() == limit {
            break;
        }
    }
    let more = items.len() == limit && iter.next().transpose()?.is_some();
    Ok(Page { items, more })
}

impl SledPlugin {
    fn head(&self, key: &[u8]) -> StorageResult<Option<Head>> {
        match self.heads.get(key).map_err(sled_error)? {
            Some(b) => decode(&b, "head").map(Some),
            None => Ok(None),
        }
    }

    fn commit_tx(&self, c: &Commit) -> StorageResult<CommitOutcome> {
        let ekey = entry_key(&c.entry);
        // The store's creation time is written once, outside the commit: a
        // store row without live entries is never listed, so an aborted
        // commit leaves nothing visible behind.
        let skey = store_key(c.entry.store.universe, &c.entry.store.name);
        if !self.stores.contains_key(&skey).map_err(sled_error)? {
            let _ = self
                .stores
                .compare_and_swap(&skey, None as Option<&[u8]>, Some(encode(&c.now_ms)))
                .map_err(sled_error)?;
        }
        (&self.heads, &self.versions)
            .transaction(|(heads, versions)| {
                let head: Head = tx_get(heads, &ekey, "head")?.unwrap_or_default();
                let latest = head.latest;
                if let Expect::Current(expected) = c.expect {
                    if expected != latest {
                        let current = match latest {
                            Some(seq) => {
                                match versions.get(version_key(&ekey, seq)).map_err(unabortable)? {
                                    Some(b) => Some(decode_record(&b, "version").map_err(abort)?),
                                    None => None,
                                }
                            }
                            None => None,
                        };
                        return Ok(CommitOutcome::Conflict { current });
                    }
                }
                // The head carries the latest version's times and flag.
                let latest_info = latest.map(|seq| VersionInfo {
                    seq,
                    key_created_ms: head.latest_key_created_ms,
                    created_ms: head.latest_created_ms,
                    deleted: head.latest_deleted,
                    content_length: 0,
                });
                let plan = c.plan(latest_info.as_ref(), head.max_seq);
                let info = plan.info;
                if let (true, Some(old)) = (plan.replace_latest, latest) {
                    versions
                        .remove(version_key(&ekey, old))
                        .map_err(unabortable)?;
                }
                versions
                    .insert(
                        version_key(&ekey, info.seq),
                        encode_record(&c.record(info.clone())),
                    )
                    .map_err(unabortable)?;
                let (created_ms, key_created_ms) = (info.created_ms, info.key_created_ms);
                let v = &c.version;
                let new_head = Head {
                    max_seq: info.seq,
                    latest: Some(info.seq),
                    latest_deleted: v.deleted,
                    latest_created_ms: created_ms,
                    latest_key_created_ms: key_created_ms,
                    updated_ms: created_ms,
                };
                heads
                    .insert(ekey.clone(), encode(&new_head))
                    .map_err(unabortable)?;
                Ok(CommitOutcome::Committed(info))
            })
            .map_err(tx_error)
    }

    /// The latest update time of the data store's entries, when it holds
    /// an entry with a current version.
    fn live_store_updated(&self, universe: u64, name: &str) -> StorageResult<Option<i64>> {
        let mut live = false;
        let mut updated = i64::MIN;
        for item in self.heads.scan_prefix(store_prefix(universe, name)) {
            let (_, bytes) = item.map_err(sled_error)?;
            let head: Head = decode(&bytes, "head")?;
            live |= head.latest.is_some();
            updated = updated.max(head.updated_ms);
        }
        Ok(live.then_some(updated))
    }

    /// Applies one entry's purge decisions, if its head is still `seen`.
    fn purge_entry(
        &self,
        ekey: &[u8],
        seen: Head,
        doomed: &[Seq],
        drop_entry: bool,
    ) -> StorageResult<bool> {
        (&self.heads, &self.versions)
            .transaction(|(heads, versions)| {
                let head: Option<Head> = tx_get(heads, ekey, "head")?;
                if head != Some(seen) {
                    return Ok(false); // written meanwhile: decide again next time
                }
                for seq in doomed {
                    versions
                        .remove(version_key(ekey, *seq))
                        .map_err(unabortable)?;
                }
                if drop_entry {
                    heads.remove(ekey).map_err(unabortable)?;
                }
                Ok(true)
            })
            .map_err(tx_error)
    }
}

impl StoragePlugin for SledPlugin {
    fn commit_group_sizes(&self) -> Option<profilestore_plugin_api::GroupSizes> {
        // Groups exist only in `full` durability (one flush each); the
        // other modes report none rather than an empty histogram.
        (self.durability == profilestore_plugin_api::Durability::Full).then(|| self.group.sizes())
    }

    fn name(&self) -> &'static str {
        "sled"
    }

    fn read_latest(&self, entry: &EntryId) -> StorageResult<Option<VersionRecord>> {
        let ekey = entry_key(entry);
        // Re-read until the head and the record agree (a commit may land in
        // between, and a replaced latest may vanish).
        for _ in 0..100 {
            let Some(head) = self.head(&ekey)? else {
                return Ok(None);
            };
            let Some(seq) = head.latest else {
                return Ok(None);
            };
            if let Some(bytes) = self
                .versions
                .get(version_key(&ekey, seq))
                .map_err(sled_error)?
            {
                return decode_record(&bytes, "version").map(Some);
            }
        }
        Err(StorageError::Unavailable(
            "entry kept changing while being read".to_owned(),
        ))
    }

    fn read_version(&self, entry: &EntryId, seq: Seq) -> StorageResult<Option<VersionRecord>> {
        match self
            .versions
            .get(version_key(&entry_key(entry), seq))
            .map_err(sled_error)?
        {
            Some(bytes) => decode_record(&bytes, "version").map(Some),
            None => Ok(None),
        }
    }

    fn commit(&self, commit: &Commit) -> StorageResult<CommitOutcome> {
        let outcome = self.commit_tx(commit)?;
        if matches!(outcome, CommitOutcome::Committed(_)) {
            self.after_write()?;
        }
        Ok(outcome)
    }

    fn list_versions(
        &self,
        entry: &EntryId,
        query: &VersionQuery,
    ) -> StorageResult<Page<VersionInfo>> {
        let ekey = entry_key(entry);
        let lo = version_key(&ekey, 0);
        let hi = version_key(&ekey, u64::MAX);
        let range = match (query.order, query.after) {
            (SortOrder::Ascending, Some(a)) => self
                .versions
                .range(version_key(&ekey, a.saturating_add(1))..=hi),
            (SortOrder::Descending, Some(a)) => self.versions.range(lo..version_key(&ekey, a)),
            (_, None) => self.versions.range(lo..=hi),
        };
        let decode_info =
            |item: sled::Result<(sled::IVec, sled::IVec)>| -> StorageResult<VersionInfo> {
                let (_, bytes) = item.map_err(sled_error)?;
                decode_info(&bytes, "version")
            };
        let in_range = |r: &StorageResult<VersionInfo>| match r {
            Ok(v) => {
                query.min_ms.is_none_or(|m| v.created_ms >= m)
                    && query.max_ms.is_none_or(|m| v.created_ms <= m)
            }
            Err(_) => true,
        };
        match query.order {
            SortOrder::Ascending => page(range.map(decode_info).filter(in_range), query.limit),
            SortOrder::Descending => {
                page(range.rev().map(decode_info).filter(in_range), query.limit)
            }
        }
    }

    fn list_keys(&self, query: &KeyQuery) -> StorageResult<Page<KeyName>> {
        let prefix = store_prefix(query.store.universe, &query.store.name);
        let plen = prefix.len();
        let iter = self.heads.scan_prefix(&prefix).filter_map(move |item| {
            let (key, bytes) = match item {
                Ok(kv) => kv,
                Err(e) => return Some(Err(sled_error(e))),
            };
            let head: Head = match decode(&bytes, "head") {
                Ok(h) => h,
                Err(e) => return Some(Err(e)),
            };
            if head.latest.is_none() || (head.latest_deleted && !query.include_deleted) {
                return None;
            }
            let Some((scope, key)) = scope_and_key(&key, plen) else {
                return Some(Err(corrupt("entry key", "undecodable")));
            };
            let matches = match &query.scope {
                Some(s) => *s == scope && key.starts_with(&query.prefix),
                None => format!("{scope}/{key}").starts_with(&query.prefix),
            };
            let name = KeyName { scope, key };
            (matches && query.after.as_ref().is_none_or(|a| name > *a)).then_some(Ok(name))
        });
        page(iter, query.limit)
    }

    fn list_data_stores(&self, query: &StoreQuery) -> StorageResult<Page<DataStoreInfo>> {
        let prefix = query.universe.to_be_bytes();
        let iter = self.stores.scan_prefix(prefix).filter_map(|item| {
            let (key, bytes) = match item {
                Ok(kv) => kv,
                Err(e) => return Some(Err(sled_error(e))),
            };
            let name = match std::str::from_utf8(&key[8..]) {
                Ok(n) => n.to_owned(),
                Err(e) => return Some(Err(corrupt("store key", e))),
            };
            if !name.starts_with(&query.prefix) || query.after.as_ref().is_some_and(|a| name <= *a)
            {
                return None;
            }
            let updated_ms = match self.live_store_updated(query.universe, &name) {
                Ok(Some(t)) => t,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            Some(
                decode::<i64>(&bytes, "store").map(|created_ms| DataStoreInfo {
                    name,
                    created_ms,
                    updated_ms,
                }),
            )
        });
        page(iter, query.limit)
    }

    fn remove_version(&self, entry: &EntryId, seq: Seq) -> StorageResult<bool> {
        let ekey = entry_key(entry);
        let removed = (&self.heads, &self.versions)
            .transaction(|(heads, versions)| {
                let Some(mut head) = tx_get::<Head>(heads, &ekey, "head")? else {
                    return Ok(false);
                };
                let existed = versions
                    .remove(version_key(&ekey, seq))
                    .map_err(unabortable)?
                    .is_some();
                if head.latest == Some(seq) {
                    head.latest = None;
                    head.latest_deleted = false;
                    heads
                        .insert(ekey.clone(), encode(&head))
                        .map_err(unabortable)?;
                }
                Ok(existed)
            })
            .map_err(tx_error)?;
        self.after_write()?;
        Ok(removed)
    }

    fn purge_expired(&self, cutoff_ms: i64) -> StorageResult<PurgeStats> {
        let mut stats = PurgeStats::default();
        for item in self.heads.iter() {
            let (ekey, bytes) = item.map_err(sled_error)?;
            let head: Head = decode(&bytes, "head")?;
            let infos: Vec<VersionInfo> = self
                .versions
                .scan_prefix(&ekey)
                .map(|kv| {
                    let (k, v) = kv.map_err(sled_error)?;
                    debug_assert!(seq_of(&k).is_some());
                    decode_info(&v, "version")
                })
                .collect::<StorageResult<_>>()?;
            let latest = infos.iter().find(|i| Some(i.seq) == head.latest);
            let (doomed, drop_entry): (Vec<Seq>, bool) = match latest {
                Some(l) if l.deleted && l.created_ms < cutoff_ms => {
                    (infos.iter().map(|i| i.seq).collect(), true)
                }
                _ => {
                    let doomed: Vec<Seq> = infos
                        .iter()
                        .enumerate()
                        .filter(|(_, i)| Some(i.seq) != head.latest)
                        .filter(|(n, i)| {
                            infos
                                .get(n + 1)
                                .map_or(i.created_ms, |next| next.created_ms)
                                < cutoff_ms
                        })
                        .map(|(_, i)| i.seq)
                        .collect();
                    let empty = doomed.len() == infos.len();
                    (doomed, empty)
                }
            };
            if doomed.is_empty() && !drop_entry {
                continue;
            }
            if self.purge_entry(&ekey, head, &doomed, drop_entry)? {
                stats.versions += doomed.len() as u64;
                stats.entries += u64::from(drop_entry);
            }
        }
        self.after_write()?;
        Ok(stats)
    }

    fn flush(&self) -> StorageResult<()> {
        self.db.flush().map_err(sled_error)?;
        Ok(())
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

    fn export_image(&self) -> StorageResult<StoreImage> {
        self.export()
    }

    fn import_image(&self, image: &StoreImage) -> StorageResult<()> {
        self.import(image)
    }

    fn purge_universe(&self, universe: u64) -> StorageResult<u64> {
        self.purge_one_universe(universe)
    }
}
