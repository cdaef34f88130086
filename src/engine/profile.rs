//! An active profile: its data, saves, end of session and events.
//!
//! Owns: [`Profile`] (data, metadata, user ids, callbacks), saving through
//! the fenced transform, and the end of a session. The task that serves a
//! session (requests on `PS_<session>`, end requests, shutdown, the final
//! save) is in `profile/task.rs`, the message queue in
//! `profile/messages.rs`, end requests and the end in `profile/ending.rs`.
//! `Data` and `LastSavedData` share one copy until `Data` changes. Invariants: data can only be changed while the
//! session is active and its final save has not copied it yet (otherwise
//! [`EngineError::SessionInactive`]); every save runs in the key's queue; a
//! session that lost its fence ends at once without a final save and
//! without the last-save event; `close` runs once; no lock is held across
//! an `.await` and user callbacks run without any lock held.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Map, Value};

use super::config::EngineError;
use super::document::{classify, SessionOwner};
use super::session::{self, SaveOutcome, SaveRequest};
use super::state::EngineState;
use crate::datastore::{DataStore, KeyInfo, Transform, WriteOptions};

mod ending;
mod messages;
mod task;

pub use messages::Processed;
pub(crate) use task::activate;

/// The engine state as profiles (and everything above them) see it.
pub(crate) type Shared = EngineState<Profile>;

/// Why a session ended with a final save (`OnLastSave`'s reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The code ended the session.
    Manual,
    /// Another server asked for the profile.
    External,
    /// The server is shutting down.
    Shutdown,
}

type Callback<T> = Arc<dyn Fn(&T) + Send + Sync>;
type MutCallback<T> = Arc<dyn Fn(&mut T) + Send + Sync>;
type Handler = Arc<dyn Fn(&Value, &Processed) + Send + Sync>;

/// Where a session lives: its store (name, template, DataStore, real or
/// mock) and key.
pub(crate) struct Target {
    pub(crate) store: String,
    pub(crate) template: Arc<Value>,
    pub(crate) ds: Arc<DataStore>,
    pub(crate) mock: bool,
    pub(crate) key: String,
}

#[derive(Default)]
struct Callbacks {
    handlers: Vec<Handler>,
    before_save: Vec<MutCallback<Value>>,
    last_save: Vec<Callback<EndReason>>,
    session_end: Vec<Callback<()>>,
    after_save: Vec<Callback<Value>>,
}

struct SessionState {
    /// Shared with `last_saved_data` until the first change after a save
    /// (copy on write): an unchanged profile holds its data once.
    data: Arc<Value>,
    last_saved_data: Arc<Value>,
    roblox_metadata: Map<String, Value>,
    user_ids: Vec<i64>,
    key_info: KeyInfo,
    active: bool,
    /// Known messages nobody processed yet, oldest first.
    pending: Vec<(u64, Value)>,
    /// Messages processed locally, removed from storage by the next save.
    processed: Vec<u64>,
    /// Highest message index seen.
    seen_index: u64,
    /// The final save has taken its copy of the data: from then on changes
    /// are refused, since no later write would carry them (they would be
    /// lost without a word).
    final_copy: bool,
}

impl SessionState {
    /// Whether `Data`, metadata and user ids may still change.
    fn writable(&self) -> bool {
        self.active && !self.final_copy
    }
}

struct ProfileInner {
    engine: Arc<Shared>,
    target: Target,
    qkey: String,
    session: SessionOwner,
    load_count: u64,
    activation_seq: u64,
    loaded_at: tokio::time::Instant,
    first_session_time: Value,
    state: Mutex<SessionState>,
    callbacks: Mutex<Callbacks>,
    ending: ending::Ending,
    /// Set once by `close`: the session-end work runs exactly once.
    closed: AtomicBool,
}

/// An active (or ended) profile session. Cheap to clone.
#[derive(Clone)]
pub struct Profile {
    inner: Arc<ProfileInner>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("store", &self.inner.target.store)
            .field("key", &self.inner.target.key)
            .field("load_count", &self.inner.load_count)
            .field("active", &self.is_active())
            .finish()
    }
}

