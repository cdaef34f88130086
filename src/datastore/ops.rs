//! The DataStore operations: Roblox's semantics as compare-and-swap loops
//! over the storage plugin.
//!
//! Owns: the bodies of [`DataStoreService`] and [`DataStore`]. Invariants:
//! every read-modify-write commits with `Expect::Current(<the version it
//! read>)` and, on conflict, starts again from the version the plugin
//! returned, so a transform only ever sees one stored version; inputs are
//! validated before the first storage call; all storage calls go through
//! `Storage::call`.

use std::sync::Arc;

use profilestore_plugin_api::{
    Commit, CommitOutcome, EntryId, Expect, KeyQuery, NewVersion, PurgeStats, SortOrder,
    StorageError, StoragePlugin, StoreId, StoreQuery, Supersede, VersionQuery, VersionRecord,
};
use serde_json::{Map, Value};

use super::cursor;
use super::validate;
use super::version_id::{format_version, VersionId};
use super::{
    DataStore, DataStoreConfig, DataStoreError, DataStoreInfo, DataStoreService, DsResult, Entry,
    KeyInfo, KeyName, ListKeysOptions, ListVersionsOptions, Listing, Precondition, Retention,
    SetOutcome, Transform, VersionSummary, WriteOptions,
};
use crate::clock::Clock;

/// Read-modify-write attempts before giving up on a hot key.
const MAX_ATTEMPTS: usize = 10_000;
/// Default and largest page of `ListVersionsAsync`.
const VERSION_PAGE: usize = 1024;
/// Default page of `ListKeysAsync`.
const KEY_PAGE: usize = 50;
/// Default page of `ListDataStoresAsync`.
const STORE_PAGE: usize = 32;
/// Largest page of key and data store listings.
const MAX_LIST_PAGE: usize = 1000;
/// How far in the future `GetVersionAtTimeAsync` may look.
const FUTURE_SLACK_MS: i64 = 10 * 60 * 1000;

