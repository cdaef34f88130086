//! MemoryStoreService over the engine API: every endpoint of
//! `docs/engine-api.md` (memory section), its limits and Roblox's error
//! messages, queue reads that wait (long-poll slots, shutdown), the quota.
//! Open Cloud's endpoints are in `http_memory_open_cloud.rs`.

mod support;

use std::time::Duration;

use hyper::{Method, StatusCode};
use profilestore::http::Limits;
use profilestore::testing::{spawn_test_server, spawn_test_server_with};
use serde_json::{json, Value};
use support::{call, send, wait_until};

/// How long a test waits for the server's state to come (real time): far
/// more than a loaded machine needs, less than the reads' own waits.
const WAIT: Duration = Duration::from_secs(15);

const E: &str = "/engine-api/v1/universes/1/memory-store";

#[tokio::test]
async fn engine_sorted_map_endpoints() {
    let s = spawn_test_server().await;
    let put = call(
        &s,
        Method::PUT,
        &format!("{E}/sorted-maps/m/items/a"),
        json!({"value": 1, "expiration": 60, "sortKey": 2}),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK);
    let put = put.json();
    assert_eq!(
        (put["written"].clone(), put["new"].clone()),
        (json!(true), json!(true))
    );
    let etag = put["item"]["etag"].as_str().unwrap().to_owned();
    let again = call(
        &s,
        Method::PUT,
        &format!("{E}/sorted-maps/m/items/a"),
        json!({"value": 5, "expiration": 60, "expect": null}),
    )
    .await
    .json();
    assert_eq!(
        again["written"],
        json!(false),
        "expect null: must not exist"
    );
    assert_eq!(again["item"]["value"], json!(1));
    let cond = call(
        &s,
        Method::PUT,
        &format!("{E}/sorted-maps/m/items/a"),
        json!({"value": 3, "expiration": 60, "sortKey": 2, "expect": etag}),
    )
    .await
    .json();
    assert_eq!(
        (cond["written"].clone(), cond["new"].clone()),
        (json!(true), json!(false))
    );
    call(
        &s,
        Method::PUT,
        &format!("{E}/sorted-maps/m/items/b"),
        json!({"value": "s", "expiration": 60, "sortKey": "x"}),
    )
    .await;
    call(
        &s,
        Method::PUT,
        &format!("{E}/sorted-maps/m/items/c"),
        json!({"value": null, "expiration": 60}),
    )
    .await;
    let got = call(
        &s,
        Method::GET,
        &format!("{E}/sorted-maps/m/items/a"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(
        (got["item"]["value"].clone(), got["item"]["sortKey"].clone()),
        (json!(3), json!(2.0))
    );
    let range = call(&s, Method::POST, &format!("{E}/sorted-maps/m/items:range"), json!({"direction": "Descending", "count": 2, "exclusiveLowerBound": null, "exclusiveUpperBound": {"key": "c"}})).await.json();
    let keys: Vec<&str> = range["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["b", "a"]);
    let size = call(
        &s,
        Method::GET,
        &format!("{E}/sorted-maps/m:size"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(size, json!({"size": 3}));
    let del = call(
        &s,
        Method::DELETE,
        &format!("{E}/sorted-maps/m/items/a"),
        Value::Null,
    )
    .await;
    assert_eq!((del.status, del.json()), (StatusCode::OK, json!({})));
    let gone = call(
        &s,
        Method::GET,
        &format!("{E}/sorted-maps/m/items/a"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(gone, json!({"item": null}));
    s.shutdown().await;
}

#[tokio::test]
async fn engine_errors_carry_roblox_messages() {
    let s = spawn_test_server().await;
    let bad = call(
        &s,
        Method::POST,
        &format!("{E}/sorted-maps/m/items:range"),
        json!({"direction": "Ascending", "count": 201}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["code"], json!("INVALID_ARGUMENT"));
    let exp = call(
        &s,
        Method::PUT,
        &format!("{E}/hash-maps/h/items/k"),
        json!({"value": 1, "expiration": 3_888_001}),
    )
    .await;
    assert_eq!(exp.status, StatusCode::BAD_REQUEST);
    assert!(exp.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("InvalidExpirationTime:"));
    let big = call(
        &s,
        Method::PUT,
        &format!("{E}/hash-maps/h/items/k"),
        json!({"value": "x".repeat(33_000), "expiration": 5}),
    )
    .await;
    assert!(big.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("ItemValueSizeTooLarge:"));
    let key = "k".repeat(129);
    let long = call(
        &s,
        Method::GET,
        &format!("{E}/hash-maps/h/items/{key}"),
        Value::Null,
    )
    .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    let read = call(
        &s,
        Method::POST,
        &format!("{E}/queues/q/items:read"),
        json!({"count": 101}),
    )
    .await;
    assert_eq!(
        read.status,
        StatusCode::BAD_REQUEST,
        "engine reads at most 100"
    );
    let unknown = call(&s, Method::GET, &format!("{E}/nope"), Value::Null).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    s.shutdown().await;
}

#[tokio::test]
async fn engine_queue_endpoints() {
    let s = spawn_test_server().await;
    for (v, p) in [(1, 0), (2, 5)] {
        let a = call(
            &s,
            Method::POST,
            &format!("{E}/queues/q/items:add"),
            json!({"value": v, "expiration": 60, "priority": p}),
        )
        .await;
        assert_eq!((a.status, a.json()), (StatusCode::OK, json!({})));
    }
    let read = call(
        &s,
        Method::POST,
        &format!("{E}/queues/q/items:read"),
        json!({"count": 1, "waitTimeout": 0}),
    )
    .await
    .json();
    assert_eq!(read["items"], json!([2]));
    let id = read["id"].as_str().unwrap().to_owned();
    let size = call(
        &s,
        Method::GET,
        &format!("{E}/queues/q:size?excludeInvisible=True"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(size, json!({"size": 1}));
    let peek = call(
        &s,
        Method::GET,
        &format!("{E}/queues/q/items:peek?count=10"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(peek["items"].as_array().unwrap().len(), 2);
    assert!(peek["items"][0]["invisibleUntil"].is_string());
    assert!(peek["items"][1]["invisibleUntil"].is_null());
    call(
        &s,
        Method::POST,
        &format!("{E}/queues/q/items:remove"),
        json!({"id": id}),
    )
    .await;
    let size = call(&s, Method::GET, &format!("{E}/queues/q:size"), Value::Null)
        .await
        .json();
    assert_eq!(size, json!({"size": 1}));
    let none = call(
        &s,
        Method::POST,
        &format!("{E}/queues/q/items:read"),
        json!({"count": 2, "allOrNothing": true, "waitTimeout": 0}),
    )
    .await
    .json();
    assert_eq!(none, json!({"items": [], "id": null}));
    s.shutdown().await;
}

#[tokio::test]
async fn an_engine_read_that_waits_gets_an_item_added_later() {
    let limits = Limits::default();
    let s = spawn_test_server_with(limits.clone()).await;
    let url = s.url.clone();
    let key = s.api_key.clone();
    let waiter = tokio::spawn(async move {
        let body = json!({"count": 1, "waitTimeout": 20}).to_string();
        send(
            Method::POST,
            &format!("{url}{E}/queues/w/items:read"),
            &[("x-api-key", &key)],
            body,
        )
        .await
    });
    // The add comes once the read waits (it holds a long-poll slot).
    wait_until("the read waits", WAIT, || limits.busy_long_polls() == 1).await;
    call(
        &s,
        Method::POST,
        &format!("{E}/queues/w/items:add"),
        json!({"value": "late", "expiration": 60}),
    )
    .await;
    let got = tokio::time::timeout(Duration::from_secs(15), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.json()["items"], json!(["late"]));
    s.shutdown().await;
}

#[tokio::test]
async fn waiting_reads_hold_long_poll_slots_and_end_on_shutdown() {
    let limits = Limits::new(64, 1);
    let s = spawn_test_server_with(limits.clone()).await;
    let (url, key) = (s.url.clone(), s.api_key.clone());
    let waiter = tokio::spawn(async move {
        let body = json!({"count": 1, "waitTimeout": 50}).to_string();
        send(
            Method::POST,
            &format!("{url}{E}/queues/w/items:read"),
            &[("x-api-key", &key)],
            body,
        )
        .await
    });
    wait_until("the first read waits", WAIT, || {
        limits.busy_long_polls() == 1
    })
    .await;
    let second = call(
        &s,
        Method::POST,
        &format!("{E}/queues/w/items:read"),
        json!({"count": 1, "waitTimeout": 5}),
    )
    .await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    s.shutdown().await;
    let ended = tokio::time::timeout(Duration::from_secs(20), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.json(), json!({"items": [], "id": null}));
}

#[tokio::test]
async fn engine_hash_map_endpoints() {
    let s = spawn_test_server().await;
    for k in ["b", "a", "c"] {
        let put = call(
            &s,
            Method::PUT,
            &format!("{E}/hash-maps/h/items/{k}"),
            json!({"value": k, "expiration": 60}),
        )
        .await
        .json();
        assert_eq!(put["new"], json!(true));
    }
    let got = call(
        &s,
        Method::GET,
        &format!("{E}/hash-maps/h/items/a"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(got["item"]["value"], json!("a"));
    let page = call(
        &s,
        Method::GET,
        &format!("{E}/hash-maps/h/items?count=2"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(
        page["items"],
        json!([{"key": "a", "value": "a"}, {"key": "b", "value": "b"}])
    );
    let cursor = page["nextCursor"].as_str().unwrap().to_owned();
    let rest = call(
        &s,
        Method::GET,
        &format!("{E}/hash-maps/h/items?count=2&cursor={cursor}"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(
        rest,
        json!({"items": [{"key": "c", "value": "c"}], "nextCursor": null})
    );
    let zero = call(
        &s,
        Method::GET,
        &format!("{E}/hash-maps/h/items?count=0"),
        Value::Null,
    )
    .await;
    assert_eq!(zero.status, StatusCode::BAD_REQUEST);
    call(
        &s,
        Method::DELETE,
        &format!("{E}/hash-maps/h/items/a"),
        Value::Null,
    )
    .await;
    let gone = call(
        &s,
        Method::GET,
        &format!("{E}/hash-maps/h/items/a"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(gone, json!({"item": null}));
    s.shutdown().await;
}

#[tokio::test]
async fn the_quota_is_a_429_with_its_roblox_name() {
    let s = spawn_test_server().await;
    let value = "x".repeat(30_000);
    let mut last = None;
    for i in 0..100 {
        let a = call(
            &s,
            Method::PUT,
            &format!("{E}/hash-maps/h/items/k{i}"),
            json!({"value": value, "expiration": 60}),
        )
        .await;
        if a.status != StatusCode::OK {
            last = Some(a);
            break;
        }
    }
    let last = last.expect("the quota ends the writes");
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(last.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("TotalMemoryOverLimit:"));
    s.shutdown().await;
}
