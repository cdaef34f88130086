//! Open Cloud DataStore v2: `/cloud/v2/universes/{u}/data-stores/...`.
//!
//! Owns: the v2 route table (data store management is in `v2_manage.rs`),
//! list entries (scope `-` lists every scope;
//! `showDeleted`), create (`?id=`, 400 if it exists), get (`@latest`,
//! `@<revision>`, `@latest:<time>`), patch (`allowMissing`; a stale `etag`
//! is 409 ABORTED), delete, `:increment` and `:listRevisions`. Invariants:
//! the unscoped form addresses the `global` scope; an entry id keeps every
//! character (openblox sends `users:1` for `users/1`) except a trailing
//! `:increment`/`:listRevisions` custom method and the text after the last
//! `@`; `etag` and `revisionId` are the version id.

use std::sync::LazyLock;

use hyper::{Method, StatusCode};
use serde_json::{Map, Value};

use super::error::{ApiError, Style};
use super::request::{self, Query};
use super::router::{handler, Call, Reply, Route, Table};
use super::stores;
use super::v2_manage::{self as manage, id_prefix, token};
use super::AppState;
use crate::datastore::{
    user_ids_from_json, validate, DataStore, Entry, ListKeysOptions, ListVersionsOptions,
    Precondition, SetOutcome, SortOrder, VersionId, WriteOptions,
};
use crate::opencloud::codes::{DetailCode as D, ErrorCode as C};
use crate::opencloud::time::{body_time, parse_time};
use crate::opencloud::v2 as wire;

/// The v2 DataStore routes, after `/cloud/v2/universes/{u}`. Any entry id
/// takes GET, PATCH and DELETE; POST only as `:increment`, and GET as
/// `:listRevisions` too (another suffix is part of the id).
pub(super) static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let list = || {
        Route::new()
            .on(Method::GET, handler(list))
            .on(Method::POST, handler(create))
    };
    let entry = || {
        Route::new()
            .on(Method::GET, handler(get))
            .on(Method::PATCH, handler(patch))
            .on(Method::DELETE, handler(delete))
            .verb("increment", Method::POST, handler(increment))
            .verb("listRevisions", Method::GET, handler(revisions))
    };
    Table::new(Style::V2, "no such v2 endpoint")
        .route(
            "/data-stores",
            Route::new().on(Method::GET, handler(manage::list_stores)),
        )
        .route(
            "/data-stores:snapshot",
            Route::new().on(Method::POST, handler(manage::snapshot)),
        )
        .route(
            "/data-stores/{store}",
            Route::new()
                .on(Method::DELETE, handler(manage::delete_store))
                .verb("undelete", Method::POST, handler(manage::undelete_store)),
        )
        .route("/data-stores/{store}/entries", list())
        .route("/data-stores/{store}/entries/{entry}", entry())
        .route("/data-stores/{store}/scopes/{scope}/entries", list())
        .route(
            "/data-stores/{store}/scopes/{scope}/entries/{entry}",
            entry(),
        )
});

/// Where an entry lives, as the path named it.
struct Place<'a> {
    universe: u64,
    store: &'a str,
    /// `None` for the unscoped form (the `global` scope).
    scope: Option<&'a str>,
}

impl<'a> Place<'a> {
    fn of(c: &'a Call) -> Self {
        Place {
            universe: c.universe,
            store: c.param("store"),
            scope: c.param_opt("scope"),
        }
    }

    fn prefix(&self) -> String {
        match self.scope {
            Some(s) => format!(
                "universes/{}/data-stores/{}/scopes/{s}/entries",
                self.universe, self.store
            ),
            None => format!(
                "universes/{}/data-stores/{}/entries",
                self.universe, self.store
            ),
        }
    }

    fn data_store(&self, state: &AppState) -> Result<DataStore, ApiError> {
        stores::data_store(state, self.universe, self.store, self.scope)
    }
}

fn page_size(q: &Query, default: usize, max: usize) -> Result<usize, ApiError> {
    let n = q.number("maxPageSize", default)?;
    Ok(if n == 0 { default } else { n.min(max) })
}

fn entry_body(place: &Place<'_>, id: &str, entry: Entry) -> wire::Entry {
    let Entry { value, info } = entry;
    wire::Entry {
        path: format!("{}/{id}", place.prefix()),
        create_time: body_time(info.created_ms),
        revision_id: info.version.clone(),
        revision_create_time: body_time(info.updated_ms),
        state: wire::State::Active,
        etag: info.version,
        value,
        id: id.to_owned(),
        users: info.user_ids.iter().map(|u| format!("users/{u}")).collect(),
        attributes: info.metadata,
    }
}

fn entry_response(place: &Place<'_>, id: &str, entry: Entry) -> Reply {
    Ok(request::json(StatusCode::OK, &entry_body(place, id, entry)))
}