impl super::state::Activated for Profile {
    fn activation_seq(&self) -> u64 {
        self.inner.activation_seq
    }
}

impl Profile {
    /// The profile's key.
    pub fn key(&self) -> &str {
        &self.inner.target.key
    }

    /// Whether this server still holds the session.
    pub fn is_active(&self) -> bool {
        self.inner.state.lock().active
    }

    /// `SessionLoadCount` of this session (its fence).
    pub fn session_load_count(&self) -> u64 {
        self.inner.load_count
    }

    /// `FirstSessionTime` (`ProfileCreateTime`, Unix seconds).
    pub fn first_session_time(&self) -> Value {
        self.inner.first_session_time.clone()
    }

    /// The session's GUID (its messaging topic is `PS_<guid>`).
    pub fn session_id(&self) -> &str {
        self.inner.session.session_id.as_deref().unwrap_or_default()
    }

    /// How long this session has been active.
    pub(crate) fn loaded_for(&self) -> Duration {
        let now = self.inner.engine.clock().instant();
        now.saturating_duration_since(self.inner.loaded_at)
    }

    /// A regular save from the auto-save loop.
    pub(crate) async fn auto_save(&self) -> Result<(), EngineError> {
        self.save_inner(false).await
    }

    /// A copy of `Data`.
    pub fn data(&self) -> Value {
        Value::clone(&self.inner.state.lock().data)
    }

    /// A copy of `LastSavedData`: the `Data` last written.
    pub fn last_saved_data(&self) -> Value {
        Value::clone(&self.inner.state.lock().last_saved_data)
    }

    /// The key info of the last write.
    pub fn key_info(&self) -> KeyInfo {
        self.inner.state.lock().key_info.clone()
    }

    /// `UserIds`.
    pub fn user_ids(&self) -> Vec<i64> {
        self.inner.state.lock().user_ids.clone()
    }

    /// Changes `Data` while the session is active; refused once the final
    /// save has copied the data (the change could not be saved any more).
    pub fn update_data<R>(&self, change: impl FnOnce(&mut Value) -> R) -> Result<R, EngineError> {
        let mut state = self.inner.state.lock();
        if !state.writable() {
            return Err(EngineError::SessionInactive(self.inner.target.key.clone()));
        }
        Ok(change(Arc::make_mut(&mut state.data)))
    }

    /// `Session`: `(PlaceId, JobId)` of the owner, this server.
    pub fn session(&self) -> (u64, &str) {
        (self.inner.engine.place_id(), self.inner.engine.job_id())
    }

    /// `RobloxMetaData`.
    pub fn roblox_metadata(&self) -> Map<String, Value> {
        self.inner.state.lock().roblox_metadata.clone()
    }

    /// Replaces `RobloxMetaData` (saved as the key's metadata); refused when
    /// it breaks the DataStore metadata limits.
    pub fn set_roblox_metadata(&self, metadata: Map<String, Value>) -> Result<(), EngineError> {
        crate::datastore::validate::metadata(&metadata)?;
        let mut s = self.inner.state.lock();
        if !s.writable() {
            return Err(EngineError::SessionInactive(self.inner.target.key.clone()));
        }
        s.roblox_metadata = metadata;
        Ok(())
    }

    /// `AddUserId(id)`: no duplicates; at most 4 (the DataStore limit).
    pub fn add_user_id(&self, id: i64) -> Result<(), EngineError> {
        let mut s = self.inner.state.lock();
        if !s.writable() {
            return Err(EngineError::SessionInactive(self.inner.target.key.clone()));
        }
        if !s.user_ids.contains(&id) {
            let mut ids = s.user_ids.clone();
            ids.push(id);
            crate::datastore::validate::user_ids(&ids)?;
            s.user_ids = ids;
        }
        Ok(())
    }

