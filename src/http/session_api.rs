//! The session API: ProfileStore for game servers in any language
//! (`/session-api/v1/universes/{u}/...`, documented in
//! `docs/session-api.md`).
//!
//! Owns: the routes and their JSON bodies; the model is
//! [`crate::sessions::SessionHost`]. Invariants: every call naming a
//! session needs `loadCount` (its fence) and a stale one is a 409 with
//! nothing written; every call of a game server renews its lease; errors
//! use Open Cloud v2's body shape.

use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::request::{self, Body, Query};
use super::AppState;
use crate::datastore::{user_ids_from_json, validate, SortOrder};
use crate::sessions::{key_info_json, view, GameServer, Patch, SessionError};

/// The longest an event long-poll waits.
const MAX_WAIT: Duration = Duration::from_secs(60);

async fn json_body(state: &AppState, req: Request<Incoming>) -> Result<Value, ApiError> {
    let bytes = request::body(req, state.max_body_bytes).await?;
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    let v = crate::datastore::parse_value_text(&bytes)?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(ApiError::bad_request(
            "Unknown",
            "the body must be a JSON object",
        ))
    }
}

fn load_count(q: &Query) -> Result<u64, ApiError> {
    q.require("loadCount", "Unknown")?.parse().map_err(|_| {
        ApiError::bad_request(
            "Unknown",
            "loadCount is the session's load count (a number)",
        )
    })
}

fn place_id(body: &Value, q: &Query) -> Result<u64, ApiError> {
    match body.get("placeId") {
        Some(v) => v
            .as_u64()
            .ok_or_else(|| ApiError::bad_request("Unknown", "placeId must be a number")),
        None => q.number("placeId", 0u64),
    }
}

fn patch_of(body: &Value) -> Result<Patch, ApiError> {
    let metadata = match body.get("metadata") {
        None => None,
        Some(m) => {
            let map: Map<String, Value> = validate::metadata_from_json(m)?;
            validate::metadata(&map)?;
            Some(map)
        }
    };
    let user_ids = match body.get("userIds") {
        None => None,
        Some(ids) => Some(user_ids_from_json(ids)?),
    };
    Ok(Patch {
        data: body.get("data").cloned(),
        metadata,
        user_ids,
    })
}

