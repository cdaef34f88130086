//! Data store management (Open Cloud v2): deleting and undeleting whole
//! data stores, listing them with their state, and snapshots.
//!
//! Owns: the management types ([`StoreState`], [`StoreStatus`],
//! [`ListStoresOptions`], [`SnapshotOutcome`]), the page-size rule and the
//! `DataStoreDeleted` error of entry calls. The calls themselves are
//! `DataStoreService::delete_data_store`, `undelete_data_store`,
//! `list_data_stores_with` and `snapshot` (dispatched in `ops.rs`; local:
//! `local/manage.rs`; remote: the v2 requests of `remote/manage.rs`).
//! Invariants:
//! - a deleted data store keeps its entries until its `expire_ms`, then
//!   `DataStoreService::purge_expired` removes them for good and the name
//!   is free again; until then every entry call on it fails with
//!   `DataStoreError::DataStoreDeleted` and undelete restores it intact;
//! - deleting a deleted store changes nothing and returns it as it is;
//! - a universe takes at most one snapshot per UTC day; after a snapshot
//!   the next write of every key keeps the version it replaces, whatever
//!   the retention.

use super::DataStoreError;

/// Largest page of `DataStoreService::list_data_stores_with` (Open Cloud
/// v2's `maxPageSize` limit; larger requests are lowered to it).
pub const MAX_STORE_PAGE: usize = 100;
/// Page of `DataStoreService::list_data_stores_with` when none is asked.
pub const DEFAULT_STORE_PAGE: usize = 10;
/// Length of the UTC day snapshots are counted in, ms.
pub(super) const DAY_MS: i64 = 86_400_000;

/// A data store's state (v2 `state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreState {
    /// Readable and writable.
    Active,
    /// Deleted through Open Cloud: entries inaccessible until undeleted or
    /// purged at `expire_ms`.
    Deleted,
}

/// A data store with its state (v2's `DataStore` resource).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreStatus {
    /// The data store's name (v2 `id`).
    pub name: String,
    /// Its first write, epoch ms (v2 `createTime`).
    pub created_ms: i64,
    /// Active or deleted.
    pub state: StoreState,
    /// When a deleted store is purged, epoch ms (v2 `expireTime`); `None`
    /// while active.
    pub expire_ms: Option<i64>,
}

/// Options of `DataStoreService::list_data_stores_with`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListStoresOptions {
    /// Name prefix (v2 `filter=id.startsWith("...")`).
    pub prefix: String,
    /// Page size: 0 for 10; more than 100 is lowered to 100 (as v2 does).
    pub page_size: usize,
    /// Cursor from a previous page of the same listing.
    pub cursor: Option<String>,
    /// Include deleted data stores (v2 `showDeleted`).
    pub show_deleted: bool,
}

/// The answer of a snapshot (v2 `SnapshotDataStoresResponse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotOutcome {
    /// False when this UTC day already had one (nothing was done).
    pub new_snapshot_taken: bool,
    /// The time of the latest snapshot, epoch ms.
    pub latest_ms: i64,
}

/// The page size a store listing uses (0: default; above the max: the max).
pub(super) fn store_page(requested: usize) -> usize {
    match requested {
        0 => DEFAULT_STORE_PAGE,
        n => n.min(MAX_STORE_PAGE),
    }
}

/// The error of an entry call on a deleted data store.
pub(super) fn deleted(name: &str) -> DataStoreError {
    DataStoreError::DataStoreDeleted {
        name: name.to_owned(),
    }
}
