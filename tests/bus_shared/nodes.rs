//! Shared buses on one memory plugin, on paused tokio time.

use std::sync::Arc;
use std::time::Duration;

use profilestore::bus::{BusConfig, BusError, SharedBusConfig, EPOCH_RECORD};
use profilestore::clock::Clock;
use profilestore::faults::FaultyPlugin;
use profilestore::plugin_api::StoragePlugin;
use serde_json::{json, Value};

use super::support::world::{memory, T0};
use super::{node, node_with, recv};

fn shared_plugin() -> Arc<dyn StoragePlugin> {
    memory()
}

/// Lets every poller run a few rounds (simulated time).
async fn settle() {
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_message_published_on_one_node_reaches_every_node_once_in_order() {
    let plugin = shared_plugin();
    let clock = Clock::tokio(T0);
    let (a, b) = (node(&plugin, &clock).await, node(&plugin, &clock).await);
    let mut on_a = a.subscribe("news").expect("subscribe");
    let mut on_b = b.subscribe("news").expect("subscribe");
    for n in 0..3 {
        a.publish("news", &json!({"n": n})).await.expect("publish");
    }
    for sub in [&mut on_a, &mut on_b] {
        for n in 0..3 {
            let m = recv(sub).await;
            assert_eq!(m.data, json!({"n": n}));
            assert_eq!(m.sent, T0 / 1000);
        }
    }
    settle().await;
    assert!(
        on_a.try_recv().is_none() && on_b.try_recv().is_none(),
        "once each"
    );
    assert_eq!(
        a.cursor_text(7),
        b.cursor_text(7),
        "one epoch for the cluster"
    );
    let epoch = plugin
        .record_read(EPOCH_RECORD)
        .expect("read")
        .expect("created");
    assert!(a.cursor_text(7).starts_with(&epoch.value));
}

#[tokio::test(start_paused = true)]
async fn with_publishers_on_both_nodes_every_subscriber_gets_every_message_once_in_log_order() {
    let plugin = shared_plugin();
    let clock = Clock::tokio(T0);
    let (a, b) = (node(&plugin, &clock).await, node(&plugin, &clock).await);
    let mut subs: Vec<_> = [&a, &a, &b, &b]
        .iter()
        .map(|bus| bus.subscribe("t").expect("subscribe"))
        .collect();
    let publishers: Vec<_> = [&a, &a, &b, &b]
        .into_iter()
        .enumerate()
        .map(|(p, bus)| {
            let bus = bus.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    bus.publish("t", &json!([p, i])).await.expect("publish");
                    if i % 7 == 0 {
                        tokio::time::sleep(Duration::from_millis(3)).await;
                    }
                }
            })
        })
        .collect();
    for p in publishers {
        p.await.expect("publisher");
    }
    let logged: Vec<Value> = plugin
        .log_read(0, 1000)
        .expect("log")
        .iter()
        .map(|m| serde_json::from_str(&m.data).expect("json"))
        .collect();
    assert_eq!(logged.len(), 200);
    for sub in &mut subs {
        let mut got = Vec::new();
        for _ in 0..200 {
            got.push(recv(sub).await.data);
        }
        assert_eq!(got, logged, "every message once, in log order");
        settle().await;
        assert!(sub.try_recv().is_none(), "nothing twice");
    }
}

