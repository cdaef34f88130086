//! The one place profilestore takes time from.
//!
//! Owns: wall-clock readings ([`Clock::now_ms`]), instants for measuring
//! spans ([`Clock::instant`]) and sleeping ([`Clock::sleep`],
//! [`Clock::sleep_until`]). Invariants: every time-based behaviour
//! (auto-save, steals, assume-dead, backoff, version retention, leases,
//! expirations) reads this clock, so a test can run the real algorithm on
//! simulated or moved time:
//! - [`Clock::tokio`] derives wall time from tokio's clock, so under
//!   `tokio::time::pause()` both sleeping and wall time advance together and
//!   a 630 s assume-dead test takes milliseconds;
//! - [`Clock::manual`] is moved by hand, for synchronous tests (retention);
//! - [`Clock::adjustable`] is the system clock plus an offset that only
//!   grows ([`Clock::advance`]); every clone shares the offset, and a sleep
//!   on it ends as soon as an advance passes its deadline (sleepers wait
//!   for a deadline in clock time and are woken by every advance), so
//!   everything time-based follows an advance at once.
//!
//! The other sources sleep on tokio's timer, which tests pause.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::time::Instant;

/// The largest total offset an adjustable clock takes (about 100 years):
/// past it, instants and millisecond arithmetic could overflow.
pub const MAX_OFFSET: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Why a clock was not moved.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ClockError {
    /// A zero (or negative) move: time only moves forward.
    #[error("time only moves forward: advance the clock by a positive duration")]
    NotForward,
    /// The clock is not an adjustable one.
    #[error("this clock cannot be moved (it is the {0} clock, not an adjustable one)")]
    NotAdjustable(&'static str),
    /// The move would take the offset past [`MAX_OFFSET`].
    #[error("the clock can be moved at most {max_days} days ahead in all; it is {offset_secs} s ahead already")]
    TooFar {
        /// [`MAX_OFFSET`] in days.
        max_days: u64,
        /// The offset before the refused move, in seconds.
        offset_secs: f64,
    },
}

/// A cloneable handle on a wall clock.
#[derive(Clone)]
pub struct Clock {
    source: Source,
}

#[derive(Clone)]
enum Source {
    System,
    Tokio { origin: Instant, start_ms: i64 },
    Manual(Arc<AtomicI64>),
    Adjustable(Arc<Adjust>),
}

/// An adjustable clock's state: its base and the offset every clone shares.
struct Adjust {
    /// Never itself adjustable.
    base: Clock,
    offset: watch::Sender<Duration>,
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({}, now_ms={})", self.kind(), self.now_ms())
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
                origin: Instant::now(),
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

    /// The system clock plus an offset that only grows ([`advance`](Self::advance)),
    /// shared by every clone: what a server's hosted services run on.
    pub fn adjustable() -> Self {
        Clock::adjustable_on(Clock::system())
    }

    /// `base` plus an offset that only grows (a test on paused time moves
    /// a [`Clock::tokio`] base). An adjustable `base` is returned as it is
    /// (sharing its offset).
    pub fn adjustable_on(base: Clock) -> Self {
        if matches!(base.source, Source::Adjustable(_)) {
            return base;
        }
        let (offset, _) = watch::channel(Duration::ZERO);
        Clock {
            source: Source::Adjustable(Arc::new(Adjust { base, offset })),
        }
    }

    fn kind(&self) -> &'static str {
        match self.source {
            Source::System => "system",
            Source::Tokio { .. } => "tokio",
            Source::Manual(_) => "manual",
            Source::Adjustable(_) => "adjustable",
        }
    }

    /// Now, in Unix epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        match &self.source {
            Source::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Source::Tokio { origin, start_ms } => {
                let elapsed = Instant::now().saturating_duration_since(*origin);
                start_ms.saturating_add(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
            }
            Source::Manual(cell) => cell.load(Ordering::SeqCst),
            Source::Adjustable(a) => {
                let offset = i64::try_from(a.offset.borrow().as_millis()).unwrap_or(i64::MAX);
                a.base.now_ms().saturating_add(offset)
            }
        }
    }

    /// Now, in Unix epoch seconds (what Luau's `os.time()` returns).
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Now as an instant of this clock, to measure spans and to sleep
    /// until ([`sleep_until`](Self::sleep_until)): tokio's instant, moved
    /// ahead by an adjustable clock's offset.
    pub fn instant(&self) -> Instant {
        match &self.source {
            Source::Adjustable(a) => a.base.instant() + *a.offset.borrow(),
            _ => Instant::now(),
        }
    }

    /// How much this clock was moved ahead (zero unless adjustable).
    pub fn offset(&self) -> Duration {
        match &self.source {
            Source::Adjustable(a) => *a.offset.borrow(),
            _ => Duration::ZERO,
        }
    }

    /// Whether [`advance`](Self::advance) can move this clock.
    pub fn is_adjustable(&self) -> bool {
        matches!(self.source, Source::Adjustable(_))
    }

    /// Moves an adjustable clock (and every clone) ahead by `by`, waking
    /// the sleepers whose deadline it passes; returns the new offset.
    /// Refuses a zero move, a clock that is not adjustable, and an offset
    /// past [`MAX_OFFSET`].
    pub fn advance(&self, by: Duration) -> Result<Duration, ClockError> {
        let Source::Adjustable(a) = &self.source else {
            return Err(ClockError::NotAdjustable(self.kind()));
        };
        if by.is_zero() {
            return Err(ClockError::NotForward);
        }
        let mut moved = Err(ClockError::NotForward);
        a.offset.send_if_modified(|offset| {
            match offset.checked_add(by).filter(|o| *o <= MAX_OFFSET) {
                Some(new) => {
                    *offset = new;
                    moved = Ok(new);
                    true
                }
                None => {
                    moved = Err(ClockError::TooFar {
                        max_days: MAX_OFFSET.as_secs() / 86_400,
                        offset_secs: offset.as_secs_f64(),
                    });
                    false
                }
            }
        });
        moved
    }

    /// The advances of this clock from now on (none unless adjustable).
    pub fn advances(&self) -> Advances {
        Advances(match &self.source {
            Source::Adjustable(a) => Some(a.offset.subscribe()),
            _ => None,
        })
    }

    /// Sleeps for `duration` of this clock: on tokio's timer (simulated
    /// under `tokio::time::pause`), ended early by an advance past it.
    pub async fn sleep(&self, duration: Duration) {
        match &self.source {
            Source::Adjustable(_) => self.sleep_until(self.instant() + duration).await,
            _ => tokio::time::sleep(duration).await,
        }
    }

    /// Sleeps until this clock's [`instant`](Self::instant) reaches
    /// `deadline` (at once when an advance passes it).
    pub async fn sleep_until(&self, deadline: Instant) {
        let Source::Adjustable(a) = &self.source else {
            return tokio::time::sleep_until(deadline).await;
        };
        let mut offsets = a.offset.subscribe();
        loop {
            let offset = *offsets.borrow_and_update();
            // The base instant at which this clock reaches the deadline.
            let Some(at) = deadline.checked_sub(offset) else {
                return;
            };
            if at <= a.base.instant() {
                return;
            }
            // The base is never adjustable: it sleeps on tokio's timer.
            tokio::select! {
                () = tokio::time::sleep_until(at) => return,
                changed = offsets.changed() => {
                    if changed.is_err() {
                        return tokio::time::sleep_until(at).await;
                    }
                }
            }
        }
    }
}

