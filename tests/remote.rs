//! The remote backends against a real server on a loopback socket: the
//! DataStore semantics over Open Cloud v1, the bus over long-polls
//! (including a server restart), and the engine running unchanged on them.

mod support;

use std::time::Duration;

use profilestore::bus::{BusConfig, MessageBus};
use profilestore::clock::Clock;
use profilestore::datastore::{
    DataStoreError, DataStoreService, ListKeysOptions, ListVersionsOptions, Precondition,
    SetOutcome, SortOrder, Transform, WriteOptions,
};
use profilestore::engine::{Engine, EngineConfig, StartOptions};
use profilestore::remote::{RemoteClient, RemoteError};
use profilestore::testing::{spawn_test_server, spawn_test_server_on, TestServer};
use serde_json::{json, Value};
use support::world::World;

fn remote(server: &TestServer) -> DataStoreService {
    let client = RemoteClient::new(&server.url, Some(server.api_key.clone())).expect("client");
    DataStoreService::remote(client, Clock::system())
}

fn remote_bus(server: &TestServer) -> MessageBus {
    let client = RemoteClient::new(&server.url, Some(server.api_key.clone())).expect("client");
    MessageBus::remote(client, Clock::system(), BusConfig::default())
}

#[tokio::test]
async fn set_get_and_key_info_match_the_server() {
    let server = spawn_test_server().await;
    let ds = remote(&server)
        .data_store(5, "Players", "global")
        .expect("ds");
    let mut metadata = serde_json::Map::new();
    metadata.insert("Tag".into(), json!("vip"));
    let options = WriteOptions {
        user_ids: vec![42],
        metadata,
    };
    let info = ds
        .set("k", &json!({"Coins": 3}), &options)
        .await
        .expect("set");
    let local = server
        .datastores
        .data_store(5, "Players", "global")
        .expect("ds");
    let stored = local.get("k").await.expect("get").expect("stored");
    assert_eq!(stored.value, json!({"Coins": 3}));
    assert_eq!(stored.info, info, "the key info the remote set returned");
    let read = ds.get("k").await.expect("get").expect("entry");
    assert_eq!(read, stored, "value, version, times, user ids and metadata");
    assert_eq!(ds.get("missing").await.expect("get"), None);
    server.shutdown().await;
}

#[tokio::test]
async fn preconditions_fail_without_writing() {
    let server = spawn_test_server().await;
    let ds = remote(&server).data_store(1, "S", "global").expect("ds");
    let first = ds
        .set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    let exclusive = ds
        .set_with(
            "k",
            &json!(2),
            &WriteOptions::default(),
            &Precondition::ExclusiveCreate,
        )
        .await
        .expect("call");
    assert!(
        matches!(&exclusive, SetOutcome::PreconditionFailed { current: Some(c) } if c.value == json!(1))
    );
    ds.set("k", &json!(3), &WriteOptions::default())
        .await
        .expect("set");
    let stale = ds
        .set_with(
            "k",
            &json!(4),
            &WriteOptions::default(),
            &Precondition::MatchVersion(first.version.clone()),
        )
        .await
        .expect("call");
    assert!(matches!(stale, SetOutcome::PreconditionFailed { .. }));
    assert_eq!(
        ds.get("k").await.expect("get").expect("entry").value,
        json!(3)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn concurrent_updates_from_several_processes_lose_nothing() {
    let server = spawn_test_server().await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let ds = remote(&server).data_store(1, "S", "global").expect("ds");
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                ds.update("counter", |v, _| Transform::Write {
                    value: json!(v.and_then(Value::as_i64).unwrap_or(0) + 1),
                    options: WriteOptions::default(),
                })
                .await
                .expect("update");
            }
        }));
    }
    // The server's own (in-process) writers contend too.
    let local = server.datastores.data_store(1, "S", "global").expect("ds");
    for _ in 0..25 {
        local
            .increment("counter", 1, &WriteOptions::default())
            .await
            .expect("inc");
    }
    for t in tasks {
        t.await.expect("task");
    }
    let total = local
        .get("counter")
        .await
        .expect("get")
        .expect("entry")
        .value;
    assert_eq!(total, json!(125));
    server.shutdown().await;
}

#[tokio::test]
async fn update_cancel_increment_and_remove() {
    let server = spawn_test_server().await;
    let ds = remote(&server).data_store(1, "S", "global").expect("ds");
    let none = ds
        .update("k", |_, _| Transform::Cancel)
        .await
        .expect("update");
    assert_eq!(none, None);
    let (n, _) = ds
        .increment("n", 5, &WriteOptions::default())
        .await
        .expect("inc");
    assert_eq!(n, 5);
    ds.set("text", &json!("x"), &WriteOptions::default())
        .await
        .expect("set");
    let err = ds.increment("text", 1, &WriteOptions::default()).await;
    assert!(
        matches!(err, Err(DataStoreError::ExistingValueNotNumeric)),
        "{err:?}"
    );
    let removed = ds.remove("n").await.expect("remove").expect("was there");
    assert_eq!(removed.value, json!(5));
    assert_eq!(ds.remove("n").await.expect("remove"), None);
    assert_eq!(ds.get("n").await.expect("get"), None);
    server.shutdown().await;
}

