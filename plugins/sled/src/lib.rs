//! The sled storage plugin of profilestore.
//!
//! Owns: [`SledPlugin`], its tree layout and key encoding. Invariants:
//! - every commit is one sled transaction over the `heads` and `versions`
//!   trees: the expectation check and the writes are atomic (sled's own
//!   optimistic transactions, not a lock of ours); sled itself allows one
//!   process per database;
//! - durability: `full` flushes to disk before a commit returns, the
//!   commits arriving together sharing one flush (group commit, `group.rs`:
//!   a commit returns only after a flush that started after its
//!   transaction), `normal`
//!   flushes in the background every 500 ms (a crash can lose up to that
//!   much), `off` flushes only on [`StoragePlugin::flush`](profilestore_plugin_api::StoragePlugin::flush) and drop (a crash
//!   can lose everything since);
//! - the `meta` tree records the format version; a database of another
//!   version is refused at open;
//! - entry keys encode (universe, store, scope, key) so that byte order is
//!   tuple order: universe big-endian, then each string with `00` escaped
//!   as `00 FF` and terminated by `00 01`.
//!
//! Layout: `heads[entry] = Head`, `versions[entry ++ seq_be] = record`
//! (the shared codec; listings decode only its info header),
//! `stores[universe_be ++ name] = created_ms` (written once, before the
//! first commit into the store; listings skip stores without live entries).
//! The ordered capability adds `ordered_values`, `ordered_index` and
//! `meta_records` (see `ordered.rs`): new trees, opened empty in a folder
//! written before them, so the format version stays 1 and older builds
//! still open newer folders (they ignore the trees).

#![warn(missing_docs)]

mod group;
mod image;
mod keys;
mod ops;
mod ordered;
mod shared;

use std::path::Path;

use profilestore_plugin_api::codec::FORMAT_VERSION;
use profilestore_plugin_api::{Durability, StorageError, StorageResult};
use serde::{Deserialize, Serialize};

pub use group::{GroupStats, GROUP_BUCKETS};

/// sled's page cache. Its default (1 GiB) makes a busy server's memory grow
/// with the data written until a gigabyte is cached (measured by
/// `benches/load.rs`: about 1 MiB/s under a save-heavy load).
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// The sled plugin: one database folder.
#[derive(Debug)]
pub struct SledPlugin {
    db: sled::Db,
    heads: sled::Tree,
    versions: sled::Tree,
    stores: sled::Tree,
    ordered_values: sled::Tree,
    ordered_index: sled::Tree,
    meta_records: sled::Tree,
    shared_log: sled::Tree,
    shared_records: sled::Tree,
    shared_counters: sled::Tree,
    durability: Durability,
    group: group::FlushGroup,
}

/// Per-entry head record: enough to decide a commit without reading any
/// version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Head {
    pub max_seq: u64,
    pub latest: Option<u64>,
    pub latest_deleted: bool,
    pub latest_created_ms: i64,
    pub latest_key_created_ms: i64,
    /// Time of the entry's last commit (the data store's updated time is
    /// the largest of its entries').
    pub updated_ms: i64,
}

/// Maps a sled error.
pub(crate) fn sled_error(err: sled::Error) -> StorageError {
    StorageError::Backend(Box::new(err))
}

pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt {
        what: what.to_owned(),
        detail: err.to_string(),
    }
}

/// Opens `config`, waiting up to 2 s for the folder's lock: a `SledPlugin`
/// dropped in this process releases it only once sled's background threads
/// have stopped, a moment later. Another process holding it still fails.
fn open_waiting_for_lock(config: &sled::Config) -> sled::Result<sled::Db> {
    let mut waited = std::time::Duration::ZERO;
    let step = std::time::Duration::from_millis(20);
    loop {
        match config.open() {
            // sled reports the lock as an `Other` I/O error with this text.
            Err(sled::Error::Io(e))
                if e.to_string().starts_with("could not acquire lock")
                    && waited < std::time::Duration::from_secs(2) =>
            {
                std::thread::sleep(step);
                waited += step;
            }
            other => return other,
        }
    }
}

impl SledPlugin {
    /// Opens (creating when missing) the database folder at `path`.
    pub fn open(path: &Path, durability: Durability) -> StorageResult<SledPlugin> {
        let open_error = |detail: String| StorageError::Open {
            path: path.display().to_string(),
            detail,
        };
        let flush_every = match durability {
            Durability::Normal => Some(500),
            Durability::Full | Durability::Off => None,
        };
        let config = sled::Config::new()
            .path(path)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(flush_every);
        let db = open_waiting_for_lock(&config).map_err(|e| {
            if matches!(&e, sled::Error::Io(io) if io.to_string().starts_with("could not acquire lock")) {
                open_error(format!(
                    "another process holds this sled folder ({e}): sled allows one process \
                     at a time, so use a folder not used by another running profilestore"
                ))
            } else {
                open_error(format!(
                    "{e}; the path must be a writable folder not used by another running profilestore"
                ))
            }
        })?;
        let tree = |name: &str| db.open_tree(name).map_err(sled_error);
        let meta = tree("meta")?;
        let plugin = SledPlugin {
            heads: tree("heads")?,
            versions: tree("versions")?,
            stores: tree("stores")?,
            ordered_values: tree("ordered_values")?,
            ordered_index: tree("ordered_index")?,
            meta_records: tree("meta_records")?,
            shared_log: tree("shared_log")?,
            shared_records: tree("shared_records")?,
            shared_counters: tree("shared_counters")?,
            db,
            durability,
            group: group::FlushGroup::default(),
        };
        match meta.get("format_version").map_err(sled_error)? {
            None => {
                meta.insert("format_version", &FORMAT_VERSION.to_be_bytes())
                    .map_err(sled_error)?;
                plugin.db.flush().map_err(sled_error)?;
            }
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_ref()).map_or(u32::MAX, u32::from_be_bytes);
                if found != FORMAT_VERSION {
                    return Err(StorageError::UnsupportedFormat {
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
            }
        }
        Ok(plugin)
    }

    /// Makes a write durable when the durability mode asks for it: in
    /// `full`, waits for a flush covering it, shared with the writes that
    /// arrive meanwhile.
    pub(crate) fn after_write(&self) -> StorageResult<()> {
        if self.durability == Durability::Full {
            self.group
                .write_done(|| self.db.flush().map(drop).map_err(|e| e.to_string()))?;
        }
        Ok(())
    }

    /// What group commit did since this database opened: flushes, the
    /// writes they covered and the group sizes (`full` durability only).
    pub fn group_stats(&self) -> GroupStats {
        self.group.stats()
    }
}

impl Drop for SledPlugin {
    fn drop(&mut self) {
        // Best effort: `off` and `normal` promise nothing, but a clean exit
        // should not lose data.
        let _ = self.db.flush();
    }
}
