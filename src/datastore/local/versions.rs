//! Reading, listing and removing individual versions of a key.
//!
//! Owns: `GetVersionAsync`, `GetVersionAtTimeAsync`, `ListVersionsAsync` and
//! `RemoveVersionAsync`. Invariants: a version id is accepted only when it
//! parses and names exactly (key created time, sequence, version time) a
//! version stored for this key; an issued version that is gone (removed or
//! expired) reads as `None`; an id never issued for this key is
//! `InvalidVersion` (its message says "not valid").

use profilestore_plugin_api::{EntryId, SortOrder, VersionQuery, VersionRecord};

use super::{live_entry, page_size, Local};
use crate::datastore::cursor;
use crate::datastore::{
    DataStore, DataStoreError, DsResult, Entry, ListVersionsOptions, Listing, VersionSummary,
};
use crate::opencloud::version_id::{format_version, VersionId};

/// Default and largest page of `ListVersionsAsync`.
const VERSION_PAGE: usize = 1024;
/// How far in the future `GetVersionAtTimeAsync` may look.
const FUTURE_SLACK_MS: i64 = 10 * 60 * 1000;

impl Local {
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
            .storage
            .call(move |p| p.read_version(&entry, wanted.seq))
            .await?;
        match record {
            Some(r) if wanted.names(&r.info) => Ok(Some(r)),
            Some(_) => Err(DataStoreError::InvalidVersion(version.to_owned())),
            // Removed or expired, or never issued. An issued version is
            // older than a version still stored, and its times are ordered
            // (key created <= version created <= any later version's time).
            // The one gone version this cannot vouch for is a removed
            // latest version with nothing stored after it.
            None => {
                let entry = id.clone();
                let query = VersionQuery {
                    order: SortOrder::Descending,
                    min_ms: None,
                    max_ms: None,
                    after: None,
                    limit: 1,
                };
                let newest = self
                    .storage
                    .call(move |p| p.list_versions(&entry, &query))
                    .await?;
                match newest.items.first() {
                    Some(n)
                        if wanted.seq < n.seq
                            && wanted.key_created_ms <= wanted.created_ms
                            && wanted.created_ms <= n.created_ms =>
                    {
                        Ok(None)
                    }
                    _ => Err(DataStoreError::InvalidVersion(version.to_owned())),
                }
            }
        }
    }

    /// `GetVersionAsync`: one version. `Ok(None)` when that version is a
    /// tombstone or was removed; `InvalidVersion` when the id was not issued
    /// for this key.
    pub(in crate::datastore) async fn get_version(
        &self,
        ds: &DataStore,
        key: &str,
        version: &str,
    ) -> DsResult<Option<Entry>> {
        let id = ds.entry_id(key)?;
        match self.versioned_record(&id, version).await? {
            Some(r) => live_entry(&r),
            None => Ok(None),
        }
    }

    /// `GetVersionAtTimeAsync`: the version current at `at_ms`, or `None`.
    /// `at_ms` must be in `1..=now + 10 min` (else `InvalidTimestamp`).
    pub(in crate::datastore) async fn get_version_at_time(
        &self,
        ds: &DataStore,
        key: &str,
        at_ms: i64,
    ) -> DsResult<Option<Entry>> {
        let id = ds.entry_id(key)?;
        if at_ms <= 0 || at_ms > self.clock.now_ms().saturating_add(FUTURE_SLACK_MS) {
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
            .storage
            .call(move |p| p.list_versions(&entry, &query))
            .await?;
        let Some(info) = page.items.first() else {
            return Ok(None);
        };
        let seq = info.seq;
        let record = self.storage.call(move |p| p.read_version(&id, seq)).await?;
        match record {
            Some(r) => live_entry(&r),
            None => Ok(None),
        }
    }

    /// `ListVersionsAsync`.
    pub(in crate::datastore) async fn list_versions(
        &self,
        ds: &DataStore,
        key: &str,
        options: &ListVersionsOptions,
    ) -> DsResult<Listing<VersionSummary>> {
        let id = ds.entry_id(key)?;
        let limit = page_size(options.page_size, VERSION_PAGE, VERSION_PAGE)?;
        let fp = cursor::fingerprint(&[
            "versions",
            &ds.universe().to_string(),
            ds.name(),
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

    /// `RemoveVersionAsync` (deprecated in Roblox): permanently deletes one
    /// version without a tombstone.
    pub(in crate::datastore) async fn remove_version(
        &self,
        ds: &DataStore,
        key: &str,
        version: &str,
    ) -> DsResult<()> {
        let id = ds.entry_id(key)?;
        let Some(record) = self.versioned_record(&id, version).await? else {
            return Err(DataStoreError::InvalidVersion(version.to_owned()));
        };
        let seq = record.info.seq;
        self.latest.forget(&id);
        let removed = self
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