/// `value`, `users` (`"users/1"`) and `attributes` of a request body.
fn write_of(body: &Value) -> Result<WriteOptions, ApiError> {
    let users = match body.get("users") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let ids: Vec<Value> = items
                .iter()
                .map(|u| {
                    u.as_str()
                        .and_then(|s| s.strip_prefix("users/"))
                        .and_then(|n| n.parse::<i64>().ok())
                        .map(Value::from)
                        .ok_or_else(|| {
                            ApiError::bad_request(
                                D::InvalidUserIds,
                                "users are \"users/{id}\" strings",
                            )
                        })
                })
                .collect::<Result<_, _>>()?;
            user_ids_from_json(&Value::Array(ids))?
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                D::InvalidUserIds,
                "users must be a list",
            ))
        }
    };
    let metadata = match body.get("attributes") {
        None | Some(Value::Null) => Map::new(),
        Some(v) => validate::metadata_from_json(v)?,
    };
    Ok(WriteOptions {
        user_ids: users,
        metadata,
    })
}

/// The JSON body `read` reads (see [`Call::body`]).
async fn json_body(
    read: impl std::future::Future<Output = Result<bytes::Bytes, ApiError>>,
) -> Result<Value, ApiError> {
    let bytes = read.await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(D::ContentNotJson, format!("the body is not JSON: {e}")))
}

fn value_of(body: &Value) -> Result<Value, ApiError> {
    body.get("value")
        .cloned()
        .ok_or_else(|| ApiError::bad_request(D::ContentNotJson, "value is required"))
}

fn aborted(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        C::Aborted,
        D::PreconditionFailed,
        message,
    )
}

fn not_found() -> ApiError {
    ApiError::not_found(D::EntryNotFound, "Entry not found.")
}

/// An entry segment: the id and the revision after its last `@`.
fn id_and_revision(segment: &str) -> (&str, Option<&str>) {
    match segment.rsplit_once('@') {
        Some((id, rev)) => (id, Some(rev)),
        None => (segment, None),
    }
}

async fn create(mut c: Call) -> Reply {
    let id = c.query.require("id", D::InvalidEntryKey)?.to_owned();
    let body = json_body(c.body()).await?;
    let place = Place::of(&c);
    let value = value_of(&body)?;
    let options = write_of(&body)?;
    let ds = place.data_store(&c.state)?;
    let write = ds.set_with(&id, &value, &options, &Precondition::ExclusiveCreate);
    match stores::noted(c.headers(), write).await? {
        SetOutcome::Written(info) => entry_response(&place, &id, Entry { value, info }),
        SetOutcome::PreconditionFailed { .. } => {
            Err(ApiError::bad_request(D::Unknown, "Entry already exists."))
        }
    }
}

async fn list(c: Call) -> Reply {
    let place = Place::of(&c);
    let q = &c.query;
    let all = place.scope == Some("-");
    let ds = stores::data_store_or_all(&c.state, place.universe, place.store, all, place.scope)?;
    let options = ListKeysOptions {
        prefix: id_prefix(q)?,
        page_size: page_size(q, 10, 256)?,
        cursor: token(q),
        exclude_deleted: !q.flag("showDeleted")?,
    };
    let page = ds.list_keys(&options).await?;
    let items = page
        .items
        .into_iter()
        .map(|k| {
            let scope = if all {
                k.scope.as_str()
            } else {
                stores::scope_or_default(place.scope)
            };
            let path = match place.scope {
                Some(_) => format!(
                    "universes/{}/data-stores/{}/scopes/{scope}/entries/{}",
                    place.universe, place.store, k.key
                ),
                None => format!(
                    "universes/{}/data-stores/{}/entries/{}",
                    place.universe, place.store, k.key
                ),
            };
            wire::EntryRef { path, id: k.key }
        })
        .collect();
    let body = wire::ListEntries {
        data_store_entries: items,
        next_page_token: page.cursor.unwrap_or_default(),
    };
    Ok(request::json(StatusCode::OK, &body))
}

async fn get(c: Call) -> Reply {
    let place = Place::of(&c);
    let (id, revision) = id_and_revision(c.param("entry"));
    let ds = place.data_store(&c.state)?;
    let invalid = || ApiError::bad_request(D::InvalidVersionId, "Invalid version id.");
    let entry = match revision {
        None | Some("latest") => ds.get(id).await?,
        Some(rev) => match rev.strip_prefix("latest:") {
            Some(time) => {
                let at = parse_time(time).ok_or_else(|| {
                    ApiError::bad_request(D::InvalidStartTime, "bad time after @latest:")
                })?;
                ds.get_version_at_time(id, at).await?
            }
            None => {
                VersionId::parse(rev).ok_or_else(invalid)?;
                ds.get_version(id, rev).await.map_err(|_| invalid())?
            }
        },
    };
    match entry {
        Some(entry) => entry_response(&place, id, entry),
        None => Err(not_found()),
    }
}

