//! The in-memory reference storage plugin of profilestore.
//!
//! Owns: [`MemoryPlugin`], the executable reading of the plugin contract in
//! `profilestore-plugin-api`: when a persistent plugin and this one disagree,
//! this one is right (the conformance suite decides). Also backs mock stores.
//! Invariants: one `std::sync::Mutex` guards the whole state and is held for
//! exactly one call (a process-local plugin has no other process to race
//! with); data lives only as long as the value.
//!
//! Expiry of an entry whose latest version was removed with
//! `remove_version`: its highest remaining version counts as superseded at
//! its own creation time.

#![warn(missing_docs)]

mod image;
mod shared;

use parking_lot::{Mutex, MutexGuard};
use std::collections::BTreeMap;
use std::ops::Bound;

use std::collections::BTreeSet;

use profilestore_plugin_api::ordered::ordered_matches;
use profilestore_plugin_api::{
    Commit, CommitOutcome, DataStoreInfo, EntryId, Expect, KeyName, KeyQuery, LogMessage,
    MetaRecord, OrderedExpect, OrderedOutcome, OrderedQuery, OrderedRecord, OrderedWrite, Page,
    PurgeStats, RecordExpect, RecordOutcome, RecordWrite, Seq, SharedRecord, SortOrder,
    StoragePlugin, StorageResult, StoreId, StoreImage, StoreQuery, VersionInfo, VersionQuery,
    VersionRecord,
};

/// Per-entry state.
#[derive(Debug, Default)]
struct EntryState {
    /// Highest sequence ever assigned.
    max_seq: Seq,
    /// The current latest version (None after it was removed).
    latest: Option<Seq>,
    versions: BTreeMap<Seq, VersionRecord>,
}

#[derive(Debug)]
struct StoreTimes {
    created_ms: i64,
    updated_ms: i64,
}

/// One scope of an ordered data store: values by key, and the sorted index.
#[derive(Debug, Default)]
struct OrderedScope {
    values: BTreeMap<String, i64>,
    index: BTreeSet<OrderedRecord>,
}

#[derive(Debug, Default)]
struct State {
    /// Entries by (store, scope, key).
    entries: BTreeMap<(StoreId, String, String), EntryState>,
    stores: BTreeMap<StoreId, StoreTimes>,
    /// Ordered entries by (store, scope).
    ordered: BTreeMap<(StoreId, String), OrderedScope>,
    meta: BTreeMap<String, String>,
}

/// The in-memory plugin.
#[derive(Debug, Default)]
pub struct MemoryPlugin {
    state: Mutex<State>,
    /// The message log and records (outside `state`: images leave them).
    shared: shared::Shared,
}

impl MemoryPlugin {
    /// An empty store.
    pub fn new() -> Self {
        MemoryPlugin::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }
}

fn entry_key(entry: &EntryId) -> (StoreId, String, String) {
    (entry.store.clone(), entry.scope.clone(), entry.key.clone())
}

fn current(state: &EntryState) -> Option<&VersionRecord> {
    state.latest.and_then(|seq| state.versions.get(&seq))
}

/// Takes up to `limit` items from an iterator and says whether more exist.
fn page<T>(mut iter: impl Iterator<Item = T>, limit: usize) -> Page<T> {
    let limit = limit.max(1);
    let items: Vec<T> = iter.by_ref().take(limit).collect();
    let more = items.len() == limit && iter.next().is_some();
    Page { items, more }
}

impl StoragePlugin for MemoryPlugin {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn is_blocking(&self) -> bool {
        false
    }

    fn read_latest(&self, entry: &EntryId) -> StorageResult<Option<VersionRecord>> {
        let state = self.lock();
        Ok(state
            .entries
            .get(&entry_key(entry))
            .and_then(current)
            .cloned())
    }

    fn read_version(&self, entry: &EntryId, seq: Seq) -> StorageResult<Option<VersionRecord>> {
        let state = self.lock();
        Ok(state
            .entries
            .get(&entry_key(entry))
            .and_then(|e| e.versions.get(&seq))
            .cloned())
    }

