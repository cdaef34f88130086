//! Ordered data stores over HTTP: Open Cloud v1
//! (`/ordered-data-stores/v1/universes/{u}/orderedDataStores/...`), v2
//! (`/cloud/v2/universes/{u}/ordered-data-stores/...`) and the engine API
//! (`/engine-api/v1/universes/{u}/ordered-data-stores/...`, what the Luau
//! client and remote services call; `docs/engine-api.md`).
//!
//! Owns: the three route tables and what the families share: the store a
//! path names, JSON bodies, Open Cloud's list parameters (page size,
//! `orderBy`, `filter`, page tokens). The handlers are in
//! `ordered_cloud.rs` (v1 and v2) and `ordered_engine.rs`. Invariants:
//! every call goes through [`crate::ordered::OrderedService`], which checks
//! Roblox's limits; errors have the v2 shape (`{"code", "message"}`, as
//! Roblox's ordered v1 answers too) with statuses from `error.rs`; query
//! names are case-insensitive and both spellings (`max_page_size`,
//! `maxPageSize`) are read by both Open Cloud families.

#[path = "ordered_cloud.rs"]
mod cloud;
#[path = "ordered_engine.rs"]
mod engine;

use std::sync::LazyLock;

use hyper::Method;
use serde_json::Value;

use super::error::{ApiError, Style};
use super::request::Query;
use super::router::{handler, Call, Route, Table};
use crate::opencloud::codes::DetailCode as D;
use crate::ordered::OrderedDataStore;

/// Open Cloud v1 ordered routes, after `/ordered-data-stores/v1/universes/{u}`.
pub(super) static TABLE_V1: LazyLock<Table> = LazyLock::new(|| {
    Table::new(Style::V2, "no such ordered data store v1 endpoint")
        .route(
            "/orderedDataStores/{store}/scopes/{scope}/entries",
            cloud::list_route(cloud::Family::V1),
        )
        .route(
            "/orderedDataStores/{store}/scopes/{scope}/entries/{entry}",
            cloud::entry_route(cloud::Family::V1),
        )
});

/// Open Cloud v2 ordered routes, after `/cloud/v2/universes/{u}`.
pub(super) static TABLE_V2: LazyLock<Table> = LazyLock::new(|| {
    Table::new(Style::V2, "no such ordered data store v2 endpoint")
        .route(
            "/ordered-data-stores/{store}/scopes/{scope}/entries",
            cloud::list_route(cloud::Family::V2),
        )
        .route(
            "/ordered-data-stores/{store}/scopes/{scope}/entries/{entry}",
            cloud::entry_route(cloud::Family::V2),
        )
});

/// Engine API ordered routes, after `/engine-api/v1/universes/{u}`.
pub(super) static ENGINE: LazyLock<Table> = LazyLock::new(|| {
    let prefix = "/ordered-data-stores/{store}/scopes/{scope}";
    Table::new(Style::V2, "no such engine API endpoint")
        .route(
            &format!("{prefix}/entries"),
            Route::new().on(Method::GET, handler(engine::list)),
        )
        .route(
            &format!("{prefix}/entries:batchGet"),
            Route::new().on(Method::POST, handler(engine::batch_get)),
        )
        .route(
            &format!("{prefix}/entries/{{key}}"),
            Route::new()
                .on(Method::GET, handler(engine::get))
                .on(Method::PUT, handler(engine::set))
                .on(Method::DELETE, handler(engine::remove))
                .verb("increment", Method::POST, handler(engine::increment))
                .verb("update", Method::POST, handler(engine::update))
                .verb_required(),
        )
});

/// The ordered data store and scope a path names.
fn store(c: &Call) -> Result<OrderedDataStore, ApiError> {
    Ok(c.state
        .ordered
        .data_store(c.universe, c.param("store"), c.param("scope"))?)
}

/// The JSON body `read` reads (see [`Call::body`]); an empty body is `{}`.
async fn json_body<T: serde::de::DeserializeOwned>(
    read: impl std::future::Future<Output = Result<bytes::Bytes, ApiError>>,
) -> Result<T, ApiError> {
    let bytes = read.await?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(
            D::ContentNotJson,
            format!("the body is not the JSON expected: {e}"),
        )
    })
}

/// A required body field, else a 400 naming it.
fn required(field: Option<Value>, name: &str) -> Result<Value, ApiError> {
    field.ok_or_else(|| ApiError::bad_request(D::Unknown, format!("`{name}` is required")))
}

/// The first of `names` the query has (case-insensitive), empty as absent.
fn query_any<'q>(q: &'q Query, names: &[&str]) -> Option<&'q str> {
    names
        .iter()
        .find_map(|n| q.get(n))
        .filter(|v| !v.trim().is_empty())
}

