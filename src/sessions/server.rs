//! One remote game server of the session host: its engine, open
//! sessions, event log and lease clock.
//!
//! Owns: [`GameServer`]: starting sessions (and turning their callbacks
//! into events), the load-count fence, session updates. Invariants: a
//! session is found only with the load count it was started with while it
//! is active; an ended session leaves the table only if it is still the
//! one that ended (a newer session of the key stays); no lock guard is
//! held across an `.await`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;

use super::wire::{EndReasonView, Event, EventKind, ProfileView};
use super::{EventLog, Patch, SessionError};
use crate::engine::{Engine, Profile, ProfileStore, StartOptions};

/// One remote game server.
#[derive(Debug)]
pub struct GameServer {
    pub(super) engine: Engine,
    stores: Mutex<HashMap<String, ProfileStore>>,
    sessions: Mutex<HashMap<(String, String), Profile>>,
    /// Its events, read by long-poll or SSE.
    pub events: EventLog,
    pub(super) last_seen_ms: AtomicI64,
    /// Calls in progress ([`GameServer::busy`]): a game server in the
    /// middle of a call (a start waiting for a lock, a long-poll) is not
    /// silent, however far the clock moves meanwhile.
    pub(super) busy: AtomicUsize,
}

/// A call of a game server in progress; when it ends the lease restarts.
#[derive(Debug)]
pub struct Busy<'s>(&'s GameServer);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        // The lease first: a reaper that sees no call sees this one's end.
        let now = self.0.engine.clock().now_ms();
        self.0.last_seen_ms.store(now, Ordering::SeqCst);
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

impl GameServer {
    /// A game server on `engine` with no sessions yet.
    pub(super) fn new(engine: Engine) -> Self {
        GameServer {
            engine,
            stores: Mutex::default(),
            sessions: Mutex::default(),
            events: EventLog::new(1000),
            last_seen_ms: AtomicI64::new(0),
            busy: AtomicUsize::new(0),
        }
    }

    /// How many of its sessions are active.
    pub fn active_sessions(&self) -> usize {
        self.sessions
            .lock()
            .values()
            .filter(|p| p.is_active())
            .count()
    }

    /// Marks a call in progress until the guard drops (its lease does not
    /// run out meanwhile).
    pub fn busy(&self) -> Busy<'_> {
        self.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self)
    }

    fn store(&self, name: &str, template: Value) -> Result<ProfileStore, SessionError> {
        if let Some(s) = self.stores.lock().get(name) {
            return Ok(s.clone());
        }
        let store = self.engine.store(name, template)?;
        self.stores.lock().insert(name.to_owned(), store.clone());
        Ok(store)
    }

    /// `StartSessionAsync`: the profile's view, or `None` when it could not
    /// be had in time (another server keeps it).
    pub async fn start(
        self: &Arc<Self>,
        store_name: &str,
        key: &str,
        template: Value,
        steal: bool,
        timeout: Option<Duration>,
    ) -> Result<Option<ProfileView>, SessionError> {
        let _busy = self.busy();
        let store = self.store(store_name, template)?;
        let cancel = timeout.map(|t| {
            let clock = self.engine_clock();
            let deadline = clock.now_ms() + i64::try_from(t.as_millis()).unwrap_or(i64::MAX);
            let f: crate::engine::store::CancelFn = Arc::new(move || clock.now_ms() >= deadline);
            f
        });
        let options = StartOptions { steal, cancel };
        let Some(profile) = store.start_session(key, options).await? else {
            return Ok(None);
        };
        self.watch(store_name, &profile);
        self.sessions
            .lock()
            .insert((store_name.to_owned(), key.to_owned()), profile.clone());
        Ok(Some(ProfileView::of(store_name, &profile)))
    }

    fn engine_clock(&self) -> crate::clock::Clock {
        self.engine.clock()
    }

    /// Turns the profile's events into entries of this server's event log.
    fn watch(self: &Arc<Self>, store: &str, profile: &Profile) {
        let event = {
            let (store, key) = (store.to_owned(), profile.key().to_owned());
            let load_count = profile.session_load_count();
            move |kind| Event {
                store: store.clone(),
                key: key.clone(),
                load_count,
                kind,
            }
        };
        let weak = Arc::downgrade(self);
        let make = event.clone();
        profile.message_handler(move |message, processed| {
            if let Some(server) = weak.upgrade() {
                let kind = EventKind::Message {
                    index: processed.index(),
                    message: message.clone(),
                };
                server.events.push(make(kind).to_value());
            }
        });
        let weak = Arc::downgrade(self);
        let make = event.clone();
        profile.on_last_save(move |reason| {
            if let Some(server) = weak.upgrade() {
                let kind = EventKind::SessionEnding {
                    reason: EndReasonView::from(reason),
                };
                server.events.push(make(kind).to_value());
            }
        });
        let weak = Arc::downgrade(self);
        let ended = event(EventKind::SessionEnded).to_value();
        let (store, key, count) = (
            store.to_owned(),
            profile.key().to_owned(),
            profile.session_load_count(),
        );
        profile.on_session_end(move |()| {
            if let Some(server) = weak.upgrade() {
                let mut sessions = server.sessions.lock();
                let slot = (store.clone(), key.clone());
                if sessions
                    .get(&slot)
                    .is_some_and(|p| p.session_load_count() == count)
                {
                    sessions.remove(&slot);
                }
                drop(sessions);
                server.events.push(ended.clone());
            }
        });
    }

    /// The active session of `store`/`key` if its load count is `load_count`.
    pub fn session(
        &self,
        store: &str,
        key: &str,
        load_count: u64,
    ) -> Result<Profile, SessionError> {
        let profile = self
            .sessions
            .lock()
            .get(&(store.to_owned(), key.to_owned()))
            .cloned();
        match profile {
            Some(p) if p.session_load_count() == load_count && p.is_active() => Ok(p),
            Some(p) if p.is_active() => Err(SessionError::Stale {
                store: store.to_owned(),
                key: key.to_owned(),
                given: load_count,
                active: p.session_load_count(),
            }),
            // Ending (its final save under way), ended, or never started.
            _ => Err(SessionError::Ended {
                store: store.to_owned(),
                key: key.to_owned(),
                given: load_count,
            }),
        }
    }

    /// The active session of `store`/`key`, whatever its load count.
    pub fn current(&self, store: &str, key: &str) -> Result<Profile, SessionError> {
        self.sessions
            .lock()
            .get(&(store.to_owned(), key.to_owned()))
            .filter(|p| p.is_active())
            .cloned()
            .ok_or_else(|| SessionError::NotFound {
                store: store.to_owned(),
                key: key.to_owned(),
            })
    }

    /// Replaces data, metadata and/or user ids of a fenced session.
    pub fn patch(&self, profile: &Profile, patch: Patch) -> Result<(), SessionError> {
        if let Some(data) = patch.data {
            if !data.is_object() {
                return Err(SessionError::BadRequest(
                    "`data` must be a JSON object".into(),
                ));
            }
            profile.update_data(|d| *d = data)?;
        }
        if let Some(metadata) = patch.metadata {
            profile.set_roblox_metadata(metadata)?;
        }
        if let Some(ids) = patch.user_ids {
            for old in profile.user_ids() {
                if !ids.contains(&old) {
                    profile.remove_user_id(old)?;
                }
            }
            for id in ids {
                profile.add_user_id(id)?;
            }
        }
        Ok(())
    }
}
