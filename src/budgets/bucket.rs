//! The two meters budgets are made of: a token bucket refilled at a rate
//! per minute, and a sliding 60-second window of kilobytes per key.
//!
//! Owns: [`Bucket`] and [`Window`]. Invariants: both read time only as
//! the `now` they are given (the caller's `Clock`); time that moves
//! backward refills nothing; a bucket never holds more than its cap.

use std::collections::VecDeque;

use super::limits::KEY_WINDOW_MS;

/// Tokens refilled continuously at a rate per minute, up to a cap.
#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    tokens: f64,
    at_ms: i64,
}

impl Bucket {
    /// A bucket holding `tokens` at `now`.
    pub(crate) fn new(tokens: f64, now: i64) -> Self {
        Bucket { tokens, at_ms: now }
    }

    /// Adds what `per_minute` earned since the last reading, up to `cap`.
    pub(crate) fn refill(&mut self, now: i64, per_minute: f64, cap: f64) {
        if now > self.at_ms {
            let earned = per_minute * (now - self.at_ms) as f64 / 60_000.0;
            self.tokens = (self.tokens + earned).min(cap);
            self.at_ms = now;
        }
        self.tokens = self.tokens.min(cap);
    }

    /// Whole tokens held.
    pub(crate) fn whole(&self) -> u64 {
        self.tokens.max(0.0).floor() as u64
    }

    /// Whether `n` tokens are there.
    pub(crate) fn has(&self, n: f64) -> bool {
        self.tokens + 1e-9 >= n
    }

    /// Takes `n` tokens (the caller checked [`Bucket::has`]).
    pub(crate) fn take(&mut self, n: f64) {
        self.tokens -= n;
    }

    /// Milliseconds until one token is there at `per_minute`.
    pub(crate) fn wait_ms(&self, per_minute: f64) -> i64 {
        let missing = (1.0 - self.tokens).max(0.0);
        if per_minute <= 0.0 {
            return i64::MAX;
        }
        (missing * 60_000.0 / per_minute).ceil() as i64
    }
}

/// Kilobytes used over the last [`KEY_WINDOW_MS`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Window {
    used: VecDeque<(i64, u64)>,
    total: u64,
}

impl Window {
    fn expire(&mut self, now: i64) {
        while let Some(&(at, kb)) = self.used.front() {
            if now - at < KEY_WINDOW_MS {
                break;
            }
            self.used.pop_front();
            self.total -= kb;
        }
    }

    /// Whether `kb` more stay within `limit` at `now` ("including the
    /// current request").
    pub(crate) fn fits(&mut self, now: i64, kb: u64, limit: u64) -> bool {
        self.expire(now);
        self.total + kb <= limit
    }

    /// Records `kb` used at `now`.
    pub(crate) fn add(&mut self, now: i64, kb: u64) {
        if kb > 0 {
            self.used.push_back((now, kb));
            self.total += kb;
        }
    }

    /// Nothing used in the window any more.
    pub(crate) fn is_idle(&mut self, now: i64) -> bool {
        self.expire(now);
        self.used.is_empty()
    }
}
