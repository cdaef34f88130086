//! The emulator's faults control (`/emulator/v1/faults`), black-box: each
//! effect and match field, `times` and `probability`, an ambiguous write
//! seen by a follow-up read, faults through Open Cloud v1 and v2, the
//! session API and a hosted engine, ordered and memory stores and
//! publish; listing with counters, deleting, validation; the Rust client
//! and the CLI. No sleeps: latency is measured loosely (at least the
//! latency, never an upper bound).

mod support;

use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use profilestore::opencloud::emulator::{FaultMatch, FaultSpec};
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::{json, Value};
use support::{send, Answer};

const V1: &str = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry";

async fn call(s: &TestServer, method: Method, path: &str, body: Value) -> Answer {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let url = format!("{}{path}", s.url);
    send(method, &url, &[("x-api-key", &s.api_key)], body).await
}

async fn fault(s: &TestServer, body: Value) -> Value {
    let a = call(s, Method::POST, "/emulator/v1/faults", body).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    a.json()
}

fn v1(store: &str, key: &str) -> String {
    format!("{V1}?datastoreName={store}&entryKey={key}")
}

async fn v1_set(s: &TestServer, store: &str, key: &str, value: Value) -> Answer {
    call(s, Method::POST, &v1(store, key), value).await
}

async fn v1_get(s: &TestServer, store: &str, key: &str) -> Answer {
    call(s, Method::GET, &v1(store, key), Value::Null).await
}

async fn stored(s: &TestServer, store: &str, key: &str) -> Option<Value> {
    let ds = s.datastores.data_store(1, store, "global").expect("ds");
    ds.get(key).await.expect("get").map(|e| e.value)
}

async fn listed(s: &TestServer) -> Vec<Value> {
    let a = call(s, Method::GET, "/emulator/v1/faults", Value::Null).await;
    assert_eq!(a.status, StatusCode::OK);
    a.json()["faults"].as_array().expect("faults").clone()
}

#[tokio::test]
async fn error_fails_the_call_and_changes_nothing() {
    let s = spawn_test_server().await;
    let f = fault(
        &s,
        json!({"match": {"operations": ["set"]}, "effect": "error"}),
    )
    .await;
    assert!(f["id"].as_str().is_some_and(|id| !id.is_empty()), "{f}");
    let a = v1_set(&s, "S", "k", json!(1)).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", a.body);
    let message = a.json()["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.starts_with("502: API Services rejected request"),
        "{message}"
    );
    assert_eq!(stored(&s, "S", "k").await, None, "an error writes nothing");
    // Reads are not in its operations.
    assert_eq!(v1_get(&s, "S", "k").await.status, StatusCode::NOT_FOUND);
    s.shutdown().await;
}

