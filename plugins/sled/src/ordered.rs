//! The ordered capability over sled: ordered entries, metadata records and
//! `purge_store`.
//!
//! Owns: the `ordered_values`, `ordered_index` and `meta_records` trees.
//! Invariants:
//! - `ordered_values[entry_key] = value (8 bytes, ordered_value_bytes)` and
//!   `ordered_index[scope_prefix ++ value_bytes ++ escaped key] = ""` hold
//!   exactly the same entries: every write changes both in one sled
//!   transaction that re-reads the value it decides on;
//! - a sorted read is one range scan of `ordered_index` from the cursor or
//!   bound it starts at to the other bound, so a page costs what it
//!   returns, whatever the size of the scope;
//! - `meta_records[name] = text`; names compare bytewise, as sled keys do.

use std::ops::Bound;

use profilestore_plugin_api::ordered::{
    ordered_matches, ordered_value_bytes, ordered_value_from_bytes,
};
use profilestore_plugin_api::{
    EntryId, MetaRecord, OrderedExpect, OrderedOutcome, OrderedQuery, OrderedRecord, OrderedWrite,
    Page, SortOrder, StorageError, StorageResult, StoreId,
};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::keys::{
    entry_key, ordered_index_key, ordered_index_parts, prefix_end, scope_prefix, store_key,
    store_prefix,
};
use crate::{corrupt, sled_error, SledPlugin};

fn tx_error(err: TransactionError<StorageError>) -> StorageError {
    match err {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => sled_error(e),
    }
}

fn value_of(bytes: &[u8]) -> StorageResult<i64> {
    let raw: [u8; 8] = bytes
        .try_into()
        .map_err(|_| corrupt("ordered value", format!("{} bytes, not 8", bytes.len())))?;
    Ok(ordered_value_from_bytes(raw))
}

fn text(bytes: &[u8], what: &str) -> StorageResult<String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| corrupt(what, e))
}

/// Both ends of a range of `ordered_index`.
type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The range of `ordered_index` a query reads, or `None` when it is empty.
fn index_range(q: &OrderedQuery, prefix: &[u8]) -> Option<KeyRange> {
    let at = |v: i64| {
        let mut k = prefix.to_vec();
        k.extend_from_slice(&ordered_value_bytes(v));
        k
    };
    let low = at(q.min.unwrap_or(i64::MIN));
    let high = match q.max.and_then(|m| m.checked_add(1)) {
        Some(v) => at(v),
        None => prefix_end(prefix),
    };
    let cursor = q
        .after
        .as_ref()
        .map(|a| ordered_index_key(prefix, a.value, &a.key));
    let (lo, hi) = match (q.order, cursor) {
        (SortOrder::Ascending, Some(c)) if c >= low => (Bound::Excluded(c), high),
        (SortOrder::Descending, Some(c)) if c < high => (Bound::Included(low), c),
        _ => (Bound::Included(low), high),
    };
    let lo_bytes = match &lo {
        Bound::Included(b) | Bound::Excluded(b) => b,
        Bound::Unbounded => unreachable!("both ends are set"),
    };
    (*lo_bytes < hi).then_some((lo, Bound::Excluded(hi)))
}

