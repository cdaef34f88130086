//! Engine-wide events and the critical state.
//!
//! Owns: [`EngineEvent`] (overwrites, DataStore errors, critical state) and
//! the critical-state rule: enter when `CRITICAL_STATE_ERROR_COUNT` errors
//! happened within `CRITICAL_STATE_ERROR_EXPIRE`; leave once fewer errors
//! are in that window for `CRITICAL_STATE_EXPIRE`. Invariants: time is
//! tokio's (simulated in tests); enter and leave events alternate.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Something that happened in an engine (the module-level signals of
/// ProfileStore).
#[derive(Clone, Debug, PartialEq)]
pub enum EngineEvent {
    /// A stored value was not a profile and was replaced (`OnOverwrite`).
    Overwrite {
        /// Store name.
        store: String,
        /// Key.
        key: String,
    },
    /// A DataStore call failed (`OnError`).
    Error {
        /// The error.
        message: String,
        /// Store name.
        store: String,
        /// Key.
        key: String,
    },
    /// Critical state entered (`true`) or left (`false`) (`OnCriticalToggle`).
    CriticalState(bool),
}

/// Error-rate bookkeeping for the critical state.
#[derive(Debug)]
pub(crate) struct Critical {
    errors: VecDeque<Instant>,
    active: bool,
    calm_since: Option<Instant>,
    count: usize,
    error_expire: Duration,
    expire: Duration,
}

impl Critical {
    pub(crate) fn new(count: usize, error_expire: Duration, expire: Duration) -> Self {
        Critical {
            errors: VecDeque::new(),
            active: false,
            calm_since: None,
            count: count.max(1),
            error_expire,
            expire,
        }
    }

    fn prune(&mut self, now: Instant) {
        while self
            .errors
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.error_expire)
        {
            self.errors.pop_front();
        }
    }

    /// Records an error; returns `Some(true)` when this enters critical state.
    pub(crate) fn record(&mut self, now: Instant) -> Option<bool> {
        self.errors.push_back(now);
        self.poll(now)
    }

    /// Re-evaluates; returns the new state when it changed.
    pub(crate) fn poll(&mut self, now: Instant) -> Option<bool> {
        self.prune(now);
        let busy = self.errors.len() >= self.count;
        if !self.active {
            if busy {
                self.active = true;
                self.calm_since = None;
                return Some(true);
            }
            return None;
        }
        if busy {
            self.calm_since = None;
            return None;
        }
        let since = *self.calm_since.get_or_insert(now);
        if now.duration_since(since) >= self.expire {
            self.active = false;
            self.calm_since = None;
            return Some(false);
        }
        None
    }

    pub(crate) fn is_active(&self) -> bool {
        self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn enters_at_the_count_and_leaves_after_calm() {
        let mut c = Critical::new(3, Duration::from_secs(120), Duration::from_secs(120));
        let t0 = Instant::now();
        assert_eq!(c.record(t0), None);
        assert_eq!(c.record(t0 + Duration::from_secs(1)), None);
        assert_eq!(c.record(t0 + Duration::from_secs(2)), Some(true));
        assert!(c.is_active());
        // Errors expire after 120 s; calm must then last 120 s more.
        assert_eq!(c.poll(t0 + Duration::from_secs(123)), None);
        assert_eq!(c.poll(t0 + Duration::from_secs(200)), None);
        assert_eq!(c.poll(t0 + Duration::from_secs(243)), Some(false));
        assert!(!c.is_active());
    }

    #[tokio::test(start_paused = true)]
    async fn old_errors_do_not_count() {
        let mut c = Critical::new(2, Duration::from_secs(10), Duration::from_secs(10));
        let t0 = Instant::now();
        c.record(t0);
        assert_eq!(c.record(t0 + Duration::from_secs(11)), None);
    }
}
