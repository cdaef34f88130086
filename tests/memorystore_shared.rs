//! Shared memory stores across nodes: two `MemoryStoreService::shared`
//! services ("nodes") over one storage plugin see one set of sorted maps,
//! queues and hash maps: writes on one are read on the other, concurrent
//! updates from both lose nothing, invisibility windows, read ids, the
//! universe quota, expirations, waiting reads, flush and the snapshot copy
//! hold across nodes; on SQLite the memory stores are durable, and
//! `serve` with `[memory_store] shared = true` keeps them across a
//! restart. (Each
//! behaviour of one service runs on both backends in `memorystore.rs`.)

mod support;

use std::time::Duration;

use profilestore::clock::Clock;
use profilestore::faults::FaultyPlugin;
use profilestore::memorystore::*;
use profilestore::storage::{self, Storage, StorageConfig, StorageKind};
use serde_json::{json, Value};

const U: u64 = 7;

fn memory_storage() -> Storage {
    let config = StorageConfig {
        kind: StorageKind::Memory,
        ..StorageConfig::default()
    };
    Storage::new(storage::open(&config).unwrap())
}

/// Two nodes on one storage, one clock, one quota.
fn cluster(clock: Clock, config: MemoryConfig) -> (MemoryStoreService, MemoryStoreService) {
    let storage = memory_storage();
    let a = MemoryStoreService::shared(storage.clone(), clock.clone(), config);
    (a, MemoryStoreService::shared(storage, clock, config))
}

fn simulated() -> (MemoryStoreService, MemoryStoreService) {
    cluster(Clock::tokio(1_700_000_000_000), MemoryConfig::default())
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[tokio::test(start_paused = true)]
async fn a_write_on_one_node_is_read_on_the_other() {
    let (a, b) = simulated();
    let on_a = a.sorted_map(U, "board");
    let on_b = b.sorted_map(U, "board");
    on_a.set("p1", json!(1), 60, Some(SortKey::Number(5.0)))
        .await
        .unwrap();
    on_b.set("p2", json!(2), 60, Some(SortKey::Number(1.0)))
        .await
        .unwrap();
    assert_eq!(
        on_b.get("p1").await.unwrap(),
        Some((json!(1), Some(SortKey::Number(5.0))))
    );
    let all = on_a
        .get_range(Direction::Ascending, 10, None, None)
        .await
        .unwrap();
    let keys: Vec<&str> = all.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["p2", "p1"]);
    assert!(
        !on_b.set("p1", json!(3), 60, None).await.unwrap(),
        "not new"
    );
    let etag_b = on_b.get_item("p1").await.unwrap().unwrap().etag;
    let stale = Expect::Etag("stale".into());
    let lost = on_a.put("p1", json!(4), 60, None, stale).await.unwrap();
    assert!(matches!(lost, Written::Conflict { .. }));
    let won = on_a.put("p1", json!(4), 60, None, Expect::Etag(etag_b.clone()));
    let Written::Written { item, .. } = won.await.unwrap() else {
        panic!("the etag read on B holds on A");
    };
    assert_ne!(item.etag, etag_b, "etags change on every write");
    on_a.remove("p2").await.unwrap();
    assert_eq!(on_b.size().await.unwrap(), 1);
    let h = a.hash_map(U, "inv");
    h.set("sword", json!(1), 60).await.unwrap();
    assert_eq!(
        b.hash_map(U, "inv").get("sword").await.unwrap(),
        Some(json!(1))
    );
}

/// Increments of one key from both nodes at once, on real threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_from_both_nodes_lose_nothing() {
    let (a, b) = cluster(Clock::system(), MemoryConfig::default());
    let mut tasks = Vec::new();
    for node in [&a, &b] {
        for _ in 0..4 {
            let map = node.sorted_map(U, "counter");
            tasks.push(tokio::spawn(async move {
                let mut ok = 0;
                for _ in 0..25 {
                    let bump = |old: Option<(Value, Option<SortKey>)>| {
                        let n = old.and_then(|(v, _)| v.as_i64()).unwrap_or(0);
                        Some((json!(n + 1), None))
                    };
                    if map.update("n", 60, bump).await.is_ok() {
                        ok += 1;
                    }
                }
                ok
            }));
        }
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    let n = a.sorted_map(U, "counter").get("n").await.unwrap();
    assert_eq!(n, Some((json!(ok), None)), "one increment per success");
    assert!(ok >= 100, "most updates won ({ok} of 200)");
}