fn page_size(requested: usize, default: usize, max: usize) -> DsResult<usize> {
    match requested {
        0 => Ok(default),
        n if n <= max => Ok(n),
        _ => Err(DataStoreError::InvalidPageSize { max }),
    }
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> DataStoreError {
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
fn live_entry(record: &VersionRecord) -> DsResult<Option<Entry>> {
    if record.info.deleted {
        return Ok(None);
    }
    let value = serde_json::from_str(&record.value).map_err(|e| corrupt("value", e))?;
    Ok(Some(Entry {
        value,
        info: key_info(record)?,
    }))
}

/// A validated write: the exact texts to store.
struct Checked {
    value: String,
    user_ids: Vec<i64>,
    metadata: String,
}

fn check_write(value: &Value, options: &WriteOptions) -> DsResult<Checked> {
    validate::user_ids(&options.user_ids)?;
    let metadata = validate::metadata(&options.metadata)?;
    Ok(Checked {
        value: validate::value(value)?,
        user_ids: options.user_ids.clone(),
        metadata,
    })
}

impl DataStoreService {
    /// A service over a plugin, with a clock and settings.
    pub fn new(plugin: Arc<dyn StoragePlugin>, clock: Clock, config: DataStoreConfig) -> Self {
        DataStoreService {
            storage: crate::storage::Storage::new(plugin),
            clock,
            config: Arc::new(config),
            latest: super::latest_cache::LatestCache::default(),
        }
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

    /// `ListDataStoresAsync(prefix, pageSize, cursor)`: only data stores
    /// holding at least one entry. Page size 0 means 32.
    pub async fn list_data_stores(
        &self,
        universe: u64,
        prefix: &str,
        page_size: usize,
        cursor: Option<&str>,
    ) -> DsResult<Listing<DataStoreInfo>> {
        let limit = self::page_size(page_size, STORE_PAGE, MAX_LIST_PAGE)?;
        let fp = cursor::fingerprint(&["stores", &universe.to_string(), prefix]);
        let after: Option<String> = cursor.map(|c| cursor::decode(c, fp)).transpose()?;
        let query = StoreQuery {
            universe,
            prefix: prefix.to_owned(),
            after,
            limit,
        };
        let page = self
            .storage
            .call(move |p| p.list_data_stores(&query))
            .await?;
        let cursor = match (page.more, page.items.last()) {
            (true, Some(last)) => Some(cursor::encode(fp, &last.name)),
            _ => None,
        };
        Ok(Listing {
            items: page.items,
            cursor,
        })
    }

    /// Permanently removes versions and tombstones older than the expiry.
    pub async fn purge_expired(&self) -> DsResult<PurgeStats> {
        let expiry = i64::try_from(self.config.version_expiry.as_millis()).unwrap_or(i64::MAX);
        let cutoff = self.clock.now_ms().saturating_sub(expiry);
        let stats = self.storage.call(move |p| p.purge_expired(cutoff)).await?;
        self.latest.clear();
        Ok(stats)
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

    fn entry_id(&self, key: &str) -> DsResult<EntryId> {
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

    async fn read_latest(&self, id: &EntryId) -> DsResult<Option<VersionRecord>> {
        let id = id.clone();
        Ok(self
            .service
            .storage
            .call(move |p| p.read_latest(&id))
            .await?)
    }

    /// The snapshot a read-modify-write starts from: the cached latest when
    /// this service wrote it, else a storage read (see `latest_cache`).
    async fn snapshot(&self, id: &EntryId) -> DsResult<Option<Arc<VersionRecord>>> {
        if let Some(cached) = self.service.latest.get(id) {
            return Ok(Some(cached));
        }
        let record = self.read_latest(id).await?.map(Arc::new);
        if let Some(r) = &record {
            self.service.latest.put(id, Arc::clone(r));
        }
        Ok(record)
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
    pub async fn set_with(
        &self,
        key: &str,
        value: &Value,
        options: &WriteOptions,
        precondition: &Precondition,
    ) -> DsResult<SetOutcome> {
        let id = self.entry_id(key)?;
        let checked = check_write(value, options)?;
        let version = NewVersion {
            deleted: false,
            value: checked.value.clone(),
            user_ids: checked.user_ids.clone(),
            metadata: checked.metadata.clone(),
        };
        let expect = match precondition {
            Precondition::None => Expect::Any,
            Precondition::ExclusiveCreate => {
                let latest = self.read_latest(&id).await?;
                match latest {
                    Some(r) if !r.info.deleted => {
                        return Ok(SetOutcome::PreconditionFailed {
                            current: live_entry(&r)?,
                        })
                    }
                    other => Expect::Current(other.map(|r| r.info.seq)),
                }
            }
            Precondition::MatchVersion(text) => {
                let wanted = VersionId::parse(text)
                    .ok_or_else(|| DataStoreError::InvalidVersion(text.clone()))?;
                let latest = self.read_latest(&id).await?;
                match latest {
                    Some(r) if wanted.names(&r.info) => Expect::Current(Some(r.info.seq)),
                    other => {
                        return Ok(SetOutcome::PreconditionFailed {
                            current: other.as_ref().map(live_entry).transpose()?.flatten(),
                        })
                    }
                }
            }
        };
        match self.commit(&id, expect, version, self.supersede()).await? {
            CommitOutcome::Committed(info) => {
                Ok(SetOutcome::Written(Self::written_info(&info, options)))
            }
            // Another write landed between our read and our commit: the
            // condition we checked no longer holds.
            CommitOutcome::Conflict { current } => Ok(SetOutcome::PreconditionFailed {
                current: current.as_ref().map(live_entry).transpose()?.flatten(),
            }),
        }
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
        let id = self.entry_id(key)?;
        let mut snapshot = self.snapshot(&id).await?;
        for _ in 0..MAX_ATTEMPTS {
            let current = snapshot.as_deref().map(live_entry).transpose()?.flatten();
            let decision = match &current {
                Some(e) => transform(Some(&e.value), Some(&e.info)),
                None => transform(None, None),
            };
            let (value, options) = match decision {
                Transform::Cancel => return Ok(None),
                Transform::Write { value, options } => (value, options),
            };
            let checked = check_write(&value, &options)?;
            let version = NewVersion {
                deleted: false,
                value: checked.value.clone(),
                user_ids: checked.user_ids.clone(),
                metadata: checked.metadata.clone(),
            };
            let expect = Expect::Current(snapshot.as_ref().map(|r| r.info.seq));
            match self.commit(&id, expect, version, self.supersede()).await? {
                CommitOutcome::Committed(info) => {
                    let info = Self::written_info(&info, &options);
                    return Ok(Some(Entry { value, info }));
                }
                CommitOutcome::Conflict { current } => snapshot = current.map(Arc::new),
            }
        }
        Err(DataStoreError::Storage(StorageError::Unavailable(format!(
            "UpdateAsync gave up on key `{key}` after {MAX_ATTEMPTS} conflicting writes"
        ))))
    }

    /// `IncrementAsync`: adds `delta` to an integer value (missing counts as
    /// 0); returns the new value and key info.
    pub async fn increment(
        &self,
        key: &str,
        delta: i64,
        options: &WriteOptions,
    ) -> DsResult<(i64, KeyInfo)> {
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
        let id = self.entry_id(key)?;
        let mut snapshot = self.snapshot(&id).await?;
        for _ in 0..MAX_ATTEMPTS {
            let Some(record) = snapshot.filter(|r| !r.info.deleted) else {
                return Ok(None);
            };
            let expect = Expect::Current(Some(record.info.seq));
            match self
                .commit(&id, expect, NewVersion::tombstone(), Supersede::Keep)
                .await?
            {
                CommitOutcome::Committed(_) => return live_entry(&record),
                CommitOutcome::Conflict { current } => snapshot = current.map(Arc::new),
            }
        }
        Err(DataStoreError::Storage(StorageError::Unavailable(format!(
            "RemoveAsync gave up on key `{key}` after {MAX_ATTEMPTS} conflicting writes"
        ))))
    }

    /// The stored record a version id names, or `InvalidVersion`.
    async fn versioned_record(
        &self,
        id: &EntryId,
        version: &str,
    ) -> DsResult<Option<VersionRecord>> {
        let wanted = VersionId::parse(version)
            .ok_or_else(|| DataStoreError::InvalidVersion(version.to_owned()))?;
        let entry = id.clone();
        let record = self
            .service
            .storage
            .call(move |p| p.read_version(&entry, wanted.seq))
            .await?;
        match record {
            Some(r) if wanted.names(&r.info) => Ok(Some(r)),
            Some(_) => Err(DataStoreError::InvalidVersion(version.to_owned())),
            // Removed or expired, or never issued: a sequence beyond the
            // latest cannot have been issued.
            None => match self.read_latest(id).await? {
                Some(latest) if wanted.seq < latest.info.seq => Ok(None),
                _ => Err(DataStoreError::InvalidVersion(version.to_owned())),
            },
        }
    }

    /// `GetVersionAsync`: one version. `Ok(None)` when that version is a
    /// tombstone or was removed; `InvalidVersion` when the id was not issued
    /// for this key.
    pub async fn get_version(&self, key: &str, version: &str) -> DsResult<Option<Entry>> {
        let id = self.entry_id(key)?;
        match self.versioned_record(&id, version).await? {
            Some(r) => live_entry(&r),
            None => Ok(None),
        }
    }

    /// `GetVersionAtTimeAsync`: the version current at `at_ms`, or `None`.
    /// `at_ms` must be in `1..=now + 10 min` (else `InvalidTimestamp`).
    pub async fn get_version_at_time(&self, key: &str, at_ms: i64) -> DsResult<Option<Entry>> {
        let id = self.entry_id(key)?;
        if at_ms <= 0 || at_ms > self.service.clock.now_ms().saturating_add(FUTURE_SLACK_MS) {
            return Err(DataStoreError::InvalidTimestamp);
        }
        let query = VersionQuery {
            order: SortOrder::Descending,
            min_ms: None,
            max_ms: Some(at_ms),
            after: None,
            limit: 1,
        };
        let entry = id.clone();
        let page = self
            .service
            .storage
            .call(move |p| p.list_versions(&entry, &query))
            .await?;
        let Some(info) = page.items.first() else {
            return Ok(None);
        };
        let seq = info.seq;
        let record = self
            .service
            .storage
            .call(move |p| p.read_version(&id, seq))
            .await?;
        match record {
            Some(r) => live_entry(&r),
            None => Ok(None),
        }
    }

    /// `ListVersionsAsync`.
    pub async fn list_versions(
        &self,
        key: &str,
        options: &ListVersionsOptions,
    ) -> DsResult<Listing<VersionSummary>> {
        let id = self.entry_id(key)?;
        let limit = page_size(options.page_size, VERSION_PAGE, VERSION_PAGE)?;
        let fp = cursor::fingerprint(&[
            "versions",
            &self.universe.to_string(),
            &self.name,
            &id.scope,
            &id.key,
            &format!("{:?}", options.order),
            &format!("{:?}", options.min_ms),
            &format!("{:?}", options.max_ms),
        ]);
        let after: Option<u64> = options
            .cursor
            .as_deref()
            .map(|c| cursor::decode(c, fp))
            .transpose()?;
        let query = VersionQuery {
            order: options.order,
            min_ms: options.min_ms,
            max_ms: options.max_ms,
            after,
            limit,
        };
        let page = self
            .service
            .storage
            .call(move |p| p.list_versions(&id, &query))
            .await?;
        let cursor = match (page.more, page.items.last()) {
            (true, Some(last)) => Some(cursor::encode(fp, &last.seq)),
            _ => None,
        };
        let items = page
            .items
            .iter()
            .map(|v| VersionSummary {
                version: format_version(v),
                created_ms: v.created_ms,
                key_created_ms: v.key_created_ms,
                deleted: v.deleted,
                content_length: v.content_length,
            })
            .collect();
        Ok(Listing { items, cursor })
    }

    /// `ListKeysAsync`: on an AllScopes data store the names are `scope/key`.
    pub async fn list_keys(&self, options: &ListKeysOptions) -> DsResult<Listing<KeyName>> {
        let limit = page_size(options.page_size, KEY_PAGE, MAX_LIST_PAGE)?;
        let fp = cursor::fingerprint(&[
            "keys",
            &self.universe.to_string(),
            &self.name,
            self.scope.as_deref().unwrap_or("\u{0}all"),
            &options.prefix,
            if options.exclude_deleted { "x" } else { "" },
        ]);
        let after: Option<(String, String)> = options
            .cursor
            .as_deref()
            .map(|c| cursor::decode(c, fp))
            .transpose()?;
        let query = KeyQuery {
            store: StoreId {
                universe: self.universe,
                name: self.name.clone(),
            },
            scope: self.scope.clone(),
            prefix: options.prefix.clone(),
            after: after.map(|(scope, key)| KeyName { scope, key }),
            limit,
            include_deleted: !options.exclude_deleted,
        };
        let page = self
            .service
            .storage
            .call(move |p| p.list_keys(&query))
            .await?;
        let cursor = match (page.more, page.items.last()) {
            (true, Some(last)) => Some(cursor::encode(fp, &(&last.scope, &last.key))),
            _ => None,
        };
        Ok(Listing {
            items: page.items,
            cursor,
        })
    }

    /// `RemoveVersionAsync` (deprecated in Roblox): permanently deletes one
    /// version without a tombstone.
    pub async fn remove_version(&self, key: &str, version: &str) -> DsResult<()> {
        let id = self.entry_id(key)?;
        let Some(record) = self.versioned_record(&id, version).await? else {
            return Err(DataStoreError::InvalidVersion(version.to_owned()));
        };
        let seq = record.info.seq;
        self.service.latest.forget(&id);
        let removed = self
            .service
            .storage
            .call(move |p| p.remove_version(&id, seq))
            .await?;
        if removed {
            Ok(())
        } else {
            Err(DataStoreError::InvalidVersion(version.to_owned()))
        }
    }
}
