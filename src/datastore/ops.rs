//! The core DataStore operations: Roblox's semantics as compare-and-swap
//! loops over the storage plugin.
//!
//! Owns: constructing services and data stores, addressing (scopes and
//! AllScopes `scope/key`), `get`, `set`/`set_with`, `update`, `increment`
//! and `remove` (version reads are in `versions`, listings in `listing`).
//! Invariants: every read-modify-write commits with `Expect::Current(<the
//! version it read>)` and, on conflict, starts again from the version the
//! plugin returned, so a transform only ever sees one stored version; a
//! decision to write nothing (cancel, already removed, precondition failed)
//! is only returned after it was taken on a version read from storage, never
//! on a cached guess alone; inputs are validated before the first storage
//! call; all storage calls go through `Storage::call`.

use std::sync::Arc;

use profilestore_plugin_api::{
    Commit, CommitOutcome, EntryId, Expect, NewVersion, StorageError, StoragePlugin, StoreId,
    Supersede, VersionRecord,
};
use serde_json::{Map, Value};

use super::validate;
use super::version_id::{format_version, VersionId};
use super::{
    DataStore, DataStoreConfig, DataStoreError, DataStoreService, DsResult, Entry, KeyInfo,
    Precondition, Retention, SetOutcome, Transform, WriteOptions,
};
use crate::clock::Clock;

/// Read-modify-write attempts before giving up on a hot key.
const MAX_ATTEMPTS: usize = 10_000;
/// Largest page of key and data store listings.
pub(super) const MAX_LIST_PAGE: usize = 1000;

/// The page size to use: `default` for 0, else `requested` up to `max`
/// (`InvalidPageSize` above it).
pub(super) fn page_size(requested: usize, default: usize, max: usize) -> DsResult<usize> {
    match requested {
        0 => Ok(default),
        n if n <= max => Ok(n),
        _ => Err(DataStoreError::InvalidPageSize { max }),
    }
}

pub(super) fn corrupt(what: &str, detail: impl std::fmt::Display) -> DataStoreError {
    DataStoreError::Storage(StorageError::Corrupt {
        what: what.to_owned(),
        detail: detail.to_string(),
    })
}

