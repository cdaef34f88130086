//! The local backend's data store management: deleted stores and
//! snapshots, kept as plugin meta records and cached in the service.
//!
//! Owns: the meta records `datastore-state/{universe}/{name}` (present only
//! while a store is deleted: `{"state":"DELETED","createdMs","deletedMs",
//! "expireMs"}`) and `snapshot/{universe}` (`{"latestMs"}`), the
//! [`Registry`] caching both, the entry-call gate ([`Local::live`]), the
//! snapshot floor given to `Supersede::ReplaceSameWindow`, and the purge of
//! expired deleted stores. Invariants:
//! - the registry is read from storage once per service (on its first
//!   call that needs it: one `list_meta` per prefix), then kept in step by
//!   this service's own writes, so an entry call costs no storage read;
//! - a meta record is written before the registry changes, so what the
//!   cache says was durable first;
//! - another process sharing the database sees deletes, undeletes and
//!   snapshots made here when it (re)starts, or, with
//!   `DataStoreConfig::shared_state_refresh` set (several nodes on one
//!   database), within that interval: the registry is read again once it
//!   is older (one caller reads; the others use the cached state meanwhile).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use profilestore_plugin_api::{DataStoreInfo, StoreId, StoreQuery};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use super::{corrupt, Local};
use crate::datastore::manage::{
    deleted, store_page, ListStoresOptions, SnapshotOutcome, StoreState, StoreStatus, DAY_MS,
};
use crate::datastore::{cursor, DataStore, DataStoreError, DsResult, Listing};

const STATE_PREFIX: &str = "datastore-state/";
const SNAPSHOT_PREFIX: &str = "snapshot/";
/// How many stores one page hiding deleted ones checks at most (Roblox: 512).
const SCAN_LIMIT: usize = 512;

/// The meta record of a deleted data store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Tomb {
    /// Always `DELETED` (the record is removed on undelete).
    state: String,
    #[serde(rename = "createdMs")]
    created_ms: i64,
    #[serde(rename = "deletedMs")]
    deleted_ms: i64,
    #[serde(rename = "expireMs")]
    expire_ms: i64,
}

/// The meta record of a universe's latest snapshot.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct SnapshotRecord {
    #[serde(rename = "latestMs")]
    latest_ms: i64,
}

/// What the meta records say, cached.
#[derive(Debug, Default)]
struct Registry {
    deleted: HashMap<(u64, String), Tomb>,
    snapshots: HashMap<u64, i64>,
    /// When it was read from storage (clock ms), for the shared refresh.
    read_ms: i64,
}

/// The management state of a local service (shared by its clones).
#[derive(Clone, Debug, Default)]
pub(super) struct Manage {
    cell: Arc<OnceCell<Mutex<Registry>>>,
}

fn state_name(universe: u64, name: &str) -> String {
    format!("{STATE_PREFIX}{universe}/{name}")
}

