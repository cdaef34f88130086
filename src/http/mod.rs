//! The HTTP server: Open Cloud's DataStore and MessagingService APIs and
//! the session API.
//!
//! Owns: the server's state and limits, choosing the API family
//! of a path (each family is a route table, `router::Table`, with its
//! error body shape), authentication, request ids, graceful shutdown, the
//! listen-address safety rule, the resource limits ([`Limits`]).
//! Invariants: every request is authenticated before it is routed (when
//! keys are configured); a path or query that does not decode to UTF-8 is
//! a 400 before routing; every error body of a family has that family's
//! shape (rendered here, in `handle`, and nowhere else); without an API
//! key the server only listens on loopback; at most `max_connections`
//! connections are served at once (the rest wait in the listen backlog); a
//! connection that takes longer than [`Limits::header_read_timeout`]
//! (default [`HEADER_READ_TIMEOUT`]) to send a request head (slowloris, or
//! idle keep-alive) is closed; a body that takes longer than
//! [`Limits::body_read_timeout`] (default
//! [`request::BODY_READ_TIMEOUT`]) is a 408; shutdown stops
//! accepting, cancels [`AppState::closing`] (ends long-polls and streams),
//! ends sessions (final saves), lets in-flight requests finish (every
//! connection is a task of one `TaskTracker`), then flushes storage (the
//! accept loop and that order are in `server.rs`).

mod cluster;
mod emulator;
pub mod error;
mod health;
mod history;
mod memory;
mod messaging;
mod metrics;
pub mod monitor;
mod ordered;
pub mod request;
mod router;
pub mod scopes;
mod server;
mod session_api;
mod sse;
mod stores;
pub mod tls;
mod ui;
mod v1;
mod v2;
mod v2_manage;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::bus::MessageBus;
use crate::datastore::DataStoreService;
use crate::opencloud::codes::DetailCode as D;
use crate::opencloud::headers;
pub use emulator::Controls;
use error::{ApiError, Style};
use request::{Body, Query};
use router::Table;
use scopes::Family;
pub use server::{run, serve_io, serve_on};
pub use ui::{About, Dashboard};

/// What the server serves.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The DataStore layer.
    pub datastores: DataStoreService,
    /// The message bus (shared with engines in this process).
    pub bus: MessageBus,
    /// Ordered data stores (on the same storage as `datastores`).
    pub ordered: crate::ordered::OrderedService,
    /// MemoryStoreService (sorted maps, queues, hash maps).
    pub memory: crate::memorystore::MemoryStoreService,
    /// The emulator's fault plan (`/emulator/v1/faults`), shared with the
    /// services above.
    pub faults: crate::faults::FaultPlan,
    /// Accepted `x-api-key` values; empty means no authentication.
    pub api_keys: Vec<String>,
    /// Keys with scopes (`[[server.keys]]`); with `api_keys` empty too,
    /// no authentication.
    pub scoped_keys: Vec<scopes::ScopedKey>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Cancelled when the server shuts down (ends long-polls and streams).
    pub closing: CancellationToken,
    /// The engine run for remote game servers (session API).
    pub sessions: crate::sessions::SessionHost,
    /// Connection and long-poll caps.
    pub limits: Limits,
    /// The clock of everything above (one adjustable clock in `serve` and
    /// test servers: `/emulator/v1/clock:advance` moves it).
    pub clock: crate::clock::Clock,
    /// Who may use the control plane (the listen address and the setting).
    pub controls: Controls,
    /// Roblox's request budgets per universe (off unless turned on).
    pub budgets: crate::budgets::Budgets,
    /// The emulator's named snapshots (of `datastores`' storage and `memory`).
    pub snapshots: crate::snapshots::Snapshots,
    /// This node of a cluster (`None`: the server runs alone): session API
    /// calls go to their game server's home node.
    pub cluster: Option<crate::cluster::Cluster>,
    /// The session lock history of `datastores` (recorded once spawned).
    pub history: crate::history::LockHistory,
    /// The dashboard at `/ui/` (its browser sessions, the request monitor).
    pub dashboard: Dashboard,
    /// The server's metrics (`/metrics`; off records nothing).
    pub metrics: crate::metrics::Metrics,
}

impl AppState {
    /// Whether requests need a key (plain or scoped).
    pub fn takes_keys(&self) -> bool {
        !self.api_keys.is_empty() || !self.scoped_keys.is_empty()
    }
}

