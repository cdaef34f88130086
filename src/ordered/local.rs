//! The local backend: ordered data stores on the storage plugin's ordered
//! capability in this process.
//!
//! Owns: the five primitives over `Storage::call` (the one bridge to
//! blocking plugin calls): read, compare-and-set, increment (a
//! compare-and-swap loop), a sorted page (index-backed in the plugin) and a
//! batch read (one plugin call for all keys). Invariants: inputs were
//! validated by the caller (`mod.rs`); atomicity is the plugin's (each
//! write checks its expectation in one transaction), never a lock here.

use std::collections::BTreeMap;

use profilestore_plugin_api::{
    EntryId, OrderedExpect, OrderedOutcome, OrderedQuery, OrderedRecord, OrderedWrite, SortOrder,
};

use super::{OrdResult, OrderedDataStore, OrderedError, RetryCap, SortedQuery};
use crate::storage::Storage;

/// The entry's value.
pub(super) async fn read(storage: &Storage, entry: EntryId) -> OrdResult<Option<i64>> {
    Ok(storage.call(move |p| p.ordered_read(&entry)).await?)
}

/// One conditional write (`value: None` removes).
pub(super) async fn write(
    storage: &Storage,
    entry: EntryId,
    expect: OrderedExpect,
    value: Option<i64>,
) -> OrdResult<OrderedOutcome> {
    let write = OrderedWrite {
        entry,
        expect,
        value,
    };
    Ok(storage.call(move |p| p.ordered_write(&write)).await?)
}

/// Adds `delta` with compare-and-swap: read, add, write if unchanged.
pub(super) async fn increment(storage: &Storage, entry: EntryId, delta: i64) -> OrdResult<i64> {
    let key = entry.key.clone();
    let mut current = read(storage, entry.clone()).await?;
    for _ in 0..RetryCap::LOCAL {
        let new = current
            .unwrap_or(0)
            .checked_add(delta)
            .ok_or(OrderedError::IncrementOverflow)?;
        let expect = OrderedExpect::Current(current);
        match write(storage, entry.clone(), expect, Some(new)).await? {
            OrderedOutcome::Written { .. } => return Ok(new),
            OrderedOutcome::Conflict { current: now } => current = now,
        }
    }
    Err(OrderedError::TooManyConflicts {
        key,
        attempts: RetryCap::LOCAL,
    })
}

/// One sorted page after `after`; says whether more records follow.
pub(super) async fn range(
    storage: &Storage,
    store: &OrderedDataStore,
    query: &SortedQuery,
    after: Option<OrderedRecord>,
) -> OrdResult<(Vec<OrderedRecord>, bool)> {
    let q = OrderedQuery {
        store: profilestore_plugin_api::StoreId {
            universe: store.universe,
            name: store.name.clone(),
        },
        scope: store.scope.clone(),
        order: if query.ascending {
            SortOrder::Ascending
        } else {
            SortOrder::Descending
        },
        min: query.min,
        max: query.max,
        after,
        limit: query.page_size,
    };
    let page = storage.call(move |p| p.ordered_range(&q)).await?;
    Ok((page.items, page.more))
}

/// The values of `entries` that have one, by key (one plugin call).
pub(super) async fn batch(
    storage: &Storage,
    entries: Vec<EntryId>,
) -> OrdResult<BTreeMap<String, i64>> {
    Ok(storage
        .call(move |p| {
            let mut found = BTreeMap::new();
            for entry in &entries {
                if let Some(v) = p.ordered_read(entry)? {
                    found.insert(entry.key.clone(), v);
                }
            }
            Ok(found)
        })
        .await?)
}
