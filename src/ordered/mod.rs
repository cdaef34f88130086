//! Roblox's ordered data stores (`DataStoreService:GetOrderedDataStore`).
//!
//! Owns: the ordered data store API the HTTP server, the CLI and Rust users
//! call ([`OrderedService`], [`OrderedDataStore`], [`DataStorePages`]), its
//! limits and errors (`validate.rs`, `error.rs`), page cursors
//! (`cursor.rs`), and the backend seam: a service is `Local` (the storage
//! plugin's ordered capability in this process, `local.rs`) or `Remote` (a
//! profilestore server over the engine API, `remote.rs`). Each backend
//! implements five primitives (read, compare-and-set, increment, sorted
//! page, batch read); `UpdateAsync`, `SetAsync` and `RemoveAsync` are built
//! on them here, once, so both backends mean the same.
//! Invariants: values are 64-bit integers; there are no versions; every
//! input is validated here before a backend sees it, so a bad call fails
//! the same way locally and remotely and stores nothing; `update` writes a
//! transform's result only over the value the transform saw.

mod cursor;
mod error;
mod local;
mod remote;
pub mod validate;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use error::{OrderedError, MAX_BATCH_KEYS};
pub use profilestore_plugin_api::{OrderedExpect, OrderedOutcome};
use profilestore_plugin_api::{OrderedRecord, StoragePlugin};

use crate::clock::Clock;
use crate::faults::{FaultPlan, Operation as Op, Target};
use crate::remote::RemoteClient;
use crate::storage::Storage;

/// Result alias of ordered data stores.
pub type OrdResult<T> = Result<T, OrderedError>;

/// Where an ordered service's calls go.
#[derive(Clone, Debug)]
enum Backend {
    /// The plugin's ordered capability in this process.
    Local(Storage),
    /// A profilestore server (engine API).
    Remote(RemoteClient),
}

/// How many conflicting writes `UpdateAsync` and `IncrementAsync` tolerate
/// before giving up on a hot key (a conflict means another write landed).
#[derive(Debug)]
struct RetryCap;

impl RetryCap {
    /// Local: a retry is one compare-and-swap on the plugin (microseconds).
    const LOCAL: usize = 10_000;
    /// Remote: a retry is an HTTP round trip.
    const REMOTE: usize = 1000;
}

/// Ordered data stores of every universe, on one backend.
#[derive(Clone, Debug)]
pub struct OrderedService {
    backend: Backend,
    clock: Clock,
    faults: FaultPlan,
}

impl OrderedService {
    /// A service over a plugin in this process.
    pub fn new(plugin: Arc<dyn StoragePlugin>, clock: Clock) -> Self {
        OrderedService {
            backend: Backend::Local(Storage::new(plugin)),
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
        OrderedService {
            backend: Backend::Remote(client),
            clock,
            faults: FaultPlan::default(),
        }
    }

    /// The clock this service was given.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// `GetOrderedDataStore(name, scope)` in `universe`: checks the name
    /// and scope (1 to 50 bytes each).
    pub fn data_store(
        &self,
        universe: u64,
        name: &str,
        scope: &str,
    ) -> OrdResult<OrderedDataStore> {
        validate::data_store_name(name)?;
        validate::scope(scope)?;
        Ok(OrderedDataStore {
            service: self.clone(),
            universe,
            name: name.to_owned(),
            scope: scope.to_owned(),
        })
    }

    /// Makes acknowledged writes durable (the plugin's flush); nothing to
    /// do for a remote service.
    pub async fn flush(&self) -> OrdResult<()> {
        match &self.backend {
            Backend::Local(storage) => Ok(storage.call(|p| p.flush()).await?),
            Backend::Remote(_) => Ok(()),
        }
    }
}

/// One entry of a sorted page (`{key = ..., value = ...}` in Luau).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderedEntry {
    /// The key.
    pub key: String,
    /// Its value.
    pub value: i64,
}

/// What a `GetSortedAsync` reads: order, page size (1 to 100) and the
/// inclusive bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortedQuery {
    /// Smallest value first.
    pub ascending: bool,
    /// Entries per page, 1 to 100.
    pub page_size: usize,
    /// Only values `>= min`.
    pub min: Option<i64>,
    /// Only values `<= max`.
    pub max: Option<i64>,
}

/// One page of a sorted read; `cursor` resumes after it (`None` on the last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortedPage {
    /// The entries, in the query's order.
    pub entries: Vec<OrderedEntry>,
    /// The cursor of the next page.
    pub cursor: Option<String>,
}

/// What an `update` transform decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderedTransform {
    /// Write nothing (Luau's `return nil`).
    Cancel,
    /// Write this value.
    Write(i64),
    /// Remove the entry.
    Remove,
}

