//! Open Cloud v1 and v2 ordered data store handlers: list (page size,
//! `orderBy`, `filter`, page token), create (`?id=`; 400 `Entry already
//! exists.`), get, update (PATCH, `allowMissing`), `:increment`, delete.
//!
//! Owns: what differs between the two families (entry paths and list
//! field names, query spellings, v2's rounding of fractional values, v2's
//! 404 for deleting a missing entry). Invariants: v1 and v2 read and write
//! the same entries; values are answered as JSON integers and read as
//! numbers or strings holding them (openblox); a delete answers `{}`
//! (openblox reads a JSON body); booleans in the query are read in any
//! case (`True`, rblx-open-cloud).

use hyper::{Method, StatusCode};
use serde_json::Value;

use super::{
    cloud_ascending, cloud_filter, cloud_page_size, cloud_token, json_body, required, store,
};
use crate::http::error::ApiError;
use crate::http::request;
use crate::http::router::{handler, Call, Reply, Route};
use crate::opencloud::codes::DetailCode as D;
use crate::opencloud::ordered as wire;
use crate::ordered::{
    validate, OrderedDataStore, OrderedError, OrderedExpect, OrderedOutcome, OrderedTransform,
    SortedQuery,
};

/// Which Open Cloud family a route belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    /// `/ordered-data-stores/v1` (beta).
    V1,
    /// `/cloud/v2`.
    V2,
}

/// `.../entries`: list (GET) and create (POST).
pub(super) fn list_route(f: Family) -> Route {
    Route::new()
        .on(Method::GET, handler(move |c| list(c, f)))
        .on(Method::POST, handler(move |c| create(c, f)))
}

/// `.../entries/{entry}`: get, update, delete, `:increment`.
pub(super) fn entry_route(f: Family) -> Route {
    Route::new()
        .on(Method::GET, handler(move |c| get(c, f)))
        .on(Method::PATCH, handler(move |c| patch(c, f)))
        .on(Method::DELETE, handler(move |c| delete(c, f)))
        .verb("increment", Method::POST, handler(move |c| increment(c, f)))
}

fn path_of(f: Family, ds: &OrderedDataStore, id: &str) -> String {
    let (u, s, sc) = (ds.universe(), ds.name(), ds.scope());
    match f {
        Family::V1 => format!("universes/{u}/orderedDataStores/{s}/scopes/{sc}/entries/{id}"),
        Family::V2 => format!("universes/{u}/ordered-data-stores/{s}/scopes/{sc}/entries/{id}"),
    }
}

fn entry_reply(f: Family, ds: &OrderedDataStore, id: &str, value: i64) -> Reply {
    let path = path_of(f, ds, id);
    let id = id.to_owned();
    Ok(match f {
        Family::V1 => request::json(StatusCode::OK, &wire::V1Entry { path, id, value }),
        Family::V2 => request::json(StatusCode::OK, &wire::V2Entry { path, value, id }),
    })
}

/// A body value: an integer (or a string holding one); v2 rounds a
/// fractional number to the nearest integer, as its reference says.
fn value_of(f: Family, value: &Value) -> Result<i64, OrderedError> {
    if let (Family::V2, Value::Number(n)) = (f, value) {
        if let (None, None, Some(x)) = (n.as_i64(), n.as_u64(), n.as_f64()) {
            return validate::value_from_json(&Value::from(x.round()));
        }
    }
    validate::value_from_json(value)
}

async fn list(c: Call, f: Family) -> Reply {
    let q = &c.query;
    let (min, max) = cloud_filter(q)?;
    let query = SortedQuery {
        ascending: cloud_ascending(q)?,
        page_size: cloud_page_size(q)?,
        min,
        max,
    };
    let ds = store(&c)?;
    let page = ds.list(&query, cloud_token(q).as_deref()).await?;
    let next_page_token = page.cursor;
    Ok(match f {
        Family::V1 => {
            let entries = page
                .entries
                .into_iter()
                .map(|e| wire::V1Entry {
                    path: path_of(f, &ds, &e.key),
                    id: e.key,
                    value: e.value,
                })
                .collect();
            let body = wire::V1List {
                entries,
                next_page_token,
            };
            request::json(StatusCode::OK, &body)
        }
        Family::V2 => {
            let entries = page
                .entries
                .into_iter()
                .map(|e| wire::V2Entry {
                    path: path_of(f, &ds, &e.key),
                    value: e.value,
                    id: e.key,
                })
                .collect();
            let body = wire::V2List {
                entries,
                next_page_token,
            };
            request::json(StatusCode::OK, &body)
        }
    })
}

async fn create(mut c: Call, f: Family) -> Reply {
    let id = c.query.require("id", D::InvalidEntryKey)?.to_owned();
    let ds = store(&c)?;
    validate::key(&id)?;
    let body: wire::ValueBody = json_body(c.body()).await?;
    let value = value_of(f, &required(body.value, "value")?)?;
    match ds
        .compare_and_set(&id, OrderedExpect::Current(None), Some(value))
        .await?
    {
        OrderedOutcome::Written { .. } => entry_reply(f, &ds, &id, value),
        OrderedOutcome::Conflict { .. } => Err(OrderedError::EntryExists.into()),
    }
}

async fn get(c: Call, f: Family) -> Reply {
    let ds = store(&c)?;
    let id = c.param("entry");
    match ds.get(id).await? {
        Some(value) => entry_reply(f, &ds, id, value),
        None => Err(OrderedError::EntryNotFound.into()),
    }
}

/// v1's `allow_missing`, v2's `allowMissing` and openblox's `allowIfMissing`.
fn allow_missing(c: &Call) -> Result<bool, ApiError> {
    for name in ["allow_missing", "allowMissing", "allowIfMissing"] {
        if c.query.get(name).is_some() {
            return c.query.flag(name);
        }
    }
    Ok(false)
}

async fn patch(mut c: Call, f: Family) -> Reply {
    let ds = store(&c)?;
    let id = c.param("entry").to_owned();
    validate::key(&id)?;
    let allow = allow_missing(&c)?;
    let body: wire::ValueBody = json_body(c.body()).await?;
    let value = value_of(f, &required(body.value, "value")?)?;
    if allow {
        ds.set(&id, value).await?;
        return entry_reply(f, &ds, &id, value);
    }
    let outcome = ds
        .update_detailed(&id, |current| match current {
            Some(_) => OrderedTransform::Write(value),
            None => OrderedTransform::Cancel,
        })
        .await?;
    if outcome.written {
        entry_reply(f, &ds, &id, value)
    } else {
        Err(OrderedError::EntryNotFound.into())
    }
}

async fn increment(mut c: Call, f: Family) -> Reply {
    let ds = store(&c)?;
    let id = c.param("entry").to_owned();
    validate::key(&id)?;
    // openblox sends `allow_missing` here too (v1 documents none): read
    // (so a malformed one is a 400) and ignored, since an increment
    // creates a missing entry, as `IncrementAsync` and v2 do.
    allow_missing(&c)?;
    let body: wire::AmountBody = json_body(c.body()).await?;
    let amount = validate::value_from_json(&required(body.amount, "amount")?)?;
    let value = ds.increment(&id, amount).await?;
    entry_reply(f, &ds, &id, value)
}

async fn delete(c: Call, f: Family) -> Reply {
    let ds = store(&c)?;
    let previous = ds.remove(c.param("entry")).await?;
    if previous.is_none() && f == Family::V2 {
        return Err(OrderedError::EntryNotFound.into());
    }
    Ok(request::json(StatusCode::OK, &serde_json::json!({})))
}
