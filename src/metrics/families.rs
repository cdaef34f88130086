//! Every metric family the server exports: names, help texts, labels and
//! buckets, registered once per server on its own registry.
//!
//! Owns: [`Families`] and the label sets ([`ApiFamily`], [`SessionEnd`],
//! [`BusDrop`], [`Throttle`]). Invariants: every name starts with
//! `profilestore_` and carries its unit (`_seconds`, `_total`); labels take
//! only the values of these enums, a status code, a storage plugin's name or
//! a fault operation's name, never a path, key, store or topic, so the
//! number of series stays small whatever clients send; a child whose labels
//! are all known in advance is resolved here once, so recording it is one
//! atomic add.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// The API family of an HTTP request (label `family`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiFamily {
    /// `/datastores/v1`.
    DataStoresV1,
    /// `/cloud/v2/universes/{u}/data-stores`.
    DataStoresV2,
    /// Ordered data stores, Open Cloud v1 and v2.
    Ordered,
    /// Memory stores, Open Cloud v2.
    Memory,
    /// MessagingService, v1 and v2.
    Messaging,
    /// The session API.
    Sessions,
    /// The engine API.
    Engine,
    /// The emulator controls.
    Emulator,
    /// `/cluster/v1`.
    Cluster,
    /// `/healthz`, `/readyz`.
    Health,
    /// The dashboard, `/ui/`.
    Ui,
    /// `/metrics` itself.
    Metrics,
    /// Anything else (404s of unknown paths).
    Other,
}

impl ApiFamily {
    /// Every family, in label order.
    pub const ALL: [ApiFamily; 13] = [
        ApiFamily::DataStoresV1,
        ApiFamily::DataStoresV2,
        ApiFamily::Ordered,
        ApiFamily::Memory,
        ApiFamily::Messaging,
        ApiFamily::Sessions,
        ApiFamily::Engine,
        ApiFamily::Emulator,
        ApiFamily::Cluster,
        ApiFamily::Health,
        ApiFamily::Ui,
        ApiFamily::Metrics,
        ApiFamily::Other,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiFamily::DataStoresV1 => "datastores_v1",
            ApiFamily::DataStoresV2 => "datastores_v2",
            ApiFamily::Ordered => "ordered",
            ApiFamily::Memory => "memory",
            ApiFamily::Messaging => "messaging",
            ApiFamily::Sessions => "sessions",
            ApiFamily::Engine => "engine",
            ApiFamily::Emulator => "emulator",
            ApiFamily::Cluster => "cluster",
            ApiFamily::Health => "health",
            ApiFamily::Ui => "ui",
            ApiFamily::Metrics => "metrics",
            ApiFamily::Other => "other",
        }
    }
}

/// How a session ended (label `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// Its own game server ended it (`EndSession`).
    Released,
    /// Another server asked for the profile and got it after a final save.
    HandedOff,
    /// The server shut down (final save).
    Shutdown,
    /// Another server took the profile (a steal or an assume-dead
    /// takeover): a save found its lock gone, nothing more was written.
    Lost,
    /// The game server crashed (or its session API lease expired): no
    /// final save, the lock stays in storage.
    Crashed,
}

impl SessionEnd {
    /// Every reason, in label order.
    pub const ALL: [SessionEnd; 5] = [
        SessionEnd::Released,
        SessionEnd::HandedOff,
        SessionEnd::Shutdown,
        SessionEnd::Lost,
        SessionEnd::Crashed,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionEnd::Released => "released",
            SessionEnd::HandedOff => "handed_off",
            SessionEnd::Shutdown => "shutdown",
            SessionEnd::Lost => "lost",
            SessionEnd::Crashed => "crashed",
        }
    }
}

/// Why a bus delivery was dropped (label `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusDrop {
    /// The subscriber's queue was full: its oldest message was dropped.
    QueueFull,
    /// An injected delivery fault (`drop_rate`).
    Fault,
}

impl BusDrop {
    /// Every reason, in label order.
    pub const ALL: [BusDrop; 2] = [BusDrop::QueueFull, BusDrop::Fault];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            BusDrop::QueueFull => "queue_full",
            BusDrop::Fault => "fault",
        }
    }
}

/// Which of Roblox's budgets refused a request (label `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Throttle {
    /// A game server over the experience-level limit.
    Experience,
    /// Open Cloud over the experience-level limit.
    OpenCloud,
    /// A game server's request queue was full (301-306).
    QueueFull,
    /// The key's throughput.
    Key,
    /// Memory-store request units.
    MemoryUnits,
}

