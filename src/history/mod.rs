//! The session lock history: every change of a profile's owner (started,
//! released, handed off, stolen, assumed dead, ended by shutdown), kept
//! durably for a configurable period, and the live view of held profiles.
//!
//! Owns: [`LockHistory`], the commit observer of a local DataStore service
//! (registered by [`LockHistory::spawn`]): it reads the lock of each
//! profile document committed (`classify.rs`, which also states the
//! rules), queues it, and a recorder task (`recorder.rs`) classifies and
//! appends events to each profile's records (a small head and sealed
//! chunks, `record.rs`), keeps the live index, broadcasts events and
//! counts them. Invariants:
//! - the observer never blocks: a value not in ProfileStore's layout is
//!   dropped after a substring test, a profile's `MetaData` alone is
//!   parsed, and the result is queued;
//! - the queue is bounded ([`QUEUE`] commits): when the recorder falls
//!   that far behind, further commits are not recorded, and are counted
//!   (`profilestore_lock_history_dropped_total`, [`LockHistory::dropped`])
//!   and logged, so memory and the shutdown drain stay bounded;
//! - events of one profile are appended by compare-and-swap and classified
//!   against the record's last event, so several nodes may record one
//!   profile;
//! - retention (on the service's clock) prunes on every append and filters
//!   every read;
//! - [`LockHistory::shutdown`] records everything queued before it
//!   returns; servers call it after the sessions' final saves and before
//!   the storage flush.

mod classify;
mod record;
mod recorder;

pub use crate::opencloud::history::{LiveLock, LockChangeKind, LockEvent, LockOwner};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use profilestore_plugin_api::StorageError;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::datastore::observe::{CommitObserver, Committed, Previous};
use crate::datastore::DataStoreService;
use crate::storage::Storage;
use classify::{Before, Commit, Lock};

/// Settings of the lock history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryConfig {
    /// How long events are kept (default 30 days).
    pub retention: Duration,
    /// The most events kept per profile, newest first (default 1000).
    pub max_events: usize,
    /// How long after a release another server asked for a take of the
    /// profile still counts as its handoff (default 60 s).
    pub handoff_window: Duration,
    /// ProfileStore's `ASSUME_DEAD` (the engine's, 630 s).
    pub assume_dead: Duration,
    /// ProfileStore's `AUTO_SAVE_PERIOD` (the engine's, 300 s).
    pub auto_save_period: Duration,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        let engine = crate::engine::EngineConfig::default();
        HistoryConfig {
            retention: Duration::from_secs(30 * 24 * 3600),
            max_events: 1000,
            handoff_window: Duration::from_secs(60),
            assume_dead: engine.assume_dead,
            auto_save_period: engine.auto_save_period,
        }
    }
}

/// Why the history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// This history has no storage (a server on a remote DataStore).
    #[error("this server keeps no lock history: its data stores are remote")]
    NoStorage,
    /// The storage failed.
    #[error("cannot read the lock history: {0}")]
    Storage(#[from] StorageError),
}

/// One commit of a profile, queued for the recorder.
#[derive(Debug)]
struct Item {
    universe: u64,
    store: String,
    scope: String,
    key: String,
    seq: u64,
    commit: Commit,
}

impl Item {
    fn record(&self) -> String {
        record::name(self.universe, &self.store, &self.scope, &self.key)
    }
}

/// A live lock and the sequence of the commit it was last updated by.
#[derive(Debug)]
struct Live {
    lock: LiveLock,
    seq: u64,
}

/// How many of the newest events [`LockHistory::recent`] keeps.
pub const RECENT: usize = 200;

/// How many commits may wait for the recorder (about 300 bytes each).
pub const QUEUE: usize = 16_384;

struct Inner {
    storage: Option<Storage>,
    clock: Clock,
    config: HistoryConfig,
    queue: mpsc::Sender<Item>,
    /// Taken by the recorder when it starts.
    receiver: Mutex<Option<mpsc::Receiver<Item>>>,
    live: Mutex<HashMap<String, Live>>,
    events: broadcast::Sender<LockEvent>,
    /// The newest [`RECENT`] events, oldest first (the dashboard's change
    /// log starts from them).
    recent: Mutex<std::collections::VecDeque<LockEvent>>,
    counts: [AtomicU64; 6],
    /// `profilestore_lock_changes_total` (its DataStore service's metrics).
    metrics: crate::metrics::Metrics,
    queued: AtomicU64,
    /// Commits not recorded because the queue was full.
    dropped: AtomicU64,
    done: watch::Sender<u64>,
    stop: CancellationToken,
    tracker: TaskTracker,
}

/// The lock history of one server (cheap to clone, shared).
#[derive(Clone)]
pub struct LockHistory {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LockHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockHistory")
            .field("config", &self.inner.config)
            .field("live", &self.inner.live.lock().len())
            .finish_non_exhaustive()
    }
}