    fn commit(&self, commit: &Commit) -> StorageResult<CommitOutcome> {
        let mut state = self.lock();
        let key = entry_key(&commit.entry);
        if let Expect::Current(expected) = commit.expect {
            let existing = state.entries.get(&key).and_then(current);
            if expected != existing.map(|r| r.info.seq) {
                return Ok(CommitOutcome::Conflict {
                    current: existing.cloned(),
                });
            }
        }
        let entry = state.entries.entry(key).or_default();
        let latest = current(entry);
        let plan = commit.plan(latest.map(|l| &l.info), entry.max_seq);
        let info = plan.info;
        if plan.replace_latest {
            if let Some(old) = entry.latest {
                entry.versions.remove(&old);
            }
        }
        entry.max_seq = info.seq;
        entry.latest = Some(info.seq);
        entry.versions.insert(info.seq, commit.record(info.clone()));
        let created_ms = info.created_ms;
        let times = state
            .stores
            .entry(commit.entry.store.clone())
            .or_insert(StoreTimes {
                created_ms,
                updated_ms: created_ms,
            });
        times.updated_ms = times.updated_ms.max(created_ms);
        Ok(CommitOutcome::Committed(info))
    }

    fn list_versions(
        &self,
        entry: &EntryId,
        query: &VersionQuery,
    ) -> StorageResult<Page<VersionInfo>> {
        let state = self.lock();
        let Some(e) = state.entries.get(&entry_key(entry)) else {
            return Ok(Page {
                items: Vec::new(),
                more: false,
            });
        };
        let in_range = |r: &&VersionRecord| {
            query.min_ms.is_none_or(|m| r.info.created_ms >= m)
                && query.max_ms.is_none_or(|m| r.info.created_ms <= m)
        };
        let info = |r: &VersionRecord| r.info.clone();
        Ok(match query.order {
            SortOrder::Ascending => {
                let start = query.after.map_or(Bound::Unbounded, Bound::Excluded);
                page(
                    e.versions
                        .range((start, Bound::Unbounded))
                        .map(|(_, r)| r)
                        .filter(in_range)
                        .map(info),
                    query.limit,
                )
            }
            SortOrder::Descending => {
                let end = query.after.map_or(Bound::Unbounded, Bound::Excluded);
                page(
                    e.versions
                        .range((Bound::Unbounded, end))
                        .rev()
                        .map(|(_, r)| r)
                        .filter(in_range)
                        .map(info),
                    query.limit,
                )
            }
        })
    }

    fn list_keys(&self, query: &KeyQuery) -> StorageResult<Page<KeyName>> {
        let state = self.lock();
        let start = (query.store.clone(), String::new(), String::new());
        let iter = state
            .entries
            .range(start..)
            .take_while(|((store, _, _), _)| *store == query.store)
            .filter(|((_, scope, key), e)| {
                let Some(latest) = current(e) else {
                    return false;
                };
                if latest.info.deleted && !query.include_deleted {
                    return false;
                }
                match &query.scope {
                    Some(s) => scope == s && key.starts_with(&query.prefix),
                    None => format!("{scope}/{key}").starts_with(&query.prefix),
                }
            })
            .map(|((_, scope, key), _)| KeyName {
                scope: scope.clone(),
                key: key.clone(),
            })
            .filter(|k| query.after.as_ref().is_none_or(|after| k > after));
        Ok(page(iter, query.limit))
    }

    fn list_data_stores(&self, query: &StoreQuery) -> StorageResult<Page<DataStoreInfo>> {
        let state = self.lock();
        let live = |store: &StoreId| {
            let start = (store.clone(), String::new(), String::new());
            state
                .entries
                .range(start..)
                .take_while(|((s, _, _), _)| s == store)
                .any(|(_, e)| e.latest.is_some())
        };
        let iter = state
            .stores
            .iter()
            .filter(|(id, _)| id.universe == query.universe && id.name.starts_with(&query.prefix))
            .filter(|(id, _)| query.after.as_ref().is_none_or(|a| id.name > *a))
            .filter(|(id, _)| live(id))
            .map(|(id, t)| DataStoreInfo {
                name: id.name.clone(),
                created_ms: t.created_ms,
                updated_ms: t.updated_ms,
            });
        Ok(page(iter, query.limit))
    }

