//! Faults on every way in: Open Cloud v2, the session API and its hosted
//! engine, ordered and memory stores, publish, and a remote service (what
//! `Engine::remote` and the Luau client use).

use super::*;

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
