//! The local backend: Roblox's DataStore semantics as compare-and-swap
//! loops over this process's storage plugin.
//!
//! Owns: [`Local`] (the storage bridge, the latest-version cache, the clock
//! and settings), snapshots and commits, and the conversions between stored
//! records and entries. Submodules: `ops` (get, set, update, increment,
//! remove), `versions`, `listing`, `latest_cache`, `manage` (deleted data
//! stores and snapshots, the gate of every entry call). Invariants: every
//! read-modify-write commits with `Expect::Current(<the version it read>)`
//! and, on conflict, starts again from the version the plugin returned, so a
//! transform only ever sees one stored version; a decision to write nothing
//! (cancel, already removed, precondition failed) is only returned after it
//! was taken on a version read from storage, never on a cached guess alone;
//! inputs are validated before the first storage call; all storage calls go
//! through `Storage::call`.

mod latest_cache;
mod listing;
mod manage;
mod ops;
mod versions;

use std::sync::Arc;

use profilestore_plugin_api::{
    Commit, CommitOutcome, EntryId, Expect, NewVersion, StorageError, StoragePlugin, Supersede,
    VersionRecord,
};
use serde_json::{Map, Value};

use super::observe::Committed;
use super::validate;
use super::{DataStoreConfig, DataStoreError, DsResult, Entry, KeyInfo, Retention, WriteOptions};
use crate::clock::Clock;
use crate::opencloud::version_id::format_version;
use crate::storage::Storage;

/// Largest page of key and data store listings.
const MAX_LIST_PAGE: usize = 1000;

/// The local backend of a `DataStoreService`; cheap to clone (shared).
#[derive(Clone, Debug)]
pub(super) struct Local {
    storage: Storage,
    latest: latest_cache::LatestCache,
    manage: manage::Manage,
    clock: Clock,
    config: Arc<DataStoreConfig>,
    /// Told of every commit (`datastore::observe`).
    pub(super) observer: super::observe::Slot,
}

