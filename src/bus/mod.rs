//! The messaging bus: MessagingService.
//!
//! Owns: the [`MessageBus`] facade, its settings and errors, and the choice
//! of delivery. Every bus has a local `hub` (its subscriptions, retention
//! log and faults); a `Delivery` decides where publishes go and where the
//! subscribed topics' messages come from:
//! - `Local`: this process is the service; publishing delivers to the hub;
//! - `Remote`: a profilestore server elsewhere is the service
//!   (`remote`): publishing posts to it and each subscribed topic is
//!   long-polled into the hub;
//! - `Shared`: several nodes share one storage plugin (`shared`): publishing
//!   appends to its message log, and one poller per bus feeds every logged
//!   message into the hub under its log number, so cursors are valid on
//!   every node.
//!
//! Adding a delivery means one new `Delivery` variant with its `publish`
//! and `subscribe` arms; the hub and the facade stay as they are.
//!
//! Invariants:
//! - a topic is 1..=80 characters; a message is at most 1024 bytes of
//!   compact JSON; a rejected publish delivers and retains nothing (checked
//!   here, before any delivery, so every delivery refuses the same input);
//! - the hub's invariants (ordering, slow subscribers, retention) hold for
//!   every delivery;
//! - no lock is held across an `.await`.

mod hub;
mod remote;
mod shared;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Clock;
use hub::Hub;
pub use hub::Subscription;
pub use shared::{SharedBusConfig, EPOCH_RECORD};

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

