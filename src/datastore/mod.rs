//! The DataStore layer: Roblox DataStore semantics over a storage plugin.
//!
//! Owns: the API the engine and the HTTP server use ([`DataStoreService`],
//! [`DataStore`]), key info, version ids in Roblox's format, listing cursors,
//! the limits of Roblox (checked before anything is stored), the version
//! retention policy, and the backend seam: a service is `Local` (a storage
//! plugin in this process, `local/`) or `Remote` (a profilestore server over
//! Open Cloud v1, `remote.rs`); `ops.rs` dispatches each call to one of them.
//! Invariants:
//! - every write replaces user ids and metadata, as Roblox does;
//! - a rejected call stores nothing;
//! - `update` runs its transform on a consistent snapshot (one stored
//!   version) and commits only if that version is still the latest,
//!   re-running the transform otherwise;
//! - time comes from the injected [`Clock`].

mod cursor;
mod error;
mod local;
mod manage;
pub mod observe;
mod ops;
mod remote;
pub mod validate;

/// Roblox's version id format (kept in the wire module, re-exported here).
pub use crate::opencloud::version_id;
pub use crate::opencloud::version_id::VersionId;
pub(crate) use cursor::fingerprint;
pub use error::DataStoreError;
pub use manage::{
    ListStoresOptions, SnapshotOutcome, StoreState, StoreStatus, DEFAULT_STORE_PAGE, MAX_STORE_PAGE,
};
pub use profilestore_plugin_api::{KeyName, SortOrder};
pub use validate::{parse_value_str, parse_value_text, user_ids_from_json};

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::clock::Clock;

/// Result alias of the DataStore layer.
pub type DsResult<T> = Result<T, DataStoreError>;

/// When a write keeps the previous version as a backup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retention {
    /// Every write is a version (Roblox before July 2024).
    #[default]
    #[serde(alias = "per-write")]
    PerWrite,
    /// The first write of each key in each UTC hour is a version; later
    /// writes in that hour replace it (Roblox since July 2024).
    #[serde(alias = "per-utc-hour")]
    PerUtcHour,
}

/// Settings of the DataStore layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataStoreConfig {
    /// Version granularity.
    pub retention: Retention,
    /// How long a superseded version (or a tombstone) is kept.
    pub version_expiry: Duration,
    /// How old the cached management state (deleted stores, snapshots) may
    /// grow before it is read from storage again. `None` (one server owns
    /// the database): read once, then kept in step by this service's own
    /// writes. Several nodes sharing a database set it, so a store deleted
    /// through one node is refused by the others within this interval.
    pub shared_state_refresh: Option<Duration>,
}

impl Default for DataStoreConfig {
    fn default() -> Self {
        DataStoreConfig {
            retention: Retention::PerWrite,
            version_expiry: Duration::from_secs(30 * 24 * 3600),
            shared_state_refresh: None,
        }
    }
}

/// What Roblox returns as `DataStoreKeyInfo`.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyInfo {
    /// When the key (object) was created, epoch ms.
    pub created_ms: i64,
    /// When this version was written, epoch ms.
    pub updated_ms: i64,
    /// Version id in Roblox's format
    /// (`08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.01`).
    pub version: String,
    /// User ids of the version.
    pub user_ids: Vec<i64>,
    /// User metadata of the version.
    pub metadata: Map<String, Value>,
}

/// A value with its key info.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The stored value.
    pub value: Value,
    /// Its key info.
    pub info: KeyInfo,
}

/// A value as its stored JSON text, with its key info: what a reader that
/// only passes the value on (the HTTP get) needs, without parsing it.
/// `text` is compact JSON, exactly as written (every write stores the
/// compact serialization of a validated value).
#[derive(Clone, Debug, PartialEq)]
pub struct EntryText {
    /// The stored value's JSON text.
    pub text: String,
    /// Its key info.
    pub info: KeyInfo,
}

/// User ids and metadata of a write (`DataStoreSetOptions`). Leaving them
/// empty clears them, as in Roblox.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteOptions {
    /// At most 4 user ids.
    pub user_ids: Vec<i64>,
    /// Metadata object (limits: key 50, value 250, all 300 characters).
    pub metadata: Map<String, Value>,
}

/// What an `update` transform decides.
#[derive(Clone, Debug, PartialEq)]
pub enum Transform {
    /// Write nothing (Luau's `return nil`).
    Cancel,
    /// Write this value with these user ids and metadata.
    Write {
        /// The new value.
        value: Value,
        /// Its user ids and metadata.
        options: WriteOptions,
    },
}

