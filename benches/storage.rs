//! Storage benchmark: `DataStore::update` ops/s on each plugin and
//! durability mode, each beside the plugin's own raw write of the same bytes
//! measured in the same run (raw sled insert+flush, raw SQLite upsert with
//! the same pragmas). Prints a Markdown table.
//!
//! Run: `cargo bench --bench storage` (add `-- --quick` for a short run,
//! `-- --no-raw` to skip the raw baselines, e.g. under a profiler; `-- sled`,
//! `-- sqlite`, `-- full`, `-- normal`, `-- off` pick rows).
//! Figures are ratios against the raw baseline of the same run, so they
//! compare across machines; absolute numbers depend on the disk's fsync.

#[path = "common/profile.rs"]
mod profile;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use profile::{raw_bytes, sample_value};
use profilestore::clock::Clock;
use profilestore::datastore::{DataStoreConfig, DataStoreService, Transform, WriteOptions};
use profilestore::plugin_api::{Durability, StoragePlugin};
use profilestore::storage::{open, StorageConfig, StorageKind};

const MANY_KEYS: usize = 1000;

struct Budget {
    ops: usize,
    time: Duration,
}

impl Budget {
    fn done(&self, n: usize, start: Instant) -> bool {
        n >= self.ops || start.elapsed() >= self.time
    }
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

async fn bench_update(plugin: Arc<dyn StoragePlugin>, keys: usize, budget: &Budget) -> f64 {
    let service = DataStoreService::new(plugin, Clock::system(), DataStoreConfig::default());
    let store = service.data_store(1, "bench", "global").expect("store");
    let key_names: Vec<String> = (0..keys).map(|i| format!("Player_{i}")).collect();
    let start = Instant::now();
    let mut n = 0;
    while !budget.done(n, start) {
        let key = &key_names[n % keys];
        store
            .update(key, |old, _| {
                let counter = old.and_then(|v| v["Data"]["Coins"].as_i64()).unwrap_or(0);
                Transform::Write {
                    value: sample_value(counter + 1),
                    options: WriteOptions {
                        user_ids: vec![2_312_310],
                        ..WriteOptions::default()
                    },
                }
            })
            .await
            .expect("update");
        n += 1;
    }
    rate(n, start.elapsed())
}

fn bench_raw_sled(dir: &Path, durability: Durability, keys: usize, budget: &Budget) -> f64 {
    let mut config = sled::Config::new().path(dir);
    config = match durability {
        Durability::Normal => config.flush_every_ms(Some(500)),
        _ => config.flush_every_ms(None),
    };
    let db = config.open().expect("raw sled");
    let tree = db.open_tree("raw").expect("tree");
    let start = Instant::now();
    let mut n = 0;
    while !budget.done(n, start) {
        let key = format!("Player_{}", n % keys);
        tree.insert(key.as_bytes(), raw_bytes(n as i64))
            .expect("insert");
        if durability == Durability::Full {
            tree.flush().expect("flush");
        }
        n += 1;
    }
    rate(n, start.elapsed())
}

fn bench_raw_sqlite(file: &Path, durability: Durability, keys: usize, budget: &Budget) -> f64 {
    let conn = rusqlite::Connection::open(file).expect("raw sqlite");
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
        Durability::Off => "OFF",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync};
         CREATE TABLE IF NOT EXISTS raw (k TEXT PRIMARY KEY, v BLOB NOT NULL);"
    ))
    .expect("pragmas");
    let mut stmt = conn
        .prepare(
            "INSERT INTO raw (k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
        )
        .expect("prepare");
    let start = Instant::now();
    let mut n = 0;
    while !budget.done(n, start) {
        let key = format!("Player_{}", n % keys);
        stmt.execute(rusqlite::params![key, raw_bytes(n as i64)])
            .expect("upsert");
        n += 1;
    }
    rate(n, start.elapsed())
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let no_raw = std::env::args().any(|a| a == "--no-raw");
    // Optional filters: `cargo bench --bench storage -- sqlite off`.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let budget = if quick {
        Budget {
            ops: 200,
            time: Duration::from_millis(300),
        }
    } else {
        Budget {
            ops: 20_000,
            time: Duration::from_secs(2),
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    println!("| plugin | durability | keys | update ops/s | raw ops/s | update / raw |");
    println!("|---|---|---|---:|---:|---:|");
    let mem = runtime.block_on(bench_update(
        Arc::new(profilestore_memory::MemoryPlugin::new()),
        1,
        &budget,
    ));
    println!("| memory | - | 1 | {mem:.0} | - | - |");

    for kind in [StorageKind::Sled, StorageKind::Sqlite] {
        let picked = |names: &[&str], name: &str| {
            let asked: Vec<&String> = only
                .iter()
                .filter(|o| names.contains(&o.as_str()))
                .collect();
            asked.is_empty() || asked.iter().any(|o| *o == name)
        };
        if !picked(&["sled", "sqlite"], kind.as_str()) {
            continue;
        }
        for durability in [Durability::Full, Durability::Normal, Durability::Off] {
            let name = format!("{durability:?}").to_lowercase();
            if !picked(&["full", "normal", "off"], &name) {
                continue;
            }
            for keys in [1, MANY_KEYS] {
                let ours_dir = tempfile::tempdir().expect("tempdir");
                let raw_dir = tempfile::tempdir().expect("tempdir");
                let config = StorageConfig {
                    kind,
                    data_dir: ours_dir.path().to_owned(),
                    durability,
                    postgres_url: None,
                };
                let plugin = open(&config).expect("open plugin");
                let ours = runtime.block_on(bench_update(plugin, keys, &budget));
                let raw = match kind {
                    _ if no_raw => f64::NAN,
                    StorageKind::Sled => bench_raw_sled(raw_dir.path(), durability, keys, &budget),
                    _ => bench_raw_sqlite(
                        &raw_dir.path().join("raw.sqlite3"),
                        durability,
                        keys,
                        &budget,
                    ),
                };
                let durability = format!("{durability:?}").to_lowercase();
                println!(
                    "| {kind} | {durability} | {keys} | {ours:.0} | {raw:.0} | {:.0} % |",
                    100.0 * ours / raw
                );
            }
        }
    }
}
