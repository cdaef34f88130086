//! Black-box tests of ordered data stores over Open Cloud v1
//! (`/ordered-data-stores/v1/.../orderedDataStores/...`): every endpoint,
//! limit and error body, and the client quirks of
//! `/work/shared/spec/opencloud-ordered-and-memory-quirks.md` (rows 9, 11,
//! 15, 16, 18). v2: `http_ordered_v2.rs`; the engine API:
//! `http_ordered_engine.rs`.

mod support;

use hyper::{Method, StatusCode};
use profilestore::testing::spawn_test_server;
use serde_json::{json, Value};
use support::ordered::{assert_error, Api};
use support::send;

#[tokio::test]
async fn v1_create_get_update_increment_delete() {
    let server = spawn_test_server().await;
    let api = Api::v1(&server, "Board", "global");
    let created = api
        .call(Method::POST, "?id=alice", json!({"value": 5}))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    assert_eq!(
        created.json(),
        json!({"path": "universes/1/orderedDataStores/Board/scopes/global/entries/alice", "id": "alice", "value": 5})
    );
    // rblx-open-cloud needs exactly this message (quirk 9).
    let again = api
        .call(Method::POST, "?id=alice", json!({"value": 6}))
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.json()["message"], "Entry already exists.");
    assert_eq!(again.json()["code"], "INVALID_ARGUMENT");
    assert_eq!(
        api.call(Method::GET, "/alice", Value::Null).await.json()["value"],
        5
    );
    let missing = api.call(Method::GET, "/nobody", Value::Null).await;
    assert_error(
        &missing,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Entry not found.",
    );
    // openblox sends values as strings (quirk 15).
    let patched = api
        .call(Method::PATCH, "/alice", json!({"value": "7"}))
        .await;
    assert_eq!(patched.json()["value"], 7, "{:?}", patched.body);
    let no_entry = api.call(Method::PATCH, "/bob", json!({"value": 1})).await;
    assert_error(
        &no_entry,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Entry not found.",
    );
    assert_eq!(
        api.call(Method::GET, "/bob", Value::Null).await.status,
        StatusCode::NOT_FOUND
    );
    // rblx-open-cloud writes booleans as `True` (quirk 18).
    let upsert = api
        .call(
            Method::PATCH,
            "/bob?allow_missing=True",
            json!({"value": 2}),
        )
        .await;
    assert_eq!(upsert.status, StatusCode::OK, "{:?}", upsert.body);
    assert_eq!(upsert.json()["value"], 2);
    let inc = api
        .call(Method::POST, "/alice:increment", json!({"amount": 3}))
        .await;
    assert_eq!(inc.json()["value"], 10, "{:?}", inc.body);
    assert_eq!(inc.json()["id"], "alice");
    // openblox sends `allow_missing` on `:increment` (quirk 11); an
    // increment creates the entry as IncrementAsync does.
    let fresh = api
        .call(
            Method::POST,
            "/carol:increment?allow_missing=true",
            json!({"amount": "4"}),
        )
        .await;
    assert_eq!(fresh.json()["value"], 4, "{:?}", fresh.body);
    let fresh = api
        .call(Method::POST, "/dave:increment", json!({"amount": -2}))
        .await;
    assert_eq!(fresh.json()["value"], -2, "{:?}", fresh.body);
    // openblox counts a delete as done only for a `{}` body (quirk 16).
    let deleted = api.call(Method::DELETE, "/alice", Value::Null).await;
    assert_eq!(
        (deleted.status, deleted.json()),
        (StatusCode::OK, json!({}))
    );
    let again = api.call(Method::DELETE, "/alice", Value::Null).await;
    assert_eq!(
        (again.status, again.json()),
        (StatusCode::OK, json!({})),
        "v1: a missing entry is a success"
    );
    assert_eq!(
        api.call(Method::GET, "/alice", Value::Null).await.status,
        StatusCode::NOT_FOUND
    );
    server.shutdown().await;
}

