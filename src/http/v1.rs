//! Open Cloud DataStore v1: `/datastores/v1/universes/{u}/standard-datastores/...`.
//!
//! Owns: the v1 route table and endpoints (list data stores, list keys,
//! get, set with `matchVersion`/`exclusiveCreate`/`content-md5`, delete,
//! increment, list versions, get version) and their headers. Invariants:
//! bodies are compact JSON and `content-md5` is computed over the exact
//! bytes sent; a rejected request changes nothing; a failed precondition
//! answers 412 with the current entry's `roblox-entry-*` headers; a
//! deleted entry reads as 404.

use std::sync::LazyLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use hyper::{Method, Response, StatusCode};
use md5::{Digest, Md5};
use serde_json::{Map, Value};

use super::error::{ApiError, Style};
use super::request::{self, set_header, Body, Query};
use super::router::{handler, Call, Reply, Route, Table};
use super::stores;
use super::AppState;
use crate::datastore::{
    parse_value_text, user_ids_from_json, validate, DataStore, Entry, KeyInfo, ListKeysOptions,
    ListVersionsOptions, Precondition, SetOutcome, SortOrder, VersionId, WriteOptions,
};
use crate::opencloud::codes::{DetailCode as D, ErrorCode as C};
use crate::opencloud::headers as h;
use crate::opencloud::time::{body_time, header_time, parse_time};
use crate::opencloud::v1 as wire;

/// The v1 routes, after `/datastores/v1/universes/{u}`.
pub(super) static TABLE: LazyLock<Table> = LazyLock::new(|| {
    const ENTRY: &str = "/standard-datastores/datastore/entries/entry";
    Table::new(Style::V1, "no such v1 data store endpoint")
        .outside("/standard-datastores", "no such v1 endpoint")
        .route(
            "/standard-datastores",
            Route::new().on(Method::GET, handler(list_stores)),
        )
        .route(
            "/standard-datastores/datastore/entries",
            Route::new().on(Method::GET, handler(list_keys)),
        )
        .route(
            ENTRY,
            Route::new()
                .on(Method::GET, handler(get))
                .on(Method::POST, handler(set))
                .on(Method::DELETE, handler(delete)),
        )
        .route(
            &format!("{ENTRY}/increment"),
            Route::new().on(Method::POST, handler(increment)),
        )
        .route(
            &format!("{ENTRY}/versions"),
            Route::new().on(Method::GET, handler(list_versions)),
        )
        .route(
            &format!("{ENTRY}/versions/version"),
            Route::new().on(Method::GET, handler(get_version)),
        )
});

fn md5_base64(bytes: &[u8]) -> String {
    STANDARD.encode(Md5::digest(bytes))
}

/// The body and `roblox-entry-*` headers of an entry.
fn entry_response(status: StatusCode, entry: &Entry) -> Response<Body> {
    text_response(status, entry.value.to_string(), &entry.info)
}

/// An entry's answer from its compact JSON text, sent as is.
fn text_response(status: StatusCode, text: String, info: &KeyInfo) -> Response<Body> {
    let body = Bytes::from(text);
    let md5 = md5_base64(&body);
    let mut r = Response::new(request::full(body));
    *r.status_mut() = status;
    set_header(&mut r, "content-type", "application/json");
    set_header(&mut r, h::CONTENT_MD5, &md5);
    entry_headers(&mut r, info);
    r
}

fn entry_headers(r: &mut Response<Body>, info: &KeyInfo) {
    set_header(r, h::ENTRY_VERSION, &info.version);
    set_header(r, h::ENTRY_CREATED_TIME, &header_time(info.created_ms));
    set_header(
        r,
        h::ENTRY_VERSION_CREATED_TIME,
        &header_time(info.updated_ms),
    );
    // From the ids themselves (a list of integers cannot fail to encode),
    // not through a cloned `Value`.
    let ids = serde_json::to_string(&info.user_ids).unwrap_or_default();
    set_header(r, h::ENTRY_USERIDS, &ids);
    if !info.metadata.is_empty() {
        set_header(
            r,
            h::ENTRY_ATTRIBUTES,
            &Value::Object(info.metadata.clone()).to_string(),
        );
    }
}

