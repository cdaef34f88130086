//! The local side of a message bus: topics, subscriptions and retention.
//!
//! Owns: each topic's subscribers and retention log, cursors, delivery
//! faults, and freeing unused topics. Invariants:
//! - a subscription receives, in publish order, every message published on
//!   its topic after it subscribed, as `{data, sent}` with `sent` in Unix
//!   seconds from the injected [`Clock`];
//! - **slow subscribers:** each subscription queues at most
//!   `subscriber_queue` messages; when full, the *oldest* queued message is
//!   dropped and counted in [`Subscription::lagged`]. Publishing never waits
//!   for a subscriber (MessagingService is best-effort, too);
//! - **retention:** each topic keeps its last `retention_messages` messages
//!   for at most `retention`, numbered by a per-topic cursor that only grows
//!   (with a shared delivery: the shared log's numbers, the same on every
//!   node, under the cluster's one epoch);
//!   a cursor older than what is kept resumes at the oldest kept message;
//! - a topic with no subscribers, no waiters and nothing retained is freed;
//! - every delivery and every dropped one is counted in the server's
//!   metrics, when set (`Hub::set_metrics`);
//! - no lock is held across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::sync::Notify;

use super::{BusConfig, BusError, BusFaultCounts, BusFaults, BusMessage, TopicInfo};
use crate::clock::Clock;
use crate::metrics::{BusDrop, Metrics};

#[derive(Debug)]
struct Queue {
    items: Mutex<VecDeque<BusMessage>>,
    notify: Notify,
    lagged: AtomicU64,
    capacity: usize,
}

impl Queue {
    /// Queues `message`, counted in `metrics` (with the oldest it dropped).
    fn push(&self, message: BusMessage, metrics: &Metrics) {
        let mut items = self.items.lock();
        let full = items.len() >= self.capacity;
        if full {
            items.pop_front();
            self.lagged.fetch_add(1, Ordering::Relaxed);
        }
        items.push_back(message);
        drop(items);
        self.notify.notify_one();
        metrics.bus_delivered();
        if full {
            metrics.bus_dropped(BusDrop::QueueFull);
        }
    }
}

#[derive(Debug, Default)]
struct Topic {
    subscribers: Vec<(u64, Arc<Queue>)>,
    /// (cursor, published at ms, message)
    log: VecDeque<(u64, i64, BusMessage)>,
    last_cursor: u64,
    arrivals: Arc<Notify>,
}

/// The local topics of one bus: subscriptions, retention logs, faults.
#[derive(Debug)]
pub(super) struct Hub {
    clock: Clock,
    config: BusConfig,
    topics: Mutex<HashMap<String, Topic>>,
    next_id: AtomicU64,
    publishes: AtomicU64,
    faults: Mutex<Option<(BusFaults, SmallRng)>>,
    /// Deliveries dropped and delayed by injected faults.
    dropped: AtomicU64,
    delayed: AtomicU64,
    /// Identifies this bus in cursors, so a cursor from before a restart is
    /// recognised as foreign instead of skipping new messages.
    epoch: u32,
    /// The server's metrics (deliveries, drops, publishes), set once.
    metrics: std::sync::OnceLock<Metrics>,
}

/// A live subscription; dropping it disconnects.
#[derive(Debug)]
pub struct Subscription {
    hub: Arc<Hub>,
    topic: String,
    id: u64,
    queue: Arc<Queue>,
}

impl Hub {
    /// An empty hub on `clock`.
    pub(super) fn new(clock: Clock, config: BusConfig) -> Self {
        Hub {
            clock,
            config,
            topics: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            publishes: AtomicU64::new(0),
            faults: Mutex::new(None),
            dropped: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
            epoch: SmallRng::from_os_rng().random(),
            metrics: std::sync::OnceLock::new(),
        }
    }

    /// Records in `metrics` from now on (the first call wins).
    pub(super) fn set_metrics(&self, metrics: Metrics) {
        let _ = self.metrics.set(metrics);
    }

