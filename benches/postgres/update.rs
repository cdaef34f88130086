//! Part 1 of the PostgreSQL bench: `DataStore::update` on the PostgreSQL
//! plugin against the cheapest way to put the same bytes in PostgreSQL, a
//! raw `INSERT ... ON CONFLICT (k) DO UPDATE` into a one-table schema
//! through plain `postgres::Client`s, measured in the same run, at the same
//! concurrency (one client per concurrent task, each task on its own share
//! of the keys) and the same `synchronous_commit` (`full` = on, `normal` =
//! off). Each DataStore cell gets a fresh database; each raw cell a fresh
//! table in one raw database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use profilestore::clock::Clock;
use profilestore::datastore::{DataStoreConfig, DataStoreService, Transform, WriteOptions};
use profilestore::plugin_api::{Durability, StoragePlugin};
use profilestore_postgres::test_server::{self, TestDatabase};

use super::profile::{raw_bytes, sample_value};
use super::Budget;

/// `(keys, concurrent tasks)` of each row, per durability.
const SHAPES: [(usize, usize); 3] = [(1, 1), (1000, 1), (1000, 8)];

/// Keys of task `task` of `tasks` among `keys` keys.
fn share(keys: usize, tasks: usize, task: usize) -> Vec<String> {
    (0..keys)
        .filter(|k| k % tasks == task)
        .map(|k| format!("Player_{k}"))
        .collect()
}

async fn datastore_updates(
    plugin: Arc<dyn StoragePlugin>,
    (keys, tasks): (usize, usize),
    time: Duration,
) -> f64 {
    let service = DataStoreService::new(plugin, Clock::system(), DataStoreConfig::default());
    let store = service.data_store(1, "bench", "global").expect("store");
    let start = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let store = store.clone();
            let names = share(keys, tasks, task);
            tokio::spawn(async move {
                let mut n = 0usize;
                while start.elapsed() < time {
                    store
                        .update(&names[n % names.len()], |old, _| {
                            let coins = old.and_then(|v| v["Data"]["Coins"].as_i64()).unwrap_or(0);
                            Transform::Write {
                                value: sample_value(coins + 1),
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
                n
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.await.expect("task");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// One raw client's loop: upserts over its keys until `time` has passed.
fn raw_loop(
    url: &str,
    table: &str,
    sync: &str,
    names: &[String],
    start: Instant,
    time: Duration,
) -> usize {
    let mut client = test_server::raw_client(url);
    client
        .batch_execute(&format!("SET synchronous_commit = {sync}"))
        .expect("synchronous_commit");
    let stmt = client
        .prepare(&format!(
            "INSERT INTO {table} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
        ))
        .expect("prepare");
    let mut n = 0usize;
    while start.elapsed() < time {
        let key = &names[n % names.len()];
        client
            .execute(&stmt, &[key, &raw_bytes(n as i64)])
            .expect("upsert");
        n += 1;
    }
    n
}

fn raw_upserts(
    url: &str,
    table: &str,
    durability: Durability,
    (keys, tasks): (usize, usize),
    time: Duration,
) -> f64 {
    test_server::raw_client(url)
        .batch_execute(&format!(
            "CREATE TABLE {table} (k TEXT PRIMARY KEY, v BYTEA NOT NULL)"
        ))
        .expect("raw table");
    let sync = if durability == Durability::Full {
        "on"
    } else {
        "off"
    };
    let start = Instant::now();
    let total: usize = std::thread::scope(|s| {
        let threads: Vec<_> = (0..tasks)
            .map(|task| {
                let names = share(keys, tasks, task);
                s.spawn(move || raw_loop(url, table, sync, &names, start, time))
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("raw client"))
            .sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

/// Prints the update table.
pub(crate) fn run(budget: Budget) {
    let Some(raw_db) = TestDatabase::create() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("| durability (synchronous_commit) | keys | concurrent | DataStore::update ops/s | raw upsert ops/s | update / raw |");
    println!("|---|---:|---:|---:|---:|---:|");
    for durability in [Durability::Full, Durability::Normal] {
        for (row, shape) in SHAPES.into_iter().enumerate() {
            let db = TestDatabase::create().expect("a database");
            let plugin: Arc<dyn StoragePlugin> = Arc::new(test_server::open(db.url(), durability));
            let ours =
                runtime.block_on(datastore_updates(Arc::clone(&plugin), shape, budget.update));
            drop(plugin);
            let table = format!("raw_{durability:?}_{row}").to_lowercase();
            let raw = raw_upserts(raw_db.url(), &table, durability, shape, budget.update);
            let mode = match durability {
                Durability::Full => "full (on)",
                _ => "normal (off)",
            };
            println!(
                "| {mode} | {} | {} | {ours:.0} | {raw:.0} | {:.0} % |",
                shape.0,
                shape.1,
                100.0 * ours / raw
            );
        }
    }
}
