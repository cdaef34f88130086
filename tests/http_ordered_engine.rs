//! Black-box tests of the engine API's ordered data stores
//! (`/engine-api/v1/universes/{u}/ordered-data-stores/...`), exactly as
//! `docs/engine-api.md` specifies them: bodies, answers, Roblox's engine
//! messages in v2-shaped errors, limits.

mod support;

use hyper::{Method, StatusCode};
use profilestore::testing::spawn_test_server;
use serde_json::{json, Value};
use support::ordered::{assert_error, Api};
use support::Answer;

/// A 400 with exactly `{"code": "INVALID_ARGUMENT", "message": message...}`.
fn assert_refused(a: &Answer, message: &str) {
    assert_error(a, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message);
}

#[tokio::test]
async fn get_set_increment_remove() {
    let server = spawn_test_server().await;
    let e = Api::engine(&server, "Board", "global");
    assert_eq!(
        e.ok(Method::GET, "/k", Value::Null).await,
        json!({"value": null})
    );
    assert_eq!(
        e.ok(Method::PUT, "/k", json!({"value": 5})).await,
        json!({"value": 5, "previous": null}),
        "`previous` is an addition to the documented answer"
    );
    assert_eq!(
        e.ok(Method::GET, "/k", Value::Null).await,
        json!({"value": 5})
    );
    assert_eq!(
        e.ok(Method::PUT, "/k", json!({"value": "6"})).await,
        json!({"value": 6, "previous": 5}),
        "strings holding integers"
    );
    assert_eq!(
        e.ok(Method::POST, "/k:increment", json!({"delta": 4}))
            .await,
        json!({"value": 10})
    );
    assert_eq!(
        e.ok(Method::POST, "/k:increment", json!({})).await,
        json!({"value": 11}),
        "delta defaults to 1"
    );
    assert_eq!(
        e.ok(Method::POST, "/new:increment", Value::Null).await,
        json!({"value": 1})
    );
    assert_eq!(
        e.ok(Method::DELETE, "/k", Value::Null).await,
        json!({"previous": 11})
    );
    assert_eq!(
        e.ok(Method::DELETE, "/k", Value::Null).await,
        json!({"previous": null})
    );
    assert_eq!(
        e.ok(Method::GET, "/k", Value::Null).await,
        json!({"value": null})
    );
    // A `:suffix` that is not a verb of the method is part of the key.
    assert_eq!(
        e.ok(Method::PUT, "/a:update", json!({"value": 1})).await["value"],
        1
    );
    assert_eq!(
        e.ok(Method::GET, "/a:update", Value::Null).await,
        json!({"value": 1})
    );
    let plain_post = e.call(Method::POST, "/k", json!({})).await;
    assert_eq!(
        plain_post.status,
        StatusCode::NOT_FOUND,
        "POST needs a verb"
    );
    let patch = e.call(Method::PATCH, "/k", json!({})).await;
    assert_eq!(patch.status, StatusCode::METHOD_NOT_ALLOWED);
    server.shutdown().await;
}

