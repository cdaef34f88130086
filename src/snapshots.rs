//! The emulator's snapshots: named copies of everything a server stores,
//! kept in the server's memory, restored between tests; and the wipe of
//! one universe.
//!
//! Owns: [`Snapshots`] (the named snapshots of one server), [`SnapshotInfo`]
//! and [`SnapshotError`]. A snapshot holds the storage plugin's whole image
//! (every standard entry with all its versions, sequence counters and
//! times; data store times; ordered entries; the meta records of deleted
//! data stores and Open Cloud snapshots) and a copy of every memory store
//! (items, expirations, etags, queue invisibility). It does **not** hold
//! the messaging retention log, live sessions of hosted engines (session
//! API), emulator settings (clock, faults, budgets) or anything of another
//! process sharing the database. Invariants:
//! - one control runs at a time (an async lock), so a save never sees a
//!   restore half done;
//! - a restore replaces storage in one plugin transaction (it fails whole
//!   or lands whole), then the memory stores in one swap, then drops every
//!   cache above storage ([`DataStoreService::reload`]); a wipe purges the
//!   universe in one plugin transaction, flushes its memory stores and
//!   drops the caches;
//! - snapshots live only as long as the server process; ids are 1..=128
//!   characters of `A-Z a-z 0-9 . _ -`, unique (saving an id again is an
//!   error: delete it first).

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::clock::Clock;
use crate::datastore::{DataStoreError, DataStoreService};
use crate::memorystore::{MemoryImage, MemoryStoreService};
use crate::plugin_api::{StorageError, StoreImage};
use crate::storage::Storage;

/// Longest snapshot id.
pub const MAX_ID_LEN: usize = 128;

/// Why a snapshot control failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The id is empty, too long or has other characters than
    /// `A-Z a-z 0-9 . _ -`.
    #[error(
        "snapshot id `{0}` is invalid: use 1 to 128 characters of A-Z, a-z, 0-9, `.`, `_` and `-`"
    )]
    InvalidId(String),
    /// A snapshot with this id exists.
    #[error("snapshot `{0}` already exists; delete it first or use another id")]
    AlreadyExists(String),
    /// No snapshot has this id.
    #[error("no snapshot `{0}`; list them with GET /emulator/v1/snapshots")]
    NotFound(String),
    /// The server's data stores are not on a storage plugin of this process.
    #[error("snapshots need the server's own storage (this data store service is remote)")]
    NoLocalStorage,
    /// The storage plugin failed; nothing was changed.
    #[error("storage failed during the snapshot control: {0}")]
    Storage(#[from] StorageError),
    /// The data was replaced, but the caches could not be read again.
    #[error("the data was replaced but the data store states could not be reloaded: {0}")]
    Reload(#[from] DataStoreError),
}

/// One snapshot as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Its id.
    pub id: String,
    /// When it was taken, on the server's clock (epoch ms).
    pub created_ms: i64,
    /// Standard entries held.
    pub entries: u64,
    /// Stored versions held (tombstones included).
    pub versions: u64,
    /// Ordered entries held.
    pub ordered_entries: u64,
    /// Meta records held (deleted data stores, Open Cloud snapshots).
    pub meta_records: u64,
    /// Memory store items held.
    pub memory_items: u64,
    /// Roughly the bytes it keeps in the server's memory.
    pub bytes: u64,
}

#[derive(Debug)]
struct Snapshot {
    info: SnapshotInfo,
    storage: StoreImage,
    memory: Option<MemoryImage>,
}

#[derive(Debug)]
struct Inner {
    datastores: DataStoreService,
    memory: MemoryStoreService,
    clock: Clock,
    saved: Mutex<BTreeMap<String, Arc<Snapshot>>>,
    /// One control at a time.
    turn: tokio::sync::Mutex<()>,
}

/// The named snapshots of one server; cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct Snapshots {
    inner: Arc<Inner>,
}

/// Checks a snapshot id.
pub fn validate_id(id: &str) -> Result<(), SnapshotError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(SnapshotError::InvalidId(id.to_owned()))
    }
}

