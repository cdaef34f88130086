//! The emulator's faults control (`/emulator/v1/faults`), black-box: each
//! effect and match field, `times` and `probability`, an ambiguous write
//! seen by a follow-up read, faults through Open Cloud v1 and v2, the
//! session API and a hosted engine, ordered and memory stores and
//! publish; listing with counters, deleting, validation; the Rust client
//! and the CLI. No sleeps: latency is measured loosely (at least the
//! latency, never an upper bound).

#[path = "../support/mod.rs"]
mod support;

mod control;
mod effects;
mod ways_in;

use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use profilestore::opencloud::emulator::{FaultMatch, FaultSpec};
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::{json, Value};
pub(crate) use support::call;
use support::Answer;

const V1: &str = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry";

pub(crate) async fn fault(s: &TestServer, body: Value) -> Value {
    let a = call(s, Method::POST, "/emulator/v1/faults", body).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    a.json()
}

pub(crate) fn v1(store: &str, key: &str) -> String {
    format!("{V1}?datastoreName={store}&entryKey={key}")
}

pub(crate) async fn v1_set(s: &TestServer, store: &str, key: &str, value: Value) -> Answer {
    call(s, Method::POST, &v1(store, key), value).await
}

pub(crate) async fn v1_get(s: &TestServer, store: &str, key: &str) -> Answer {
    call(s, Method::GET, &v1(store, key), Value::Null).await
}

pub(crate) async fn stored(s: &TestServer, store: &str, key: &str) -> Option<Value> {
    let ds = s.datastores.data_store(1, store, "global").expect("ds");
    ds.get(key).await.expect("get").map(|e| e.value)
}

pub(crate) async fn listed(s: &TestServer) -> Vec<Value> {
    let a = call(s, Method::GET, "/emulator/v1/faults", Value::Null).await;
    assert_eq!(a.status, StatusCode::OK);
    a.json()["faults"].as_array().expect("faults").clone()
}