    /// `RemoveUserId(id)`.
    pub fn remove_user_id(&self, id: i64) -> Result<(), EngineError> {
        let mut s = self.inner.state.lock();
        if !s.writable() {
            return Err(EngineError::SessionInactive(self.inner.target.key.clone()));
        }
        s.user_ids.retain(|u| *u != id);
        Ok(())
    }

    /// `Reconcile()`: fills keys missing from `Data` from the store's
    /// template, recursively (string keys only, deep copies); never changes
    /// a value that is there.
    pub fn reconcile(&self) -> Result<(), EngineError> {
        let template = Arc::clone(&self.inner.target.template);
        self.update_data(|data| reconcile(data, &template))
    }

    /// `Data` as a typed value.
    pub fn data_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, EngineError> {
        serde_json::from_value(self.data()).map_err(|e| EngineError::DataShape(e.to_string()))
    }

    /// Replaces `Data` with a typed value while the session is active.
    pub fn set_data_from<T: serde::Serialize>(&self, data: &T) -> Result<(), EngineError> {
        let value =
            serde_json::to_value(data).map_err(|e| EngineError::DataShape(e.to_string()))?;
        self.update_data(|d| *d = value)
    }

    /// `OnSave`: runs right before every save; may change `Data`.
    pub fn on_save(&self, f: impl Fn(&mut Value) + Send + Sync + 'static) {
        self.inner.callbacks.lock().before_save.push(Arc::new(f));
    }

    /// `OnLastSave`: runs right before the final save, with its reason.
    pub fn on_last_save(&self, f: impl Fn(&EndReason) + Send + Sync + 'static) {
        self.inner.callbacks.lock().last_save.push(Arc::new(f));
    }

    /// `OnSessionEnd`: runs when the session stops being active.
    pub fn on_session_end(&self, f: impl Fn(&()) + Send + Sync + 'static) {
        self.inner.callbacks.lock().session_end.push(Arc::new(f));
    }

    /// `OnAfterSave`: runs after every successful write with `LastSavedData`.
    pub fn on_after_save(&self, f: impl Fn(&Value) + Send + Sync + 'static) {
        self.inner.callbacks.lock().after_save.push(Arc::new(f));
    }

    /// `Save()`: saves now. Saving an ended session is an error.
    pub async fn save(&self) -> Result<(), EngineError> {
        if !self.is_active() {
            return Err(EngineError::SessionInactive(self.inner.target.key.clone()));
        }
        self.save_inner(false).await
    }

    /// `EndSession()`: a final save with reason `Manual`; waits until the
    /// session has ended.
    pub async fn end_session(&self) {
        if self.inner.ending.request(EndReason::Manual) {
            self.inner.ending.ended().await;
        }
    }

    /// Waits until the session has ended, for whatever reason.
    pub async fn ended(&self) {
        self.inner.ending.ended().await;
    }

    /// One save; `release` makes it the final one.
    async fn save_inner(&self, release: bool) -> Result<(), EngineError> {
        let _turn = self.inner.engine.queue(&self.inner.qkey).await;
        self.save_in_turn(release).await
    }

