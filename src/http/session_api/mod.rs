//! The session API: ProfileStore for game servers in any language
//! (`/session-api/v1/universes/{u}/...`, documented in
//! `docs/session-api.md`).
//!
//! Owns: the route table and what the resources share (body, names,
//! load count, place id); the handlers are by resource: game servers and
//! their sessions (`sessions`), their event log (`events`) and stored
//! profiles without a session (`readonly`). The model is
//! [`crate::sessions::SessionHost`], the JSON types are
//! [`crate::sessions::wire`]. Invariants: every call naming a session
//! needs `loadCount` (its fence) and a stale one is a 409 with nothing
//! written; every call of a game server renews its lease; errors use
//! Open Cloud v2's body shape.

mod events;
mod readonly;
mod sessions;

use std::sync::{Arc, LazyLock};

use hyper::Method;
use serde_json::{Map, Value};

use super::error::{ApiError, Style};
use super::request::Query;
use super::router::{handler, Call, Route, Table};
use super::AppState;
use crate::datastore::{user_ids_from_json, validate};
use crate::opencloud::codes::DetailCode as D;
use crate::sessions::{GameServer, Patch, SessionError};

/// The routes after `/session-api/v1/universes/{u}`. A POST on a profile
/// path is always a `:verb` call (another suffix is a 404).
pub(super) static TABLE: LazyLock<Table> = LazyLock::new(|| {
    Table::new(
        Style::V2,
        "no such session API endpoint; see docs/session-api.md",
    )
    .route(
        "/servers/{job}",
        Route::new()
            .on(Method::POST, handler(sessions::renew))
            .on(Method::DELETE, handler(sessions::remove)),
    )
    .route(
        "/servers/{job}/sessions",
        Route::new().on(Method::POST, handler(sessions::start)),
    )
    .route(
        "/servers/{job}/events",
        Route::new().on(Method::GET, handler(events::read)),
    )
    .route(
        "/servers/{job}/sessions/{store}/{key}",
        Route::new()
            .on(Method::GET, handler(sessions::current))
            .on(Method::PATCH, handler(sessions::patch))
            .verb("save", Method::POST, handler(sessions::save))
            .verb("end", Method::POST, handler(sessions::end))
            .verb_required(),
    )
    .route(
        "/servers/{job}/sessions/{store}/{key}/messages/{index}",
        Route::new()
            .verb("processed", Method::POST, handler(sessions::processed))
            .verb_required(),
    )
    .route(
        "/stores/{store}/{key}",
        Route::new()
            .on(Method::GET, handler(readonly::get))
            .on(Method::PUT, handler(readonly::put))
            .verb("message", Method::POST, handler(readonly::message))
            .verb_required(),
    )
    .route(
        "/stores/{store}/{key}/versions",
        Route::new().on(Method::GET, handler(readonly::versions)),
    )
});

/// The body as a JSON object (`{}` when empty).
async fn json_body(
    read: impl std::future::Future<Output = Result<bytes::Bytes, ApiError>>,
) -> Result<Value, ApiError> {
    let bytes = read.await?;
    if bytes.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let v = crate::datastore::parse_value_text(&bytes)?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(ApiError::bad_request(
            D::Unknown,
            "the body must be a JSON object",
        ))
    }
}

fn load_count(q: &Query) -> Result<u64, ApiError> {
    q.require("loadCount", D::Unknown)?.parse().map_err(|_| {
        ApiError::bad_request(
            D::Unknown,
            "loadCount is the session's load count (a number)",
        )
    })
}

fn place_id(body: &Value, q: &Query) -> Result<u64, ApiError> {
    match body.get("placeId") {
        Some(v) => v
            .as_u64()
            .ok_or_else(|| ApiError::bad_request(D::Unknown, "placeId must be a number")),
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

/// Checks a profile's store name and key before any engine is involved.
fn names(store: &str, key: &str) -> Result<(), ApiError> {
    validate::data_store_name(store)?;
    validate::key(key)?;
    Ok(())
}

/// The store and key of a profile path, checked.
fn profile_names(c: &Call) -> Result<(&str, &str), ApiError> {
    let (store, key) = (c.param("store"), c.param("key"));
    names(store, key)?;
    Ok((store, key))
}

/// A game server that has sessions here (renewing its lease).
fn known(state: &AppState, universe: u64, job: &str) -> Result<Arc<GameServer>, ApiError> {
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
            ApiError::bad_request(D::Unknown, format!("the body needs a `{name}` string"))
        })
}