impl LockHistory {
    /// A history kept in `storage`'s records (`None`: a server on a
    /// remote DataStore, which records and reads nothing), on `clock`.
    pub fn new(storage: Option<Storage>, clock: Clock, config: HistoryConfig) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        LockHistory {
            inner: Arc::new(Inner {
                storage,
                clock,
                config,
                queue,
                receiver: Mutex::new(Some(receiver)),
                live: Mutex::new(HashMap::new()),
                events: broadcast::channel(1024).0,
                recent: Mutex::new(std::collections::VecDeque::with_capacity(RECENT)),
                counts: Default::default(),
                metrics: crate::metrics::Metrics::none().clone(),
                queued: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                done: watch::Sender::new(0),
                stop: CancellationToken::new(),
                tracker: TaskTracker::new(),
            }),
        }
    }

    /// The history of `datastores`' storage, on its clock.
    pub fn of(datastores: &DataStoreService, config: HistoryConfig) -> Self {
        let mut history = Self::new(
            datastores.storage().cloned(),
            datastores.clock().clone(),
            config,
        );
        // Not shared yet: nothing else holds `inner`.
        if let Some(inner) = Arc::get_mut(&mut history.inner) {
            inner.metrics = datastores.metrics().clone();
        }
        history
    }

    /// The settings.
    pub fn config(&self) -> &HistoryConfig {
        &self.inner.config
    }

    /// Starts recording the commits of `datastores` (registers the
    /// observer and starts the recorder task). Once per history; a remote
    /// service or a history without storage records nothing.
    pub fn spawn(&self, datastores: &DataStoreService) {
        if self.inner.storage.is_none() {
            return;
        }
        let Some(receiver) = self.inner.receiver.lock().take() else {
            return;
        };
        if !datastores.set_commit_observer(Arc::new(self.clone())) {
            tracing::warn!("the DataStore service has another commit observer: no lock history");
            return;
        }
        let me = self.clone();
        self.inner.tracker.spawn(recorder::run(me, receiver));
    }

    /// Records everything queued, then stops the recorder.
    pub async fn shutdown(&self) {
        self.inner.stop.cancel();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }

    /// Waits until every commit observed before the call is recorded (or
    /// the recorder stopped).
    pub async fn settled(&self) {
        let target = self.inner.queued.load(Ordering::SeqCst);
        let mut done = self.inner.done.subscribe();
        let stopped = self.inner.tracker.is_closed() && self.inner.tracker.is_empty();
        if stopped {
            return;
        }
        let _ = done.wait_for(|d| *d >= target).await;
    }

    /// The events of one profile within the retention, oldest first.
    pub async fn events(
        &self,
        universe: u64,
        store: &str,
        scope: &str,
        key: &str,
    ) -> Result<Vec<LockEvent>, HistoryError> {
        let storage = self.inner.storage.as_ref().ok_or(HistoryError::NoStorage)?;
        let name = record::name(universe, store, scope, key);
        let cutoff = record::cutoff(self.inner.clock.now_ms(), self.inner.config.retention);
        let events = record::read(storage, &name, cutoff, self.inner.config.max_events).await?;
        Ok(events.into_iter().map(LockEvent::with_time_text).collect())
    }

    /// The profiles this server saw taken (or saved) and not released yet,
    /// by universe, store, scope and key.
    pub fn live(&self) -> Vec<LiveLock> {
        let mut all: Vec<LiveLock> = self
            .inner
            .live
            .lock()
            .values()
            .map(|l| l.lock.clone())
            .collect();
        all.sort_by(|a, b| {
            (a.universe, &a.store, &a.scope, &a.key).cmp(&(b.universe, &b.store, &b.scope, &b.key))
        });
        all
    }

    /// Every event recorded from now on (after it is stored).
    pub fn subscribe(&self) -> broadcast::Receiver<LockEvent> {
        self.inner.events.subscribe()
    }

    /// The newest owner changes this node recorded (at most [`RECENT`],
    /// across every profile), oldest first: what happened before a
    /// [`subscribe`](Self::subscribe)r arrived.
    pub fn recent(&self) -> Vec<LockEvent> {
        self.inner.recent.lock().iter().cloned().collect()
    }

    /// How many commits were not recorded because the recorder's queue
    /// was full, since this server started.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// How many events of each kind this server recorded since it started.
    pub fn counts(&self) -> Vec<(LockChangeKind, u64)> {
        LockChangeKind::ALL
            .iter()
            .zip(&self.inner.counts)
            .map(|(k, c)| (*k, c.load(Ordering::Relaxed)))
            .collect()
    }
}

/// The lock a committed value shows: `None` when it is no profile.
fn lock_of(value: Option<&str>) -> Option<Lock> {
    value.and_then(Lock::read)
}

impl CommitObserver for LockHistory {
    fn committed(&self, c: &Committed<'_>) {
        let after = lock_of(c.value);
        let before = match c.previous {
            Previous::Unknown if after.is_none() => return,
            Previous::Unknown => Before::Unknown,
            Previous::Absent if after.is_none() => return,
            Previous::Absent => Before::Known(Lock::default()),
            Previous::Value(text) => match (lock_of(Some(text)), &after) {
                (None, None) => return,
                (before, _) => Before::Known(before.unwrap_or_default()),
            },
        };
        let item = Item {
            universe: c.universe,
            store: c.store.to_owned(),
            scope: c.scope.to_owned(),
            key: c.key.to_owned(),
            seq: c.seq,
            commit: Commit {
                before,
                after: after.unwrap_or_default(),
                note: c.note,
                time_ms: c.time_ms,
            },
        };
        self.inner.queued.fetch_add(1, Ordering::SeqCst);
        match self.inner.queue.try_send(item) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let before = self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                self.inner.metrics.lock_history_dropped();
                // Once, then every 10 000th: a backlog must not flood the log.
                if before.is_multiple_of(10_000) {
                    tracing::warn!(
                        dropped = before + 1,
                        "the lock history's recorder is {QUEUE} commits behind; owner changes are not recorded"
                    );
                }
                self.inner.done.send_modify(|d| *d += 1);
            }
            // The recorder stopped (shutdown): nothing more is recorded.
            Err(mpsc::error::TrySendError::Closed(_)) => self.inner.done.send_modify(|d| *d += 1),
        }
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod queue_tests;