    /// A save while holding the key's turn in the queue.
    pub(crate) async fn save_in_turn(&self, release: bool) -> Result<(), EngineError> {
        let engine = &self.inner.engine;
        if !self.is_active() {
            return Ok(());
        }
        let before: Vec<_> = self.inner.callbacks.lock().before_save.clone();
        if !before.is_empty() {
            let mut data = self.data();
            for f in &before {
                f(&mut data);
            }
            self.inner.state.lock().data = Arc::new(data);
        }
        let (data, metadata, user_ids, processed) = {
            let mut s = self.inner.state.lock();
            // Taken under the same lock as the copy: a change made after it
            // would be in no write at all. The copy shares the data (no
            // deep copy); a later change copies it on write.
            s.final_copy |= release;
            (
                Arc::clone(&s.data),
                s.roblox_metadata.clone(),
                s.user_ids.clone(),
                s.processed.clone(),
            )
        };
        let request = SaveRequest {
            me: &self.inner.session,
            fence: self.inner.load_count,
            data: &data,
            roblox_metadata: &metadata,
            user_ids: &user_ids,
            processed: &processed,
            release,
            now_secs: engine.clock().now_secs(),
        };
        let mut outcome = None;
        let written = self
            .inner
            .target
            .ds
            .update(&self.inner.target.key, |current, _| {
                if engine.crashed() {
                    return Transform::Cancel;
                }
                let (doc, o) = session::save(classify(current), &request);
                outcome = Some(o);
                match doc {
                    Some(doc) => Transform::Write {
                        options: WriteOptions {
                            user_ids: doc.user_ids.clone(),
                            metadata: doc.roblox_metadata.clone(),
                        },
                        value: doc.to_value(),
                    },
                    None => Transform::Cancel,
                }
            })
            .await
            .inspect_err(|e| {
                engine.report_error(
                    &self.inner.target.store,
                    &self.inner.target.key,
                    e.to_string(),
                );
            })?;
        if engine.crashed() {
            // A dead server fires no events and ends nothing.
            return Ok(());
        }
        match (written, outcome) {
            (Some(entry), Some(SaveOutcome::Saved { asked_for })) => {
                {
                    let mut s = self.inner.state.lock();
                    s.last_saved_data = Arc::clone(&data);
                    s.key_info = entry.info;
                    s.processed.retain(|i| !processed.contains(i));
                }
                if !release {
                    self.discover(&entry.value);
                }
                let after: Vec<_> = self.inner.callbacks.lock().after_save.clone();
                for f in &after {
                    f(&data);
                }
                if asked_for && !release {
                    self.inner.ending.request(EndReason::External);
                }
            }
            _ => {
                // The fence failed: another server owns the profile now. End
                // the session here, not later in its task, so this server can
                // start the key again right away.
                if self.close() {
                    engine
                        .metrics()
                        .session_ended(crate::metrics::SessionEnd::Lost);
                }
                self.inner.ending.request(EndReason::Manual);
            }
        }
        Ok(())
    }

    /// The server crashed: the session is gone, nothing more is written.
    pub(crate) fn crashed(&self) {
        self.inner.state.lock().active = false;
        // Ends it for good: a dead server fires no session end afterwards.
        if !self.inner.closed.swap(true, Ordering::SeqCst) {
            let metrics = self.inner.engine.metrics();
            metrics.session_ended(crate::metrics::SessionEnd::Crashed);
        }
        self.inner.ending.set_ended();
    }

    /// Marks the session ended, unregisters it and fires `OnSessionEnd`;
    /// false when it was closed already (this call did nothing).
    fn close(&self) -> bool {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return false;
        }
        self.inner.state.lock().active = false;
        self.inner.engine.unregister_active(&self.inner.qkey);
        let ends: Vec<_> = self.inner.callbacks.lock().session_end.clone();
        for f in &ends {
            f(&());
        }
        self.inner.ending.set_ended();
        true
    }
}

/// Fills keys of `template` missing from `data`, recursively.
pub fn reconcile(data: &mut Value, template: &Value) {
    let (Value::Object(data), Value::Object(template)) = (data, template) else {
        return;
    };
    for (k, t) in template {
        match data.get_mut(k) {
            None => {
                data.insert(k.clone(), t.clone());
            }
            Some(existing) => reconcile(existing, t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reconcile_fills_only_what_is_missing() {
        let mut data = json!({"Coins": 5, "Settings": {"Music": false}, "Extra": 1});
        let template =
            json!({"Coins": 0, "Gems": 0, "Settings": {"Music": true, "Volume": 1}, "Items": []});
        reconcile(&mut data, &template);
        assert_eq!(
            data,
            json!({"Coins": 5, "Settings": {"Music": false, "Volume": 1}, "Extra": 1, "Gems": 0, "Items": []})
        );
    }
}