/// Writes of different keys of one universe race on its record: each
/// lands once (the loser applies again to what the winner wrote).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writes_to_one_universe_all_land() {
    let (a, b) = cluster(Clock::system(), MemoryConfig::default());
    let mut tasks = Vec::new();
    for (n, node) in [&a, &b].into_iter().enumerate() {
        for t in 0..4 {
            let map = node.hash_map(U, "h");
            let q = node.queue(U, "q");
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    map.set(&format!("{n}-{t}-{i}"), json!(i), 60)
                        .await
                        .unwrap();
                    q.add(json!(i), 60, 0.0).await.unwrap();
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (mut keys, mut cursor) = (0, None);
    loop {
        let page = b
            .hash_map(U, "h")
            .list_items(200, cursor.as_deref())
            .await
            .unwrap();
        keys += page.items.len();
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(keys, 200);
    assert_eq!(a.queue(U, "q").size(false).await.unwrap(), 200);
}

#[tokio::test(start_paused = true)]
async fn an_item_read_on_one_node_is_invisible_on_the_other_until_its_window_ends() {
    let (a, b) = simulated();
    a.queue(U, "jobs")
        .add(json!("job"), 600, 0.0)
        .await
        .unwrap();
    let window = ReadOptions {
        invisibility: secs(10),
        ..ReadOptions::new(1)
    };
    let first = a.queue(U, "jobs").read(window).await.unwrap();
    assert_eq!(first.values, [json!("job")]);
    let qb = b.queue(U, "jobs");
    assert_eq!(qb.read(window).await.unwrap(), QueueRead::default());
    assert_eq!(qb.size(true).await.unwrap(), 0);
    assert_eq!(qb.size(false).await.unwrap(), 1);
    tokio::time::advance(secs(10)).await;
    let again = qb.read(window).await.unwrap();
    assert_eq!(again.values, [json!("job")], "back after the window");
    assert_ne!(again.id, first.id, "read ids are unique across nodes");
    a.queue(U, "jobs")
        .remove(first.id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(qb.size(false).await.unwrap(), 1, "A's read id lost it");
    // B's read, removed from A.
    a.queue(U, "jobs")
        .remove(again.id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(qb.size(false).await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_read_id_from_one_node_removes_on_the_other() {
    let (a, b) = simulated();
    for v in 1..=3 {
        a.queue(U, "q").add(json!(v), 600, 0.0).await.unwrap();
    }
    let read = a.queue(U, "q").read(ReadOptions::new(2)).await.unwrap();
    assert_eq!(read.values, [json!(1), json!(2)]);
    b.queue(U, "q")
        .remove(read.id.as_deref().unwrap())
        .await
        .unwrap();
    let peek = a.queue(U, "q").peek(10).await.unwrap();
    assert_eq!(peek.len(), 1);
    assert_eq!(peek[0].value, json!(3));
}

#[tokio::test(start_paused = true)]
async fn a_waiting_read_on_one_node_gets_an_add_on_the_other() {
    let (a, b) = simulated();
    let wait = ReadOptions {
        wait: secs(30),
        ..ReadOptions::new(1)
    };
    let qb = b.queue(U, "q");
    let start = b.clock().now_ms();
    let waiter = tokio::spawn(async move { qb.read(wait).await });
    tokio::time::sleep(secs(3)).await;
    a.queue(U, "q").add(json!(1), 60, 0.0).await.unwrap();
    let got = waiter.await.unwrap().unwrap();
    assert_eq!(got.values, [json!(1)]);
    let waited = b.clock().now_ms() - start;
    assert!((3_000..=3_200).contains(&waited), "answered {waited} ms in");
}

#[tokio::test(start_paused = true)]
async fn the_universe_quota_holds_across_nodes() {
    let (a, b) = cluster(Clock::tokio(0), MemoryConfig { users: 0 });
    let big = json!("x".repeat(30_000));
    a.hash_map(U, "h").set("a", big.clone(), 10).await.unwrap();
    b.sorted_map(U, "m")
        .set("b", big.clone(), 60, None)
        .await
        .unwrap();
    let e = a.queue(U, "q").add(big.clone(), 60, 0.0).await.unwrap_err();
    assert!(matches!(e, MemoryStoreError::TotalMemoryOverLimit), "{e}");
    let e = b
        .hash_map(U, "h")
        .set("c", big.clone(), 60)
        .await
        .unwrap_err();
    assert!(matches!(e, MemoryStoreError::TotalMemoryOverLimit), "{e}");
    // Shrinking on A makes room for B.
    a.sorted_map(U, "m")
        .set("b", json!("small"), 60, None)
        .await
        .unwrap();
    b.hash_map(U, "h").set("c", big.clone(), 60).await.unwrap();
    // A's expired item frees room for B.
    tokio::time::advance(secs(10)).await;
    b.queue(U, "q").add(big, 60, 0.0).await.unwrap();
    let (used, quota) = a.current_usage(U).await.unwrap().unwrap();
    assert!(used <= quota && used > 60_000, "{used} of {quota}");
}

#[tokio::test(start_paused = true)]
async fn items_expire_for_every_node() {
    let (a, b) = simulated();
    a.sorted_map(U, "m")
        .set("short", json!(1), 5, None)
        .await
        .unwrap();
    a.hash_map(U, "h").set("k", json!(1), 5).await.unwrap();
    a.queue(U, "q").add(json!(1), 5, 0.0).await.unwrap();
    assert_eq!(b.sorted_map(U, "m").size().await.unwrap(), 1);
    tokio::time::advance(secs(5)).await;
    assert_eq!(b.sorted_map(U, "m").get("short").await.unwrap(), None);
    assert_eq!(b.hash_map(U, "h").get("k").await.unwrap(), None);
    assert_eq!(b.queue(U, "q").size(false).await.unwrap(), 0);
    assert_eq!(b.current_usage(U).await.unwrap().unwrap().0, 0);
}

#[tokio::test(start_paused = true)]
async fn a_flush_on_one_node_empties_the_universe_for_all() {
    let (a, b) = simulated();
    a.sorted_map(U, "m")
        .set("k", json!(1), 60, None)
        .await
        .unwrap();
    a.sorted_map(U + 1, "m")
        .set("k", json!(1), 60, None)
        .await
        .unwrap();
    let op = b.flush(U).await.unwrap();
    assert!(a.flush_operation(U, &op).await.unwrap(), "known on A");
    assert!(!a.flush_operation(U + 1, &op).await.unwrap());
    assert_eq!(a.sorted_map(U, "m").size().await.unwrap(), 0);
    assert_eq!(a.sorted_map(U + 1, "m").size().await.unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_copy_taken_on_one_node_is_restored_for_all() {
    let (a, b) = simulated();
    a.sorted_map(U, "m")
        .set("k", json!(1), 60, None)
        .await
        .unwrap();
    let read = {
        a.queue(U, "q").add(json!("job"), 60, 0.0).await.unwrap();
        a.queue(U, "q").read(ReadOptions::new(1)).await.unwrap()
    };
    let image = a.export().await.unwrap().unwrap();
    assert_eq!(image.items(), 2);
    a.flush(U).await.unwrap();
    b.sorted_map(U + 1, "m")
        .set("later", json!(2), 60, None)
        .await
        .unwrap();
    b.import(&image).await.unwrap();
    assert_eq!(
        a.sorted_map(U, "m").get("k").await.unwrap(),
        Some((json!(1), None))
    );
    assert_eq!(
        b.sorted_map(U + 1, "m").size().await.unwrap(),
        0,
        "replaced"
    );
    b.queue(U, "q")
        .remove(read.id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        a.queue(U, "q").size(false).await.unwrap(),
        0,
        "read id kept"
    );
}

fn faulty() -> (std::sync::Arc<FaultyPlugin>, MemoryStoreService) {
    let config = StorageConfig {
        kind: StorageKind::Memory,
        ..StorageConfig::default()
    };
    let plugin = std::sync::Arc::new(FaultyPlugin::new(storage::open(&config).unwrap()));
    let storage = Storage::new(plugin.clone());
    let clock = Clock::tokio(1_700_000_000_000);
    let svc = MemoryStoreService::shared(storage, clock, MemoryConfig::default());
    (plugin, svc)
}

#[tokio::test(start_paused = true)]
async fn a_record_that_keeps_changing_ends_in_a_retryable_error_after_the_bound() {
    let (plugin, svc) = faulty();
    let map = svc.sorted_map(U, "m");
    plugin.conflict_next_swaps(SWAP_ATTEMPTS);
    let e = map.set("k", json!(1), 60, None).await.unwrap_err();
    assert!(matches!(e, MemoryStoreError::Storage(_)), "{e}");
    assert!(e.is_transient(), "{e}");
    assert!(e.to_string().contains("attempts"), "{e}");
    assert_eq!(map.size().await.unwrap(), 0, "nothing was written");
    plugin.conflict_next_swaps(SWAP_ATTEMPTS - 1);
    assert!(
        map.set("k", json!(1), 60, None).await.unwrap(),
        "the last try"
    );
}

#[tokio::test(start_paused = true)]
async fn unreachable_storage_fails_every_call_clearly() {
    let (plugin, svc) = faulty();
    svc.sorted_map(U, "m")
        .set("k", json!(1), 60, None)
        .await
        .unwrap();
    plugin.fail_all(true);
    let e = svc.sorted_map(U, "m").get("k").await.unwrap_err();
    assert!(matches!(e, MemoryStoreError::Storage(_)), "{e}");
    let e = svc.queue(U, "q").add(json!(1), 60, 0.0).await.unwrap_err();
    assert!(e.to_string().starts_with("InternalError:"), "{e}");
    assert!(svc.export().await.is_err());
    assert!(svc.flush(U).await.is_err());
    plugin.fail_all(false);
    assert_eq!(svc.sorted_map(U, "m").size().await.unwrap(), 1);
}

/// Two services on one SQLite file (two plugin instances, as two nodes
/// would open it), then a third after both closed: durable and shared.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_memory_stores_are_shared_and_durable() {
    let dir = tempfile::tempdir().unwrap();
    let node = || {
        let config = StorageConfig {
            kind: StorageKind::Sqlite,
            data_dir: dir.path().to_owned(),
            durability: profilestore::plugin_api::Durability::Full,
            postgres_url: None,
        };
        let storage = Storage::new(storage::open(&config).unwrap());
        MemoryStoreService::shared(storage, Clock::system(), MemoryConfig::default())
    };
    let (a, b) = (node(), node());
    a.sorted_map(U, "m")
        .set("k", json!(1), 600, None)
        .await
        .unwrap();
    let bump = |v: Option<Value>| Some(json!(v.and_then(|v| v.as_i64()).unwrap_or(0) + 1));
    for _ in 0..3 {
        a.hash_map(U, "n").update("c", 600, bump).await.unwrap();
        b.hash_map(U, "n").update("c", 600, bump).await.unwrap();
    }
    assert_eq!(
        b.sorted_map(U, "m").get("k").await.unwrap(),
        Some((json!(1), None))
    );
    drop((a, b));
    let c = node();
    assert_eq!(c.hash_map(U, "n").get("c").await.unwrap(), Some(json!(6)));
    assert_eq!(c.sorted_map(U, "m").size().await.unwrap(), 1);
}

/// `serve` with `[memory_store] shared = true` keeps memory stores in the
/// storage's records: an item outlives a restart of the server.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn serve_with_shared_memory_stores_keeps_them_in_storage() {
    use support::process::ServeProcess;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shared.toml");
    std::fs::write(&config, "[memory_store]\nshared = true\n").unwrap();
    let start = || {
        ServeProcess::builder(dir.path())
            .storage("sqlite")
            .api_key("memkey")
            .arg("--config")
            .arg(&config)
            .start()
    };
    let item = "/engine-api/v1/universes/1/memory-store/sorted-maps/board/items/k";
    let server = start();
    let url = format!("{}{item}", server.url);
    let body = json!({"value": "kept", "expiration": 600}).to_string();
    let put = support::send(hyper::Method::PUT, &url, &[("x-api-key", "memkey")], body).await;
    assert!(put.status.is_success(), "{:?}", put.body);
    assert!(server.stop().success());
    let server = start();
    let url = format!("{}{item}", server.url);
    let got = support::send(
        hyper::Method::GET,
        &url,
        &[("x-api-key", "memkey")],
        String::new(),
    )
    .await;
    assert!(got.status.is_success(), "{:?}", got.body);
    assert_eq!(got.json()["item"]["value"], json!("kept"), "{:?}", got.body);
}