    /// The server's metrics (off until set).
    pub(super) fn metrics(&self) -> &Metrics {
        self.metrics.get().unwrap_or(Metrics::none())
    }

    /// This hub with cursors of `epoch` (shared by every node of a
    /// cluster, so a cursor one node gave out is valid on all).
    pub(super) fn with_epoch(mut self, epoch: u32) -> Self {
        self.epoch = epoch;
        self
    }

    /// The hub's clock.
    pub(super) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The bus's limits and retention.
    pub(super) fn config(&self) -> &BusConfig {
        &self.config
    }

    /// Number of local subscriptions on `topic`.
    pub(super) fn subscriber_count(&self, topic: &str) -> usize {
        self.topics
            .lock()
            .get(topic)
            .map_or(0, |t| t.subscribers.len())
    }

    /// Delivers a message received from elsewhere (a remote server) to the
    /// local subscriptions of `topic` (not retained, not re-published).
    pub(super) fn deliver_local(&self, topic: &str, message: &BusMessage) {
        let queues: Vec<Arc<Queue>> = self
            .topics
            .lock()
            .get(topic)
            .map(|t| t.subscribers.iter().map(|(_, q)| Arc::clone(q)).collect())
            .unwrap_or_default();
        for queue in queues {
            self.deliver(queue, message.clone());
        }
    }

    /// The text of cursor `n` (`<bus epoch>-<n>`).
    pub(super) fn cursor_text(&self, n: u64) -> String {
        format!("{:08x}-{n}", self.epoch)
    }

    /// Reads a cursor text: `Some(n)` for this bus's cursors and bare
    /// numbers; `Some(0)` (everything retained) for a cursor of another bus
    /// (issued before a restart), so a resuming reader misses nothing;
    /// `None` when it is not a cursor at all.
    pub(super) fn parse_cursor(&self, text: &str) -> Option<u64> {
        match text.split_once('-') {
            None => text.parse().ok(),
            Some((epoch, n)) => {
                let epoch = u32::from_str_radix(epoch, 16).ok()?;
                let n: u64 = n.parse().ok()?;
                Some(if epoch == self.epoch { n } else { 0 })
            }
        }
    }

    /// The cursor just before the first retained message of `topic`
    /// published at or after `since_ms` (the current end if none).
    pub(super) fn cursor_at(&self, topic: &str, since_ms: i64) -> Result<u64, BusError> {
        self.check_topic(topic)?;
        let topics = self.topics.lock();
        let Some(t) = topics.get(topic) else {
            return Ok(0);
        };
        Ok(t.log
            .iter()
            .find(|(_, at, _)| *at >= since_ms)
            .map_or(t.last_cursor, |(c, _, _)| c - 1))
    }

    /// Sets (or, with the default, clears) delivery faults.
    pub(super) fn set_faults(&self, faults: BusFaults) {
        let state = (faults != BusFaults::default())
            .then(|| (faults, SmallRng::seed_from_u64(faults.seed)));
        *self.faults.lock() = state;
    }

    /// Deliveries the injected faults dropped and delayed so far.
    pub(super) fn fault_counts(&self) -> BusFaultCounts {
        BusFaultCounts {
            dropped: self.dropped.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
        }
    }

    pub(super) fn check_topic(&self, topic: &str) -> Result<(), BusError> {
        let chars = topic.chars().count();
        if chars == 0 {
            Err(BusError::TopicEmpty)
        } else if chars > self.config.max_topic_chars {
            Err(BusError::TopicTooLong {
                chars,
                limit: self.config.max_topic_chars,
            })
        } else {
            Ok(())
        }
    }

    /// Delivers `data` to the topic's local subscribers and keeps it for
    /// cursor reads (the facade checked the limits).
    pub(super) fn publish_local(&self, topic: &str, data: &Value) {
        self.accept(topic, None, self.clock.now_ms(), data.clone(), true);
    }