/// User ids and attributes from the request headers.
fn write_options(headers: &hyper::HeaderMap) -> Result<WriteOptions, ApiError> {
    let header = |name: &str| request::header_text(headers, name).map(|v| v.map(str::trim));
    let user_ids = match header(h::ENTRY_USERIDS)? {
        None | Some("") => Vec::new(),
        Some(text) if text.starts_with('[') => {
            let v: Value = serde_json::from_str(text).map_err(|_| {
                ApiError::bad_request(
                    D::InvalidUserIds,
                    "roblox-entry-userids is not a JSON array",
                )
            })?;
            user_ids_from_json(&v)?
        }
        Some(text) => {
            let ids = text
                .split(',')
                .map(|t| t.trim().parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    ApiError::bad_request(D::InvalidUserIds, "roblox-entry-userids must be numbers")
                })?;
            validate::user_ids(&ids)?;
            ids
        }
    };
    let metadata = match header(h::ENTRY_ATTRIBUTES)? {
        None | Some("") => Map::new(),
        Some(text) => {
            let v: Value = serde_json::from_str(text).map_err(|_| {
                ApiError::bad_request(
                    D::InvalidAttributes,
                    "roblox-entry-attributes is not a JSON object",
                )
            })?;
            validate::metadata_from_json(&v)?
        }
    };
    Ok(WriteOptions { user_ids, metadata })
}

fn store(state: &AppState, universe: u64, q: &Query) -> Result<DataStore, ApiError> {
    let name = q.require("datastoreName", D::InvalidDataStoreName)?;
    stores::data_store(state, universe, name, scope(q))
}

/// The `scope` parameter; an empty one counts as none.
fn scope(q: &Query) -> Option<&str> {
    q.get("scope").filter(|s| !s.is_empty())
}

fn cursor_in(q: &Query) -> Option<String> {
    q.get("cursor").filter(|c| !c.is_empty()).map(str::to_owned)
}

fn entry_not_found() -> ApiError {
    ApiError::not_found(D::EntryNotFound, "Entry not found in the datastore.")
}

async fn list_stores(c: Call) -> Reply {
    let q = &c.query;
    let limit = q.number("limit", 0usize)?;
    let page = stores::list_data_stores(
        &c.state,
        c.universe,
        q.get("prefix").unwrap_or(""),
        limit,
        cursor_in(q).as_deref(),
    )
    .await?;
    let body = wire::ListDataStores {
        datastores: page
            .items
            .iter()
            .map(|s| wire::DataStoreItem {
                name: s.name.clone(),
                created_time: body_time(s.created_ms),
            })
            .collect(),
        next_page_cursor: page.cursor.unwrap_or_default(),
    };
    Ok(request::json(StatusCode::OK, &body))
}

async fn get(c: Call) -> Reply {
    let ds = store(&c.state, c.universe, &c.query)?;
    let key = c.query.require("entryKey", D::InvalidEntryKey)?;
    // The stored text is compact JSON: sent as is, never parsed here.
    match ds.get_text(key).await? {
        Some(entry) => Ok(text_response(StatusCode::OK, entry.text, &entry.info)),
        None => Err(entry_not_found()),
    }
}

async fn delete(c: Call) -> Reply {
    let ds = store(&c.state, c.universe, &c.query)?;
    let key = c.query.require("entryKey", D::InvalidEntryKey)?;
    match ds.remove(key).await? {
        Some(_) => Ok(request::empty(StatusCode::NO_CONTENT)),
        None => Err(entry_not_found()),
    }
}

async fn increment(c: Call) -> Reply {
    let ds = store(&c.state, c.universe, &c.query)?;
    let key = c.query.require("entryKey", D::InvalidEntryKey)?.to_owned();
    let by = c.query.number("incrementBy", 1i64)?;
    let options = write_options(c.headers())?;
    let (value, info) = ds.increment(&key, by, &options).await?;
    Ok(entry_response(
        StatusCode::OK,
        &Entry {
            value: Value::from(value),
            info,
        },
    ))
}

async fn get_version(c: Call) -> Reply {
    let q = &c.query;
    let ds = store(&c.state, c.universe, q)?;
    let key = q.require("entryKey", D::InvalidEntryKey)?;
    let version = q.require("versionId", D::InvalidVersionId)?;
    match ds.get_version(key, version).await? {
        Some(entry) => Ok(entry_response(StatusCode::OK, &entry)),
        None => Err(ApiError::not_found(
            D::VersionNotFound,
            "Version not found (it was deleted or expired).",
        )),
    }
}

