//! The storage plugin contract of profilestore.
//!
//! Owns: the types every storage plugin speaks ([`EntryId`], [`VersionRecord`],
//! [`Commit`], queries and pages), the [`StoragePlugin`] trait, the shared
//! on-disk record codec ([`codec`]) and, behind the `conformance` feature, the
//! conformance suite every plugin must pass ([`conformance`]).
//!
//! Invariants a plugin guarantees (each is checked by the conformance suite):
//! - **Atomic compare-and-swap.** [`StoragePlugin::commit`] checks its
//!   [`Expect`] and writes the new version in one transaction of the backing
//!   store (its own transaction or compare-and-swap, never a lock inside this
//!   process), so several processes sharing one database stay correct.
//! - **Sequence numbers never repeat** for one entry while any version of it
//!   is stored: each commit gets `max(seq ever assigned) + 1`, starting at 1,
//!   even when the previous latest was replaced or removed.
//! - **Version times never go backwards** within one entry:
//!   `created_ms = max(now_ms, latest.created_ms)`.
//! - **Durability.** With [`Durability::Full`], a commit that returned `Ok` is
//!   on stable storage.
//!
//! This crate depends on nothing of profilestore and knows nothing of HTTP or
//! JSON: values travel as JSON text the caller has already validated.

#![warn(missing_docs)]

pub mod codec;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod groups;
pub mod image;
pub mod ordered;
pub mod shared;

pub use groups::{GroupSizeCounter, GroupSizes, GROUP_SIZE_BOUNDS};
pub use image::{EntryImage, OrderedEntry, StoreImage, StoreTimes};

pub use shared::{LogMessage, RecordExpect, RecordOutcome, RecordWrite, SharedRecord};

pub use ordered::{
    MetaRecord, OrderedExpect, OrderedOutcome, OrderedQuery, OrderedRecord, OrderedWrite,
};

use serde::{Deserialize, Serialize};

/// The per-entry write sequence number (field 2 of a Roblox version id).
pub type Seq = u64;

/// One data store of one universe (experience).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreId {
    /// Universe (experience) id, `game.GameId`.
    pub universe: u64,
    /// Data store name, 1..=50 bytes (validated by the caller).
    pub name: String,
}

/// One entry: (universe, data store, scope, key).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId {
    /// The data store the entry lives in.
    pub store: StoreId,
    /// Scope, 1..=50 bytes (`"global"` by default).
    pub scope: String,
    /// Key, 1..=50 bytes.
    pub key: String,
}

impl EntryId {
    /// Builds an entry id from its four parts.
    pub fn new(
        universe: u64,
        store: impl Into<String>,
        scope: impl Into<String>,
        key: impl Into<String>,
    ) -> Self {
        EntryId {
            store: StoreId {
                universe,
                name: store.into(),
            },
            scope: scope.into(),
            key: key.into(),
        }
    }
}

/// Everything about one stored version except its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// Write sequence number of this version, unique within the entry.
    pub seq: Seq,
    /// When the object (key) was created, epoch ms. A write onto a missing or
    /// deleted latest version starts a new object: `key_created_ms = created_ms`.
    pub key_created_ms: i64,
    /// When this version was written, epoch ms.
    pub created_ms: i64,
    /// True for a tombstone (written by a delete).
    pub deleted: bool,
    /// Length of the value's JSON text in bytes (0 for tombstones).
    pub content_length: u64,
}

/// One stored version with its value, user ids and metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRecord {
    /// Sequence, times and flags.
    pub info: VersionInfo,
    /// The value as JSON text; empty for tombstones.
    pub value: String,
    /// User ids attached by the write (at most 4, validated by the caller).
    pub user_ids: Vec<i64>,
    /// User metadata as JSON object text (`{}` when none).
    pub metadata: String,
}

/// The content of a version to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVersion {
    /// True to write a tombstone; `value` must then be empty.
    pub deleted: bool,
    /// JSON text of the value (already validated by the caller).
    pub value: String,
    /// User ids of the write.
    pub user_ids: Vec<i64>,
    /// Metadata as JSON object text.
    pub metadata: String,
}

