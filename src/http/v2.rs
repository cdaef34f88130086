//! Open Cloud DataStore v2: `/cloud/v2/universes/{u}/data-stores/...`.
//!
//! Owns: list data stores, list entries (scope `-` lists every scope;
//! `showDeleted`), create (`?id=`, 400 if it exists), get (`@latest`,
//! `@<revision>`, `@latest:<time>`), patch (`allowMissing`; a stale `etag`
//! is 409 ABORTED), delete, `:increment` and `:listRevisions`. Invariants:
//! the unscoped form addresses the `global` scope; an entry id keeps every
//! character (openblox sends `users:1` for `users/1`) except a trailing
//! `:increment`/`:listRevisions` custom method and the text after the last
//! `@`; `etag` and `revisionId` are the version id.

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::request::{self, Body, Query};
use super::AppState;
use crate::datastore::{
    user_ids_from_json, validate, DataStore, Entry, ListKeysOptions, ListVersionsOptions,
    Precondition, SetOutcome, SortOrder, VersionId, WriteOptions,
};
use crate::opencloud::time::{body_time, parse_time};

/// Where an entry lives, as the path named it.
struct Place<'a> {
    universe: u64,
    store: &'a str,
    /// `None` for the unscoped form (the `global` scope).
    scope: Option<&'a str>,
}

impl Place<'_> {
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
        Ok(state.datastores.data_store(
            self.universe,
            self.store,
            self.scope.unwrap_or("global"),
        )?)
    }
}

fn page_size(q: &Query, default: usize, max: usize) -> Result<usize, ApiError> {
    let n = q.number("maxPageSize", default)?;
    Ok(if n == 0 { default } else { n.min(max) })
}

fn token(q: &Query) -> Option<String> {
    // rblxopencloud sends `nextPageToken` for revisions; accept both.
    q.get("pageToken")
        .or_else(|| q.get("nextPageToken"))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// `id.startsWith("prefix")`, the only filter Open Cloud supports here.
fn id_prefix(q: &Query) -> Result<String, ApiError> {
    match q.get("filter").map(str::trim).filter(|f| !f.is_empty()) {
        None => Ok(String::new()),
        Some(f) => f
            .strip_prefix("id.startsWith(\"")
            .and_then(|r| r.strip_suffix("\")"))
            .map(str::to_owned)
            .ok_or_else(|| {
                ApiError::bad_request("Unknown", "filter supports only id.startsWith(\"prefix\")")
            }),
    }
}

fn entry_json(place: &Place<'_>, id: &str, entry: &Entry) -> Value {
    let users: Vec<String> = entry
        .info
        .user_ids
        .iter()
        .map(|u| format!("users/{u}"))
        .collect();
    json!({
        "path": format!("{}/{id}", place.prefix()),
        "createTime": body_time(entry.info.created_ms),
        "revisionId": entry.info.version,
        "revisionCreateTime": body_time(entry.info.updated_ms),
        "state": "ACTIVE",
        "etag": entry.info.version,
        "value": entry.value,
        "id": id,
        "users": users,
        "attributes": entry.info.metadata,
    })
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
                                "InvalidUserIds",
                                "users are \"users/{id}\" strings",
                            )
                        })
                })
                .collect::<Result<_, _>>()?;
            user_ids_from_json(&Value::Array(ids))?
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "InvalidUserIds",
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

async fn json_body(state: &AppState, req: Request<Incoming>) -> Result<Value, ApiError> {
    let bytes = request::body(req, state.max_body_bytes).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("ContentNotJson", format!("the body is not JSON: {e}")))
}

fn aborted(message: &str) -> ApiError {
    ApiError {
        status: StatusCode::CONFLICT,
        code: "ABORTED",
        detail: "PreconditionFailed",
        message: message.to_owned(),
    }
}

