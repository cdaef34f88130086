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

use std::sync::LazyLock;

use hyper::{HeaderMap, Method, Response, StatusCode};
use serde_json::Value;

use super::error::{ApiError, Style};
use super::request::{self, Body, Query};
use super::router::{handler, Call, Reply, Route, Table};
use super::AppState;
use crate::opencloud::codes::DetailCode as D;
use crate::opencloud::headers as h;
use crate::opencloud::messaging as wire;

/// `/messaging-service/v1/universes/{u}/...`: publish and long-poll.
pub(super) static TABLE_V1: LazyLock<Table> = LazyLock::new(|| {
    Table::new(Style::V1, "no such messaging endpoint")
        .route(
            "/topics/{topic}",
            Route::new().on(Method::POST, handler(publish_v1)),
        )
        .route(
            "/topics/{topic}/messages",
            Route::new().on(Method::GET, handler(poll)),
        )
});

/// `/cloud/v2/universes/{u}:publishMessage` (the table sees `/`).
pub(super) static TABLE_V2: LazyLock<Table> = LazyLock::new(|| {
    Table::new(Style::V2, "no such messaging endpoint")
        .route("/", Route::new().on(Method::POST, handler(publish_v2)))
});

/// The longest a long-poll waits.
pub(super) const MAX_POLL: Duration = Duration::from_secs(60);

/// The bus topic of an Open Cloud topic. One server has one bus, shared by
/// every universe it serves, so that a game server publishing over HTTP
/// reaches engines in this process (whose `PS_<session>` topics carry no
/// universe); the universe in the path is validated, not used.
pub(super) fn bus_topic(_universe: u64, topic: &str) -> String {
    topic.to_owned()
}

/// The payload of a publish body: `message` (Open Cloud's string), or the
/// whole body's `message` value of any JSON type (extension).
fn payload(body: &[u8]) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(D::ContentNotJson, format!("the body is not JSON: {e}"))
    })?;
    v.get("message")
        .cloned()
        .ok_or_else(|| ApiError::bad_request(D::Unknown, "the body needs a `message` field"))
}

/// v1 publish.
async fn publish_v1(mut c: Call) -> Reply {
    let body = c.body().await?;
    let message = payload(&body)?;
    let topic = bus_topic(c.universe, c.param("topic"));
    c.state.bus.publish(&topic, &message).await?;
    Ok(request::empty(StatusCode::OK))
}

/// v2 `:publishMessage` (`{"topic", "message"}`).
async fn publish_v2(mut c: Call) -> Reply {
    let body = c.body().await?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(D::ContentNotJson, format!("the body is not JSON: {e}"))
    })?;
    let topic = v
        .get("topic")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request(D::Unknown, "the body needs a `topic` string"))?;
    let message = payload(&body)?;
    c.state
        .bus
        .publish(&bus_topic(c.universe, topic), &message)
        .await?;
    Ok(request::json(
        StatusCode::OK,
        &crate::opencloud::v2::Empty {},
    ))
}

/// Where a read starts: `cursor` (from a previous answer, or the SSE
/// `Last-Event-ID`), else `since` (epoch ms: the first message published at
/// or after it), else the current end.
fn start_cursor(
    state: &AppState,
    topic: &str,
    q: &Query,
    headers: &HeaderMap,
) -> Result<Option<u64>, ApiError> {
    let last_event = request::header_text(headers, h::LAST_EVENT_ID)?;
    if let Some(c) = q.get("cursor").filter(|c| !c.is_empty()).or(last_event) {
        return state.bus.parse_cursor(c).map(Some).ok_or_else(|| {
            ApiError::bad_request(D::InvalidCursor, "cursor must come from a previous answer")
        });
    }
    match q.get("since").filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => {
            let ms = s.parse::<i64>().map_err(|_| {
                ApiError::bad_request(D::Unknown, "since is a time in Unix milliseconds")
            })?;
            Ok(Some(state.bus.cursor_at(topic, ms)?))
        }
    }
}

/// Long-poll (or, with `Accept: text/event-stream` or `?stream=sse`, a
/// server-sent-events stream): messages after the start cursor.
async fn poll(c: Call) -> Reply {
    let (state, q) = (&*c.state, &c.query);
    let topic = bus_topic(c.universe, c.param("topic"));
    let cursor = start_cursor(state, &topic, q, c.headers())?;
    if super::sse::wanted(c.headers(), q) {
        return sse(state, topic, cursor);
    }
    let timeout = request::wait_seconds(q, "timeout", Duration::from_secs(25), MAX_POLL)?;
    let max = q.number("limit", 100usize)?.clamp(1, 1000);
    let (messages, next) = if cursor.is_none() || timeout.is_zero() {
        state.bus.read_since(&topic, cursor, max)?
    } else {
        let _slot = state
            .limits
            .try_long_poll()
            .ok_or_else(|| ApiError::too_many_long_polls(state.limits.max_long_polls))?;
        tokio::select! {
            r = state.bus.wait_since(&topic, cursor, max, timeout) => r?,
            () = state.closing.cancelled() => state.bus.read_since(&topic, cursor, max)?,
        }
    };
    let body = wire::Poll {
        messages,
        cursor: state.bus.cursor_text(next),
    };
    Ok(request::json(StatusCode::OK, &body))
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
            let (messages, next) = bus
                .wait_since_numbered(&topic, Some(cursor), 100, wait)
                .await
                .ok()?;
            let events = messages
                .iter()
                .map(|(id, m)| super::sse::Event {
                    id: bus.cursor_text(*id),
                    kind: "message".into(),
                    data: serde_json::to_string(m).unwrap_or_default(),
                })
                .collect();
            Some((events, next))
        }
    })
}
