//! The session host: the engine run on behalf of game servers in other
//! processes and languages (the session API's model; HTTP is in
//! `http::session_api`).
//!
//! Owns: one [`Engine`] per remote game server (universe, job id), its open
//! sessions, its event log (session ending/ended, messages) and its lease.
//! Invariants:
//! - every call that names a session carries the load count it was started
//!   with, and is refused with [`SessionError::Ended`] (none is active)
//!   or [`SessionError::Stale`] (another is), nothing written, unless that
//!   session is still active here with that count;
//! - a game server that makes no call for longer than the lease (of the
//!   host's clock; a call in progress counts as one) loses its
//!   sessions as a crashed Roblox server does: no final save, the locks
//!   stay until another server steals them;
//! - shutdown (a [`CancellationToken`]) refuses new game servers, ends
//!   every session with its final save before storage is flushed, and
//!   waits for the host's own tasks (the lease reaper, a [`TaskTracker`]);
//! - no lock guard is held across an `.await` (`parking_lot` locks, never
//!   poisoned).
//!
//! The JSON of every answer and event is typed in [`wire`].

mod events;
mod server;
pub mod wire;

pub use events::EventLog;
pub use server::{Busy, GameServer};

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::MessageBus;
use crate::datastore::DataStoreService;
use crate::engine::{Engine, EngineConfig, EngineError, ProfileStore};

/// Why a session API call was refused.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No session of that store and key is open for this game server.
    #[error("no active session of `{key}` in `{store}` for this game server; start one first")]
    NotFound {
        /// Store name.
        store: String,
        /// Key.
        key: String,
    },
    /// No session of that store and key is active for this game server, so
    /// the caller's load count names none: it ended (released, taken over
    /// by another game server, its lease expired, the server shut down) or
    /// was never started here. Nothing was written.
    #[error("no session of `{key}` in `{store}` is active for this game server, so load count {given} names none: the session ended (released, taken over by another game server, or its lease expired) or was never started here; nothing was written: start a new session")]
    Ended {
        /// Store name.
        store: String,
        /// Key.
        key: String,
        /// The load count the caller sent.
        given: u64,
    },
    /// Another session of that store and key, with another load count, is
    /// active for this game server: the caller's was taken over (it ended
    /// and a newer one started). Nothing was written.
    #[error("load count {given} is not the active session of `{key}` in `{store}`: another session of this game server (load count {active}) holds it, so yours was taken over; nothing was written: use load count {active}, or end that session and start again")]
    Stale {
        /// Store name.
        store: String,
        /// Key.
        key: String,
        /// The load count the caller sent.
        given: u64,
        /// The active session's load count.
        active: u64,
    },
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The server is shutting down.
    #[error("the profilestore server is shutting down; retry against its replacement")]
    Closing,
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Settings of the session host.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// The engine constants every hosted game server uses.
    pub engine: EngineConfig,
    /// How long a game server may stay silent before it counts as crashed.
    pub lease: Duration,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            engine: EngineConfig::default(),
            lease: Duration::from_secs(60),
        }
    }
}

/// The session host; clones share it.
#[derive(Clone, Debug)]
pub struct SessionHost {
    inner: Arc<HostInner>,
}

#[derive(Debug)]
struct HostInner {
    datastores: DataStoreService,
    bus: MessageBus,
    config: HostConfig,
    servers: Mutex<HashMap<(u64, String), Arc<GameServer>>>,
    /// An engine for calls that need no game server (messages, reads).
    api: Mutex<HashMap<u64, Engine>>,
    closing: CancellationToken,
    tasks: TaskTracker,
}

/// The fields of a session update.
#[derive(Debug, Default)]
pub struct Patch {
    /// New `Data`.
    pub data: Option<Value>,
    /// New `RobloxMetaData`.
    pub metadata: Option<Map<String, Value>>,
    /// New user ids.
    pub user_ids: Option<Vec<i64>>,
}

impl SessionHost {
    /// A host over the server's own DataStore service and bus.
    pub fn new(datastores: DataStoreService, bus: MessageBus, config: HostConfig) -> Self {
        SessionHost {
            inner: Arc::new(HostInner {
                datastores,
                bus,
                config,
                servers: Mutex::default(),
                api: Mutex::default(),
                closing: CancellationToken::new(),
                tasks: TaskTracker::new(),
            }),
        }
    }

    /// The lease.
    pub fn lease(&self) -> Duration {
        self.inner.config.lease
    }

    fn now_ms(&self) -> i64 {
        self.inner.datastores.clock().now_ms()
    }

    /// The game server `(universe, job)`, created on first use; every call
    /// renews its lease.
    pub fn server(
        &self,
        universe: u64,
        place_id: u64,
        job: &str,
    ) -> Result<Arc<GameServer>, SessionError> {
        if self.inner.closing.is_cancelled() {
            return Err(SessionError::Closing);
        }
        if job.is_empty() || job.len() > 100 {
            return Err(SessionError::BadRequest(
                "the job id must be 1 to 100 characters".into(),
            ));
        }
        let mut servers = self.inner.servers.lock();
        let server = servers
            .entry((universe, job.to_owned()))
            .or_insert_with(|| {
                tracing::info!(universe, place_id, job, "game server joined");
                Arc::new(GameServer::new(Engine::new(
                    self.inner.datastores.clone(),
                    self.inner.bus.clone(),
                    universe,
                    place_id,
                    job,
                    self.inner.config.engine.clone(),
                )))
            })
            .clone();
        server.last_seen_ms.store(self.now_ms(), Ordering::SeqCst);
        Ok(server)
    }