/// What an `update` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Whether the transform's result was written (false: it cancelled).
    pub written: bool,
    /// The value stored after the call (the written one, or the current
    /// one the transform cancelled on).
    pub value: Option<i64>,
}

/// A handle on one ordered data store and scope (`OrderedDataStore`).
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct OrderedDataStore {
    service: OrderedService,
    universe: u64,
    name: String,
    scope: String,
}

impl OrderedDataStore {
    /// The universe.
    pub fn universe(&self) -> u64 {
        self.universe
    }

    /// The ordered data store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scope.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    fn entry(&self, key: &str) -> profilestore_plugin_api::EntryId {
        profilestore_plugin_api::EntryId::new(self.universe, &self.name, &self.scope, key)
    }

    /// `GetAsync`: the value, or `None` when the key has none.
    pub async fn get(&self, key: &str) -> OrdResult<Option<i64>> {
        validate::key(key)?;
        match &self.service.backend {
            Backend::Local(s) => {
                self.faulted(Op::OrderedGet, Some(key), local::read(s, self.entry(key)))
                    .await
            }
            Backend::Remote(c) => remote::read(c, self, key).await,
        }
    }

    /// One atomic conditional write: `value` (`None` removes) when the
    /// entry's value is what `expect` says. The primitive `UpdateAsync` is
    /// built on (and the engine API's `:update`).
    pub async fn compare_and_set(
        &self,
        key: &str,
        expect: OrderedExpect,
        value: Option<i64>,
    ) -> OrdResult<OrderedOutcome> {
        validate::key(key)?;
        match &self.service.backend {
            Backend::Local(s) => {
                self.faulted(
                    Op::ordered_write(value),
                    Some(key),
                    local::write(s, self.entry(key), expect, value),
                )
                .await
            }
            Backend::Remote(c) => remote::write(c, self, key, expect, value).await,
        }
    }

    /// `SetAsync`: writes `value` whatever the entry holds.
    pub async fn set(&self, key: &str, value: i64) -> OrdResult<()> {
        self.compare_and_set(key, OrderedExpect::Any, Some(value))
            .await
            .map(|_| ())
    }

    /// `RemoveAsync`: removes the entry for good; returns the value it had.
    pub async fn remove(&self, key: &str) -> OrdResult<Option<i64>> {
        match self.compare_and_set(key, OrderedExpect::Any, None).await? {
            OrderedOutcome::Written { previous } => Ok(previous),
            // An unconditional write cannot conflict.
            OrderedOutcome::Conflict { current } => Ok(current),
        }
    }

    /// `IncrementAsync`: adds `delta` (a missing entry counts as 0) and
    /// returns the new value; a result outside the 64-bit range is
    /// [`OrderedError::IncrementOverflow`] and stores nothing.
    pub async fn increment(&self, key: &str, delta: i64) -> OrdResult<i64> {
        validate::key(key)?;
        match &self.service.backend {
            Backend::Local(s) => {
                self.faulted(
                    Op::OrderedIncrement,
                    Some(key),
                    local::increment(s, self.entry(key), delta),
                )
                .await
            }
            Backend::Remote(c) => remote::increment(c, self, key, delta).await,
        }
    }

    /// `UpdateAsync`: runs `transform` on the current value and writes its
    /// result only if the value did not change meanwhile, re-running it on
    /// the new value otherwise. Returns the value stored after the call
    /// (`None` when the transform cancelled or removed).
    pub async fn update<F>(&self, key: &str, transform: F) -> OrdResult<Option<i64>>
    where
        F: FnMut(Option<i64>) -> OrderedTransform + Send,
    {
        let outcome = self.update_detailed(key, transform).await?;
        Ok(outcome.value.filter(|_| outcome.written))
    }

    /// [`update`](Self::update), saying whether it wrote.
    pub async fn update_detailed<F>(&self, key: &str, mut transform: F) -> OrdResult<UpdateOutcome>
    where
        F: FnMut(Option<i64>) -> OrderedTransform + Send,
    {
        let cap = match self.service.backend {
            Backend::Local(_) => RetryCap::LOCAL,
            Backend::Remote(_) => RetryCap::REMOTE,
        };
        let mut current = self.get(key).await?;
        for _ in 0..cap {
            let value = match transform(current) {
                OrderedTransform::Cancel => {
                    return Ok(UpdateOutcome {
                        written: false,
                        value: current,
                    })
                }
                OrderedTransform::Write(v) => Some(v),
                OrderedTransform::Remove => None,
            };
            let expect = OrderedExpect::Current(current);
            match self.compare_and_set(key, expect, value).await? {
                OrderedOutcome::Written { .. } => {
                    return Ok(UpdateOutcome {
                        written: true,
                        value,
                    })
                }
                OrderedOutcome::Conflict { current: now } => current = now,
            }
        }
        Err(OrderedError::TooManyConflicts {
            key: key.to_owned(),
            attempts: cap,
        })
    }

    /// The fingerprint of a sorted listing (what its cursors are tied to).
    fn listing(&self, query: &SortedQuery) -> u64 {
        let bound = |b: Option<i64>| b.map(|v| v.to_string()).unwrap_or_default();
        cursor::fingerprint(&[
            &self.universe.to_string(),
            &self.name,
            &self.scope,
            if query.ascending { "asc" } else { "desc" },
            &bound(query.min),
            &bound(query.max),
        ])
    }

    /// One page of a sorted read, after `cursor` (from a previous page of
    /// the same query). Checks the page size (106) and bounds (107).
    pub async fn list(&self, query: &SortedQuery, cursor: Option<&str>) -> OrdResult<SortedPage> {
        validate::page_size(i64::try_from(query.page_size).unwrap_or(i64::MAX))?;
        validate::bounds(query.min, query.max)?;
        match &self.service.backend {
            Backend::Local(s) => {
                let fingerprint = self.listing(query);
                let after = cursor.map(|c| cursor::decode(c, fingerprint)).transpose()?;
                let (records, more) = self
                    .faulted(Op::OrderedList, None, local::range(s, self, query, after))
                    .await?;
                Ok(page_of(records, more, fingerprint))
            }
            Backend::Remote(c) => remote::range(c, self, query, cursor).await,
        }
    }

    /// `GetSortedAsync(ascending, pageSize, minValue, maxValue)`: the first
    /// page, as `DataStorePages`.
    pub async fn get_sorted(
        &self,
        ascending: bool,
        page_size: usize,
        min: Option<i64>,
        max: Option<i64>,
    ) -> OrdResult<DataStorePages> {
        let query = SortedQuery {
            ascending,
            page_size,
            min,
            max,
        };
        let page = self.list(&query, None).await?;
        Ok(DataStorePages {
            store: self.clone(),
            query,
            page,
        })
    }

    /// `BatchGetAsync`: the values of 1 to 100 keys; keys without a value
    /// are left out.
    pub async fn batch_get(&self, keys: &[String]) -> OrdResult<BTreeMap<String, i64>> {
        validate::batch(keys)?;
        match &self.service.backend {
            Backend::Local(s) => {
                let entries = keys.iter().map(|k| self.entry(k)).collect();
                self.faulted(Op::OrderedGet, None, local::batch(s, entries))
                    .await
            }
            Backend::Remote(c) => remote::batch(c, self, keys).await,
        }
    }
}