#[tokio::test]
async fn an_ambiguous_write_lands_although_the_caller_got_an_error() {
    let s = spawn_test_server().await;
    fault(
        &s,
        json!({"match": {"operations": ["set"]}, "effect": "ambiguous", "times": 1}),
    )
    .await;
    let a = v1_set(&s, "S", "k", json!({"Coins": 5})).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", a.body);
    let read = v1_get(&s, "S", "k").await;
    assert_eq!(read.status, StatusCode::OK, "the write is there");
    assert_eq!(read.json(), json!({"Coins": 5}));
    // On a read, ambiguous is an error.
    fault(
        &s,
        json!({"match": {"operations": ["get"]}, "effect": "ambiguous"}),
    )
    .await;
    assert_eq!(
        v1_get(&s, "S", "k").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    s.shutdown().await;
}

#[tokio::test]
async fn throttle_is_429_resource_exhausted_with_roblox_text() {
    let s = spawn_test_server().await;
    fault(
        &s,
        json!({"match": {"operations": ["get"]}, "effect": "throttle"}),
    )
    .await;
    let a = v1_get(&s, "S", "k").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", a.body);
    let body = a.json();
    assert_eq!(body["error"], "RESOURCE_EXHAUSTED", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("StandardReadExperienceThrottled"),
        "{message}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn latency_waits_then_runs_the_call() {
    let s = spawn_test_server().await;
    fault(
        &s,
        json!({"match": {"operations": ["set"]}, "effect": "latency", "latencyMs": 300}),
    )
    .await;
    let start = Instant::now();
    let a = v1_set(&s, "S", "k", json!(7)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(stored(&s, "S", "k").await, Some(json!(7)));
    s.shutdown().await;
}

#[tokio::test]
async fn match_fields_narrow_a_fault() {
    let s = spawn_test_server().await;
    for m in [
        json!({"universe": 2}),
        json!({"dataStore": "Other"}),
        json!({"key": "other"}),
        json!({"operations": ["remove"]}),
    ] {
        fault(&s, json!({"match": m, "effect": "error"})).await;
    }
    assert_eq!(
        v1_set(&s, "S", "k", json!(1)).await.status,
        StatusCode::OK,
        "none matches"
    );
    let fired: Vec<u64> = listed(&s)
        .await
        .iter()
        .map(|f| f["fired"].as_u64().unwrap())
        .collect();
    assert_eq!(fired, [0, 0, 0, 0]);
    for (store, key) in [("S", "k"), ("Other", "k"), ("S", "other")] {
        let a = v1_set(&s, store, key, json!(1)).await;
        let expected = if store == "S" && key == "k" {
            StatusCode::OK
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        assert_eq!(a.status, expected, "{store}/{key}");
    }
    let universe2 = call(
        &s,
        Method::GET,
        "/datastores/v1/universes/2/standard-datastores/datastore/entries/entry?datastoreName=S&entryKey=k",
        Value::Null,
    )
    .await;
    assert_eq!(universe2.status, StatusCode::INTERNAL_SERVER_ERROR);
    let remove = call(&s, Method::DELETE, &v1("S", "k"), Value::Null).await;
    assert_eq!(remove.status, StatusCode::INTERNAL_SERVER_ERROR);
    let fired: Vec<u64> = listed(&s)
        .await
        .iter()
        .map(|f| f["fired"].as_u64().unwrap())
        .collect();
    assert_eq!(fired, [1, 1, 1, 1]);
    s.shutdown().await;
}

#[tokio::test]
async fn times_stops_a_fault_and_the_list_counts() {
    let s = spawn_test_server().await;
    let f = fault(&s, json!({"effect": "error", "times": 2})).await;
    assert_eq!(
        (f["fired"].clone(), f["remaining"].clone()),
        (json!(0), json!(2))
    );
    for expected in [500, 500, 404, 404] {
        assert_eq!(v1_get(&s, "S", "k").await.status.as_u16(), expected);
    }
    let list = listed(&s).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], f["id"]);
    assert_eq!(
        (list[0]["fired"].clone(), list[0]["remaining"].clone()),
        (json!(2), json!(0))
    );
    s.shutdown().await;
}

#[tokio::test]
async fn probability_fires_on_a_share_of_calls_deterministically() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let s = spawn_test_server().await;
        fault(
            &s,
            json!({"match": {"operations": ["get"]}, "effect": "error", "probability": 0.5}),
        )
        .await;
        let mut failed = Vec::new();
        for _ in 0..40 {
            failed.push(v1_get(&s, "S", "k").await.status == StatusCode::INTERNAL_SERVER_ERROR);
        }
        let fired = listed(&s).await[0]["fired"].as_u64().unwrap();
        assert_eq!(fired, failed.iter().filter(|f| **f).count() as u64);
        assert!((8..=32).contains(&fired), "{fired} of 40");
        runs.push(failed);
        s.shutdown().await;
    }
    assert_eq!(
        runs[0], runs[1],
        "the same calls fire on every run (seeded)"
    );
}

