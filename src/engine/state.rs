//! The shared state of one engine (one game server), behind methods.
//!
//! Owns: the server's identity and services (DataStore service, its mock
//! twin, message bus, config), the per-key call queue, the start
//! generations (the last concurrent start of a key wins), the registry of
//! active sessions (`registry.rs`: by key, and in activation order for
//! auto-save), engine events and the critical state, the answer of the
//! DataStore access probe (`access.rs`), and the lifecycle: one
//! [`CancellationToken`] for "closing", one for "crashed", and one
//! [`TaskTracker`] for the tasks the engine spawns and the starts in
//! flight.
//!
//! Invariants: no other module reads these fields. DataStore calls for one
//! key run one at a time in call order (`queue`). A closing engine starts
//! nothing; shutdown returns only once every tracked start and task has
//! finished (final saves included). A crash stops every spawned task at its
//! next poll, before it can write. The tracker counts tasks without keeping
//! them: a finished task's allocation is freed at once. Locks are
//! `parking_lot` mutexes held only inside these methods, never across an
//! `.await`. The registry is generic over the profile handle `P` so this
//! module does not depend on the profile module (which depends on it).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Number;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::{task_tracker::TaskTrackerToken, TaskTracker};

mod registry;

pub(crate) use self::registry::Activated;
use self::registry::Registry;
use super::access::{AccessProbe, DataStoreState};
use super::config::{EngineConfig, EngineError};
use super::document::SessionOwner;
use super::events::{Critical, EngineEvent};
use crate::backoff::Backoff;
use crate::bus::MessageBus;
use crate::clock::Clock;
use crate::datastore::DataStoreService;

/// How much a retry delay may be shortened at random (see [`retry_backoff`]).
const JITTER: f64 = 0.2;

/// The backoff of every engine retry loop: 1 s doubling up to `max`, each
/// delay shortened by up to [`JITTER`] (never lengthened: `max` stays an
/// upper bound), so servers failing together (a DataStore outage) do not
/// retry in lockstep. Seeded from `seed` (the server's job id, the store
/// and the key) rather than the OS: different servers and keys spread
/// apart, yet a run on simulated time (tests, chaos seeds) is repeatable.
fn retry_backoff(max: Duration, seed: &[&str]) -> Backoff {
    Backoff::new(Duration::from_secs(1).min(max), max)
        .with_seeded_jitter(JITTER, crate::datastore::fingerprint(seed))
}

/// The key of a store's key in the call queue and the session registry.
pub(crate) fn queue_key(store: &str, mock: bool, key: &str) -> String {
    format!("{}\u{0}{}\u{0}{}", u8::from(mock), store, key)
}

/// Shared state of one engine; `P` is the handle of an active profile.
pub(crate) struct EngineState<P> {
    datastores: DataStoreService,
    mock: DataStoreService,
    bus: MessageBus,
    universe: u64,
    place_id: u64,
    job_id: String,
    config: EngineConfig,
    /// Cancelled by shutdown and by a crash.
    closing: CancellationToken,
    /// Cancelled by [`EngineState::crash`]: nothing is written any more.
    crashed: CancellationToken,
    /// The engine's tasks and the starts in flight.
    tracker: TaskTracker,
    queues: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    start_generation: Mutex<HashMap<String, u64>>,
    active: Mutex<Registry<P>>,
    events: broadcast::Sender<EngineEvent>,
    critical: Mutex<Critical>,
    housekeeping: AtomicBool,
    /// Signalled when a session starts or ends (re-plans auto-saves).
    profiles_changed: Notify,
    activations: AtomicU64,
    access: AccessProbe,
}

impl<P> std::fmt::Debug for EngineState<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("place_id", &self.place_id)
            .field("job_id", &self.job_id)
            .finish_non_exhaustive()
    }
}

impl<P: Clone> EngineState<P> {
    /// The state of server `(place_id, job_id)` of `universe`.
    pub(crate) fn new(
        datastores: DataStoreService,
        bus: MessageBus,
        universe: u64,
        place_id: u64,
        job_id: String,
        config: EngineConfig,
    ) -> Self {
        let mock = DataStoreService::new(
            Arc::new(profilestore_memory::MemoryPlugin::new()),
            datastores.clock().clone(),
            datastores.config().clone(),
        );
        EngineState {
            datastores,
            mock,
            bus,
            universe,
            place_id,
            job_id,
            closing: CancellationToken::new(),
            crashed: CancellationToken::new(),
            tracker: TaskTracker::new(),
            queues: Mutex::new(HashMap::new()),
            start_generation: Mutex::new(HashMap::new()),
            active: Mutex::new(Registry::default()),
            events: broadcast::channel(1024).0,
            critical: Mutex::new(Critical::new(
                config.critical_state_error_count,
                config.critical_state_error_expire,
                config.critical_state_expire,
            )),
            housekeeping: AtomicBool::new(false),
            profiles_changed: Notify::new(),
            activations: AtomicU64::new(0),
            access: AccessProbe::default(),
            config,
        }
    }

