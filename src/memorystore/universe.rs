//! One universe's memory stores and every operation on them, as pure
//! functions over (serializable) data: what both the local backend (under
//! a lock, `local.rs`) and the shared backend (read, apply, compare-and-
//! swap, `shared.rs`) run, so the two cannot drift apart.
//!
//! Owns: [`Universe`] (its sorted maps, queues and hash maps), the
//! universe memory quota check and the per-structure limits, [`Ctx`] (the
//! time, the quota and the etag source of one call), [`Tags`] (etags and
//! read ids) and [`Changes`] (whether an operation's answer means it
//! changed something: the shared backend writes only then). Invariants: a
//! write that would grow the universe past its quota first reaps every
//! expired item of the universe, then fails with `TotalMemoryOverLimit` if
//! it still would (writes that shrink or keep the size always pass); every
//! call reaps at most [`REAP_BUDGET`] expired items of its structure
//! (reads skip the rest); an operation that fails changes nothing.

use std::collections::HashMap as Map;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::hash_map::{self, HashMapData};
use super::queue::{self, QueueData};
use super::sorted_map::{self, SortedMapData};
use super::types::{RangeQuery, SortedWrite};
use super::*;

/// Expired items one call reclaims at most (beyond what reads skip).
pub(super) const REAP_BUDGET: usize = 64;

/// Etags and read ids: a random node nonce (64 bits) and a counter, so
/// they are unique in this process, across restarts and across the nodes
/// of a cluster.
#[derive(Debug)]
pub(super) struct Tags {
    nonce: String,
    counter: AtomicU64,
}

impl Tags {
    pub(super) fn new() -> Self {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        Tags {
            nonce: nonce[..16].to_owned(),
            counter: AtomicU64::new(0),
        }
    }

    /// A fresh tag.
    pub(super) fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}{n:x}", self.nonce)
    }
}

/// What one call runs with.
#[derive(Debug)]
pub(super) struct Ctx<'a> {
    /// The clock's time (Unix ms).
    pub(super) now: i64,
    /// The universe's quota in bytes.
    pub(super) quota: u64,
    /// Where etags and read ids come from.
    pub(super) tags: &'a Tags,
}

impl Ctx<'_> {
    fn expire_at(&self, secs: u64) -> i64 {
        let ms = i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000);
        self.now.saturating_add(ms)
    }
}

/// Whether an operation's answer means it changed the data.
pub(super) trait Changes {
    /// True when the data changed (and must be written back).
    fn changed(&self) -> bool;
}

impl<I> Changes for Written<I> {
    fn changed(&self) -> bool {
        matches!(self, Written::Written { .. })
    }
}

impl Changes for () {
    fn changed(&self) -> bool {
        true
    }
}

impl Changes for bool {
    fn changed(&self) -> bool {
        *self
    }
}

impl<T> Changes for Option<T> {
    fn changed(&self) -> bool {
        self.is_some()
    }
}

/// One universe's memory stores.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Universe {
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    sorted: Map<String, SortedMapData>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    queues: Map<String, QueueData>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    hashes: Map<String, HashMapData>,
}

impl Universe {
    /// Every structure holding an item, by kind and name (inspection).
    pub(super) fn structures(&self) -> Vec<Structure> {
        let one = |kind, name: &String, items, bytes| Structure {
            kind,
            name: name.clone(),
            items,
            bytes,
        };
        let sorted = self
            .sorted
            .iter()
            .map(|(n, m)| one(StructureKind::SortedMap, n, m.len(), m.bytes()));
        let queues = self
            .queues
            .iter()
            .map(|(n, q)| one(StructureKind::Queue, n, q.len(), q.bytes()));
        let hashes = self
            .hashes
            .iter()
            .map(|(n, h)| one(StructureKind::HashMap, n, h.len(), h.bytes()));
        let mut all: Vec<Structure> = sorted
            .chain(queues)
            .chain(hashes)
            .filter(|s| s.items > 0)
            .collect();
        all.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        all
    }
}

