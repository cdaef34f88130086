//! The engine of one game server, its stores, and starting sessions.
//!
//! Owns: [`Engine`] (one Roblox server: place id, job id, a DataStore
//! service and a message bus), [`ProfileStore`], the per-key call queue,
//! and the session-start loop (force-load requests, steal, assume-dead,
//! backoff, release notices). Invariants: DataStore calls for one key run
//! one at a time in call order on this server; of concurrent starts of one
//! key only the last caller gets the profile; a closing engine starts
//! nothing; every wait uses tokio's clock (simulated in tests).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Number, Value};
use tokio::sync::watch;

use super::config::{EngineConfig, EngineError};
use super::document::{classify, SessionOwner};
use super::events::{Critical, EngineEvent};
use super::notice::{ReleaseNotices, Request};
use super::profile::{self, Profile};
use super::session::{self, StartAttempt, StartOutcome};
use crate::backoff::Backoff;
use crate::bus::MessageBus;
use crate::datastore::{DataStore, DataStoreService, Transform, WriteOptions};

/// Whether the engine can use the real DataStore (`DataStoreState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataStoreState {
    /// Not probed yet.
    NotReady,
    /// The DataStore works.
    Access,
    /// The DataStore refused access: stores use their mocks.
    NoAccess,
    /// The DataStore could not be reached: stores use their mocks.
    NoInternet,
}

/// A cancel condition polled between start attempts.
pub type CancelFn = Arc<dyn Fn() -> bool + Send + Sync>;

/// Options of [`ProfileStore::start_session`].
#[derive(Clone, Default)]
pub struct StartOptions {
    /// Take the profile even if another server holds it.
    pub steal: bool,
    /// Stop trying when this returns true; replaces the start timeout.
    pub cancel: Option<CancelFn>,
}

impl std::fmt::Debug for StartOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartOptions")
            .field("steal", &self.steal)
            .field("cancel", &self.cancel.is_some())
            .finish()
    }
}

/// The backoff of every engine retry loop: 1 s doubling up to `max`.
pub(crate) fn retry_backoff(max: Duration) -> Backoff {
    Backoff::new(Duration::from_secs(1).min(max), max)
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Critical sections here never leave state half-updated.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Shared state of one engine.
pub(crate) struct EngineInner {
    pub(crate) datastores: DataStoreService,
    pub(crate) mock: DataStoreService,
    pub(crate) bus: MessageBus,
    pub(crate) universe: u64,
    pub(crate) place_id: u64,
    pub(crate) job_id: String,
    pub(crate) config: EngineConfig,
    pub(crate) closing: watch::Sender<bool>,
    is_closing: AtomicBool,
    /// Set by [`Engine::crash`]: nothing is written any more.
    crashed: AtomicBool,
    queues: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    start_generation: Mutex<HashMap<String, u64>>,
    pub(crate) active: Mutex<HashMap<String, Profile>>,
    pub(crate) tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    pub(crate) events: tokio::sync::broadcast::Sender<EngineEvent>,
    pub(crate) critical: Mutex<Critical>,
    pub(crate) housekeeping: AtomicBool,
    /// Signalled when a session starts or ends (re-plans auto-saves).
    pub(crate) profiles_changed: tokio::sync::Notify,
    pub(crate) activations: std::sync::atomic::AtomicU64,
    access: tokio::sync::OnceCell<DataStoreState>,
    pending_starts: std::sync::atomic::AtomicUsize,
    starts_done: tokio::sync::Notify,
}

/// Counts a start in flight so shutdown waits for it.
struct PendingStart<'a>(&'a EngineInner);

impl Drop for PendingStart<'_> {
    fn drop(&mut self) {
        if self.0.pending_starts.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.starts_done.notify_waiters();
        }
    }
}

impl std::fmt::Debug for EngineInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("place_id", &self.place_id)
            .field("job_id", &self.job_id)
            .finish_non_exhaustive()
    }
}

impl EngineInner {
    /// Waits for this server's turn to call the DataStore for `key`.
    pub(crate) async fn queue(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let queue = {
            let mut queues = lock(&self.queues);
            queues.retain(|_, q| Arc::strong_count(q) > 1);
            Arc::clone(queues.entry(key.to_owned()).or_default())
        };
        queue.lock_owned().await
    }