fn key_info(record: &VersionRecord) -> DsResult<KeyInfo> {
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
pub(super) fn live_entry(record: &VersionRecord) -> DsResult<Option<Entry>> {
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
    validate::user_ids(&options.user_ids)?;
    let metadata = validate::metadata(&options.metadata)?;
    Ok(NewVersion {
        deleted: false,
        value: validate::value(value)?,
        user_ids: options.user_ids.clone(),
        metadata,
    })
}

/// The error of a read-modify-write that kept conflicting.
fn gave_up(call: &str, key: &str) -> DataStoreError {
    DataStoreError::Storage(StorageError::Unavailable(format!(
        "{call} gave up on key `{key}` after {MAX_ATTEMPTS} conflicting writes"
    )))
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

impl DataStoreService {
    /// A service over a plugin, with a clock and settings.
    pub fn new(plugin: Arc<dyn StoragePlugin>, clock: Clock, config: DataStoreConfig) -> Self {
        DataStoreService {
            storage: crate::storage::Storage::new(plugin),
            clock,
            config: Arc::new(config),
            latest: super::latest_cache::LatestCache::default(),
            remote: None,
        }
    }

    /// A service whose every call goes to the profilestore server behind
    /// `client` (Open Cloud v1). `clock` is only used for local checks
    /// (time-bounded queries); the server stamps versions with its own.
    pub fn remote(client: crate::remote::RemoteClient, clock: Clock) -> Self {
        DataStoreService {
            storage: crate::storage::Storage::new(Arc::new(crate::remote::Detached)),
            clock,
            config: Arc::new(DataStoreConfig::default()),
            latest: super::latest_cache::LatestCache::default(),
            remote: Some(client),
        }
    }

    /// The remote server this service talks to, if it is remote.
    pub fn remote_client(&self) -> Option<&crate::remote::RemoteClient> {
        self.remote.as_ref()
    }

    /// The clock this service uses.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The storage bridge.
    pub fn storage(&self) -> &crate::storage::Storage {
        &self.storage
    }

    /// The settings.
    pub fn config(&self) -> &DataStoreConfig {
        &self.config
    }

    /// `GetDataStore(name, scope)`: validates the name and scope
    /// (1..=50 bytes each).
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

    pub(super) fn entry_id(&self, key: &str) -> DsResult<EntryId> {
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
        Ok(EntryId {
            store: StoreId {
                universe: self.universe,
                name: self.name.clone(),
            },
            scope: scope.to_owned(),
            key: key.to_owned(),
        })
    }

    fn supersede(&self) -> Supersede {
        match self.service.config.retention {
            Retention::PerWrite => Supersede::Keep,
            Retention::PerUtcHour => Supersede::ReplaceSameWindow {
                window_ms: 3_600_000,
                not_before_ms: i64::MIN,
            },
        }
    }

    pub(super) async fn read_latest(&self, id: &EntryId) -> DsResult<Option<VersionRecord>> {
        let id = id.clone();
        Ok(self
            .service
            .storage
            .call(move |p| p.read_latest(&id))
            .await?)
    }

    /// The snapshot a read-modify-write starts from: the cached latest when
    /// this service wrote it, else a storage read (see `latest_cache`).
    async fn snapshot(&self, id: &EntryId) -> DsResult<Snapshot> {
        if let Some(cached) = self.service.latest.get(id) {
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
            Some(r) => self.service.latest.put(id, Arc::clone(r)),
            None => self.service.latest.forget(id),
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
                self.service.latest.put(id, Arc::new(record));
            }
            CommitOutcome::Conflict { current: Some(c) } => {
                self.service.latest.put(id, Arc::new(c.clone()));
            }
            CommitOutcome::Conflict { current: None } => self.service.latest.forget(id),
        }
    }

    async fn commit(
        &self,
        id: &EntryId,
        expect: Expect,
        version: NewVersion,
        supersede: Supersede,
    ) -> DsResult<CommitOutcome> {
        let commit = Arc::new(Commit {
            entry: id.clone(),
            expect,
            now_ms: self.service.clock.now_ms(),
            supersede,
            version,
        });
        let sent = Arc::clone(&commit);
        let outcome = self.service.storage.call(move |p| p.commit(&sent)).await?;
        self.remember(id, &outcome, &commit.version);
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

    /// `GetAsync`: the latest value, or `None` if absent or deleted.
    pub async fn get(&self, key: &str) -> DsResult<Option<Entry>> {
        if let Some(client) = &self.service.remote {
            return crate::remote::datastore::get(client, self, key).await;
        }
        let id = self.entry_id(key)?;
        match self.read_latest(&id).await? {
            Some(record) => live_entry(&record),
            None => Ok(None),
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
        if let Some(client) = &self.service.remote {
            return crate::remote::datastore::set_with(
                client,
                self,
                key,
                value,
                options,
                precondition,
            )
            .await;
        }
        let id = self.entry_id(key)?;
        let version = check_write(value, options)?;
        let wanted = match precondition {
            Precondition::MatchVersion(text) => Some(
                VersionId::parse(text)
                    .ok_or_else(|| DataStoreError::InvalidVersion(text.clone()))?,
            ),
            _ => None,
        };
        let mut latest = match precondition {
            Precondition::None => None,
            _ => self.read_latest(&id).await?,
        };
        for _ in 0..MAX_ATTEMPTS {
            let expect = match (precondition, &wanted) {
                (Precondition::None, _) => Expect::Any,
                (Precondition::ExclusiveCreate, _) => match &latest {
                    Some(r) if !r.info.deleted => {
                        return Ok(SetOutcome::PreconditionFailed {
                            current: live_entry(r)?,
                        })
                    }
                    other => Expect::Current(other.as_ref().map(|r| r.info.seq)),
                },
                (Precondition::MatchVersion(_), Some(w)) => match &latest {
                    Some(r) if w.names(&r.info) => Expect::Current(Some(r.info.seq)),
                    other => {
                        return Ok(SetOutcome::PreconditionFailed {
                            current: other.as_ref().map(live_entry).transpose()?.flatten(),
                        })
                    }
                },
                (Precondition::MatchVersion(text), None) => {
                    return Err(DataStoreError::InvalidVersion(text.clone()))
                }
            };
            match self
                .commit(&id, expect, version.clone(), self.supersede())
                .await?
            {
                CommitOutcome::Committed(info) => {
                    return Ok(SetOutcome::Written(Self::written_info(&info, options)))
                }
                // Another write landed between our read and our commit:
                // check the precondition again on what it left.
                CommitOutcome::Conflict { current } => latest = current,
            }
        }
        Err(gave_up("SetAsync", key))
    }

    /// `UpdateAsync`: calls `transform(current value, current key info)` and
    /// commits its result if no other write happened meanwhile, re-running it
    /// otherwise. Returns `None` when the transform cancelled, else the value
    /// written and its key info. The transform sees `None, None` for a
    /// missing or deleted key.
    pub async fn update<F>(&self, key: &str, mut transform: F) -> DsResult<Option<Entry>>
    where
        F: FnMut(Option<&Value>, Option<&KeyInfo>) -> Transform + Send,
    {
        if let Some(client) = &self.service.remote {
            return crate::remote::datastore::update(client, self, key, transform).await;
        }
        let id = self.entry_id(key)?;
        let mut snapshot = self.snapshot(&id).await?;
        for _ in 0..MAX_ATTEMPTS {
            let current = snapshot
                .record
                .as_deref()
                .map(live_entry)
                .transpose()?
                .flatten();
            let decision = match &current {
                Some(e) => transform(Some(&e.value), Some(&e.info)),
                None => transform(None, None),
            };
            let (value, options) = match decision {
                Transform::Cancel if snapshot.from_storage => return Ok(None),
                // The cancel was decided on a cached guess: confirm it on
                // the stored latest version, re-running if that differs.
                Transform::Cancel => match self.confirm(&id, snapshot).await? {
                    Ok(()) => return Ok(None),
                    Err(fresh) => {
                        snapshot = fresh;
                        continue;
                    }
                },
                Transform::Write { value, options } => (value, options),
            };
            let version = check_write(&value, &options)?;
            let expect = Expect::Current(snapshot.seq());
            match self.commit(&id, expect, version, self.supersede()).await? {
                CommitOutcome::Committed(info) => {
                    let info = Self::written_info(&info, &options);
                    return Ok(Some(Entry { value, info }));
                }
                CommitOutcome::Conflict { current } => snapshot = Snapshot::stored(current),
            }
        }
        Err(gave_up("UpdateAsync", key))
    }

    /// `IncrementAsync`: adds `delta` to an integer value (missing counts as
    /// 0); returns the new value and key info.
    pub async fn increment(
        &self,
        key: &str,
        delta: i64,
        options: &WriteOptions,
    ) -> DsResult<(i64, KeyInfo)> {
        if let Some(client) = &self.service.remote {
            return crate::remote::datastore::increment(client, self, key, delta, options).await;
        }
        let mut failure = None;
        let written = self
            .update(key, |current, _| {
                let base = match current {
                    None => 0,
                    Some(Value::Number(n)) => match n.as_i64().or_else(|| {
                        n.as_f64()
                            .filter(|f| f.fract() == 0.0 && f.abs() <= 9.007_199_254_740_992e15)
                            .map(|f| f as i64)
                    }) {
                        Some(i) => i,
                        None => {
                            failure = Some(DataStoreError::ExistingValueNotNumeric);
                            return Transform::Cancel;
                        }
                    },
                    Some(_) => {
                        failure = Some(DataStoreError::ExistingValueNotNumeric);
                        return Transform::Cancel;
                    }
                };
                match base.checked_add(delta) {
                    Some(sum) => {
                        failure = None;
                        Transform::Write {
                            value: Value::from(sum),
                            options: options.clone(),
                        }
                    }
                    None => {
                        failure = Some(DataStoreError::IncrementOverflow);
                        Transform::Cancel
                    }
                }
            })
            .await?;
        match (written, failure) {
            (_, Some(err)) => Err(err),
            (Some(entry), None) => Ok((entry.value.as_i64().unwrap_or_default(), entry.info)),
            (None, None) => unreachable!("increment only cancels with a failure"),
        }
    }

    /// `RemoveAsync`: writes a tombstone and returns the value before it, or
    /// `None` (writing nothing) if the key was already absent or deleted.
    /// The tombstone never replaces the version it deletes, whatever the
    /// retention, so a removed value stays recoverable until it expires.
    pub async fn remove(&self, key: &str) -> DsResult<Option<Entry>> {
        if let Some(client) = &self.service.remote {
            return crate::remote::datastore::remove(client, self, key).await;
        }
        let id = self.entry_id(key)?;
        let mut snapshot = self.snapshot(&id).await?;
        for _ in 0..MAX_ATTEMPTS {
            let Some(record) = snapshot.record.clone().filter(|r| !r.info.deleted) else {
                if snapshot.from_storage {
                    return Ok(None);
                }
                match self.confirm(&id, snapshot).await? {
                    Ok(()) => return Ok(None),
                    Err(fresh) => {
                        snapshot = fresh;
                        continue;
                    }
                }
            };
            let expect = Expect::Current(Some(record.info.seq));
            match self
                .commit(&id, expect, NewVersion::tombstone(), Supersede::Keep)
                .await?
            {
                CommitOutcome::Committed(_) => return live_entry(&record),
                CommitOutcome::Conflict { current } => snapshot = Snapshot::stored(current),
            }
        }
        Err(gave_up("RemoveAsync", key))
    }
}