    // --- identity and services ---

    pub(crate) fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The server's metrics (those of its DataStore service; off for an
    /// engine on a remote server).
    pub(crate) fn metrics(&self) -> &crate::metrics::Metrics {
        self.datastores.metrics()
    }

    pub(crate) fn bus(&self) -> &MessageBus {
        &self.bus
    }

    pub(crate) fn clock(&self) -> &Clock {
        self.datastores.clock()
    }

    pub(crate) fn universe(&self) -> u64 {
        self.universe
    }

    pub(crate) fn place_id(&self) -> u64 {
        self.place_id
    }

    pub(crate) fn job_id(&self) -> &str {
        &self.job_id
    }

    /// The real DataStore service, or the mock twin's (`mock`).
    pub(crate) fn datastores(&self, mock: bool) -> &DataStoreService {
        if mock {
            &self.mock
        } else {
            &self.datastores
        }
    }

    /// This server as a session owner, with `session_id`.
    pub(crate) fn server(&self, session_id: Option<String>) -> SessionOwner {
        SessionOwner {
            place_id: Number::from(self.place_id),
            job_id: self.job_id.clone(),
            session_id,
        }
    }

    /// A retry backoff for `store`/`key` on this server, capped at `max`.
    pub(crate) fn backoff(&self, max: Duration, store: &str, key: &str) -> Backoff {
        retry_backoff(max, &[&self.job_id, store, key])
    }

    // --- the call queue and start generations ---

    /// Waits for this server's turn to call the DataStore for `qkey`.
    pub(crate) async fn queue(&self, qkey: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let queue = {
            let mut queues = self.queues.lock();
            queues.retain(|_, q| Arc::strong_count(q) > 1);
            Arc::clone(queues.entry(qkey.to_owned()).or_default())
        };
        queue.lock_owned().await
    }

    /// Registers a new start of `qkey`; returns its generation.
    pub(crate) fn begin_start(&self, qkey: &str) -> u64 {
        let mut gens = self.start_generation.lock();
        let g = gens.entry(qkey.to_owned()).or_insert(0);
        *g += 1;
        *g
    }

    /// Whether `generation` is still the latest start of `qkey`.
    pub(crate) fn is_latest_start(&self, qkey: &str, generation: u64) -> bool {
        self.start_generation.lock().get(qkey) == Some(&generation)
    }

    // --- active sessions ---

    /// The active session of `qkey` on this server.
    pub(crate) fn active(&self, qkey: &str) -> Option<P> {
        self.active.lock().get(qkey).cloned()
    }

    pub(crate) fn is_active(&self, qkey: &str) -> bool {
        self.active.lock().contains(qkey)
    }

    /// Registers a started session and re-plans auto-saves.
    pub(crate) fn register_active(&self, qkey: String, profile: P)
    where
        P: Activated,
    {
        self.active.lock().insert(qkey, profile);
        self.profiles_changed.notify_waiters();
    }

    /// Unregisters an ended session and re-plans auto-saves.
    pub(crate) fn unregister_active(&self, qkey: &str) {
        self.active.lock().remove(qkey);
        self.profiles_changed.notify_waiters();
    }

    pub(crate) fn active_count(&self) -> usize {
        self.active.lock().len()
    }

    /// The next session to auto-save with its activation number: the first
    /// one activated at or after `from`, else the first of all, if `ready`
    /// accepts it (called under the registry's lock: it must only look).
    /// One ordered-map lookup, whatever the number of sessions.
    pub(crate) fn next_in_activation_order(
        &self,
        from: u64,
        ready: impl Fn(&P) -> bool,
    ) -> Option<(u64, P)> {
        let registry = self.active.lock();
        registry
            .next_from(from, ready)
            .map(|(seq, p)| (seq, p.clone()))
    }

