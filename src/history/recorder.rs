//! The recorder task of a [`LockHistory`]: takes queued commits in
//! batches, classifies them against each profile's record, appends the
//! events by compare-and-swap, then updates the live index, the counts and
//! the subscribers.
//!
//! Owns: the task's loop and its drain on shutdown. Invariants: one task
//! per history; a batch's commits of one profile are classified in queue
//! order against the head's last event (re-read and re-classified on a
//! conflict); a batch's appends of every profile go to the storage in one
//! `record_swap_all` (one durable commit), so the recorder's cost grows
//! with batches, not with profiles; saves and commits that change nothing
//! touch no record; a storage failure is logged and the events still
//! reach the live view and subscribers (the record misses them); on
//! shutdown every commit queued before it is recorded before the task
//! ends (the queue is bounded, so that drain is too).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use profilestore_plugin_api::RecordOutcome;
use tokio::sync::mpsc;

use super::classify::{classify, Before, Outcome, Rules};
use super::{record, Item, Live, LiveLock, LockChangeKind, LockEvent, LockHistory};

/// The most commits taken from the queue at once.
const BATCH: usize = 512;
/// Conflicting appends tolerated per profile and batch (each conflict
/// means another node appended meanwhile).
const MAX_ATTEMPTS: usize = 100;

/// Runs until the history shuts down, then records what is queued.
pub(super) async fn run(history: LockHistory, mut queue: mpsc::Receiver<Item>) {
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
        history.inner.metrics.lock_history_queue(queue.len());
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

/// Whether `items` can make no event whatever the record holds (saves of
/// a known lock, commits that change nothing): then no record is read.
fn is_quiet(items: &[Item], rules: &Rules) -> bool {
    items.iter().all(|i| {
        matches!(i.commit.before, Before::Known(_))
            && matches!(
                classify(&i.commit, None, rules),
                Outcome::Saved { .. } | Outcome::Nothing
            )
    })
}

impl LockHistory {
    fn rules(&self) -> Rules {
        Rules {
            assume_dead: self.inner.config.assume_dead,
            handoff_window: self.inner.config.handoff_window,
        }
    }

    /// Records one batch: its commits grouped by profile, every profile's
    /// head read and appended in one storage call each (so one durable
    /// commit for the whole batch), conflicting profiles tried again.
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
        let rules = self.rules();
        let (quiet, mut pending): (Vec<_>, Vec<_>) = order
            .into_iter()
            .partition(|(_, items)| self.inner.storage.is_none() || is_quiet(items, &rules));
        self.publish_unrecorded(quiet);
        // Name order, so nodes that lock rows lock them in one order.
        pending.sort_by(|a, b| a.0.cmp(&b.0));
        for _ in 0..MAX_ATTEMPTS {
            if pending.is_empty() {
                break;
            }
            pending = self.append_all(pending).await;
        }
        for (name, _) in &pending {
            tracing::warn!(record = %name, "the lock history kept conflicting; events not recorded");
        }
        self.publish_unrecorded(pending);
        self.inner.done.send_modify(|d| *d += n);
    }

    /// One attempt at appending every profile of `pending`; returns the
    /// profiles whose head changed meanwhile (to try again).
    async fn append_all(&self, pending: Vec<(String, Vec<Item>)>) -> Vec<(String, Vec<Item>)> {
        let storage = self.inner.storage.as_ref().expect("pending needs storage");
        let names = pending.iter().map(|(n, _)| n.clone()).collect();
        let heads = match record::read_heads(storage, names).await {
            Ok(heads) => heads,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the lock history; events not recorded");
                self.publish_unrecorded(pending);
                return Vec::new();
            }
        };
        let cutoff = record::cutoff(self.inner.clock.now_ms(), self.inner.config.retention);
        let max = self.inner.config.max_events;
        let mut writes = Vec::new();
        let mut planned = Vec::new();
        for ((name, items), stored) in pending.into_iter().zip(heads) {
            let (decided, events) = self.decide(&items, stored.head.last());
            if events.is_empty() {
                self.publish(&items, decided);
                continue;
            }
            let append = record::append(&name, &stored, events, cutoff, max);
            let head_at = writes.len();
            writes.push(append.head);
            writes.extend(append.seal);
            planned.push((name, items, decided, head_at, append.removes));
        }
        if writes.is_empty() {
            return Vec::new();
        }
        let outcomes = match storage.call(move |p| p.record_swap_all(&writes)).await {
            Ok(outcomes) => outcomes,
            Err(e) => {
                tracing::warn!(error = %e, "cannot append to the lock history; events not recorded");
                for (_, items, decided, _, _) in planned {
                    self.publish(&items, decided);
                }
                return Vec::new();
            }
        };
        let mut again = Vec::new();
        let mut removes = Vec::new();
        for (name, items, decided, head_at, gone) in planned {
            if matches!(outcomes.get(head_at), Some(RecordOutcome::Swapped { .. })) {
                removes.extend(gone);
                self.publish(&items, decided);
            } else {
                again.push((name, items));
            }
        }
        if !removes.is_empty() {
            if let Err(e) = storage.call(move |p| p.record_swap_all(&removes)).await {
                // Left behind, they are never read (no head lists them).
                tracing::warn!(error = %e, "cannot remove pruned lock history chunks");
            }
        }
        again
    }

    /// Publishes `profiles` classified without their records (quiet ones,
    /// or the storage failed or kept conflicting).
    fn publish_unrecorded(&self, profiles: Vec<(String, Vec<Item>)>) {
        for (_, items) in profiles {
            let decided = self.decide(&items, None).0;
            self.publish(&items, decided);
        }
    }

    /// Classifies `items` in order after `last`: what each did, and the
    /// new events, oldest first.
    fn decide(&self, items: &[Item], last: Option<&LockEvent>) -> (Vec<Decided>, Vec<LockEvent>) {
        let rules = self.rules();
        let mut events: Vec<LockEvent> = Vec::new();
        let decided = items
            .iter()
            .map(|item| {
                let outcome = classify(&item.commit, events.last().or(last), &rules);
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
            .collect();
        (decided, events)
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
