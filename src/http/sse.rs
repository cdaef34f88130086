//! Server-sent-event streams (messages and session events).
//!
//! Owns: the stream's life: its long-poll slot, the opening comment that
//! flushes the headers, keep-alive comments, the event wire format and the
//! end (client gone or server closing). Invariants: a stream holds one
//! long-poll slot until it ends; a slow reader slows the producer (bounded
//! channel) instead of growing memory; nothing waits past shutdown.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use hyper::Response;

use super::error::ApiError;
use super::request::{self, Body};
use super::AppState;

/// How long an idle stream waits before a keep-alive comment, so proxies
/// and clients see the connection is alive.
pub(super) const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One event: `id` (what `Last-Event-ID` resumes from), `event` and `data`.
#[derive(Debug)]
pub(super) struct Event {
    /// The event id.
    pub id: String,
    /// The event name.
    pub kind: String,
    /// The data line (compact JSON).
    pub data: String,
}

/// Starts a stream. `next(cursor, wait)` waits up to `wait` for events
/// after `cursor` and returns them with the next cursor, or `None` to end
/// the stream.
pub(super) fn stream<C, F, Fut>(
    state: &AppState,
    mut cursor: C,
    mut next: F,
) -> Result<Response<Body>, ApiError>
where
    C: Send + 'static,
    F: FnMut(C, Duration) -> Fut + Send + 'static,
    Fut: Future<Output = Option<(Vec<Event>, C)>> + Send,
{
    let slot = state
        .limits
        .try_long_poll()
        .ok_or_else(|| ApiError::too_many_long_polls(state.limits.max_long_polls))?;
    let closing = state.closing.clone();
    let (tx, body) = request::channel(16);
    tokio::spawn(async move {
        let _slot = slot;
        if tx
            .send(Bytes::from_static(b": connected\n\n"))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let batch = tokio::select! {
                b = next(cursor, KEEP_ALIVE) => b,
                () = closing.cancelled() => return,
            };
            let Some((events, after)) = batch else { return };
            cursor = after;
            let mut chunk = String::new();
            if events.is_empty() {
                chunk.push_str(": keep-alive\n\n");
            }
            for e in &events {
                chunk.push_str(&format!(
                    "id: {}\nevent: {}\ndata: {}\n\n",
                    e.id, e.kind, e.data
                ));
            }
            if tx.send(Bytes::from(chunk)).await.is_err() {
                return;
            }
        }
    });
    let mut r = Response::new(body);
    request::set_header(&mut r, "content-type", "text/event-stream");
    request::set_header(&mut r, "cache-control", "no-cache");
    Ok(r)
}

/// True when the client asked for server-sent events (`Accept:
/// text/event-stream` or `?stream=sse`).
pub(super) fn wanted(headers: &hyper::HeaderMap, q: &request::Query) -> bool {
    q.get("stream")
        .is_some_and(|s| s.eq_ignore_ascii_case("sse"))
        || headers
            .get(hyper::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/event-stream"))
}
