//! The local backend: every universe's structures in this process.
//!
//! Owns: [`Local`] (universes by id, each behind its own lock), the
//! universe memory quota and the per-structure limits, etags and read
//! ids, and the waiting of queue reads. Invariants: a write that would
//! grow a universe past its quota first reaps every expired item of the
//! universe, then fails with `TotalMemoryOverLimit` if it still would
//! (writes that shrink or keep the size always pass); every call reaps at
//! most [`REAP_BUDGET`] expired items of its structure (reads skip the
//! rest); no lock is held across an `.await`.

use std::collections::HashMap as Map;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;

use super::hash_map::{self, HashMapData};
use super::queue::{self, QueueData};
use super::sorted_map::{self, SortedMapData};
use super::types::{RangeQuery, SortedWrite};
use super::*;

/// Expired items one call reclaims at most (beyond what reads skip).
pub(super) const REAP_BUDGET: usize = 64;

#[derive(Clone, Debug, Default)]
struct Universe {
    sorted: Map<String, SortedMapData>,
    queues: Map<String, QueueData>,
    hashes: Map<String, HashMapData>,
}

impl Universe {
    fn used(&self) -> u64 {
        let s: usize = self.sorted.values().map(SortedMapData::bytes).sum();
        let q: usize = self.queues.values().map(QueueData::bytes).sum();
        let h: usize = self.hashes.values().map(HashMapData::bytes).sum();
        (s + q + h) as u64
    }