/// The per-structure limits of a sorted map or queue write.
fn structure_limits(bytes: usize, items: usize, new: bool, delta: isize) -> Result<()> {
    if new && items >= MAX_ITEMS {
        return Err(MemoryStoreError::ItemsOverLimit);
    }
    if delta > 0 && bytes + delta.unsigned_abs() > MAX_STRUCTURE_BYTES {
        return Err(MemoryStoreError::StructureMemoryOverLimit);
    }
    Ok(())
}

fn delta(new: usize, old: usize) -> isize {
    new as isize - old as isize
}

/// Whether a write expecting `expect` may replace `current`.
fn holds(expect: &Expect, current: Option<&str>) -> bool {
    match (expect, current) {
        (Expect::Any, _) | (Expect::Absent, None) => true,
        (Expect::Etag(e), Some(c)) => e == c,
        _ => false,
    }
}

impl Universe {
    /// Bytes held, as the quota counts them.
    pub(super) fn used(&self) -> u64 {
        let s: usize = self.sorted.values().map(SortedMapData::bytes).sum();
        let q: usize = self.queues.values().map(QueueData::bytes).sum();
        let h: usize = self.hashes.values().map(HashMapData::bytes).sum();
        (s + q + h) as u64
    }

    /// Items held (expired ones not yet reaped included).
    pub(super) fn items(&self) -> u64 {
        let s: usize = self.sorted.values().map(SortedMapData::len).sum();
        let q: usize = self.queues.values().map(QueueData::len).sum();
        let h: usize = self.hashes.values().map(HashMapData::len).sum();
        (s + q + h) as u64
    }

    /// True when it holds no structure at all.
    pub(super) fn is_empty(&self) -> bool {
        self.sorted.is_empty() && self.queues.is_empty() && self.hashes.is_empty()
    }

    /// Drops every expired item.
    pub(super) fn reap_all(&mut self, now: i64) {
        for m in self.sorted.values_mut() {
            m.reap(now, usize::MAX);
        }
        for q in self.queues.values_mut() {
            q.reap(now, usize::MAX);
        }
        for h in self.hashes.values_mut() {
            h.reap(now, usize::MAX);
        }
    }

    /// The quota check of a write growing the universe by `delta` bytes.
    fn admit(&mut self, delta: isize, cx: &Ctx<'_>) -> Result<()> {
        if delta <= 0 {
            return Ok(());
        }
        let fits = |u: &Universe| u.used() + delta.unsigned_abs() as u64 <= cx.quota;
        if fits(self) {
            return Ok(());
        }
        self.reap_all(cx.now);
        if fits(self) {
            Ok(())
        } else {
            Err(MemoryStoreError::TotalMemoryOverLimit)
        }
    }