#[tokio::test]
async fn v1_refuses_bad_input_with_roblox_s_messages() {
    let server = spawn_test_server().await;
    let api = Api::v1(&server, "Board", "global");
    let bad = StatusCode::BAD_REQUEST;
    let cases = [
        (json!({"value": 1.5}), "104: Can't store 1.5 in DataStore."),
        (
            json!({"value": "abc"}),
            "103: Can't allow string in DataStore.",
        ),
        (
            json!({"value": true}),
            "103: Can't allow boolean in DataStore.",
        ),
        (
            json!({"value": [1]}),
            "103: Can't allow table in DataStore.",
        ),
        (
            json!({"value": 9_223_372_036_854_775_808u64}),
            "104: Can't store 9223372036854775808",
        ),
        (json!({}), "`value` is required"),
    ];
    for (body, message) in cases {
        let a = api.call(Method::POST, "?id=k", body.clone()).await;
        assert_error(&a, bad, "INVALID_ARGUMENT", message);
        let a = api.call(Method::PATCH, "/k?allow_missing=true", body).await;
        assert_error(&a, bad, "INVALID_ARGUMENT", message);
    }
    let key = [("x-api-key", server.api_key.as_str())];
    let not_json = send(Method::POST, &format!("{}?id=k", api.base), &key, "{").await;
    assert_error(
        &not_json,
        bad,
        "INVALID_ARGUMENT",
        "the body is not the JSON expected",
    );
    let no_id = api.call(Method::POST, "", json!({"value": 1})).await;
    assert_error(
        &no_id,
        bad,
        "INVALID_ARGUMENT",
        "query parameter `id` is required",
    );
    let empty_id = api.call(Method::POST, "?id=", json!({"value": 1})).await;
    assert_error(
        &empty_id,
        bad,
        "INVALID_ARGUMENT",
        "101: Key name can't be empty.",
    );
    let long = "k".repeat(51);
    let long_id = api
        .call(Method::POST, &format!("?id={long}"), json!({"value": 1}))
        .await;
    assert_error(
        &long_id,
        bad,
        "INVALID_ARGUMENT",
        "102: Key name exceeds the 50 character limit",
    );
    let fifty = api
        .call(
            Method::POST,
            &format!("?id={}", "k".repeat(50)),
            json!({"value": 1}),
        )
        .await;
    assert_eq!(fifty.status, StatusCode::OK);
    let long_store = Api::v1(&server, &"s".repeat(51), "global");
    let a = long_store.call(Method::GET, "/k", Value::Null).await;
    assert_error(&a, bad, "INVALID_ARGUMENT", "Data store name is invalid");
    let long_scope = Api::v1(&server, "Board", &"s".repeat(51));
    let a = long_scope.call(Method::GET, "", Value::Null).await;
    assert_error(&a, bad, "INVALID_ARGUMENT", "Scope is invalid");
    let no_amount = api.call(Method::POST, "/k:increment", json!({})).await;
    assert_error(&no_amount, bad, "INVALID_ARGUMENT", "`amount` is required");
    let frac = api
        .call(Method::POST, "/k:increment", json!({"amount": 0.5}))
        .await;
    assert_error(&frac, bad, "INVALID_ARGUMENT", "104:");
    let flag = api
        .call(
            Method::POST,
            "/k:increment?allow_missing=maybe",
            json!({"amount": 1}),
        )
        .await;
    assert_error(
        &flag,
        bad,
        "INVALID_ARGUMENT",
        "query parameter `allow_missing` must be true or false",
    );
    api.call(
        Method::PATCH,
        "/max?allow_missing=true",
        json!({"value": i64::MAX}),
    )
    .await;
    let over = api
        .call(Method::POST, "/max:increment", json!({"amount": 1}))
        .await;
    assert_error(&over, bad, "INVALID_ARGUMENT", "IncrementValueTooLarge");
    assert_eq!(
        api.call(Method::GET, "/max", Value::Null).await.json()["value"],
        i64::MAX
    );
    assert_eq!(
        api.call(Method::GET, "/k", Value::Null).await.status,
        StatusCode::NOT_FOUND,
        "nothing refused was stored"
    );
    server.shutdown().await;
}