    fn remove_version(&self, entry: &EntryId, seq: Seq) -> StorageResult<bool> {
        let mut state = self.lock();
        let Some(e) = state.entries.get_mut(&entry_key(entry)) else {
            return Ok(false);
        };
        let existed = e.versions.remove(&seq).is_some();
        if e.latest == Some(seq) {
            e.latest = None;
        }
        Ok(existed)
    }

    fn purge_expired(&self, cutoff_ms: i64) -> StorageResult<PurgeStats> {
        let mut state = self.lock();
        let mut stats = PurgeStats::default();
        state.entries.retain(|_, e| {
            // A latest tombstone older than the cutoff takes the entry with it.
            if let Some(latest) = current(e) {
                if latest.info.deleted && latest.info.created_ms < cutoff_ms {
                    stats.versions += e.versions.len() as u64;
                    stats.entries += 1;
                    return false;
                }
            }
            let seqs: Vec<Seq> = e.versions.keys().copied().collect();
            for (i, seq) in seqs.iter().enumerate() {
                if Some(*seq) == e.latest {
                    continue;
                }
                let superseded_at = match seqs.get(i + 1) {
                    Some(next) => e.versions[next].info.created_ms,
                    // Highest remaining version of an entry whose latest was removed.
                    None => e.versions[seq].info.created_ms,
                };
                if superseded_at < cutoff_ms {
                    e.versions.remove(seq);
                    stats.versions += 1;
                }
            }
            if e.versions.is_empty() {
                stats.entries += 1;
                return false;
            }
            true
        });
        Ok(stats)
    }

    fn flush(&self) -> StorageResult<()> {
        Ok(())
    }

    fn purge_store(&self, store: &StoreId) -> StorageResult<u64> {
        let mut state = self.lock();
        let before = state.entries.len();
        state.entries.retain(|(s, _, _), _| s != store);
        state.stores.remove(store);
        Ok((before - state.entries.len()) as u64)
    }

    fn ordered_read(&self, entry: &EntryId) -> StorageResult<Option<i64>> {
        let state = self.lock();
        let scope = (entry.store.clone(), entry.scope.clone());
        Ok(state
            .ordered
            .get(&scope)
            .and_then(|s| s.values.get(&entry.key).copied()))
    }

    fn ordered_write(&self, write: &OrderedWrite) -> StorageResult<OrderedOutcome> {
        let mut state = self.lock();
        let e = &write.entry;
        let id = (e.store.clone(), e.scope.clone());
        let previous = state
            .ordered
            .get(&id)
            .and_then(|s| s.values.get(&e.key).copied());
        if let OrderedExpect::Current(expected) = write.expect {
            if expected != previous {
                return Ok(OrderedOutcome::Conflict { current: previous });
            }
        }
        let scope = state.ordered.entry(id.clone()).or_default();
        if let Some(old) = previous {
            scope.index.remove(&OrderedRecord {
                value: old,
                key: e.key.clone(),
            });
        }
        match write.value {
            Some(value) => {
                scope.values.insert(e.key.clone(), value);
                scope.index.insert(OrderedRecord {
                    value,
                    key: e.key.clone(),
                });
            }
            None => {
                scope.values.remove(&e.key);
            }
        }
        // Conflicts and removals leave no empty scope behind.
        if scope.values.is_empty() {
            state.ordered.remove(&id);
        }
        Ok(OrderedOutcome::Written { previous })
    }