    /// Renews `server`'s lease.
    pub fn touch(&self, server: &GameServer) {
        server.last_seen_ms.store(self.now_ms(), Ordering::SeqCst);
    }

    /// An existing game server (renewing its lease), or `None`.
    pub fn existing(&self, universe: u64, job: &str) -> Option<Arc<GameServer>> {
        let server = self
            .inner
            .servers
            .lock()
            .get(&(universe, job.to_owned()))
            .cloned()?;
        server.last_seen_ms.store(self.now_ms(), Ordering::SeqCst);
        Some(server)
    }

    /// A store of the host's own engine for `universe` (messages, reads and
    /// `SetAsync`, which need no game server).
    pub fn api_store(&self, universe: u64, name: &str) -> Result<ProfileStore, SessionError> {
        let engine = self
            .inner
            .api
            .lock()
            .entry(universe)
            .or_insert_with(|| {
                Engine::new(
                    self.inner.datastores.clone(),
                    self.inner.bus.clone(),
                    universe,
                    0,
                    "profilestore-session-api",
                    self.inner.config.engine.clone(),
                )
            })
            .clone();
        Ok(engine.store(name, Value::Object(Map::new()))?)
    }

    /// Ends game server `job`'s sessions with their final saves and forgets
    /// it (the game server is shutting down).
    pub async fn remove_server(&self, universe: u64, job: &str) -> bool {
        let server = self
            .inner
            .servers
            .lock()
            .remove(&(universe, job.to_owned()));
        match server {
            Some(s) => {
                s.engine.shutdown().await;
                true
            }
            None => false,
        }
    }

    /// Drops game server `job` without final saves (as a crashed server),
    /// when its sessions belong elsewhere now (another cluster node adopted
    /// it); returns whether it was here.
    pub fn abandon(&self, universe: u64, job: &str) -> bool {
        let server = self
            .inner
            .servers
            .lock()
            .remove(&(universe, job.to_owned()));
        match server {
            Some(s) => {
                s.engine.crash();
                true
            }
            None => false,
        }
    }

    /// How many game servers the host holds, and how many active sessions
    /// they have (what the dashboard's overview shows).
    pub fn live_counts(&self) -> (usize, usize) {
        let servers: Vec<Arc<GameServer>> = self.inner.servers.lock().values().cloned().collect();
        let sessions = servers.iter().map(|s| s.active_sessions()).sum();
        (servers.len(), sessions)
    }

    /// Drops every game server silent for longer than the lease, without
    /// final saves (as a crashed server); returns how many.
    pub fn expire(&self) -> usize {
        let cutoff = self.now_ms() - i64::try_from(self.lease().as_millis()).unwrap_or(i64::MAX);
        let expired: Vec<((u64, String), Arc<GameServer>)> = {
            let mut servers = self.inner.servers.lock();
            let keys: Vec<(u64, String)> = servers
                .iter()
                .filter(|(_, s)| {
                    s.busy.load(Ordering::SeqCst) == 0
                        && s.last_seen_ms.load(Ordering::SeqCst) < cutoff
                })
                .map(|(k, _)| k.clone())
                .collect();
            keys.into_iter()
                .filter_map(|k| servers.remove(&k).map(|s| (k, s)))
                .collect()
        };
        for ((universe, job), server) in &expired {
            tracing::warn!(
                universe,
                job,
                "game server lease expired; its sessions are dropped without a final save"
            );
            server.engine.crash();
        }
        expired.len()
    }

    /// Runs [`expire`](Self::expire) every quarter lease until shutdown
    /// (a task of the host's tracker: [`shutdown`](Self::shutdown) waits
    /// for it).
    pub fn spawn_reaper(&self) -> tokio::task::JoinHandle<()> {
        let host = self.clone();
        let closing = self.inner.closing.clone();
        self.inner.tasks.spawn(async move {
            let every = (host.lease() / 4).max(Duration::from_millis(10));
            loop {
                tokio::select! {
                    () = host.inner.datastores.clock().sleep(every) => { host.expire(); }
                    () = closing.cancelled() => return,
                }
            }
        })
    }

    /// Ends every session of every game server with its final save, then
    /// waits for the host's tasks.
    pub async fn shutdown(&self) {
        self.inner.closing.cancel();
        let servers: Vec<Arc<GameServer>> =
            self.inner.servers.lock().drain().map(|(_, s)| s).collect();
        for s in servers {
            s.engine.shutdown().await;
        }
        let api: Vec<Engine> = self.inner.api.lock().drain().map(|(_, e)| e).collect();
        for e in api {
            e.shutdown().await;
        }
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }
}
