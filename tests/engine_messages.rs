//! Messages (`MessageAsync` and `MessageHandler`) on simulated time.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use profilestore::engine::{EngineConfig, StartOptions};
use serde_json::{json, Value};
use support::world::World;

fn store(world: &World, job: &str, config: EngineConfig) -> profilestore::engine::ProfileStore {
    world
        .engine(7, job, config)
        .store("PlayerData", json!({"Coins": 0}))
        .expect("store")
}

async fn stored_messages(world: &World, key: &str) -> Value {
    let ds = world.data_store("PlayerData", "global");
    ds.get(key).await.expect("get").expect("stored").value["GlobalUpdates"].clone()
}

type Log = Arc<Mutex<Vec<Value>>>;

fn recorder(
    log: &Log,
    process: bool,
) -> impl Fn(&Value, &profilestore::engine::Processed) + Send + Sync + 'static {
    let log = Arc::clone(log);
    move |message, processed| {
        log.lock().expect("lock").push(message.clone());
        if process {
            processed.processed();
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_message_to_a_local_session_is_handled_and_removed_once_processed() {
    let world = World::simulated();
    let store = store(&world, "job-a", EngineConfig::default());
    let profile = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    let log = Log::default();
    profile.message_handler(recorder(&log, true));
    store
        .message("k", json!({"Gift": "Hat"}))
        .await
        .expect("message");
    assert_eq!(
        *log.lock().expect("lock"),
        vec![json!({"Gift": "Hat"})],
        "the local save found it"
    );
    assert_eq!(
        stored_messages(&world, "k").await,
        json!([1, [[1, {"Gift": "Hat"}]]]),
        "removed on the next save"
    );
    profile.save().await.expect("save");
    assert_eq!(stored_messages(&world, "k").await, json!([1, []]));
}

#[tokio::test(start_paused = true)]
async fn unprocessed_messages_reach_later_handlers_and_later_sessions() {
    let world = World::simulated();
    let store = store(&world, "job-a", EngineConfig::default());
    store
        .message("k", json!("before the profile existed"))
        .await
        .expect("message");
    let first = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    let ignoring = Log::default();
    first.message_handler(recorder(&ignoring, false));
    assert_eq!(
        ignoring.lock().expect("lock").len(),
        1,
        "known messages are offered at once"
    );
    let consuming = Log::default();
    first.message_handler(recorder(&consuming, true));
    assert_eq!(
        consuming.lock().expect("lock").len(),
        1,
        "a later handler gets what nobody processed"
    );
    store.message("k", json!("second")).await.expect("message");
    let third_handler_sees = Log::default();
    first.message_handler(recorder(&third_handler_sees, false));
    assert!(
        third_handler_sees.lock().expect("lock").is_empty(),
        "processed messages stop"
    );
    assert_eq!(ignoring.lock().expect("lock").len(), 2);
    assert_eq!(consuming.lock().expect("lock").len(), 2);
    first.end_session().await;
    assert_eq!(stored_messages(&world, "k").await, json!([2, []]));

    // A message nobody processes survives into the next session.
    store
        .message("k", json!("for later"))
        .await
        .expect("message");
    let second = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    let later = Log::default();
    second.message_handler(recorder(&later, true));
    assert_eq!(*later.lock().expect("lock"), vec![json!("for later")]);
}

#[tokio::test(start_paused = true)]
async fn a_message_sent_from_another_server_reaches_the_owner() {
    let world = World::simulated();
    let owner_store = store(&world, "job-owner", EngineConfig::default());
    let sender = store(&world, "job-sender", EngineConfig::default());
    let profile = owner_store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    let log = Log::default();
    profile.message_handler(recorder(&log, true));
    sender
        .message("k", json!({"Trade": 5}))
        .await
        .expect("message");
    for _ in 0..100 {
        if !log.lock().expect("lock").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*log.lock().expect("lock"), vec![json!({"Trade": 5})]);
}

#[tokio::test(start_paused = true)]
async fn the_queue_keeps_only_the_newest_messages() {
    let world = World::simulated();
    let store = store(
        &world,
        "job-a",
        EngineConfig {
            max_message_queue: 3,
            ..EngineConfig::default()
        },
    );
    for i in 1..=5 {
        store.message("k", json!(i)).await.expect("message");
    }
    assert_eq!(
        stored_messages(&world, "k").await,
        json!([5, [[3, 3], [4, 4], [5, 5]]])
    );
}
