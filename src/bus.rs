//! The messaging bus: MessagingService, in process.
//!
//! Owns: topics, subscriptions, publishing with Roblox's limits, the
//! per-topic retention log that long-polling clients read with a cursor,
//! and fault injection for chaos tests. Invariants:
//! - a topic is 1..=80 characters; a message is at most 1024 bytes of
//!   compact JSON; a rejected publish delivers and retains nothing;
//! - a subscription receives, in publish order, every message published on
//!   its topic after it subscribed, as `{data, sent}` with `sent` in Unix
//!   seconds from the injected [`Clock`];
//! - **slow subscribers:** each subscription queues at most
//!   `subscriber_queue` messages; when full, the *oldest* queued message is
//!   dropped and counted in [`Subscription::lagged`]. Publishing never waits
//!   for a subscriber (MessagingService is best-effort, too);
//! - **retention:** each topic keeps its last `retention_messages` messages
//!   for at most `retention`, numbered by a per-topic cursor that only grows;
//!   a cursor older than what is kept resumes at the oldest kept message;
//! - a topic with no subscribers, no waiters and nothing retained is freed;
//! - no lock is held across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;

use crate::clock::Clock;

/// Limits and retention of the bus.
#[derive(Clone, Debug, PartialEq)]
pub struct BusConfig {
    /// Largest message, in bytes of compact JSON (Roblox: 1 kB).
    pub max_message_bytes: usize,
    /// Longest topic, in characters (Roblox: 80).
    pub max_topic_chars: usize,
    /// Messages a subscription may have waiting before the oldest is dropped.
    pub subscriber_queue: usize,
    /// Messages kept per topic for cursor reads.
    pub retention_messages: usize,
    /// How long messages are kept for cursor reads.
    pub retention: Duration,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            max_message_bytes: 1024,
            max_topic_chars: 80,
            subscriber_queue: 256,
            retention_messages: 1000,
            retention: Duration::from_secs(120),
        }
    }
}

/// What a subscriber receives (`{Data, Sent}` in Luau).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusMessage {
    /// The published value.
    pub data: Value,
    /// When it was published, Unix seconds.
    pub sent: i64,
}

/// Why a publish or subscribe was refused. The texts are profilestore's own:
/// Roblox documents none for these cases.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The topic is empty.
    #[error("MessagingService: topic name can't be empty.")]
    TopicEmpty,
    /// The topic is longer than the limit.
    #[error("MessagingService: topic name is {chars} characters; the limit is {limit}.")]
    TopicTooLong {
        /// Its length in characters.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// The message is larger than the limit.
    #[error("MessagingService: message is {bytes} bytes of JSON; the limit is {limit}.")]
    MessageTooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A remote bus could not reach its server (transient: retry).
    #[error("MessagingService: {0}")]
    Remote(crate::remote::RemoteError),
}

/// Faults injected into delivery (chaos tests). Retention is not affected.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BusFaults {
    /// Probability that a delivery to one subscriber is silently lost.
    pub drop_rate: f64,
    /// Delivery delay, when set.
    pub delay: Option<Duration>,
    /// Seed of the random choices, for reproducible runs.
    pub seed: u64,
}

/// What injected faults did to deliveries (one delivery per subscriber).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BusFaultCounts {
    /// Deliveries silently lost.
    pub dropped: u64,
    /// Deliveries held back by the fault delay.
    pub delayed: u64,
}

#[derive(Debug)]
struct Queue {
    items: Mutex<VecDeque<BusMessage>>,
    notify: Notify,
    lagged: AtomicU64,
    capacity: usize,
}

