//! Session API: stored profiles without a session (`/stores/{store}/{key}`):
//! read (a version too), `SetAsync`-style replace, `:message`, versions.
//!
//! Owns: these handlers. Invariants: they run on the host's own engine of
//! the universe (no game server, no lease); a replace never creates a
//! profile (a session must create it first).

use hyper::StatusCode;

use super::{json_body, patch_of, profile_names};
use crate::datastore::{SortOrder, VersionId};
use crate::http::error::ApiError;
use crate::http::request;
use crate::http::router::{Call, Reply};
use crate::opencloud::codes::DetailCode as D;
use crate::sessions::wire::{Sent, StoredView, Versions};
use crate::sessions::SessionError;

/// `POST /stores/{store}/{key}:message`: `MessageAsync`.
pub(super) async fn message(mut c: Call) -> Reply {
    let read = c.body();
    let (store, key) = profile_names(&c)?;
    let body = json_body(read).await?;
    let message = body
        .get("message")
        .cloned()
        .ok_or_else(|| ApiError::bad_request(D::Unknown, "the body needs a `message`"))?;
    let ps = c.state.sessions.api_store(c.universe, store)?;
    ps.message(key, message).await.map_err(SessionError::from)?;
    Ok(request::json(StatusCode::OK, &Sent { sent: true }))
}

/// `GET /stores/{store}/{key}[?version=]`.
pub(super) async fn get(c: Call) -> Reply {
    let (store, key) = profile_names(&c)?;
    let version = c.query.get("version").filter(|v| !v.is_empty());
    if version.is_some_and(|v| VersionId::parse(v).is_none()) {
        return Err(ApiError::bad_request(
            D::InvalidVersionId,
            "version must be a version id from the versions listing",
        ));
    }
    let ps = c.state.sessions.api_store(c.universe, store)?;
    let found = ps.get(key, version).await.map_err(SessionError::from)?;
    match found {
        Some(p) => Ok(request::json(StatusCode::OK, &StoredView::of(store, &p))),
        None => Err(ApiError::not_found(
            D::NotFound,
            format!("no profile `{key}` in `{store}`"),
        )),
    }
}

/// `PUT /stores/{store}/{key}`: replaces data and/or metadata.
pub(super) async fn put(mut c: Call) -> Reply {
    let read = c.body();
    let (store, key) = profile_names(&c)?;
    let body = json_body(read).await?;
    let patch = patch_of(&body)?;
    if patch.data.as_ref().is_some_and(|d| !d.is_object()) {
        return Err(ApiError::bad_request(
            D::Unknown,
            "`data` must be a JSON object",
        ));
    }
    let ps = c.state.sessions.api_store(c.universe, store)?;
    let Some(mut profile) = ps.get(key, None).await.map_err(SessionError::from)? else {
        return Err(ApiError::not_found(
            D::NotFound,
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
        &StoredView::of(store, &profile),
    ))
}

/// `GET /stores/{store}/{key}/versions?order=&minTime=&maxTime=&limit=`.
pub(super) async fn versions(c: Call) -> Reply {
    let q = &c.query;
    let order = match q.get("order").map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("ascending") => SortOrder::Ascending,
        Some("descending") => SortOrder::Descending,
        Some(_) => {
            return Err(ApiError::bad_request(
                D::Unknown,
                "order is ascending or descending",
            ))
        }
    };
    let time = |name: &str| -> Result<Option<i64>, ApiError> {
        q.get(name)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(D::Unknown, format!("{name} is Unix milliseconds"))
                })
            })
            .transpose()
    };
    let limit = q.number("limit", 10usize)?.clamp(1, 100);
    let (store, key) = profile_names(&c)?;
    let ps = c.state.sessions.api_store(c.universe, store)?;
    let query = ps.version_query(key, order, time("minTime")?, time("maxTime")?);
    let mut versions = Vec::new();
    while versions.len() < limit {
        match query.next().await.map_err(SessionError::from)? {
            Some(p) => versions.push(StoredView::of(store, &p)),
            None => break,
        }
    }
    Ok(request::json(StatusCode::OK, &Versions { versions }))
}