async fn list_keys(c: Call) -> Reply {
    let q = &c.query;
    let name = q.require("datastoreName", D::InvalidDataStoreName)?;
    let all = q.flag("allScopes")?;
    let scope = scope(q);
    if all && scope.is_some_and(|s| s != stores::DEFAULT_SCOPE) {
        return Err(ApiError::bad_request(
            D::InvalidDataStoreScope,
            "allScopes cannot be combined with a scope",
        ));
    }
    let ds = stores::data_store_or_all(&c.state, c.universe, name, all, scope)?;
    let options = ListKeysOptions {
        prefix: q.get("prefix").unwrap_or("").to_owned(),
        page_size: q.number("limit", 16usize)?.max(1),
        cursor: cursor_in(q),
        exclude_deleted: false,
    };
    let page = ds.list_keys(&options).await?;
    let body = wire::ListKeys {
        keys: page
            .items
            .into_iter()
            .map(|k| wire::KeyItem {
                scope: k.scope,
                key: k.key,
            })
            .collect(),
        next_page_cursor: page.cursor.unwrap_or_default(),
    };
    Ok(request::json(StatusCode::OK, &body))
}

async fn list_versions(c: Call) -> Reply {
    let q = &c.query;
    let ds = store(&c.state, c.universe, q)?;
    let key = q.require("entryKey", D::InvalidEntryKey)?;
    let time = |name: &str, detail: D| -> Result<Option<i64>, ApiError> {
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
                D::InvalidSortOrder,
                "sortOrder is Ascending or Descending",
            ))
        }
    };
    let options = ListVersionsOptions {
        order,
        min_ms: time("startTime", D::InvalidStartTime)?,
        max_ms: time("endTime", D::InvalidEndTime)?,
        page_size: q.number("limit", 16usize)?.max(1),
        cursor: cursor_in(q),
    };
    let page = ds.list_versions(key, &options).await?;
    let body = wire::ListVersions {
        versions: page
            .items
            .into_iter()
            .map(|v| wire::Version {
                version: v.version,
                deleted: v.deleted,
                content_length: v.content_length,
                created_time: body_time(v.created_ms),
                object_created_time: body_time(v.key_created_ms),
            })
            .collect(),
        next_page_cursor: page.cursor.unwrap_or_default(),
    };
    Ok(request::json(StatusCode::OK, &body))
}

async fn set(mut c: Call) -> Reply {
    let read = c.body();
    let (state, query) = (&c.state, &c.query);
    let ds = store(state, c.universe, query)?;
    let key = query.require("entryKey", D::InvalidEntryKey)?.to_owned();
    let exclusive = query.flag("exclusiveCreate")?;
    let match_version = query
        .get("matchVersion")
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let precondition = match (exclusive, match_version) {
        (true, Some(_)) => {
            return Err(ApiError::bad_request(
                D::ExclusiveCreateAndMatchVersionCannotBeSet,
                "exclusiveCreate and matchVersion cannot both be set",
            ))
        }
        (true, None) => Precondition::ExclusiveCreate,
        (false, Some(v)) => {
            VersionId::parse(&v).ok_or_else(|| {
                ApiError::bad_request(D::InvalidVersionId, "matchVersion is not a version id")
            })?;
            Precondition::MatchVersion(v)
        }
        (false, None) => Precondition::None,
    };
    let options = write_options(c.headers())?;
    let md5 = request::header_text(c.headers(), h::CONTENT_MD5)?.map(str::to_owned);
    let body = read.await?;
    if let Some(expected) = md5 {
        if expected.trim() != md5_base64(&body) {
            return Err(ApiError::bad_request(
                D::ChecksumMismatch,
                "content-md5 does not match the body",
            ));
        }
    }
    let value = parse_value_text(&body)?;
    let write = ds.set_with(&key, &value, &options, &precondition);
    match stores::noted(c.headers(), write).await? {
        SetOutcome::Written(info) => {
            let body = wire::Version {
                version: info.version,
                deleted: false,
                content_length: value.to_string().len() as u64,
                created_time: body_time(info.updated_ms),
                object_created_time: body_time(info.created_ms),
            };
            Ok(request::json(StatusCode::OK, &body))
        }
        SetOutcome::PreconditionFailed { current } => {
            let e = ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                C::FailedPrecondition,
                D::PreconditionFailed,
                "the entry's current version does not match the request's precondition",
            );
            let mut r = request::error(&e, Style::V1);
            if let Some(current) = current {
                entry_headers(&mut r, &current.info);
            }
            Ok(r)
        }
    }
}
