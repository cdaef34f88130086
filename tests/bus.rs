//! Black-box tests of the messaging bus on simulated time.

mod support;

use std::time::Duration;

use profilestore::bus::{BusConfig, BusError, BusFaults, MessageBus};
use serde_json::{json, Value};
use support::world::{World, T0};

fn bus_with(config: BusConfig) -> MessageBus {
    World::simulated_with_bus(config).bus
}

fn bus() -> MessageBus {
    bus_with(BusConfig::default())
}

/// A JSON string whose compact encoding is exactly `bytes` long.
fn message_of(bytes: usize) -> Value {
    Value::String("x".repeat(bytes - 2))
}

#[tokio::test(start_paused = true)]
async fn delivers_data_with_the_send_time() {
    let bus = bus();
    let mut sub = bus.subscribe("PS_abc").expect("subscribe");
    tokio::time::advance(Duration::from_secs(5)).await;
    bus.publish("PS_abc", &json!({"LoadCount": 3, "EndSession": true}))
        .await
        .expect("publish");
    let m = sub.recv().await.expect("message");
    assert_eq!(m.data, json!({"LoadCount": 3, "EndSession": true}));
    assert_eq!(m.sent, T0 / 1000 + 5);
    assert_eq!(sub.topic(), "PS_abc");
}

#[tokio::test(start_paused = true)]
async fn topic_limits_at_the_edges() {
    let bus = bus();
    assert!(bus.publish(&"t".repeat(80), &json!(1)).await.is_ok());
    assert!(matches!(
        bus.publish(&"t".repeat(81), &json!(1)).await,
        Err(BusError::TopicTooLong {
            chars: 81,
            limit: 80
        })
    ));
    assert!(matches!(
        bus.publish("", &json!(1)).await,
        Err(BusError::TopicEmpty)
    ));
    // Characters, not bytes: 80 three-byte characters are allowed.
    assert!(bus.subscribe(&"€".repeat(80)).is_ok());
    assert!(bus.subscribe(&"€".repeat(81)).is_err());
}