impl Queue {
    fn push(&self, message: BusMessage) {
        let mut items = lock(&self.items);
        if items.len() >= self.capacity {
            items.pop_front();
            self.lagged.fetch_add(1, Ordering::Relaxed);
        }
        items.push_back(message);
        drop(items);
        self.notify.notify_one();
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

#[derive(Debug)]
pub(crate) struct Inner {
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
    /// Set on a bus whose topics live on a remote server.
    remote: Option<crate::remote::bus::Link>,
}

/// The bus; clones share it.
#[derive(Clone, Debug)]
pub struct MessageBus {
    inner: Arc<Inner>,
}

/// A live subscription; dropping it disconnects.
#[derive(Debug)]
pub struct Subscription {
    bus: MessageBus,
    topic: String,
    id: u64,
    queue: Arc<Queue>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the state consistent; recover from poison.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MessageBus {
    /// A bus on `clock`.
    pub fn new(clock: Clock, config: BusConfig) -> Self {
        Self::build(clock, config, None)
    }

    /// A bus whose topics live on the profilestore server behind `client`:
    /// publishing posts to it, and each subscribed topic is long-polled
    /// (resuming from its cursor after a dropped connection) and fed to
    /// the local subscriptions. Only messages published after a
    /// subscription was made reach it.
    pub fn remote(client: crate::remote::RemoteClient, clock: Clock, config: BusConfig) -> Self {
        Self::build(clock, config, Some(crate::remote::bus::Link::new(client)))
    }

    fn build(clock: Clock, config: BusConfig, remote: Option<crate::remote::bus::Link>) -> Self {
        MessageBus {
            inner: Arc::new(Inner {
                clock,
                config,
                topics: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                publishes: AtomicU64::new(0),
                faults: Mutex::new(None),
                dropped: AtomicU64::new(0),
                delayed: AtomicU64::new(0),
                epoch: SmallRng::from_os_rng().random(),
                remote,
            }),
        }
    }

    /// The bus's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// A weak handle (remote pollers hold one so they never keep a bus alive).
    pub(crate) fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    /// The bus behind a weak handle, if it still lives.
    pub(crate) fn upgrade(weak: &std::sync::Weak<Inner>) -> Option<Self> {
        weak.upgrade().map(|inner| MessageBus { inner })
    }

    /// Number of local subscriptions on `topic`.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        lock(&self.inner.topics)
            .get(topic)
            .map_or(0, |t| t.subscribers.len())
    }

    /// Delivers a message received from a remote server to the local
    /// subscriptions of `topic` (not retained, not re-published).
    pub(crate) fn deliver_local(&self, topic: &str, message: &BusMessage) {
        let queues: Vec<Arc<Queue>> = lock(&self.inner.topics)
            .get(topic)
            .map(|t| t.subscribers.iter().map(|(_, q)| Arc::clone(q)).collect())
            .unwrap_or_default();
        for queue in queues {
            self.deliver(queue, message.clone());
        }
    }

    /// The text of cursor `n` (`<bus epoch>-<n>`).
    pub fn cursor_text(&self, n: u64) -> String {
        format!("{:08x}-{n}", self.inner.epoch)
    }

    /// Reads a cursor text: `Some(n)` for this bus's cursors and bare
    /// numbers; `Some(0)` (everything retained) for a cursor of another bus
    /// (issued before a restart), so a resuming reader misses nothing;
    /// `None` when it is not a cursor at all.
    pub fn parse_cursor(&self, text: &str) -> Option<u64> {
        match text.split_once('-') {
            None => text.parse().ok(),
            Some((epoch, n)) => {
                let epoch = u32::from_str_radix(epoch, 16).ok()?;
                let n: u64 = n.parse().ok()?;
                Some(if epoch == self.inner.epoch { n } else { 0 })
            }
        }
    }

    /// The cursor just before the first retained message of `topic`
    /// published at or after `since_ms` (the current end if none).
    pub fn cursor_at(&self, topic: &str, since_ms: i64) -> Result<u64, BusError> {
        self.check_topic(topic)?;
        let topics = lock(&self.inner.topics);
        let Some(t) = topics.get(topic) else {
            return Ok(0);
        };
        Ok(t.log
            .iter()
            .find(|(_, at, _)| *at >= since_ms)
            .map_or(t.last_cursor, |(c, _, _)| c - 1))
    }

    /// Sets (or, with the default, clears) delivery faults.
    pub fn set_faults(&self, faults: BusFaults) {
        let state = (faults != BusFaults::default())
            .then(|| (faults, SmallRng::seed_from_u64(faults.seed)));
        *lock(&self.inner.faults) = state;
    }

    /// Deliveries the injected faults dropped and delayed so far.
    pub fn fault_counts(&self) -> BusFaultCounts {
        BusFaultCounts {
            dropped: self.inner.dropped.load(Ordering::Relaxed),
            delayed: self.inner.delayed.load(Ordering::Relaxed),
        }
    }

    fn check_topic(&self, topic: &str) -> Result<(), BusError> {
        let chars = topic.chars().count();
        if chars == 0 {
            Err(BusError::TopicEmpty)
        } else if chars > self.inner.config.max_topic_chars {
            Err(BusError::TopicTooLong {
                chars,
                limit: self.inner.config.max_topic_chars,
            })
        } else {
            Ok(())
        }
    }

    /// `PublishAsync`: delivers `data` to the topic's subscribers and keeps
    /// it for cursor reads.
    pub async fn publish(&self, topic: &str, data: &Value) -> Result<(), BusError> {
        self.check_topic(topic)?;
        let bytes = serde_json::to_string(data).map_or(usize::MAX, |t| t.len());
        let limit = self.inner.config.max_message_bytes;
        if bytes > limit {
            return Err(BusError::MessageTooLarge { bytes, limit });
        }
        if let Some(link) = &self.inner.remote {
            return link.publish(topic, data).await;
        }
        let now_ms = self.inner.clock.now_ms();
        let message = BusMessage {
            data: data.clone(),
            sent: now_ms.div_euclid(1000),
        };
        let subscribers = {
            let mut topics = lock(&self.inner.topics);
            let t = topics.entry(topic.to_owned()).or_default();
            t.last_cursor += 1;
            t.log.push_back((t.last_cursor, now_ms, message.clone()));
            self.prune(t, now_ms);
            t.arrivals.notify_waiters();
            t.subscribers
                .iter()
                .map(|(_, q)| Arc::clone(q))
                .collect::<Vec<_>>()
        };
        for queue in subscribers {
            self.deliver(queue, message.clone());
        }
        if self.inner.publishes.fetch_add(1, Ordering::Relaxed) % 256 == 255 {
            self.sweep();
        }
        Ok(())
    }

    fn deliver(&self, queue: Arc<Queue>, message: BusMessage) {
        let delay = {
            let mut faults = lock(&self.inner.faults);
            match faults.as_mut() {
                None => None,
                Some((f, rng)) => {
                    if f.drop_rate > 0.0 && rng.random_bool(f.drop_rate.min(1.0)) {
                        self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    if f.delay.is_some() {
                        self.inner.delayed.fetch_add(1, Ordering::Relaxed);
                    }
                    f.delay
                }
            }
        };
        match delay {
            None => queue.push(message),
            Some(d) => {
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    queue.push(message);
                });
            }
        }
    }

    fn prune(&self, t: &mut Topic, now_ms: i64) {
        let keep_ms = i64::try_from(self.inner.config.retention.as_millis()).unwrap_or(i64::MAX);
        while t.log.len() > self.inner.config.retention_messages
            || t.log
                .front()
                .is_some_and(|(_, at, _)| now_ms - at > keep_ms)
        {
            t.log.pop_front();
        }
    }

    /// `SubscribeAsync`: receives every later message on `topic`.
    pub fn subscribe(&self, topic: &str) -> Result<Subscription, BusError> {
        self.check_topic(topic)?;
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let queue = Arc::new(Queue {
            items: Mutex::new(VecDeque::new()),
            notify: Notify::new(),
            lagged: AtomicU64::new(0),
            capacity: self.inner.config.subscriber_queue.max(1),
        });
        lock(&self.inner.topics)
            .entry(topic.to_owned())
            .or_default()
            .subscribers
            .push((id, Arc::clone(&queue)));
        if let Some(link) = &self.inner.remote {
            link.ensure_poller(self, topic);
        }
        Ok(Subscription {
            bus: self.clone(),
            topic: topic.to_owned(),
            id,
            queue,
        })
    }

    /// Retained messages after `cursor`, at most `max`, and the cursor to
    /// continue from. `None` starts at the current end (returns no message).
    pub fn read_since(
        &self,
        topic: &str,
        cursor: Option<u64>,
        max: usize,
    ) -> Result<(Vec<BusMessage>, u64), BusError> {
        self.check_topic(topic)?;
        let now_ms = self.inner.clock.now_ms();
        let mut topics = lock(&self.inner.topics);
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
        Ok((messages.into_iter().map(|(_, m)| m).collect(), next))
    }

    /// Like [`MessageBus::read_since`], waiting up to `timeout` for at least
    /// one message.
    pub async fn wait_since(
        &self,
        topic: &str,
        cursor: Option<u64>,
        max: usize,
        timeout: Duration,
    ) -> Result<(Vec<BusMessage>, u64), BusError> {
        self.check_topic(topic)?;
        // Hold the topic's notifier so the topic is not freed while waiting.
        let arrivals = Arc::clone(
            &lock(&self.inner.topics)
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
                self.free_if_unused(&mut lock(&self.inner.topics), topic);
                return result;
            }
        }
    }

