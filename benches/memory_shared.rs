//! Shared memory stores against local ones: sorted map `SetAsync` and
//! `GetAsync` per second through `MemoryStoreService` (no HTTP), on the
//! local backend and on the shared backend over the memory plugin and
//! SQLite (durability full and off), in the same run.
//!
//! The shared backend keeps one record per universe, so its cost grows
//! with what the universe holds: each figure is measured with the
//! universe holding 10 items and holding 1 000 (~100 bytes each, about
//! 100 KB, a tenth of the default quota). One task, one node: this is the
//! cost of one call, not contention. Prints a Markdown table.
//!
//! Run: `cargo bench --bench memory_shared`.

use std::time::Instant;

use profilestore::clock::Clock;
use profilestore::memorystore::{MemoryConfig, MemoryStoreService};
use profilestore::plugin_api::Durability;
use profilestore::storage::{open, Storage, StorageConfig, StorageKind};
use serde_json::json;

const OPS: usize = 2_000;
const U: u64 = 1;

fn service(kind: Option<(StorageKind, Durability)>, dir: &std::path::Path) -> MemoryStoreService {
    let clock = Clock::system();
    let Some((kind, durability)) = kind else {
        return MemoryStoreService::with_config(clock, MemoryConfig::default());
    };
    let config = StorageConfig {
        kind,
        data_dir: dir.to_owned(),
        durability,
        postgres_url: None,
    };
    let storage = Storage::new(open(&config).expect("open storage"));
    MemoryStoreService::shared(storage, clock, MemoryConfig::default())
}

/// Sets then gets per second, with `held` items in the universe.
async fn measure(svc: &MemoryStoreService, held: usize) -> (f64, f64) {
    let map = svc.sorted_map(U, "board");
    let value = json!({"name": "player", "score": 12345, "pad": "x".repeat(50)});
    for i in 0..held {
        map.set(&format!("filler{i}"), value.clone(), 3600, None)
            .await
            .expect("fill");
    }
    let start = Instant::now();
    for i in 0..OPS {
        let key = format!("k{}", i % 10);
        map.set(&key, value.clone(), 3600, None).await.expect("set");
    }
    let sets = OPS as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for i in 0..OPS {
        let got = map.get(&format!("k{}", i % 10)).await.expect("get");
        assert!(got.is_some());
    }
    let gets = OPS as f64 / start.elapsed().as_secs_f64();
    (sets, gets)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let backends: [(&str, Option<(StorageKind, Durability)>); 4] = [
        ("local", None),
        (
            "shared, memory plugin",
            Some((StorageKind::Memory, Durability::Off)),
        ),
        (
            "shared, SQLite (off)",
            Some((StorageKind::Sqlite, Durability::Off)),
        ),
        (
            "shared, SQLite (full)",
            Some((StorageKind::Sqlite, Durability::Full)),
        ),
    ];
    println!("| backend | items held | set/s | get/s |");
    println!("|---|---:|---:|---:|");
    for (name, kind) in backends {
        for held in [0, 990] {
            let dir = tempfile::tempdir().expect("tempdir");
            let svc = service(kind, dir.path());
            let (sets, gets) = measure(&svc, held).await;
            println!("| {name} | {} | {sets:.0} | {gets:.0} |", held + 10);
        }
    }
}
