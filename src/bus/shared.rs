//! The shared delivery: a bus whose messages travel through the message
//! log of a storage plugin that several nodes share (one database).
//!
//! Owns: publishing into the log, the one poller per bus that feeds every
//! logged message (all topics) into the hub, the periodic trim of the log,
//! the cluster's cursor epoch (record [`EPOCH_RECORD`]) and the shutdown of
//! these tasks. Invariants:
//! - a publish is acknowledged once its append committed; a failed append
//!   delivers nothing anywhere and is a retryable [`BusError::Storage`];
//! - every node hands every logged message to its hub exactly once, in log
//!   order, under its log number (the hub's cursor): a cursor one node gave
//!   out is valid on every node, and after a restart (the epoch is created
//!   once and read by every later bus);
//! - a bus delivers to its subscribers only messages numbered above the
//!   log's head when it started; older messages still in the log are kept
//!   for cursor reads (backfill), not delivered;
//! - a publish returns once this node's hub has the message (or after
//!   [`READ_YOUR_WRITES`] if its poller is failing), so a reader on the
//!   publishing node sees its own publish as with the local delivery;
//! - plugin calls go through [`Storage`]; the blocking wake-up hint
//!   (`log_wait`) runs in a task of its own and only for a blocking plugin
//!   (never for the memory plugin, so never on paused simulated time);
//! - the poller retries failures with a capped backoff and never ends
//!   before its bus is dropped or shut down.

use std::sync::{Arc, Weak};
use std::time::Duration;

use profilestore_plugin_api::{RecordExpect, RecordOutcome, StorageResult};
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::hub::Hub;
use super::BusError;
use crate::backoff::Backoff;
use crate::storage::Storage;

/// The record holding the cluster's cursor epoch (8 hex digits).
pub const EPOCH_RECORD: &str = "bus/epoch";

/// How long a publish waits for this node's poller to take its message.
const READ_YOUR_WRITES: Duration = Duration::from_secs(2);
/// First and longest pause between a failing poller's attempts.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Settings of the shared delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedBusConfig {
    /// How often the log is read when nothing woke the poller (default
    /// 25 ms; a publish on this node wakes it at once).
    pub poll_interval: Duration,
    /// The longest wait on the plugin's wake-up hint, where it has one
    /// (default 500 ms): the log is read at least this often then.
    pub hint_wait: Duration,
    /// Whether to use the plugin's wake-up hint at all (default true).
    pub use_hint: bool,
    /// Messages read per call (default 256).
    pub batch: usize,
    /// How often this node trims the log to the retention (default 10 s).
    pub trim_interval: Duration,
}

impl Default for SharedBusConfig {
    fn default() -> Self {
        SharedBusConfig {
            poll_interval: Duration::from_millis(25),
            hint_wait: Duration::from_millis(500),
            use_hint: true,
            batch: 256,
            trim_interval: Duration::from_secs(10),
        }
    }
}

/// The shared side of one bus.
#[derive(Clone, Debug)]
pub(super) struct Log {
    storage: Storage,
    /// Wakes this bus's poller (a publish on this node).
    wake: Arc<Notify>,
    /// The highest log number this bus's hub has taken.
    taken: watch::Receiver<u64>,
    tasks: TaskTracker,
    stop: CancellationToken,
}

/// The cluster's epoch: read, or created once by the first bus.
pub(super) async fn epoch(storage: &Storage) -> Result<u32, BusError> {
    let proposal = format!(
        "{:08x}",
        rand::rngs::SmallRng::from_os_rng().random::<u32>()
    );
    let text = storage
        .call(move |p| {
            if let Some(r) = p.record_read(EPOCH_RECORD)? {
                return Ok(r.value);
            }
            match p.record_swap(EPOCH_RECORD, RecordExpect::Absent, Some(&proposal))? {
                RecordOutcome::Swapped { .. } => Ok(proposal),
                RecordOutcome::Conflict { current } => Ok(current.map_or(proposal, |r| r.value)),
            }
        })
        .await
        .map_err(BusError::Storage)?;
    u32::from_str_radix(text.trim(), 16).map_err(|_| {
        BusError::Storage(profilestore_plugin_api::StorageError::Corrupt {
            what: EPOCH_RECORD.into(),
            detail: format!("{text:?} is not 8 hex digits"),
        })
    })
}

impl Log {
    /// Starts the poller and the trimmer of `hub` (made with the cluster's
    /// epoch) and returns the handle its bus publishes through.
    pub(super) async fn start(
        storage: Storage,
        hub: &Arc<Hub>,
        config: SharedBusConfig,
    ) -> Result<Log, BusError> {
        let head = storage
            .call(|p| p.log_head())
            .await
            .map_err(BusError::Storage)?;
        let (taken_tx, taken) = watch::channel(0);
        let log = Log {
            storage,
            wake: Arc::new(Notify::new()),
            taken,
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
        };
        let use_hint = config.use_hint && log.storage.plugin().is_blocking();
        let poller = Poller {
            storage: log.storage.clone(),
            hub: Arc::downgrade(hub),
            wake: Arc::clone(&log.wake),
            taken: taken_tx,
            stop: log.stop.clone(),
            tasks: log.tasks.clone(),
            live_after: head,
            use_hint,
            config: config.clone(),
        };
        log.tasks.spawn(poller.run());
        log.tasks.spawn(trim(
            log.storage.clone(),
            Arc::downgrade(hub),
            log.stop.clone(),
            config.trim_interval,
        ));
        Ok(log)
    }