#[tokio::test]
async fn versions_listing_and_version_reads() {
    let server = spawn_test_server().await;
    let ds = remote(&server).data_store(1, "S", "global").expect("ds");
    let mut ids = Vec::new();
    for i in 0..3 {
        // Distinct milliseconds, so each version is the one current at its time.
        tokio::time::sleep(Duration::from_millis(3)).await;
        ids.push(
            ds.set("k", &json!(i), &WriteOptions::default())
                .await
                .expect("set")
                .version,
        );
    }
    let page = ds
        .list_versions(
            "k",
            &ListVersionsOptions {
                order: SortOrder::Descending,
                ..Default::default()
            },
        )
        .await
        .expect("versions");
    let listed: Vec<&str> = page.items.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(
        listed,
        ids.iter().rev().map(String::as_str).collect::<Vec<_>>()
    );
    let old = ds
        .get_version("k", &ids[0])
        .await
        .expect("version")
        .expect("kept");
    assert_eq!(old.value, json!(0));
    let bad = ds.get_version("k", "not-a-version").await;
    assert!(
        matches!(bad, Err(DataStoreError::InvalidVersion(_))),
        "{bad:?}"
    );
    let at = ds
        .get_version_at_time("k", page.items[1].created_ms)
        .await
        .expect("at time")
        .expect("a version then");
    assert_eq!(at.info.version, ids[1]);
    let keys = ds
        .list_keys(&ListKeysOptions::default())
        .await
        .expect("keys");
    assert_eq!(keys.items.len(), 1);
    let stores = remote(&server)
        .list_data_stores(1, "", 0, None)
        .await
        .expect("stores");
    assert_eq!(
        stores
            .items
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["S"]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_wrong_key_and_an_unreachable_server_are_clear_errors() {
    let server = spawn_test_server().await;
    let client = RemoteClient::new(&server.url, Some("wrong".into())).expect("client");
    let ds = DataStoreService::remote(client, Clock::system())
        .data_store(1, "S", "global")
        .expect("ds");
    match ds.get("k").await {
        Err(DataStoreError::Remote(RemoteError::Unauthorized { .. })) => {}
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    let url = server.url.clone();
    server.shutdown().await;
    let gone = DataStoreService::remote(
        RemoteClient::new(&url, None).expect("client"),
        Clock::system(),
    )
    .data_store(1, "S", "global")
    .expect("ds");
    match gone.get("k").await {
        Err(e @ DataStoreError::Remote(_)) => assert!(!e.is_caller_error(), "transient: {e}"),
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert!(RemoteClient::new("ftp://example.com", None).is_err());
    assert!(
        RemoteClient::new("https://example.com", None).is_ok(),
        "https is supported"
    );
}

#[tokio::test]
async fn remote_bus_receives_what_is_published_after_subscribing() {
    let server = spawn_test_server().await;
    let bus = remote_bus(&server);
    let mut sub = bus.subscribe("news").expect("subscribe");
    // Published at once: the first poll asks for messages since subscribe.
    server
        .bus
        .publish("news", &json!({"n": 1}))
        .await
        .expect("publish");
    let other = remote_bus(&server);
    other
        .publish("news", &json!("two"))
        .await
        .expect("remote publish");
    let a = tokio::time::timeout(Duration::from_secs(10), sub.recv())
        .await
        .expect("first");
    let b = tokio::time::timeout(Duration::from_secs(10), sub.recv())
        .await
        .expect("second");
    assert_eq!(a.expect("message").data, json!({"n": 1}));
    assert_eq!(b.expect("message").data, json!("two"));
    let too_big = bus.publish("news", &json!("x".repeat(2000))).await;
    assert!(too_big.is_err(), "limits are checked before sending");
    server.shutdown().await;
}

#[tokio::test]
async fn remote_bus_resumes_after_the_server_restarts() {
    let server = spawn_test_server().await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let key = server.api_key.clone();
    let bus = remote_bus(&server);
    let mut sub = bus.subscribe("t").expect("subscribe");
    server.bus.publish("t", &json!(1)).await.expect("publish");
    let first = tokio::time::timeout(Duration::from_secs(10), sub.recv())
        .await
        .expect("first");
    assert_eq!(first.expect("message").data, json!(1));
    server.shutdown().await;
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("rebind");
    let restarted = spawn_test_server_on(listener, key).await;
    restarted
        .bus
        .publish("t", &json!(2))
        .await
        .expect("publish");
    let second = tokio::time::timeout(Duration::from_secs(15), sub.recv())
        .await
        .expect("after restart");
    assert_eq!(
        second.expect("message").data,
        json!(2),
        "a cursor from before the restart does not skip it"
    );
    restarted.shutdown().await;
}

#[tokio::test]
async fn the_engine_hands_a_profile_between_a_local_and_a_remote_server() {
    let server = spawn_test_server().await;
    let remote_engine = Engine::remote(
        &server.url,
        Some(server.api_key.clone()),
        1,
        7,
        "remote-job",
        EngineConfig::default(),
    )
    .expect("remote engine");
    let local_engine = World::of_server(&server).engine(7, "local-job", EngineConfig::default());
    let remote_store = remote_engine
        .store("PlayerData", json!({"Coins": 0}))
        .expect("store");
    let local_store = local_engine
        .store("PlayerData", json!({"Coins": 0}))
        .expect("store");
    let profile = remote_store
        .start_session("Player_1", StartOptions::default())
        .await
        .expect("start")
        .expect("remote gets it");
    profile
        .update_data(|d| d["Coins"] = json!(10))
        .expect("update");
    // The local server asks; the remote owner saves and lets go.
    let taken = tokio::time::timeout(
        Duration::from_secs(30),
        local_store.start_session("Player_1", StartOptions::default()),
    )
    .await
    .expect("handoff in time")
    .expect("start")
    .expect("local gets it");
    assert_eq!(
        taken.data()["Coins"],
        json!(10),
        "the remote owner's final save"
    );
    assert!(!profile.is_active());
    // And back: a message through the server reaches the local owner,
    // then the remote server takes the profile over the wire.
    taken
        .update_data(|d| d["Coins"] = json!(11))
        .expect("update");
    let back = tokio::time::timeout(
        Duration::from_secs(30),
        remote_store.start_session("Player_1", StartOptions::default()),
    )
    .await
    .expect("handoff back in time")
    .expect("start")
    .expect("remote gets it back");
    assert_eq!(back.data()["Coins"], json!(11));
    back.end_session().await;
    remote_engine.shutdown().await;
    local_engine.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn calls_open_cloud_lacks_say_so_and_change_nothing() {
    let server = spawn_test_server().await;
    let service = remote(&server);
    assert!(
        service.storage().is_none(),
        "a remote service has no local storage"
    );
    assert!(service.remote_client().is_some());
    let ds = service.data_store(1, "S", "global").expect("ds");
    let info = ds
        .set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    match ds.remove_version("k", &info.version).await {
        Err(DataStoreError::Remote(RemoteError::Unsupported { what })) => {
            assert!(what.contains("version"), "{what}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    let err = service.purge_expired().await.expect_err("remote purge");
    assert!(err.is_caller_error(), "retrying cannot help: {err}");
    assert!(err.to_string().contains("on the server itself"), "{err}");
    let local = server.datastores.data_store(1, "S", "global").expect("ds");
    assert_eq!(
        local
            .get_version("k", &info.version)
            .await
            .expect("read")
            .map(|e| e.value),
        Some(json!(1)),
        "the version is still there"
    );
    service.flush().await.expect("a remote flush is a no-op");
    server.shutdown().await;
}

#[tokio::test]
async fn an_all_scopes_key_without_a_slash_fails_the_same_way_locally_and_remotely() {
    let server = spawn_test_server().await;
    let remote_ds = remote(&server).data_store_all_scopes(1, "S").expect("ds");
    let local_ds = server.datastores.data_store_all_scopes(1, "S").expect("ds");
    let r = remote_ds.get("noslash").await.expect_err("remote");
    let l = local_ds.get("noslash").await.expect_err("local");
    assert!(matches!(r, DataStoreError::InvalidScope(_)), "{r:?}");
    assert_eq!(r.to_string(), l.to_string());
    server.shutdown().await;
}

#[tokio::test]
async fn a_write_wrong_in_several_ways_fails_the_same_way_locally_and_remotely() {
    let server = spawn_test_server().await;
    let remote_ds = remote(&server).data_store(1, "S", "global").expect("ds");
    let local_ds = server.datastores.data_store(1, "S", "global").expect("ds");
    let too_many = WriteOptions {
        user_ids: vec![1, 2, 3, 4, 5],
        ..WriteOptions::default()
    };
    let long_key = "k".repeat(51);
    let cases: [(&str, Value, &WriteOptions); 2] = [
        (&long_key, json!(f64::NAN.to_string()), &too_many),
        ("k", json!("x".repeat(4_200_000)), &too_many),
    ];
    for (key, value, options) in cases {
        let l = local_ds.set(key, &value, options).await.expect_err("local");
        let r = remote_ds
            .set(key, &value, options)
            .await
            .expect_err("remote");
        assert_eq!(l.to_string(), r.to_string(), "key {}", key.len());
    }
    assert_eq!(
        remote_ds.get("k").await.expect("get"),
        None,
        "nothing written"
    );
    server.shutdown().await;
}