/// Routes `rest`, the path after `/session-api/v1/universes/{u}`.
pub async fn route(
    state: &AppState,
    req: Request<Incoming>,
    universe: u64,
    rest: &[&str],
) -> Result<Response<Body>, ApiError> {
    let q = Query::of(&req)?;
    let method = req.method().clone();
    let host = &state.sessions;
    match (method, rest) {
        (Method::POST, ["servers", job, "sessions"]) => {
            let job = (*job).to_owned();
            let body = json_body(state, req).await?;
            let place = place_id(&body, &q)?;
            let store = str_field(&body, "store")?;
            let key = str_field(&body, "key")?;
            names(&store, &key)?;
            let template = body.get("template").cloned().unwrap_or_else(|| json!({}));
            let steal = body.get("steal").and_then(Value::as_bool).unwrap_or(false);
            let timeout = match body.get("timeoutSeconds") {
                None | Some(Value::Null) => None,
                Some(t) => Some(Duration::from_secs_f64(
                    t.as_f64()
                        .filter(|t| t.is_finite() && *t >= 0.0)
                        .ok_or_else(|| {
                            ApiError::bad_request(
                                "Unknown",
                                "timeoutSeconds must be a positive number",
                            )
                        })?
                        .min(3600.0),
                )),
            };
            // Everything is checked before the game server is registered:
            // a refused request starts no engine (whose first DataStore
            // call writes the `____PS` access probe).
            let server = host.server(universe, place, &job)?;
            let profile = server.start(&store, &key, template, steal, timeout).await?;
            Ok(request::json(StatusCode::OK, &json!({"profile": profile})))
        }
        (Method::DELETE, ["servers", job]) => {
            let removed = host.remove_server(universe, job).await;
            Ok(request::json(StatusCode::OK, &json!({"ended": removed})))
        }
        (Method::POST, ["servers", job]) => {
            let body = json_body(state, req).await?;
            host.server(universe, place_id(&body, &q)?, job)?;
            Ok(request::json(
                StatusCode::OK,
                &json!({"leaseSeconds": host.lease().as_secs_f64()}),
            ))
        }
        (Method::GET, ["servers", job, "events"]) => {
            let place = place_id(&json!({}), &q)?;
            let read = events_query(&q, &req)?;
            let server = host.server(universe, place, job)?;
            events(state, &server, read).await
        }
        (Method::GET, ["servers", job, "sessions", store, key]) => {
            names(store, key)?;
            let server = known(state, universe, job)?;
            let profile = server.current(store, key)?;
            Ok(request::json(StatusCode::OK, &view(store, &profile)))
        }
        (Method::PATCH, ["servers", job, "sessions", store, key]) => {
            let (job, store, key) = ((*job).to_owned(), (*store).to_owned(), (*key).to_owned());
            let count = load_count(&q)?;
            names(&store, &key)?;
            let body = json_body(state, req).await?;
            let patch = patch_of(&body)?;
            let server = known(state, universe, &job)?;
            let profile = server.session(&store, &key, count)?;
            server.patch(&profile, patch)?;
            Ok(request::json(StatusCode::OK, &view(&store, &profile)))
        }
        (Method::POST, ["servers", job, "sessions", store, key_verb]) => {
            let (key, verb) = verb(key_verb, &["save", "end"])?;
            names(store, key)?;
            let count = load_count(&q)?;
            let server = known(state, universe, job)?;
            let profile = server.session(store, key, count)?;
            match verb {
                "save" => {
                    profile.save().await.map_err(SessionError::from)?;
                    Ok(request::json(StatusCode::OK, &view(store, &profile)))
                }
                _ => {
                    profile.end_session().await;
                    Ok(request::json(StatusCode::OK, &view(store, &profile)))
                }
            }
        }
        (Method::POST, ["servers", job, "sessions", store, key, "messages", index_verb]) => {
            let (index, _) = verb(index_verb, &["processed"])?;
            let index: u64 = index
                .parse()
                .map_err(|_| ApiError::bad_request("Unknown", "the message index is a number"))?;
            names(store, key)?;
            let count = load_count(&q)?;
            let server = known(state, universe, job)?;
            let profile = server.session(store, key, count)?;
            let found = profile.mark_message_processed(index);
            Ok(request::json(StatusCode::OK, &json!({"processed": found})))
        }
        (Method::POST, ["stores", store, key_verb]) => {
            let (key, _) = verb(key_verb, &["message"])?;
            let (store, key) = ((*store).to_owned(), key.to_owned());
            names(&store, &key)?;
            let body = json_body(state, req).await?;
            let message = body
                .get("message")
                .cloned()
                .ok_or_else(|| ApiError::bad_request("Unknown", "the body needs a `message`"))?;
            let ps = host.api_store(universe, &store)?;
            ps.message(&key, message)
                .await
                .map_err(SessionError::from)?;
            Ok(request::json(StatusCode::OK, &json!({"sent": true})))
        }
        (Method::GET, ["stores", store, key]) => {
            names(store, key)?;
            let version = q.get("version").filter(|v| !v.is_empty());
            if version.is_some_and(|v| crate::datastore::VersionId::parse(v).is_none()) {
                return Err(ApiError::bad_request(
                    "InvalidVersionId",
                    "version must be a version id from the versions listing",
                ));
            }
            let ps = host.api_store(universe, store)?;
            let found = ps.get(key, version).await.map_err(SessionError::from)?;
            match found {
                Some(p) => Ok(request::json(StatusCode::OK, &read_only_view(store, &p))),
                None => Err(ApiError::not_found(
                    "NotFound",
                    format!("no profile `{key}` in `{store}`"),
                )),
            }
        }
        (Method::PUT, ["stores", store, key]) => {
            let (store, key) = ((*store).to_owned(), (*key).to_owned());
            names(&store, &key)?;
            let body = json_body(state, req).await?;
            let patch = patch_of(&body)?;
            if patch.data.as_ref().is_some_and(|d| !d.is_object()) {
                return Err(ApiError::bad_request(
                    "Unknown",
                    "`data` must be a JSON object",
                ));
            }
            let ps = host.api_store(universe, &store)?;
            let Some(mut profile) = ps.get(&key, None).await.map_err(SessionError::from)? else {
                return Err(ApiError::not_found(
                    "NotFound",
                    format!("no profile `{key}` in `{store}`: a session must create it first"),
                ));
            };
            if let Some(data) = patch.data {
                *profile.data_mut() = data;
            }
            if let Some(m) = patch.metadata {
                *profile.roblox_metadata_mut() = m;
            }
            profile.set().await.map_err(SessionError::from)?;
            Ok(request::json(
                StatusCode::OK,
                &read_only_view(&store, &profile),
            ))
        }
        (Method::GET, ["stores", store, key, "versions"]) => {
            let order = match q.get("order").map(str::to_ascii_lowercase).as_deref() {
                None | Some("") | Some("ascending") => SortOrder::Ascending,
                Some("descending") => SortOrder::Descending,
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "Unknown",
                        "order is ascending or descending",
                    ))
                }
            };
            let time = |name: &str| -> Result<Option<i64>, ApiError> {
                q.get(name)
                    .filter(|t| !t.is_empty())
                    .map(|t| {
                        t.parse::<i64>().map_err(|_| {
                            ApiError::bad_request("Unknown", format!("{name} is Unix milliseconds"))
                        })
                    })
                    .transpose()
            };
            let limit = q.number("limit", 10usize)?.clamp(1, 100);
            names(store, key)?;
            let ps = host.api_store(universe, store)?;
            let query = ps.version_query(key, order, time("minTime")?, time("maxTime")?);
            let mut versions = Vec::new();
            while versions.len() < limit {
                match query.next().await.map_err(SessionError::from)? {
                    Some(p) => versions.push(read_only_view(store, &p)),
                    None => break,
                }
            }
            Ok(request::json(
                StatusCode::OK,
                &json!({"versions": versions}),
            ))
        }
        (method, rest) => {
            let allowed: &[&str] = match rest {
                ["servers", _] => &["POST", "DELETE"],
                ["servers", _, "sessions"] => &["POST"],
                ["servers", _, "events"] => &["GET"],
                ["servers", _, "sessions", _, k] if is_verb(k, &["save", "end"]) => &["POST"],
                ["servers", _, "sessions", _, _] => &["GET", "PATCH"],
                ["servers", _, "sessions", _, _, "messages", i] if is_verb(i, &["processed"]) => {
                    &["POST"]
                }
                ["stores", _, k] if is_verb(k, &["message"]) => &["POST"],
                ["stores", _, _] => &["GET", "PUT"],
                ["stores", _, _, "versions"] => &["GET"],
                _ => &[],
            };
            Err(request::no_route(
                &method,
                allowed,
                "no such session API endpoint; see docs/session-api.md",
            ))
        }
    }
}

