//! MemoryStoreService through its Rust API, on simulated time: sorted map
//! order, bounds and expiry; queue priority, invisibility windows, waits
//! and all-or-nothing; hash map pages; update retries under concurrent
//! writers; limits and the universe quota; and the remote backend giving
//! the same answers against a test server. Every test of the structures'
//! behaviour runs on the local backend and on the shared one (the records
//! of a storage plugin, `MemoryStoreService::shared`); the cross-node
//! tests are in `memorystore_shared.rs`.

use std::sync::Arc;
use std::time::Duration;

use profilestore::clock::Clock;
use profilestore::memorystore::*;
use profilestore::remote::RemoteClient;
use profilestore::storage::{self, Storage, StorageConfig, StorageKind};
use profilestore::testing::spawn_test_server;
use serde_json::{json, Value};

const U: u64 = 7;

/// Makes the service a test runs on.
type Make = fn(Clock, MemoryConfig) -> MemoryStoreService;

fn local(clock: Clock, config: MemoryConfig) -> MemoryStoreService {
    MemoryStoreService::with_config(clock, config)
}

/// A shared service over a fresh in-memory storage plugin.
fn shared(clock: Clock, config: MemoryConfig) -> MemoryStoreService {
    let plugin = storage::open(&StorageConfig {
        kind: StorageKind::Memory,
        ..StorageConfig::default()
    })
    .unwrap();
    MemoryStoreService::shared(Storage::new(plugin), clock, config)
}

fn service(make: Make) -> MemoryStoreService {
    make(Clock::tokio(1_700_000_000_000), MemoryConfig::default())
}

/// Runs each named `async fn(Make)` on the local and on the shared
/// backend, on simulated time.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod local_backend {
            $(#[tokio::test(start_paused = true)]
            async fn $name() {
                super::$name(super::local).await
            })*
        }
        mod shared_backend {
            $(#[tokio::test(start_paused = true)]
            async fn $name() {
                super::$name(super::shared).await
            })*
        }
    };
}

on_both_backends!(
    keeps_the_contract,
    items_expire_on_the_clock,
    invisible_items_come_back_when_the_window_passes,
    a_waiting_read_answers_when_an_item_comes_or_at_its_timeout,
    update_retries_under_concurrent_writers,
    every_limit_is_checked_before_anything_changes,
    the_universe_quota_refuses_growth_but_not_shrinking,
    flush_drops_one_universe_only,
);

fn num(n: f64) -> Option<SortKey> {
    Some(SortKey::Number(n))
}

fn keys(items: &[SortedItem]) -> Vec<String> {
    items.iter().map(|i| i.key.clone()).collect()
}

/// The shared checks, run on any backend.
async fn sorted_map_contract(svc: &MemoryStoreService) {
    let map = svc.sorted_map(U, "board");
    assert!(map.set("player0", json!(0), 60, None).await.unwrap());
    assert!(map.set("player1", json!(1), 60, num(5.0)).await.unwrap());
    assert!(map
        .set("player2", json!(2), 60, Some(SortKey::String("b".into())))
        .await
        .unwrap());
    assert!(map.set("player3", json!(3), 60, num(-1.0)).await.unwrap());
    assert!(
        !map.set("player3", json!(33), 60, num(-1.0)).await.unwrap(),
        "not new"
    );
    let all = map
        .get_range(Direction::Ascending, 10, None, None)
        .await
        .unwrap();
    assert_eq!(keys(&all), ["player3", "player1", "player2", "player0"]);
    let lower = Bound {
        key: Some("player3".into()),
        sort_key: num(-1.0),
    };
    let after = map
        .get_range(Direction::Ascending, 2, Some(lower), None)
        .await
        .unwrap();
    assert_eq!(keys(&after), ["player1", "player2"]);
    let down = map
        .get_range(Direction::Descending, 1, None, None)
        .await
        .unwrap();
    assert_eq!(keys(&down), ["player0"]);
    assert_eq!(
        map.get("player3").await.unwrap(),
        Some((json!(33), num(-1.0)))
    );
    assert_eq!(map.size().await.unwrap(), 4);
    map.remove("player3").await.unwrap();
    assert_eq!(map.get("player3").await.unwrap(), None);
    let bumped = map
        .update("player1", 60, |old| {
            let (v, _) = old?;
            Some((json!(v.as_i64()? + 10), num(50.0)))
        })
        .await
        .unwrap();
    assert_eq!(bumped, Some((json!(11), num(50.0))));
    let cancelled = map.update("player1", 60, |_| None).await.unwrap();
    assert_eq!(cancelled, None);
    assert!(matches!(
        map.get_range(Direction::Ascending, 201, None, None).await,
        Err(MemoryStoreError::CountOutOfRange { max: 200, .. })
    ));
}