impl NewVersion {
    /// A tombstone: no value, no user ids, no metadata.
    pub fn tombstone() -> Self {
        NewVersion {
            deleted: true,
            value: String::new(),
            user_ids: Vec::new(),
            metadata: "{}".to_owned(),
        }
    }
}

/// The condition a commit checks atomically against the entry's current
/// latest version (the one [`StoragePlugin::read_latest`] returns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Unconditional write.
    Any,
    /// The current latest version must be exactly this one: `None` means
    /// "no current version" (must not exist); `Some(seq)` means the latest
    /// is `seq`, tombstone or not.
    Current(Option<Seq>),
}

/// Whether the new version keeps the previous latest as a backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Supersede {
    /// Every write is a version (`per_write` retention).
    Keep,
    /// Roblox's `per_utc_hour` rule: when the current latest was created in
    /// the same window (`created_ms.div_euclid(window_ms)` equal to
    /// `now_ms.div_euclid(window_ms)`) and not before `not_before_ms` (the
    /// last snapshot), the new version permanently replaces it. The sequence
    /// number still advances.
    ReplaceSameWindow {
        /// Window length in ms (3 600 000 for UTC hours).
        window_ms: i64,
        /// Versions created before this time (a snapshot) are always kept.
        not_before_ms: i64,
    },
}

/// A request to write one new version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The entry written.
    pub entry: EntryId,
    /// Condition checked atomically with the write.
    pub expect: Expect,
    /// The writer's clock, epoch ms (plugins never read a clock themselves).
    pub now_ms: i64,
    /// Backup rule.
    pub supersede: Supersede,
    /// What to write.
    pub version: NewVersion,
}

/// What a commit writes, decided from the entry's current latest version:
/// the contract's rules in one place, shared by every plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitPlan {
    /// The new version's info.
    pub info: VersionInfo,
    /// Whether the current latest version is replaced (removed) by it.
    pub replace_latest: bool,
}

impl Commit {
    /// Plans this commit over the current `latest` version (if any) of an
    /// entry whose highest sequence ever assigned is `max_seq`:
    /// `seq = max_seq + 1`, `created_ms = max(now_ms, latest.created_ms)`,
    /// `key_created_ms` carried over from a live latest version, and the
    /// [`Supersede`] rule. It does not check [`Expect`].
    pub fn plan(&self, latest: Option<&VersionInfo>, max_seq: Seq) -> CommitPlan {
        let created_ms = latest.map_or(self.now_ms, |l| l.created_ms.max(self.now_ms));
        let key_created_ms = match latest {
            Some(l) if !l.deleted => l.key_created_ms,
            _ => created_ms,
        };
        let replace_latest = match (self.supersede, latest) {
            (
                Supersede::ReplaceSameWindow {
                    window_ms,
                    not_before_ms,
                },
                Some(l),
            ) => {
                l.created_ms.div_euclid(window_ms) == created_ms.div_euclid(window_ms)
                    && l.created_ms >= not_before_ms
            }
            _ => false,
        };
        let v = &self.version;
        CommitPlan {
            info: VersionInfo {
                seq: max_seq + 1,
                key_created_ms,
                created_ms,
                deleted: v.deleted,
                content_length: if v.deleted { 0 } else { v.value.len() as u64 },
            },
            replace_latest,
        }
    }

    /// The record this commit stores (a tombstone stores no value).
    pub fn record(&self, info: VersionInfo) -> VersionRecord {
        let v = &self.version;
        VersionRecord {
            info,
            value: if v.deleted {
                String::new()
            } else {
                v.value.clone()
            },
            user_ids: v.user_ids.clone(),
            metadata: v.metadata.clone(),
        }
    }
}

/// Result of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitOutcome {
    /// Written; the new version's info.
    Committed(VersionInfo),
    /// The [`Expect`] did not hold; nothing was written. Carries the current
    /// latest version so a caller can retry (or report it) without a read.
    Conflict {
        /// The entry's current latest version, if any.
        current: Option<VersionRecord>,
    },
}

