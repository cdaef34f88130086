//! The recorder task of a [`LockHistory`]: takes queued commits in
//! batches, classifies them against each profile's record, appends the
//! events by compare-and-swap, then updates the live index, the counts and
//! the subscribers.
//!
//! Owns: the task's loop and its drain on shutdown. Invariants: one task
//! per history; a batch's commits of one profile are classified in queue
//! order against the record's last event (re-read and re-classified on a
//! conflict); saves and commits that change nothing touch no record; a
//! storage failure is logged and the events still reach the live view and
//! subscribers (the record misses them); on shutdown every commit queued
//! before it is recorded before the task ends.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use super::classify::{classify, Before, Outcome, Rules};
use super::{record, Item, Live, LiveLock, LockChangeKind, LockEvent, LockHistory};

/// The most commits taken from the queue at once.
const BATCH: usize = 512;
/// Conflicting appends tolerated per profile and batch (each conflict
/// means another node appended meanwhile).
const MAX_ATTEMPTS: usize = 100;

/// Runs until the history shuts down, then records what is queued.
pub(super) async fn run(history: LockHistory, mut queue: mpsc::UnboundedReceiver<Item>) {
    let stop = history.inner.stop.clone();
    loop {
        let first = tokio::select! {
            item = queue.recv() => match item {
                Some(item) => item,
                None => break,
            },
            () = stop.cancelled() => break,
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        history.record(batch).await;
    }
    // Commits observed from now on are not recorded; those queued are.
    queue.close();
    loop {
        let mut batch = Vec::new();
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            break;
        }
        history.record(batch).await;
    }
}

/// What one commit did, and its event if it made one.
type Decided = (Outcome, Option<LockEvent>);

impl LockHistory {
    fn rules(&self) -> Rules {
        Rules {
            assume_dead: self.inner.config.assume_dead,
            handoff_window: self.inner.config.handoff_window,
        }
    }

    /// Records one batch, profile by profile.
    async fn record(&self, batch: Vec<Item>) {
        let n = batch.len() as u64;
        let mut order: Vec<(String, Vec<Item>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for item in batch {
            let name = item.record();
            match index.get(&name) {
                Some(&i) => order[i].1.push(item),
                None => {
                    index.insert(name.clone(), order.len());
                    order.push((name, vec![item]));
                }
            }
        }
        for (name, items) in order {
            self.record_profile(&name, &items).await;
        }
        self.inner.done.send_modify(|d| *d += n);
    }

    /// Classifies `items` in order after `events`, appending their events.
    fn decide(&self, items: &[Item], events: &mut Vec<LockEvent>) -> Vec<Decided> {
        let rules = self.rules();
        items
            .iter()
            .map(|item| {
                let outcome = classify(&item.commit, events.last(), &rules);
                let event = match &outcome {
                    Outcome::Change(c) => Some(
                        LockEvent {
                            kind: c.kind,
                            universe: item.universe,
                            store: item.store.clone(),
                            scope: item.scope.clone(),
                            key: item.key.clone(),
                            owner: c.owner.clone(),
                            load_count: c.load_count,
                            time_ms: item.commit.time_ms,
                            time: String::new(),
                            previous: c.previous.clone(),
                            asked_for: c.asked_for,
                        }
                        .with_time_text(),
                    ),
                    _ => None,
                };
                if let Some(e) = &event {
                    events.push(e.clone());
                }
                (outcome, event)
            })
            .collect()
    }

    /// Records the commits of one profile.
    async fn record_profile(&self, name: &str, items: &[Item]) {
        let rules = self.rules();
        let quiet = items.iter().all(|i| {
            matches!(i.commit.before, Before::Known(_))
                && matches!(
                    classify(&i.commit, None, &rules),
                    Outcome::Saved { .. } | Outcome::Nothing
                )
        });
        let Some(storage) = self.inner.storage.as_ref().filter(|_| !quiet) else {
            let decided = self.decide(items, &mut Vec::new());
            return self.publish(items, decided);
        };
        for _ in 0..MAX_ATTEMPTS {
            let stored = match record::read(storage, name).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(record = %name, error = %e, "cannot read the lock history; events not recorded");
                    let decided = self.decide(items, &mut Vec::new());
                    return self.publish(items, decided);
                }
            };
            let mut events = stored.events;
            let decided = self.decide(items, &mut events);
            let cutoff = record::cutoff(self.inner.clock.now_ms(), self.inner.config.retention);
            record::prune(&mut events, cutoff, self.inner.config.max_events);
            match record::swap(storage, name, stored.version, &events).await {
                Ok(true) => return self.publish(items, decided),
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(record = %name, error = %e, "cannot append to the lock history; events not recorded");
                    return self.publish(items, decided);
                }
            }
        }
        tracing::warn!(record = %name, "the lock history kept conflicting; events not recorded");
        let decided = self.decide(items, &mut Vec::new());
        self.publish(items, decided);
    }

    /// The live index, counts and subscribers after `items` were decided.
    fn publish(&self, items: &[Item], decided: Vec<Decided>) {
        for (item, (outcome, event)) in items.iter().zip(decided) {
            self.update_live(item, &outcome);
            if let Some(event) = event {
                let i = LockChangeKind::ALL
                    .iter()
                    .position(|k| *k == event.kind)
                    .expect("every kind is in ALL");
                self.inner.counts[i].fetch_add(1, Ordering::Relaxed);
                self.inner.metrics.lock_change(event.kind.as_str());
                {
                    let mut recent = self.inner.recent.lock();
                    if recent.len() == super::RECENT {
                        recent.pop_front();
                    }
                    recent.push_back(event.clone());
                }
                let _ = self.inner.events.send(event);
            }
        }
    }

    fn update_live(&self, item: &Item, outcome: &Outcome) {
        let time = item.commit.time_ms;
        let period = i64::try_from(self.inner.config.auto_save_period.as_millis()).unwrap_or(0);
        let name = item.record();
        let mut live = self.inner.live.lock();
        if live.get(&name).is_some_and(|l| l.seq > item.seq) {
            return; // A later commit of the key is already applied.
        }
        let (owner, load_count, taken) = match outcome {
            Outcome::Nothing => return,
            Outcome::Change(c) if !c.kind.takes() => {
                live.remove(&name);
                return;
            }
            Outcome::Change(c) => (c.owner.clone(), c.load_count, true),
            Outcome::Saved { owner, load_count } => (owner.clone(), *load_count, false),
        };
        let since_ms = match live.get(&name) {
            Some(l) if !taken => l.lock.since_ms,
            _ => time,
        };
        live.insert(
            name,
            Live {
                lock: LiveLock {
                    universe: item.universe,
                    store: item.store.clone(),
                    scope: item.scope.clone(),
                    key: item.key.clone(),
                    owner,
                    load_count,
                    since_ms,
                    last_save_ms: time,
                    auto_save_due_ms: time.saturating_add(period),
                },
                seq: item.seq,
            },
        );
    }
}