async fn queue_contract(svc: &MemoryStoreService) {
    let q = svc.queue(U, "line");
    for (v, p) in [(1, 0.0), (2, 9.0), (3, 0.0)] {
        q.add(json!(v), 60, p).await.unwrap();
    }
    let read = q.read(ReadOptions::new(2)).await.unwrap();
    assert_eq!(read.values, [json!(2), json!(1)], "priority, then FIFO");
    assert_eq!(q.size(false).await.unwrap(), 3);
    assert_eq!(q.size(true).await.unwrap(), 1);
    let none = q
        .read(ReadOptions {
            all_or_nothing: true,
            ..ReadOptions::new(2)
        })
        .await
        .unwrap();
    assert_eq!(none, QueueRead::default(), "all or nothing");
    q.remove(read.id.as_deref().unwrap()).await.unwrap();
    assert_eq!(q.size(false).await.unwrap(), 1);
    let peek = q.peek(10).await.unwrap();
    assert_eq!(peek.len(), 1);
    assert!(matches!(
        q.read(ReadOptions::new(101)).await,
        Err(MemoryStoreError::CountOutOfRange { max: 100, .. })
    ));
}

async fn hash_map_contract(svc: &MemoryStoreService) {
    let m = svc.hash_map(U, "inv");
    for k in ["c", "a", "b"] {
        assert!(m.set(k, json!(k), 60).await.unwrap());
    }
    assert_eq!(m.get("a").await.unwrap(), Some(json!("a")));
    let first = m.list_items(2, None).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = m.list_items(2, first.cursor.as_deref()).await.unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.cursor.is_none());
    let added = m
        .update("a", 60, |v| Some(json!(format!("{}!", v?.as_str()?))))
        .await
        .unwrap();
    assert_eq!(added, Some(json!("a!")));
    m.remove("a").await.unwrap();
    assert_eq!(m.get("a").await.unwrap(), None);
    assert!(matches!(
        m.list_items(1, Some("bogus")).await,
        Err(MemoryStoreError::InvalidCursor)
    ));
}

async fn keeps_the_contract(make: Make) {
    let svc = service(make);
    sorted_map_contract(&svc).await;
    queue_contract(&svc).await;
    hash_map_contract(&svc).await;
}

#[tokio::test]
async fn remote_backend_gives_the_same_answers() {
    let server = spawn_test_server().await;
    let client = RemoteClient::new(&server.url, Some(server.api_key.clone())).unwrap();
    let svc = MemoryStoreService::remote(client, Clock::system());
    sorted_map_contract(&svc).await;
    queue_contract(&svc).await;
    hash_map_contract(&svc).await;
    server.shutdown().await;
}

async fn items_expire_on_the_clock(make: Make) {
    let svc = service(make);
    let map = svc.sorted_map(U, "m");
    map.set("short", json!(1), 5, None).await.unwrap();
    map.set("long", json!(2), 50, None).await.unwrap();
    svc.hash_map(U, "h").set("k", json!(1), 5).await.unwrap();
    svc.queue(U, "q").add(json!(1), 5, 0.0).await.unwrap();
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(map.get("short").await.unwrap(), None);
    assert_eq!(map.size().await.unwrap(), 1);
    assert_eq!(svc.hash_map(U, "h").get("k").await.unwrap(), None);
    assert_eq!(svc.queue(U, "q").size(false).await.unwrap(), 0);
    let (used, _) = svc.current_usage(U).await.unwrap().unwrap();
    assert_eq!(
        used,
        ("long".len() + 1) as u64,
        "expired items were reclaimed"
    );
}