    /// Appends a message (limits and faults were applied by the caller)
    /// and waits for this node's hub to take it.
    pub(super) async fn publish(
        &self,
        topic: &str,
        data: &Value,
        sent_ms: i64,
    ) -> Result<(), BusError> {
        let text = serde_json::to_string(data).map_err(|e| {
            BusError::Storage(profilestore_plugin_api::StorageError::Backend(Box::new(e)))
        })?;
        let topic = topic.to_owned();
        let seq = self
            .storage
            .call(move |p| p.log_append(&topic, &text, sent_ms))
            .await
            .map_err(BusError::Storage)?;
        self.wake.notify_one();
        if !self.stop.is_cancelled() {
            let mut taken = self.taken.clone();
            let _ = tokio::time::timeout(READ_YOUR_WRITES, taken.wait_for(|n| *n >= seq)).await;
        }
        Ok(())
    }

    /// Stops the poller and the trimmer and waits for them.
    pub(super) async fn shutdown(&self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// The one reader of the log for one bus.
struct Poller {
    storage: Storage,
    /// Weak, so the poller never keeps a dropped bus alive.
    hub: Weak<Hub>,
    wake: Arc<Notify>,
    taken: watch::Sender<u64>,
    stop: CancellationToken,
    tasks: TaskTracker,
    /// The log's head when the bus started: messages up to it are kept for
    /// cursor reads but not delivered to subscribers.
    live_after: u64,
    use_hint: bool,
    config: SharedBusConfig,
}

/// What one read did.
enum Read {
    /// A full batch: more may be waiting.
    More,
    /// Caught up with the log.
    CaughtUp,
    /// The bus is gone.
    Gone,
}

impl Poller {
    async fn run(mut self) {
        let mut last = 0;
        let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF).with_jitter(0.5);
        let mut hint: Option<JoinHandle<StorageResult<bool>>> = None;
        while !self.stop.is_cancelled() {
            match self.read(&mut last).await {
                Ok(Read::Gone) => return,
                Ok(Read::More) => {
                    backoff.reset();
                    tokio::task::yield_now().await;
                    continue;
                }
                Ok(Read::CaughtUp) => backoff.reset(),
                Err(e) => {
                    tracing::warn!(error = %e, after = last, "reading the shared message log failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(backoff.fail()) => {}
                        () = self.stop.cancelled() => return,
                    }
                    continue;
                }
            }
            self.pause(last, &mut hint).await;
        }
    }

    /// Reads the next batch after `last` into the hub.
    async fn read(&self, last: &mut u64) -> StorageResult<Read> {
        let (after, batch) = (*last, self.config.batch.max(1));
        let messages = self.storage.call(move |p| p.log_read(after, batch)).await?;
        let Some(hub) = self.hub.upgrade() else {
            return Ok(Read::Gone);
        };
        let full = messages.len() >= batch;
        for m in messages {
            if m.seq <= *last {
                continue;
            }
            *last = m.seq;
            let live = m.seq > self.live_after;
            match serde_json::from_str::<Value>(&m.data) {
                Ok(data) => hub.accept_logged(&m.topic, m.seq, m.sent_ms, data, live),
                Err(e) => tracing::warn!(seq = m.seq, error = %e, "a logged message is not JSON"),
            }
        }
        self.taken.send_replace(*last);
        Ok(if full { Read::More } else { Read::CaughtUp })
    }

    /// Waits until a message may be new: a publish on this node, the
    /// plugin's hint, or the poll interval.
    async fn pause(&mut self, last: u64, hint: &mut Option<JoinHandle<StorageResult<bool>>>) {
        if self.use_hint && hint.is_none() {
            let (storage, wait) = (self.storage.clone(), self.config.hint_wait);
            *hint =
                Some(self.tasks.spawn(async move {
                    storage.call_waiting(move |p| p.log_wait(last, wait)).await
                }));
        }
        let Some(waiting) = hint.as_mut() else {
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
                () = self.stop.cancelled() => {}
            }
            return;
        };
        tokio::select! {
            () = self.wake.notified() => {}
            done = waiting => {
                *hint = None;
                match done {
                    Ok(Ok(true)) => {}
                    // No hint now (the plugin has none, or its listener is
                    // not up yet or reconnecting): poll on our own schedule
                    // and ask again next time, so a hint that comes up
                    // later is used.
                    Ok(Ok(false)) => tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(self.config.poll_interval) => {}
                        () = self.stop.cancelled() => {}
                    },
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "the message log's wake-up hint failed");
                        tokio::time::sleep(self.config.poll_interval).await;
                    }
                    Err(_) => self.use_hint = false,
                }
            }
            () = self.stop.cancelled() => {}
        }
    }
}

/// Trims the log to the hub's retention every `every`, until stopped or
/// the bus is gone. Every node does it; trimming is idempotent.
async fn trim(storage: Storage, hub: Weak<Hub>, stop: CancellationToken, every: Duration) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stop.cancelled() => return,
        }
        let cutoff = {
            let Some(hub) = hub.upgrade() else { return };
            let keep = i64::try_from(hub.config().retention.as_millis()).unwrap_or(i64::MAX);
            hub.clock().now_ms().saturating_sub(keep)
        };
        match storage.call(move |p| p.log_trim(cutoff)).await {
            Ok(n) => tracing::debug!(removed = n, "trimmed the shared message log"),
            Err(e) => tracing::warn!(error = %e, "trimming the shared message log failed"),
        }
    }
}
