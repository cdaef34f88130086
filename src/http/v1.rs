//! Open Cloud DataStore v1: `/datastores/v1/universes/{u}/standard-datastores/...`.
//!
//! Owns: the v1 endpoints (list data stores, list keys, get, set with
//! `matchVersion`/`exclusiveCreate`/`content-md5`, delete, increment, list
//! versions, get version) and their headers. Invariants: bodies are compact
//! JSON and `content-md5` is computed over the exact bytes sent; a rejected
//! request changes nothing; a failed precondition answers 412 with the
//! current entry's `roblox-entry-*` headers; a deleted entry reads as 404.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::request::{self, set_header, Body, Query};
use super::AppState;
use crate::datastore::{
    parse_value_text, user_ids_from_json, validate, DataStore, Entry, KeyInfo, ListKeysOptions,
    ListVersionsOptions, Precondition, SetOutcome, SortOrder, VersionId, WriteOptions,
};
use crate::opencloud::time::{body_time, header_time, parse_time};

fn md5_base64(bytes: &[u8]) -> String {
    STANDARD.encode(Md5::digest(bytes))
}

/// The body and `roblox-entry-*` headers of an entry.
fn entry_response(status: StatusCode, entry: &Entry) -> Response<Body> {
    let body = Bytes::from(entry.value.to_string());
    let mut r = Response::new(request::full(body.clone()));
    *r.status_mut() = status;
    set_header(&mut r, "content-type", "application/json");
    set_header(&mut r, "content-md5", &md5_base64(&body));
    entry_headers(&mut r, &entry.info);
    r
}

fn entry_headers(r: &mut Response<Body>, info: &KeyInfo) {
    set_header(r, "roblox-entry-version", &info.version);
    set_header(
        r,
        "roblox-entry-created-time",
        &header_time(info.created_ms),
    );
    set_header(
        r,
        "roblox-entry-version-created-time",
        &header_time(info.updated_ms),
    );
    set_header(
        r,
        "roblox-entry-userids",
        &Value::from(info.user_ids.clone()).to_string(),
    );
    if !info.metadata.is_empty() {
        set_header(
            r,
            "roblox-entry-attributes",
            &Value::Object(info.metadata.clone()).to_string(),
        );
    }
}

/// User ids and attributes from the request headers.
fn write_options(req: &Request<Incoming>) -> Result<WriteOptions, ApiError> {
    let header = |name: &str| request::header_text(req.headers(), name).map(|v| v.map(str::trim));
    let user_ids = match header("roblox-entry-userids")? {
        None | Some("") => Vec::new(),
        Some(text) if text.starts_with('[') => {
            let v: Value = serde_json::from_str(text).map_err(|_| {
                ApiError::bad_request("InvalidUserIds", "roblox-entry-userids is not a JSON array")
            })?;
            user_ids_from_json(&v)?
        }
        Some(text) => {
            let ids = text
                .split(',')
                .map(|t| t.trim().parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    ApiError::bad_request("InvalidUserIds", "roblox-entry-userids must be numbers")
                })?;
            validate::user_ids(&ids)?;
            ids
        }
    };
    let metadata = match header("roblox-entry-attributes")? {
        None | Some("") => Map::new(),
        Some(text) => {
            let v: Value = serde_json::from_str(text).map_err(|_| {
                ApiError::bad_request(
                    "InvalidAttributes",
                    "roblox-entry-attributes is not a JSON object",
                )
            })?;
            validate::metadata_from_json(&v)?
        }
    };
    Ok(WriteOptions { user_ids, metadata })
}

fn store(state: &AppState, universe: u64, q: &Query) -> Result<DataStore, ApiError> {
    let name = q.require("datastoreName", "InvalidDataStoreName")?;
    let scope = q.get("scope").filter(|s| !s.is_empty()).unwrap_or("global");
    Ok(state.datastores.data_store(universe, name, scope)?)
}

fn cursor_out(cursor: Option<String>) -> Value {
    Value::from(cursor.unwrap_or_default())
}

fn cursor_in(q: &Query) -> Option<String> {
    q.get("cursor").filter(|c| !c.is_empty()).map(str::to_owned)
}