/// Open Cloud's page size: default 10, values above 100 are 100, 0 is the
/// default; a negative or non-numeric one is a 400.
fn cloud_page_size(q: &Query) -> Result<usize, ApiError> {
    let Some(text) = query_any(q, &["max_page_size", "maxPageSize"]) else {
        return Ok(10);
    };
    match text.trim().parse::<i64>() {
        Ok(0) => Ok(10),
        Ok(n) if n > 0 => Ok(usize::try_from(n.min(100)).unwrap_or(100)),
        _ => Err(ApiError::bad_request(
            D::Unknown,
            format!("the page size must be a number from 1 to 100, not `{text}`"),
        )),
    }
}

/// `orderBy` / `order_by`: ascending unless it names descending order.
/// Accepted: empty, `value`, `asc`, `value asc` (ascending), `desc`,
/// `value desc` (descending), in any case.
fn cloud_ascending(q: &Query) -> Result<bool, ApiError> {
    let Some(text) = query_any(q, &["order_by", "orderBy"]) else {
        return Ok(true);
    };
    let words: Vec<String> = text
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["value"] | ["asc"] | ["value", "asc"] => Ok(true),
        ["desc"] | ["value", "desc"] => Ok(false),
        _ => Err(ApiError::bad_request(
            D::InvalidSortOrder,
            format!("orderBy `{text}` is not supported: use `value` or `value desc` (v1: `desc`)"),
        )),
    }
}

/// `filter`: `entry >= X`, `entry <= Y`, or both joined by `&&` in either
/// order (spaces optional); empty means no bounds. Bounds are inclusive.
fn cloud_filter(q: &Query) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let Some(text) = query_any(q, &["filter"]) else {
        return Ok((None, None));
    };
    let bad = |why: &str| {
        ApiError::bad_request(
            D::Unknown,
            format!("filter `{text}` is not valid ({why}): write `entry >= 10 && entry <= 50`"),
        )
    };
    let (mut min, mut max) = (None, None);
    for part in text.split("&&") {
        let term = part.trim();
        let rest = term
            .strip_prefix("entry")
            .ok_or_else(|| bad("a term must start with `entry`"))?;
        let rest = rest.trim_start();
        let (slot, number) = if let Some(n) = rest.strip_prefix(">=") {
            (&mut min, n)
        } else if let Some(n) = rest.strip_prefix("<=") {
            (&mut max, n)
        } else {
            return Err(bad("only `>=` and `<=` are supported"));
        };
        if slot.is_some() {
            return Err(bad("a bound is given twice"));
        }
        let value = number
            .trim()
            .parse::<i64>()
            .map_err(|_| bad("bounds are 64-bit integers"))?;
        *slot = Some(value);
    }
    Ok((min, max))
}

/// `page_token` / `pageToken`.
fn cloud_token(q: &Query) -> Option<String> {
    query_any(q, &["page_token", "pageToken"]).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Query {
        Query::parse(text).expect("query")
    }

    #[test]
    fn filters_in_either_order_and_spacing() {
        let f = |t: &str| {
            cloud_filter(&q(&format!(
                "filter={}",
                t.replace(' ', "%20").replace('&', "%26")
            )))
        };
        assert_eq!(
            f("entry >= 10 && entry <= 50").unwrap(),
            (Some(10), Some(50))
        );
        assert_eq!(
            f("entry <= 50 && entry >= 10").unwrap(),
            (Some(10), Some(50))
        );
        assert_eq!(f("entry<=-5").unwrap(), (None, Some(-5)));
        assert_eq!(f("entry >= 3").unwrap(), (Some(3), None));
        assert_eq!(cloud_filter(&q("filter=")).unwrap(), (None, None));
        assert_eq!(cloud_filter(&q("")).unwrap(), (None, None));
        for bad in [
            "entry > 3",
            "value >= 3",
            "entry >= x",
            "entry >= 1 && entry >= 2",
            "entry >= 1.5",
        ] {
            assert!(f(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn order_and_page_size() {
        assert!(cloud_ascending(&q("")).unwrap());
        assert!(cloud_ascending(&q("orderBy=")).unwrap());
        assert!(cloud_ascending(&q("orderBy=value")).unwrap());
        assert!(!cloud_ascending(&q("order_by=desc")).unwrap());
        assert!(!cloud_ascending(&q("orderBy=value%20desc")).unwrap());
        assert!(!cloud_ascending(&q("orderBy=Value+DESC")).unwrap());
        assert!(cloud_ascending(&q("orderBy=id")).is_err());
        assert_eq!(cloud_page_size(&q("")).unwrap(), 10);
        assert_eq!(cloud_page_size(&q("maxPageSize=0")).unwrap(), 10);
        assert_eq!(cloud_page_size(&q("max_page_size=7")).unwrap(), 7);
        assert_eq!(cloud_page_size(&q("maxPageSize=1000")).unwrap(), 100);
        assert!(cloud_page_size(&q("maxPageSize=-1")).is_err());
        assert!(cloud_page_size(&q("maxPageSize=x")).is_err());
    }
}
