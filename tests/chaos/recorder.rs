//! The storage-side witness of a chaos run.
//!
//! Owns: [`Recorder`], a plugin wrapper placed *under* the fault injector,
//! so it sees exactly the commits that reached storage (ambiguous ones
//! included: they were written even though the caller heard an error). It
//! keeps, per profile key, every committed document in commit order with
//! the writer's clock. The ownership checks in `invariants.rs` read this
//! log, never the engines' own account of what they did.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use profilestore::plugin_api::{
    Commit, CommitOutcome, DataStoreInfo, EntryId, KeyName, KeyQuery, Page, PurgeStats, Seq,
    StoragePlugin, StorageResult, StoreQuery, VersionInfo, VersionQuery, VersionRecord,
};
use serde_json::Value;

/// One committed write of a profile key.
#[derive(Clone, Debug)]
pub struct Written {
    /// The writer's clock, epoch ms.
    pub at_ms: i64,
    /// The document written (`Null` for a tombstone).
    pub value: Value,
}

/// Logs every committed write to the data store named `store`.
#[derive(Debug)]
pub struct Recorder {
    inner: Arc<dyn StoragePlugin>,
    store: String,
    log: Mutex<HashMap<String, Vec<Written>>>,
}

impl Recorder {
    pub fn new(inner: Arc<dyn StoragePlugin>, store: &str) -> Self {
        Recorder {
            inner,
            store: store.to_owned(),
            log: Mutex::new(HashMap::new()),
        }
    }

    /// Every key's commits, in commit order.
    pub fn log(&self) -> HashMap<String, Vec<Written>> {
        self.log.lock().expect("recorder lock").clone()
    }
}

impl StoragePlugin for Recorder {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn is_blocking(&self) -> bool {
        self.inner.is_blocking()
    }

    fn read_latest(&self, entry: &EntryId) -> StorageResult<Option<VersionRecord>> {
        self.inner.read_latest(entry)
    }

    fn read_version(&self, entry: &EntryId, seq: Seq) -> StorageResult<Option<VersionRecord>> {
        self.inner.read_version(entry, seq)
    }

    fn commit(&self, commit: &Commit) -> StorageResult<CommitOutcome> {
        // The lock spans the commit so the log order is the commit order.
        let mut log = self.log.lock().expect("recorder lock");
        let outcome = self.inner.commit(commit)?;
        if matches!(outcome, CommitOutcome::Committed(_)) && commit.entry.store.name == self.store {
            let value = if commit.version.deleted {
                Value::Null
            } else {
                serde_json::from_str(&commit.version.value).expect("committed JSON")
            };
            log.entry(commit.entry.key.clone())
                .or_default()
                .push(Written {
                    at_ms: commit.now_ms,
                    value,
                });
        }
        Ok(outcome)
    }

    fn list_versions(
        &self,
        entry: &EntryId,
        query: &VersionQuery,
    ) -> StorageResult<Page<VersionInfo>> {
        self.inner.list_versions(entry, query)
    }

    fn list_keys(&self, query: &KeyQuery) -> StorageResult<Page<KeyName>> {
        self.inner.list_keys(query)
    }

    fn list_data_stores(&self, query: &StoreQuery) -> StorageResult<Page<DataStoreInfo>> {
        self.inner.list_data_stores(query)
    }

    fn remove_version(&self, entry: &EntryId, seq: Seq) -> StorageResult<bool> {
        self.inner.remove_version(entry, seq)
    }

    fn purge_expired(&self, cutoff_ms: i64) -> StorageResult<PurgeStats> {
        self.inner.purge_expired(cutoff_ms)
    }

    fn flush(&self) -> StorageResult<()> {
        self.inner.flush()
    }
}