/// Routes `rest`, the path after `standard-datastores`.
pub async fn route(
    state: &AppState,
    req: Request<Incoming>,
    universe: u64,
    rest: &[&str],
) -> Result<Response<Body>, ApiError> {
    let q = Query::of(&req)?;
    let method = req.method().clone();
    match (method, rest) {
        (Method::GET, []) => {
            let limit = q.number("limit", 0usize)?;
            let page = state
                .datastores
                .list_data_stores(
                    universe,
                    q.get("prefix").unwrap_or(""),
                    limit,
                    cursor_in(&q).as_deref(),
                )
                .await?;
            let stores: Vec<Value> = page
                .items
                .iter()
                .map(|s| json!({"name": s.name, "createdTime": body_time(s.created_ms)}))
                .collect();
            Ok(request::json(
                StatusCode::OK,
                &json!({"datastores": stores, "nextPageCursor": cursor_out(page.cursor)}),
            ))
        }
        (Method::GET, ["datastore", "entries"]) => list_keys(state, universe, &q).await,
        (Method::GET, ["datastore", "entries", "entry"]) => {
            let ds = store(state, universe, &q)?;
            let key = q.require("entryKey", "InvalidEntryKey")?;
            match ds.get(key).await? {
                Some(entry) => Ok(entry_response(StatusCode::OK, &entry)),
                None => Err(ApiError::not_found(
                    "EntryNotFound",
                    "Entry not found in the datastore.",
                )),
            }
        }
        (Method::POST, ["datastore", "entries", "entry"]) => set(state, req, universe, q).await,
        (Method::DELETE, ["datastore", "entries", "entry"]) => {
            let ds = store(state, universe, &q)?;
            let key = q.require("entryKey", "InvalidEntryKey")?;
            match ds.remove(key).await? {
                Some(_) => Ok(request::empty(StatusCode::NO_CONTENT)),
                None => Err(ApiError::not_found(
                    "EntryNotFound",
                    "Entry not found in the datastore.",
                )),
            }
        }
        (Method::POST, ["datastore", "entries", "entry", "increment"]) => {
            let ds = store(state, universe, &q)?;
            let key = q.require("entryKey", "InvalidEntryKey")?.to_owned();
            let by = q.number("incrementBy", 1i64)?;
            let options = write_options(&req)?;
            let (value, info) = ds.increment(&key, by, &options).await?;
            Ok(entry_response(
                StatusCode::OK,
                &Entry {
                    value: Value::from(value),
                    info,
                },
            ))
        }
        (Method::GET, ["datastore", "entries", "entry", "versions"]) => {
            list_versions(state, universe, &q).await
        }
        (Method::GET, ["datastore", "entries", "entry", "versions", "version"]) => {
            let ds = store(state, universe, &q)?;
            let key = q.require("entryKey", "InvalidEntryKey")?;
            let version = q.require("versionId", "InvalidVersionId")?;
            match ds.get_version(key, version).await? {
                Some(entry) => Ok(entry_response(StatusCode::OK, &entry)),
                None => Err(ApiError::not_found(
                    "VersionNotFound",
                    "Version not found (it was deleted or expired).",
                )),
            }
        }
        (method, rest) => {
            let allowed: &[&str] = match rest {
                [] | ["datastore", "entries"] => &["GET"],
                ["datastore", "entries", "entry"] => &["GET", "POST", "DELETE"],
                ["datastore", "entries", "entry", "increment"] => &["POST"],
                ["datastore", "entries", "entry", "versions"] => &["GET"],
                ["datastore", "entries", "entry", "versions", "version"] => &["GET"],
                _ => &[],
            };
            Err(request::no_route(
                &method,
                allowed,
                "no such v1 data store endpoint",
            ))
        }
    }
}

async fn list_keys(state: &AppState, universe: u64, q: &Query) -> Result<Response<Body>, ApiError> {
    let name = q.require("datastoreName", "InvalidDataStoreName")?;
    let all = q.flag("allScopes")?;
    let scope = q.get("scope").filter(|s| !s.is_empty());
    let ds = if all {
        if scope.is_some_and(|s| s != "global") {
            return Err(ApiError::bad_request(
                "InvalidDataStoreScope",
                "allScopes cannot be combined with a scope",
            ));
        }
        state.datastores.data_store_all_scopes(universe, name)?
    } else {
        state
            .datastores
            .data_store(universe, name, scope.unwrap_or("global"))?
    };
    let options = ListKeysOptions {
        prefix: q.get("prefix").unwrap_or("").to_owned(),
        page_size: q.number("limit", 16usize)?.max(1),
        cursor: cursor_in(q),
        exclude_deleted: false,
    };
    let page = ds.list_keys(&options).await?;
    let keys: Vec<Value> = page
        .items
        .iter()
        .map(|k| json!({"scope": k.scope, "key": k.key}))
        .collect();
    Ok(request::json(
        StatusCode::OK,
        &json!({"keys": keys, "nextPageCursor": cursor_out(page.cursor)}),
    ))
}

