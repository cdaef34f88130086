//! The HTTP server: Open Cloud's DataStore and MessagingService APIs.
//!
//! Owns: accepting connections (hyper, HTTP/1.1), routing, authentication,
//! request ids, graceful shutdown, the listen-address safety rule, the
//! resource limits ([`Limits`]). Invariants: every request is authenticated before it is
//! routed (when keys are configured); without an API key the server only
//! listens on loopback; at most `max_connections` connections are served
//! at once (the rest wait in the listen backlog); a connection that takes
//! longer than [`HEADER_READ_TIMEOUT`] to send a request head (slowloris,
//! or idle keep-alive) is closed; shutdown stops accepting, lets in-flight
//! requests finish, then flushes storage.

pub mod error;
mod messaging;
pub mod request;
mod session_api;
mod sse;
mod v1;
mod v2;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::bus::MessageBus;
use crate::datastore::DataStoreService;
use error::{ApiError, Style};
use request::{Body, Query};

/// What the server serves.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The DataStore layer.
    pub datastores: DataStoreService,
    /// The message bus (shared with engines in this process).
    pub bus: MessageBus,
    /// Accepted `x-api-key` values; empty means no authentication.
    pub api_keys: Vec<String>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Becomes true when the server shuts down (ends long-polls).
    pub closing: watch::Receiver<bool>,
    /// The engine run for remote game servers (session API).
    pub sessions: crate::sessions::SessionHost,
    /// Connection and long-poll caps.
    pub limits: Limits,
}

/// The longest a client may take to send a request's head; also how long
/// an idle keep-alive connection stays open.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Caps on what clients can hold on the server. Cloning shares the
/// long-poll slots.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Long-polls waiting at once.
    pub max_long_polls: usize,
    long_polls: Arc<Semaphore>,
}

impl Limits {
    /// Caps of `max_connections` connections and `max_long_polls` waiting
    /// long-polls (each at least 1).
    pub fn new(max_connections: usize, max_long_polls: usize) -> Self {
        Limits {
            max_connections: max_connections.max(1),
            max_long_polls: max_long_polls.max(1),
            long_polls: Arc::new(Semaphore::new(max_long_polls.max(1))),
        }
    }

    /// A long-poll slot, held while the poll waits; `None` when all are taken.
    pub fn try_long_poll(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.long_polls).try_acquire_owned().ok()
    }
}

impl Default for Limits {
    /// `config.toml`'s defaults: 1024 connections, 512 long-polls.
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
    } else if path.starts_with("cloud/v2/") || path.starts_with("session-api/") {
        Style::V2
    } else {
        Style::Gateway
    }
}

/// Parses `universes/{u}` at the start of `segments`.
fn universe(segments: &[&str]) -> Result<u64, ApiError> {
    match segments {
        ["universes", id, ..] => id.parse().map_err(|_| {
            ApiError::bad_request("InvalidUniverseId", format!("`{id}` is not a universe id"))
        }),
        _ => Err(ApiError::not_found("Unknown", "no such endpoint")),
    }
}