    /// The waiters' wake-up of queue `name` (local backend).
    pub(super) fn queue_notify(&mut self, name: &str) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.queues.entry(name.to_owned()).or_default().notify)
    }

    /// Wakes every waiter of every queue (after an import).
    pub(super) fn wake_all(&self) {
        for q in self.queues.values() {
            q.notify.notify_waiters();
        }
    }

    pub(super) fn sorted_put(
        &mut self,
        cx: &Ctx<'_>,
        name: &str,
        w: SortedWrite<'_>,
        value_bytes: usize,
    ) -> Result<Written<SortedItem>> {
        let now = cx.now;
        let map = self.sorted.entry(name.to_owned()).or_default();
        map.reap(now, REAP_BUDGET);
        let current = map.get(w.key, now);
        if !holds(&w.expect, current.as_ref().map(|c| c.etag.as_str())) {
            return Ok(Written::Conflict { current });
        }
        let size = sorted_map::item_size(w.key, value_bytes, w.sort_key.as_ref());
        let change = delta(size, map.size_of(w.key, now));
        let new = current.is_none();
        if new && map.len() >= MAX_ITEMS {
            map.reap(now, usize::MAX);
        }
        structure_limits(map.bytes(), map.live(now).min(map.len()), new, change)?;
        self.admit(change, cx)?;
        let item = SortedItem {
            key: w.key.to_owned(),
            value: w.value,
            sort_key: w.sort_key,
            etag: cx.tags.next(),
            expire_ms: cx.expire_at(w.expiration_secs),
        };
        let map = self.sorted.entry(name.to_owned()).or_default();
        map.insert(item.clone(), size);
        Ok(Written::Written { new, item })
    }

    pub(super) fn sorted_get(&mut self, cx: &Ctx<'_>, name: &str, key: &str) -> Option<SortedItem> {
        let map = self.sorted.get_mut(name)?;
        map.reap(cx.now, REAP_BUDGET);
        map.get(key, cx.now)
    }

    /// True when an item was removed.
    pub(super) fn sorted_remove(&mut self, name: &str, key: &str) -> bool {
        let Some(map) = self.sorted.get_mut(name) else {
            return false;
        };
        let removed = map.take(key).is_some();
        if map.len() == 0 {
            self.sorted.remove(name);
        }
        removed
    }

    pub(super) fn sorted_range(
        &mut self,
        cx: &Ctx<'_>,
        name: &str,
        q: &RangeQuery,
    ) -> Vec<SortedItem> {
        let Some(map) = self.sorted.get_mut(name) else {
            return Vec::new();
        };
        map.reap(cx.now, REAP_BUDGET);
        let (lower, upper) = (q.lower.as_ref(), q.upper.as_ref());
        map.range(q.direction, q.count, lower, upper, cx.now)
    }

    pub(super) fn sorted_size(&mut self, cx: &Ctx<'_>, name: &str) -> usize {
        self.sorted.get_mut(name).map_or(0, |m| {
            m.reap(cx.now, REAP_BUDGET);
            m.live(cx.now)
        })
    }

    pub(super) fn queue_add(
        &mut self,
        cx: &Ctx<'_>,
        name: &str,
        value: Value,
        value_bytes: usize,
        expiration_secs: u64,
        priority: f64,
    ) -> Result<()> {
        let now = cx.now;
        let q = self.queues.entry(name.to_owned()).or_default();
        q.reap(now, REAP_BUDGET);
        if q.len() >= MAX_ITEMS {
            q.reap(now, usize::MAX);
        }
        let size = queue::item_size(value_bytes);
        structure_limits(q.bytes(), q.len(), true, delta(size, 0))?;
        self.admit(delta(size, 0), cx)?;
        let expire = cx.expire_at(expiration_secs);
        let q = self.queues.entry(name.to_owned()).or_default();
        q.add(value, size, priority, expire);
        Ok(())
    }

    /// One read attempt: the items and their read id, `None` (nothing
    /// changed) when there are not enough.
    pub(super) fn queue_read(
        &mut self,
        cx: &Ctx<'_>,
        name: &str,
        o: &ReadOptions,
    ) -> Option<(Vec<QueuedItem>, String)> {
        let q = self.queues.get_mut(name)?;
        q.reap(cx.now, REAP_BUDGET);
        let id = cx.tags.next();
        let invisible = i64::try_from(o.invisibility.as_millis()).unwrap_or(i64::MAX);
        let read = q.read(o.count, o.all_or_nothing, invisible, &id, cx.now);
        read.map(|items| (items, id))
    }

    /// True when items were removed.
    pub(super) fn queue_remove(&mut self, cx: &Ctx<'_>, name: &str, read_id: &str) -> bool {
        let Some(q) = self.queues.get_mut(name) else {
            return false;
        };
        let removed = q.remove(read_id, cx.now) > 0;
        q.reap(cx.now, REAP_BUDGET);
        removed
    }

    pub(super) fn queue_size(
        &mut self,
        cx: &Ctx<'_>,
        name: &str,
        exclude_invisible: bool,
    ) -> usize {
        self.queues.get_mut(name).map_or(0, |q| {
            q.reap(cx.now, REAP_BUDGET);
            q.size(exclude_invisible, cx.now)
        })
    }

    pub(super) fn queue_peek(&self, cx: &Ctx<'_>, name: &str, count: usize) -> Vec<QueuedItem> {
        self.queues
            .get(name)
            .map_or_else(Vec::new, |q| q.peek(count, cx.now))
    }

    #[allow(clippy::too_many_arguments)] // one write's parts, checked by the caller
    pub(super) fn hash_put(
        &mut self,
        cx: &Ctx<'_>,
        name: &str,
        key: &str,
        value: Value,
        value_bytes: usize,
        expiration_secs: u64,
        expect: &Expect,
    ) -> Result<Written<HashItem>> {
        let now = cx.now;
        let map = self.hashes.entry(name.to_owned()).or_default();
        map.reap(now, REAP_BUDGET);
        let current = map.get(key, now);
        if !holds(expect, current.as_ref().map(|c| c.etag.as_str())) {
            return Ok(Written::Conflict { current });
        }
        let size = hash_map::item_size(key, value_bytes);
        let change = delta(size, map.size_of(key, now));
        self.admit(change, cx)?;
        let item = HashItem {
            key: key.to_owned(),
            value,
            etag: cx.tags.next(),
            expire_ms: cx.expire_at(expiration_secs),
        };
        self.hashes
            .entry(name.to_owned())
            .or_default()
            .insert(item.clone(), size);
        Ok(Written::Written {
            new: current.is_none(),
            item,
        })
    }

    pub(super) fn hash_get(&mut self, cx: &Ctx<'_>, name: &str, key: &str) -> Option<HashItem> {
        let map = self.hashes.get_mut(name)?;
        map.reap(cx.now, REAP_BUDGET);
        map.get(key, cx.now)
    }

    /// True when an item was removed.
    pub(super) fn hash_remove(&mut self, name: &str, key: &str) -> bool {
        let Some(map) = self.hashes.get_mut(name) else {
            return false;
        };
        let before = map.len();
        map.take(key);
        let removed = map.len() < before;
        if map.bytes() == 0 {
            self.hashes.remove(name);
        }
        removed
    }

    pub(super) fn hash_page(
        &mut self,
        cx: &Ctx<'_>,
        name: &str,
        count: usize,
        after: Option<&str>,
    ) -> HashPage {
        let Some(map) = self.hashes.get_mut(name) else {
            return HashPage::default();
        };
        map.reap(cx.now, REAP_BUDGET);
        let (items, more) = map.page(count, after, cx.now);
        let cursor = more
            .then(|| items.last().map(|(k, _)| hash_map::cursor_after(k)))
            .flatten();
        HashPage { items, cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_universe_survives_its_record_encoding() {
        let tags = Tags::new();
        let cx = Ctx {
            now: 1_000,
            quota: 1 << 20,
            tags: &tags,
        };
        let mut u = Universe::default();
        let w = |key, n: f64| SortedWrite {
            key,
            value: Value::from(n),
            expiration_secs: 60,
            sort_key: Some(SortKey::Number(n)),
            expect: Expect::Any,
        };
        for (k, n) in [("b", 0.1 + 0.2), ("a", -3.0)] {
            assert!(u.sorted_put(&cx, "m", w(k, n), 8).is_ok());
        }
        assert!(u.queue_add(&cx, "q", Value::from(1), 1, 60, 0.3).is_ok());
        assert!(u.queue_add(&cx, "q", Value::from(2), 1, 60, 0.3).is_ok());
        let o = ReadOptions::new(1);
        let (_, id) = u.queue_read(&cx, "q", &o).expect("one item");
        let h = u.hash_put(&cx, "h", "k", Value::from("v"), 3, 60, &Expect::Absent);
        assert!(h.is_ok());
        let text = serde_json::to_string(&u).expect("encodes");
        let mut back: Universe = serde_json::from_str(&text).expect("decodes");
        assert_eq!((back.used(), back.items()), (u.used(), u.items()));
        let q = RangeQuery {
            direction: Direction::Ascending,
            count: 10,
            lower: None,
            upper: None,
        };
        assert_eq!(
            back.sorted_range(&cx, "m", &q),
            u.sorted_range(&cx, "m", &q)
        );
        assert_eq!(back.queue_peek(&cx, "q", 10), u.queue_peek(&cx, "q", 10));
        assert_eq!(
            back.queue_size(&cx, "q", true),
            1,
            "the read item is hidden"
        );
        assert!(back.queue_remove(&cx, "q", &id), "the read id survived");
        assert_eq!(back.hash_get(&cx, "h", "k"), u.hash_get(&cx, "h", "k"));
    }
}
