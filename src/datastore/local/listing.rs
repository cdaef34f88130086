//! Key and data store listings, and the purge of expired versions.
//!
//! Owns: `ListKeysAsync`, `ListDataStoresAsync` and [`DataStoreService::purge_expired`].
//! Invariants: page sizes are checked before any storage call (0 means the
//! Roblox default); a cursor carries a fingerprint of every other parameter
//! of its listing (see `cursor`), so it is refused by any other listing; a
//! page whose `more` is false has no cursor; the purge cutoff is
//! `now - version_expiry` on the injected clock.

use profilestore_plugin_api::{KeyQuery, PurgeStats, StoreId, StoreQuery};

use super::{page_size, Local, MAX_LIST_PAGE};
use crate::datastore::cursor;
use crate::datastore::{DataStore, DataStoreInfo, DsResult, KeyName, ListKeysOptions, Listing};

/// Default page of `ListKeysAsync`.
const KEY_PAGE: usize = 50;
/// Default page of `ListDataStoresAsync`.
const STORE_PAGE: usize = 32;

impl Local {
    /// `ListDataStoresAsync(prefix, pageSize, cursor)`: only data stores
    /// holding at least one entry. Page size 0 means 32.
    pub(in crate::datastore) async fn list_data_stores(
        &self,
        universe: u64,
        prefix: &str,
        page_size: usize,
        cursor: Option<&str>,
    ) -> DsResult<Listing<DataStoreInfo>> {
        let limit = super::page_size(page_size, STORE_PAGE, MAX_LIST_PAGE)?;
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
        let mut items = page.items;
        self.hide_deleted(universe, &mut items).await?;
        Ok(Listing { items, cursor })
    }

    /// Permanently removes versions and tombstones older than the expiry.
    pub(in crate::datastore) async fn purge_expired(&self) -> DsResult<PurgeStats> {
        let expiry = i64::try_from(self.config.version_expiry.as_millis()).unwrap_or(i64::MAX);
        let cutoff = self.clock.now_ms().saturating_sub(expiry);
        let mut stats = self.storage.call(move |p| p.purge_expired(cutoff)).await?;
        stats.entries += self.purge_deleted_stores().await?;
        self.latest.clear();
        Ok(stats)
    }
}

impl Local {
    /// `ListKeysAsync`: on an AllScopes data store the names are `scope/key`.
    pub(in crate::datastore) async fn list_keys(
        &self,
        ds: &DataStore,
        options: &ListKeysOptions,
    ) -> DsResult<Listing<KeyName>> {
        let limit = page_size(options.page_size, KEY_PAGE, MAX_LIST_PAGE)?;
        let fp = cursor::fingerprint(&[
            "keys",
            &ds.universe().to_string(),
            ds.name(),
            ds.scope().unwrap_or("\u{0}all"),
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
                universe: ds.universe(),
                name: ds.name().to_owned(),
            },
            scope: ds.scope().map(str::to_owned),
            prefix: options.prefix.clone(),
            after: after.map(|(scope, key)| KeyName { scope, key }),
            limit,
            include_deleted: !options.exclude_deleted,
        };
        let page = self.storage.call(move |p| p.list_keys(&query)).await?;
        let cursor = match (page.more, page.items.last()) {
            (true, Some(last)) => Some(cursor::encode(fp, &(&last.scope, &last.key))),
            _ => None,
        };
        Ok(Listing {
            items: page.items,
            cursor,
        })
    }
}