    fn unsubscribe(&self, topic: &str, id: u64) {
        let mut topics = lock(&self.inner.topics);
        if let Some(t) = topics.get_mut(topic) {
            t.subscribers.retain(|(sid, _)| *sid != id);
        }
        self.free_if_unused(&mut topics, topic);
    }

    /// Frees a topic nobody listens to, waits on, or can still read.
    fn free_if_unused(&self, topics: &mut HashMap<String, Topic>, topic: &str) {
        let now_ms = self.inner.clock.now_ms();
        if let Some(t) = topics.get_mut(topic) {
            self.prune(t, now_ms);
            if t.subscribers.is_empty() && t.log.is_empty() && Arc::strong_count(&t.arrivals) == 1 {
                topics.remove(topic);
            }
        }
    }

    /// Prunes every topic and frees the unused ones.
    fn sweep(&self) {
        let mut topics = lock(&self.inner.topics);
        let names: Vec<String> = topics.keys().cloned().collect();
        for name in names {
            self.free_if_unused(&mut topics, &name);
        }
    }

    /// Number of topics currently held (for tests and metrics).
    pub fn topic_count(&self) -> usize {
        lock(&self.inner.topics).len()
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
            if let Some(m) = lock(&self.queue.items).pop_front() {
                return Some(m);
            }
            notified.await;
        }
    }

    /// A waiting message, without waiting.
    pub fn try_recv(&mut self) -> Option<BusMessage> {
        lock(&self.queue.items).pop_front()
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
        self.bus.unsubscribe(&self.topic, self.id);
    }
}