/// One topic the bus holds (what the dashboard lists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicInfo {
    /// The topic.
    pub name: String,
    /// Local subscriptions.
    pub subscribers: usize,
    /// Messages retained for cursor reads.
    pub retained: usize,
    /// When the newest retained message was published (Unix ms).
    pub last_ms: Option<i64>,
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
    /// The shared message log's storage failed (a shared bus): nothing
    /// was delivered; retryable.
    #[error("MessagingService: the shared message log is unavailable ({0}); retry the publish")]
    Storage(crate::plugin_api::StorageError),
    /// An emulator fault fired (`/emulator/v1/faults`); retryable.
    #[error("{0}")]
    Fault(#[from] crate::faults::Injected),
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

fn without_cursors(messages: Vec<(u64, BusMessage)>) -> Vec<BusMessage> {
    messages.into_iter().map(|(_, m)| m).collect()
}

/// Where a bus's publishes go and its subscribed topics come from.
#[derive(Clone, Debug)]
enum Delivery {
    /// This process is the service.
    Local,
    /// A profilestore server elsewhere is the service.
    Remote(remote::Link),
    /// Several nodes share the message log of one storage plugin.
    Shared(shared::Log),
}

/// The bus; clones share it.
#[derive(Clone, Debug)]
pub struct MessageBus {
    hub: Arc<Hub>,
    delivery: Delivery,
    plan: crate::faults::FaultPlan,
}

impl MessageBus {
    /// A bus on `clock`, served in this process.
    pub fn new(clock: Clock, config: BusConfig) -> Self {
        MessageBus {
            hub: Arc::new(Hub::new(clock, config)),
            delivery: Delivery::Local,
            plan: crate::faults::FaultPlan::default(),
        }
    }

    /// This bus with its local publishes under `plan` (the server's
    /// emulator faults; a publish has no universe, its topic is the
    /// `dataStore` a fault matches).
    #[must_use]
    pub fn with_fault_plan(mut self, plan: crate::faults::FaultPlan) -> Self {
        self.plan = plan;
        self
    }

    /// This bus recording its publishes, deliveries and drops in `metrics`
    /// (the server's); clones share the setting, and the first one set stays.
    #[must_use]
    pub fn with_metrics(self, metrics: crate::metrics::Metrics) -> Self {
        self.hub.set_metrics(metrics);
        self
    }

    /// A bus whose topics live on the profilestore server behind `client`:
    /// publishing posts to it, and each subscribed topic is long-polled
    /// (resuming from its cursor after a dropped connection) and fed to
    /// the local subscriptions. Only messages published after a
    /// subscription was made reach it.
    pub fn remote(client: crate::remote::RemoteClient, clock: Clock, config: BusConfig) -> Self {
        MessageBus {
            hub: Arc::new(Hub::new(clock, config)),
            delivery: Delivery::Remote(remote::Link::new(client)),
            plan: crate::faults::FaultPlan::default(),
        }
    }

    /// A bus of a cluster node: its messages travel through the message
    /// log of `storage`, which every node of the cluster shares. Reads (or
    /// creates, for the first node) the cluster's cursor epoch and starts
    /// this bus's poller and log trimmer, which run until
    /// [`MessageBus::shutdown`] or until every clone of the bus is dropped.
    /// Subscribers get the messages published after this call; those still
    /// in the log from before are kept for cursor reads.
    pub async fn shared(
        storage: crate::storage::Storage,
        clock: Clock,
        config: BusConfig,
        shared: SharedBusConfig,
    ) -> Result<Self, BusError> {
        let epoch = shared::epoch(&storage).await?;
        let hub = Arc::new(Hub::new(clock, config).with_epoch(epoch));
        let log = shared::Log::start(storage, &hub, shared).await?;
        Ok(MessageBus {
            hub,
            delivery: Delivery::Shared(log),
            plan: crate::faults::FaultPlan::default(),
        })
    }

    /// Stops the tasks of a shared bus (its poller and log trimmer) and
    /// waits for them; afterwards its subscribers receive nothing more. A
    /// no-op for the other deliveries. `serve` calls it after the HTTP
    /// server and the sessions have shut down (their final saves may still
    /// publish release notices).
    pub async fn shutdown(&self) {
        if let Delivery::Shared(log) = &self.delivery {
            log.shutdown().await;
        }
    }

    /// The bus's clock.
    pub fn clock(&self) -> &Clock {
        self.hub.clock()
    }

    /// Number of local subscriptions on `topic`.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.hub.subscriber_count(topic)
    }

    /// The text of cursor `n` (`<bus epoch>-<n>`).
    pub fn cursor_text(&self, n: u64) -> String {
        self.hub.cursor_text(n)
    }

    /// Reads a cursor text: `Some(n)` for this bus's cursors and bare
    /// numbers; `Some(0)` (everything retained) for a cursor of another bus
    /// (issued before a restart), so a resuming reader misses nothing;
    /// `None` when it is not a cursor at all.
    pub fn parse_cursor(&self, text: &str) -> Option<u64> {
        self.hub.parse_cursor(text)
    }

    /// The cursor just before the first retained message of `topic`
    /// published at or after `since_ms` (the current end if none).
    pub fn cursor_at(&self, topic: &str, since_ms: i64) -> Result<u64, BusError> {
        self.hub.cursor_at(topic, since_ms)
    }

    /// Sets (or, with the default, clears) delivery faults.
    pub fn set_faults(&self, faults: BusFaults) {
        self.hub.set_faults(faults);
    }

    /// Deliveries the injected faults dropped and delayed so far.
    pub fn fault_counts(&self) -> BusFaultCounts {
        self.hub.fault_counts()
    }

    /// `PublishAsync`: delivers `data` to the topic's subscribers and keeps
    /// it for cursor reads.
    pub async fn publish(&self, topic: &str, data: &Value) -> Result<(), BusError> {
        self.hub.check_topic(topic)?;
        let bytes = serde_json::to_string(data).map_or(usize::MAX, |t| t.len());
        let limit = self.hub.config().max_message_bytes;
        if bytes > limit {
            return Err(BusError::MessageTooLarge { bytes, limit });
        }
        let target = crate::faults::Target {
            universe: None,
            store: topic,
            key: None,
        };
        let publish = crate::faults::Operation::Publish;
        let published = match &self.delivery {
            Delivery::Local => {
                self.plan
                    .apply(publish, target, async {
                        self.hub.publish_local(topic, data);
                        Ok(())
                    })
                    .await
            }
            Delivery::Remote(link) => link.publish(topic, data).await,
            Delivery::Shared(log) => {
                self.plan
                    .apply(publish, target, async {
                        log.publish(topic, data, self.hub.clock().now_ms()).await
                    })
                    .await
            }
        };
        if published.is_ok() {
            self.hub.metrics().bus_published();
        }
        published
    }

    /// `SubscribeAsync`: receives every later message on `topic`.
    pub fn subscribe(&self, topic: &str) -> Result<Subscription, BusError> {
        let subscription = self.hub.subscribe(topic)?;
        match &self.delivery {
            // The shared poller feeds every topic already.
            Delivery::Local | Delivery::Shared(_) => {}
            Delivery::Remote(link) => link.ensure_poller(&self.hub, topic),
        }
        Ok(subscription)
    }

    /// Retained messages after `cursor`, at most `max`, and the cursor to
    /// continue from. `None` starts at the current end (returns no message).
    pub fn read_since(
        &self,
        topic: &str,
        cursor: Option<u64>,
        max: usize,
    ) -> Result<(Vec<BusMessage>, u64), BusError> {
        let (messages, next) = self.hub.read_since(topic, cursor, max)?;
        Ok((without_cursors(messages), next))
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
        let (messages, next) = self.hub.wait_since(topic, cursor, max, timeout).await?;
        Ok((without_cursors(messages), next))
    }

    /// [`MessageBus::wait_since`] with each message's own cursor (what a
    /// stream resumes after it). Cursors of one topic grow but need not be
    /// consecutive (a shared bus numbers every topic's messages in one log).
    pub async fn wait_since_numbered(
        &self,
        topic: &str,
        cursor: Option<u64>,
        max: usize,
        timeout: Duration,
    ) -> Result<(Vec<(u64, BusMessage)>, u64), BusError> {
        self.hub.wait_since(topic, cursor, max, timeout).await
    }

    /// Number of topics currently held (for tests and metrics).
    pub fn topic_count(&self) -> usize {
        self.hub.topic_count()
    }

    /// Every topic held (with subscribers or retained messages), by name.
    pub fn topics(&self) -> Vec<TopicInfo> {
        self.hub.topics()
    }
}
