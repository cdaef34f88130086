//! Shared buses on PostgreSQL: the `LISTEN`/`NOTIFY` wake-up hint is used
//! (a message crosses nodes long before the poll interval), also when the
//! plugin's listener is not up yet at a node's first wait (the bus once
//! gave the hint up for good then, and every node polled). Skips without a
//! test-time PostgreSQL (unless `PROFILESTORE_REQUIRE_POSTGRES=1`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use profilestore::bus::{BusConfig, SharedBusConfig};
use profilestore::clock::Clock;
use profilestore::plugin_api::{Durability, StoragePlugin};
use profilestore_postgres::test_server::{open, TestDatabase};
use serde_json::json;

use super::{node_with, recv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_on_postgres_are_woken_by_notify_not_by_polling() {
    let Some(db) = TestDatabase::create() else {
        eprintln!("skipped: no test PostgreSQL (PROFILESTORE_TEST_POSTGRES_URL)");
        return;
    };
    let plugin: Arc<dyn StoragePlugin> = Arc::new(open(db.url(), Durability::Full));
    // Polling alone would take 30 s; each hint wait ends after 2 s at
    // most, so a node that uses the hint reads the log at least that often
    // (and at once when NOTIFY wakes it), while one that gave the hint up
    // waits for the poll.
    let slow = SharedBusConfig {
        poll_interval: Duration::from_secs(30),
        hint_wait: Duration::from_secs(2),
        ..SharedBusConfig::default()
    };
    let clock = Clock::system();
    let a = node_with(&plugin, &clock, BusConfig::default(), slow.clone()).await;
    let b = node_with(&plugin, &clock, BusConfig::default(), slow).await;
    let mut on_b = b.subscribe("t").expect("subscribe");
    for round in 0..3 {
        let sent = Instant::now();
        a.publish("t", &json!(round)).await.expect("publish");
        assert_eq!(recv(&mut on_b).await.data, json!(round));
        let took = sent.elapsed();
        eprintln!("cross-node delivery on PostgreSQL, round {round}: {took:?}");
        assert!(
            took < Duration::from_secs(10),
            "round {round} took {took:?}"
        );
    }
    a.shutdown().await;
    b.shutdown().await;
}
