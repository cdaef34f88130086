//! The emulator's snapshots control (`/emulator/v1/snapshots`,
//! `/emulator/v1/universes/{u}/data`) from a user's side: snapshot and
//! restore around a "test" (every version comes back identical, writes
//! made since are gone), deleted/undeleted data stores, ordered entries and
//! memory store items restored, a wipe of one universe leaving the others,
//! list and delete, the error answers, a SQLite server process, and the
//! `profilestore snapshot` CLI.

mod support;

use std::sync::Arc;

use hyper::Method;
use profilestore::clock::Clock;
use profilestore::datastore::{Transform, WriteOptions};
use profilestore::memorystore::{MemoryStoreService, ReadOptions};
use profilestore::ordered::OrderedService;
use profilestore::plugin_api::StoreImage;
use profilestore::remote::{Emulator, RemoteClient, RemoteError};
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::{json, Value};
use support::cli::Cli;
use support::process::ServeProcess;

const U: u64 = 5;

fn image(server: &TestServer) -> StoreImage {
    let storage = server.datastores.storage().expect("local storage");
    storage.plugin().export_image().expect("export")
}

fn ordered(server: &TestServer) -> OrderedService {
    let storage = server.datastores.storage().expect("local storage");
    OrderedService::new(Arc::clone(storage.plugin()), Clock::system())
}

fn memory(server: &TestServer) -> MemoryStoreService {
    let client = RemoteClient::new(&server.url, Some(server.api_key.clone())).expect("client");
    MemoryStoreService::remote(client, Clock::system())
}

async fn set(server: &TestServer, universe: u64, store: &str, key: &str, value: Value) {
    let ds = server
        .datastores
        .data_store(universe, store, "global")
        .expect("store");
    ds.set(key, &value, &WriteOptions::default())
        .await
        .expect("set");
}

async fn get(server: &TestServer, universe: u64, store: &str, key: &str) -> Option<Value> {
    let ds = server
        .datastores
        .data_store(universe, store, "global")
        .expect("store");
    ds.get(key).await.expect("get").map(|e| e.value)
}

fn status(e: RemoteError) -> u16 {
    match e {
        RemoteError::Status { status, .. } => status,
        other => panic!("expected an error status, got {other:?}"),
    }
}

#[tokio::test]
async fn restore_undoes_a_test_and_keeps_every_version() {
    let server = spawn_test_server().await;
    let emu = server.emulator();
    for i in 0..3 {
        set(&server, U, "Players", "alice", json!({"coins": i})).await;
    }
    set(&server, U, "Players", "bob", json!("b")).await;
    let before = image(&server);
    let saved = emu.snapshot("base").await.expect("snapshot");
    assert_eq!(
        (saved.id.as_str(), saved.entries, saved.versions),
        ("base", 2, 4)
    );
    // The "test": overwrite, remove, create.
    set(&server, U, "Players", "alice", json!({"coins": 99})).await;
    let ds = server
        .datastores
        .data_store(U, "Players", "global")
        .expect("store");
    ds.remove("bob").await.expect("remove");
    set(&server, U, "Players", "carol", json!(1)).await;
    assert_ne!(image(&server), before);
    emu.restore("base").await.expect("restore");
    assert_eq!(
        image(&server),
        before,
        "every version, seq and time is back"
    );
    assert_eq!(
        get(&server, U, "Players", "alice").await,
        Some(json!({"coins": 2}))
    );
    assert_eq!(get(&server, U, "Players", "bob").await, Some(json!("b")));
    assert_eq!(get(&server, U, "Players", "carol").await, None);
    // The latest-version cache was dropped: an update starts from the
    // restored value, and the next version follows the restored counter.
    let after = ds
        .update("alice", |v, _| {
            let coins = v.and_then(|v| v["coins"].as_i64()).unwrap_or(-100);
            Transform::Write {
                value: json!({ "coins": coins + 1 }),
                options: WriteOptions::default(),
            }
        })
        .await
        .expect("update");
    assert_eq!(after.map(|e| e.value), Some(json!({"coins": 3})));
    // A snapshot can be restored again.
    emu.restore("base").await.expect("restore twice");
    assert_eq!(image(&server), before);
    server.shutdown().await;
}