    /// Takes message `seq` of a shared log (sent at `sent_ms`): keeps it
    /// for cursor reads under its log number and, when `live`, delivers it
    /// to the topic's subscribers. Log numbers arrive in increasing order.
    pub(super) fn accept_logged(
        &self,
        topic: &str,
        seq: u64,
        sent_ms: i64,
        data: Value,
        live: bool,
    ) {
        self.accept(topic, Some(seq), sent_ms, data, live);
    }

    /// Retains a message under `seq` (the topic's next cursor when `None`)
    /// and, when `live`, delivers it.
    fn accept(&self, topic: &str, seq: Option<u64>, at_ms: i64, data: Value, live: bool) {
        let message = BusMessage {
            data,
            sent: at_ms.div_euclid(1000),
        };
        let subscribers: Vec<Arc<Queue>> = {
            let mut topics = self.topics.lock();
            let t = topics.entry(topic.to_owned()).or_default();
            t.last_cursor = seq.unwrap_or(t.last_cursor + 1).max(t.last_cursor);
            t.log.push_back((t.last_cursor, at_ms, message.clone()));
            self.prune(t, self.clock.now_ms());
            t.arrivals.notify_waiters();
            if live {
                t.subscribers.iter().map(|(_, q)| Arc::clone(q)).collect()
            } else {
                Vec::new()
            }
        };
        for queue in subscribers {
            self.deliver(queue, message.clone());
        }
        if self.publishes.fetch_add(1, Ordering::Relaxed) % 256 == 255 {
            self.sweep();
        }
    }