impl Snapshots {
    /// Snapshots of `datastores`' storage (which also holds the ordered
    /// stores) and of `memory`, timed on `clock`.
    pub fn new(datastores: DataStoreService, memory: MemoryStoreService, clock: Clock) -> Self {
        Snapshots {
            inner: Arc::new(Inner {
                datastores,
                memory,
                clock,
                saved: Mutex::new(BTreeMap::new()),
                turn: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn storage(&self) -> Result<Storage, SnapshotError> {
        self.inner
            .datastores
            .storage()
            .cloned()
            .ok_or(SnapshotError::NoLocalStorage)
    }

    /// Takes snapshot `id` of everything stored now.
    pub async fn save(&self, id: &str) -> Result<SnapshotInfo, SnapshotError> {
        validate_id(id)?;
        let storage = self.storage()?;
        let _turn = self.inner.turn.lock().await;
        if self.inner.saved.lock().contains_key(id) {
            return Err(SnapshotError::AlreadyExists(id.to_owned()));
        }
        let image = storage.call(|p| p.export_image()).await?;
        let memory = self.inner.memory.export().await?;
        let info = SnapshotInfo {
            id: id.to_owned(),
            created_ms: self.inner.clock.now_ms(),
            entries: image.entries.len() as u64,
            versions: image.version_count(),
            ordered_entries: image.ordered.len() as u64,
            meta_records: image.meta.len() as u64,
            memory_items: memory.as_ref().map_or(0, MemoryImage::items),
            bytes: image.bytes() + memory.as_ref().map_or(0, MemoryImage::bytes),
        };
        let snapshot = Arc::new(Snapshot {
            info: info.clone(),
            storage: image,
            memory,
        });
        self.inner.saved.lock().insert(id.to_owned(), snapshot);
        Ok(info)
    }

    /// Puts everything back as snapshot `id` holds it (the snapshot stays,
    /// to be restored again).
    pub async fn restore(&self, id: &str) -> Result<SnapshotInfo, SnapshotError> {
        validate_id(id)?;
        let storage = self.storage()?;
        let _turn = self.inner.turn.lock().await;
        let snapshot = self
            .inner
            .saved
            .lock()
            .get(id)
            .cloned()
            .ok_or_else(|| SnapshotError::NotFound(id.to_owned()))?;
        let image = Arc::clone(&snapshot);
        storage
            .call(move |p| p.import_image(&image.storage))
            .await?;
        if let Some(memory) = &snapshot.memory {
            self.inner.memory.import(memory).await?;
        }
        self.inner.datastores.reload().await?;
        Ok(snapshot.info.clone())
    }

    /// Every snapshot, by id.
    pub fn list(&self) -> Vec<SnapshotInfo> {
        let saved = self.inner.saved.lock();
        saved.values().map(|s| s.info.clone()).collect()
    }

    /// Deletes snapshot `id` (and frees its memory).
    pub async fn delete(&self, id: &str) -> Result<SnapshotInfo, SnapshotError> {
        validate_id(id)?;
        let _turn = self.inner.turn.lock().await;
        let removed = self.inner.saved.lock().remove(id);
        removed
            .map(|s| s.info.clone())
            .ok_or_else(|| SnapshotError::NotFound(id.to_owned()))
    }

    /// Removes everything of `universe`: standard and ordered entries, data
    /// store states, Open Cloud snapshots, memory stores. Returns the
    /// standard and ordered entries removed.
    pub async fn wipe_universe(&self, universe: u64) -> Result<u64, SnapshotError> {
        let storage = self.storage()?;
        let _turn = self.inner.turn.lock().await;
        let removed = storage.call(move |p| p.purge_universe(universe)).await?;
        // Only a shared memory store service can fail to flush (its
        // storage failed): say so rather than leave its items behind.
        self.inner
            .memory
            .flush(universe)
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        self.inner.datastores.reload().await?;
        Ok(removed)
    }
}