#[tokio::test]
async fn delete_one_and_clear_all() {
    let s = spawn_test_server().await;
    let a = fault(&s, json!({"effect": "error"})).await;
    let b = fault(&s, json!({"effect": "throttle"})).await;
    assert_ne!(a["id"], b["id"]);
    let id = a["id"].as_str().unwrap();
    let del = call(
        &s,
        Method::DELETE,
        &format!("/emulator/v1/faults/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(del.status, StatusCode::OK);
    let again = call(
        &s,
        Method::DELETE,
        &format!("/emulator/v1/faults/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.json()["code"], "NOT_FOUND");
    let list = listed(&s).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], b["id"]);
    assert_eq!(
        v1_get(&s, "S", "k").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let clear = call(&s, Method::DELETE, "/emulator/v1/faults", Value::Null).await;
    assert_eq!(clear.status, StatusCode::OK);
    assert!(listed(&s).await.is_empty());
    assert_eq!(v1_get(&s, "S", "k").await.status, StatusCode::NOT_FOUND);
    s.shutdown().await;
}

#[tokio::test]
async fn invalid_faults_are_400_with_the_reason_and_add_nothing() {
    let s = spawn_test_server().await;
    for (body, text) in [
        (json!({"effect": "explode"}), "unknown effect `explode`"),
        (
            json!({"effect": "error", "match": {"operations": ["sett"]}}),
            "unknown operation `sett`",
        ),
        (
            json!({"effect": "error", "probability": 1.5}),
            "probability must be from 0 to 1",
        ),
        (json!({"effect": "latency"}), "needs latencyMs"),
        (
            json!({"effect": "error", "latencyMs": 5}),
            "latencyMs only goes with",
        ),
        (
            json!({"effect": "error", "tims": 1}),
            "unknown field `tims`",
        ),
        (json!({"match": {}}), "missing field `effect`"),
    ] {
        let a = call(&s, Method::POST, "/emulator/v1/faults", body.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        let j = a.json();
        assert_eq!(j["code"], "INVALID_ARGUMENT", "{j}");
        let message = j["message"].as_str().unwrap_or_default();
        assert!(message.contains(text), "{body}: {message}");
    }
    assert!(listed(&s).await.is_empty());
    s.shutdown().await;
}

#[tokio::test]
async fn open_cloud_v2_sees_faults() {
    let s = spawn_test_server().await;
    let path = "/cloud/v2/universes/1/data-stores/S/scopes/global/entries";
    let created = call(
        &s,
        Method::POST,
        &format!("{path}?id=k"),
        json!({"value": 1}),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    fault(
        &s,
        json!({"match": {"dataStore": "S", "operations": ["get"]}, "effect": "throttle"}),
    )
    .await;
    let a = call(&s, Method::GET, &format!("{path}/k"), Value::Null).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", a.body);
    assert_eq!(a.json()["code"], "RESOURCE_EXHAUSTED");
    fault(
        &s,
        json!({"match": {"operations": ["list"]}, "effect": "error"}),
    )
    .await;
    let list = call(&s, Method::GET, path, Value::Null).await;
    assert_eq!(
        list.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{:?}",
        list.body
    );
    assert_eq!(list.json()["code"], "INTERNAL");
    s.shutdown().await;
}

#[tokio::test]
async fn the_session_api_and_its_hosted_engine_see_faults() {
    let s = spawn_test_server().await;
    // Read-only access is a DataStore read.
    v1_set(&s, "PlayerData", "p1", json!({"Coins": 1})).await;
    fault(
        &s,
        json!({"match": {"key": "p1", "operations": ["get"]}, "effect": "error"}),
    )
    .await;
    let read = call(
        &s,
        Method::GET,
        "/session-api/v1/universes/1/stores/PlayerData/p1",
        Value::Null,
    )
    .await;
    assert_eq!(
        read.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{:?}",
        read.body
    );
    // A session start: the hosted engine's load waits on the latency.
    fault(
        &s,
        json!({"match": {"key": "p2", "operations": ["update"]}, "effect": "latency", "latencyMs": 300}),
    )
    .await;
    let start = Instant::now();
    let started = call(
        &s,
        Method::POST,
        "/session-api/v1/universes/1/servers/job1/sessions",
        json!({"store": "PlayerData", "key": "p2", "template": {"Coins": 0}}),
    )
    .await;
    assert!(started.status.is_success(), "{:?}", started.body);
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(listed(&s).await[1]["fired"].as_u64().unwrap() >= 1);
    s.shutdown().await;
}

#[tokio::test]
async fn ordered_data_stores_see_faults() {
    let s = spawn_test_server().await;
    let entry = "/engine-api/v1/universes/1/ordered-data-stores/Board/scopes/global/entries/alice";
    fault(&s, json!({"match": {"dataStore": "Board", "operations": ["orderedSet"]}, "effect": "ambiguous", "times": 1})).await;
    let set = call(&s, Method::PUT, entry, json!({"value": 5})).await;
    assert_eq!(
        set.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{:?}",
        set.body
    );
    let got = call(&s, Method::GET, entry, Value::Null).await;
    assert_eq!(got.json()["value"], 5, "the ambiguous write landed");
    fault(
        &s,
        json!({"match": {"operations": ["orderedGet"]}, "effect": "throttle"}),
    )
    .await;
    let got = call(&s, Method::GET, entry, Value::Null).await;
    assert_eq!(got.status, StatusCode::TOO_MANY_REQUESTS);
    let message = got.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.starts_with("OrderedReadExperienceThrottled"),
        "{message}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn memory_stores_see_faults() {
    let s = spawn_test_server().await;
    let item = "/engine-api/v1/universes/1/memory-store/sorted-maps/m/items/a";
    fault(&s, json!({"match": {"dataStore": "m", "operations": ["sortedMapSet"]}, "effect": "error", "times": 1})).await;
    let body = json!({"value": 1, "expiration": 60});
    let put = call(&s, Method::PUT, item, body.clone()).await;
    assert_eq!(
        put.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{:?}",
        put.body
    );
    assert!(put.json()["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("InternalError"));
    let get = call(&s, Method::GET, item, Value::Null).await;
    assert_eq!(get.json()["item"], Value::Null, "the error wrote nothing");
    assert_eq!(
        call(&s, Method::PUT, item, body).await.status,
        StatusCode::OK
    );
    fault(
        &s,
        json!({"match": {"operations": ["queueAdd"]}, "effect": "throttle"}),
    )
    .await;
    let add = call(
        &s,
        Method::POST,
        "/engine-api/v1/universes/1/memory-store/queues/q/items:add",
        json!({"value": 1, "expiration": 60, "priority": 0}),
    )
    .await;
    assert_eq!(add.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", add.body);
    s.shutdown().await;
}

#[tokio::test]
async fn publish_sees_faults() {
    let s = spawn_test_server().await;
    let mut sub = s.bus.subscribe("news").expect("subscribe");
    fault(&s, json!({"match": {"dataStore": "news", "operations": ["publish"]}, "effect": "error", "times": 1})).await;
    let path = "/messaging-service/v1/universes/1/topics/news";
    let failed = call(&s, Method::POST, path, json!({"message": "lost"})).await;
    assert_eq!(
        failed.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{:?}",
        failed.body
    );
    let ok = call(&s, Method::POST, path, json!({"message": "kept"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    let got = tokio::time::timeout(Duration::from_secs(10), sub.recv())
        .await
        .expect("a message");
    assert!(
        format!("{got:?}").contains("kept"),
        "{got:?}: the failed publish delivered nothing"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn the_rust_client_adds_lists_and_removes_faults() {
    let s = spawn_test_server().await;
    let emulator = s.emulator();
    let info = emulator
        .fault(&FaultSpec {
            matches: FaultMatch {
                operations: vec!["increment".into()],
                ..FaultMatch::default()
            },
            effect: "error".into(),
            times: Some(1),
            ..FaultSpec::default()
        })
        .await
        .expect("fault");
    let ds = s.datastores.data_store(1, "S", "global").expect("ds");
    let err = ds
        .increment("n", 1, &Default::default())
        .await
        .expect_err("faulted");
    assert!(err.to_string().starts_with("502:"), "{err}");
    assert_eq!(
        ds.increment("n", 1, &Default::default())
            .await
            .expect("second")
            .0,
        1
    );
    let listed = emulator.faults().await.expect("list");
    assert_eq!((listed[0].fired, listed[0].remaining), (1, Some(0)));
    emulator.remove_fault(&info.id).await.expect("remove");
    assert!(
        emulator.remove_fault(&info.id).await.is_err(),
        "already gone"
    );
    emulator
        .fault(&FaultSpec {
            effect: "nope".into(),
            ..FaultSpec::default()
        })
        .await
        .expect_err("refused");
    emulator.clear_faults().await.expect("clear");
    assert!(emulator.faults().await.expect("list").is_empty());
    s.shutdown().await;
}

/// Runs the CLI against `s` off the runtime's threads.
async fn cli(s: &TestServer, dir: &std::path::Path, args: &[&str]) -> support::cli::CliOutput {
    let (url, key, dir) = (s.url.clone(), s.api_key.clone(), dir.to_owned());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        support::cli::Cli::remote(&url, &key, &dir).args(args).run()
    })
    .await
    .expect("cli")
}

#[tokio::test]
async fn the_cli_adds_lists_and_clears_faults() {
    let s = spawn_test_server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let add = [
        "faults",
        "add",
        "--effect",
        "error",
        "--operations",
        "set,update",
        "--store",
        "S",
        "--entry-key",
        "k",
        "--times",
        "3",
        "--universe",
        "1",
    ];
    let added = cli(&s, d, &add).await.json();
    assert_eq!(
        added["match"],
        json!({"universe": 1, "dataStore": "S", "key": "k", "operations": ["set", "update"]})
    );
    assert_eq!(added["remaining"], 3);
    assert_eq!(
        v1_set(&s, "S", "k", json!(1)).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let lines = cli(&s, d, &["faults", "list"]).await.json_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0]["fired"].clone(), lines[0]["remaining"].clone()),
        (json!(1), json!(2))
    );
    let bad = cli(&s, d, &["faults", "add", "--effect", "latency"])
        .await
        .failure();
    assert!(bad.contains("latencyMs"), "{bad}");
    let id = added["id"].as_str().unwrap().to_owned();
    cli(&s, d, &["faults", "clear", &id]).await.success();
    assert!(listed(&s).await.is_empty());
    cli(&s, d, &["faults", "add", "--effect", "throttle"])
        .await
        .success();
    assert_eq!(listed(&s).await.len(), 1);
    cli(&s, d, &["faults", "clear"]).await.success();
    assert!(listed(&s).await.is_empty());
    s.shutdown().await;
}

#[tokio::test]
async fn a_remote_service_sees_faults_through_the_server() {
    // What `Engine::remote` game servers and the Luau client use: the
    // server's DataStoreService over Open Cloud v1.
    let s = spawn_test_server().await;
    let client =
        profilestore::remote::RemoteClient::new(&s.url, Some(s.api_key.clone())).expect("client");
    let remote = profilestore::datastore::DataStoreService::remote(
        client,
        profilestore::clock::Clock::system(),
    );
    let ds = remote.data_store(1, "S", "global").expect("ds");
    fault(
        &s,
        json!({"match": {"operations": ["set"]}, "effect": "ambiguous", "times": 1}),
    )
    .await;
    let err = ds
        .set("k", &json!(3), &Default::default())
        .await
        .expect_err("the caller gets an error");
    assert!(
        err.to_string().contains("502: API Services rejected"),
        "{err}"
    );
    assert!(!err.is_caller_error(), "retryable: {err}");
    let got = ds.get("k").await.expect("get").expect("landed");
    assert_eq!(got.value, json!(3));
    fault(
        &s,
        json!({"match": {"operations": ["get"]}, "effect": "throttle"}),
    )
    .await;
    let err = ds.get("k").await.expect_err("throttled");
    assert!(err.to_string().contains("429"), "{err}");
    s.shutdown().await;
}