/// The condition of a conditional set (Open Cloud v1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// Unconditional.
    None,
    /// Only if the key has no live value (`exclusiveCreate`).
    ExclusiveCreate,
    /// Only if the latest version is this id (`matchVersion`).
    MatchVersion(String),
}

/// Result of a conditional set.
#[derive(Clone, Debug, PartialEq)]
pub enum SetOutcome {
    /// Written; the new key info.
    Written(KeyInfo),
    /// The precondition failed; nothing was written. `current` is the latest
    /// live value, if any (for 412 headers).
    PreconditionFailed {
        /// The current entry, when the key has a live value.
        current: Option<Entry>,
    },
}

/// One version in a version listing (`DataStoreObjectVersionInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionSummary {
    /// Version id.
    pub version: String,
    /// When this version was written, epoch ms.
    pub created_ms: i64,
    /// When the object was created, epoch ms.
    pub key_created_ms: i64,
    /// Tombstone?
    pub deleted: bool,
    /// Serialized value length in bytes.
    pub content_length: u64,
}

/// Options of [`DataStore::list_versions`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListVersionsOptions {
    /// Sort direction.
    pub order: SortOrder,
    /// Inclusive lower bound on creation time, epoch ms (None: unbounded).
    pub min_ms: Option<i64>,
    /// Inclusive upper bound on creation time, epoch ms (None: unbounded).
    pub max_ms: Option<i64>,
    /// Page size: 0 for the default (1024); at most 1024.
    pub page_size: usize,
    /// Cursor from a previous page.
    pub cursor: Option<String>,
}

/// A page of a listing; `cursor` is `None` on the last page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing<T> {
    /// The items.
    pub items: Vec<T>,
    /// Cursor of the next page, if any.
    pub cursor: Option<String>,
}

/// Options of [`DataStore::list_keys`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListKeysOptions {
    /// Key prefix (`scope/keyprefix` on an AllScopes data store).
    pub prefix: String,
    /// Page size: 0 for the default (50).
    pub page_size: usize,
    /// Cursor from a previous page.
    pub cursor: Option<String>,
    /// Skip keys whose latest version is a tombstone.
    pub exclude_deleted: bool,
}

/// A data store in a listing (`DataStoreInfo`).
pub use profilestore_plugin_api::DataStoreInfo;

/// Entry point of the DataStore layer (`DataStoreService`): one per storage.
#[derive(Clone, Debug)]
pub struct DataStoreService {
    backend: Backend,
    clock: Clock,
    config: Arc<DataStoreConfig>,
    faults: crate::faults::FaultPlan,
    /// The server's metrics (commits; engines on this service read them).
    metrics: crate::metrics::Metrics,
}

/// Where a service's data lives. Each public call of [`DataStore`] picks its
/// arm once (see `ops.rs`).
///
/// To add a backend: a new variant whose module implements every call of
/// `ops.rs` with the same meaning (validating with [`validate`] and
/// [`DataStore::scope_and_key`] before anything is sent or stored), one arm
/// per call in `ops.rs`, and a constructor on [`DataStoreService`]. A new
/// *database* is not a backend: it is a storage plugin under `Local`.
#[derive(Clone, Debug)]
enum Backend {
    /// A storage plugin in this process (with the latest-version cache).
    Local(local::Local),
    /// A profilestore server elsewhere, over Open Cloud v1.
    Remote(crate::remote::RemoteClient),
}

/// How many conflicting writes a read-modify-write (`UpdateAsync`,
/// `IncrementAsync`, a conditional set, `RemoveAsync`) tolerates before it
/// gives up on a hot key. A conflict only happens when another write landed,
/// so any cap is reached only under sustained contention; the caps differ by
/// what one retry costs.
#[derive(Debug)]
struct RetryCap;

impl RetryCap {
    /// Local: a retry is one compare-and-swap on the plugin (microseconds),
    /// so 10 000 retries are still well under a second of trying.
    const LOCAL: usize = 10_000;
    /// Remote: a retry is a read and a conditional write over HTTP (about a
    /// millisecond each on loopback), so 1000 retries already mean seconds.
    const REMOTE: usize = 1000;
}

/// The error of a read-modify-write that kept conflicting (both backends).
fn gave_up(call: &str, key: &str, attempts: usize) -> DataStoreError {
    DataStoreError::Storage(profilestore_plugin_api::StorageError::Unavailable(format!(
        "{call} gave up on key `{key}` after {attempts} conflicting writes"
    )))
}

/// A handle on one data store and scope (`GlobalDataStore`/`DataStore`).
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct DataStore {
    service: DataStoreService,
    universe: u64,
    name: String,
    /// `None` on an AllScopes data store: keys are then `scope/key`.
    scope: Option<String>,
}
