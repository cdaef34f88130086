//! The engine of one game server and its stores.
//!
//! Owns: [`Engine`] (one Roblox server: place id, job id, a DataStore
//! service and a message bus; its lifecycle: shutdown and crash),
//! [`ProfileStore`] (a named store with a template, or its mock twin, and
//! the DataStore it uses after the access probe) and `MessageAsync`. The
//! session-start loop is in `start.rs`, read-only access in `readonly.rs`,
//! the shared state in `state.rs`. Invariants: a store's DataStore calls
//! for one key go through the engine's queue; a message write retries
//! DataStore errors with the engine's backoff and is saved at once by a
//! local owner (under the same turn) or requested from a remote one; a
//! crashed engine writes nothing more.

use std::sync::Arc;

use serde_json::Value;

use super::config::{EngineConfig, EngineError};
use super::document::{classify, SessionOwner};
use super::events::EngineEvent;
use super::notice::Request;
use super::profile::{Shared, Target};
use super::session;
use super::state::queue_key;
use crate::bus::MessageBus;
use crate::datastore::{DataStore, DataStoreService, Transform, WriteOptions};

pub use super::access::DataStoreState;

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

/// One game server's ProfileStore engine. Several engines sharing one
/// DataStore service and one bus behave as several Roblox servers.
#[derive(Clone, Debug)]
pub struct Engine {
    inner: Arc<Shared>,
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
        Engine {
            inner: Arc::new(Shared::new(
                datastores,
                bus,
                universe,
                place_id,
                job_id.into(),
                config,
            )),
        }
    }

    /// An engine for a game server in another process than the
    /// profilestore server at `url`: its DataStore calls and messages go
    /// over HTTP (Open Cloud v1 and the long-poll subscribe endpoint), on
    /// an adjustable clock reading system time: when a test moves the
    /// server's clock (`Emulator::advance`), it moves this one too
    /// (`engine.clock().advance(by)`). Needs a Tokio runtime.
    pub fn remote(
        url: &str,
        api_key: Option<String>,
        universe: u64,
        place_id: u64,
        job_id: impl Into<String>,
        config: EngineConfig,
    ) -> Result<Self, crate::remote::RemoteError> {
        let client = crate::remote::RemoteClient::new(url, api_key)?;
        let clock = crate::clock::Clock::adjustable();
        let datastores = DataStoreService::remote(client.clone(), clock.clone());
        let bus = MessageBus::remote(client, clock, crate::bus::BusConfig::default());
        Ok(Self::new(
            datastores, bus, universe, place_id, job_id, config,
        ))
    }

    /// The engine's shared state.
    pub(crate) fn state(&self) -> &Arc<Shared> {
        &self.inner
    }

    /// The clock this engine runs on.
    pub fn clock(&self) -> crate::clock::Clock {
        self.inner.clock().clone()
    }

    /// `ProfileStore.New(name, template)`.
    pub fn store(&self, name: &str, template: Value) -> Result<ProfileStore, EngineError> {
        let ds = self
            .inner
            .datastores(false)
            .data_store(self.inner.universe(), name, "global")
            .map_err(|e| EngineError::InvalidName(e.to_string()))?;
        Ok(ProfileStore {
            engine: self.clone(),
            name: name.to_owned(),
            template: Arc::new(template),
            ds: Arc::new(ds),
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
        self.inner.subscribe_events()
    }

    /// Whether the engine is in critical state (too many DataStore errors).
    pub fn is_critical(&self) -> bool {
        self.inner.is_critical()
    }

    /// `DataStoreState`: `NotReady` until the first store call probes access.
    pub fn datastore_state(&self) -> DataStoreState {
        self.inner.access_state()
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
        for p in self.inner.crash() {
            p.crashed();
        }
    }

    /// Shuts the server down: starts return no profile, every active session
    /// ends with a final save of reason `Shutdown`, and this waits for them
    /// (and for the starts in flight).
    pub async fn shutdown(&self) {
        self.inner.shutdown().await;
    }
}

/// A named store with a template (`ProfileStore.New`), or its mock twin.
#[derive(Clone, Debug)]
pub struct ProfileStore {
    engine: Engine,
    name: String,
    template: Arc<Value>,
    /// Shared by the store's sessions (one handle, not one per profile).
    ds: Arc<DataStore>,
    mock: bool,
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
        let inner = self.engine.state();
        let ds = inner
            .datastores(true)
            .data_store(inner.universe(), &self.name, "global")
            .expect("the name was validated");
        ProfileStore {
            ds: Arc::new(ds),
            mock: true,
            ..self.clone()
        }
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The engine's shared state.
    pub(crate) fn state(&self) -> &Arc<Shared> {
        self.engine.state()
    }

    /// The DataStore behind this store.
    pub(crate) fn ds(&self) -> &DataStore {
        &self.ds
    }

    /// The template of new profiles.
    pub(crate) fn template(&self) -> &Value {
        &self.template
    }

    /// Whether this is the `.Mock` twin.
    pub(crate) fn is_mock(&self) -> bool {
        self.mock
    }

    /// Where a session of `key` in this store lives.
    pub(crate) fn target(&self, key: &str) -> Target {
        Target {
            store: self.name.clone(),
            template: Arc::clone(&self.template),
            ds: Arc::clone(&self.ds),
            mock: self.mock,
            key: key.to_owned(),
        }
    }

    /// The DataStore this store uses now: its mock when the engine has no
    /// access to the real one.
    pub(crate) async fn data(&self) -> ProfileStore {
        if self.mock || self.state().access().await == DataStoreState::Access {
            self.clone()
        } else {
            self.mock()
        }
    }

    /// The key of `key` in the engine's call queue and session registry.
    pub(crate) fn queue_key(&self, key: &str) -> String {
        queue_key(&self.name, self.mock, key)
    }

    /// `MessageAsync`: appends `message` to the profile's queue (creating a
    /// messages-only document if there is no profile yet), then has the
    /// owner save soon: this server saves at once; another owner gets a
    /// `{LoadCount}` request. Retries DataStore errors with backoff.
    pub async fn message(&self, key: &str, message: Value) -> Result<(), EngineError> {
        self.data().await.message_in(key, message).await
    }

    async fn message_in(&self, key: &str, message: Value) -> Result<(), EngineError> {
        let inner = self.state();
        crate::datastore::validate::key(key)
            .map_err(|e| EngineError::InvalidName(e.to_string()))?;
        let qkey = self.queue_key(key);
        let cap = inner.config().max_message_queue;
        let mut backoff = inner.backoff(inner.config().max_backoff, &self.name, key);
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
                    if let (Some(_), Some(profile)) = (local, inner.active(&qkey)) {
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
                    inner.clock().sleep(backoff.fail()).await;
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
            Request::save(load_count).send(inner.bus(), &id).await;
        }
        Ok(())
    }
}