#[tokio::test]
async fn values_deltas_and_keys_are_checked_with_roblox_s_messages() {
    let server = spawn_test_server().await;
    let e = Api::engine(&server, "Board", "global");
    for (body, message) in [
        (
            json!({"value": 1.5}),
            "104: Can't store 1.5 in DataStore. Ordered data store values must be integers.",
        ),
        (
            json!({"value": "abc"}),
            "103: Can't allow string in DataStore.",
        ),
        (
            json!({"value": true}),
            "103: Can't allow boolean in DataStore.",
        ),
        (json!({"value": null}), "103: Can't allow nil in DataStore."),
        (
            json!({"value": {"a": 1}}),
            "103: Can't allow table in DataStore.",
        ),
        (
            json!({"value": 1e19}),
            "104: Can't store 1e+19 in DataStore. Ordered data store values are 64-bit integers",
        ),
        (json!({}), "`value` is required"),
    ] {
        assert_refused(&e.call(Method::PUT, "/k", body).await, message);
    }
    assert_refused(
        &e.call(Method::POST, "/k:increment", json!({"delta": 0.25}))
            .await,
        "104:",
    );
    assert_refused(
        &e.call(Method::POST, "/k:increment", json!({"delta": "x"}))
            .await,
        "103:",
    );
    assert_refused(
        &e.call(
            Method::PUT,
            &format!("/{}", "k".repeat(51)),
            json!({"value": 1}),
        )
        .await,
        "102: Key name exceeds the 50 character limit",
    );
    let multibyte = format!("/{}", "é".repeat(26));
    assert_refused(&e.call(Method::GET, &multibyte, Value::Null).await, "102:");
    let empty = e.call(Method::GET, "/", Value::Null).await;
    assert_eq!(empty.status, StatusCode::OK, "`entries/` is the listing");
    e.ok(Method::PUT, "/max", json!({"value": i64::MAX})).await;
    assert_refused(
        &e.call(Method::POST, "/max:increment", json!({"delta": 1}))
            .await,
        "IncrementValueTooLarge",
    );
    let long_store = Api::engine(&server, &"s".repeat(51), "global");
    assert_refused(
        &long_store.call(Method::GET, "/k", Value::Null).await,
        "Data store name is invalid",
    );
    assert_eq!(
        e.ok(Method::GET, "/k", Value::Null).await,
        json!({"value": null}),
        "nothing refused was stored"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn update_is_one_compare_and_set() {
    let server = spawn_test_server().await;
    let e = Api::engine(&server, "Board", "global");
    let created = e
        .ok(
            Method::POST,
            "/k:update",
            json!({"expect": null, "value": 5}),
        )
        .await;
    assert_eq!(created, json!({"written": true, "value": 5}));
    let lost = e
        .ok(
            Method::POST,
            "/k:update",
            json!({"expect": null, "value": 6}),
        )
        .await;
    assert_eq!(lost, json!({"written": false, "current": 5}));
    let stale = e
        .ok(Method::POST, "/k:update", json!({"expect": 4, "value": 6}))
        .await;
    assert_eq!(stale, json!({"written": false, "current": 5}));
    let won = e
        .ok(
            Method::POST,
            "/k:update",
            json!({"expect": "5", "value": 7}),
        )
        .await;
    assert_eq!(won, json!({"written": true, "value": 7}));
    let any = e.ok(Method::POST, "/k:update", json!({"value": 8})).await;
    assert_eq!(
        any,
        json!({"written": true, "value": 8}),
        "no expect: unconditional"
    );
    let removed = e
        .ok(
            Method::POST,
            "/k:update",
            json!({"expect": 8, "value": null}),
        )
        .await;
    assert_eq!(removed, json!({"written": true, "value": null}));
    assert_eq!(
        e.ok(Method::GET, "/k", Value::Null).await,
        json!({"value": null})
    );
    let gone = e
        .ok(Method::POST, "/k:update", json!({"expect": 8, "value": 1}))
        .await;
    assert_eq!(gone, json!({"written": false, "current": null}));
    assert_refused(
        &e.call(
            Method::POST,
            "/k:update",
            json!({"expect": 1.5, "value": 1}),
        )
        .await,
        "104:",
    );
    assert_refused(
        &e.call(
            Method::POST,
            "/k:update",
            json!({"expect": null, "value": false}),
        )
        .await,
        "103:",
    );
    server.shutdown().await;
}

async fn page(e: &Api<'_>, query: &str) -> Value {
    e.ok(Method::GET, &format!("?{query}"), Value::Null).await
}

#[tokio::test]
async fn sorted_pages_follow_their_cursor() {
    let server = spawn_test_server().await;
    let e = Api::engine(&server, "Board", "global");
    for (k, v) in [("a", 3), ("b", 1), ("c", 2), ("d", 3), ("e", -1)] {
        e.ok(Method::PUT, &format!("/{k}"), json!({"value": v}))
            .await;
    }
    let first = page(&e, "ascending=false&pageSize=2").await;
    assert_eq!(
        first["entries"],
        json!([{"key": "d", "value": 3}, {"key": "a", "value": 3}])
    );
    let cursor = first["nextCursor"].as_str().expect("a cursor").to_owned();
    let second = page(&e, &format!("ascending=false&pageSize=2&cursor={cursor}")).await;
    assert_eq!(
        second["entries"],
        json!([{"key": "c", "value": 2}, {"key": "b", "value": 1}])
    );
    let third = page(
        &e,
        &format!(
            "ascending=false&pageSize=2&cursor={}",
            second["nextCursor"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(
        third,
        json!({"entries": [{"key": "e", "value": -1}], "nextCursor": null})
    );
    let bounded = page(&e, "ascending=true&pageSize=50&minValue=1&maxValue=2").await;
    assert_eq!(
        bounded,
        json!({"entries": [{"key": "b", "value": 1}, {"key": "c", "value": 2}], "nextCursor": null})
    );
    let defaults = page(&e, "minValue=&maxValue=&cursor=").await;
    assert_eq!(
        defaults["entries"][0],
        json!({"key": "e", "value": -1}),
        "ascending by default"
    );
    for (query, message) in [
        (
            "pageSize=0",
            "106: PageSize must be within a predefined range.",
        ),
        (
            "pageSize=101",
            "106: PageSize must be within a predefined range.",
        ),
        (
            "pageSize=ten",
            "106: PageSize must be within a predefined range.",
        ),
        ("minValue=1.5", "106: MinValue must be an integer."),
        ("maxValue=abc", "106: MaxValue must be an integer."),
        (
            "minValue=3&maxValue=2",
            "107: MaxValue must be greater than or equal to MinValue.",
        ),
        ("cursor=nope", "InvalidExclusiveStartKey"),
        (
            "ascending=sideways",
            "query parameter `ascending` must be true or false",
        ),
    ] {
        let a = e.call(Method::GET, &format!("?{query}"), Value::Null).await;
        assert_refused(&a, message);
        if message.starts_with("10") {
            assert_eq!(a.json()["message"], message, "exactly Roblox's message");
        }
    }
    // A cursor belongs to its listing: another order refuses it.
    let other = e
        .call(
            Method::GET,
            &format!("?ascending=true&pageSize=2&cursor={cursor}"),
            Value::Null,
        )
        .await;
    assert_refused(&other, "InvalidExclusiveStartKey");
    server.shutdown().await;
}

#[tokio::test]
async fn batch_get_takes_1_to_100_keys_and_leaves_out_absent_ones() {
    let server = spawn_test_server().await;
    let e = Api::engine(&server, "Board", "global");
    e.ok(Method::PUT, "/coins", json!({"value": 100})).await;
    e.ok(Method::PUT, "/gems", json!({"value": 50})).await;
    let got = e
        .ok(
            Method::POST,
            ":batchGet",
            json!({"keys": ["coins", "gems", "none"]}),
        )
        .await;
    assert_eq!(got, json!({"entries": {"coins": 100, "gems": 50}}));
    let hundred: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
    assert_eq!(
        e.ok(Method::POST, ":batchGet", json!({"keys": hundred}))
            .await,
        json!({"entries": {}})
    );
    assert_refused(
        &e.call(Method::POST, ":batchGet", json!({"keys": []})).await,
        "BatchGetAsync takes 1 to 100 keys (got 0).",
    );
    let many: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
    assert_refused(
        &e.call(Method::POST, ":batchGet", json!({"keys": many}))
            .await,
        "BatchGetAsync takes 1 to 100 keys (got 101).",
    );
    assert_refused(
        &e.call(Method::POST, ":batchGet", json!({"keys": ["a", ""]}))
            .await,
        "101: Key name can't be empty.",
    );
    assert_refused(
        &e.call(Method::POST, ":batchGet", json!({"keys": [1]}))
            .await,
        "the body is not the JSON expected",
    );
    let wrong = e.call(Method::GET, ":batchGet", Value::Null).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    server.shutdown().await;
}

#[tokio::test]
async fn storage_failures_are_503_on_every_family() {
    use profilestore::clock::Clock;
    use profilestore::faults::FaultyPlugin;
    use profilestore::ordered::OrderedService;
    use std::sync::Arc;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (mut state, _closing) =
        profilestore::testing::memory_state("key".to_owned(), Default::default());
    let faulty = Arc::new(FaultyPlugin::new(Arc::new(
        profilestore_memory::MemoryPlugin::new(),
    )));
    state.ordered = OrderedService::new(faulty.clone(), Clock::system());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(profilestore::http::run(listener, state, async {
        let _ = stopped.await;
    }));
    let key = [("x-api-key", "key")];
    // Unreachable storage: 500 INTERNAL, as for standard data stores.
    faulty.fail_all(true);
    for path in [
        "/engine-api/v1/universes/1/ordered-data-stores/B/scopes/global/entries/k",
        "/engine-api/v1/universes/1/ordered-data-stores/B/scopes/global/entries",
        "/ordered-data-stores/v1/universes/1/orderedDataStores/B/scopes/global/entries/k",
        "/cloud/v2/universes/1/ordered-data-stores/B/scopes/global/entries",
    ] {
        let a = support::send(Method::GET, &format!("{url}{path}"), &key, "").await;
        assert_error(
            &a,
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "InternalServerError",
        );
    }
    faulty.fail_all(false);
    // A transient failure of a write: 503 UNAVAILABLE, and nothing stored.
    let entry =
        format!("{url}/engine-api/v1/universes/1/ordered-data-stores/B/scopes/global/entries/k");
    let v2 = format!("{url}/cloud/v2/universes/1/ordered-data-stores/B/scopes/global/entries/k");
    faulty.fail_next_commits(2);
    let a = support::send(Method::PUT, &entry, &key, json!({"value": 1}).to_string()).await;
    assert_error(
        &a,
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        "InternalServerError",
    );
    let a = support::send(
        Method::PATCH,
        &format!("{v2}?allowMissing=true"),
        &key,
        json!({"value": 1}).to_string(),
    )
    .await;
    assert_error(
        &a,
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        "InternalServerError",
    );
    let a = support::send(Method::GET, &entry, &key, "").await;
    assert_eq!(a.json(), json!({"value": null}));
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