/// The page size to use: `default` for 0, else `requested` up to `max`
/// (`InvalidPageSize` above it).
fn page_size(requested: usize, default: usize, max: usize) -> DsResult<usize> {
    match requested {
        0 => Ok(default),
        n if n <= max => Ok(n),
        _ => Err(DataStoreError::InvalidPageSize { max }),
    }
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> DataStoreError {
    DataStoreError::Storage(StorageError::Corrupt {
        what: what.to_owned(),
        detail: detail.to_string(),
    })
}

pub(super) fn key_info(record: &VersionRecord) -> DsResult<KeyInfo> {
    let metadata = if record.metadata.is_empty() {
        Map::new()
    } else {
        serde_json::from_str(&record.metadata).map_err(|e| corrupt("metadata", e))?
    };
    Ok(KeyInfo {
        created_ms: record.info.key_created_ms,
        updated_ms: record.info.created_ms,
        version: format_version(&record.info),
        user_ids: record.user_ids.clone(),
        metadata,
    })
}

/// The live entry of a record (`None` for a tombstone).
fn live_entry(record: &VersionRecord) -> DsResult<Option<Entry>> {
    if record.info.deleted {
        return Ok(None);
    }
    let value = serde_json::from_str(&record.value).map_err(|e| corrupt("value", e))?;
    Ok(Some(Entry {
        value,
        info: key_info(record)?,
    }))
}

/// Validates a write and returns the exact version to store.
fn check_write(value: &Value, options: &WriteOptions) -> DsResult<NewVersion> {
    let checked = validate::write(value, options)?;
    Ok(NewVersion {
        deleted: false,
        value: checked.value,
        user_ids: options.user_ids.clone(),
        metadata: checked.metadata,
    })
}

/// The version a read-modify-write starts from.
#[derive(Debug)]
struct Snapshot {
    /// The latest version (tombstones included), `None` when there is none.
    record: Option<Arc<VersionRecord>>,
    /// True when read from storage (or returned by a conflicting commit);
    /// false when taken from the latest-version cache, which may be stale.
    from_storage: bool,
}

impl Snapshot {
    /// A snapshot the storage just returned.
    fn stored(record: Option<VersionRecord>) -> Self {
        Snapshot {
            record: record.map(Arc::new),
            from_storage: true,
        }
    }

    /// The sequence a commit on this snapshot expects to be current.
    fn seq(&self) -> Option<u64> {
        self.record.as_ref().map(|r| r.info.seq)
    }
}

impl Local {
    /// A backend over `plugin`.
    pub(super) fn new(
        plugin: Arc<dyn StoragePlugin>,
        clock: Clock,
        config: Arc<DataStoreConfig>,
    ) -> Self {
        Local {
            storage: Storage::new(plugin),
            latest: latest_cache::LatestCache::default(),
            manage: manage::Manage::default(),
            clock,
            config,
            observer: super::observe::Slot::default(),
        }
    }

    /// The storage bridge.
    pub(super) fn storage(&self) -> &Storage {
        &self.storage
    }

    /// This backend with its commits timed in `metrics`.
    pub(super) fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.storage = self.storage.with_metrics(metrics);
        self
    }

    /// Flushes the plugin (acknowledged writes reach the disk).
    pub(super) async fn flush(&self) -> DsResult<()> {
        Ok(self.storage.call(|p| p.flush()).await?)
    }

    /// The backup rule of a write in `universe`: under `per_utc_hour`, a
    /// version created before the universe's latest snapshot is kept.
    fn supersede(&self, universe: u64) -> Supersede {
        match self.config.retention {
            Retention::PerWrite => Supersede::Keep,
            Retention::PerUtcHour => Supersede::ReplaceSameWindow {
                window_ms: 3_600_000,
                not_before_ms: self.snapshot_floor(universe),
            },
        }
    }

    async fn read_latest(&self, id: &EntryId) -> DsResult<Option<VersionRecord>> {
        let id = id.clone();
        Ok(self.storage.call(move |p| p.read_latest(&id)).await?)
    }

    /// The snapshot a read-modify-write starts from: the cached latest when
    /// this service wrote it, else a storage read (see `latest_cache`).
    async fn snapshot(&self, id: &EntryId) -> DsResult<Snapshot> {
        if let Some(cached) = self.latest.get(id) {
            return Ok(Snapshot {
                record: Some(cached),
                from_storage: false,
            });
        }
        self.read_snapshot(id).await
    }

    /// The stored latest version, remembered in the cache.
    async fn read_snapshot(&self, id: &EntryId) -> DsResult<Snapshot> {
        let snapshot = Snapshot::stored(self.read_latest(id).await?);
        match &snapshot.record {
            Some(r) => self.latest.put(id, Arc::clone(r)),
            None => self.latest.forget(id),
        }
        Ok(snapshot)
    }

    /// Checks a cached snapshot against storage before deciding to write
    /// nothing: `Ok(())` when it is still the latest version, else the
    /// stored snapshot to decide again on.
    async fn confirm(&self, id: &EntryId, cached: Snapshot) -> DsResult<Result<(), Snapshot>> {
        let stored = self.read_snapshot(id).await?;
        Ok(if stored.seq() == cached.seq() {
            Ok(())
        } else {
            Err(stored)
        })
    }

    /// Keeps the cache in step with what a commit found or wrote.
    fn remember(&self, id: &EntryId, outcome: &CommitOutcome, written: &NewVersion) {
        match outcome {
            CommitOutcome::Committed(info) => {
                let record = VersionRecord {
                    info: info.clone(),
                    value: written.value.clone(),
                    user_ids: written.user_ids.clone(),
                    metadata: written.metadata.clone(),
                };
                self.latest.put(id, Arc::new(record));
            }
            CommitOutcome::Conflict { current: Some(c) } => {
                self.latest.put(id, Arc::new(c.clone()));
            }
            CommitOutcome::Conflict { current: None } => self.latest.forget(id),
        }
    }

    /// Commits `version` over `previous` (the version `expect` names, when
    /// the caller read it) and tells the observer.
    async fn commit(
        &self,
        id: &EntryId,
        expect: Expect,
        version: NewVersion,
        supersede: Supersede,
        previous: Option<&VersionRecord>,
    ) -> DsResult<CommitOutcome> {
        let commit = Arc::new(Commit {
            entry: id.clone(),
            expect,
            now_ms: self.clock.now_ms(),
            supersede,
            version,
        });
        let sent = Arc::clone(&commit);
        let outcome = self.storage.commit(sent).await?;
        self.remember(id, &outcome, &commit.version);
        if let (Some(observer), CommitOutcome::Committed(info)) = (self.observer.get(), &outcome) {
            let version = format_version(info);
            observer.committed(&Committed::of(&commit, info, &version, previous));
        }
        Ok(outcome)
    }

    fn written_info(
        info: &profilestore_plugin_api::VersionInfo,
        options: &WriteOptions,
    ) -> KeyInfo {
        KeyInfo {
            created_ms: info.key_created_ms,
            updated_ms: info.created_ms,
            version: format_version(info),
            user_ids: options.user_ids.clone(),
            metadata: options.metadata.clone(),
        }
    }
}