async fn route(
    state: &AppState,
    req: Request<Incoming>,
) -> Result<Response<Body>, (ApiError, Style)> {
    let path = req.uri().path().to_owned();
    let decoded = request::path_segments(&path).map_err(|e| (e, style_of(&path)))?;
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    if let Err(e) = Query::of(&req) {
        return Err((e, style_of(&path)));
    }
    match segments.as_slice() {
        ["datastores", "v1", rest @ ..] => {
            let u = universe(rest).map_err(|e| (e, Style::V1))?;
            match rest {
                [_, _, "standard-datastores", tail @ ..] => v1::route(state, req, u, tail)
                    .await
                    .map_err(|e| (e, Style::V1)),
                _ => Err((
                    ApiError::not_found("Unknown", "no such v1 endpoint"),
                    Style::V1,
                )),
            }
        }
        ["messaging-service", "v1", rest @ ..] => {
            let u = universe(rest).map_err(|e| (e, Style::V1))?;
            match (req.method().clone(), rest) {
                (Method::POST, [_, _, "topics", topic]) => {
                    let topic = topic.to_string();
                    let body = request::body(req, state.max_body_bytes)
                        .await
                        .map_err(|e| (e, Style::V1))?;
                    messaging::publish_v1(state, u, &topic, &body)
                        .await
                        .map_err(|e| (e, Style::V1))
                }
                (Method::GET, [_, _, "topics", topic, "messages"]) => {
                    messaging::poll(state, u, topic, &req)
                        .await
                        .map_err(|e| (e, Style::V1))
                }
                (method, rest) => {
                    let allowed: &[&str] = match rest {
                        [_, _, "topics", _] => &["POST"],
                        [_, _, "topics", _, "messages"] => &["GET"],
                        _ => &[],
                    };
                    Err((
                        request::no_route(&method, allowed, "no such messaging endpoint"),
                        Style::V1,
                    ))
                }
            }
        }
        ["session-api", "v1", rest @ ..] => {
            let u = universe(rest).map_err(|e| (e, Style::V2))?;
            let tail: Vec<&str> = rest.iter().skip(2).copied().collect();
            session_api::route(state, req, u, &tail)
                .await
                .map_err(|e| (e, Style::V2))
        }
        ["cloud", "v2", "universes", id] if id.ends_with(":publishMessage") => {
            if req.method() != Method::POST {
                return Err((
                    ApiError::method_not_allowed(req.method().as_str(), &["POST"]),
                    Style::V2,
                ));
            }
            let u = universe(&["universes", id.trim_end_matches(":publishMessage")])
                .map_err(|e| (e, Style::V2))?;
            let body = request::body(req, state.max_body_bytes)
                .await
                .map_err(|e| (e, Style::V2))?;
            messaging::publish_v2(state, u, &body)
                .await
                .map_err(|e| (e, Style::V2))
        }
        ["cloud", "v2", "universes", id, rest @ ..] if rest.first() == Some(&"data-stores") => {
            let u = universe(&["universes", id]).map_err(|e| (e, Style::V2))?;
            let rest: Vec<&str> = rest.to_vec();
            v2::route(state, req, u, &rest)
                .await
                .map_err(|e| (e, Style::V2))
        }
        _ => Err((
            ApiError::not_found("Unknown", format!("no endpoint at {path}")),
            Style::Gateway,
        )),
    }
}

/// Serves one request: request id, authentication, routing, error bodies.
async fn handle(
    state: Arc<AppState>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let span =
        tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
    async move {
        let mut response = if !request::authorized(req.headers(), &state.api_keys) {
            tracing::info!("rejected: missing or wrong API key");
            request::error(&ApiError::unauthorized(), Style::Gateway)
        } else {
            match route(&state, req).await {
                Ok(r) => r,
                Err((e, style)) => {
                    tracing::info!(status = e.status.as_u16(), error = %e.message, "request refused");
                    request::error(&e, style)
                }
            }
        };
        request::set_header(&mut response, "x-request-id", &id);
        tracing::debug!(status = response.status().as_u16(), "answered");
        Ok(response)
    }
    .instrument(span)
    .await
}

/// The HTTP/1.1 settings of every connection.
fn connection_builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    // Without a timer hyper enforces no header timeout at all.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
}

/// Serves one connection over any byte stream, as [`run`] serves each
/// accepted socket (for fuzzing: requests over an in-memory pipe).
#[doc(hidden)]
pub async fn serve_io<I>(state: Arc<AppState>, io: I) -> Result<(), hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(Arc::clone(&state), req));
    connection_builder()
        .serve_connection(TokioIo::new(io), service)
        .await
}

/// Serves `listener` until `shutdown` resolves; then stops accepting, waits
/// for in-flight requests and flushes storage.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    closing: watch::Sender<bool>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), HttpError> {
    let state = Arc::new(state);
    let connections = Arc::new(Semaphore::new(state.limits.max_connections));
    let builder = connection_builder();
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // Take a connection slot before accepting, so that excess clients
        // queue in the kernel's backlog instead of in our memory.
        let slot = tokio::select! {
            slot = Arc::clone(&connections).acquire_owned() => slot.expect("never closed"),
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let state = Arc::clone(&state);
                let service = service_fn(move |req| handle(Arc::clone(&state), req));
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(slot);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    closing.send_replace(true);
    // Sessions first: their final saves are acknowledged writes too, and
    // ending them releases start requests still waiting.
    state.sessions.shutdown().await;
    graceful.shutdown().await;
    state
        .datastores
        .flush()
        .await
        .map_err(|e| HttpError::Io(std::io::Error::other(format!("final flush failed: {e}"))))?;
    Ok(())
}