/// The default longest a client may take to send a request's head; also
/// how long an idle keep-alive connection stays open
/// ([`Limits::header_read_timeout`]).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The shortest time limit [`Limits`] accepts (shorter ones are raised to
/// it): a zero limit would close every connection before its first byte.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// Caps on what clients can hold on the server, and how long they may
/// take to send a request. Cloning shares the long-poll slots and the
/// count of open connections.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Long-polls waiting at once.
    pub max_long_polls: usize,
    /// The longest a client may take to send a request's head; also how
    /// long an idle keep-alive connection stays open (default
    /// [`HEADER_READ_TIMEOUT`]).
    pub header_read_timeout: Duration,
    /// The longest a request body may take to arrive, else a 408 (default
    /// [`request::BODY_READ_TIMEOUT`]).
    pub body_read_timeout: Duration,
    long_polls: Arc<Semaphore>,
    open_connections: Arc<AtomicUsize>,
}

impl Limits {
    /// Caps of `max_connections` connections and `max_long_polls` waiting
    /// long-polls (each at least 1), with the default time limits.
    pub fn new(max_connections: usize, max_long_polls: usize) -> Self {
        Limits {
            max_connections: max_connections.max(1),
            max_long_polls: max_long_polls.max(1),
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: request::BODY_READ_TIMEOUT,
            long_polls: Arc::new(Semaphore::new(max_long_polls.max(1))),
            open_connections: Arc::default(),
        }
    }

    /// These limits with a request head (and an idle keep-alive connection)
    /// given at most `timeout` (at least 1 ms).
    #[must_use]
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(MIN_TIMEOUT);
        self
    }

    /// These limits with a request body given at most `timeout` to arrive
    /// (at least 1 ms).
    #[must_use]
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout.max(MIN_TIMEOUT);
        self
    }

    /// A long-poll slot, held while the poll waits; `None` when all are taken.
    pub fn try_long_poll(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.long_polls).try_acquire_owned().ok()
    }

    /// Counts one accepted connection in [`Limits::open_connections`]
    /// until the guard is dropped (when its task ends).
    pub(crate) fn connection_opened(&self) -> OpenConnection {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
        OpenConnection(Arc::clone(&self.open_connections))
    }

    /// How many accepted connections are served right now (by servers on
    /// these limits or a clone of them): what a test or a metric reads.
    pub fn open_connections(&self) -> usize {
        self.open_connections.load(Ordering::Relaxed)
    }

    /// How many long-poll slots are held right now (by these limits or a
    /// clone of them): what a test or a metric reads, never a decision.
    pub fn busy_long_polls(&self) -> usize {
        self.max_long_polls
            .saturating_sub(self.long_polls.available_permits())
    }
}

/// One connection counted in [`Limits::open_connections`] while it lives.
#[derive(Debug)]
pub(crate) struct OpenConnection(Arc<AtomicUsize>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Default for Limits {
    /// `config.toml`'s defaults: 1024 connections, 512 long-polls, 30 s for
    /// a request head, 60 s for a body.
    fn default() -> Self {
        Limits::new(1024, 512)
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No API key and a non-loopback address.
    #[error(
        "refusing to listen on {0} without an API key: anyone on the network could read and write \
         your data. Set one with --api-key (or `api_keys` in config.toml), or listen on 127.0.0.1"
    )]
    UnsafeBind(SocketAddr),
    /// Accepting connections failed.
    #[error("cannot accept connections: {0}")]
    Io(#[from] std::io::Error),
}

/// The listen-address rule: without an API key, loopback only.
pub fn check_bind_safety(addr: SocketAddr, has_api_keys: bool) -> Result<(), HttpError> {
    if has_api_keys || addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(HttpError::UnsafeBind(addr))
    }
}

/// The error body shape of the route family `path` belongs to (decided on
/// the raw path, so that even a path that does not decode gets it).
fn style_of(path: &str) -> Style {
    let path = path.trim_start_matches('/');
    if path.starts_with("datastores/") || path.starts_with("messaging-service/") {
        Style::V1
    } else if [
        "cloud/v2/",
        "session-api/",
        "ordered-data-stores/",
        "engine-api/",
        "emulator/",
        "cluster/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
    {
        Style::V2
    } else {
        Style::Gateway
    }
}

/// A family's part of a path: its table, the universe segment, the path
/// after it.
struct Selected<'p> {
    table: &'static Table,
    /// What the permissions know the family as.
    family: Family,
    universe: &'p str,
    rest: &'p str,
    /// 404/405 before the universe is checked (`:publishMessage`).
    method_first: bool,
}