fn snapshot_name(universe: u64) -> String {
    format!("{SNAPSHOT_PREFIX}{universe}")
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The registry the meta records describe.
fn registry_of(
    states: Vec<profilestore_plugin_api::MetaRecord>,
    snapshots: Vec<profilestore_plugin_api::MetaRecord>,
) -> DsResult<Registry> {
    let mut reg = Registry::default();
    for r in states {
        let rest = &r.name[STATE_PREFIX.len()..];
        let parsed = rest
            .split_once('/')
            .and_then(|(u, n)| Some((u.parse::<u64>().ok()?, n.to_owned())));
        let key = parsed.ok_or_else(|| corrupt("data store state name", &r.name))?;
        let tomb: Tomb = serde_json::from_str(&r.value).map_err(|e| corrupt(&r.name, e))?;
        reg.deleted.insert(key, tomb);
    }
    for r in snapshots {
        let universe = r.name[SNAPSHOT_PREFIX.len()..]
            .parse::<u64>()
            .map_err(|e| corrupt(&r.name, e))?;
        let s: SnapshotRecord = serde_json::from_str(&r.value).map_err(|e| corrupt(&r.name, e))?;
        reg.snapshots.insert(universe, s.latest_ms);
    }
    Ok(reg)
}

fn status(info: &DataStoreInfo, tomb: Option<&Tomb>) -> StoreStatus {
    StoreStatus {
        name: info.name.clone(),
        created_ms: tomb.map_or(info.created_ms, |t| t.created_ms),
        state: if tomb.is_some() {
            StoreState::Deleted
        } else {
            StoreState::Active
        },
        expire_ms: tomb.map(|t| t.expire_ms),
    }
}

impl Local {
    /// The registry, read from storage on first use (and again when the
    /// shared refresh interval passed).
    async fn registry(&self) -> DsResult<&Mutex<Registry>> {
        let reg = self.loaded_registry().await?;
        if let Some(every) = self.config.shared_state_refresh {
            let now = self.clock.now_ms();
            let every = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
            let stale = {
                let mut r = reg.lock();
                let stale = now.saturating_sub(r.read_ms) >= every;
                if stale {
                    // Claim this refresh: concurrent callers keep the old state.
                    r.read_ms = now;
                }
                stale
            };
            if stale {
                let fresh = self.read_registry().await?;
                *reg.lock() = fresh;
            }
        }
        Ok(reg)
    }

    /// The registry, read from storage on first use only.
    async fn loaded_registry(&self) -> DsResult<&Mutex<Registry>> {
        self.manage
            .cell
            .get_or_try_init(|| async { self.read_registry().await.map(Mutex::new) })
            .await
    }

    async fn read_registry(&self) -> DsResult<Registry> {
        let read_ms = self.clock.now_ms();
        let (states, snaps) = self
            .storage
            .call(|p| Ok((p.list_meta(STATE_PREFIX)?, p.list_meta(SNAPSHOT_PREFIX)?)))
            .await?;
        let mut reg = registry_of(states, snaps)?;
        reg.read_ms = read_ms;
        Ok(reg)
    }

    /// Reads the meta records again after the storage changed underneath
    /// this service (a snapshot restored, a universe wiped), and forgets
    /// every cached latest version.
    pub(in crate::datastore) async fn reload(&self) -> DsResult<()> {
        self.latest.clear();
        // Not `registry()`: its refresh would read the records a second time.
        let reg = self.loaded_registry().await?;
        let fresh = self.read_registry().await?;
        *reg.lock() = fresh;
        Ok(())
    }

    /// The gate of every entry call: `DataStoreDeleted` while `ds`'s store
    /// is deleted. Also loads the registry, so [`Local::snapshot_floor`] is
    /// right for the commit that follows.
    pub(in crate::datastore) async fn live(&self, ds: &DataStore) -> DsResult<()> {
        let reg = self.registry().await?;
        let key = (ds.universe(), ds.name().to_owned());
        if reg.lock().deleted.contains_key(&key) {
            return Err(deleted(ds.name()));
        }
        Ok(())
    }

    /// The time of `universe`'s latest snapshot (`i64::MIN` when none):
    /// versions created before it are never replaced.
    pub(super) fn snapshot_floor(&self, universe: u64) -> i64 {
        self.manage
            .cell
            .get()
            .and_then(|reg| reg.lock().snapshots.get(&universe).copied())
            .unwrap_or(i64::MIN)
    }

    /// The stored data store `name` (holding at least one entry), if any.
    async fn find_store(&self, universe: u64, name: &str) -> DsResult<Option<DataStoreInfo>> {
        let query = StoreQuery {
            universe,
            prefix: name.to_owned(),
            after: None,
            limit: 1,
        };
        let page = self
            .storage
            .call(move |p| p.list_data_stores(&query))
            .await?;
        Ok(page.items.into_iter().find(|s| s.name == name))
    }

    async fn write_meta(&self, name: String, value: Option<String>) -> DsResult<()> {
        self.storage
            .call(move |p| p.write_meta(&name, value.as_deref()))
            .await?;
        Ok(())
    }

    /// See [`crate::datastore::DataStoreService::delete_data_store`].
    pub(in crate::datastore) async fn delete_data_store(
        &self,
        universe: u64,
        name: &str,
    ) -> DsResult<StoreStatus> {
        let reg = self.registry().await?;
        let key = (universe, name.to_owned());
        if let Some(tomb) = reg.lock().deleted.get(&key) {
            return Ok(deleted_status(name, tomb));
        }
        let Some(info) = self.find_store(universe, name).await? else {
            return Err(DataStoreError::DataStoreNotFound {
                name: name.to_owned(),
            });
        };
        let now = self.clock.now_ms();
        let expiry = i64::try_from(self.config.version_expiry.as_millis()).unwrap_or(i64::MAX);
        let tomb = Tomb {
            state: "DELETED".to_owned(),
            created_ms: info.created_ms,
            deleted_ms: now,
            expire_ms: now.saturating_add(expiry),
        };
        self.write_meta(state_name(universe, name), Some(json(&tomb)))
            .await?;
        reg.lock().deleted.insert(key, tomb.clone());
        Ok(deleted_status(name, &tomb))
    }

    /// See [`crate::datastore::DataStoreService::undelete_data_store`].
    pub(in crate::datastore) async fn undelete_data_store(
        &self,
        universe: u64,
        name: &str,
    ) -> DsResult<StoreStatus> {
        let reg = self.registry().await?;
        let key = (universe, name.to_owned());
        let tomb = reg.lock().deleted.get(&key).cloned();
        let not_found = || DataStoreError::DataStoreNotFound {
            name: name.to_owned(),
        };
        let Some(tomb) = tomb else {
            return match self.find_store(universe, name).await? {
                Some(_) => Err(DataStoreError::DataStoreNotDeleted {
                    name: name.to_owned(),
                }),
                None => Err(not_found()),
            };
        };
        if tomb.expire_ms <= self.clock.now_ms() {
            // Permanent deletion has begun (the purge will finish it).
            return Err(not_found());
        }
        self.write_meta(state_name(universe, name), None).await?;
        reg.lock().deleted.remove(&key);
        Ok(StoreStatus {
            name: name.to_owned(),
            created_ms: tomb.created_ms,
            state: StoreState::Active,
            expire_ms: None,
        })
    }

    /// Drops deleted stores from a page of `ListDataStoresAsync`/v1.
    pub(super) async fn hide_deleted(
        &self,
        universe: u64,
        items: &mut Vec<DataStoreInfo>,
    ) -> DsResult<()> {
        let reg = self.registry().await?;
        let reg = reg.lock();
        items.retain(|s| !reg.deleted.contains_key(&(universe, s.name.clone())));
        Ok(())
    }

    /// See [`crate::datastore::DataStoreService::list_data_stores_with`].
    pub(in crate::datastore) async fn list_stores(
        &self,
        universe: u64,
        options: &ListStoresOptions,
    ) -> DsResult<Listing<StoreStatus>> {
        let page = store_page(options.page_size);
        let shown = if options.show_deleted { "all" } else { "live" };
        let fp = cursor::fingerprint(&["stores-v2", &universe.to_string(), &options.prefix, shown]);
        let mut after: Option<String> = options
            .cursor
            .as_deref()
            .map(|c| cursor::decode(c, fp))
            .transpose()?;
        let reg = self.registry().await?;
        let (mut items, mut checked, mut more) = (Vec::new(), 0, true);
        while more && items.len() < page && checked < SCAN_LIMIT {
            let query = StoreQuery {
                universe,
                prefix: options.prefix.clone(),
                after: after.clone(),
                limit: (page - items.len()).min(SCAN_LIMIT - checked),
            };
            let got = self
                .storage
                .call(move |p| p.list_data_stores(&query))
                .await?;
            more = got.more;
            let reg = reg.lock();
            for info in got.items {
                checked += 1;
                let tomb = reg.deleted.get(&(universe, info.name.clone()));
                if options.show_deleted || tomb.is_none() {
                    items.push(status(&info, tomb));
                }
                after = Some(info.name);
            }
        }
        let cursor = match (more, after) {
            (true, Some(last)) => Some(cursor::encode(fp, &last)),
            _ => None,
        };
        Ok(Listing { items, cursor })
    }

    /// See [`crate::datastore::DataStoreService::snapshot`].
    pub(in crate::datastore) async fn take_snapshot(
        &self,
        universe: u64,
    ) -> DsResult<SnapshotOutcome> {
        let reg = self.registry().await?;
        let now = self.clock.now_ms();
        let last = reg.lock().snapshots.get(&universe).copied();
        if let Some(last) = last.filter(|l| l.div_euclid(DAY_MS) == now.div_euclid(DAY_MS)) {
            return Ok(SnapshotOutcome {
                new_snapshot_taken: false,
                latest_ms: last,
            });
        }
        let record = json(&SnapshotRecord { latest_ms: now });
        self.write_meta(snapshot_name(universe), Some(record))
            .await?;
        reg.lock().snapshots.insert(universe, now);
        Ok(SnapshotOutcome {
            new_snapshot_taken: true,
            latest_ms: now,
        })
    }

    /// Purges every deleted store whose expiry passed: all its entries and
    /// versions (plugin `purge_store`), then its meta record. Returns how
    /// many entries were removed.
    pub(super) async fn purge_deleted_stores(&self) -> DsResult<u64> {
        let reg = self.registry().await?;
        let now = self.clock.now_ms();
        let expired: Vec<(u64, String)> = reg
            .lock()
            .deleted
            .iter()
            .filter(|(_, t)| t.expire_ms <= now)
            .map(|(k, _)| k.clone())
            .collect();
        let mut entries = 0;
        for (universe, name) in expired {
            let store = StoreId {
                universe,
                name: name.clone(),
            };
            entries += self.storage.call(move |p| p.purge_store(&store)).await?;
            self.write_meta(state_name(universe, &name), None).await?;
            reg.lock().deleted.remove(&(universe, name));
        }
        Ok(entries)
    }
}

fn deleted_status(name: &str, tomb: &Tomb) -> StoreStatus {
    StoreStatus {
        name: name.to_owned(),
        created_ms: tomb.created_ms,
        state: StoreState::Deleted,
        expire_ms: Some(tomb.expire_ms),
    }
}

impl Local {
    /// [`Local::live`] after `key`'s addressing is validated (so a bad key
    /// fails the same way on every backend, deleted store or not); returns
    /// `self` for the call that follows.
    pub(in crate::datastore) async fn live_key(
        &self,
        ds: &DataStore,
        key: &str,
    ) -> DsResult<&Self> {
        ds.scope_and_key(key)?;
        self.live(ds).await?;
        Ok(self)
    }
}