    fn ordered_range(&self, query: &OrderedQuery) -> StorageResult<Page<OrderedRecord>> {
        let state = self.lock();
        let Some(scope) = state
            .ordered
            .get(&(query.store.clone(), query.scope.clone()))
        else {
            return Ok(Page {
                items: Vec::new(),
                more: false,
            });
        };
        let matching = |r: &&OrderedRecord| ordered_matches(query, r);
        // Start at the cursor (or the bound) so a page never walks what
        // came before it.
        let after = query
            .after
            .clone()
            .map_or(Bound::Unbounded, Bound::Excluded);
        Ok(match query.order {
            SortOrder::Ascending => {
                let low = OrderedRecord {
                    value: query.min.unwrap_or(i64::MIN),
                    key: String::new(),
                };
                let start = match (&query.after, after) {
                    (Some(a), b) if *a >= low => b,
                    _ => Bound::Included(low),
                };
                let iter = scope
                    .index
                    .range((start, Bound::Unbounded))
                    .take_while(|r| query.max.is_none_or(|m| r.value <= m))
                    .filter(matching)
                    .cloned();
                page(iter, query.limit)
            }
            SortOrder::Descending => {
                // Everything with `value <= max` lies before `(max + 1, "")`.
                let high = query
                    .max
                    .and_then(|m| m.checked_add(1))
                    .map(|v| OrderedRecord {
                        value: v,
                        key: String::new(),
                    });
                let end = match (&query.after, high) {
                    (Some(a), Some(h)) if h < *a => Bound::Excluded(h),
                    (None, Some(h)) => Bound::Excluded(h),
                    _ => after,
                };
                let iter = scope
                    .index
                    .range((Bound::Unbounded, end))
                    .rev()
                    .take_while(|r| query.min.is_none_or(|m| r.value >= m))
                    .filter(matching)
                    .cloned();
                page(iter, query.limit)
            }
        })
    }

    fn read_meta(&self, name: &str) -> StorageResult<Option<String>> {
        Ok(self.lock().meta.get(name).cloned())
    }

    fn write_meta(&self, name: &str, value: Option<&str>) -> StorageResult<()> {
        let mut state = self.lock();
        match value {
            Some(v) => state.meta.insert(name.to_owned(), v.to_owned()),
            None => state.meta.remove(name),
        };
        Ok(())
    }

    fn list_meta(&self, prefix: &str) -> StorageResult<Vec<MetaRecord>> {
        let state = self.lock();
        Ok(state
            .meta
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(name, value)| MetaRecord {
                name: name.clone(),
                value: value.clone(),
            })
            .collect())
    }

    fn export_image(&self) -> StorageResult<StoreImage> {
        Ok(image::export(&self.lock()))
    }

    fn import_image(&self, image: &StoreImage) -> StorageResult<()> {
        let state = image::import(image);
        *self.lock() = state;
        Ok(())
    }

    fn purge_universe(&self, universe: u64) -> StorageResult<u64> {
        Ok(image::purge_universe(&mut self.lock(), universe))
    }

    fn log_append(&self, topic: &str, data: &str, sent_ms: i64) -> StorageResult<u64> {
        Ok(self.shared.append(topic, data, sent_ms))
    }

    fn log_read(&self, after: u64, limit: usize) -> StorageResult<Vec<LogMessage>> {
        Ok(self.shared.read(after, limit))
    }

    fn log_head(&self) -> StorageResult<u64> {
        Ok(self.shared.head())
    }

    fn log_trim(&self, cutoff_ms: i64) -> StorageResult<u64> {
        Ok(self.shared.trim(cutoff_ms))
    }

    // No `log_wait` hint: this plugin is called inline on the async
    // runtime (`is_blocking` is false), where blocking for a wake-up would
    // stall it. Readers poll.

    fn record_read(&self, name: &str) -> StorageResult<Option<SharedRecord>> {
        Ok(self.shared.record(name))
    }

    fn record_swap(
        &self,
        name: &str,
        expect: RecordExpect,
        value: Option<&str>,
    ) -> StorageResult<RecordOutcome> {
        Ok(self.shared.swap(name, expect, value))
    }

    fn record_swap_all(&self, writes: &[RecordWrite]) -> StorageResult<Vec<RecordOutcome>> {
        Ok(self.shared.swap_all(writes))
    }

    fn record_list(&self, prefix: &str) -> StorageResult<Vec<SharedRecord>> {
        Ok(self.shared.list(prefix))
    }
}
