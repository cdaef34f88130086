//! The public DataStore API and its dispatch to the backend.
//!
//! Owns: constructing services and data stores, the data store management
//! calls' dispatch (see `manage.rs`), addressing (scopes and
//! AllScopes `scope/key`, validated in one place for every backend), and
//! each public call's choice of backend. Invariants: every call validates
//! its addressing before it reaches a backend; a backend is chosen by the
//! service's [`Backend`] alone, never by a flag; what a call means is the
//! backend's (local: `local/`; remote: `remote.rs`), documented here once.

use std::sync::Arc;

use profilestore_plugin_api::{EntryId, PurgeStats, StoragePlugin, StoreId};
use serde_json::Value;

use super::local::Local;
use super::{
    remote, validate, Backend, DataStore, DataStoreConfig, DataStoreError, DataStoreInfo,
    DataStoreService, DsResult, Entry, EntryText, KeyInfo, KeyName, ListKeysOptions,
    ListStoresOptions, ListVersionsOptions, Listing, Precondition, SetOutcome, SnapshotOutcome,
    StoreStatus, Transform, VersionSummary, WriteOptions,
};
use crate::clock::Clock;
use crate::faults::{FaultPlan, Operation as Op, Target};
use crate::remote::RemoteClient;
use crate::storage::Storage;

impl DataStoreService {
    /// A service over a plugin in this process, with a clock and settings.
    pub fn new(plugin: Arc<dyn StoragePlugin>, clock: Clock, config: DataStoreConfig) -> Self {
        let config = Arc::new(config);
        DataStoreService {
            backend: Backend::Local(Local::new(plugin, clock.clone(), Arc::clone(&config))),
            clock,
            config,
            faults: FaultPlan::default(),
            metrics: crate::metrics::Metrics::off(),
        }
    }

    /// This service with its local calls under `plan` (the server's
    /// emulator faults); set it before the service is cloned.
    #[must_use]
    pub fn with_faults(mut self, plan: FaultPlan) -> Self {
        self.faults = plan;
        self
    }

    /// This service recording in `metrics` (its storage's commits, and the
    /// sessions of every engine built on it); set it before cloning.
    #[must_use]
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.backend = match self.backend {
            Backend::Local(local) => Backend::Local(local.with_metrics(metrics.clone())),
            remote @ Backend::Remote(_) => remote,
        };
        self.metrics = metrics;
        self
    }

    /// The metrics this service records in (off unless set).
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// A service whose every call goes to the profilestore server behind
    /// `client` (Open Cloud v1). `clock` is only used for local checks
    /// (time-bounded queries); the server stamps versions with its own.
    pub fn remote(client: RemoteClient, clock: Clock) -> Self {
        DataStoreService {
            backend: Backend::Remote(client),
            clock,
            config: Arc::new(DataStoreConfig::default()),
            faults: FaultPlan::default(),
            metrics: crate::metrics::Metrics::off(),
        }
    }

    /// Registers the observer told of every commit of this local service
    /// and of its clones (see [`observe`](super::observe)); false when the
    /// service is remote (it commits nothing itself) or has one already.
    pub fn set_commit_observer(&self, observer: Arc<dyn super::observe::CommitObserver>) -> bool {
        match &self.backend {
            Backend::Local(local) => local.observer.set(observer),
            Backend::Remote(_) => false,
        }
    }

    /// The remote server this service talks to, if it is remote.
    pub fn remote_client(&self) -> Option<&RemoteClient> {
        match &self.backend {
            Backend::Remote(client) => Some(client),
            Backend::Local(_) => None,
        }
    }

    /// The storage bridge of a local service (`None` for a remote one,
    /// whose storage is the server's).
    pub fn storage(&self) -> Option<&Storage> {
        match &self.backend {
            Backend::Local(local) => Some(local.storage()),
            Backend::Remote(_) => None,
        }
    }

    /// Makes every acknowledged write durable (the plugin's flush). A remote
    /// service has nothing to flush: the server flushes on its shutdown.
    pub async fn flush(&self) -> DsResult<()> {
        match &self.backend {
            Backend::Local(local) => local.flush().await,
            Backend::Remote(_) => Ok(()),
        }
    }

    /// Drops every cache above storage (the latest-version cache, the data
    /// store states) and reads the states again: call it after the storage
    /// was replaced underneath the service (an emulator snapshot restored,
    /// a universe wiped). A remote service caches nothing.
    pub async fn reload(&self) -> DsResult<()> {
        match &self.backend {
            Backend::Local(local) => local.reload().await,
            Backend::Remote(_) => Ok(()),
        }
    }

    /// The clock this service uses.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The settings.
    pub fn config(&self) -> &DataStoreConfig {
        &self.config
    }

    /// `GetDataStore(name, scope)`: validates the name and scope
    /// (1..=50 bytes of UTF-8 each).
    pub fn data_store(&self, universe: u64, name: &str, scope: &str) -> DsResult<DataStore> {
        validate::data_store_name(name)?;
        validate::scope(scope)?;
        Ok(DataStore {
            service: self.clone(),
            universe,
            name: name.to_owned(),
            scope: Some(scope.to_owned()),
        })
    }

    /// `GetDataStore(name, "", {AllScopes = true})`: keys are `scope/key`.
    pub fn data_store_all_scopes(&self, universe: u64, name: &str) -> DsResult<DataStore> {
        validate::data_store_name(name)?;
        Ok(DataStore {
            service: self.clone(),
            universe,
            name: name.to_owned(),
            scope: None,
        })
    }

    /// `ListDataStoresAsync(prefix, pageSize, cursor)`: only data stores
    /// holding at least one entry. Page size 0 means 32.
    pub async fn list_data_stores(
        &self,
        universe: u64,
        prefix: &str,
        page_size: usize,
        cursor: Option<&str>,
    ) -> DsResult<Listing<DataStoreInfo>> {
        match &self.backend {
            Backend::Local(l) => {
                l.list_data_stores(universe, prefix, page_size, cursor)
                    .await
            }
            Backend::Remote(c) => {
                remote::list_data_stores(c, universe, prefix, page_size, cursor).await
            }
        }
    }

    /// Permanently removes versions and tombstones older than the expiry
    /// (`now - version_expiry` on the injected clock), and every data store
    /// deleted through Open Cloud whose `expire_ms` passed (its entries,
    /// counted in `entries`, and its state: the name is free again). Only a local service
    /// purges: a remote server runs its own purge.
    pub async fn purge_expired(&self) -> DsResult<PurgeStats> {
        match &self.backend {
            Backend::Local(l) => l.purge_expired().await,
            Backend::Remote(_) => Err(remote::unsupported("purging expired versions")),
        }
    }
}