/// The advances of an adjustable clock, as they happen (see
/// [`Clock::advances`]).
#[derive(Debug)]
pub struct Advances(Option<watch::Receiver<Duration>>);

impl Advances {
    /// Waits for the next advance (since this was made or last returned);
    /// never ends on a clock that is not adjustable.
    pub async fn next(&mut self) {
        let ended = match self.0.as_mut() {
            Some(rx) => rx.changed().await.is_err(),
            None => true,
        };
        if ended {
            std::future::pending::<()>().await;
        }
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

    #[test]
    fn clones_share_the_offset_of_an_adjustable_clock() {
        let (base, _hand) = Clock::manual(1_000_000);
        let clock = Clock::adjustable_on(base);
        let other = clock.clone();
        assert_eq!(clock.offset(), Duration::ZERO);
        let offset = other.advance(Duration::from_secs(90)).expect("advance");
        assert_eq!(offset, Duration::from_secs(90));
        assert_eq!(clock.offset(), Duration::from_secs(90));
        assert_eq!(clock.now_ms(), 1_090_000);
        other.advance(Duration::from_millis(500)).expect("advance");
        assert_eq!(clock.now_ms(), 1_090_500);
        assert!(Clock::adjustable_on(clock.clone()).is_adjustable());
        Clock::adjustable_on(clock.clone())
            .advance(Duration::from_secs(1))
            .expect("advance");
        assert_eq!(other.now_ms(), 1_091_500, "re-wrapping shares the offset");
    }

    #[test]
    fn an_advance_never_goes_back_or_past_the_limit() {
        let clock = Clock::adjustable();
        assert_eq!(clock.advance(Duration::ZERO), Err(ClockError::NotForward));
        let before = clock.now_ms();
        clock.advance(Duration::from_secs(3600)).expect("advance");
        assert!(clock.now_ms() >= before + 3_600_000);
        let too_far = clock.advance(MAX_OFFSET);
        assert!(
            matches!(too_far, Err(ClockError::TooFar { .. })),
            "{too_far:?}"
        );
        assert_eq!(clock.offset(), Duration::from_secs(3600), "unchanged");
        assert_eq!(
            Clock::system().advance(Duration::from_secs(1)),
            Err(ClockError::NotAdjustable("system"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_sleeper_wakes_when_an_advance_passes_its_deadline() {
        let clock = Clock::adjustable_on(Clock::tokio(1_700_000_000_000));
        let started = Instant::now();
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep(Duration::from_secs(630)).await }
        });
        tokio::task::yield_now().await;
        clock.advance(Duration::from_secs(700)).expect("advance");
        sleeper.await.expect("sleeper");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "woken by the advance, not by tokio's time: {:?}",
            started.elapsed()
        );
        assert!(clock.now_ms() >= 1_700_000_700_000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_advance_only_shortens_a_sleep() {
        let clock = Clock::adjustable_on(Clock::tokio(0));
        let started = Instant::now();
        let deadline = clock.instant() + Duration::from_secs(10);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(deadline).await }
        });
        tokio::task::yield_now().await;
        clock.advance(Duration::from_secs(4)).expect("advance");
        sleeper.await.expect("sleeper");
        let real = started.elapsed();
        assert!(
            real >= Duration::from_secs(6) && real < Duration::from_secs(7),
            "{real:?}"
        );
        assert!(clock.instant() >= deadline);
    }

    #[tokio::test(start_paused = true)]
    async fn advances_are_seen_as_they_happen() {
        let clock = Clock::adjustable_on(Clock::tokio(0));
        let mut advances = clock.advances();
        let seen = tokio::spawn(async move { advances.next().await });
        tokio::task::yield_now().await;
        clock.advance(Duration::from_secs(1)).expect("advance");
        tokio::time::timeout(Duration::from_secs(1), seen)
            .await
            .expect("seen at once")
            .expect("task");
        let mut none = Clock::tokio(0).advances();
        let waited = tokio::time::timeout(Duration::from_secs(5), none.next()).await;
        assert!(waited.is_err(), "a fixed clock never advances");
    }

    #[tokio::test(start_paused = true)]
    async fn other_sources_sleep_on_tokio_time() {
        let clock = Clock::tokio(0);
        let started = clock.instant();
        clock.sleep_until(started + Duration::from_secs(5)).await;
        assert_eq!(clock.now_ms(), 5_000);
        assert_eq!(clock.offset(), Duration::ZERO);
    }
}