impl OrderedDataStore {
    /// Runs a local `call` of `op` under the service's fault plan.
    async fn faulted<T>(
        &self,
        op: Op,
        key: Option<&str>,
        call: impl std::future::Future<Output = OrdResult<T>>,
    ) -> OrdResult<T> {
        let target = Target::new(self.universe, &self.name, key);
        self.service.faults.apply(op, target, call).await
    }
}

/// A page of plugin records, with the cursor after its last one when more follow.
fn page_of(records: Vec<OrderedRecord>, more: bool, fingerprint: u64) -> SortedPage {
    let cursor = match records.last() {
        Some(last) if more => Some(cursor::encode(fingerprint, last)),
        _ => None,
    };
    SortedPage {
        entries: records
            .into_iter()
            .map(|r| OrderedEntry {
                key: r.key,
                value: r.value,
            })
            .collect(),
        cursor,
    }
}

/// `DataStorePages`: the current page of a sorted read and the way to the
/// next one.
#[derive(Clone, Debug)]
pub struct DataStorePages {
    store: OrderedDataStore,
    query: SortedQuery,
    page: SortedPage,
}

impl DataStorePages {
    /// `GetCurrentPage()`.
    pub fn current_page(&self) -> &[OrderedEntry] {
        &self.page.entries
    }

    /// `IsFinished`: true on the last page.
    pub fn is_finished(&self) -> bool {
        self.page.cursor.is_none()
    }

    /// The cursor of the next page (`None` on the last), to resume later
    /// with [`OrderedDataStore::list`].
    pub fn cursor(&self) -> Option<&str> {
        self.page.cursor.as_deref()
    }

    /// `AdvanceToNextPageAsync()`; on the last page, [`OrderedError::NoMorePages`].
    pub async fn advance(&mut self) -> OrdResult<()> {
        let Some(cursor) = self.page.cursor.clone() else {
            return Err(OrderedError::NoMorePages);
        };
        self.page = self.store.list(&self.query, Some(&cursor)).await?;
        Ok(())
    }
}