/// Data store management (Open Cloud v2; types and invariants in `manage.rs`).
impl DataStoreService {
    /// `DeleteDataStore`: marks data store `name` deleted with
    /// `expire_ms = now + version_expiry` (30 days by default) and returns
    /// it. Its entries are inaccessible at once. Deleting a deleted store
    /// does nothing and returns it as it is. A store holding no entry does
    /// not exist (as in listings): [`DataStoreError::DataStoreNotFound`].
    ///
    /// Roblox's backend caches may serve entry reads for a while after a
    /// delete; here entries are blocked at once. The deleted state is a
    /// meta record cached by this service: another process sharing the
    /// database sees it when it next starts (manage stores through the
    /// server that owns the data).
    pub async fn delete_data_store(&self, universe: u64, name: &str) -> DsResult<StoreStatus> {
        validate::data_store_name(name)?;
        match &self.backend {
            Backend::Local(l) => l.delete_data_store(universe, name).await,
            Backend::Remote(c) => remote::manage::delete(c, universe, name).await,
        }
    }

    /// `UndeleteDataStore`: makes a deleted store active again with every
    /// entry and version it had. [`DataStoreError::DataStoreNotDeleted`]
    /// for an active store; [`DataStoreError::DataStoreNotFound`] for an
    /// unknown one or one whose expiry passed.
    pub async fn undelete_data_store(&self, universe: u64, name: &str) -> DsResult<StoreStatus> {
        validate::data_store_name(name)?;
        match &self.backend {
            Backend::Local(l) => l.undelete_data_store(universe, name).await,
            Backend::Remote(c) => remote::manage::undelete(c, universe, name).await,
        }
    }

    /// `ListDataStores` (v2): data stores holding at least one entry, in
    /// name order, with their state; deleted ones only with `show_deleted`.
    /// Like Roblox, a page hiding deleted stores checks at most 512 of them
    /// and may come back short (even empty) with a cursor.
    pub async fn list_data_stores_with(
        &self,
        universe: u64,
        options: &ListStoresOptions,
    ) -> DsResult<Listing<StoreStatus>> {
        match &self.backend {
            Backend::Local(l) => l.list_stores(universe, options).await,
            Backend::Remote(c) => remote::manage::list(c, universe, options).await,
        }
    }

    /// `SnapshotDataStores`: at most once per UTC day per universe; a second
    /// call the same day does nothing and returns the last snapshot's time.
    pub async fn snapshot(&self, universe: u64) -> DsResult<SnapshotOutcome> {
        match &self.backend {
            Backend::Local(l) => l.take_snapshot(universe).await,
            Backend::Remote(c) => remote::manage::snapshot(c, universe).await,
        }
    }
}

