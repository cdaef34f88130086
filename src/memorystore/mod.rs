//! Roblox's MemoryStoreService: sorted maps, queues and hash maps.
//!
//! Owns: the memory store API the HTTP server, the CLI and Rust users call
//! ([`MemoryStoreService`] and its handles [`SortedMap`], [`Queue`],
//! [`HashMap`]), its limits (`limits`) and errors (`error`), expirations
//! on the one clock, and the backend seam: the structures run here
//! (`near.rs`: the operations of `universe.rs` over `sorted_map.rs`,
//! `queue.rs`, `hash_map.rs`, kept in this process's memory by `local.rs`
//! or in the storage plugin's shared records by `shared.rs`, so every node
//! of a cluster sees one set) or on a profilestore server over the engine
//! API (`remote.rs`). Invariants: time comes from the injected [`Clock`];
//! an expired item is never returned; a rejected call changes nothing;
//! every backend checks inputs with the same functions before anything
//! changes or is sent.
//!
//! **Local memory stores are not durable**, as on Roblox: they live in
//! the memory of the server process, and a restart (or
//! [`MemoryStoreService::flush`]) forgets every item. Shared ones live as
//! long as the database's records (a flush forgets them). Universes are
//! separate; each has the quota of [`MemoryConfig`].

mod error;
mod hash_map;
mod limits;
mod local;
mod near;
mod queue;
mod remote;
mod shared;
mod sorted_map;
mod types;
mod universe;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::faults::{FaultPlan, Operation as Op, Target};
use crate::remote::RemoteClient;
use near::Near;
use profilestore_plugin_api::StorageError;

pub use error::MemoryStoreError;
pub use limits::*;
pub use types::*;

/// A copy of a service's memory stores ([`MemoryStoreService::export`]).
#[derive(Clone, Debug, Default)]
pub struct MemoryImage(local::Image);

impl MemoryImage {
    /// Items held (expired ones not yet reclaimed included).
    pub fn items(&self) -> u64 {
        self.0.items()
    }

    /// Bytes held, as the quota counts them.
    pub fn bytes(&self) -> u64 {
        self.0.bytes()
    }
}

/// Where a memory store service's calls go.
#[derive(Clone, Debug)]
enum Backend {
    /// The structures run here (local memory or shared records).
    Near(Near),
    /// A profilestore server (engine API).
    Remote(remote::Remote),
}

/// Memory stores of every universe, on one backend. Clones share them.
#[derive(Clone, Debug)]
pub struct MemoryStoreService {
    backend: Backend,
    clock: Clock,
    faults: FaultPlan,
}

type Result<T> = std::result::Result<T, MemoryStoreError>;

impl MemoryStoreService {
    /// Memory stores kept in this process, on `clock`, with the default
    /// [`MemoryConfig`].
    pub fn new(clock: Clock) -> Self {
        MemoryStoreService::with_config(clock, MemoryConfig::default())
    }

    /// Memory stores kept in this process, with `config`'s quota.
    pub fn with_config(clock: Clock, config: MemoryConfig) -> Self {
        MemoryStoreService {
            backend: Backend::Near(Near::Local(Arc::new(local::Local::new(
                clock.clone(),
                config,
            )))),
            clock,
            faults: FaultPlan::default(),
        }
    }

    /// Memory stores kept in `storage`'s shared records, with `config`'s
    /// quota: every service (every `serve` node) on the same database
    /// sees the same memory stores.
    pub fn shared(storage: crate::storage::Storage, clock: Clock, config: MemoryConfig) -> Self {
        let shared = shared::Shared::new(storage, clock.clone(), config);
        MemoryStoreService {
            backend: Backend::Near(Near::Shared(Arc::new(shared))),
            clock,
            faults: FaultPlan::default(),
        }
    }

    /// This service with its local calls under `plan` (the server's
    /// emulator faults).
    #[must_use]
    pub fn with_faults(mut self, plan: FaultPlan) -> Self {
        self.faults = plan;
        self
    }

