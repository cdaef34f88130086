//! The local backend: every universe's structures in this process.
//!
//! Owns: [`Local`] (universes by id, each behind its own lock), its etags
//! and read ids, the waiting of queue reads and the flush operations it
//! ran. The operations themselves are `universe.rs`' (shared with the
//! shared backend). Invariants: as `universe.rs`; every call runs under
//! its universe's lock; no lock is held across an `.await`.

use std::collections::HashMap as Map;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::universe::{Ctx, Tags, Universe};
use super::*;

/// A copy of the structures of every universe (see [`Local::export`]).
#[derive(Clone, Debug, Default)]
pub(super) struct Image(pub(super) Map<u64, Universe>);

impl Image {
    /// Items held (sorted map, queue and hash map items, expired ones too).
    pub(super) fn items(&self) -> u64 {
        self.0.values().map(Universe::items).sum()
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
    tags: Tags,
    operations: Mutex<std::collections::VecDeque<(u64, String)>>,
}

impl Local {
    pub(super) fn new(clock: Clock, config: MemoryConfig) -> Self {
        Local {
            clock,
            config,
            universes: Mutex::new(Map::new()),
            tags: Tags::new(),
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
            u.lock().wake_all();
        }
    }

    fn universe(&self, universe: u64) -> Arc<Mutex<Universe>> {
        Arc::clone(self.universes.lock().entry(universe).or_default())
    }

    /// Runs `f` on `universe` under its lock.
    pub(super) fn apply<R>(
        &self,
        universe: u64,
        f: impl FnOnce(&mut Universe, &Ctx<'_>) -> R,
    ) -> R {
        let cx = Ctx {
            now: self.clock.now_ms(),
            quota: self.config.quota_bytes(),
            tags: &self.tags,
        };
        let u = self.universe(universe);
        let mut u = u.lock();
        f(&mut u, &cx)
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
        self.apply(universe, |u, cx| {
            u.reap_all(cx.now);
            (u.used(), cx.quota)
        })
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
            // The wake-up is taken and armed before the attempt, so an add
            // after the attempt wakes this waiter.
            let notify = self.apply(universe, |u, _| u.queue_notify(name));
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some((items, id)) = self.apply(universe, |u, cx| u.queue_read(cx, name, o)) {
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
}
