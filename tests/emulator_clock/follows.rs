//! Everything time-based follows an advance at once.

use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use profilestore::opencloud::time::parse_time;
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::{json, Value};

use super::call;
use super::support::{send, Answer};

const DAY: Duration = Duration::from_secs(86_400);

#[tokio::test]
async fn entry_times_jump_with_the_clock() {
    let server = spawn_test_server().await;
    let entries = "/cloud/v2/universes/1/data-stores/Times/scopes/global/entries";
    let first = call(
        &server,
        Method::POST,
        &format!("{entries}?id=a"),
        json!({"value": 1}),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let first_ms = parse_time(first.json()["createTime"].as_str().expect("createTime")).unwrap();
    server.advance(DAY).await.expect("advance");
    let second = call(
        &server,
        Method::POST,
        &format!("{entries}?id=b"),
        json!({"value": 2}),
    )
    .await;
    let second_ms = parse_time(second.json()["createTime"].as_str().expect("createTime")).unwrap();
    assert!(
        second_ms - first_ms >= 86_400_000,
        "{first_ms} -> {second_ms}"
    );
    let v1 = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry";
    let set = format!("{v1}?datastoreName=Times&entryKey=c");
    assert!(call(&server, Method::POST, &set, json!(3))
        .await
        .status
        .is_success());
    let got = call(&server, Method::GET, &set, Value::Null).await;
    let created = got
        .header("roblox-entry-created-time")
        .expect("created header");
    let created_ms = parse_time(created).expect("header time");
    assert!(created_ms - first_ms >= 86_400_000, "{created}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_superseded_version_is_purged_after_30_days() {
    let server = spawn_test_server().await;
    let v1 = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry";
    let entry = format!("{v1}?datastoreName=Old&entryKey=k");
    let versions = format!("{v1}/versions?datastoreName=Old&entryKey=k");
    for value in [1, 2] {
        let a = call(&server, Method::POST, &entry, json!(value)).await;
        assert!(a.status.is_success(), "{:?}", a.body);
    }
    let count = |a: Answer| a.json()["versions"].as_array().expect("versions").len();
    assert_eq!(
        count(call(&server, Method::GET, &versions, Value::Null).await),
        2
    );
    server.advance(29 * DAY).await.expect("advance");
    assert_eq!(
        count(call(&server, Method::GET, &versions, Value::Null).await),
        2
    );
    server
        .advance(DAY + Duration::from_secs(60))
        .await
        .expect("advance");
    assert_eq!(
        count(call(&server, Method::GET, &versions, Value::Null).await),
        1,
        "purged by the advance, not by the hourly purge"
    );
    let latest = call(&server, Method::GET, &entry, Value::Null).await;
    assert_eq!(latest.json(), json!(2), "the latest version never expires");
    server.shutdown().await;
}

#[tokio::test]
async fn messaging_retention_follows_the_clock() {
    let server = spawn_test_server().await;
    let topic = "/messaging-service/v1/universes/1/topics/news";
    let published = call(&server, Method::POST, topic, json!({"message": "old"})).await;
    assert!(published.status.is_success(), "{:?}", published.body);
    let read = format!("{topic}/messages?since=0&timeout=0");
    let messages = |a: Answer| a.json()["messages"].as_array().expect("messages").len();
    assert_eq!(
        messages(call(&server, Method::GET, &read, Value::Null).await),
        1
    );
    server
        .advance(Duration::from_secs(121))
        .await
        .expect("advance");
    assert_eq!(
        messages(call(&server, Method::GET, &read, Value::Null).await),
        0,
        "past the 120 s retention"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn memory_store_items_expire_and_queue_waits_end() {
    let server = spawn_test_server().await;
    let item = "/engine-api/v1/universes/1/memory-store/hash-maps/m/items/k";
    let put = call(
        &server,
        Method::PUT,
        item,
        json!({"value": 1, "expiration": 60}),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    let get = call(&server, Method::GET, item, Value::Null).await;
    assert_eq!(get.json()["item"]["value"], json!(1));
    server
        .advance(Duration::from_secs(61))
        .await
        .expect("advance");
    let get = call(&server, Method::GET, item, Value::Null).await;
    assert_eq!(get.json()["item"], Value::Null, "expired");

    // A read waiting 30 s on an empty queue ends when the clock passes it.
    let read = "/engine-api/v1/universes/1/memory-store/queues/q/items:read";
    let mut waiting = {
        let (url, key) = (format!("{}{read}", server.url), server.api_key.clone());
        let body = json!({"count": 1, "waitTimeout": 30}).to_string();
        tokio::spawn(async move { send(Method::POST, &url, &[("x-api-key", &key)], body).await })
    };
    let started = Instant::now();
    // Moved again while it has not ended: the read may not be waiting yet
    // at the first move.
    let answer = loop {
        server
            .advance(Duration::from_secs(31))
            .await
            .expect("advance");
        match tokio::time::timeout(Duration::from_millis(500), &mut waiting).await {
            Ok(read) => break read.expect("read"),
            Err(_) => assert!(
                started.elapsed() < Duration::from_secs(20),
                "the read never ended"
            ),
        }
    };
    assert_eq!(answer.json()["items"], json!([]));
    assert!(started.elapsed() < Duration::from_secs(20));
    server.shutdown().await;
}

/// The session API of universe 1.
async fn session(server: &TestServer, method: Method, path: &str, body: Value) -> Answer {
    let path = format!("/session-api/v1/universes/1/{path}");
    call(server, method, &path, body).await
}

fn start_body(key: &str) -> Value {
    json!({"store": "PlayerData", "key": key, "template": {"Coins": 0}, "placeId": 7})
}

#[tokio::test]
async fn a_silent_game_server_is_dropped_when_its_lease_runs_out() {
    let server = spawn_test_server().await;
    let a = session(
        &server,
        Method::POST,
        "servers/job-a/sessions",
        start_body("p"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let count = a.json()["profile"]["loadCount"].as_u64().expect("count");
    let current = format!("servers/job-a/sessions/PlayerData/p?loadCount={count}");
    server
        .advance(Duration::from_secs(30))
        .await
        .expect("advance");
    let alive = session(&server, Method::GET, &current, Value::Null).await;
    assert_eq!(alive.status, StatusCode::OK, "within the 60 s lease");
    server
        .advance(Duration::from_secs(61))
        .await
        .expect("advance");
    let gone = session(&server, Method::GET, &current, Value::Null).await;
    assert!(
        !gone.status.is_success(),
        "dropped at once: {} {:?}",
        gone.status,
        gone.body
    );
    // As a crashed server: no final save, the lock stays.
    let ds = server
        .datastores
        .data_store(1, "PlayerData", "global")
        .expect("ds");
    let stored = ds.get("p").await.expect("get").expect("stored").value;
    assert_ne!(stored["MetaData"]["ActiveSession"], Value::Null, "{stored}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_hosted_engine_assumes_a_dead_session_dead_after_an_advance() {
    let server = spawn_test_server().await;
    let a = session(
        &server,
        Method::POST,
        "servers/job-a/sessions",
        start_body("p"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let session_id = a.json()["profile"]["sessionId"]
        .as_str()
        .expect("id")
        .to_owned();
    // job-a dies holding the profile: its lease runs out, no final save.
    server
        .advance(Duration::from_secs(61))
        .await
        .expect("advance");
    // job-b asks the dead session to end, then waits (5 s, then 10 s
    // repeats; the lock is 61 s old, far from the 630 s assume-dead).
    let mut requests = server
        .bus
        .subscribe(&format!("PS_{session_id}"))
        .expect("subscribe");
    let b = {
        let (url, key) = (server.url.clone(), server.api_key.clone());
        tokio::spawn(async move {
            let url = format!("{url}/session-api/v1/universes/1/servers/job-b/sessions");
            send(
                Method::POST,
                &url,
                &[("x-api-key", &key)],
                start_body("p").to_string(),
            )
            .await
        })
    };
    let asked = tokio::time::timeout(Duration::from_secs(30), requests.recv()).await;
    assert!(asked.expect("job-b asked the dead session").is_some());
    let started = Instant::now();
    server
        .advance(Duration::from_secs(700))
        .await
        .expect("advance");
    let b = tokio::time::timeout(Duration::from_secs(60), b)
        .await
        .expect("job-b got an answer")
        .expect("task");
    let took = started.elapsed();
    eprintln!("assume-dead handoff after advance(700 s): {took:?} of real time");
    assert_eq!(b.status, StatusCode::OK, "{:?}", b.body);
    let profile = b.json()["profile"].clone();
    assert_eq!(profile["active"], json!(true), "{profile}");
    assert!(
        took < Duration::from_secs(4),
        "the 5 s wait ended with the advance, not on its own: {took:?}"
    );
    server.shutdown().await;
}