    /// A service whose calls go to the server behind `client`.
    pub fn remote(client: RemoteClient, clock: Clock) -> Self {
        MemoryStoreService {
            backend: Backend::Remote(remote::Remote::new(client)),
            clock,
            faults: FaultPlan::default(),
        }
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The sorted map `name` of `universe`.
    pub fn sorted_map(&self, universe: u64, name: &str) -> SortedMap {
        SortedMap(self.handle(universe, name))
    }

    /// The queue `name` of `universe`.
    pub fn queue(&self, universe: u64, name: &str) -> Queue {
        Queue(self.handle(universe, name))
    }

    /// The hash map `name` of `universe`.
    pub fn hash_map(&self, universe: u64, name: &str) -> HashMap {
        HashMap(self.handle(universe, name))
    }

    fn handle(&self, universe: u64, name: &str) -> Handle {
        Handle {
            service: self.clone(),
            universe,
            name: name.to_owned(),
        }
    }

    /// A copy of every memory store item of every universe, with its
    /// expiration, etag and queue state (`None` for a remote service; a
    /// shared service reads every universe's record, failing only when
    /// the storage does).
    pub async fn export(&self) -> std::result::Result<Option<MemoryImage>, StorageError> {
        match &self.backend {
            Backend::Near(Near::Local(l)) => Ok(Some(MemoryImage(l.export()))),
            Backend::Near(Near::Shared(s)) => Ok(Some(MemoryImage(s.export().await?))),
            Backend::Remote(_) => Ok(None),
        }
    }

    /// Replaces every memory store of every universe with `image`'s (items
    /// whose expiration passed since are not returned, as always): in one
    /// swap locally, one record swap per universe when shared (for every
    /// node). A remote service ignores it.
    pub async fn import(&self, image: &MemoryImage) -> std::result::Result<(), StorageError> {
        match &self.backend {
            Backend::Near(Near::Local(l)) => l.import(&image.0),
            Backend::Near(Near::Shared(s)) => s.import(&image.0).await?,
            Backend::Remote(_) => {}
        }
        Ok(())
    }

    /// Drops every memory store of `universe` (Open Cloud's
    /// `memory-store:flush`); the id of its (finished) operation.
    pub async fn flush(&self, universe: u64) -> Result<String> {
        match &self.backend {
            Backend::Near(Near::Local(l)) => Ok(l.flush(universe)),
            Backend::Near(Near::Shared(s)) => s.flush(universe).await,
            Backend::Remote(r) => r.flush(universe).await,
        }
    }

    /// Whether `id` is a flush operation of `universe` (local: one this
    /// service ran, the last 1000 kept; shared: one any node ran, the last
    /// 100 per universe kept; remote: never).
    pub async fn flush_operation(&self, universe: u64, id: &str) -> Result<bool> {
        match &self.backend {
            Backend::Near(Near::Local(l)) => Ok(l.flushed(universe, id)),
            Backend::Near(Near::Shared(s)) => s.flushed(universe, id).await,
            Backend::Remote(_) => Ok(false),
        }
    }

    /// Bytes `universe` uses, and its quota, without waiting: exact now
    /// for a local service; for a shared one, as this node last wrote or
    /// measured them ([`MemoryStoreService::current_usage`] reads them).
    pub fn usage(&self, universe: u64) -> Option<(u64, u64)> {
        match &self.backend {
            Backend::Near(Near::Local(l)) => Some(l.usage(universe)),
            Backend::Near(Near::Shared(s)) => Some(s.last_usage(universe)),
            Backend::Remote(_) => None,
        }
    }

    /// Every structure of `universe` holding an item, by kind and name
    /// (`None` for a remote service): what the dashboard lists.
    pub async fn structures(&self, universe: u64) -> Result<Option<Vec<Structure>>> {
        match &self.backend {
            Backend::Near(n) => Ok(Some(n.view(universe, |u, _| u.structures()).await?)),
            Backend::Remote(_) => Ok(None),
        }
    }

    /// Bytes `universe` uses now (expired items not counted), and its
    /// quota (`None` for a remote service).
    pub async fn current_usage(&self, universe: u64) -> Result<Option<(u64, u64)>> {
        match &self.backend {
            Backend::Near(Near::Local(l)) => Ok(Some(l.usage(universe))),
            Backend::Near(Near::Shared(s)) => Ok(Some(s.usage(universe).await?)),
            Backend::Remote(_) => Ok(None),
        }
    }
}

/// What every structure handle holds.
#[derive(Clone, Debug)]
struct Handle {
    service: MemoryStoreService,
    universe: u64,
    name: String,
}

impl Handle {
    /// Runs a local `call` of `op` under the service's fault plan.
    async fn faulted<T>(
        &self,
        op: Op,
        key: Option<&str>,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let target = Target::new(self.universe, &self.name, key);
        self.service.faults.apply(op, target, call).await
    }
}

/// The wait between two lost races of one `UpdateAsync`.
fn update_backoff() -> Backoff {
    Backoff::new(Duration::from_millis(1), Duration::from_millis(50)).with_jitter(0.5)
}

/// The condition a transform's write carries: the item as it was read.
fn expect_of(etag: Option<&str>) -> Expect {
    etag.map_or(Expect::Absent, |e| Expect::Etag(e.to_owned()))
}

/// A sorted map (`MemoryStoreSortedMap`).
#[derive(Clone, Debug)]
pub struct SortedMap(Handle);

impl SortedMap {
    /// `SetAsync`: writes `key`; returns true when it did not exist (the
    /// engine method returns the opposite, true when an existing key was
    /// overwritten: the Luau client inverts this).
    pub async fn set(
        &self,
        key: &str,
        value: Value,
        expiration_secs: u64,
        sort_key: Option<SortKey>,
    ) -> Result<bool> {
        match self
            .put(key, value, expiration_secs, sort_key, Expect::Any)
            .await?
        {
            Written::Written { new, .. } => Ok(new),
            Written::Conflict { .. } => Err(MemoryStoreError::UpdateConflict),
        }
    }