/// Routes `rest`, the path after `universes/{u}`.
pub async fn route(
    state: &AppState,
    req: Request<Incoming>,
    universe: u64,
    rest: &[&str],
) -> Result<Response<Body>, ApiError> {
    let q = Query::of(&req)?;
    let method = req.method().clone();
    match (&method, rest) {
        (&Method::GET, ["data-stores"]) => {
            let prefix = id_prefix(&q)?;
            let limit = page_size(&q, 10, 100)?;
            let page = state
                .datastores
                .list_data_stores(universe, &prefix, limit, token(&q).as_deref())
                .await?;
            let stores: Vec<Value> = page
                .items
                .iter()
                .map(|s| json!({"path": format!("universes/{universe}/data-stores/{}", s.name), "id": s.name,
                                "createTime": body_time(s.created_ms), "state": "ACTIVE"}))
                .collect();
            Ok(request::json(
                StatusCode::OK,
                &json!({"dataStores": stores, "nextPageToken": page.cursor.unwrap_or_default()}),
            ))
        }
        (_, ["data-stores", store, "entries", tail @ ..]) => {
            entries(
                state,
                req,
                &q,
                Place {
                    universe,
                    store,
                    scope: None,
                },
                tail,
            )
            .await
        }
        (_, ["data-stores", store, "scopes", scope, "entries", tail @ ..]) => {
            let place = Place {
                universe,
                store,
                scope: Some(scope),
            };
            entries(state, req, &q, place, tail).await
        }
        (method, ["data-stores"]) => Err(request::no_route(method, &["GET"], "")),
        _ => Err(ApiError::not_found("Unknown", "no such v2 endpoint")),
    }
}

async fn entries(
    state: &AppState,
    req: Request<Incoming>,
    q: &Query,
    place: Place<'_>,
    tail: &[&str],
) -> Result<Response<Body>, ApiError> {
    let method = req.method().clone();
    match (&method, tail) {
        (&Method::GET, []) => list(state, q, &place).await,
        (_, []) if method != Method::POST => Err(request::no_route(&method, &["GET", "POST"], "")),
        (&Method::POST, []) => {
            let id = q.require("id", "InvalidEntryKey")?.to_owned();
            let body = json_body(state, req).await?;
            let value = body
                .get("value")
                .cloned()
                .ok_or_else(|| ApiError::bad_request("ContentNotJson", "value is required"))?;
            let options = write_of(&body)?;
            let ds = place.data_store(state)?;
            match ds
                .set_with(&id, &value, &options, &Precondition::ExclusiveCreate)
                .await?
            {
                SetOutcome::Written(info) => Ok(request::json(
                    StatusCode::OK,
                    &entry_json(&place, &id, &Entry { value, info }),
                )),
                SetOutcome::PreconditionFailed { .. } => {
                    Err(ApiError::bad_request("Unknown", "Entry already exists."))
                }
            }
        }
        (_, [segment]) => {
            if let Some(id) = segment
                .strip_suffix(":increment")
                .filter(|_| method == Method::POST)
            {
                return increment(state, req, &place, id).await;
            }
            if let Some(id) = segment
                .strip_suffix(":listRevisions")
                .filter(|_| method == Method::GET)
            {
                return revisions(state, q, &place, id).await;
            }
            let (id, revision) = match segment.rsplit_once('@') {
                Some((id, rev)) => (id, Some(rev)),
                None => (*segment, None),
            };
            let ds = place.data_store(state)?;
            match method {
                Method::GET => get(&ds, &place, id, revision).await,
                Method::PATCH => {
                    // A revision suffix with allowMissing creates a key named with it (documented quirk).
                    let key = if revision.is_some() { *segment } else { id };
                    let allow_missing = q.flag("allowMissing")?;
                    let body = json_body(state, req).await?;
                    patch(&ds, &place, key, &body, allow_missing).await
                }
                Method::DELETE => {
                    let current = ds.get(id).await?;
                    let Some(current) = current else {
                        return Err(ApiError::not_found("EntryNotFound", "Entry not found."));
                    };
                    if q.get("etag").is_some_and(|e| e != current.info.version) {
                        return Err(aborted("the etag does not match the current revision"));
                    }
                    ds.remove(id).await?;
                    Ok(request::json(StatusCode::OK, &json!({})))
                }
                _ => {
                    // Any id takes GET, PATCH and DELETE; POST only with `:increment`.
                    let allowed = &["GET", "PATCH", "DELETE"];
                    Err(request::no_route(
                        &method,
                        allowed,
                        "no such v2 entry method",
                    ))
                }
            }
        }
        _ => Err(ApiError::not_found("Unknown", "no such v2 endpoint")),
    }
}

async fn list(state: &AppState, q: &Query, place: &Place<'_>) -> Result<Response<Body>, ApiError> {
    let all = place.scope == Some("-");
    let ds = if all {
        state
            .datastores
            .data_store_all_scopes(place.universe, place.store)?
    } else {
        place.data_store(state)?
    };
    let options = ListKeysOptions {
        prefix: id_prefix(q)?,
        page_size: page_size(q, 10, 256)?,
        cursor: token(q),
        exclude_deleted: !q.flag("showDeleted")?,
    };
    let page = ds.list_keys(&options).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|k| {
            let scope = if all {
                k.scope.as_str()
            } else {
                place.scope.unwrap_or("global")
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
            json!({"path": path, "id": k.key})
        })
        .collect();
    Ok(request::json(
        StatusCode::OK,
        &json!({"dataStoreEntries": items, "nextPageToken": page.cursor.unwrap_or_default()}),
    ))
}