async fn invisible_items_come_back_when_the_window_passes(make: Make) {
    let svc = service(make);
    let q = svc.queue(U, "q");
    q.add(json!("job"), 600, 0.0).await.unwrap();
    let opts = ReadOptions {
        invisibility: Duration::from_secs(10),
        ..ReadOptions::new(1)
    };
    let first = q.read(opts).await.unwrap();
    assert_eq!(first.values, [json!("job")]);
    assert_eq!(q.read(opts).await.unwrap().values, Vec::<Value>::new());
    tokio::time::advance(Duration::from_secs(10)).await;
    let again = q.read(opts).await.unwrap();
    assert_eq!(again.values, [json!("job")], "back after the window");
    q.remove(first.id.as_deref().unwrap()).await.unwrap();
    assert_eq!(
        q.size(false).await.unwrap(),
        1,
        "the old read id no longer holds it"
    );
    q.remove(again.id.as_deref().unwrap()).await.unwrap();
    assert_eq!(q.size(false).await.unwrap(), 0);
}

async fn a_waiting_read_answers_when_an_item_comes_or_at_its_timeout(make: Make) {
    let svc = service(make);
    let q = svc.queue(U, "q");
    let opts = ReadOptions {
        wait: Duration::from_secs(30),
        ..ReadOptions::new(1)
    };
    let waiter = tokio::spawn({
        let q = q.clone();
        async move { q.read(opts).await }
    });
    tokio::time::advance(Duration::from_secs(3)).await;
    q.add(json!(1), 60, 0.0).await.unwrap();
    let got = waiter.await.unwrap().unwrap();
    assert_eq!(got.values, [json!(1)]);
    q.remove(got.id.as_deref().unwrap()).await.unwrap();
    let start = svc.clock().now_ms();
    let empty = q.read(opts).await.unwrap();
    assert_eq!(empty.id, None);
    assert_eq!(
        svc.clock().now_ms() - start,
        30_000,
        "waited the whole timeout"
    );
}