    /// A conditional write (what `UpdateAsync` and the engine API's `PUT`
    /// are made of).
    pub async fn put(
        &self,
        key: &str,
        value: Value,
        expiration_secs: u64,
        sort_key: Option<SortKey>,
        expect: Expect,
    ) -> Result<Written<SortedItem>> {
        let h = &self.0;
        let size = check_sorted_write(&h.name, key, &value, expiration_secs, sort_key.as_ref())?;
        let w = SortedWrite {
            key,
            value,
            expiration_secs,
            sort_key,
            expect,
        };
        match &h.service.backend {
            Backend::Near(n) => {
                let put = n.apply(h.universe, |u, cx| {
                    u.sorted_put(cx, &h.name, w.clone(), size)
                });
                h.faulted(Op::SortedMapSet, Some(key), put).await
            }
            Backend::Remote(r) => r.sorted_put(h.universe, &h.name, w).await,
        }
    }

    /// `GetAsync`: the value and sort key of `key`.
    pub async fn get(&self, key: &str) -> Result<Option<(Value, Option<SortKey>)>> {
        Ok(self.get_item(key).await?.map(SortedItem::parts))
    }

    /// The whole item of `key` (with its etag and expiry).
    pub async fn get_item(&self, key: &str) -> Result<Option<SortedItem>> {
        let h = &self.0;
        check_structure(&h.name, "sorted map name")?;
        error::check_key(key)?;
        match &h.service.backend {
            Backend::Near(n) => {
                let get = n.view(h.universe, |u, cx| u.sorted_get(cx, &h.name, key));
                h.faulted(Op::SortedMapGet, Some(key), get).await
            }
            Backend::Remote(r) => r.sorted_get(h.universe, &h.name, key).await,
        }
    }

    /// `UpdateAsync`: runs `transform` on the current value and sort key
    /// (`None` when absent) and writes its answer if nothing changed in
    /// between, else runs it again; `transform` returning `None` cancels.
    /// The written value and sort key, or `None` when cancelled.
    pub async fn update(
        &self,
        key: &str,
        expiration_secs: u64,
        transform: impl FnMut(Option<(Value, Option<SortKey>)>) -> Option<(Value, Option<SortKey>)>,
    ) -> Result<Option<(Value, Option<SortKey>)>> {
        error::check_expiration(expiration_secs)?;
        let mut transform = transform;
        let mut backoff = update_backoff();
        for _ in 0..UPDATE_RETRIES {
            let current = self.get_item(key).await?;
            let expect = expect_of(current.as_ref().map(|i| i.etag.as_str()));
            let Some((value, sort_key)) = transform(current.map(SortedItem::parts)) else {
                return Ok(None);
            };
            let written = self
                .put(
                    key,
                    value.clone(),
                    expiration_secs,
                    sort_key.clone(),
                    expect,
                )
                .await?;
            match written {
                Written::Written { .. } => return Ok(Some((value, sort_key))),
                Written::Conflict { .. } => self.0.service.clock.sleep(backoff.fail()).await,
            }
        }
        Err(MemoryStoreError::UpdateConflict)
    }

    /// `RemoveAsync`.
    pub async fn remove(&self, key: &str) -> Result<()> {
        let h = &self.0;
        check_structure(&h.name, "sorted map name")?;
        error::check_key(key)?;
        match &h.service.backend {
            Backend::Near(n) => {
                let remove = n.apply(h.universe, |u, _| Ok(u.sorted_remove(&h.name, key)));
                h.faulted(Op::SortedMapRemove, Some(key), remove).await?;
                Ok(())
            }
            Backend::Remote(r) => r.sorted_remove(h.universe, &h.name, key).await,
        }
    }

    /// `GetRangeAsync`: up to `count` (1..=200) items strictly between the
    /// bounds, in `direction`.
    pub async fn get_range(
        &self,
        direction: Direction,
        count: usize,
        lower: Option<Bound>,
        upper: Option<Bound>,
    ) -> Result<Vec<SortedItem>> {
        let h = &self.0;
        check_structure(&h.name, "sorted map name")?;
        error::check_count("count", count, MAX_RANGE_COUNT)?;
        for b in lower.iter().chain(upper.iter()) {
            check_bound(b)?;
        }
        let q = RangeQuery {
            direction,
            count,
            lower,
            upper,
        };
        match &h.service.backend {
            Backend::Near(n) => {
                let range = n.view(h.universe, |u, cx| u.sorted_range(cx, &h.name, &q));
                h.faulted(Op::SortedMapList, None, range).await
            }
            Backend::Remote(r) => r.sorted_range(h.universe, &h.name, &q).await,
        }
    }

    /// `GetSizeAsync`: live items.
    pub async fn size(&self) -> Result<usize> {
        let h = &self.0;
        check_structure(&h.name, "sorted map name")?;
        match &h.service.backend {
            Backend::Near(n) => n.view(h.universe, |u, cx| u.sorted_size(cx, &h.name)).await,
            Backend::Remote(r) => r.sorted_size(h.universe, &h.name).await,
        }
    }
}

mod handles;
pub use handles::{HashMap, Queue};
