//! Emulator snapshot benchmark: how long `POST /emulator/v1/snapshots`
//! (save) and `POST /emulator/v1/snapshots/{id}:restore` take, measured
//! on `profilestore::snapshots::Snapshots` (what those handlers call; the
//! HTTP round trip adds well under a millisecond on loopback), for 1 000
//! and 10 000 entries on each plugin.
//!
//! The data: N standard entries (`Player_<i>`, two versions each of a
//! ~500-byte JSON profile), N/10 ordered entries, one deleted data store
//! (a meta record) and 100 memory store items. Each round is what a test
//! suite does between two tests: save a snapshot, write 10 entries (the
//! "test"), restore it, delete it. Prints a Markdown table of the median
//! and worst of 5 rounds.
//!
//! Run: `cargo bench --bench snapshots`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use profilestore::clock::Clock;
use profilestore::datastore::{DataStoreConfig, DataStoreService, WriteOptions};
use profilestore::memorystore::MemoryStoreService;
use profilestore::plugin_api::{
    Commit, Durability, EntryId, Expect, NewVersion, OrderedExpect, OrderedWrite, StoragePlugin,
    Supersede,
};
use profilestore::snapshots::Snapshots;
use profilestore::storage::{open, StorageConfig, StorageKind};
use serde_json::json;

const ROUNDS: usize = 5;
const T0: i64 = 1_700_000_000_000;

fn profile(i: usize, save: usize) -> String {
    let inventory: Vec<String> = (0..20).map(|k| format!("item_{k}_{i}")).collect();
    json!({"Data": {"coins": i * 10 + save, "level": i % 90, "inventory": inventory},
           "MetaData": {"ProfileCreateTime": T0 / 1000, "SessionLoadCount": save}})
    .to_string()
}

/// Fills the plugin directly (fast), the same data on every plugin.
fn fill(p: &dyn StoragePlugin, n: usize) {
    for i in 0..n {
        for save in 0..2 {
            let c = Commit {
                entry: EntryId::new(1, "PlayerData", "global", format!("Player_{i}")),
                expect: Expect::Any,
                now_ms: T0 + (i * 2 + save) as i64,
                supersede: Supersede::Keep,
                version: NewVersion {
                    deleted: false,
                    value: profile(i, save),
                    user_ids: vec![i as i64],
                    metadata: "{}".into(),
                },
            };
            p.commit(&c).expect("commit");
        }
    }
    for i in 0..n / 10 {
        p.ordered_write(&OrderedWrite {
            entry: EntryId::new(1, "Coins", "global", format!("Player_{i}")),
            expect: OrderedExpect::Any,
            value: Some(i as i64),
        })
        .expect("ordered write");
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

struct Row {
    save: Vec<Duration>,
    restore: Vec<Duration>,
    bytes: u64,
}

async fn rounds(plugin: Arc<dyn StoragePlugin>) -> Row {
    let clock = Clock::system();
    let ds = DataStoreService::new(plugin, clock.clone(), DataStoreConfig::default());
    let memory = MemoryStoreService::new(clock.clone());
    for i in 0..100 {
        let map = memory.hash_map(1, "Sessions");
        map.set(&format!("k{i}"), json!({"server": i}), 3600)
            .await
            .expect("memory set");
    }
    let store = ds.data_store(1, "Old", "global").expect("store");
    store
        .set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    ds.delete_data_store(1, "Old").await.expect("delete store");
    let snapshots = Snapshots::new(ds.clone(), memory, clock);
    let players = ds.data_store(1, "PlayerData", "global").expect("store");
    let mut row = Row {
        save: Vec::new(),
        restore: Vec::new(),
        bytes: 0,
    };
    for round in 0..ROUNDS {
        let start = Instant::now();
        let info = snapshots.save("between-tests").await.expect("save");
        row.save.push(start.elapsed());
        row.bytes = info.bytes;
        for i in 0..10 {
            let value = json!({"test": round, "i": i});
            players
                .set(&format!("Player_{i}"), &value, &WriteOptions::default())
                .await
                .expect("test write");
        }
        let start = Instant::now();
        snapshots.restore("between-tests").await.expect("restore");
        row.restore.push(start.elapsed());
        snapshots.delete("between-tests").await.expect("delete");
        let back = players.get("Player_0").await.expect("get").expect("entry");
        assert!(back.value.get("test").is_none(), "restore undid the test");
    }
    row
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("| plugin | entries | versions | snapshot size | save p50 | save max | restore p50 | restore max | save + restore p50 |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let kinds = [
        (StorageKind::Memory, Durability::Off, "memory"),
        (StorageKind::Sled, Durability::Off, "sled (off)"),
        (StorageKind::Sqlite, Durability::Off, "sqlite (off)"),
        (StorageKind::Sqlite, Durability::Full, "sqlite (full)"),
    ];
    for (kind, durability, label) in kinds {
        for n in [1_000, 10_000] {
            let dir = tempfile::tempdir().expect("tempdir");
            let config = StorageConfig {
                kind,
                data_dir: dir.path().to_owned(),
                durability,
                postgres_url: None,
            };
            let plugin = open(&config).expect("open");
            fill(&*plugin, n);
            let row = runtime.block_on(rounds(plugin));
            let total: Vec<Duration> = row
                .save
                .iter()
                .zip(&row.restore)
                .map(|(a, b)| *a + *b)
                .collect();
            println!(
                "| {label} | {n} | {} | {:.1} MiB | {} | {} | {} | {} | {} |",
                n * 2,
                row.bytes as f64 / (1024.0 * 1024.0),
                ms(median(row.save.clone())),
                ms(*row.save.iter().max().expect("rounds")),
                ms(median(row.restore.clone())),
                ms(*row.restore.iter().max().expect("rounds")),
                ms(median(total)),
            );
        }
    }
}
