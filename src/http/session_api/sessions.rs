//! Session API: game servers (`/servers/{job}`: join and renew, leave)
//! and their sessions (start, read, patch, `:save`, `:end`, a message's
//! `:processed`).
//!
//! Owns: these handlers. Invariants: a start checks everything before the
//! game server is registered (a refused request starts no engine, whose
//! first DataStore call writes the `____PS` access probe); every call
//! naming a session is fenced by its `loadCount`.

use std::time::Duration;

use hyper::StatusCode;
use serde_json::{Map, Value};

use super::{json_body, known, load_count, names, patch_of, place_id, profile_names, str_field};
use crate::http::error::ApiError;
use crate::http::request;
use crate::http::router::{Call, Reply};
use crate::opencloud::codes::DetailCode as D;
use crate::sessions::wire::{Ended, Lease, ProcessedAnswer, ProfileView, Started};
use crate::sessions::SessionError;

/// `POST /servers/{job}/sessions`: `StartSessionAsync`.
pub(super) async fn start(mut c: Call) -> Reply {
    let body = json_body(c.body()).await?;
    let place = place_id(&body, &c.query)?;
    let store = str_field(&body, "store")?;
    let key = str_field(&body, "key")?;
    names(&store, &key)?;
    let template = body
        .get("template")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let steal = body.get("steal").and_then(Value::as_bool).unwrap_or(false);
    let timeout = match body.get("timeoutSeconds") {
        None | Some(Value::Null) => None,
        Some(t) => Some(Duration::from_secs_f64(
            t.as_f64()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| {
                    ApiError::bad_request(D::Unknown, "timeoutSeconds must be a positive number")
                })?
                .min(3600.0),
        )),
    };
    let server = c.state.sessions.server(c.universe, place, c.param("job"))?;
    let profile = server.start(&store, &key, template, steal, timeout).await?;
    Ok(request::json(StatusCode::OK, &Started { profile }))
}

/// `DELETE /servers/{job}`: the game server leaves (final saves).
pub(super) async fn remove(c: Call) -> Reply {
    let ended = c
        .state
        .sessions
        .remove_server(c.universe, c.param("job"))
        .await;
    if let Some(cluster) = &c.state.cluster {
        cluster.release(c.universe, c.param("job")).await?;
    }
    Ok(request::json(StatusCode::OK, &Ended { ended }))
}

/// `POST /servers/{job}`: joins or renews the lease.
pub(super) async fn renew(mut c: Call) -> Reply {
    let body = json_body(c.body()).await?;
    let host = &c.state.sessions;
    host.server(c.universe, place_id(&body, &c.query)?, c.param("job"))?;
    let lease = Lease {
        lease_seconds: host.lease().as_secs_f64(),
    };
    Ok(request::json(StatusCode::OK, &lease))
}

/// `GET .../sessions/{store}/{key}`: the active session, whatever its count.
pub(super) async fn current(c: Call) -> Reply {
    let (store, key) = profile_names(&c)?;
    let server = known(&c.state, c.universe, c.param("job"))?;
    let profile = server.current(store, key)?;
    Ok(request::json(
        StatusCode::OK,
        &ProfileView::of(store, &profile),
    ))
}

/// `PATCH .../sessions/{store}/{key}?loadCount=`: data, metadata, user ids.
pub(super) async fn patch(mut c: Call) -> Reply {
    let read = c.body();
    let count = load_count(&c.query)?;
    let (store, key) = profile_names(&c)?;
    let body = json_body(read).await?;
    let patch = patch_of(&body)?;
    let server = known(&c.state, c.universe, c.param("job"))?;
    let profile = server.session(store, key, count)?;
    server.patch(&profile, patch)?;
    Ok(request::json(
        StatusCode::OK,
        &ProfileView::of(store, &profile),
    ))
}

/// `POST .../sessions/{store}/{key}:save?loadCount=`.
pub(super) async fn save(c: Call) -> Reply {
    let (store, key) = profile_names(&c)?;
    let count = load_count(&c.query)?;
    let server = known(&c.state, c.universe, c.param("job"))?;
    let profile = server.session(store, key, count)?;
    profile.save().await.map_err(SessionError::from)?;
    Ok(request::json(
        StatusCode::OK,
        &ProfileView::of(store, &profile),
    ))
}

/// `POST .../sessions/{store}/{key}:end?loadCount=` (final save).
pub(super) async fn end(c: Call) -> Reply {
    let (store, key) = profile_names(&c)?;
    let count = load_count(&c.query)?;
    let server = known(&c.state, c.universe, c.param("job"))?;
    let profile = server.session(store, key, count)?;
    profile.end_session().await;
    Ok(request::json(
        StatusCode::OK,
        &ProfileView::of(store, &profile),
    ))
}

/// `POST .../sessions/{store}/{key}/messages/{index}:processed?loadCount=`.
pub(super) async fn processed(c: Call) -> Reply {
    let index: u64 = c
        .param("index")
        .parse()
        .map_err(|_| ApiError::bad_request(D::Unknown, "the message index is a number"))?;
    let (store, key) = profile_names(&c)?;
    let count = load_count(&c.query)?;
    let server = known(&c.state, c.universe, c.param("job"))?;
    let profile = server.session(store, key, count)?;
    let processed = profile.mark_message_processed(index);
    Ok(request::json(
        StatusCode::OK,
        &ProcessedAnswer { processed },
    ))
}