/// Checks a profile's store name and key before any engine is involved.
fn names(store: &str, key: &str) -> Result<(), ApiError> {
    validate::data_store_name(store)?;
    validate::key(key)?;
    Ok(())
}

fn known(
    state: &AppState,
    universe: u64,
    job: &str,
) -> Result<std::sync::Arc<GameServer>, ApiError> {
    state.sessions.existing(universe, job).ok_or_else(|| {
        ApiError::from(SessionError::BadRequest(format!(
            "game server `{job}` has no sessions here (its lease may have expired); start a session first"
        )))
    })
}

fn str_field(body: &Value, name: &str) -> Result<String, ApiError> {
    body.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::bad_request("Unknown", format!("the body needs a `{name}` string"))
        })
}

fn is_verb(segment: &str, verbs: &[&str]) -> bool {
    segment
        .rsplit_once(':')
        .is_some_and(|(_, v)| verbs.contains(&v))
}

/// Splits `segment` into its name and a `:verb` from `verbs`.
fn verb<'a>(segment: &'a str, verbs: &[&'static str]) -> Result<(&'a str, &'a str), ApiError> {
    match segment.rsplit_once(':') {
        Some((name, v)) if verbs.contains(&v) => Ok((name, v)),
        _ => Err(ApiError::not_found(
            "Unknown",
            format!("expected `…:{}` here", verbs.join("` or `…:")),
        )),
    }
}