impl SledPlugin {
    pub(crate) fn ordered_get(&self, entry: &EntryId) -> StorageResult<Option<i64>> {
        match self
            .ordered_values
            .get(entry_key(entry))
            .map_err(sled_error)?
        {
            Some(b) => value_of(&b).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn ordered_put(&self, w: &OrderedWrite) -> StorageResult<OrderedOutcome> {
        let vkey = entry_key(&w.entry);
        let prefix = scope_prefix(w.entry.store.universe, &w.entry.store.name, &w.entry.scope);
        let outcome = (&self.ordered_values, &self.ordered_index)
            .transaction(|(values, index)| {
                let previous = match values.get(&vkey)? {
                    Some(b) => Some(value_of(&b).map_err(ConflictableTransactionError::Abort)?),
                    None => None,
                };
                if let OrderedExpect::Current(expected) = w.expect {
                    if expected != previous {
                        return Ok(OrderedOutcome::Conflict { current: previous });
                    }
                }
                if let Some(old) = previous {
                    index.remove(ordered_index_key(&prefix, old, &w.entry.key))?;
                }
                match w.value {
                    Some(v) => {
                        values.insert(vkey.as_slice(), &ordered_value_bytes(v))?;
                        index.insert(ordered_index_key(&prefix, v, &w.entry.key), &[])?;
                    }
                    None => {
                        values.remove(vkey.as_slice())?;
                    }
                }
                Ok(OrderedOutcome::Written { previous })
            })
            .map_err(tx_error)?;
        if matches!(outcome, OrderedOutcome::Written { .. }) {
            self.after_write()?;
        }
        Ok(outcome)
    }

    pub(crate) fn ordered_page(&self, q: &OrderedQuery) -> StorageResult<Page<OrderedRecord>> {
        let prefix = scope_prefix(q.store.universe, &q.store.name, &q.scope);
        let limit = q.limit.max(1);
        let Some(bounds) = index_range(q, &prefix) else {
            return Ok(Page {
                items: Vec::new(),
                more: false,
            });
        };
        let iter = self.ordered_index.range::<Vec<u8>, _>(bounds);
        let iter: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> = match q.order {
            SortOrder::Ascending => Box::new(iter),
            SortOrder::Descending => Box::new(iter.rev()),
        };
        let mut items = Vec::with_capacity(limit.min(1024));
        let mut more = false;
        for item in iter {
            let (key, _) = item.map_err(sled_error)?;
            let (value, key) = ordered_index_parts(&key, prefix.len())
                .ok_or_else(|| corrupt("ordered index key", "undecodable"))?;
            let record = OrderedRecord { value, key };
            // The range already applies both bounds and the cursor; this
            // guards the contract, not the cost.
            if !ordered_matches(q, &record) {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(record);
        }
        Ok(Page { items, more })
    }

    pub(crate) fn meta_get(&self, name: &str) -> StorageResult<Option<String>> {
        match self.meta_records.get(name).map_err(sled_error)? {
            Some(b) => text(&b, "meta record").map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn meta_put(&self, name: &str, value: Option<&str>) -> StorageResult<()> {
        match value {
            Some(v) => self.meta_records.insert(name, v.as_bytes()).map(drop),
            None => self.meta_records.remove(name).map(drop),
        }
        .map_err(sled_error)?;
        self.after_write()
    }

    pub(crate) fn meta_list(&self, prefix: &str) -> StorageResult<Vec<MetaRecord>> {
        self.meta_records
            .scan_prefix(prefix)
            .map(|item| {
                let (k, v) = item.map_err(sled_error)?;
                Ok(MetaRecord {
                    name: text(&k, "meta record name")?,
                    value: text(&v, "meta record")?,
                })
            })
            .collect()
    }

    /// Removes every head and version of `store`, one entry per
    /// transaction, then the store's creation time.
    pub(crate) fn purge_one_store(&self, store: &StoreId) -> StorageResult<u64> {
        let mut removed = 0;
        for item in self
            .heads
            .scan_prefix(store_prefix(store.universe, &store.name))
        {
            let (ekey, _) = item.map_err(sled_error)?;
            let versions: Vec<sled::IVec> = self
                .versions
                .scan_prefix(&ekey)
                .keys()
                .collect::<sled::Result<_>>()
                .map_err(sled_error)?;
            let existed = (&self.heads, &self.versions)
                .transaction(|(heads, vtree)| {
                    for v in &versions {
                        vtree.remove(v)?;
                    }
                    Ok::<_, ConflictableTransactionError<StorageError>>(
                        heads.remove(&ekey)?.is_some(),
                    )
                })
                .map_err(tx_error)?;
            removed += u64::from(existed);
        }
        self.stores
            .remove(store_key(store.universe, &store.name))
            .map_err(sled_error)?;
        self.after_write()?;
        Ok(removed)
    }
}
