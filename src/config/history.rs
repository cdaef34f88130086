//! `[history]`: the session lock history's settings.
//!
//! Owns: the section's shape, defaults and validation. Invariants: the
//! retention is a positive number of days within the duration range; at
//! least one event is kept per profile; the handoff window is positive.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, MAX_SECONDS};

/// `[history]`: how long the lock history keeps events.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistorySection {
    /// Days an event is kept (default 30).
    pub retention_days: f64,
    /// Events kept per profile, newest (default 1000).
    pub max_events_per_profile: usize,
    /// Seconds after a release another server asked for within which a
    /// take still counts as its handoff (default 60).
    pub handoff_window_secs: f64,
}

impl Default for HistorySection {
    fn default() -> Self {
        HistorySection {
            retention_days: 30.0,
            max_events_per_profile: 1000,
            handoff_window_secs: 60.0,
        }
    }
}

impl HistorySection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: String| Err(ConfigError::Invalid { key, message });
        let max_days = MAX_SECONDS / 86_400.0;
        let d = self.retention_days;
        if !(d.is_finite() && d > 0.0 && d <= max_days) {
            return invalid(
                "history.retention_days",
                format!("{d} is not a positive number of days up to {max_days}"),
            );
        }
        let w = self.handoff_window_secs;
        if !(w.is_finite() && w > 0.0 && w <= MAX_SECONDS) {
            return invalid(
                "history.handoff_window_secs",
                format!("{w} is not a positive number of seconds up to {MAX_SECONDS}"),
            );
        }
        if self.max_events_per_profile == 0 {
            return invalid(
                "history.max_events_per_profile",
                "must be at least 1".into(),
            );
        }
        Ok(())
    }

    /// The history's settings, with the engine's `ASSUME_DEAD` and
    /// `AUTO_SAVE_PERIOD`.
    pub(super) fn config(
        &self,
        engine: &crate::engine::EngineConfig,
    ) -> crate::history::HistoryConfig {
        crate::history::HistoryConfig {
            retention: Duration::from_secs_f64(self.retention_days * 86_400.0),
            max_events: self.max_events_per_profile,
            handoff_window: Duration::from_secs_f64(self.handoff_window_secs),
            assume_dead: engine.assume_dead,
            auto_save_period: engine.auto_save_period,
        }
    }
}
