//! The live request monitor: every request the server answers, as the
//! dashboard's `/ui/requests` page shows it (method, path, status,
//! latency, universe, caller).
//!
//! Owns: [`Monitor`]: a bounded `tokio::sync::broadcast` channel of
//! [`Seen`] requests for live viewers, a small ring of the most recent ones
//! for a page that just opened, per-second counts for request rates, and
//! the universes seen. Invariants: recording never blocks and never
//! allocates more than one event (a slow viewer lags and skips, it never
//! slows a request); the ring and the rate window are bounded
//! ([`RING`], [`RATE_WINDOW`]); the monitor's own stream and the
//! dashboard's assets are not recorded ([`Monitor::records`]); times are
//! the process's monotonic time (latency and rates are I/O figures, not
//! emulated time).

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use hyper::Method;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::broadcast;

/// How many recent requests the ring keeps.
pub const RING: usize = 200;
/// How many requests a live viewer may fall behind before it skips some.
const CHANNEL: usize = 256;
/// The window of the request rates, in seconds.
pub const RATE_WINDOW: usize = 60;
/// At most this many distinct universes are remembered.
const MAX_UNIVERSES: usize = 64;

/// Paths the monitor never records (its own stream, the dashboard's assets).
const UNRECORDED: &[&str] = &["/ui/requests/stream", "/ui/assets/"];

/// One answered request.
#[derive(Clone, Debug, Serialize)]
pub struct Seen {
    /// Its number since the server started (1, 2, ...).
    pub seq: u64,
    /// The request method.
    pub method: String,
    /// The path (no query string: it may name keys, never secrets, but
    /// cursors are long).
    pub path: String,
    /// The answer's status code.
    pub status: u16,
    /// From the request's arrival to its answer's head, in milliseconds.
    pub latency_ms: f64,
    /// The universe the path names, if any.
    pub universe: Option<u64>,
    /// Who sent it: a scoped key's name, `key` for a plain key, `-` when the
    /// server takes none, `?` for a refused key.
    pub caller: String,
}

/// The name of the caller of a request, set as a response extension by
/// parts of the server that authenticate their own way (the dashboard).
#[derive(Clone, Debug)]
pub struct CallerName(pub String);

#[derive(Debug, Default)]
struct Inner {
    seq: u64,
    ring: VecDeque<Seen>,
    /// `(second since start, requests in it)`, oldest first.
    seconds: VecDeque<(u64, u64)>,
    universes: BTreeSet<u64>,
}

/// The monitor; clones share it (it lives on `AppState`).
#[derive(Clone, Debug)]
pub struct Monitor {
    inner: std::sync::Arc<Mutex<Inner>>,
    live: broadcast::Sender<Seen>,
    started: Instant,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor {
            inner: std::sync::Arc::default(),
            live: broadcast::channel(CHANNEL).0,
            started: Instant::now(),
        }
    }
}

/// The request rates of the last seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rates {
    /// Requests per second over the last 10 s.
    pub per_second_10s: f64,
    /// Requests per second over the last [`RATE_WINDOW`] s.
    pub per_second_60s: f64,
    /// Requests since the server started.
    pub total: u64,
}

impl Monitor {
    /// Whether requests to `path` are recorded.
    pub fn records(path: &str) -> bool {
        !UNRECORDED.iter().any(|p| path.starts_with(p))
    }

    /// Records an answered request that arrived at `arrived`.
    pub fn record(&self, method: &Method, path: &str, status: u16, arrived: Instant, caller: &str) {
        if !Self::records(path) {
            return;
        }
        let now = Instant::now();
        let second = now.duration_since(self.started).as_secs();
        let universe = universe_of(path);
        let mut inner = self.inner.lock();
        inner.seq += 1;
        let seen = Seen {
            seq: inner.seq,
            method: method.as_str().to_owned(),
            path: path.to_owned(),
            status,
            latency_ms: now.duration_since(arrived).as_secs_f64() * 1000.0,
            universe,
            caller: caller.to_owned(),
        };
        match inner.seconds.back_mut() {
            Some((s, n)) if *s == second => *n += 1,
            _ => inner.seconds.push_back((second, 1)),
        }
        while inner
            .seconds
            .front()
            .is_some_and(|(s, _)| s + (RATE_WINDOW as u64) < second)
        {
            inner.seconds.pop_front();
        }
        if let Some(u) = universe {
            if inner.universes.len() < MAX_UNIVERSES {
                inner.universes.insert(u);
            }
        }
        if inner.ring.len() == RING {
            inner.ring.pop_front();
        }
        inner.ring.push_back(seen.clone());
        drop(inner);
        if self.live.receiver_count() > 0 {
            let _ = self.live.send(seen);
        }
    }