    /// Reports a failed DataStore call (`OnError`) and counts it towards
    /// the critical state.
    pub(crate) fn report_error(&self, store: &str, key: &str, message: String) {
        let _ = self.events.send(EngineEvent::Error {
            message,
            store: store.to_owned(),
            key: key.to_owned(),
        });
        if let Some(change) = lock(&self.critical).record(tokio::time::Instant::now()) {
            let _ = self.events.send(EngineEvent::CriticalState(change));
        }
    }

    /// Probes DataStore access once, as the Luau module does with a write
    /// to `____PS`: a refusal means no access and an unreachable store no
    /// internet (stores then use their mocks for the server's lifetime).
    /// Any other failure is transient and counts as access, as in the Luau
    /// module: falling back to mocks on a passing error would silently keep
    /// every later session of this server out of real storage.
    pub(crate) async fn access(&self) -> DataStoreState {
        *self
            .access
            .get_or_init(|| async {
                let probe = self
                    .datastores
                    .data_store(self.universe, "____PS", "global");
                let now = Value::from(self.datastores.clock().now_secs());
                match probe {
                    Ok(ds) => match ds.set("____PS", &now, &WriteOptions::default()).await {
                        Ok(_) => DataStoreState::Access,
                        Err(e) => probe_failure(&e),
                    },
                    Err(_) => DataStoreState::NoAccess,
                }
            })
            .await
    }

    pub(crate) fn closing(&self) -> bool {
        self.is_closing.load(Ordering::SeqCst)
    }

    /// Whether this server crashed ([`Engine::crash`]).
    pub(crate) fn crashed(&self) -> bool {
        self.crashed.load(Ordering::SeqCst)
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

    pub(crate) fn server(&self, session_id: Option<String>) -> SessionOwner {
        SessionOwner {
            place_id: Number::from(self.place_id),
            job_id: self.job_id.clone(),
            session_id,
        }
    }
}

/// What a failed access probe means (the Luau module's reading of the
/// `SetAsync` error: `ConnectFail` is no internet, `403` or "must publish"
/// is no access, anything else is a passing failure of a working store).
fn probe_failure(e: &crate::datastore::DataStoreError) -> DataStoreState {
    use crate::datastore::DataStoreError;
    use crate::remote::RemoteError;
    use profilestore_plugin_api::StorageError;
    let state = match e {
        DataStoreError::Storage(StorageError::Unavailable(_)) => DataStoreState::Access,
        DataStoreError::Storage(_) | DataStoreError::Remote(RemoteError::Unreachable { .. }) => {
            DataStoreState::NoInternet
        }
        DataStoreError::Remote(r) if r.is_transient() => DataStoreState::Access,
        _ => DataStoreState::NoAccess,
    };
    match state {
        DataStoreState::Access => {
            tracing::warn!(error = %e, "DataStore access probe failed transiently: assuming access");
        }
        _ => tracing::warn!(error = %e, ?state, "no DataStore access: stores use their mocks"),
    }
    state
}

/// One game server's ProfileStore engine. Several engines sharing one
/// DataStore service and one bus behave as several Roblox servers.
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

impl Engine {
    /// An engine for server `(place_id, job_id)` of `universe`.
    pub fn new(
        datastores: DataStoreService,
        bus: MessageBus,
        universe: u64,
        place_id: u64,
        job_id: impl Into<String>,
        config: EngineConfig,
    ) -> Self {
        let mock = DataStoreService::new(
            Arc::new(profilestore_memory::MemoryPlugin::new()),
            datastores.clock().clone(),
            datastores.config().clone(),
        );
        Engine {
            inner: Arc::new(EngineInner {
                datastores,
                mock,
                bus,
                universe,
                place_id,
                job_id: job_id.into(),
                closing: watch::Sender::new(false),
                is_closing: AtomicBool::new(false),
                crashed: AtomicBool::new(false),
                queues: Mutex::new(HashMap::new()),
                start_generation: Mutex::new(HashMap::new()),
                active: Mutex::new(HashMap::new()),
                tasks: Mutex::new(Vec::new()),
                events: tokio::sync::broadcast::channel(1024).0,
                critical: Mutex::new(Critical::new(
                    config.critical_state_error_count,
                    config.critical_state_error_expire,
                    config.critical_state_expire,
                )),
                housekeeping: AtomicBool::new(false),
                profiles_changed: tokio::sync::Notify::new(),
                activations: std::sync::atomic::AtomicU64::new(0),
                access: tokio::sync::OnceCell::new(),
                pending_starts: std::sync::atomic::AtomicUsize::new(0),
                starts_done: tokio::sync::Notify::new(),
                config,
            }),
        }
    }