#[tokio::test]
async fn restore_brings_back_store_states_ordered_entries_and_memory_items() {
    let server = spawn_test_server().await;
    let emu = server.emulator();
    set(&server, U, "Gone", "k", json!(1)).await;
    set(&server, U, "Kept", "k", json!(2)).await;
    server
        .datastores
        .delete_data_store(U, "Gone")
        .await
        .expect("delete");
    let top = ordered(&server)
        .data_store(U, "Top", "global")
        .expect("ordered");
    top.set("a", 10).await.expect("ordered set");
    let mem = memory(&server);
    mem.hash_map(U, "H")
        .set("item", json!("v"), 600)
        .await
        .expect("hash set");
    emu.snapshot("s").await.expect("snapshot");
    // Change every kind of state.
    server
        .datastores
        .undelete_data_store(U, "Gone")
        .await
        .expect("undelete");
    server
        .datastores
        .delete_data_store(U, "Kept")
        .await
        .expect("delete");
    top.set("a", 11).await.expect("ordered set");
    top.set("b", 1).await.expect("ordered set");
    mem.hash_map(U, "H")
        .remove("item")
        .await
        .expect("hash remove");
    mem.hash_map(U, "H")
        .set("new", json!(1), 600)
        .await
        .expect("hash set");
    let info = emu.restore("s").await.expect("restore");
    assert_eq!((info.ordered_entries, info.memory_items), (1, 1));
    // Store states: `Gone` deleted again (entry calls refused), `Kept` live.
    let gone = server
        .datastores
        .data_store(U, "Gone", "global")
        .expect("store");
    assert!(gone.get("k").await.is_err(), "`Gone` is deleted again");
    assert_eq!(get(&server, U, "Kept", "k").await, Some(json!(2)));
    assert_eq!(top.get("a").await.expect("get"), Some(10));
    assert_eq!(top.get("b").await.expect("get"), None);
    assert_eq!(
        mem.hash_map(U, "H").get("item").await.expect("get"),
        Some(json!("v"))
    );
    assert_eq!(mem.hash_map(U, "H").get("new").await.expect("get"), None);
    server.shutdown().await;
}

#[tokio::test]
async fn wipe_one_universe_leaves_the_others() {
    let server = spawn_test_server().await;
    let emu = server.emulator();
    for u in [1, 10, 11] {
        set(&server, u, "Players", "k", json!(u)).await;
        let top = ordered(&server)
            .data_store(u, "Top", "global")
            .expect("ordered");
        top.set("a", u as i64).await.expect("ordered set");
        memory(&server)
            .hash_map(u, "H")
            .set("i", json!(u), 600)
            .await
            .expect("hash");
    }
    server
        .datastores
        .delete_data_store(1, "Players")
        .await
        .expect("delete");
    assert_eq!(emu.wipe_universe(1).await.expect("wipe"), 2);
    // Universe 1 starts afresh: no entries, no deleted-store state.
    assert_eq!(get(&server, 1, "Players", "k").await, None);
    set(&server, 1, "Players", "k", json!("fresh")).await;
    let top1 = ordered(&server)
        .data_store(1, "Top", "global")
        .expect("ordered");
    assert_eq!(top1.get("a").await.expect("get"), None);
    assert_eq!(
        memory(&server)
            .hash_map(1, "H")
            .get("i")
            .await
            .expect("get"),
        None
    );
    for u in [10, 11] {
        assert_eq!(get(&server, u, "Players", "k").await, Some(json!(u)));
        let top = ordered(&server)
            .data_store(u, "Top", "global")
            .expect("ordered");
        assert_eq!(top.get("a").await.expect("get"), Some(u as i64));
        let item = memory(&server)
            .hash_map(u, "H")
            .get("i")
            .await
            .expect("get");
        assert_eq!(item, Some(json!(u)));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn list_and_delete_snapshots() {
    let server = spawn_test_server().await;
    let emu = server.emulator();
    assert!(emu.snapshots().await.expect("list").is_empty());
    set(&server, U, "Players", "k", json!(1)).await;
    emu.snapshot("b-second").await.expect("snapshot");
    emu.snapshot("a.first_1").await.expect("snapshot");
    let list = emu.snapshots().await.expect("list");
    let ids: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec!["a.first_1", "b-second"], "listed by id");
    assert!(list[0].bytes > 0 && list[0].create_time.ends_with('Z'));
    emu.delete_snapshot("a.first_1").await.expect("delete");
    let ids: Vec<String> = emu
        .snapshots()
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec!["b-second"]);
    server.shutdown().await;
}