async fn seed(api: &Api<'_>, n: i64) {
    for i in 0..n {
        let a = api
            .call(
                Method::POST,
                &format!("?id=p{i:02}"),
                json!({"value": i % 8}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK);
    }
}

fn ids(body: &Value, list: &str) -> Vec<String> {
    body[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {body}"))
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Every page of a listing (query without `?`), following the tokens.
async fn all_pages(api: &Api<'_>, query: &str, list: &str, token: &str) -> (Vec<String>, usize) {
    let (mut out, mut pages, mut next) = (Vec::new(), 0, None::<String>);
    loop {
        let tail = match &next {
            None => format!("?{query}"),
            Some(t) => format!("?{query}&{token}={t}"),
        };
        let a = api.call(Method::GET, &tail, Value::Null).await;
        assert_eq!(a.status, StatusCode::OK, "{tail}: {:?}", a.body);
        let body = a.json();
        out.extend(ids(&body, list));
        pages += 1;
        match body.get("nextPageToken") {
            None => return (out, pages),
            Some(t) => next = Some(t.as_str().expect("token").to_owned()),
        }
    }
}

/// p00..p14 with values i % 8, sorted by (value, id).
fn expected(asc: bool, keep: impl Fn(i64) -> bool) -> Vec<String> {
    let mut all: Vec<(i64, String)> = (0..15).map(|i| (i % 8, format!("p{i:02}"))).collect();
    all.retain(|(v, _)| keep(*v));
    all.sort();
    if !asc {
        all.reverse();
    }
    all.into_iter().map(|(_, k)| k).collect()
}

#[tokio::test]
async fn v1_list_pages_orders_and_filters() {
    let server = spawn_test_server().await;
    let api = Api::v1(&server, "Board", "global");
    seed(&api, 15).await;
    let first = api.call(Method::GET, "", Value::Null).await.json();
    assert_eq!(ids(&first, "entries").len(), 10, "default page size 10");
    assert_eq!(
        first["entries"][0],
        json!({"path": "universes/1/orderedDataStores/Board/scopes/global/entries/p00", "id": "p00", "value": 0})
    );
    assert_eq!(
        all_pages(&api, "", "entries", "page_token").await,
        (expected(true, |_| true), 2)
    );
    assert_eq!(
        all_pages(
            &api,
            "order_by=desc&max_page_size=4",
            "entries",
            "page_token"
        )
        .await,
        (expected(false, |_| true), 4)
    );
    let both = "filter=entry%20%3E%3D%203%20%26%26%20entry%20%3C%3D%206";
    assert_eq!(
        all_pages(&api, both, "entries", "page_token").await.0,
        expected(true, |v| (3..=6).contains(&v))
    );
    // openblox writes the bounds the other way round (quirk 10).
    let reversed = "filter=entry%20%3C%3D%206%20%26%26%20entry%20%3E%3D%203&order_by=desc";
    assert_eq!(
        all_pages(&api, reversed, "entries", "page_token").await.0,
        expected(false, |v| (3..=6).contains(&v))
    );
    assert_eq!(
        all_pages(
            &api,
            "filter=&order_by=&max_page_size=1000",
            "entries",
            "page_token"
        )
        .await,
        (expected(true, |_| true), 1)
    );
    let bad = StatusCode::BAD_REQUEST;
    let a = api
        .call(Method::GET, "?max_page_size=-1", Value::Null)
        .await;
    assert_error(
        &a,
        bad,
        "INVALID_ARGUMENT",
        "the page size must be a number",
    );
    let a = api
        .call(Method::GET, "?filter=entry%20%3E%205", Value::Null)
        .await;
    assert_error(
        &a,
        bad,
        "INVALID_ARGUMENT",
        "filter `entry > 5` is not valid",
    );
    let a = api.call(Method::GET, "?order_by=id", Value::Null).await;
    assert_error(&a, bad, "INVALID_ARGUMENT", "orderBy `id` is not supported");
    let a = api
        .call(
            Method::GET,
            "?filter=entry%20%3E%3D%205%20%26%26%20entry%20%3C%3D%201",
            Value::Null,
        )
        .await;
    assert_error(&a, bad, "INVALID_ARGUMENT", "107:");
    let token = first["nextPageToken"].as_str().unwrap().to_owned();
    let a = api
        .call(
            Method::GET,
            &format!("?order_by=desc&page_token={token}"),
            Value::Null,
        )
        .await;
    assert_error(&a, bad, "INVALID_ARGUMENT", "InvalidExclusiveStartKey");
    let a = api
        .call(Method::GET, "?page_token=garbage", Value::Null)
        .await;
    assert_error(&a, bad, "INVALID_ARGUMENT", "InvalidExclusiveStartKey");
    let empty = Api::v1(&server, "Empty", "global")
        .call(Method::GET, "", Value::Null)
        .await;
    assert_eq!(
        empty.json(),
        json!({"entries": []}),
        "no token on the last page"
    );
    server.shutdown().await;
}
