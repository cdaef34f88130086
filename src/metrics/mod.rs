//! The server's metrics, rendered in Prometheus's text format at `/metrics`.
//!
//! Owns: [`Metrics`] (one per server: its own registry, since tests run
//! many servers in one process), a typed method per thing recorded, and
//! the text rendering; the families and their labels are in `families`,
//! histograms read from elsewhere at scrape time in `scrape`.
//! Invariants:
//! - a [`Metrics`] that is off (the default, and `[metrics] enabled =
//!   false`) records nothing: every method is one branch on a `None`, and
//!   [`Metrics::start`] reads no clock;
//! - labels are low-cardinality (see `families`): no path, key, store,
//!   topic or universe ever becomes a label value;
//! - durations of work (an HTTP answer, a storage commit) are measured on
//!   the monotonic system clock: they are what the caller waited, whatever
//!   the emulated clock does; a handoff is measured by the engine on the
//!   server's clock (emulated seconds, as the session rules count them).

mod families;
mod scrape;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use families::{ApiFamily, BusDrop, SessionEnd, Throttle};
pub use scrape::Snapshot;

use families::Families;

/// The content type of the text format (version 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How a session was taken from another server's live lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Takeover {
    /// The lock was live: a steal (the caller asked, or the steal timer ran out).
    Steal,
    /// The owner had not saved for longer than `ASSUME_DEAD`.
    AssumeDead,
}

/// When a measured piece of work began (`None` when metrics are off).
#[derive(Clone, Copy, Debug)]
pub struct Started(Option<Instant>);

/// The metrics of one server; clones share them. Off by default.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    inner: Option<Arc<Inner>>,
    public: bool,
}

#[derive(Debug)]
struct Inner {
    registry: prometheus::Registry,
    families: Families,
    started: Instant,
}

impl Metrics {
    /// Metrics that record (answered to callers with a key).
    pub fn new() -> Self {
        let registry = prometheus::Registry::new();
        let families = Families::register(&registry, env!("CARGO_PKG_VERSION"));
        Metrics {
            inner: Some(Arc::new(Inner {
                registry,
                families,
                started: Instant::now(),
            })),
            public: false,
        }
    }

    /// Metrics that record nothing (`/metrics` is then a 404).
    pub const fn off() -> Self {
        Metrics {
            inner: None,
            public: false,
        }
    }

    /// Metrics that are off, for whoever has none set (a `OnceLock` empty).
    pub fn none() -> &'static Metrics {
        static OFF: Metrics = Metrics::off();
        &OFF
    }

    /// These metrics, answered without an API key when `public`.
    #[must_use]
    pub fn with_public(mut self, public: bool) -> Self {
        self.public = public;
        self
    }

    /// Whether anything is recorded.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Whether `/metrics` is answered without an API key.
    pub fn is_public(&self) -> bool {
        self.public && self.inner.is_some()
    }

    /// Every family in the text format, `None` when off.
    pub fn render(&self) -> Option<String> {
        let inner = self.inner.as_ref()?;
        inner
            .families
            .uptime
            .set(inner.started.elapsed().as_secs_f64());
        let mut text = String::new();
        prometheus::TextEncoder::new()
            .encode_utf8(&inner.registry.gather(), &mut text)
            .ok()?;
        Some(text)
    }

    fn with(&self, f: impl FnOnce(&Families)) {
        if let Some(inner) = &self.inner {
            f(&inner.families);
        }
    }

    /// The start of a piece of work to measure.
    pub fn start(&self) -> Started {
        Started(self.inner.as_ref().map(|_| Instant::now()))
    }

    /// A measurement begun at `at`, a time the caller read already (so one
    /// clock read serves it and whatever else times the same work).
    pub fn started_at(&self, at: Instant) -> Started {
        Started(self.inner.as_ref().map(|_| at))
    }

    /// One HTTP request of `family` answered with `status`, begun at
    /// `started`.
    pub fn http_request(&self, family: ApiFamily, status: u16, started: Started) {
        self.with(|f| {
            f.http_requests.inc(family, status);
            if let Some(at) = started.0 {
                f.http_duration[family as usize].observe(at.elapsed().as_secs_f64());
            }
        });
    }

    /// One storage commit on `plugin`, begun at `started`.
    pub fn commit(&self, plugin: &str, started: Started) {
        self.with(|f| {
            if let Some(at) = started.0 {
                f.commit_duration
                    .with_label_values(&[plugin])
                    .observe(at.elapsed().as_secs_f64());
            }
        });
    }

    /// Exports `plugin`'s commit group sizes, read by `read` at each
    /// scrape, as `profilestore_storage_commit_group_size{plugin}`. A
    /// second call for the same plugin changes nothing.
    pub fn watch_group_sizes(
        &self,
        plugin: &str,
        read: impl Fn() -> Option<Snapshot> + Send + Sync + 'static,
    ) {
        let Some(inner) = &self.inner else { return };
        let collector = scrape::ScrapedHistogram::new(
            "profilestore_storage_commit_group_size",
            "Commits per transaction of the storage plugin's group commit.",
            &[("plugin", plugin)],
            Box::new(read),
        );
        if let Ok(c) = collector {
            // Already registered for this plugin: the first reader stays.
            let _ = inner.registry.register(Box::new(c));
        }
    }

    /// A session started on this server.
    pub fn session_started(&self) {
        self.with(|f| {
            f.session_starts.inc();
            f.sessions_live.inc();
        });
    }

    /// A session of this server ended (each session once).
    pub fn session_ended(&self, reason: SessionEnd) {
        self.with(|f| {
            f.session_ends[reason as usize].inc();
            f.sessions_live.dec();
        });
    }

    /// A start took the profile from another server's lock.
    pub fn session_taken(&self, how: Takeover) {
        self.with(|f| match how {
            Takeover::Steal => f.session_steals.inc(),
            Takeover::AssumeDead => f.session_assume_dead.inc(),
        });
    }

    /// A start held a profile `waited` after first finding it locked.
    pub fn handoff(&self, waited: Duration) {
        self.with(|f| f.handoff_duration.observe(waited.as_secs_f64()));
    }

    /// A message was published through this server's bus.
    pub fn bus_published(&self) {
        self.with(|f| f.bus_publishes.inc());
    }

    /// A message was handed to one local subscriber.
    pub fn bus_delivered(&self) {
        self.with(|f| f.bus_deliveries.inc());
    }

    /// A delivery to one subscriber was dropped.
    pub fn bus_dropped(&self, reason: BusDrop) {
        self.with(|f| f.bus_drops[reason as usize].inc());
    }

    /// A request was refused by a budget.
    pub fn throttled(&self, kind: Throttle) {
        self.with(|f| f.throttled[kind as usize].inc());
    }

    /// The lock history recorded an owner change of `kind` (one of its
    /// fixed snake_case names: `started`, `stolen`, ...).
    pub fn lock_change(&self, kind: &'static str) {
        self.with(|f| f.lock_changes.with_label_values(&[kind]).inc());
    }

    /// The lock history's queue was full: a commit was not recorded.
    pub fn lock_history_dropped(&self) {
        self.with(|f| f.history_dropped.inc());
    }

    /// `n` commits wait for the lock history's recorder.
    pub fn lock_history_queue(&self, n: usize) {
        self.with(|f| f.history_queue.set(i64::try_from(n).unwrap_or(i64::MAX)));
    }

    /// An emulator fault fired on `operation` with `effect` (fixed names).
    pub fn fault(&self, operation: &'static str, effect: &'static str) {
        self.with(|f| f.faults.with_label_values(&[operation, effect]).inc());
    }
}

#[cfg(test)]
mod tests;