#[tokio::test]
async fn errors_unknown_duplicate_and_bad_ids_and_bodies() {
    let server = spawn_test_server().await;
    let emu = server.emulator();
    assert_eq!(status(emu.restore("nope").await.unwrap_err()), 404);
    assert_eq!(status(emu.delete_snapshot("nope").await.unwrap_err()), 404);
    emu.snapshot("one").await.expect("snapshot");
    assert_eq!(status(emu.snapshot("one").await.unwrap_err()), 409);
    assert_eq!(status(emu.snapshot("has space").await.unwrap_err()), 400);
    assert_eq!(status(emu.snapshot("").await.unwrap_err()), 400);
    assert_eq!(
        status(emu.snapshot(&"x".repeat(129)).await.unwrap_err()),
        400
    );
    let key = [("x-api-key", server.api_key.as_str())];
    let url = format!("{}/emulator/v1/snapshots", server.url);
    let a = support::send(Method::POST, &url, &key, "not json".to_owned()).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["code"],
        "INVALID_ARGUMENT",
        "v2 error shape: {:?}",
        a.body
    );
    let a = support::send(Method::POST, &url, &[], r#"{"id":"x"}"#.to_owned()).await;
    assert_eq!(a.status, 401, "the controls need the API key");
    let wipe = format!("{}/emulator/v1/universes/abc/data", server.url);
    let a = support::send(Method::DELETE, &wipe, &key, String::new()).await;
    assert_eq!(a.status, 400);
    let a = support::send(Method::PUT, &url, &key, String::new()).await;
    assert_eq!(a.status, 405);
    let a = support::send(
        Method::POST,
        &format!("{url}/one:bogus"),
        &key,
        String::new(),
    )
    .await;
    assert_eq!(a.status, 405, "an unknown verb is not a restore");
    let dup = support::send(Method::POST, &url, &key, r#"{"id":"one"}"#.to_owned()).await;
    assert_eq!(dup.json()["code"], "ALREADY_EXISTS");
    server.shutdown().await;
}

/// A SQLite server process, driven over HTTP and by the CLI.
#[tokio::test]
async fn sqlite_server_and_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::builder(dir.path())
        .storage("sqlite")
        .durability("off")
        .api_key("snapkey")
        .start();
    let client = RemoteClient::new(&server.url, Some("snapkey".into())).expect("client");
    let emu = Emulator::new(client.clone());
    let remote = profilestore::datastore::DataStoreService::remote(client, Clock::system());
    let ds = remote.data_store(U, "Players", "global").expect("store");
    ds.set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    let cli = || Cli::remote(&server.url, "snapkey", dir.path());
    let saved = cli().args(["snapshot", "save", "base"]).run().json();
    assert_eq!(
        (saved["id"].as_str(), saved["entries"].as_u64()),
        (Some("base"), Some(1))
    );
    ds.set("k", &json!(2), &WriteOptions::default())
        .await
        .expect("set");
    ds.set("other", &json!(3), &WriteOptions::default())
        .await
        .expect("set");
    let listed = cli().args(["snapshot", "list"]).run().json_lines();
    assert_eq!(listed.len(), 1);
    // `--url`/`--key` after the command's name work too, as for the
    // other commands.
    let after = Cli::new()
        .args(["snapshot", "list", "--url", &server.url, "--key", "snapkey"])
        .run()
        .json_lines();
    assert_eq!(after, listed);
    cli().args(["snapshot", "restore", "base"]).run().success();
    assert_eq!(
        ds.get("k").await.expect("get").map(|e| e.value),
        Some(json!(1))
    );
    assert_eq!(ds.get("other").await.expect("get"), None);
    let versions = ds
        .list_versions("k", &Default::default())
        .await
        .expect("versions");
    assert_eq!(versions.items.len(), 1, "the second version is gone");
    cli()
        .args(["snapshot", "restore", "nope"])
        .run()
        .failure_with(&["nope"]);
    cli().args(["snapshot", "delete", "base"]).run().success();
    assert!(emu.snapshots().await.expect("list").is_empty());
    server.stop();
}

#[tokio::test]
async fn restore_brings_back_a_queue_item_read_since() {
    let server = spawn_test_server().await;
    let emu = server.emulator();
    let queue = memory(&server).queue(U, "Q");
    queue.add(json!("a"), 600, 0.0).await.expect("add");
    emu.snapshot("s").await.expect("snapshot");
    let read = queue.read(ReadOptions::new(1)).await.expect("read");
    assert_eq!(read.values, vec![json!("a")]);
    let hidden = queue.read(ReadOptions::new(1)).await.expect("read");
    assert!(hidden.values.is_empty(), "the read item is invisible");
    emu.restore("s").await.expect("restore");
    let again = queue.read(ReadOptions::new(1)).await.expect("read");
    assert_eq!(
        again.values,
        vec![json!("a")],
        "visible again, as when saved"
    );
    server.shutdown().await;
}
