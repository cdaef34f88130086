//! MessagingService over HTTP: Open Cloud publishing and a long-poll
//! subscribe endpoint for game servers outside this process.
//!
//! Owns: `POST /messaging-service/v1/universes/{u}/topics/{t}`,
//! `POST /cloud/v2/universes/{u}:publishMessage`, and
//! `GET /messaging-service/v1/universes/{u}/topics/{t}/messages?cursor=&timeout=`
//! (long-poll; `since=<unix ms>` starts at a time instead of a cursor) and
//! the same path as a server-sent-events stream (`Accept:
//! text/event-stream` or `?stream=sse`, resumable with `Last-Event-ID`).
//! Cursors name the bus instance, so one from before a restart replays
//! what is retained instead of skipping new messages. Invariants: a published `message` string is delivered as that string,
//! and, as an extension, any other JSON value is delivered as it is; the
//! bus's limits apply; a long-poll waits at most [`MAX_POLL`] (a longer or
//! non-numeric `timeout` is a 400), at most `server.max_long_polls` wait at
//! once (more answer 429, and a waiting poll or an open stream holds its
//! slot however its client behaves), and it answers
//! `{"messages": [{"data", "sent"}], "cursor"}`; messages stay readable for
//! the bus's retention window (`[messaging]` in config.toml, 120 s and
//! 1000 messages per topic by default).

use std::time::Duration;

use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

use super::error::ApiError;
use super::request::{self, Body, Query};
use super::AppState;

/// The longest a long-poll waits.
pub const MAX_POLL: Duration = Duration::from_secs(60);

/// The bus topic of an Open Cloud topic. One server has one bus, shared by
/// every universe it serves, so that a game server publishing over HTTP
/// reaches engines in this process (whose `PS_<session>` topics carry no
/// universe); the universe in the path is validated, not used.
pub fn bus_topic(_universe: u64, topic: &str) -> String {
    topic.to_owned()
}

/// The payload of a publish body: `message` (Open Cloud's string), or the
/// whole body's `message` value of any JSON type (extension).
fn payload(body: &[u8]) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("ContentNotJson", format!("the body is not JSON: {e}"))
    })?;
    v.get("message")
        .cloned()
        .ok_or_else(|| ApiError::bad_request("Unknown", "the body needs a `message` field"))
}

/// v1 publish.
pub async fn publish_v1(
    state: &AppState,
    universe: u64,
    topic: &str,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let message = payload(body)?;
    state
        .bus
        .publish(&bus_topic(universe, topic), &message)
        .await?;
    Ok(request::empty(StatusCode::OK))
}

/// v2 `:publishMessage` (`{"topic", "message"}`).
pub async fn publish_v2(
    state: &AppState,
    universe: u64,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("ContentNotJson", format!("the body is not JSON: {e}"))
    })?;
    let topic = v
        .get("topic")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("Unknown", "the body needs a `topic` string"))?;
    let message = payload(body)?;
    state
        .bus
        .publish(&bus_topic(universe, topic), &message)
        .await?;
    Ok(request::json(StatusCode::OK, &json!({})))
}

/// Where a read starts: `cursor` (from a previous answer, or the SSE
/// `Last-Event-ID`), else `since` (epoch ms: the first message published at
/// or after it), else the current end.
fn start_cursor<B>(
    state: &AppState,
    topic: &str,
    q: &Query,
    req: &Request<B>,
) -> Result<Option<u64>, ApiError> {
    let last_event = request::header_text(req.headers(), "last-event-id")?;
    if let Some(c) = q.get("cursor").filter(|c| !c.is_empty()).or(last_event) {
        return state.bus.parse_cursor(c).map(Some).ok_or_else(|| {
            ApiError::bad_request("InvalidCursor", "cursor must come from a previous answer")
        });
    }
    match q.get("since").filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => {
            let ms = s.parse::<i64>().map_err(|_| {
                ApiError::bad_request("Unknown", "since is a time in Unix milliseconds")
            })?;
            Ok(Some(state.bus.cursor_at(topic, ms)?))
        }
    }
}

/// Long-poll (or, with `Accept: text/event-stream` or `?stream=sse`, a
/// server-sent-events stream): messages after the start cursor.
pub async fn poll<B>(
    state: &AppState,
    universe: u64,
    topic: &str,
    req: &Request<B>,
) -> Result<Response<Body>, ApiError> {
    let q = Query::of(req)?;
    let topic = bus_topic(universe, topic);
    let cursor = start_cursor(state, &topic, &q, req)?;
    if super::sse::wanted(req, &q) {
        return sse(state, topic, cursor);
    }
    let timeout = request::wait_seconds(&q, "timeout", Duration::from_secs(25), MAX_POLL)?;
    let max = q.number("limit", 100usize)?.clamp(1, 1000);
    let (messages, next) = if cursor.is_none() || timeout.is_zero() {
        state.bus.read_since(&topic, cursor, max)?
    } else {
        let _slot = state
            .limits
            .try_long_poll()
            .ok_or_else(|| ApiError::too_many_long_polls(state.limits.max_long_polls))?;
        let mut closing = state.closing.clone();
        tokio::select! {
            r = state.bus.wait_since(&topic, cursor, max, timeout) => r?,
            _ = closing.wait_for(|c| *c) => state.bus.read_since(&topic, cursor, max)?,
        }
    };
    Ok(request::json(
        StatusCode::OK,
        &json!({"messages": messages, "cursor": state.bus.cursor_text(next)}),
    ))
}

/// A server-sent-events stream: one `message` event per message, its `id`
/// the cursor after it (what `Last-Event-ID` resumes from).
fn sse(state: &AppState, topic: String, cursor: Option<u64>) -> Result<Response<Body>, ApiError> {
    let bus = state.bus.clone();
    let start = match cursor {
        Some(c) => c,
        None => bus.read_since(&topic, None, 1)?.1,
    };
    super::sse::stream(state, start, move |cursor, wait| {
        let (bus, topic) = (bus.clone(), topic.clone());
        async move {
            let (messages, next) = bus.wait_since(&topic, Some(cursor), 100, wait).await.ok()?;
            let first = next + 1 - messages.len() as u64;
            let events = messages
                .iter()
                .enumerate()
                .map(|(i, m)| super::sse::Event {
                    id: bus.cursor_text(first + i as u64),
                    kind: "message".into(),
                    data: serde_json::to_string(m).unwrap_or_default(),
                })
                .collect();
            Some((events, next))
        }
    })
}