async fn update_retries_under_concurrent_writers(make: Make) {
    let svc = service(make);
    let map = svc.hash_map(U, "counter");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let map = map.clone();
        tasks.push(tokio::spawn(async move {
            map.update("n", 60, |v| {
                Some(json!(v.and_then(|v| v.as_i64()).unwrap_or(0) + 1))
            })
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(map.get("n").await.unwrap(), Some(json!(20)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_that_always_loses_ends_in_update_conflict() {
    for make in [local as Make, shared] {
        always_losing_update(make(Clock::system(), MemoryConfig::default())).await;
    }
}

async fn always_losing_update(svc: MemoryStoreService) {
    let map = svc.sorted_map(U, "m");
    map.set("k", json!(0), 60, None).await.unwrap();
    let (writer, runs) = (map.clone(), std::cell::Cell::new(0u32));
    let result = map
        .update("k", 60, |_| {
            // Another server writes between every read and write.
            runs.set(runs.get() + 1);
            let w = writer.clone();
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(w.set("k", json!(9), 60, None))
            })
            .unwrap();
            Some((json!(1), None))
        })
        .await;
    assert!(
        matches!(result, Err(MemoryStoreError::UpdateConflict)),
        "{result:?}"
    );
    assert_eq!(runs.get(), UPDATE_RETRIES, "one transform run per attempt");
    assert_eq!(
        map.get("k").await.unwrap(),
        Some((json!(9), None)),
        "nothing of ours landed"
    );
    assert!(MemoryStoreError::UpdateConflict
        .to_string()
        .starts_with("UpdateConflict:"));
}

async fn every_limit_is_checked_before_anything_changes(make: Make) {
    let svc = service(make);
    let map = svc.sorted_map(U, "m");
    let long = "k".repeat(129);
    assert!(matches!(
        map.set(&long, json!(1), 60, None).await,
        Err(MemoryStoreError::NameTooLong { .. })
    ));
    assert!(matches!(
        map.set("", json!(1), 60, None).await,
        Err(MemoryStoreError::EmptyName { .. })
    ));
    let sk = Some(SortKey::String("s".repeat(129)));
    assert!(matches!(
        map.set("k", json!(1), 60, sk).await,
        Err(MemoryStoreError::NameTooLong {
            what: "sort key",
            ..
        })
    ));
    assert!(matches!(
        map.set("k", json!(1), 60, num(f64::INFINITY)).await,
        Err(MemoryStoreError::InvalidSortKey)
    ));
    let big = json!("x".repeat(MAX_VALUE_BYTES));
    assert!(matches!(
        map.set("k", big, 60, None).await,
        Err(MemoryStoreError::ValueTooLarge { .. })
    ));
    for secs in [0, MAX_EXPIRATION_SECS + 1] {
        let e = map.set("k", json!(1), secs, None).await.unwrap_err();
        assert!(e.to_string().starts_with("InvalidExpirationTime:"), "{e}");
    }
    assert!(matches!(
        map.get_range(Direction::Ascending, 0, None, None).await,
        Err(MemoryStoreError::CountOutOfRange { .. })
    ));
    let q = svc.queue(U, "q");
    assert!(matches!(
        q.add(json!(1), 60, f64::NAN).await,
        Err(MemoryStoreError::InvalidNumber { .. })
    ));
    let zero = ReadOptions {
        invisibility: Duration::ZERO,
        ..ReadOptions::new(1)
    };
    assert!(matches!(
        q.read(zero).await,
        Err(MemoryStoreError::InvalidNumber { .. })
    ));
    assert!(matches!(
        svc.hash_map(U, "h").list_items(201, None).await,
        Err(MemoryStoreError::CountOutOfRange { .. })
    ));
    assert_eq!(map.size().await.unwrap(), 0, "nothing was written");
}

async fn the_universe_quota_refuses_growth_but_not_shrinking(make: Make) {
    let svc = make(Clock::tokio(0), MemoryConfig { users: 0 });
    let map = svc.hash_map(U, "h");
    let value = json!("x".repeat(30_000));
    map.set("a", value.clone(), 10).await.unwrap();
    map.set("b", value.clone(), 60).await.unwrap();
    let e = map.set("c", value.clone(), 60).await.unwrap_err();
    assert!(matches!(e, MemoryStoreError::TotalMemoryOverLimit), "{e}");
    map.set("b", json!("small"), 60).await.unwrap();
    map.set("c", value.clone(), 60).await.unwrap();
    // Another universe has its own quota.
    svc.hash_map(U + 1, "h")
        .set("a", value.clone(), 60)
        .await
        .unwrap();
    // Expired items free their room.
    tokio::time::advance(Duration::from_secs(10)).await;
    map.set("d", value, 60).await.unwrap();
}

async fn flush_drops_one_universe_only(make: Make) {
    let svc = service(make);
    svc.sorted_map(U, "m")
        .set("k", json!(1), 60, None)
        .await
        .unwrap();
    svc.sorted_map(U + 1, "m")
        .set("k", json!(1), 60, None)
        .await
        .unwrap();
    let op = svc.flush(U).await.unwrap();
    assert!(svc.flush_operation(U, &op).await.unwrap());
    assert!(!svc.flush_operation(U + 1, &op).await.unwrap());
    assert_eq!(svc.sorted_map(U, "m").size().await.unwrap(), 0);
    assert_eq!(svc.sorted_map(U + 1, "m").size().await.unwrap(), 1);
}

#[tokio::test]
async fn the_remote_backend_gets_server_side_errors_as_the_same_variants() {
    let server = spawn_test_server().await;
    let client = RemoteClient::new(&server.url, Some(server.api_key.clone())).unwrap();
    let svc = Arc::new(MemoryStoreService::remote(client, Clock::system()));
    let q = svc.queue(U, "big");
    let value = json!("x".repeat(30_000));
    let mut last = Ok(());
    for _ in 0..100 {
        last = q.add(value.clone(), 60, 0.0).await;
        if last.is_err() {
            break;
        }
    }
    assert!(
        matches!(last, Err(MemoryStoreError::TotalMemoryOverLimit)),
        "{last:?}"
    );
    server.shutdown().await;
}