/// Order of a listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Oldest (lowest sequence) first.
    #[default]
    Ascending,
    /// Newest first.
    Descending,
}

/// A page of results: `more` is true when a further call starting after the
/// last item can return more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in the requested order.
    pub items: Vec<T>,
    /// Whether more items exist after the last one.
    pub more: bool,
}

/// Query for [`StoragePlugin::list_versions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionQuery {
    /// Order by sequence.
    pub order: SortOrder,
    /// Only versions with `created_ms >= min_ms` (inclusive), when set.
    pub min_ms: Option<i64>,
    /// Only versions with `created_ms <= max_ms` (inclusive), when set.
    pub max_ms: Option<i64>,
    /// Resume after this sequence (exclusive, in the listing's order).
    pub after: Option<Seq>,
    /// Page size, at least 1.
    pub limit: usize,
}

/// One key returned by a key listing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyName {
    /// The key's scope.
    pub scope: String,
    /// The key.
    pub key: String,
}

/// Query for [`StoragePlugin::list_keys`]. Keys are ordered by
/// `(scope, key)` as byte strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyQuery {
    /// The data store listed.
    pub store: StoreId,
    /// One scope, or `None` for all scopes.
    pub scope: Option<String>,
    /// Prefix filter: matched against the key when `scope` is set, and
    /// against `"scope/key"` when listing all scopes (Roblox's AllScopes).
    pub prefix: String,
    /// Resume after this key (exclusive).
    pub after: Option<KeyName>,
    /// Page size, at least 1.
    pub limit: usize,
    /// Whether keys whose latest version is a tombstone are listed.
    pub include_deleted: bool,
}

/// One data store returned by [`StoragePlugin::list_data_stores`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataStoreInfo {
    /// Name of the data store.
    pub name: String,
    /// First write into it, epoch ms.
    pub created_ms: i64,
    /// Latest write into it, epoch ms.
    pub updated_ms: i64,
}

/// Query for [`StoragePlugin::list_data_stores`], ordered by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreQuery {
    /// Universe listed.
    pub universe: u64,
    /// Name prefix filter.
    pub prefix: String,
    /// Resume after this name (exclusive).
    pub after: Option<String>,
    /// Page size, at least 1.
    pub limit: usize,
}

/// What [`StoragePlugin::purge_expired`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeStats {
    /// Versions removed.
    pub versions: u64,
    /// Entries removed entirely (their tombstone expired).
    pub entries: u64,
}

/// How hard a plugin works to keep an acknowledged commit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Every acknowledged commit is on stable storage (fsync before `Ok`).
    #[default]
    Full,
    /// Commits survive a crash of the process but the last ones may be lost
    /// on power failure or OS crash.
    Normal,
    /// No syncing at all: fastest, for tests; a crash may lose recent commits.
    Off,
}

impl std::str::FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Durability::Full),
            "normal" => Ok(Durability::Normal),
            "off" => Ok(Durability::Off),
            other => Err(format!(
                "unknown durability `{other}`: expected `full`, `normal` or `off`"
            )),
        }
    }
}