    fn reap_all(&mut self, now: i64) {
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
    fn admit(&mut self, delta: isize, quota: u64, now: i64) -> Result<()> {
        if delta <= 0 {
            return Ok(());
        }
        let fits = |u: &Universe| u.used() + delta.unsigned_abs() as u64 <= quota;
        if fits(self) {
            return Ok(());
        }
        self.reap_all(now);
        if fits(self) {
            Ok(())
        } else {
            Err(MemoryStoreError::TotalMemoryOverLimit)
        }
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

/// A copy of the structures of every universe (see [`Local::export`]).
#[derive(Clone, Debug, Default)]
pub(super) struct Image(Map<u64, Universe>);

impl Image {
    /// Items held (sorted map, queue and hash map items, expired ones too).
    pub(super) fn items(&self) -> u64 {
        let per = |u: &Universe| {
            let s: usize = u.sorted.values().map(SortedMapData::len).sum();
            let q: usize = u.queues.values().map(QueueData::len).sum();
            let h: usize = u.hashes.values().map(HashMapData::len).sum();
            (s + q + h) as u64
        };
        self.0.values().map(per).sum()
    }

    /// Bytes held, as the quota counts them.
    pub(super) fn bytes(&self) -> u64 {
        self.0.values().map(Universe::used).sum()
    }
}

/// Memory stores in this process.
#[derive(Debug)]
pub(super) struct Local {
    clock: Clock,
    config: MemoryConfig,
    universes: Mutex<Map<u64, Arc<Mutex<Universe>>>>,
    nonce: String,
    counter: AtomicU64,
    operations: Mutex<std::collections::VecDeque<(u64, String)>>,
}

impl Local {
    pub(super) fn new(clock: Clock, config: MemoryConfig) -> Self {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        Local {
            clock,
            config,
            universes: Mutex::new(Map::new()),
            nonce: nonce[..8].to_owned(),
            counter: AtomicU64::new(0),
            operations: Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// A copy of every universe's structures (each copied under its lock).
    pub(super) fn export(&self) -> Image {
        let all: Vec<(u64, Arc<Mutex<Universe>>)> = self
            .universes
            .lock()
            .iter()
            .map(|(id, u)| (*id, Arc::clone(u)))
            .collect();
        Image(
            all.into_iter()
                .map(|(id, u)| (id, u.lock().clone()))
                .collect(),
        )
    }

    /// Replaces every universe with `image`'s, in one swap; queue reads
    /// waiting on a replaced queue wake and read again.
    pub(super) fn import(&self, image: &Image) {
        let fresh: Map<u64, Arc<Mutex<Universe>>> = image
            .0
            .iter()
            .map(|(id, u)| (*id, Arc::new(Mutex::new(u.clone()))))
            .collect();
        let old = std::mem::replace(&mut *self.universes.lock(), fresh);
        for u in old.values().chain(self.universes.lock().values()) {
            for q in u.lock().queues.values() {
                q.notify.notify_waiters();
            }
        }
    }

    fn universe(&self, universe: u64) -> Arc<Mutex<Universe>> {
        Arc::clone(self.universes.lock().entry(universe).or_default())
    }

    /// A fresh etag or read id (unique in this process and across restarts).
    fn tag(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}{n:x}", self.nonce)
    }

    fn expire_at(&self, now: i64, secs: u64) -> i64 {
        now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000))
    }

    pub(super) fn flush(&self, universe: u64) -> String {
        self.universes.lock().remove(&universe);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut ops = self.operations.lock();
        if ops.len() >= 1000 {
            ops.pop_front();
        }
        ops.push_back((universe, id.clone()));
        id
    }

    pub(super) fn flushed(&self, universe: u64, id: &str) -> bool {
        self.operations
            .lock()
            .iter()
            .any(|(u, i)| *u == universe && i == id)
    }

    pub(super) fn usage(&self, universe: u64) -> (u64, u64) {
        let u = self.universe(universe);
        let mut u = u.lock();
        u.reap_all(self.clock.now_ms());
        (u.used(), self.config.quota_bytes())
    }

    pub(super) fn sorted_put(
        &self,
        universe: u64,
        name: &str,
        w: SortedWrite<'_>,
        value_bytes: usize,
    ) -> Result<Written<SortedItem>> {
        let now = self.clock.now_ms();
        let u = self.universe(universe);
        let mut u = u.lock();
        let map = u.sorted.entry(name.to_owned()).or_default();
        map.reap(now, REAP_BUDGET);
        let current = map.get(w.key, now);
        let holds = match (&w.expect, &current) {
            (Expect::Any, _) | (Expect::Absent, None) => true,
            (Expect::Etag(e), Some(c)) => *e == c.etag,
            _ => false,
        };
        if !holds {
            return Ok(Written::Conflict { current });
        }
        let size = sorted_map::item_size(w.key, value_bytes, w.sort_key.as_ref());
        let change = delta(size, map.size_of(w.key, now));
        let new = current.is_none();
        if new && map.len() >= MAX_ITEMS {
            map.reap(now, usize::MAX);
        }
        structure_limits(map.bytes(), map.live(now).min(map.len()), new, change)?;
        u.admit(change, self.config.quota_bytes(), now)?;
        let item = SortedItem {
            key: w.key.to_owned(),
            value: w.value,
            sort_key: w.sort_key,
            etag: self.tag(),
            expire_ms: self.expire_at(now, w.expiration_secs),
        };
        let map = u.sorted.entry(name.to_owned()).or_default();
        map.insert(item.clone(), size);
        Ok(Written::Written { new, item })
    }

    pub(super) fn sorted_get(&self, universe: u64, name: &str, key: &str) -> Option<SortedItem> {
        let now = self.clock.now_ms();
        let u = self.universe(universe);
        let mut u = u.lock();
        let map = u.sorted.get_mut(name)?;
        map.reap(now, REAP_BUDGET);
        map.get(key, now)
    }

    pub(super) fn sorted_remove(&self, universe: u64, name: &str, key: &str) {
        let u = self.universe(universe);
        let mut u = u.lock();
        if let Some(map) = u.sorted.get_mut(name) {
            map.take(key);
            if map.len() == 0 {
                u.sorted.remove(name);
            }
        }
    }

    pub(super) fn sorted_range(
        &self,
        universe: u64,
        name: &str,
        q: &RangeQuery,
    ) -> Vec<SortedItem> {
        let now = self.clock.now_ms();
        let u = self.universe(universe);
        let mut u = u.lock();
        let Some(map) = u.sorted.get_mut(name) else {
            return Vec::new();
        };
        map.reap(now, REAP_BUDGET);
        map.range(
            q.direction,
            q.count,
            q.lower.as_ref(),
            q.upper.as_ref(),
            now,
        )
    }

    pub(super) fn sorted_size(&self, universe: u64, name: &str) -> usize {
        let now = self.clock.now_ms();
        let u = self.universe(universe);
        let mut u = u.lock();
        u.sorted.get_mut(name).map_or(0, |m| {
            m.reap(now, REAP_BUDGET);
            m.live(now)
        })
    }

    pub(super) fn queue_add(
        &self,
        universe: u64,
        name: &str,
        value: Value,
        value_bytes: usize,
        expiration_secs: u64,
        priority: f64,
    ) -> Result<()> {
        let now = self.clock.now_ms();
        let u = self.universe(universe);
        let mut u = u.lock();
        let q = u.queues.entry(name.to_owned()).or_default();
        q.reap(now, REAP_BUDGET);
        if q.len() >= MAX_ITEMS {
            q.reap(now, usize::MAX);
        }
        let size = queue::item_size(value_bytes);
        structure_limits(q.bytes(), q.len(), true, delta(size, 0))?;
        u.admit(delta(size, 0), self.config.quota_bytes(), now)?;
        let expire = self.expire_at(now, expiration_secs);
        let q = u.queues.entry(name.to_owned()).or_default();
        q.add(value, size, priority, expire);
        Ok(())
    }

    /// One read attempt, and the queue's wake-up (taken under the same
    /// lock, so an add after this attempt wakes the waiter).
    fn queue_try_read(
        &self,
        universe: u64,
        name: &str,
        o: &ReadOptions,
    ) -> (Option<(Vec<QueuedItem>, String)>, Arc<tokio::sync::Notify>) {
        let now = self.clock.now_ms();
        let u = self.universe(universe);
        let mut u = u.lock();
        let q = u.queues.entry(name.to_owned()).or_default();
        q.reap(now, REAP_BUDGET);
        let notify = Arc::clone(&q.notify);
        let id = self.tag();
        let invisible = i64::try_from(o.invisibility.as_millis()).unwrap_or(i64::MAX);
        let read = q.read(o.count, o.all_or_nothing, invisible, &id, now);
        (read.map(|items| (items, id)), notify)
    }

    /// A read that waits up to `o.wait` for enough items (one, or `count`
    /// with `all_or_nothing`), looking again on every add and at least
    /// every second (invisible items come back without an add).
    pub(super) async fn queue_read(
        &self,
        universe: u64,
        name: &str,
        o: &ReadOptions,
    ) -> (Vec<QueuedItem>, Option<String>) {
        let wait = i64::try_from(o.wait.as_millis()).unwrap_or(i64::MAX);
        let deadline = self.clock.now_ms().saturating_add(wait);
        loop {
            let (read, notify) = self.queue_try_read(universe, name, o);
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some((items, id)) = read {
                return (items, Some(id));
            }
            // An add between the attempt and `enable` would be missed:
            // look once more now that the waiter is registered.
            let (read, _) = self.queue_try_read(universe, name, o);
            if let Some((items, id)) = read {
                return (items, Some(id));
            }
            let left = deadline - self.clock.now_ms();
            if left <= 0 {
                return (Vec::new(), None);
            }
            let nap = Duration::from_millis(left.min(1000).unsigned_abs());
            tokio::select! {
                () = &mut notified => {}
                () = self.clock.sleep(nap) => {}
            }
        }
    }

    pub(super) fn queue_remove(&self, universe: u64, name: &str, read_id: &str) {
        let now = self.clock.now_ms();
        let u = self.universe(universe);
        let mut u = u.lock();
        if let Some(q) = u.queues.get_mut(name) {
            q.remove(read_id, now);
            q.reap(now, REAP_BUDGET);
        }
    }

    pub(super) fn queue_size(&self, universe: u64, name: &str, exclude_invisible: bool) -> usize {
        let now = self.clock.now_ms();
        let u = self.universe(universe);
        let mut u = u.lock();
        u.queues.get_mut(name).map_or(0, |q| {
            q.reap(now, REAP_BUDGET);
            q.size(exclude_invisible, now)
        })
    }

    pub(super) fn queue_peek(&self, universe: u64, name: &str, count: usize) -> Vec<QueuedItem> {
        let now = self.clock.now_ms();
        let u = self.universe(universe);
        let u = u.lock();
        u.queues
            .get(name)
            .map_or_else(Vec::new, |q| q.peek(count, now))
    }

    #[allow(clippy::too_many_arguments)] // one write's parts, checked by the caller
    pub(super) fn hash_put(
        &self,
        universe: u64,
        name: &str,
        key: &str,
        value: Value,
        value_bytes: usize,
        expiration_secs: u64,
        expect: &Expect,
    ) -> Result<Written<HashItem>> {
        let now = self.clock.now_ms();
        let u = self.universe(universe);
        let mut u = u.lock();
        let map = u.hashes.entry(name.to_owned()).or_default();
        map.reap(now, REAP_BUDGET);
        let current = map.get(key, now);
        let holds = match (expect, &current) {
            (Expect::Any, _) | (Expect::Absent, None) => true,
            (Expect::Etag(e), Some(c)) => *e == c.etag,
            _ => false,
        };
        if !holds {
            return Ok(Written::Conflict { current });
        }
        let size = hash_map::item_size(key, value_bytes);
        let change = delta(size, map.size_of(key, now));
        u.admit(change, self.config.quota_bytes(), now)?;
        let item = HashItem {
            key: key.to_owned(),
            value,
            etag: self.tag(),
            expire_ms: self.expire_at(now, expiration_secs),
        };
        u.hashes
            .entry(name.to_owned())
            .or_default()
            .insert(item.clone(), size);
        Ok(Written::Written {
            new: current.is_none(),
            item,
        })
    }

    pub(super) fn hash_get(&self, universe: u64, name: &str, key: &str) -> Option<HashItem> {
        let now = self.clock.now_ms();
        let u = self.universe(universe);
        let mut u = u.lock();
        let map = u.hashes.get_mut(name)?;
        map.reap(now, REAP_BUDGET);
        map.get(key, now)
    }

    pub(super) fn hash_remove(&self, universe: u64, name: &str, key: &str) {
        let u = self.universe(universe);
        let mut u = u.lock();
        if let Some(map) = u.hashes.get_mut(name) {
            map.take(key);
            if map.bytes() == 0 {
                u.hashes.remove(name);
            }
        }
    }

    pub(super) fn hash_page(
        &self,
        universe: u64,
        name: &str,
        count: usize,
        after: Option<&str>,
    ) -> HashPage {
        let now = self.clock.now_ms();
        let u = self.universe(universe);
        let mut u = u.lock();
        let Some(map) = u.hashes.get_mut(name) else {
            return HashPage::default();
        };
        map.reap(now, REAP_BUDGET);
        let (items, more) = map.page(count, after, now);
        let cursor = more
            .then(|| items.last().map(|(k, _)| hash_map::cursor_after(k)))
            .flatten();
        HashPage { items, cursor }
    }
}
