//! Session API: a game server's events (`GET /servers/{job}/events`),
//! long-poll or server-sent events.
//!
//! Owns: the read parameters and both transports. Invariants: everything
//! is checked before the game server is touched; a first read without a
//! cursor starts at the oldest kept event; a waiting poll holds a
//! long-poll slot and ends at shutdown with what is there; an open stream
//! renews the lease.

use std::sync::Arc;
use std::time::Duration;

use hyper::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::place_id;
use crate::http::error::ApiError;
use crate::http::request::{self, Query};
use crate::http::router::{Call, Reply};
use crate::http::{sse, AppState};
use crate::opencloud::codes::DetailCode as D;
use crate::opencloud::headers as h;
use crate::sessions::wire::Events;
use crate::sessions::GameServer;

/// The longest an event long-poll waits.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// How a game server reads its events.
struct EventsRead {
    cursor: u64,
    sse: bool,
    timeout: Duration,
}

/// The parameters of an events read, checked before anything happens.
fn events_query(q: &Query, headers: &HeaderMap) -> Result<EventsRead, ApiError> {
    let last_event = request::header_text(headers, h::LAST_EVENT_ID)?;
    let cursor = match q.get("cursor").filter(|c| !c.is_empty()).or(last_event) {
        None => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| {
            ApiError::bad_request(D::InvalidCursor, "cursor must come from a previous answer")
        })?),
    };
    // A first read without a cursor starts at the oldest kept event, so
    // nothing that happened before the game server's first poll is lost.
    let cursor = cursor.unwrap_or(0);
    let sse = sse::wanted(headers, q);
    let timeout = if sse {
        Duration::ZERO
    } else {
        request::wait_seconds(q, "timeout", Duration::from_secs(25), MAX_WAIT)?
    };
    Ok(EventsRead {
        cursor,
        sse,
        timeout,
    })
}

/// `GET /servers/{job}/events`: long-poll, or SSE with `Accept:
/// text/event-stream` / `?stream=sse` (resumable with `Last-Event-ID`).
pub(super) async fn read(c: Call) -> Reply {
    let place = place_id(&Value::Object(Map::new()), &c.query)?;
    let read = events_query(&c.query, c.headers())?;
    let server = c.state.sessions.server(c.universe, place, c.param("job"))?;
    let state = &*c.state;
    if read.sse {
        return event_stream(state, server, read.cursor);
    }
    let _slot = if read.timeout.is_zero() {
        None
    } else {
        Some(
            state
                .limits
                .try_long_poll()
                .ok_or_else(|| ApiError::too_many_long_polls(state.limits.max_long_polls))?,
        )
    };
    let _busy = server.busy();
    let (events, next) = tokio::select! {
        r = server.events.wait_since(Some(read.cursor), 100, read.timeout) => r,
        () = state.closing.cancelled() => server.events.read_since(Some(read.cursor), 100),
    };
    let body = Events {
        events,
        cursor: next.to_string(),
    };
    Ok(request::json(StatusCode::OK, &body))
}

fn event_stream(state: &AppState, server: Arc<GameServer>, cursor: u64) -> Reply {
    let host = state.sessions.clone();
    sse::stream(state, cursor, move |cursor, wait| {
        let (host, server) = (host.clone(), Arc::clone(&server));
        async move {
            let busy = server.busy();
            let (events, next) = server.events.wait_since(Some(cursor), 100, wait).await;
            drop(busy);
            // An open stream counts as activity: it keeps the lease.
            host.touch(&server);
            let events = events
                .iter()
                .map(|e| sse::Event {
                    id: e.get("id").map(Value::to_string).unwrap_or_default(),
                    kind: e
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("event")
                        .to_owned(),
                    data: e.to_string(),
                })
                .collect();
            Some((events, next))
        }
    })
}