fn read_only_view(store: &str, p: &crate::engine::ReadOnlyProfile) -> Value {
    let session = p
        .session()
        .map(|o| json!({"placeId": o.place_id, "jobId": o.job_id, "sessionId": o.session_id}));
    json!({
        "store": store,
        "key": p.key(),
        "data": p.data(),
        "userIds": p.user_ids(),
        "session": session,
        "loadCount": p.session_load_count(),
        "messages": p.messages().iter().map(|(i, m)| json!([i, m])).collect::<Vec<_>>(),
        "keyInfo": key_info_json(p.key_info()),
    })
}

/// How a game server reads its events.
struct EventsRead {
    cursor: u64,
    sse: bool,
    timeout: Duration,
}

/// The parameters of an events read, checked before anything happens.
fn events_query(q: &Query, req: &Request<Incoming>) -> Result<EventsRead, ApiError> {
    let last_event = request::header_text(req.headers(), "last-event-id")?;
    let cursor = match q.get("cursor").filter(|c| !c.is_empty()).or(last_event) {
        None => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| {
            ApiError::bad_request("InvalidCursor", "cursor must come from a previous answer")
        })?),
    };
    // A first read without a cursor starts at the oldest kept event, so
    // nothing that happened before the game server's first poll is lost.
    let cursor = cursor.unwrap_or(0);
    let sse = super::sse::wanted(req, q);
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

/// A game server's events: long-poll, or SSE with `Accept:
/// text/event-stream` / `?stream=sse` (resumable with `Last-Event-ID`).
async fn events(
    state: &AppState,
    server: &std::sync::Arc<GameServer>,
    read: EventsRead,
) -> Result<Response<Body>, ApiError> {
    let EventsRead {
        cursor,
        sse,
        timeout,
    } = read;
    if sse {
        return event_stream(state, std::sync::Arc::clone(server), cursor);
    }
    let _slot = if timeout.is_zero() {
        None
    } else {
        Some(
            state
                .limits
                .try_long_poll()
                .ok_or_else(|| ApiError::too_many_long_polls(state.limits.max_long_polls))?,
        )
    };
    let mut closing = state.closing.clone();
    let (events, next) = tokio::select! {
        r = server.events.wait_since(Some(cursor), 100, timeout) => r,
        _ = closing.wait_for(|c| *c) => server.events.read_since(Some(cursor), 100),
    };
    Ok(request::json(
        StatusCode::OK,
        &json!({"events": events, "cursor": next.to_string()}),
    ))
}

fn event_stream(
    state: &AppState,
    server: std::sync::Arc<GameServer>,
    cursor: u64,
) -> Result<Response<Body>, ApiError> {
    let host = state.sessions.clone();
    super::sse::stream(state, cursor, move |cursor, wait| {
        let (host, server) = (host.clone(), std::sync::Arc::clone(&server));
        async move {
            let (events, next) = server.events.wait_since(Some(cursor), 100, wait).await;
            // An open stream counts as activity: it keeps the lease.
            host.touch(&server);
            let events = events
                .iter()
                .map(|e| super::sse::Event {
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
