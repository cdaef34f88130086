//! The engine API's ordered data store handlers (`docs/engine-api.md`):
//! `GetAsync`, `SetAsync`, `IncrementAsync`, one `UpdateAsync` attempt
//! (`:update`, a compare-and-set the client loops on), `RemoveAsync`,
//! `GetSortedAsync` pages and `BatchGetAsync`.
//!
//! Owns: reading the engine API's bodies and query, answering its bodies.
//! Invariants: errors carry Roblox's engine message unchanged (`106: ...`),
//! so a client raises it as is; values are read as integers or strings
//! holding integers (103/104 otherwise).

use hyper::StatusCode;
use serde_json::Value;

use super::{json_body, required, store};
use crate::http::request;
use crate::http::router::{Call, Reply};
use crate::opencloud::ordered as wire;
use crate::ordered::validate::{self, Bound};
use crate::ordered::{OrderedError, OrderedExpect, OrderedOutcome, SortedQuery};

pub(super) async fn get(c: Call) -> Reply {
    let value = store(&c)?.get(c.param("key")).await?;
    Ok(request::json(StatusCode::OK, &wire::EngineValue { value }))
}

pub(super) async fn set(mut c: Call) -> Reply {
    let ds = store(&c)?;
    let key = c.param("key").to_owned();
    validate::key(&key)?;
    let body: wire::EngineSet = json_body(c.body()).await?;
    let value = validate::value_from_json(&required(body.value, "value")?)?;
    let previous = match ds
        .compare_and_set(&key, OrderedExpect::Any, Some(value))
        .await?
    {
        OrderedOutcome::Written { previous } | OrderedOutcome::Conflict { current: previous } => {
            previous
        }
    };
    Ok(request::json(
        StatusCode::OK,
        &wire::EngineSetAnswer { value, previous },
    ))
}

pub(super) async fn increment(mut c: Call) -> Reply {
    let ds = store(&c)?;
    let key = c.param("key").to_owned();
    validate::key(&key)?;
    let body: wire::EngineIncrement = json_body(c.body()).await?;
    let delta = match body.delta {
        None => 1,
        Some(d) => validate::value_from_json(&d)?,
    };
    let value = ds.increment(&key, delta).await?;
    Ok(request::json(
        StatusCode::OK,
        &wire::EngineValue { value: Some(value) },
    ))
}

fn optional_value(v: &Value) -> Result<Option<i64>, OrderedError> {
    match v {
        Value::Null => Ok(None),
        v => validate::value_from_json(v).map(Some),
    }
}

pub(super) async fn update(mut c: Call) -> Reply {
    let ds = store(&c)?;
    let key = c.param("key").to_owned();
    validate::key(&key)?;
    let body: wire::EngineUpdate = json_body(c.body()).await?;
    let expect = match &body.expect {
        None => OrderedExpect::Any,
        Some(v) => OrderedExpect::Current(optional_value(v)?),
    };
    let value = optional_value(&body.value)?;
    let answer = match ds.compare_and_set(&key, expect, value).await? {
        OrderedOutcome::Written { .. } => wire::EngineUpdated {
            written: true,
            value: Some(value),
            current: None,
        },
        OrderedOutcome::Conflict { current } => wire::EngineUpdated {
            written: false,
            value: None,
            current: Some(current),
        },
    };
    Ok(request::json(StatusCode::OK, &answer))
}

pub(super) async fn remove(c: Call) -> Reply {
    let previous = store(&c)?.remove(c.param("key")).await?;
    Ok(request::json(
        StatusCode::OK,
        &wire::EngineRemoved { previous },
    ))
}

/// `pageSize`: an integer 1 to 100 (default 50), else 106.
fn page_size(text: Option<&str>) -> Result<usize, OrderedError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(50),
        Some(t) => match t.parse::<i64>() {
            Ok(n) => validate::page_size(n),
            Err(_) => Err(OrderedError::PageSizeOutOfRange { given: 0 }),
        },
    }
}

pub(super) async fn list(c: Call) -> Reply {
    let q = &c.query;
    let ascending = match q.get("ascending") {
        None | Some("") => true,
        Some(_) => q.flag("ascending")?,
    };
    let query = SortedQuery {
        ascending,
        page_size: page_size(q.get("pageSize"))?,
        min: validate::bound_from_text(q.get("minValue").unwrap_or(""), Bound::Min)?,
        max: validate::bound_from_text(q.get("maxValue").unwrap_or(""), Bound::Max)?,
    };
    let cursor = q.get("cursor").filter(|c| !c.is_empty());
    let page = store(&c)?.list(&query, cursor).await?;
    let body = wire::EnginePage {
        entries: page
            .entries
            .into_iter()
            .map(|e| wire::EngineEntry {
                key: e.key,
                value: e.value,
            })
            .collect(),
        next_cursor: page.cursor,
    };
    Ok(request::json(StatusCode::OK, &body))
}

pub(super) async fn batch_get(mut c: Call) -> Reply {
    let ds = store(&c)?;
    let body: wire::EngineBatchGet = json_body(c.body()).await?;
    let entries = ds.batch_get(&body.keys).await?;
    Ok(request::json(
        StatusCode::OK,
        &wire::EngineBatch { entries },
    ))
}