    /// Resolves when sessions start or end after this call (poll it once,
    /// or `enable` it, before reading the registry).
    pub(crate) fn profiles_changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.profiles_changed.notified()
    }

    /// The next activation number (auto-save order).
    pub(crate) fn next_activation(&self) -> u64 {
        self.activations.fetch_add(1, Ordering::SeqCst)
    }

    /// True for the one caller that should start the housekeeping task.
    pub(crate) fn claim_housekeeping(&self) -> bool {
        !self.housekeeping.swap(true, Ordering::SeqCst)
    }

    // --- events and the critical state ---

    pub(crate) fn subscribe_events(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, event: EngineEvent) {
        let _ = self.events.send(event);
    }

    /// Reports a failed DataStore call (`OnError`) and counts it towards
    /// the critical state.
    pub(crate) fn report_error(&self, store: &str, key: &str, message: String) {
        self.emit(EngineEvent::Error {
            message,
            store: store.to_owned(),
            key: key.to_owned(),
        });
        let change = self.critical.lock().record(self.clock().instant());
        if let Some(change) = change {
            self.emit(EngineEvent::CriticalState(change));
        }
    }

    pub(crate) fn is_critical(&self) -> bool {
        self.critical.lock().is_active()
    }

    /// Re-evaluates the critical state (it may end with no new error).
    pub(crate) fn poll_critical(&self) {
        let change = self.critical.lock().poll(self.clock().instant());
        if let Some(change) = change {
            self.emit(EngineEvent::CriticalState(change));
        }
    }

    // --- DataStore access ---

    /// Probes DataStore access once (see [`AccessProbe`]).
    pub(crate) async fn access(&self) -> DataStoreState {
        self.access.run(&self.datastores, self.universe).await
    }

    /// The probe's answer so far (`NotReady` before it ran).
    pub(crate) fn access_state(&self) -> DataStoreState {
        self.access.state()
    }

    // --- lifecycle ---

    /// Whether the engine is closing (shutting down or crashed).
    pub(crate) fn closing(&self) -> bool {
        self.closing.is_cancelled()
    }

    /// Resolves once the engine is closing.
    pub(crate) async fn closed(&self) {
        self.closing.cancelled().await;
    }

    /// Whether this server crashed ([`EngineState::crash`]).
    pub(crate) fn crashed(&self) -> bool {
        self.crashed.is_cancelled()
    }

    /// Fails a call in flight on a crashed server, which writes nothing.
    pub(crate) fn check_alive(&self) -> Result<(), EngineError> {
        if self.crashed() {
            let e = profilestore_plugin_api::StorageError::Unavailable(
                "this game server crashed: it writes nothing any more".into(),
            );
            return Err(EngineError::DataStore(e.into()));
        }
        Ok(())
    }

    /// Counts a start in flight until the token is dropped: shutdown waits
    /// for it. Take it before checking [`EngineState::closing`].
    pub(crate) fn start_in_flight(&self) -> TaskTrackerToken {
        self.tracker.token()
    }

    /// Spawns an engine task: shutdown waits for it, a crash stops it at
    /// its next poll (without running any more of it).
    pub(crate) fn spawn_task(&self, task: impl Future<Output = ()> + Send + 'static) {
        let crashed = self.crashed.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                biased;
                _ = crashed.cancelled() => {}
                _ = task => {}
            }
        });
    }

    /// Tasks and starts in flight.
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.tracker.len()
    }

    /// Closes the engine and waits for every start in flight and every
    /// task (their final saves) to finish.
    pub(crate) async fn shutdown(&self) {
        self.closing.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// Crashes the engine: nothing more is written, every task stops, and
    /// the active sessions are handed back (unregistered) to be marked
    /// ended locally.
    pub(crate) fn crash(&self) -> Vec<P> {
        // Crashed before closing: a task woken by "closing" must already
        // see the crash.
        self.crashed.cancel();
        self.closing.cancel();
        self.active.lock().drain()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Arc<EngineState<()>> {
        let (datastores, bus) = crate::engine::memory_services();
        Arc::new(EngineState::new(
            datastores,
            bus,
            1,
            1,
            "job".into(),
            EngineConfig::default(),
        ))
    }

    #[test]
    fn the_backoff_doubles_to_its_cap_shortened_by_at_most_the_jitter() {
        let s = Duration::from_secs(1);
        let mut a = retry_backoff(20 * s, &["job", "store", "key"]);
        let mut b = retry_backoff(20 * s, &["job", "store", "key"]);
        for bound in [1, 2, 4, 8, 16, 20, 20].map(|n| n * s) {
            let d = a.fail();
            assert!(
                d <= bound && d >= bound.mul_f64(1.0 - JITTER),
                "{d:?} vs {bound:?}"
            );
            assert_eq!(d, b.fail(), "the same seed gives the same delays");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_waits_for_a_start_in_flight() {
        let state = state();
        let start = state.start_in_flight();
        let shutdown = tokio::spawn({
            let state = Arc::clone(&state);
            async move { state.shutdown().await }
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(state.closing(), "shutdown closed the engine at once");
        assert!(!shutdown.is_finished(), "but waits for the start");
        drop(start);
        shutdown.await.expect("shutdown");
        assert_eq!(state.tracked(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_crash_stops_a_task_before_it_runs_again() {
        let state = state();
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let ran = Arc::new(AtomicBool::new(false));
        state.spawn_task({
            let ran = Arc::clone(&ran);
            async move {
                let _ = wait.await;
                ran.store(true, Ordering::SeqCst);
            }
        });
        tokio::task::yield_now().await;
        state.crash();
        let _ = go.send(());
        state.shutdown().await;
        assert!(!ran.load(Ordering::SeqCst), "the crashed task went on");
        assert!(state.crashed() && state.closing());
    }
}