#[tokio::test(start_paused = true)]
async fn message_limits_at_the_edges() {
    let bus = bus();
    let mut sub = bus.subscribe("t").expect("subscribe");
    bus.publish("t", &message_of(1024))
        .await
        .expect("1024 bytes fit");
    match bus.publish("t", &message_of(1025)).await {
        Err(
            e @ BusError::MessageTooLarge {
                bytes: 1025,
                limit: 1024,
            },
        ) => {
            assert!(e.to_string().contains("1024"), "{e}");
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    assert_eq!(sub.recv().await.expect("first").data, message_of(1024));
    assert!(
        sub.try_recv().is_none(),
        "a rejected message is not delivered"
    );
    let (kept, _) = bus.read_since("t", Some(0), 10).expect("read");
    assert_eq!(kept.len(), 1, "a rejected message is not retained");
}

#[tokio::test(start_paused = true)]
async fn fans_out_in_order_and_only_to_its_topic() {
    let bus = bus();
    let mut a = bus.subscribe("t").expect("a");
    let mut b = bus.subscribe("t").expect("b");
    let mut other = bus.subscribe("u").expect("other");
    for i in 0..5 {
        bus.publish("t", &json!(i)).await.expect("publish");
    }
    for sub in [&mut a, &mut b] {
        let got: Vec<Value> = (0..5)
            .map(|_| sub.try_recv().expect("message").data)
            .collect();
        assert_eq!(got, (0..5).map(|i| json!(i)).collect::<Vec<_>>());
    }
    assert!(other.try_recv().is_none());
}

#[tokio::test(start_paused = true)]
async fn no_delivery_of_earlier_messages() {
    let bus = bus();
    bus.publish("t", &json!("early")).await.expect("publish");
    let mut sub = bus.subscribe("t").expect("subscribe");
    bus.publish("t", &json!("late")).await.expect("publish");
    assert_eq!(sub.recv().await.expect("message").data, json!("late"));
    assert!(sub.try_recv().is_none());
}

#[tokio::test(start_paused = true)]
async fn dropping_a_subscription_disconnects_and_frees_the_topic() {
    let bus = bus_with(BusConfig {
        retention_messages: 0,
        ..BusConfig::default()
    });
    let sub = bus.subscribe("t").expect("subscribe");
    assert_eq!(bus.topic_count(), 1);
    drop(sub);
    assert_eq!(bus.topic_count(), 0);
    bus.publish("t", &json!(1))
        .await
        .expect("publish to nobody");
}

#[tokio::test(start_paused = true)]
async fn a_slow_subscriber_loses_its_oldest_messages() {
    let bus = bus_with(BusConfig {
        subscriber_queue: 3,
        ..BusConfig::default()
    });
    let mut slow = bus.subscribe("t").expect("subscribe");
    let mut fast = bus.subscribe("t").expect("subscribe");
    for i in 0..5 {
        bus.publish("t", &json!(i))
            .await
            .expect("publish never blocks");
        fast.recv().await.expect("fast keeps up");
    }
    assert_eq!(slow.lagged(), 2);
    let got: Vec<Value> = std::iter::from_fn(|| slow.try_recv().map(|m| m.data)).collect();
    assert_eq!(got, vec![json!(2), json!(3), json!(4)]);
    assert_eq!(fast.lagged(), 0);
}

#[tokio::test(start_paused = true)]
async fn cursor_reads_resume_without_repeats() {
    let bus = bus();
    let (none, start) = bus.read_since("t", None, 10).expect("read");
    assert!(none.is_empty());
    for i in 0..5 {
        bus.publish("t", &json!(i)).await.expect("publish");
    }
    let (first, c1) = bus.read_since("t", Some(start), 3).expect("read");
    assert_eq!(
        first.iter().map(|m| m.data.clone()).collect::<Vec<_>>(),
        vec![json!(0), json!(1), json!(2)]
    );
    let (rest, c2) = bus.read_since("t", Some(c1), 10).expect("read");
    assert_eq!(rest.len(), 2);
    let (nothing, c3) = bus.read_since("t", Some(c2), 10).expect("read");
    assert!(nothing.is_empty());
    assert_eq!(c3, c2);
    // `None` answers at once with the current end.
    assert_eq!(bus.read_since("t", None, 10).expect("read").1, c2);
}

#[tokio::test(start_paused = true)]
async fn wait_since_times_out_or_wakes_on_publish() {
    let bus = bus();
    let (_, cursor) = bus.read_since("t", None, 10).expect("read");
    let (empty, same) = bus
        .wait_since("t", Some(cursor), 10, Duration::from_secs(25))
        .await
        .expect("wait");
    assert!(empty.is_empty());
    assert_eq!(same, cursor);

    let waiter = {
        let bus = bus.clone();
        tokio::spawn(async move {
            bus.wait_since("t", Some(cursor), 10, Duration::from_secs(25))
                .await
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiter.is_finished());
    bus.publish("t", &json!("wake")).await.expect("publish");
    let (got, next) = waiter.await.expect("task").expect("wait");
    assert_eq!(got[0].data, json!("wake"));
    assert!(next > cursor);
}

#[tokio::test(start_paused = true)]
async fn retention_by_count_and_by_age() {
    let bus = bus_with(BusConfig {
        retention_messages: 3,
        retention: Duration::from_secs(60),
        ..BusConfig::default()
    });
    for i in 0..5 {
        bus.publish("t", &json!(i)).await.expect("publish");
    }
    let (kept, _) = bus.read_since("t", Some(0), 10).expect("read");
    assert_eq!(
        kept.iter().map(|m| m.data.clone()).collect::<Vec<_>>(),
        vec![json!(2), json!(3), json!(4)]
    );
    tokio::time::advance(Duration::from_secs(61)).await;
    let (aged, _) = bus.read_since("t", Some(0), 10).expect("read");
    assert!(aged.is_empty(), "messages older than the window are gone");
}

#[tokio::test(start_paused = true)]
async fn faults_drop_or_delay_delivery_reproducibly() {
    let bus = bus();
    let mut sub = bus.subscribe("t").expect("subscribe");
    bus.set_faults(BusFaults {
        drop_rate: 1.0,
        ..BusFaults::default()
    });
    bus.publish("t", &json!("lost")).await.expect("publish");
    assert!(sub.try_recv().is_none());
    bus.set_faults(BusFaults {
        delay: Some(Duration::from_secs(2)),
        ..BusFaults::default()
    });
    bus.publish("t", &json!("late")).await.expect("publish");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(sub.try_recv().is_none(), "not yet");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sub.try_recv().expect("delivered after the delay").data,
        json!("late")
    );
    bus.set_faults(BusFaults::default());
    bus.publish("t", &json!("ok")).await.expect("publish");
    assert_eq!(sub.try_recv().expect("no faults").data, json!("ok"));

    // The same seed drops the same messages.
    let pattern = |seed| async move {
        let bus = self::bus();
        let mut sub = bus.subscribe("t").expect("subscribe");
        bus.set_faults(BusFaults {
            drop_rate: 0.5,
            delay: None,
            seed,
        });
        let mut got = Vec::new();
        for i in 0..40 {
            bus.publish("t", &json!(i)).await.expect("publish");
            got.push(sub.try_recv().is_some());
        }
        got
    };
    let a = pattern(7).await;
    assert_eq!(a, pattern(7).await);
    assert!(a.iter().any(|d| *d) && a.iter().any(|d| !*d));
}