    /// An engine for a game server in another process than the
    /// profilestore server at `url`: its DataStore calls and messages go
    /// over HTTP (Open Cloud v1 and the long-poll subscribe endpoint), on
    /// the system clock. Needs a Tokio runtime.
    pub fn remote(
        url: &str,
        api_key: Option<String>,
        universe: u64,
        place_id: u64,
        job_id: impl Into<String>,
        config: EngineConfig,
    ) -> Result<Self, crate::remote::RemoteError> {
        let client = crate::remote::RemoteClient::new(url, api_key)?;
        let clock = crate::clock::Clock::system();
        let datastores = DataStoreService::remote(client.clone(), clock.clone());
        let bus = MessageBus::remote(client, clock, crate::bus::BusConfig::default());
        Ok(Self::new(
            datastores, bus, universe, place_id, job_id, config,
        ))
    }

    /// The clock this engine runs on.
    pub fn clock(&self) -> crate::clock::Clock {
        self.inner.datastores.clock().clone()
    }

    /// `ProfileStore.New(name, template)`.
    pub fn store(&self, name: &str, template: Value) -> Result<ProfileStore, EngineError> {
        let ds = self
            .inner
            .datastores
            .data_store(self.inner.universe, name, "global")
            .map_err(|e| EngineError::InvalidName(e.to_string()))?;
        Ok(ProfileStore {
            engine: self.clone(),
            name: name.to_owned(),
            template: Arc::new(template),
            ds,
            mock: false,
        })
    }

    /// A store whose template is `T::default()`: typed profile data (read
    /// and write it with `Profile::data_as` and `Profile::set_data_from`).
    pub fn typed_store<T: serde::Serialize + Default>(
        &self,
        name: &str,
    ) -> Result<ProfileStore, EngineError> {
        let template = serde_json::to_value(T::default())
            .map_err(|e| EngineError::DataShape(e.to_string()))?;
        self.store(name, template)
    }

    /// Engine events: overwrites, DataStore errors, critical state.
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// Whether the engine is in critical state (too many DataStore errors).
    pub fn is_critical(&self) -> bool {
        lock(&self.inner.critical).is_active()
    }

    /// `DataStoreState`: `NotReady` until the first store call probes access.
    pub fn datastore_state(&self) -> DataStoreState {
        self.inner
            .access
            .get()
            .copied()
            .unwrap_or(DataStoreState::NotReady)
    }

    /// `IsClosing`.
    pub fn is_closing(&self) -> bool {
        self.inner.closing()
    }

    /// Simulates a crash (for tests and chaos runs): every task of this
    /// server stops at once and its sessions end locally without final
    /// saves, so their locks stay in storage until another server steals
    /// them or assumes this one dead. The engine starts nothing afterwards
    /// and writes nothing more, not even for calls still in flight in the
    /// callers' tasks (a dead process sends nothing): a start returns no
    /// profile, a message or a read-only write fails, a save does nothing.
    pub fn crash(&self) {
        self.inner.crashed.store(true, Ordering::SeqCst);
        self.inner.is_closing.store(true, Ordering::SeqCst);
        for task in std::mem::take(&mut *lock(&self.inner.tasks)) {
            task.abort();
        }
        let profiles: Vec<Profile> = lock(&self.inner.active).drain().map(|(_, p)| p).collect();
        for p in profiles {
            p.crashed();
        }
    }