async fn delete(c: Call) -> Reply {
    let place = Place::of(&c);
    let (id, _) = id_and_revision(c.param("entry"));
    let ds = place.data_store(&c.state)?;
    let Some(current) = ds.get(id).await? else {
        return Err(not_found());
    };
    if c.query
        .get("etag")
        .is_some_and(|e| e != current.info.version)
    {
        return Err(aborted("the etag does not match the current revision"));
    }
    ds.remove(id).await?;
    Ok(request::json(StatusCode::OK, &wire::Empty {}))
}

async fn patch(mut c: Call) -> Reply {
    let read = c.body();
    let segment = c.param("entry");
    let (id, revision) = id_and_revision(segment);
    // A revision suffix with allowMissing creates a key named with it (documented quirk).
    let key = if revision.is_some() { segment } else { id };
    let allow_missing = c.query.flag("allowMissing")?;
    let place = Place::of(&c);
    let ds = place.data_store(&c.state)?;
    let body = json_body(read).await?;
    let value = value_of(&body)?;
    let options = write_of(&body)?;
    let current = ds.get(key).await?;
    let precondition = match (&current, body.get("etag").and_then(Value::as_str)) {
        (None, _) if !allow_missing => return Err(not_found()),
        (Some(c), Some(etag)) if etag != c.info.version => {
            return Err(aborted("the etag does not match the current revision"))
        }
        (Some(c), _) => Precondition::MatchVersion(c.info.version.clone()),
        (None, _) => Precondition::ExclusiveCreate,
    };
    let write = ds.set_with(key, &value, &options, &precondition);
    match stores::noted(c.headers(), write).await? {
        SetOutcome::Written(info) => entry_response(&place, key, Entry { value, info }),
        SetOutcome::PreconditionFailed { .. } => Err(aborted(
            "the entry changed while it was being updated; retry",
        )),
    }
}

async fn increment(mut c: Call) -> Reply {
    let body = json_body(c.body()).await?;
    let place = Place::of(&c);
    let id = c.param("entry");
    let amount = match body.get("amount") {
        None => 1,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| ApiError::bad_request(D::Unknown, "amount must be an integer"))?,
    };
    let options = write_of(&body)?;
    let ds = place.data_store(&c.state)?;
    let (value, info) = ds.increment(id, amount, &options).await?;
    entry_response(
        &place,
        id,
        Entry {
            value: Value::from(value),
            info,
        },
    )
}

/// `revision_create_time >= T && revision_create_time <= T` (either part).
fn revision_filter(q: &Query) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let mut bounds = (None, None);
    let Some(filter) = q.get("filter").filter(|f| !f.trim().is_empty()) else {
        return Ok(bounds);
    };
    for part in filter.split("&&") {
        let part = part.trim();
        let bad = || ApiError::bad_request(D::Unknown, format!("unsupported filter `{part}`"));
        let (op, time) = if let Some(t) = part.strip_prefix("revision_create_time") {
            let t = t.trim_start();
            if let Some(t) = t.strip_prefix(">=") {
                (">=", t.trim())
            } else if let Some(t) = t.strip_prefix("<=") {
                ("<=", t.trim())
            } else {
                return Err(bad());
            }
        } else {
            return Err(bad());
        };
        let ms = parse_time(time).ok_or_else(bad)?;
        if op == ">=" {
            bounds.0 = Some(ms);
        } else {
            bounds.1 = Some(ms);
        }
    }
    Ok(bounds)
}

async fn revisions(c: Call) -> Reply {
    let place = Place::of(&c);
    let id = c.param("entry");
    let q = &c.query;
    let (min_ms, max_ms) = revision_filter(q)?;
    let ds = place.data_store(&c.state)?;
    let options = ListVersionsOptions {
        // Observed order on Roblox: newest first.
        order: SortOrder::Descending,
        min_ms,
        max_ms,
        page_size: page_size(q, 10, 100)?,
        cursor: token(q),
    };
    let page = ds.list_versions(id, &options).await?;
    let prefix = place.prefix();
    let items = page
        .items
        .into_iter()
        .map(|v| wire::Revision {
            path: format!("{prefix}/{id}@{}", v.version),
            id: format!("{id}@{}", v.version),
            create_time: body_time(v.key_created_ms),
            revision_create_time: body_time(v.created_ms),
            revision_id: v.version.clone(),
            etag: v.version,
            state: if v.deleted {
                wire::State::Deleted
            } else {
                wire::State::Active
            },
        })
        .collect();
    let body = wire::ListRevisions {
        data_store_entries: items,
        next_page_token: page.cursor.unwrap_or_default(),
    };
    Ok(request::json(StatusCode::OK, &body))
}