    /// The most recent requests, oldest first.
    pub fn recent(&self) -> Vec<Seen> {
        self.inner.lock().ring.iter().cloned().collect()
    }

    /// Every request recorded from now on (a receiver that falls more than
    /// a channel's worth behind skips the oldest).
    pub fn subscribe(&self) -> broadcast::Receiver<Seen> {
        self.live.subscribe()
    }

    /// The request rates now.
    pub fn rates(&self) -> Rates {
        let second = self.started.elapsed().as_secs();
        let inner = self.inner.lock();
        let within = |window: u64| -> u64 {
            inner
                .seconds
                .iter()
                .filter(|(s, _)| s + window > second)
                .map(|(_, n)| n)
                .sum()
        };
        // A server younger than the window divides by its age.
        let span = |window: u64| (second + 1).min(window) as f64;
        Rates {
            per_second_10s: within(10) as f64 / span(10),
            per_second_60s: within(RATE_WINDOW as u64) as f64 / span(RATE_WINDOW as u64),
            total: inner.seq,
        }
    }

    /// The universes requests named so far (at most 64).
    pub fn universes(&self) -> Vec<u64> {
        self.inner.lock().universes.iter().copied().collect()
    }

    /// How long the server has run.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

/// What the monitor calls the caller the API's key check found.
pub(super) fn label<'k>(caller: Option<&super::scopes::Caller<'k>>) -> &'k str {
    use super::scopes::Caller;
    match caller {
        None => "?",
        Some(Caller::Open) => "-",
        Some(Caller::Full) => "key",
        Some(Caller::Scoped(k)) => &k.name,
    }
}

/// The universe a path names: the segment after `universes/` (Open Cloud,
/// the session and engine APIs) or after `/ui/u/` (the dashboard).
fn universe_of(path: &str) -> Option<u64> {
    let mut segments = path.split('/');
    while let Some(s) = segments.next() {
        if s == "universes" || s == "u" {
            let id = segments.next()?;
            let id = id.split(':').next().unwrap_or(id);
            if let Ok(u) = id.parse() {
                return Some(u);
            }
        } else if let Some(id) = s.strip_prefix("universes:") {
            return id.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_universe_of_a_path() {
        assert_eq!(
            universe_of("/datastores/v1/universes/42/standard-datastores"),
            Some(42)
        );
        assert_eq!(universe_of("/cloud/v2/universes/7:publishMessage"), Some(7));
        assert_eq!(universe_of("/ui/u/9/data-stores"), Some(9));
        assert_eq!(universe_of("/ui/requests"), None);
        assert_eq!(universe_of("/healthz"), None);
    }

    #[test]
    fn the_ring_is_bounded_and_the_stream_and_assets_are_not_recorded() {
        let m = Monitor::default();
        for i in 0..(RING + 5) {
            m.record(&Method::GET, &format!("/x/{i}"), 200, Instant::now(), "-");
        }
        m.record(
            &Method::GET,
            "/ui/requests/stream",
            200,
            Instant::now(),
            "-",
        );
        m.record(
            &Method::GET,
            "/ui/assets/ui.1.css",
            200,
            Instant::now(),
            "-",
        );
        let recent = m.recent();
        assert_eq!(recent.len(), RING);
        assert_eq!(recent[0].path, "/x/5");
        assert_eq!(m.rates().total, (RING + 5) as u64);
        assert!(m.rates().per_second_10s > 0.0);
    }

    #[tokio::test]
    async fn a_viewer_sees_what_is_recorded_after_it_subscribed() {
        let m = Monitor::default();
        let mut rx = m.subscribe();
        m.record(
            &Method::POST,
            "/datastores/v1/universes/3/x",
            404,
            Instant::now(),
            "ci",
        );
        let seen = rx.recv().await.expect("an event");
        assert_eq!(
            (seen.status, seen.universe, seen.caller.as_str()),
            (404, Some(3), "ci")
        );
    }
}
