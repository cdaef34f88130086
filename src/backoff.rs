//! The one retry backoff of the crate.
//!
//! Owns: how long a retry loop waits after each failure. Invariants: the
//! delay doubles from `base` after each failure and never exceeds `max`;
//! jitter only ever shortens a delay (by at most the configured fraction),
//! so callers may rely on `max` as an upper bound when they check a
//! deadline; [`Backoff::reset`] starts again from `base` after a success.
//! It only computes durations: the caller sleeps on tokio's clock, so
//! simulated time drives it in tests.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// An exponential backoff with optional jitter.
#[derive(Clone, Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
    /// Fraction (0..=1) a delay may be shortened by at random.
    jitter: f64,
    rng: SmallRng,
}

impl Backoff {
    /// Doubling from `base` after each failure, capped at `max`, without
    /// jitter (the delays are `base`, `2 base`, `4 base`, ..., `max`).
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max: max.max(base),
            failures: 0,
            jitter: 0.0,
            rng: SmallRng::seed_from_u64(0),
        }
    }

    /// The same, with each delay shortened at random by up to `fraction`
    /// (clamped to 0..=1) so that many clients failing together do not
    /// retry in lockstep. The randomness is seeded from the OS.
    pub fn with_jitter(self, fraction: f64) -> Self {
        self.with_seeded_jitter(fraction, SmallRng::from_os_rng().random())
    }

    /// [`Backoff::with_jitter`] with seeded randomness: repeatable runs, and
    /// clients with different seeds still spread apart.
    pub fn with_seeded_jitter(mut self, fraction: f64, seed: u64) -> Self {
        self.jitter = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.rng = SmallRng::seed_from_u64(seed);
        self
    }

    /// A different cap (the caller's situation changed, e.g. shutdown).
    pub fn set_max(&mut self, max: Duration) {
        self.max = max.max(self.base);
    }

    /// How many failures were counted since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The delay before the next attempt without counting a failure and
    /// without jitter (the upper bound of what [`Backoff::fail`] returns).
    pub fn peek(&self) -> Duration {
        let factor = 1u32 << self.failures.min(20);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// Counts a failure and returns how long to wait before retrying.
    pub fn fail(&mut self) -> Duration {
        let delay = self.peek();
        self.failures = self.failures.saturating_add(1);
        if self.jitter > 0.0 {
            let cut = self.rng.random_range(0.0..=self.jitter);
            delay.mul_f64(1.0 - cut)
        } else {
            delay
        }
    }

    /// Starts again from `base` (after a success).
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn doubles_up_to_the_cap() {
        let mut b = Backoff::new(S, 20 * S);
        let delays: Vec<_> = (0..7).map(|_| b.fail().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 20, 20]);
        assert_eq!(b.failures(), 7);
    }

    #[test]
    fn reset_starts_from_base_again() {
        let mut b = Backoff::new(S, 20 * S);
        b.fail();
        b.fail();
        b.reset();
        assert_eq!(b.fail(), S);
    }

    #[test]
    fn jitter_only_shortens_and_stays_within_its_fraction() {
        let mut b = Backoff::new(S, 8 * S).with_seeded_jitter(0.5, 7);
        let mut seen_shorter = false;
        for _ in 0..200 {
            let bound = b.peek();
            let d = b.fail();
            assert!(
                d <= bound && d >= bound / 2,
                "{d:?} outside [{:?}, {bound:?}]",
                bound / 2
            );
            seen_shorter |= d < bound;
        }
        assert!(seen_shorter, "jitter never changed a delay");
    }

    #[test]
    fn a_lower_cap_applies_at_once() {
        let mut b = Backoff::new(S, 20 * S);
        for _ in 0..5 {
            b.fail();
        }
        b.set_max(8 * S);
        assert_eq!(b.fail(), 8 * S);
    }

    #[test]
    fn no_overflow_after_many_failures() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        for _ in 0..10_000 {
            assert!(b.fail() <= Duration::from_secs(5));
        }
    }
}

#[cfg(test)]
mod seeded {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_delays() {
        let run = |seed| {
            let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(20))
                .with_seeded_jitter(0.2, seed);
            (0..8).map(|_| b.fail()).collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }
}
