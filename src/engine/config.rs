//! The engine's constants and errors.
//!
//! Owns: [`EngineConfig`] (every ProfileStore constant, with the Luau
//! module's defaults) and [`EngineError`]. Invariant: nothing in the engine
//! hard-codes a duration; it reads them from here.

use std::time::Duration;

use crate::datastore::DataStoreError;

/// ProfileStore's constants.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineConfig {
    /// `AUTO_SAVE_PERIOD` (300 s).
    pub auto_save_period: Duration,
    /// `LOAD_REPEAT_PERIOD` (10 s).
    pub load_repeat_period: Duration,
    /// `FIRST_LOAD_REPEAT` (5 s).
    pub first_load_repeat: Duration,
    /// `SESSION_STEAL` (40 s).
    pub session_steal: Duration,
    /// `ASSUME_DEAD` (630 s).
    pub assume_dead: Duration,
    /// `START_SESSION_TIMEOUT` (120 s).
    pub start_session_timeout: Duration,
    /// Largest backoff between failed DataStore calls (20 s).
    pub max_backoff: Duration,
    /// Largest backoff of a final save while shutting down (8 s).
    pub max_backoff_closing: Duration,
    /// An owner answers force-load and save requests at most this often (6 s).
    pub message_response_interval: Duration,
    /// `MAX_MESSAGE_QUEUE` (1000).
    pub max_message_queue: usize,
    /// `CRITICAL_STATE_ERROR_COUNT` (5).
    pub critical_state_error_count: usize,
    /// `CRITICAL_STATE_ERROR_EXPIRE` (120 s).
    pub critical_state_error_expire: Duration,
    /// `CRITICAL_STATE_EXPIRE` (120 s).
    pub critical_state_expire: Duration,
    /// Publish a release notice when ending a session another server asked
    /// for, so it retries at once (profilestore's improvement; off = the
    /// Luau module's behaviour).
    pub release_notice: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            auto_save_period: Duration::from_secs(300),
            load_repeat_period: Duration::from_secs(10),
            first_load_repeat: Duration::from_secs(5),
            session_steal: Duration::from_secs(40),
            assume_dead: Duration::from_secs(630),
            start_session_timeout: Duration::from_secs(120),
            max_backoff: Duration::from_secs(20),
            max_backoff_closing: Duration::from_secs(8),
            message_response_interval: Duration::from_secs(6),
            max_message_queue: 1000,
            critical_state_error_count: 5,
            critical_state_error_expire: Duration::from_secs(120),
            critical_state_expire: Duration::from_secs(120),
            release_notice: true,
        }
    }
}

impl EngineConfig {
    /// `ceil(SESSION_STEAL / LOAD_REPEAT_PERIOD)`: repeats before a steal.
    pub fn steal_after_repeats(&self) -> u32 {
        let steal = self.session_steal.as_secs_f64();
        let repeat = self.load_repeat_period.as_secs_f64().max(f64::EPSILON);
        (steal / repeat).ceil() as u32
    }
}

/// Why an engine call failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A session for this key is already active on this server (a
    /// programming error in the caller, as in the Luau module).
    #[error("a session for key `{key}` of store `{store}` is already active on this server; end it first")]
    AlreadyActive {
        /// Store name.
        store: String,
        /// Key.
        key: String,
    },
    /// The profile's session ended: its data can no longer be changed or saved.
    #[error(
        "the session of key `{0}` is no longer active: start a new session to change its data"
    )]
    SessionInactive(String),
    /// The store name or key is invalid.
    #[error("invalid store name or key: {0}")]
    InvalidName(String),
    /// `Data` does not have the shape of the requested type.
    #[error("profile data does not match the requested type: {0}")]
    DataShape(String),
    /// The DataStore failed (or refused a value, e.g. metadata over its limit).
    #[error(transparent)]
    DataStore(#[from] DataStoreError),
}