    /// Shuts the server down: starts return no profile, every active session
    /// ends with a final save of reason `Shutdown`, and this waits for them.
    pub async fn shutdown(&self) {
        self.inner.is_closing.store(true, Ordering::SeqCst);
        self.inner.closing.send_replace(true);
        loop {
            let done = self.inner.starts_done.notified();
            if self.inner.pending_starts.load(Ordering::SeqCst) > 0 {
                done.await;
                continue;
            }
            let tasks: Vec<_> = std::mem::take(&mut *lock(&self.inner.tasks));
            if tasks.is_empty() {
                break;
            }
            for t in tasks {
                let _ = t.await;
            }
        }
    }
}

/// A named store with a template (`ProfileStore.New`), or its mock twin.
#[derive(Clone, Debug)]
pub struct ProfileStore {
    pub(crate) engine: Engine,
    pub(crate) name: String,
    pub(crate) template: Arc<Value>,
    pub(crate) ds: DataStore,
    pub(crate) mock: bool,
}

/// The key's user ids and metadata as a stored document carries them.
pub(crate) fn write_options_of(value: &Value) -> WriteOptions {
    WriteOptions {
        user_ids: value
            .get("UserIds")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default(),
        metadata: value
            .get("RobloxMetaData")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    }
}

impl ProfileStore {
    /// The `.Mock` twin: same methods, separate in-memory data.
    pub fn mock(&self) -> ProfileStore {
        let ds = self
            .engine
            .inner
            .mock
            .data_store(self.engine.inner.universe, &self.name, "global")
            .expect("the name was validated");
        ProfileStore {
            ds,
            mock: true,
            ..self.clone()
        }
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The DataStore this store uses now: its mock when the engine has no
    /// access to the real one.
    pub(crate) async fn data(&self) -> ProfileStore {
        if self.mock || self.engine.inner.access().await == DataStoreState::Access {
            self.clone()
        } else {
            self.mock()
        }
    }

    pub(crate) fn queue_key(&self, key: &str) -> String {
        format!("{}\u{0}{}\u{0}{}", u8::from(self.mock), self.name, key)
    }

    /// `MessageAsync`: appends `message` to the profile's queue (creating a
    /// messages-only document if there is no profile yet), then has the
    /// owner save soon: this server saves at once; another owner gets a
    /// `{LoadCount}` request. Retries DataStore errors with backoff.
    pub async fn message(&self, key: &str, message: Value) -> Result<(), EngineError> {
        self.data().await.message_in(key, message).await
    }

    async fn message_in(&self, key: &str, message: Value) -> Result<(), EngineError> {
        let inner = &self.engine.inner;
        crate::datastore::validate::key(key)
            .map_err(|e| EngineError::InvalidName(e.to_string()))?;
        let qkey = self.queue_key(key);
        let cap = inner.config.max_message_queue;
        let mut backoff = retry_backoff(inner.config.max_backoff);
        let owner = loop {
            let turn = inner.queue(&qkey).await;
            let mut owner = None;
            let written = self
                .ds
                .update(key, |current, _| {
                    if inner.crashed() {
                        return Transform::Cancel;
                    }
                    let (value, o) =
                        session::append_message(classify(current), message.clone(), cap);
                    owner = o;
                    Transform::Write {
                        options: write_options_of(&value),
                        value,
                    }
                })
                .await;
            inner.check_alive()?;
            match written {
                Ok(_) => {
                    // Saving under the same turn keeps the queue's order.
                    let local = owner
                        .as_ref()
                        .filter(|(o, _)| o.same_server(&inner.server(None)));
                    let active = lock(&inner.active).get(&qkey).cloned();
                    if let (Some(_), Some(profile)) = (local, active) {
                        let _ = profile.save_in_turn(false).await;
                        return Ok(());
                    }
                    drop(turn);
                    break owner;
                }
                Err(e) => {
                    drop(turn);
                    tracing::warn!(store = %self.name, key, error = %e, "message write failed; retrying");
                    inner.report_error(&self.name, key, e.to_string());
                    tokio::time::sleep(backoff.fail()).await;
                }
            }
        };
        if let Some((
            SessionOwner {
                session_id: Some(id),
                ..
            },
            load_count,
        )) = owner
        {
            Request::save(load_count).send(&inner.bus, &id).await;
        }
        Ok(())
    }

    /// `StartSessionAsync`: the profile, or `None` when another server keeps
    /// it, a later concurrent start on this server won, the start was
    /// cancelled or timed out, or the server is closing.
    pub async fn start_session(
        &self,
        key: &str,
        options: StartOptions,
    ) -> Result<Option<Profile>, EngineError> {
        let inner = &self.engine.inner;
        inner.pending_starts.fetch_add(1, Ordering::SeqCst);
        let _pending = PendingStart(inner);
        if inner.closing() {
            return Ok(None);
        }
        let this = self.data().await;
        this.start_in(key, options).await
    }

    async fn start_in(
        &self,
        key: &str,
        options: StartOptions,
    ) -> Result<Option<Profile>, EngineError> {
        let inner = &self.engine.inner;
        crate::datastore::validate::key(key)
            .map_err(|e| EngineError::InvalidName(e.to_string()))?;
        let qkey = self.queue_key(key);
        if lock(&inner.active).contains_key(&qkey) {
            return Err(EngineError::AlreadyActive {
                store: self.name.clone(),
                key: key.to_owned(),
            });
        }
        let generation = {
            let mut gens = lock(&inner.start_generation);
            let g = gens.entry(qkey.clone()).or_insert(0);
            *g += 1;
            *g
        };
        // Let concurrent starts of the same key register: the last one wins.
        tokio::task::yield_now().await;
        let mut notices = ReleaseNotices::listen(
            &inner.bus,
            &self.name,
            key,
            self.mock,
            inner.config.release_notice,
        );
        let me = inner.server(Some(uuid::Uuid::new_v4().to_string().to_uppercase()));
        let started = tokio::time::Instant::now();
        let mut repeats = 0u32;
        let mut backoff = retry_backoff(inner.config.max_backoff);
        loop {
            let superseded = lock(&inner.start_generation).get(&qkey) != Some(&generation);
            if superseded || options.cancel.as_ref().is_some_and(|c| c()) {
                return Ok(None);
            }
            let result = {
                let _turn = inner.queue(&qkey).await;
                if lock(&inner.start_generation).get(&qkey) != Some(&generation) {
                    return Ok(None);
                }
                // Decided after the wait for the turn: a server that began
                // closing (or crashed) meanwhile must not take the profile.
                let attempt = StartAttempt {
                    me: &me,
                    template: &self.template,
                    now_secs: inner.datastores.clock().now_secs(),
                    steal: options.steal,
                    first_attempt: repeats == 0,
                    // The first attempt is not a repeat: with the defaults the
                    // repeats run at 5, 15, 25 and 35 s and the steal at 45 s.
                    steal_ready: repeats > inner.config.steal_after_repeats(),
                    assume_dead_secs: inner.config.assume_dead.as_secs_f64(),
                    hold_back: inner.closing(),
                };
                let mut outcome = None;
                let written = self
                    .ds
                    .update(key, |current, _| {
                        if inner.crashed() {
                            return Transform::Cancel;
                        }
                        let (doc, o) = session::start(classify(current), &attempt);
                        outcome = Some(o);
                        Transform::Write {
                            options: WriteOptions {
                                user_ids: doc.user_ids.clone(),
                                metadata: doc.roblox_metadata.clone(),
                            },
                            value: doc.to_value(),
                        }
                    })
                    .await;
                written.map(|entry| (entry, outcome))
            };
            if inner.crashed() {
                return Ok(None);
            }
            match result {
                Ok((
                    Some(entry),
                    Some(StartOutcome::Active {
                        load_count,
                        overwritten,
                    }),
                )) => {
                    if overwritten {
                        let _ = inner.events.send(EngineEvent::Overwrite {
                            store: self.name.clone(),
                            key: key.to_owned(),
                        });
                    }
                    let profile = profile::activate(self, key, me, load_count, entry)?;
                    return Ok(Some(profile));
                }
                Ok((_, Some(StartOutcome::Waiting { owner, load_count }))) => {
                    if let Some(session_id) = &owner.session_id {
                        Request::end_session(load_count)
                            .send(&inner.bus, session_id)
                            .await;
                    }
                    let wait = if repeats == 0 {
                        inner.config.first_load_repeat
                    } else {
                        inner.config.load_repeat_period
                    };
                    repeats += 1;
                    notices.wait(wait).await;
                }
                Ok(_) => return Ok(None),
                Err(e) => {
                    tracing::warn!(store = %self.name, key, error = %e, "start session attempt failed");
                    inner.report_error(&self.name, key, e.to_string());
                    let delay = backoff.fail();
                    let timed_out = options.cancel.is_none()
                        && started.elapsed() + delay > inner.config.start_session_timeout;
                    if timed_out {
                        return Ok(None);
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}