impl Throttle {
    /// Every kind, in label order.
    pub const ALL: [Throttle; 5] = [
        Throttle::Experience,
        Throttle::OpenCloud,
        Throttle::QueueFull,
        Throttle::Key,
        Throttle::MemoryUnits,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Throttle::Experience => "experience",
            Throttle::OpenCloud => "open_cloud",
            Throttle::QueueFull => "queue_full",
            Throttle::Key => "key",
            Throttle::MemoryUnits => "memory_units",
        }
    }
}

/// The status codes whose request counters are kept resolved (the others
/// are looked up by label each time), sorted.
const STATUSES: [(u16, &str); 20] = [
    (200, "200"),
    (201, "201"),
    (204, "204"),
    (206, "206"),
    (304, "304"),
    (400, "400"),
    (401, "401"),
    (403, "403"),
    (404, "404"),
    (405, "405"),
    (408, "408"),
    (409, "409"),
    (412, "412"),
    (413, "413"),
    (429, "429"),
    (500, "500"),
    (501, "501"),
    (502, "502"),
    (503, "503"),
    (504, "504"),
];

/// `profilestore_http_requests_total`, with the children of the common
/// statuses resolved on first use (no hashing or locking after that).
#[derive(Debug)]
pub(super) struct HttpRequests {
    vec: IntCounterVec,
    /// `[family][status slot]`.
    resolved: Vec<[std::sync::OnceLock<IntCounter>; STATUSES.len()]>,
}

impl HttpRequests {
    fn new(vec: IntCounterVec) -> Self {
        let resolved = ApiFamily::ALL
            .iter()
            .map(|_| std::array::from_fn(|_| std::sync::OnceLock::new()))
            .collect();
        HttpRequests { vec, resolved }
    }

    /// Counts one request of `family` answered with `status`.
    pub(super) fn inc(&self, family: ApiFamily, status: u16) {
        match STATUSES.binary_search_by_key(&status, |(code, _)| *code) {
            Ok(slot) => self.resolved[family as usize][slot]
                .get_or_init(|| {
                    self.vec
                        .with_label_values(&[family.as_str(), STATUSES[slot].1])
                })
                .inc(),
            Err(_) => self
                .vec
                .with_label_values(&[family.as_str(), &status.to_string()])
                .inc(),
        }
    }
}

/// HTTP latency buckets (seconds): most answers take well under a millisecond.
const HTTP_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// Commit latency buckets (seconds): from memory to an fsync on a slow disk.
const COMMIT_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5,
];

/// Handoff buckets (seconds of the server's clock): a release notice
/// answers within milliseconds, a force-load within the 5 s first repeat,
/// a steal after 40 s, an assume-dead takeover after 630 s.
const HANDOFF_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 120.0, 300.0, 630.0, 1200.0,
];

/// The families of one server, and their pre-resolved children.
#[derive(Debug)]
pub(super) struct Families {
    pub(super) http_requests: HttpRequests,
    /// Per [`ApiFamily::ALL`] index.
    pub(super) http_duration: Vec<Histogram>,
    pub(super) commit_duration: HistogramVec,
    pub(super) sessions_live: IntGauge,
    pub(super) session_starts: IntCounter,
    /// Per [`SessionEnd::ALL`] index.
    pub(super) session_ends: Vec<IntCounter>,
    pub(super) session_steals: IntCounter,
    pub(super) session_assume_dead: IntCounter,
    pub(super) handoff_duration: Histogram,
    pub(super) bus_publishes: IntCounter,
    pub(super) bus_deliveries: IntCounter,
    /// Per [`BusDrop::ALL`] index.
    pub(super) bus_drops: Vec<IntCounter>,
    /// Per [`Throttle::ALL`] index.
    pub(super) throttled: Vec<IntCounter>,
    pub(super) faults: IntCounterVec,
    pub(super) lock_changes: IntCounterVec,
    pub(super) history_dropped: IntCounter,
    pub(super) history_queue: IntGauge,
    pub(super) uptime: prometheus::Gauge,
}

fn register<C: prometheus::core::Collector + Clone + 'static>(registry: &Registry, c: C) -> C {
    registry
        .register(Box::new(c.clone()))
        .expect("the families' names are unique and valid");
    c
}

fn counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    register(r, IntCounter::new(name, help).expect("valid counter"))
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register(
        r,
        IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter"),
    )
}

fn histogram_vec(
    r: &Registry,
    name: &str,
    help: &str,
    buckets: &[f64],
    labels: &[&str],
) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    register(r, HistogramVec::new(opts, labels).expect("valid histogram"))
}

