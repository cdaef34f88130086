//! Black-box tests of ordered data stores over Open Cloud v2
//! (`/cloud/v2/universes/{u}/ordered-data-stores/...`): every endpoint,
//! limit and error body, the client quirks of
//! `/work/shared/spec/opencloud-ordered-and-memory-quirks.md` (rows 10, 15,
//! 16, 18), and v1, v2 and the engine API sharing one set of entries.

mod support;

use hyper::{Method, StatusCode};
use profilestore::testing::spawn_test_server;
use serde_json::{json, Value};
use support::ordered::{assert_error, Api};
use support::send;

#[tokio::test]
async fn v2_create_get_patch_increment_delete() {
    let server = spawn_test_server().await;
    let api = Api::v2(&server, "Board", "global");
    // v2 values are doubles "always rounded to the nearest integer".
    let created = api
        .call(Method::POST, "?id=alice", json!({"value": 5.6}))
        .await;
    assert_eq!(
        created.json(),
        json!({"path": "universes/1/ordered-data-stores/Board/scopes/global/entries/alice", "value": 6, "id": "alice"}),
        "{:?}",
        created.body
    );
    let again = api
        .call(Method::POST, "?id=alice", json!({"value": 1}))
        .await;
    assert_error(
        &again,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "Entry already exists.",
    );
    assert_eq!(
        api.call(Method::GET, "/alice", Value::Null).await.json()["value"],
        6
    );
    let missing = api.call(Method::GET, "/bob", Value::Null).await;
    assert_error(
        &missing,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Entry not found.",
    );
    let no = api.call(Method::PATCH, "/bob", json!({"value": 1})).await;
    assert_error(&no, StatusCode::NOT_FOUND, "NOT_FOUND", "Entry not found.");
    let upsert = api
        .call(Method::PATCH, "/bob?allowMissing=true", json!({"value": 1}))
        .await;
    assert_eq!(upsert.json()["value"], 1, "{:?}", upsert.body);
    // openblox's spelling (quirk 10).
    let upsert = api
        .call(
            Method::PATCH,
            "/carol?allowIfMissing=TRUE",
            json!({"value": "3"}),
        )
        .await;
    assert_eq!(upsert.json()["value"], 3, "{:?}", upsert.body);
    let patched = api
        .call(
            Method::PATCH,
            "/alice?allowMissing=false",
            json!({"value": -1}),
        )
        .await;
    assert_eq!(patched.json()["value"], -1);
    let inc = api
        .call(Method::POST, "/alice:increment", json!({"amount": 11}))
        .await;
    assert_eq!(inc.json()["value"], 10, "{:?}", inc.body);
    let inc = api
        .call(Method::POST, "/new:increment", json!({"amount": 2.0}))
        .await;
    assert_eq!(inc.json()["value"], 2, "a missing entry is created");
    let frac = api
        .call(Method::POST, "/new:increment", json!({"amount": 1.5}))
        .await;
    assert_error(&frac, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "104:");
    let deleted = api.call(Method::DELETE, "/alice", Value::Null).await;
    assert_eq!(
        (deleted.status, deleted.json()),
        (StatusCode::OK, json!({}))
    );
    let gone = api.call(Method::DELETE, "/alice", Value::Null).await;
    assert_error(
        &gone,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Entry not found.",
    );
    let a = api.call(Method::PUT, "/alice", json!({"value": 1})).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.header("allow"), Some("GET, PATCH, DELETE"));
    let a = api.call(Method::GET, "/a/b/c", Value::Null).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
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
async fn v2_list_pages_orders_and_filters() {
    let server = spawn_test_server().await;
    let api = Api::v2(&server, "Board", "global");
    seed(&api, 15).await;
    let list = "orderedDataStoreEntries";
    let first = api
        .call(
            Method::GET,
            "?maxPageSize=3&orderBy=value%20desc",
            Value::Null,
        )
        .await
        .json();
    assert_eq!(
        first[list][0],
        json!({"path": "universes/1/ordered-data-stores/Board/scopes/global/entries/p07", "value": 7, "id": "p07"})
    );
    assert!(first["nextPageToken"].is_string());
    assert_eq!(
        all_pages(&api, "orderBy=value", list, "pageToken").await,
        (expected(true, |_| true), 2)
    );
    assert_eq!(
        all_pages(
            &api,
            "orderBy=value%20desc&maxPageSize=5",
            list,
            "pageToken"
        )
        .await,
        (expected(false, |_| true), 3)
    );
    // Empty orderBy and filter (openblox sends them, quirk 10).
    assert_eq!(
        all_pages(&api, "orderBy=&filter=&maxPageSize=100", list, "pageToken").await,
        (expected(true, |_| true), 1)
    );
    assert_eq!(
        all_pages(&api, "filter=entry%20%3C%3D%202", list, "pageToken")
            .await
            .0,
        expected(true, |v| v <= 2)
    );
    let reversed = "filter=entry%20%3C%3D%205%20%26%26%20entry%20%3E%3D%205";
    assert_eq!(
        all_pages(&api, reversed, list, "pageToken").await.0,
        expected(true, |v| v == 5)
    );
    let a = api
        .call(Method::GET, "?filter=entry%20%3D%3D%205", Value::Null)
        .await;
    assert_error(
        &a,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "filter `entry == 5` is not valid",
    );
    let token = first["nextPageToken"].as_str().unwrap().to_owned();
    let a = api
        .call(
            Method::GET,
            &format!("?orderBy=value&pageToken={token}"),
            Value::Null,
        )
        .await;
    assert_error(
        &a,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "InvalidExclusiveStartKey",
    );
    let other_scope = Api::v2(&server, "Board", "weekly")
        .call(Method::GET, "", Value::Null)
        .await;
    assert_eq!(other_scope.json(), json!({list: []}));
    server.shutdown().await;
}

#[tokio::test]
async fn v1_v2_and_the_engine_api_share_the_entries() {
    let server = spawn_test_server().await;
    let v1 = Api::v1(&server, "Shared", "s");
    let v2 = Api::v2(&server, "Shared", "s");
    v1.call(Method::POST, "?id=k", json!({"value": 41})).await;
    let inc = v2
        .call(Method::POST, "/k:increment", json!({"amount": 1}))
        .await;
    assert_eq!(inc.json()["value"], 42);
    let key = [("x-api-key", server.api_key.as_str())];
    let engine = format!(
        "{}/engine-api/v1/universes/1/ordered-data-stores/Shared/scopes/s/entries/k",
        server.url
    );
    let got = send(Method::GET, &engine, &key, "").await;
    assert_eq!(got.json(), json!({"value": 42}));
    assert_eq!(
        v1.call(Method::GET, "/k", Value::Null).await.json()["value"],
        42
    );
    let universe2 = v1.base.replace("/universes/1/", "/universes/2/");
    let a = send(Method::GET, &format!("{universe2}/k"), &key, "").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "universes are apart");
    let unauthorized = send(Method::GET, &format!("{}/k", v1.base), &[], "").await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    server.shutdown().await;
}
