//! Remote backends: the DataStore and the message bus of a profilestore
//! server in another process, reached over its HTTP API.
//!
//! Owns: [`RemoteClient`] (base URL, API key, timeouts), the Open Cloud v1
//! translation of DataStore calls (`datastore`), and the long-poll bridge
//! that feeds remote topics into local subscriptions (`bus`). A Rust game
//! server is `Engine::new(DataStoreService::remote(..), MessageBus::remote(..), ..)`:
//! the engine does not know the difference. Invariants: the remote side is
//! the only source of truth (nothing is cached across calls); every failure
//! to reach it is a transient, retryable error.

mod client;
pub(crate) mod datastore;

pub(crate) use client::{enc, status_error};
pub use client::{Answer, RemoteClient, RemoteError};

use profilestore_plugin_api::{
    Commit, CommitOutcome, DataStoreInfo, EntryId, KeyName, KeyQuery, Page, PurgeStats, Seq,
    StorageError, StoragePlugin, StorageResult, StoreQuery, VersionInfo, VersionQuery,
    VersionRecord,
};

/// The storage of a remote `DataStoreService`: it has none, and says so if
/// anything tries to use it directly (the service sends every call over
/// HTTP instead).
#[derive(Debug)]
pub(crate) struct Detached;

impl Detached {
    fn refuse<T>() -> StorageResult<T> {
        Err(StorageError::Unavailable(
            "this DataStoreService talks to a remote profilestore server and has no local storage"
                .into(),
        ))
    }
}

impl StoragePlugin for Detached {
    fn name(&self) -> &'static str {
        "remote"
    }

    fn is_blocking(&self) -> bool {
        false
    }

    fn read_latest(&self, _: &EntryId) -> StorageResult<Option<VersionRecord>> {
        Self::refuse()
    }

    fn read_version(&self, _: &EntryId, _: Seq) -> StorageResult<Option<VersionRecord>> {
        Self::refuse()
    }

    fn commit(&self, _: &Commit) -> StorageResult<CommitOutcome> {
        Self::refuse()
    }

    fn list_versions(&self, _: &EntryId, _: &VersionQuery) -> StorageResult<Page<VersionInfo>> {
        Self::refuse()
    }

    fn list_keys(&self, _: &KeyQuery) -> StorageResult<Page<KeyName>> {
        Self::refuse()
    }

    fn list_data_stores(&self, _: &StoreQuery) -> StorageResult<Page<DataStoreInfo>> {
        Self::refuse()
    }

    fn remove_version(&self, _: &EntryId, _: Seq) -> StorageResult<bool> {
        Self::refuse()
    }

    fn purge_expired(&self, _: i64) -> StorageResult<PurgeStats> {
        Self::refuse()
    }

    fn flush(&self) -> StorageResult<()> {
        // Durability is the server's: it flushes on its own shutdown.
        Ok(())
    }
}
