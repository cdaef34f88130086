//! The remote backend: ordered data stores of a profilestore server, over
//! the engine API (`docs/engine-api.md`, bodies in `opencloud/ordered.rs`).
//!
//! Owns: the five primitives as engine API requests (`GET`/`PUT`/`DELETE
//! entries/{key}`, `:update` for compare-and-set, `:increment`, the sorted
//! listing with its cursor, `entries:batchGet`) and the answers back into
//! values. Invariants: inputs were validated by the caller (`mod.rs`) with
//! the local rules before anything is sent; nothing is cached across calls
//! (the server is the only source of truth); the server's cursors are
//! passed through unchanged; transport failures are transient
//! `OrderedError::Remote`s.

use std::collections::BTreeMap;

use hyper::Method;
use serde_json::Value;

use super::{OrdResult, OrderedDataStore, OrderedEntry, OrderedError, SortedPage, SortedQuery};
use crate::opencloud::ordered as wire;
use crate::remote::{enc, segment, RemoteClient};
use profilestore_plugin_api::{OrderedExpect, OrderedOutcome};

/// `.../ordered-data-stores/{store}/scopes/{scope}/entries{tail}`.
fn entries(store: &OrderedDataStore, tail: &str) -> String {
    format!(
        "/engine-api/v1/universes/{}/ordered-data-stores/{}/scopes/{}/entries{tail}",
        store.universe,
        segment(&store.name),
        segment(&store.scope)
    )
}

fn entry(store: &OrderedDataStore, key: &str, verb: &str) -> String {
    entries(store, &format!("/{}{verb}", segment(key)))
}

fn json_of<T: serde::Serialize>(body: &T) -> Value {
    serde_json::to_value(body).unwrap_or(Value::Null)
}

/// `GetAsync`.
pub(super) async fn read(
    client: &RemoteClient,
    store: &OrderedDataStore,
    key: &str,
) -> OrdResult<Option<i64>> {
    let path = entry(store, key, "");
    let answer: wire::EngineValue = client.json(Method::GET, &path, None).await?;
    Ok(answer.value)
}

/// One conditional write: `PUT` when unconditional, else `:update`.
pub(super) async fn write(
    client: &RemoteClient,
    store: &OrderedDataStore,
    key: &str,
    expect: OrderedExpect,
    value: Option<i64>,
) -> OrdResult<OrderedOutcome> {
    let expected = match expect {
        OrderedExpect::Current(v) => Some(v),
        OrderedExpect::Any => None,
    };
    let expect = expected.map(|v| json_of(&v));
    match (&expect, value) {
        (None, None) => {
            let path = entry(store, key, "");
            let answer: wire::EngineRemoved = client.json(Method::DELETE, &path, None).await?;
            return Ok(OrderedOutcome::Written {
                previous: answer.previous,
            });
        }
        (None, Some(v)) => {
            let body = json_of(&wire::EngineSet {
                value: Some(Value::from(v)),
            });
            let path = entry(store, key, "");
            let answer: wire::EngineSetAnswer =
                client.json(Method::PUT, &path, Some(&body)).await?;
            return Ok(OrderedOutcome::Written {
                previous: answer.previous,
            });
        }
        _ => {}
    }
    let body = json_of(&wire::EngineUpdate {
        expect,
        value: json_of(&value),
    });
    let path = entry(store, key, ":update");
    let answer: wire::EngineUpdated = client.json(Method::POST, &path, Some(&body)).await?;
    if answer.written {
        // Written over exactly the expected value.
        Ok(OrderedOutcome::Written {
            previous: expected.flatten(),
        })
    } else {
        Ok(OrderedOutcome::Conflict {
            current: answer.current.flatten(),
        })
    }
}

/// `IncrementAsync` (the server runs the compare-and-swap loop).
pub(super) async fn increment(
    client: &RemoteClient,
    store: &OrderedDataStore,
    key: &str,
    delta: i64,
) -> OrdResult<i64> {
    let body = json_of(&wire::EngineIncrement {
        delta: Some(Value::from(delta)),
    });
    let path = entry(store, key, ":increment");
    let answer: wire::EngineValue = client.json(Method::POST, &path, Some(&body)).await?;
    answer
        .value
        .ok_or_else(|| OrderedError::Remote(client.protocol("the increment answer has no value")))
}

/// One sorted page.
pub(super) async fn range(
    client: &RemoteClient,
    store: &OrderedDataStore,
    query: &SortedQuery,
    cursor: Option<&str>,
) -> OrdResult<SortedPage> {
    let bound = |b: Option<i64>| b.map(|v| v.to_string()).unwrap_or_default();
    let path = entries(
        store,
        &format!(
            "?ascending={}&pageSize={}&minValue={}&maxValue={}&cursor={}",
            query.ascending,
            query.page_size,
            bound(query.min),
            bound(query.max),
            enc(cursor.unwrap_or("")),
        ),
    );
    let page: wire::EnginePage = client.json(Method::GET, &path, None).await?;
    Ok(SortedPage {
        entries: page
            .entries
            .into_iter()
            .map(|e| OrderedEntry {
                key: e.key,
                value: e.value,
            })
            .collect(),
        cursor: page.next_cursor.filter(|c| !c.is_empty()),
    })
}

/// `BatchGetAsync`.
pub(super) async fn batch(
    client: &RemoteClient,
    store: &OrderedDataStore,
    keys: &[String],
) -> OrdResult<BTreeMap<String, i64>> {
    let body = json_of(&wire::EngineBatchGet {
        keys: keys.to_vec(),
    });
    let path = entries(store, ":batchGet");
    let answer: wire::EngineBatch = client.json(Method::POST, &path, Some(&body)).await?;
    Ok(answer.entries)
}
