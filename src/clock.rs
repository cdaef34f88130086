//! The one place profilestore takes time from.
//!
//! Owns: wall-clock readings ([`Clock::now_ms`]) and sleeping
//! ([`Clock::sleep`]). Invariants: every time-based behaviour (auto-save,
//! steals, assume-dead, backoff, version retention) reads this clock, so a
//! test can run the real algorithm on simulated time:
//! - [`Clock::tokio`] derives wall time from tokio's clock, so under
//!   `tokio::time::pause()` both sleeping and wall time advance together and
//!   a 630 s assume-dead test takes milliseconds;
//! - [`Clock::manual`] is moved by hand, for synchronous tests (retention).
//!
//! Sleeping always uses tokio's timer, which tests pause.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A cloneable handle on a wall clock.
#[derive(Clone)]
pub struct Clock {
    source: Source,
}

#[derive(Clone)]
enum Source {
    System,
    Tokio {
        origin: tokio::time::Instant,
        start_ms: i64,
    },
    Manual(Arc<AtomicI64>),
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.source {
            Source::System => "system",
            Source::Tokio { .. } => "tokio",
            Source::Manual(_) => "manual",
        };
        write!(f, "Clock({kind}, now_ms={})", self.now_ms())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// The operating system's clock.
    pub fn system() -> Self {
        Clock {
            source: Source::System,
        }
    }

    /// A wall clock reading `start_ms` now and following tokio's clock from
    /// here on (paused and advanced in tests). Must be called inside a tokio
    /// runtime.
    pub fn tokio(start_ms: i64) -> Self {
        Clock {
            source: Source::Tokio {
                origin: tokio::time::Instant::now(),
                start_ms,
            },
        }
    }

    /// A clock that only moves when told to, with its handle.
    pub fn manual(start_ms: i64) -> (Self, ManualClock) {
        let cell = Arc::new(AtomicI64::new(start_ms));
        (
            Clock {
                source: Source::Manual(Arc::clone(&cell)),
            },
            ManualClock(cell),
        )
    }

    /// Now, in Unix epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        match &self.source {
            Source::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Source::Tokio { origin, start_ms } => {
                let elapsed = tokio::time::Instant::now().saturating_duration_since(*origin);
                start_ms.saturating_add(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
            }
            Source::Manual(cell) => cell.load(Ordering::SeqCst),
        }
    }

    /// Now, in Unix epoch seconds (what Luau's `os.time()` returns).
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Sleeps on tokio's timer (simulated under `tokio::time::pause`).
    pub async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// The handle that moves a [`Clock::manual`] clock.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Moves the clock forward (or back, with a negative delta) by `ms`.
    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set_ms(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_moves_only_when_told() {
        let (clock, hand) = Clock::manual(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        hand.advance_ms(500);
        assert_eq!(clock.now_ms(), 1_500);
        assert_eq!(clock.now_secs(), 1);
        hand.set_ms(10);
        assert_eq!(clock.now_ms(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = Clock::tokio(1_700_000_000_000);
        clock.sleep(Duration::from_secs(630)).await;
        assert_eq!(clock.now_ms(), 1_700_000_000_000 + 630_000);
    }

    #[test]
    fn system_clock_is_recent() {
        // After 2020-01-01 and monotone enough for a sanity check.
        assert!(Clock::system().now_ms() > 1_577_836_800_000);
    }
}