#[tokio::test(start_paused = true)]
async fn a_cursor_given_out_by_one_node_resumes_on_another() {
    let plugin = shared_plugin();
    let clock = Clock::tokio(T0);
    let (a, b) = (node(&plugin, &clock).await, node(&plugin, &clock).await);
    for n in 1..=2 {
        a.publish("t", &json!(n)).await.expect("publish");
    }
    let (seen, after) = a.read_since("t", Some(0), 10).expect("read");
    assert_eq!(
        seen.len(),
        2,
        "a publish is readable on its node once acknowledged"
    );
    let text = a.cursor_text(after);
    for n in 3..=4 {
        b.publish("t", &json!(n)).await.expect("publish");
    }
    let cursor = b.parse_cursor(&text);
    let (rest, next) = b.read_since("t", cursor, 10).expect("read");
    let rest: Vec<Value> = rest.into_iter().map(|m| m.data).collect();
    assert_eq!(rest, vec![json!(3), json!(4)]);

    // A long-poll on A from B's cursor waits for the next message from B.
    let waiting = {
        let (a, text) = (a.clone(), b.cursor_text(next));
        tokio::spawn(async move {
            let cursor = a.parse_cursor(&text);
            a.wait_since("t", cursor, 10, Duration::from_secs(30)).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "nothing new yet");
    b.publish("t", &json!(5)).await.expect("publish");
    let (got, _) = waiting.await.expect("task").expect("wait");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, json!(5));
}

#[tokio::test(start_paused = true)]
async fn a_restarted_node_keeps_cursors_valid_and_delivers_only_new_messages() {
    let plugin = shared_plugin();
    let clock = Clock::tokio(T0);
    let (a, b) = (node(&plugin, &clock).await, node(&plugin, &clock).await);
    a.publish("t", &json!(1)).await.expect("publish");
    let (_, after) = a.read_since("t", Some(0), 10).expect("read");
    let text = a.cursor_text(after);
    a.shutdown().await;
    drop(a);
    b.publish("t", &json!(2)).await.expect("publish");

    let restarted = node(&plugin, &clock).await;
    let mut sub = restarted.subscribe("t").expect("subscribe");
    settle().await;
    let cursor = restarted.parse_cursor(&text);
    let (missed, _) = restarted.read_since("t", cursor, 10).expect("read");
    let missed: Vec<Value> = missed.into_iter().map(|m| m.data).collect();
    assert_eq!(
        missed,
        vec![json!(2)],
        "the old cursor resumes after what it read"
    );
    assert!(sub.try_recv().is_none(), "older messages are not delivered");
    b.publish("t", &json!(3)).await.expect("publish");
    assert_eq!(recv(&mut sub).await.data, json!(3));
}

#[tokio::test(start_paused = true)]
async fn a_storage_failure_on_publish_is_retryable_and_delivers_nothing() {
    let faulty = Arc::new(FaultyPlugin::new(memory()));
    let plugin: Arc<dyn StoragePlugin> = faulty.clone();
    let clock = Clock::tokio(T0);
    let (a, b) = (node(&plugin, &clock).await, node(&plugin, &clock).await);
    let mut sub = b.subscribe("t").expect("subscribe");
    faulty.fail_all(true);
    let err = a.publish("t", &json!("lost")).await.unwrap_err();
    assert!(matches!(err, BusError::Storage(_)), "{err:?}");
    assert!(err.to_string().contains("retry"), "{err}");
    // The pollers meet the outage too, and keep going.
    tokio::time::sleep(Duration::from_secs(30)).await;
    faulty.fail_all(false);
    settle().await;
    assert!(
        sub.try_recv().is_none(),
        "a failed publish delivers nothing"
    );
    assert_eq!(plugin.log_head().expect("head"), 0);
    a.publish("t", &json!("after")).await.expect("publish");
    assert_eq!(recv(&mut sub).await.data, json!("after"));
}

#[tokio::test(start_paused = true)]
async fn the_log_is_trimmed_to_the_retention_by_the_nodes() {
    let plugin = shared_plugin();
    let clock = Clock::tokio(T0);
    let config = BusConfig {
        retention: Duration::from_secs(20),
        ..BusConfig::default()
    };
    let shared = SharedBusConfig {
        trim_interval: Duration::from_secs(5),
        ..SharedBusConfig::default()
    };
    let a = node_with(&plugin, &clock, config.clone(), shared.clone()).await;
    let b = node_with(&plugin, &clock, config, shared).await;
    a.publish("t", &json!("old")).await.expect("publish");
    tokio::time::sleep(Duration::from_secs(15)).await;
    b.publish("t", &json!("new")).await.expect("publish");
    assert_eq!(
        plugin.log_read(0, 10).expect("log").len(),
        2,
        "both within 20 s"
    );
    tokio::time::sleep(Duration::from_secs(12)).await;
    let kept = plugin.log_read(0, 10).expect("log");
    assert_eq!(kept.len(), 1, "the old one is trimmed: {kept:?}");
    assert_eq!(kept[0].data, "\"new\"");
    let (retained, _) = b.read_since("t", Some(0), 10).expect("read");
    assert_eq!(retained.len(), 1, "the hubs keep their own retention");
    assert_eq!(
        plugin.log_head().expect("head"),
        2,
        "numbers are never reused"
    );
}

#[tokio::test(start_paused = true)]
async fn a_shut_down_bus_receives_nothing_more() {
    let plugin = shared_plugin();
    let clock = Clock::tokio(T0);
    let (a, b) = (node(&plugin, &clock).await, node(&plugin, &clock).await);
    let mut sub = a.subscribe("t").expect("subscribe");
    a.shutdown().await;
    b.publish("t", &json!(1)).await.expect("publish");
    settle().await;
    assert!(sub.try_recv().is_none());
}

#[tokio::test(start_paused = true)]
async fn limits_and_delivery_faults_apply_as_with_the_local_delivery() {
    let plugin = shared_plugin();
    let clock = Clock::tokio(T0);
    let a = node(&plugin, &clock).await;
    let big = json!("x".repeat(2000));
    assert!(matches!(
        a.publish("t", &big).await,
        Err(BusError::MessageTooLarge { .. })
    ));
    assert!(matches!(
        a.publish("", &json!(1)).await,
        Err(BusError::TopicEmpty)
    ));
    assert_eq!(
        plugin.log_head().expect("head"),
        0,
        "a refused publish is not logged"
    );
    let b = node(&plugin, &clock).await;
    let mut sub = b.subscribe("t").expect("subscribe");
    b.set_faults(profilestore::bus::BusFaults {
        drop_rate: 1.0,
        ..Default::default()
    });
    a.publish("t", &json!(1)).await.expect("publish");
    settle().await;
    assert!(sub.try_recv().is_none());
    assert_eq!(
        b.fault_counts().dropped,
        1,
        "node B's faults drop node B's deliveries"
    );
}