    fn deliver(&self, queue: Arc<Queue>, message: BusMessage) {
        let delay = {
            let mut faults = self.faults.lock();
            match faults.as_mut() {
                None => None,
                Some((f, rng)) => {
                    if f.drop_rate > 0.0 && rng.random_bool(f.drop_rate.min(1.0)) {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        self.metrics().bus_dropped(BusDrop::Fault);
                        return;
                    }
                    if f.delay.is_some() {
                        self.delayed.fetch_add(1, Ordering::Relaxed);
                    }
                    f.delay
                }
            }
        };
        match delay {
            None => queue.push(message, self.metrics()),
            Some(d) => {
                let metrics = self.metrics().clone();
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    queue.push(message, &metrics);
                });
            }
        }
    }

    fn prune(&self, t: &mut Topic, now_ms: i64) {
        let keep_ms = i64::try_from(self.config.retention.as_millis()).unwrap_or(i64::MAX);
        while t.log.len() > self.config.retention_messages
            || t.log
                .front()
                .is_some_and(|(_, at, _)| now_ms - at > keep_ms)
        {
            t.log.pop_front();
        }
    }

    /// `SubscribeAsync`: receives every later message on `topic`.
    pub(super) fn subscribe(self: &Arc<Self>, topic: &str) -> Result<Subscription, BusError> {
        self.check_topic(topic)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let queue = Arc::new(Queue {
            items: Mutex::new(VecDeque::new()),
            notify: Notify::new(),
            lagged: AtomicU64::new(0),
            capacity: self.config.subscriber_queue.max(1),
        });
        self.topics
            .lock()
            .entry(topic.to_owned())
            .or_default()
            .subscribers
            .push((id, Arc::clone(&queue)));
        Ok(Subscription {
            hub: Arc::clone(self),
            topic: topic.to_owned(),
            id,
            queue,
        })
    }

    /// Retained messages after `cursor`, at most `max`, each with its
    /// cursor, and the cursor to continue from. `None` starts at the
    /// current end (returns no message).
    pub(super) fn read_since(
        &self,
        topic: &str,
        cursor: Option<u64>,
        max: usize,
    ) -> Result<(Vec<(u64, BusMessage)>, u64), BusError> {
        self.check_topic(topic)?;
        let now_ms = self.clock.now_ms();
        let mut topics = self.topics.lock();
        let Some(t) = topics.get_mut(topic) else {
            return Ok((Vec::new(), cursor.unwrap_or(0)));
        };
        self.prune(t, now_ms);
        let Some(after) = cursor else {
            return Ok((Vec::new(), t.last_cursor));
        };
        let messages: Vec<(u64, BusMessage)> = t
            .log
            .iter()
            .filter(|(c, _, _)| *c > after)
            .take(max)
            .map(|(c, _, m)| (*c, m.clone()))
            .collect();
        let next = messages.last().map_or(after, |(c, _)| *c);
        Ok((messages, next))
    }

    /// Like [`Hub::read_since`], waiting up to `timeout` for at least
    /// one message.
    pub(super) async fn wait_since(
        &self,
        topic: &str,
        cursor: Option<u64>,
        max: usize,
        timeout: Duration,
    ) -> Result<(Vec<(u64, BusMessage)>, u64), BusError> {
        self.check_topic(topic)?;
        // Hold the topic's notifier so the topic is not freed while waiting.
        let arrivals = Arc::clone(
            &self
                .topics
                .lock()
                .entry(topic.to_owned())
                .or_default()
                .arrivals,
        );
        let start = self.read_since(topic, cursor, max)?;
        if !start.0.is_empty() {
            return Ok(start);
        }
        let cursor = Some(start.1);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let timed_out = {
                let notified = arrivals.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let found = self.read_since(topic, cursor, max)?;
                if !found.0.is_empty() {
                    return Ok(found);
                }
                tokio::time::timeout_at(deadline, notified).await.is_err()
            };
            if timed_out {
                drop(arrivals);
                let result = self.read_since(topic, cursor, max);
                self.free_if_unused(&mut self.topics.lock(), topic);
                return result;
            }
        }
    }

    fn unsubscribe(&self, topic: &str, id: u64) {
        let mut topics = self.topics.lock();
        if let Some(t) = topics.get_mut(topic) {
            t.subscribers.retain(|(sid, _)| *sid != id);
        }
        self.free_if_unused(&mut topics, topic);
    }

    /// Frees a topic nobody listens to, waits on, or can still read.
    fn free_if_unused(&self, topics: &mut HashMap<String, Topic>, topic: &str) {
        let now_ms = self.clock.now_ms();
        if let Some(t) = topics.get_mut(topic) {
            self.prune(t, now_ms);
            if t.subscribers.is_empty() && t.log.is_empty() && Arc::strong_count(&t.arrivals) == 1 {
                topics.remove(topic);
            }
        }
    }

    /// Prunes every topic and frees the unused ones.
    fn sweep(&self) {
        let mut topics = self.topics.lock();
        let names: Vec<String> = topics.keys().cloned().collect();
        for name in names {
            self.free_if_unused(&mut topics, &name);
        }
    }

    /// Number of topics currently held (for tests and metrics).
    pub(super) fn topic_count(&self) -> usize {
        self.topics.lock().len()
    }

    /// Every topic held, pruned first, by name.
    pub(super) fn topics(&self) -> Vec<TopicInfo> {
        let now_ms = self.clock.now_ms();
        let mut topics = self.topics.lock();
        let mut all: Vec<TopicInfo> = topics
            .iter_mut()
            .map(|(name, t)| {
                self.prune(t, now_ms);
                TopicInfo {
                    name: name.clone(),
                    subscribers: t.subscribers.len(),
                    retained: t.log.len(),
                    last_ms: t.log.back().map(|(_, at, _)| *at),
                }
            })
            .filter(|t| t.subscribers > 0 || t.retained > 0)
            .collect();
        drop(topics);
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }
}

impl Subscription {
    /// The next message, waiting for one. `None` never happens while the bus
    /// lives; the option leaves room for a closed bus.
    pub async fn recv(&mut self) -> Option<BusMessage> {
        loop {
            let notified = self.queue.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(m) = self.queue.items.lock().pop_front() {
                return Some(m);
            }
            notified.await;
        }
    }

    /// A waiting message, without waiting.
    pub fn try_recv(&mut self) -> Option<BusMessage> {
        self.queue.items.lock().pop_front()
    }

    /// The topic subscribed to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Messages dropped because this subscriber fell behind.
    pub fn lagged(&self) -> u64 {
        self.queue.lagged.load(Ordering::Relaxed)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(&self.topic, self.id);
    }
}