async fn list_versions(
    state: &AppState,
    universe: u64,
    q: &Query,
) -> Result<Response<Body>, ApiError> {
    let ds = store(state, universe, q)?;
    let key = q.require("entryKey", "InvalidEntryKey")?;
    let time = |name: &str, detail: &'static str| -> Result<Option<i64>, ApiError> {
        match q.get(name).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) => parse_time(t).map(Some).ok_or_else(|| {
                ApiError::bad_request(detail, format!("{name} must be an ISO 8601 date-time"))
            }),
        }
    };
    let order = match q.get("sortOrder").map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("ascending") => SortOrder::Ascending,
        Some("descending") => SortOrder::Descending,
        Some(_) => {
            return Err(ApiError::bad_request(
                "InvalidSortOrder",
                "sortOrder is Ascending or Descending",
            ))
        }
    };
    let options = ListVersionsOptions {
        order,
        min_ms: time("startTime", "InvalidStartTime")?,
        max_ms: time("endTime", "InvalidEndTime")?,
        page_size: q.number("limit", 16usize)?.max(1),
        cursor: cursor_in(q),
    };
    let page = ds.list_versions(key, &options).await?;
    let versions: Vec<Value> = page
        .items
        .iter()
        .map(|v| {
            json!({"version": v.version, "deleted": v.deleted, "contentLength": v.content_length,
                   "createdTime": body_time(v.created_ms), "objectCreatedTime": body_time(v.key_created_ms)})
        })
        .collect();
    Ok(request::json(
        StatusCode::OK,
        &json!({"versions": versions, "nextPageCursor": cursor_out(page.cursor)}),
    ))
}

async fn set(
    state: &AppState,
    req: Request<Incoming>,
    universe: u64,
    q: Query,
) -> Result<Response<Body>, ApiError> {
    let ds = store(state, universe, &q)?;
    let key = q.require("entryKey", "InvalidEntryKey")?.to_owned();
    let exclusive = q.flag("exclusiveCreate")?;
    let match_version = q
        .get("matchVersion")
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let precondition = match (exclusive, match_version) {
        (true, Some(_)) => {
            return Err(ApiError::bad_request(
                "ExclusiveCreateAndMatchVersionCannotBeSet",
                "exclusiveCreate and matchVersion cannot both be set",
            ))
        }
        (true, None) => Precondition::ExclusiveCreate,
        (false, Some(v)) => {
            VersionId::parse(&v).ok_or_else(|| {
                ApiError::bad_request("InvalidVersionId", "matchVersion is not a version id")
            })?;
            Precondition::MatchVersion(v)
        }
        (false, None) => Precondition::None,
    };
    let options = write_options(&req)?;
    let md5 = request::header_text(req.headers(), "content-md5")?.map(str::to_owned);
    let body = request::body(req, state.max_body_bytes).await?;
    if let Some(expected) = md5 {
        if expected.trim() != md5_base64(&body) {
            return Err(ApiError::bad_request(
                "ChecksumMismatch",
                "content-md5 does not match the body",
            ));
        }
    }
    let value = parse_value_text(&body)?;
    match ds.set_with(&key, &value, &options, &precondition).await? {
        SetOutcome::Written(info) => {
            let length = value.to_string().len();
            Ok(request::json(
                StatusCode::OK,
                &json!({"version": info.version, "deleted": false, "contentLength": length,
                        "createdTime": body_time(info.updated_ms), "objectCreatedTime": body_time(info.created_ms)}),
            ))
        }
        SetOutcome::PreconditionFailed { current } => {
            let e = ApiError {
                status: StatusCode::PRECONDITION_FAILED,
                code: "FAILED_PRECONDITION",
                detail: "PreconditionFailed",
                message: "the entry's current version does not match the request's precondition"
                    .into(),
            };
            let mut r = request::error(&e, super::error::Style::V1);
            if let Some(current) = current {
                entry_headers(&mut r, &current.info);
            }
            Ok(r)
        }
    }
}