impl DataStore {
    /// Universe of this data store.
    pub fn universe(&self) -> u64 {
        self.universe
    }

    /// Name of this data store.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Scope, or `None` for an AllScopes data store.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The service this data store belongs to.
    pub fn service(&self) -> &DataStoreService {
        &self.service
    }

    /// The scope and key `key` addresses: this data store's scope, or on an
    /// AllScopes data store the `scope/key` split at the first `/`. Both are
    /// validated (the one AllScopes rule every backend uses).
    pub(super) fn scope_and_key<'k>(&'k self, key: &'k str) -> DsResult<(&'k str, &'k str)> {
        let (scope, key) = match &self.scope {
            Some(scope) => (scope.as_str(), key),
            None => key.split_once('/').ok_or_else(|| {
                DataStoreError::InvalidScope(format!(
                    "on an AllScopes data store keys are `scope/key`, and `{key}` has no `/`"
                ))
            })?,
        };
        validate::scope(scope)?;
        validate::key(key)?;
        Ok((scope, key))
    }

    /// The storage address of `key` (see [`DataStore::scope_and_key`]).
    pub(super) fn entry_id(&self, key: &str) -> DsResult<EntryId> {
        let (scope, key) = self.scope_and_key(key)?;
        Ok(EntryId {
            store: StoreId {
                universe: self.universe,
                name: self.name.clone(),
            },
            scope: scope.to_owned(),
            key: key.to_owned(),
        })
    }

    /// `GetAsync`: the latest value, or `None` if absent or deleted.
    pub async fn get(&self, key: &str) -> DsResult<Option<Entry>> {
        match &self.service.backend {
            Backend::Local(l) => {
                self.faulted(
                    Op::Get,
                    Some(key),
                    l.live_key(self, key).await?.get(self, key),
                )
                .await
            }
            Backend::Remote(c) => remote::get(c, self, key).await,
        }
    }

    /// [`DataStore::get`] with the value as its stored JSON text, never
    /// parsed on a local backend (same faults, same errors).
    pub async fn get_text(&self, key: &str) -> DsResult<Option<EntryText>> {
        match &self.service.backend {
            Backend::Local(l) => {
                self.faulted(
                    Op::Get,
                    Some(key),
                    l.live_key(self, key).await?.get_text(self, key),
                )
                .await
            }
            Backend::Remote(c) => Ok(remote::get(c, self, key).await?.map(|e| EntryText {
                text: e.value.to_string(),
                info: e.info,
            })),
        }
    }

    /// `SetAsync`: writes unconditionally; returns the new key info (its
    /// `version` is what SetAsync returns).
    pub async fn set(&self, key: &str, value: &Value, options: &WriteOptions) -> DsResult<KeyInfo> {
        match self
            .set_with(key, value, options, &Precondition::None)
            .await?
        {
            SetOutcome::Written(info) => Ok(info),
            SetOutcome::PreconditionFailed { .. } => {
                unreachable!("an unconditional set cannot fail its precondition")
            }
        }
    }

    /// Conditional set (Open Cloud v1 `exclusiveCreate` / `matchVersion`).
    ///
    /// `ExclusiveCreate` writes only if the key has no live value; a
    /// competing write that leaves the key non-live (a tombstone) does not
    /// fail it, the attempt is repeated. `MatchVersion` writes only if the
    /// latest version is exactly that id; an id that is not in Roblox's
    /// format is `InvalidVersion`. When the precondition fails nothing is
    /// written and the current live entry (if any) is returned.
    pub async fn set_with(
        &self,
        key: &str,
        value: &Value,
        options: &WriteOptions,
        precondition: &Precondition,
    ) -> DsResult<SetOutcome> {
        match &self.service.backend {
            Backend::Local(l) => {
                let call =
                    l.live_key(self, key)
                        .await?
                        .set_with(self, key, value, options, precondition);
                self.faulted(Op::Set, Some(key), call).await
            }
            Backend::Remote(c) => {
                remote::set_with(c, self, key, value, options, precondition).await
            }
        }
    }

    /// `UpdateAsync`: calls `transform(current value, current key info)` and
    /// commits its result if no other write happened meanwhile, re-running it
    /// otherwise. Returns `None` when the transform cancelled, else the value
    /// written and its key info. The transform sees `None, None` for a
    /// missing or deleted key.
    pub async fn update<F>(&self, key: &str, transform: F) -> DsResult<Option<Entry>>
    where
        F: FnMut(Option<&Value>, Option<&KeyInfo>) -> Transform + Send,
    {
        match &self.service.backend {
            Backend::Local(l) => {
                let call = l.live_key(self, key).await?.update(self, key, transform);
                self.faulted(Op::Update, Some(key), call).await
            }
            Backend::Remote(c) => remote::update(c, self, key, transform).await,
        }
    }

    /// `IncrementAsync`: adds `delta` to an integer value (missing counts as
    /// 0); returns the new value and key info.
    pub async fn increment(
        &self,
        key: &str,
        delta: i64,
        options: &WriteOptions,
    ) -> DsResult<(i64, KeyInfo)> {
        match &self.service.backend {
            Backend::Local(l) => {
                let call = l
                    .live_key(self, key)
                    .await?
                    .increment(self, key, delta, options);
                self.faulted(Op::Increment, Some(key), call).await
            }
            Backend::Remote(c) => remote::increment(c, self, key, delta, options).await,
        }
    }

    /// `RemoveAsync`: writes a tombstone and returns the value before it, or
    /// `None` (writing nothing) if the key was already absent or deleted.
    /// The tombstone never replaces the version it deletes, whatever the
    /// retention, so a removed value stays recoverable until it expires.
    pub async fn remove(&self, key: &str) -> DsResult<Option<Entry>> {
        match &self.service.backend {
            Backend::Local(l) => {
                self.faulted(
                    Op::Remove,
                    Some(key),
                    l.live_key(self, key).await?.remove(self, key),
                )
                .await
            }
            Backend::Remote(c) => remote::remove(c, self, key).await,
        }
    }

    /// `GetVersionAsync`: one version. `Ok(None)` when that version is a
    /// tombstone or was removed; `InvalidVersion` when the id was not issued
    /// for this key.
    pub async fn get_version(&self, key: &str, version: &str) -> DsResult<Option<Entry>> {
        match &self.service.backend {
            Backend::Local(l) => {
                let call = l.live_key(self, key).await?.get_version(self, key, version);
                self.faulted(Op::GetVersion, Some(key), call).await
            }
            Backend::Remote(c) => remote::get_version(c, self, key, version).await,
        }
    }

    /// `GetVersionAtTimeAsync`: the version current at `at_ms`, or `None`.
    /// `at_ms` must be in `1..=now + 10 min` (else `InvalidTimestamp`).
    pub async fn get_version_at_time(&self, key: &str, at_ms: i64) -> DsResult<Option<Entry>> {
        match &self.service.backend {
            Backend::Local(l) => {
                let call = l
                    .live_key(self, key)
                    .await?
                    .get_version_at_time(self, key, at_ms);
                self.faulted(Op::GetVersion, Some(key), call).await
            }
            Backend::Remote(c) => remote::get_version_at_time(c, self, key, at_ms).await,
        }
    }

    /// `ListVersionsAsync`.
    pub async fn list_versions(
        &self,
        key: &str,
        options: &ListVersionsOptions,
    ) -> DsResult<Listing<VersionSummary>> {
        match &self.service.backend {
            Backend::Local(l) => {
                let call = l
                    .live_key(self, key)
                    .await?
                    .list_versions(self, key, options);
                self.faulted(Op::ListVersions, Some(key), call).await
            }
            Backend::Remote(c) => remote::list_versions(c, self, key, options).await,
        }
    }

    /// `RemoveVersionAsync` (deprecated in Roblox): permanently deletes one
    /// version without a tombstone. Not available on a remote service
    /// (Open Cloud v1 has no such call).
    pub async fn remove_version(&self, key: &str, version: &str) -> DsResult<()> {
        match &self.service.backend {
            Backend::Local(l) => {
                l.live_key(self, key)
                    .await?
                    .remove_version(self, key, version)
                    .await
            }
            Backend::Remote(_) => Err(remote::unsupported("removing a single version")),
        }
    }

    /// `ListKeysAsync`: on an AllScopes data store the names are `scope/key`.
    pub async fn list_keys(&self, options: &ListKeysOptions) -> DsResult<Listing<KeyName>> {
        match &self.service.backend {
            Backend::Local(l) => {
                l.live(self).await?;
                self.faulted(Op::List, None, l.list_keys(self, options))
                    .await
            }
            Backend::Remote(c) => remote::list_keys(c, self, options).await,
        }
    }
}

impl DataStore {
    /// Runs a local `call` of `op` under the service's fault plan.
    async fn faulted<T>(
        &self,
        op: Op,
        key: Option<&str>,
        call: impl std::future::Future<Output = DsResult<T>>,
    ) -> DsResult<T> {
        let target = Target::new(self.universe, &self.name, key);
        self.service.faults.apply(op, target, call).await
    }
}