/// `path` without the segments `prefix` (`Some("")` or `Some("/...")`).
fn strip_segments<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// `/{first}{rest}` split at the end of its first segment.
fn first_segment(path: &str) -> (&str, &str) {
    let path = path.strip_prefix('/').unwrap_or(path);
    match path.find('/') {
        Some(i) => (&path[..i], &path[i..]),
        None => (path, ""),
    }
}

/// The API family of a canonical path, or the error for a path of none.
fn select<'p>(path: &'p str, raw: &str) -> Result<Selected<'p>, (ApiError, Style)> {
    let families: [(&str, &'static Table, Family); 5] = [
        ("/datastores/v1", &v1::TABLE, Family::DataStoresV1),
        (
            "/messaging-service/v1",
            &messaging::TABLE_V1,
            Family::Messaging,
        ),
        ("/session-api/v1", &session_api::TABLE, Family::Sessions),
        (
            "/ordered-data-stores/v1",
            &ordered::TABLE_V1,
            Family::Ordered,
        ),
        ("/engine-api/v1", &ordered::ENGINE, Family::Engine),
    ];
    for (prefix, table, family) in families {
        if let Some(after) = strip_segments(path, prefix) {
            let no_universe = || {
                let e = ApiError::not_found(D::Unknown, "no such endpoint");
                (e, table.style)
            };
            let after = strip_segments(after, "/universes").ok_or_else(no_universe)?;
            if after.is_empty() {
                return Err(no_universe());
            }
            let (universe, rest) = first_segment(after);
            // The engine API is three tables: memory stores, the lock
            // history and ordered stores.
            let engine = prefix == "/engine-api/v1";
            let table = if engine && strip_segments(rest, "/memory-store").is_some() {
                &*memory::ENGINE
            } else if engine && strip_segments(rest, history::PREFIX).is_some() {
                &*history::TABLE
            } else {
                table
            };
            return Ok(Selected {
                table,
                family,
                universe,
                rest,
                method_first: false,
            });
        }
    }
    if let Some(rest) = strip_segments(path, "/cluster/v1") {
        return Ok(Selected {
            table: &cluster::TABLE,
            family: Family::Cluster,
            universe: "0",
            rest,
            method_first: false,
        });
    }
    // The control plane names universes inside its own routes.
    if let Some(rest) = strip_segments(path, "/emulator/v1") {
        return Ok(Selected {
            table: &emulator::TABLE,
            family: Family::Emulator,
            universe: "0",
            rest,
            method_first: false,
        });
    }
    if let Some(after) = strip_segments(path, "/cloud/v2/universes").filter(|a| !a.is_empty()) {
        let (id, rest) = first_segment(after);
        if let Some(universe) = id
            .strip_suffix(":publishMessage")
            .filter(|_| rest.is_empty())
        {
            return Ok(Selected {
                table: &messaging::TABLE_V2,
                family: Family::Messaging,
                universe,
                rest: "/",
                method_first: true,
            });
        }
        let v2_table: Option<(&'static Table, Family)> =
            if strip_segments(rest, "/data-stores").is_some() || rest == "/data-stores:snapshot" {
                Some((&v2::TABLE, Family::DataStoresV2))
            } else if strip_segments(rest, "/ordered-data-stores").is_some() {
                Some((&ordered::TABLE_V2, Family::Ordered))
            } else if strip_segments(rest, "/memory-store").is_some()
                || rest == "/memory-store:flush"
                || strip_segments(rest, "/operations").is_some()
            {
                Some((&memory::TABLE_V2, Family::Memory))
            } else {
                None
            };
        if let Some((table, family)) = v2_table {
            return Ok(Selected {
                table,
                family,
                universe: id,
                rest,
                method_first: false,
            });
        }
    }
    let e = ApiError::not_found(D::Unknown, format!("no endpoint at {raw}"));
    Err((e, Style::Gateway))
}

/// Parses the universe segment of a path.
fn universe(id: &str) -> Result<u64, ApiError> {
    id.parse().map_err(|_| {
        ApiError::bad_request(
            D::InvalidUniverseId,
            format!("`{}` is not a universe id", router::decode(id)),
        )
    })
}

async fn route(
    state: &Arc<AppState>,
    req: Request<Incoming>,
    body_read: router::BodyRead,
    caller: scopes::Caller<'_>,
) -> Result<Response<Body>, (ApiError, Style)> {
    let uri = req.uri().clone();
    let raw = uri.path();
    let path = request::canonical_path(raw).map_err(|e| (e, style_of(raw)))?;
    let query = Query::of(&req).map_err(|e| (e, style_of(raw)))?;
    let sel = select(&path, raw)?;
    let style = sel.table.style;
    // The control plane's gate, once for the whole family (each control's
    // handlers call it too): nothing under `/emulator/v1` runs without it.
    if std::ptr::eq(sel.table, &*emulator::TABLE) {
        state
            .controls
            .check(state.takes_keys())
            .map_err(|e| (e, style))?;
    }
    let find = || {
        sel.table
            .find(req.method(), sel.rest)
            .map_err(|e| (e, style))
    };
    let (found, universe) = if sel.method_first {
        let found = find()?;
        (found, universe(sel.universe).map_err(|e| (e, style))?)
    } else {
        let u = universe(sel.universe).map_err(|e| (e, style))?;
        (find()?, u)
    };
    // What the key must grant, decided once for every family.
    let store = match sel.family {
        Family::DataStoresV1 => query.get("datastoreName"),
        _ => found
            .1
            .iter()
            .find(|(k, _)| *k == "store")
            .map(|(_, v)| v.as_str()),
    };
    let needed = scopes::required(sel.family, req.method(), sel.rest, universe, store);
    caller.check(&needed).map_err(|e| (e, style))?;
    let req = match cluster::routed(state, req, sel.table, sel.rest, universe).await {
        Ok(cluster::Routed::Here(req)) => req,
        Ok(cluster::Routed::Forwarded(answer)) => return Ok(answer),
        Err(e) => return Err((e, style)),
    };
    emulator::budgets::gate(state, req.method(), &path, &query, req.headers(), universe)
        .await
        .map_err(|e| (e, style))?;
    router::call(found, Arc::clone(state), req, universe, query, body_read)
        .await
        .map_err(|e| (e, style))
}

/// Serves one request: request id, authentication, routing, error bodies.
async fn handle(
    state: Arc<AppState>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    // One arrival time for the request monitor and the metrics.
    let arrived = std::time::Instant::now();
    let started = state.metrics.started_at(arrived);
    let family = metrics::family_of(req.uri().path());
    let id = request::request_id();
    let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path(), key = tracing::field::Empty);
    async move {
        let (method, uri) = (req.method().clone(), req.uri().clone());
        let has_body = !hyper::body::Body::is_end_stream(req.body());
        let body_read = router::BodyRead::default();
        let caller = scopes::identify(req.headers(), &state.api_keys, &state.scoped_keys);
        let mut response = if let Some(r) = health::answer(&state, &req).await {
            r
        } else if ui::claims(req.method(), req.uri().path()) {
            ui::answer(&state, req, &body_read).await
        } else if let Some(r) = metrics::answer(&state, &req, caller.is_some()) {
            r
        } else if let Some(caller) = caller {
            if let Some(name) = caller.name() {
                tracing::Span::current().record("key", name);
            }
            match route(&state, req, body_read.clone(), caller).await {
                Ok(r) => r,
                Err((e, style)) => {
                    tracing::info!(status = e.status.as_u16(), error = %e.message, "request refused");
                    request::error(&e, style)
                }
            }
        } else {
            tracing::info!("rejected: missing or wrong API key");
            request::error(&ApiError::unauthorized(), Style::Gateway)
        };
        request::set_header(&mut response, headers::REQUEST_ID, &id);
        if let Some(cluster) = &state.cluster {
            // A forwarded answer keeps the home node's.
            if !response.headers().contains_key(headers::NODE) {
                request::set_header(&mut response, headers::NODE, cluster.node_id());
            }
        }
        if has_body && !body_read.is_read() {
            request::set_header(&mut response, "connection", "close");
        }
        tracing::debug!(status = response.status().as_u16(), "answered");
        let who = response.extensions().get::<monitor::CallerName>().map(|n| n.0.as_str());
        let who = who.unwrap_or_else(|| monitor::label(caller.as_ref()));
        state.dashboard.monitor.record(&method, uri.path(), response.status().as_u16(), arrived, who);
        state
            .metrics
            .http_request(family, response.status().as_u16(), started);
        Ok(response)
    }
    .instrument(span)
    .await
}
