//! Accepting connections and shutting down: the accept loop (plain or
//! TLS), one task per connection on a `TaskTracker`, the connection cap,
//! the header-read timer, and the graceful shutdown order.
//!
//! Owns: [`run`], [`serve_on`], [`serve_io`]. Invariants: at most
//! `max_connections` connections are served at once (a slot is taken
//! before accepting, so the rest wait in the listen backlog); a TLS
//! handshake is bounded by the header-read timeout; shutdown stops
//! accepting, cancels `closing`, ends the sessions (final saves), leaves
//! the cluster, drains every connection, then flushes storage.

use std::future::Future;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{handle, tls, AppState, HttpError, Limits};

/// The HTTP/1.1 settings of every connection under `limits`.
fn connection_builder(limits: &Limits) -> http1::Builder {
    let mut builder = http1::Builder::new();
    // Without a timer hyper enforces no header timeout at all.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
}

/// Serves one accepted connection until it ends, or finishes its request
/// and closes once `drain` is cancelled.
async fn serve_connection<I>(
    builder: &http1::Builder,
    state: Arc<AppState>,
    io: I,
    drain: &CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(Arc::clone(&state), req));
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        () = drain.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Serves one connection over any byte stream, as [`run`] serves each
/// accepted socket (for fuzzing: requests over an in-memory pipe).
#[doc(hidden)]
pub async fn serve_io<I>(state: Arc<AppState>, io: I) -> Result<(), hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let builder = connection_builder(&state.limits);
    let service = service_fn(move |req| handle(Arc::clone(&state), req));
    builder.serve_connection(TokioIo::new(io), service).await
}

/// Serves `listener` (plain HTTP) until `shutdown` resolves: [`serve_on`]
/// without TLS.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> Result<(), HttpError> {
    serve_on(listener, state, None, shutdown).await
}

/// Serves `listener` until `shutdown` resolves, over TLS when `tls` is
/// given (the handshake is bounded by [`Limits::header_read_timeout`]);
/// then stops accepting, cancels `state.closing`, ends the sessions, waits
/// for in-flight requests and flushes storage.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    tls: Option<tls::Tls>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), HttpError> {
    let state = Arc::new(state);
    let connections = Arc::new(Semaphore::new(state.limits.max_connections));
    let builder = connection_builder(&state.limits);
    // Connections finish their requests and close once `drain` is
    // cancelled: after the sessions ended, as their final saves may still
    // answer requests in flight.
    let drain = CancellationToken::new();
    let tasks = TaskTracker::new();
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
                let open = state.limits.connection_opened();
                let (state, builder, drain) = (Arc::clone(&state), builder.clone(), drain.clone());
                let tls = tls.clone();
                tasks.spawn(async move {
                    match tls {
                        None => serve_connection(&builder, state, stream, &drain).await,
                        Some(tls) => {
                            let limit = state.limits.header_read_timeout;
                            if let Some(stream) = tls.handshake(stream, limit, &drain).await {
                                serve_connection(&builder, state, stream, &drain).await;
                            }
                        }
                    }
                    drop((open, slot));
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    state.closing.cancel();
    // Sessions first: their final saves are acknowledged writes too, and
    // ending them releases start requests still waiting.
    state.sessions.shutdown().await;
    // Then other nodes may adopt this node's game servers.
    if let Some(cluster) = &state.cluster {
        cluster.shutdown().await;
    }
    drain.cancel();
    tasks.close();
    tasks.wait().await;
    // The lock history records the final saves before storage is flushed.
    state.history.shutdown().await;
    state
        .datastores
        .flush()
        .await
        .map_err(|e| HttpError::Io(std::io::Error::other(format!("final flush failed: {e}"))))?;
    Ok(())
}
