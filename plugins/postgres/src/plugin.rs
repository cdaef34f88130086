//! The [`StoragePlugin`] trait of [`PostgresPlugin`]: every call forwards
//! to the module that owns its SQL (`ops.rs`, `ordered.rs`, `image.rs`,
//! `shared.rs`; the log's wake-up hint is `listen.rs`).
//!
//! Owns: nothing but the mapping. Invariant: each method is one call.

use profilestore_plugin_api::{
    Commit, CommitOutcome, DataStoreInfo, EntryId, KeyName, KeyQuery, LogMessage, MetaRecord,
    OrderedOutcome, OrderedQuery, OrderedRecord, OrderedWrite, Page, PurgeStats, RecordExpect,
    RecordOutcome, RecordWrite, Seq, SharedRecord, StoragePlugin, StoreId, StoreImage, StoreQuery,
    VersionInfo, VersionQuery, VersionRecord,
};

use crate::{PostgresPlugin, Result};

impl StoragePlugin for PostgresPlugin {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn read_latest(&self, e: &EntryId) -> Result<Option<VersionRecord>> {
        self.latest(e)
    }

    fn read_version(&self, e: &EntryId, seq: Seq) -> Result<Option<VersionRecord>> {
        self.version(e, seq)
    }

    fn commit(&self, c: &Commit) -> Result<CommitOutcome> {
        self.commit_one(c)
    }

    fn list_versions(&self, e: &EntryId, q: &VersionQuery) -> Result<Page<VersionInfo>> {
        self.versions_page(e, q)
    }

    fn list_keys(&self, q: &KeyQuery) -> Result<Page<KeyName>> {
        self.keys_page(q)
    }

    fn list_data_stores(&self, q: &StoreQuery) -> Result<Page<DataStoreInfo>> {
        self.stores_page(q)
    }

    fn remove_version(&self, e: &EntryId, seq: Seq) -> Result<bool> {
        self.remove_one(e, seq)
    }

    fn purge_expired(&self, cutoff_ms: i64) -> Result<PurgeStats> {
        self.purge(cutoff_ms)
    }

    fn flush(&self) -> Result<()> {
        self.flush_all()
    }

    fn purge_store(&self, store: &StoreId) -> Result<u64> {
        self.purge_one_store(store)
    }

    fn ordered_read(&self, e: &EntryId) -> Result<Option<i64>> {
        self.ordered_get(e)
    }

    fn ordered_write(&self, w: &OrderedWrite) -> Result<OrderedOutcome> {
        self.ordered_put(w)
    }

    fn ordered_range(&self, q: &OrderedQuery) -> Result<Page<OrderedRecord>> {
        self.ordered_page(q)
    }

    fn read_meta(&self, name: &str) -> Result<Option<String>> {
        self.meta_get(name)
    }

    fn write_meta(&self, name: &str, value: Option<&str>) -> Result<()> {
        self.meta_put(name, value)
    }

    fn list_meta(&self, prefix: &str) -> Result<Vec<MetaRecord>> {
        self.meta_list(prefix)
    }

    fn export_image(&self) -> Result<StoreImage> {
        self.export()
    }

    fn import_image(&self, image: &StoreImage) -> Result<()> {
        self.import(image)
    }

    fn purge_universe(&self, universe: u64) -> Result<u64> {
        self.purge_one_universe(universe)
    }

    fn log_append(&self, topic: &str, data: &str, sent_ms: i64) -> Result<u64> {
        self.log_put(topic, data, sent_ms)
    }

    fn log_read(&self, after: u64, limit: usize) -> Result<Vec<LogMessage>> {
        self.log_get(after, limit)
    }

    fn log_head(&self) -> Result<u64> {
        self.log_top()
    }

    fn log_trim(&self, cutoff_ms: i64) -> Result<u64> {
        self.log_cut(cutoff_ms)
    }

    fn log_wait(&self, after: u64, timeout: std::time::Duration) -> Result<bool> {
        self.listener
            .wait(self.pool.manager(), timeout, || Ok(self.log_top()? > after))
    }

    fn record_read(&self, name: &str) -> Result<Option<SharedRecord>> {
        self.record_get(name)
    }

    fn record_swap(
        &self,
        name: &str,
        expect: RecordExpect,
        value: Option<&str>,
    ) -> Result<RecordOutcome> {
        self.record_put(name, expect, value)
    }

    fn record_swap_all(&self, writes: &[RecordWrite]) -> Result<Vec<RecordOutcome>> {
        self.record_put_all(writes)
    }

    fn record_list(&self, prefix: &str) -> Result<Vec<SharedRecord>> {
        self.record_all(prefix)
    }
}
