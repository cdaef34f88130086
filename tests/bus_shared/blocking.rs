//! Shared buses on a blocking plugin (SQLite, which has no wake-up hint)
//! on a multi-thread runtime and real time: plugin calls leave the async
//! workers, and the poller falls back to its own schedule.

use std::sync::Arc;
use std::time::{Duration, Instant};

use profilestore::clock::Clock;
use profilestore::plugin_api::{Durability, StoragePlugin};
use profilestore::storage::{open, StorageConfig, StorageKind};
use serde_json::json;

use super::{node, recv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_on_one_sqlite_file_deliver_to_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = StorageConfig {
        kind: StorageKind::Sqlite,
        data_dir: dir.path().to_owned(),
        durability: Durability::Off,
        postgres_url: None,
    };
    let Ok(plugin) = open(&config) else {
        eprintln!("sqlite is not compiled in; skipped");
        return;
    };
    let plugin: Arc<dyn StoragePlugin> = plugin;
    assert!(plugin.is_blocking());
    let clock = Clock::system();
    let (a, b) = (node(&plugin, &clock).await, node(&plugin, &clock).await);
    let mut on_b = b.subscribe("t").expect("subscribe");
    let mut on_a = a.subscribe("t").expect("subscribe");
    let sent = Instant::now();
    a.publish("t", &json!("hi")).await.expect("publish");
    assert_eq!(recv(&mut on_b).await.data, json!("hi"));
    let latency = sent.elapsed();
    assert_eq!(recv(&mut on_a).await.data, json!("hi"));
    eprintln!("cross-node delivery on SQLite: {latency:?}");
    assert!(latency < Duration::from_secs(5), "{latency:?}");
    a.shutdown().await;
    b.shutdown().await;
}