/// Errors a plugin reports. Conditional-write failures are not errors (see
/// [`CommitOutcome::Conflict`]).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The stored data was written by a newer (or unknown) format.
    #[error(
        "storage format version {found} is not supported by this build (it reads version {supported}); \
         open this data with the profilestore release that wrote it, or export and re-import it"
    )]
    UnsupportedFormat {
        /// Version found on disk.
        found: u32,
        /// Version this build reads and writes.
        supported: u32,
    },
    /// A stored record could not be decoded.
    #[error("corrupt record in storage ({what}): {detail}")]
    Corrupt {
        /// Which record.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The storage could not be opened.
    #[error("cannot open storage at {path}: {detail}")]
    Open {
        /// Path or address of the storage.
        path: String,
        /// Why.
        detail: String,
    },
    /// A transient failure (busy database, lock timeout): retrying may work.
    #[error("storage temporarily unavailable: {0}")]
    Unavailable(String),
    /// Any other backend failure.
    #[error("storage backend error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Result alias of this crate.
pub type StorageResult<T> = Result<T, StorageError>;

/// The storage plugin contract. Calls block; callers run them off the async
/// runtime. Implementations are shared across threads.
pub trait StoragePlugin: Send + Sync + std::fmt::Debug + 'static {
    /// Short name of the plugin (`memory`, `sled`, `sqlite`).
    fn name(&self) -> &'static str;

    /// Whether calls may block the thread (disk or network I/O). Callers run
    /// blocking plugins on a blocking-task pool and call the others inline.
    fn is_blocking(&self) -> bool {
        true
    }

    /// How many commits each transaction of this plugin's group commit
    /// held, since it opened (the server's metrics read it at scrape);
    /// `None` for a plugin that commits one at a time.
    fn commit_group_sizes(&self) -> Option<GroupSizes> {
        None
    }

    /// The entry's latest version (tombstones included), or `None` when it
    /// has no current version (never written, purged, or its latest version
    /// was removed with [`StoragePlugin::remove_version`]).
    fn read_latest(&self, entry: &EntryId) -> StorageResult<Option<VersionRecord>>;

    /// One version by sequence number, or `None` if it is not stored.
    fn read_version(&self, entry: &EntryId, seq: Seq) -> StorageResult<Option<VersionRecord>>;

    /// Atomically checks `commit.expect` and writes a new latest version with
    /// sequence `max assigned + 1`, `created_ms = max(now_ms, latest.created_ms)`
    /// and `key_created_ms` carried over from a live (non-deleted) latest
    /// version, else equal to `created_ms`. Applies `commit.supersede`.
    /// Updates the data store's created/updated times.
    fn commit(&self, commit: &Commit) -> StorageResult<CommitOutcome>;

    /// Versions of an entry (tombstones included), filtered by creation time
    /// and paged by sequence.
    fn list_versions(
        &self,
        entry: &EntryId,
        query: &VersionQuery,
    ) -> StorageResult<Page<VersionInfo>>;

    /// Keys of a data store that have a current version, in `(scope, key)`
    /// order.
    fn list_keys(&self, query: &KeyQuery) -> StorageResult<Page<KeyName>>;

    /// Data stores of a universe holding at least one entry with a current
    /// version, in name order.
    fn list_data_stores(&self, query: &StoreQuery) -> StorageResult<Page<DataStoreInfo>>;

    /// Permanently removes one version (no tombstone). Returns whether it
    /// existed. Removing the latest leaves the entry with no current version;
    /// older versions stay readable and sequence numbers keep advancing.
    fn remove_version(&self, entry: &EntryId, seq: Seq) -> StorageResult<bool>;

    /// Permanently removes every expired version: a non-latest version whose
    /// next stored version was created before `cutoff_ms`, and a latest
    /// tombstone created before `cutoff_ms` (with the entry itself). The
    /// latest live version never expires.
    fn purge_expired(&self, cutoff_ms: i64) -> StorageResult<PurgeStats>;

    /// Makes every acknowledged commit durable (used at shutdown, whatever
    /// the durability mode).
    fn flush(&self) -> StorageResult<()>;

    /// Permanently removes every entry and version of one standard data
    /// store (the purge of a data store deleted through Open Cloud). Returns
    /// how many entries it removed. Ordered entries are not touched.
    fn purge_store(&self, store: &StoreId) -> StorageResult<u64>;

    /// The value of an ordered entry, or `None` when it is absent. Ordered
    /// entries are a namespace of their own (see [`ordered`]).
    fn ordered_read(&self, entry: &EntryId) -> StorageResult<Option<i64>>;

    /// Atomically checks `write.expect` and sets (or, with `value: None`,
    /// removes) the ordered entry. Removing an absent entry is `Written`
    /// with `previous: None`.
    fn ordered_write(&self, write: &OrderedWrite) -> StorageResult<OrderedOutcome>;

    /// One page of a scope in `(value, key)` order (reversed for
    /// descending), filtered by `min`/`max` and resumed after `after`. Must
    /// be served from an index: its cost grows with the page, not the scope.
    fn ordered_range(&self, query: &OrderedQuery) -> StorageResult<Page<OrderedRecord>>;

    /// A metadata record by name, or `None`.
    fn read_meta(&self, name: &str) -> StorageResult<Option<String>>;

    /// Writes (`Some`) or removes (`None`) a metadata record, durably under
    /// the plugin's durability mode.
    fn write_meta(&self, name: &str, value: Option<&str>) -> StorageResult<()>;

    /// Every metadata record whose name starts with `prefix`, in name order.
    fn list_meta(&self, prefix: &str) -> StorageResult<Vec<MetaRecord>>;

    /// Everything stored, as a [`StoreImage`] (see [`image`]).
    fn export_image(&self) -> StorageResult<StoreImage>;

    /// Atomically replaces everything stored with `image`: afterwards the
    /// plugin holds exactly the image; on error, what it held before.
    fn import_image(&self, image: &StoreImage) -> StorageResult<()>;

    /// Atomically removes everything of one universe: its standard entries
    /// and data stores, its ordered entries and the metadata records
    /// [`image::meta_universe`] gives it. Returns the standard and ordered
    /// entries removed.
    fn purge_universe(&self, universe: u64) -> StorageResult<u64>;

    /// Appends a message to the shared message log and returns its number
    /// (assigned in commit order, never reused: see [`shared`]). Durable
    /// under the plugin's durability mode.
    fn log_append(&self, topic: &str, data: &str, sent_ms: i64) -> StorageResult<u64>;

    /// Messages numbered above `after`, in number order, at most `limit`.
    fn log_read(&self, after: u64, limit: usize) -> StorageResult<Vec<LogMessage>>;

    /// The highest number the log ever assigned (0 before the first
    /// append), also after trimming: where a new reader starts.
    fn log_head(&self) -> StorageResult<u64>;

    /// Removes every message sent before `cutoff_ms`; returns how many.
    fn log_trim(&self, cutoff_ms: i64) -> StorageResult<u64>;

    /// A wake-up hint: blocks up to `timeout` until a message above `after`
    /// may exist. Returns `false` at once when the plugin has no hint (the
    /// caller then polls on its own schedule); `true` after waiting (woken
    /// or timed out). Correctness never depends on it: a reader still reads
    /// with [`StoragePlugin::log_read`].
    fn log_wait(&self, after: u64, timeout: std::time::Duration) -> StorageResult<bool> {
        let _ = (after, timeout);
        Ok(false)
    }

    /// A versioned record by name, or `None`.
    fn record_read(&self, name: &str) -> StorageResult<Option<SharedRecord>>;

    /// Atomically checks `expect` and writes (`Some`) or removes (`None`)
    /// the record (see [`shared`] for versions).
    fn record_swap(
        &self,
        name: &str,
        expect: RecordExpect,
        value: Option<&str>,
    ) -> StorageResult<RecordOutcome>;

    /// Several swaps in one transaction of the backing store (one durable
    /// commit, so one fsync for all of them): each write is checked and
    /// applied in order against the records as the writes before it left
    /// them, exactly as [`record_swap`](Self::record_swap) would, and
    /// answered by one outcome, in order. A write whose expectation fails
    /// changes nothing and the others still apply; an `Err` means none of
    /// them was applied. Across nodes, writers that lock several records
    /// should name them in the same order (databases that lock rows may
    /// otherwise deadlock and retry).
    fn record_swap_all(&self, writes: &[RecordWrite]) -> StorageResult<Vec<RecordOutcome>>;

    /// Every record whose name starts with `prefix`, in name order (bytewise).
    fn record_list(&self, prefix: &str) -> StorageResult<Vec<SharedRecord>>;
}