fn children<T>(vec: &prometheus::core::MetricVec<T>, values: &[&str]) -> Vec<T::M>
where
    T: prometheus::core::MetricVecBuilder,
{
    values
        .iter()
        .map(|v| vec.with_label_values(&[*v]))
        .collect()
}

impl Families {
    /// Registers every family on `registry`, with the build's `version`.
    pub(super) fn register(registry: &Registry, version: &str) -> Families {
        let r = registry;
        let families: Vec<&str> = ApiFamily::ALL.iter().map(|f| f.as_str()).collect();
        let http_duration = histogram_vec(
            r,
            "profilestore_http_request_duration_seconds",
            "Time from a request's arrival to its answer's head, by API family.",
            HTTP_BUCKETS,
            &["family"],
        );
        let ends = counter_vec(
            r,
            "profilestore_session_ends_total",
            "Sessions ended on this server, by reason.",
            &["reason"],
        );
        let drops = counter_vec(
            r,
            "profilestore_bus_drops_total",
            "Message deliveries to a subscriber that were dropped, by reason.",
            &["reason"],
        );
        let throttled = counter_vec(
            r,
            "profilestore_throttled_requests_total",
            "Requests refused by Roblox's request budgets, by budget.",
            &["kind"],
        );
        let build = register(
            r,
            IntGaugeVec::new(
                Opts::new("profilestore_build_info", "Always 1; the build's version."),
                &["version"],
            )
            .expect("valid gauge"),
        );
        build.with_label_values(&[version]).set(1);
        Families {
            http_requests: HttpRequests::new(counter_vec(
                r,
                "profilestore_http_requests_total",
                "HTTP requests answered, by API family and status code.",
                &["family", "status"],
            )),
            http_duration: children(&http_duration, &families),
            commit_duration: histogram_vec(
                r,
                "profilestore_storage_commit_duration_seconds",
                "Time a storage commit (a DataStore write) took in the plugin.",
                COMMIT_BUCKETS,
                &["plugin"],
            ),
            sessions_live: register(
                r,
                IntGauge::new(
                    "profilestore_sessions_live",
                    "Profile sessions active on this server now.",
                )
                .expect("valid gauge"),
            ),
            session_starts: counter(
                r,
                "profilestore_session_starts_total",
                "Profile sessions started on this server.",
            ),
            session_ends: children(
                &ends,
                &SessionEnd::ALL.map(SessionEnd::as_str),
            ),
            session_steals: counter(
                r,
                "profilestore_session_steals_total",
                "Sessions started by taking a live lock from another server (a steal).",
            ),
            session_assume_dead: counter(
                r,
                "profilestore_session_assume_dead_takeovers_total",
                "Sessions started by taking the lock of a server assumed dead.",
            ),
            handoff_duration: register(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "profilestore_session_handoff_duration_seconds",
                        "From a start finding the profile locked by another server to holding it (the server's clock).",
                    )
                    .buckets(HANDOFF_BUCKETS.to_vec()),
                )
                .expect("valid histogram"),
            ),
            bus_publishes: counter(
                r,
                "profilestore_bus_publishes_total",
                "Messages published through this server's bus.",
            ),
            bus_deliveries: counter(
                r,
                "profilestore_bus_deliveries_total",
                "Messages handed to a local subscriber (one per subscriber).",
            ),
            bus_drops: children(&drops, &BusDrop::ALL.map(BusDrop::as_str)),
            throttled: children(&throttled, &Throttle::ALL.map(Throttle::as_str)),
            faults: counter_vec(
                r,
                "profilestore_injected_faults_total",
                "Emulator faults that fired, by operation and effect.",
                &["operation", "effect"],
            ),
            lock_changes: counter_vec(
                r,
                "profilestore_lock_changes_total",
                "Changes of a profile's owner this server recorded in the lock history, by kind (every writer: engines, the session API, the Luau module).",
                &["kind"],
            ),
            history_dropped: counter(
                r,
                "profilestore_lock_history_dropped_total",
                "Commits the lock history did not record because its queue was full (the recorder fell behind).",
            ),
            history_queue: register(
                r,
                IntGauge::new(
                    "profilestore_lock_history_queue",
                    "Commits waiting for the lock history's recorder.",
                )
                .expect("valid gauge"),
            ),
            uptime: register(
                r,
                prometheus::Gauge::new(
                    "profilestore_uptime_seconds",
                    "Seconds since the server started.",
                )
                .expect("valid gauge"),
            ),
        }
    }
}
