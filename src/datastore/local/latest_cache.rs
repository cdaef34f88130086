//! A bounded cache of each key's latest stored version, for read-modify-write.
//!
//! Owns: remembering the record a commit of this service wrote (or a
//! conflict returned), so the next `update`/`increment`/`remove` of the same
//! key starts from it instead of reading storage first. Invariants: it is
//! only ever a *guess* of the snapshot: every write commits with
//! `Expect::Current(<cached seq>)`, so a stale entry (another process wrote)
//! costs one conflict and retry, never a lost update; a decision to write
//! nothing taken on a cached record (a cancelled transform, a remove of a
//! key that looked deleted) is confirmed on storage first; plain reads (`get`)
//! never use it; the lock is held for one map operation and never across an
//! `.await`; memory stays under [`MAX_BYTES`] and [`MAX_ENTRIES`].

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use profilestore_plugin_api::{EntryId, VersionRecord};

/// Most records kept.
pub(super) const MAX_ENTRIES: usize = 4096;
/// Most value bytes kept.
pub(super) const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Records larger than this are never cached.
const MAX_RECORD_BYTES: usize = 1024 * 1024;

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<EntryId, Arc<VersionRecord>>,
    bytes: usize,
}

/// The cache; cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub(super) struct LatestCache {
    inner: Arc<Mutex<Inner>>,
}

fn size(r: &VersionRecord) -> usize {
    r.value.len() + r.metadata.len() + 64
}

impl LatestCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    /// The remembered latest record of `id`, if any.
    pub(super) fn get(&self, id: &EntryId) -> Option<Arc<VersionRecord>> {
        self.lock().map.get(id).cloned()
    }

    /// Remembers `record` as the latest of `id`.
    pub(super) fn put(&self, id: &EntryId, record: Arc<VersionRecord>) {
        let mut inner = self.lock();
        if let Some(old) = inner.map.remove(id) {
            inner.bytes -= size(&old);
        }
        let bytes = size(&record);
        if bytes > MAX_RECORD_BYTES {
            return;
        }
        if inner.map.len() >= MAX_ENTRIES || inner.bytes + bytes > MAX_BYTES {
            // Evict about half, in the map's arbitrary order: cheap, and a
            // miss only costs one storage read.
            let victims: Vec<EntryId> = inner
                .map
                .keys()
                .take(inner.map.len() / 2 + 1)
                .cloned()
                .collect();
            for v in victims {
                if let Some(old) = inner.map.remove(&v) {
                    inner.bytes -= size(&old);
                }
            }
        }
        inner.bytes += bytes;
        inner.map.insert(id.clone(), record);
    }

    /// Forgets `id` (after a version removal).
    pub(super) fn forget(&self, id: &EntryId) {
        let mut inner = self.lock();
        if let Some(old) = inner.map.remove(id) {
            inner.bytes -= size(&old);
        }
    }

    /// Forgets everything (after a purge).
    pub(super) fn clear(&self) {
        let mut inner = self.lock();
        inner.map.clear();
        inner.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use profilestore_plugin_api::VersionInfo;

    fn record(seq: u64, len: usize) -> Arc<VersionRecord> {
        Arc::new(VersionRecord {
            info: VersionInfo {
                seq,
                key_created_ms: 0,
                created_ms: 0,
                deleted: false,
                content_length: len as u64,
            },
            value: "x".repeat(len),
            user_ids: Vec::new(),
            metadata: String::new(),
        })
    }

    #[test]
    fn remembers_replaces_and_forgets() {
        let cache = LatestCache::default();
        let id = EntryId::new(1, "S", "global", "k");
        assert!(cache.get(&id).is_none());
        cache.put(&id, record(1, 10));
        cache.put(&id, record(2, 10));
        assert_eq!(cache.get(&id).expect("cached").info.seq, 2);
        cache.forget(&id);
        assert!(cache.get(&id).is_none());
    }

    #[test]
    fn stays_within_its_bounds() {
        let cache = LatestCache::default();
        for i in 0..(MAX_ENTRIES * 3) {
            cache.put(
                &EntryId::new(1, "S", "global", i.to_string()),
                record(1, 100),
            );
        }
        let inner = cache.lock();
        assert!(inner.map.len() <= MAX_ENTRIES);
        assert_eq!(
            inner.bytes,
            inner.map.values().map(|r| size(r)).sum::<usize>()
        );
        drop(inner);
        cache.put(
            &EntryId::new(1, "S", "global", "huge"),
            record(1, MAX_RECORD_BYTES + 1),
        );
        assert!(cache.get(&EntryId::new(1, "S", "global", "huge")).is_none());
    }
}