async fn get(
    ds: &DataStore,
    place: &Place<'_>,
    id: &str,
    revision: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    let invalid = || ApiError::bad_request("InvalidVersionId", "Invalid version id.");
    let entry = match revision {
        None | Some("latest") => ds.get(id).await?,
        Some(rev) => match rev.strip_prefix("latest:") {
            Some(time) => {
                let at = parse_time(time).ok_or_else(|| {
                    ApiError::bad_request("InvalidStartTime", "bad time after @latest:")
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
        Some(entry) => Ok(request::json(
            StatusCode::OK,
            &entry_json(place, id, &entry),
        )),
        None => Err(ApiError::not_found("EntryNotFound", "Entry not found.")),
    }
}

async fn patch(
    ds: &DataStore,
    place: &Place<'_>,
    id: &str,
    body: &Value,
    allow_missing: bool,
) -> Result<Response<Body>, ApiError> {
    let value = body
        .get("value")
        .cloned()
        .ok_or_else(|| ApiError::bad_request("ContentNotJson", "value is required"))?;
    let options = write_of(body)?;
    let current = ds.get(id).await?;
    let precondition = match (&current, body.get("etag").and_then(Value::as_str)) {
        (None, _) if !allow_missing => {
            return Err(ApiError::not_found("EntryNotFound", "Entry not found."))
        }
        (Some(c), Some(etag)) if etag != c.info.version => {
            return Err(aborted("the etag does not match the current revision"))
        }
        (Some(c), _) => Precondition::MatchVersion(c.info.version.clone()),
        (None, _) => Precondition::ExclusiveCreate,
    };
    match ds.set_with(id, &value, &options, &precondition).await? {
        SetOutcome::Written(info) => Ok(request::json(
            StatusCode::OK,
            &entry_json(place, id, &Entry { value, info }),
        )),
        SetOutcome::PreconditionFailed { .. } => Err(aborted(
            "the entry changed while it was being updated; retry",
        )),
    }
}

async fn increment(
    state: &AppState,
    req: Request<Incoming>,
    place: &Place<'_>,
    id: &str,
) -> Result<Response<Body>, ApiError> {
    let body = json_body(state, req).await?;
    let amount = match body.get("amount") {
        None => 1,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| ApiError::bad_request("Unknown", "amount must be an integer"))?,
    };
    let options = write_of(&body)?;
    let ds = place.data_store(state)?;
    let (value, info) = ds.increment(id, amount, &options).await?;
    Ok(request::json(
        StatusCode::OK,
        &entry_json(
            place,
            id,
            &Entry {
                value: Value::from(value),
                info,
            },
        ),
    ))
}

/// `revision_create_time >= T && revision_create_time <= T` (either part).
fn revision_filter(q: &Query) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let mut bounds = (None, None);
    let Some(filter) = q.get("filter").filter(|f| !f.trim().is_empty()) else {
        return Ok(bounds);
    };
    for part in filter.split("&&") {
        let part = part.trim();
        let bad = || ApiError::bad_request("Unknown", format!("unsupported filter `{part}`"));
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

async fn revisions(
    state: &AppState,
    q: &Query,
    place: &Place<'_>,
    id: &str,
) -> Result<Response<Body>, ApiError> {
    let (min_ms, max_ms) = revision_filter(q)?;
    let ds = place.data_store(state)?;
    let options = ListVersionsOptions {
        // Observed order on Roblox: newest first.
        order: SortOrder::Descending,
        min_ms,
        max_ms,
        page_size: page_size(q, 10, 100)?,
        cursor: token(q),
    };
    let page = ds.list_versions(id, &options).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|v| {
            json!({"path": format!("{}/{id}@{}", place.prefix(), v.version), "id": format!("{id}@{}", v.version),
                   "createTime": body_time(v.key_created_ms), "revisionCreateTime": body_time(v.created_ms),
                   "revisionId": v.version, "etag": v.version,
                   "state": if v.deleted { "DELETED" } else { "ACTIVE" }})
        })
        .collect();
    Ok(request::json(
        StatusCode::OK,
        &json!({"dataStoreEntries": items, "nextPageToken": page.cursor.unwrap_or_default()}),
    ))
}
