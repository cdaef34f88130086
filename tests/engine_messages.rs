//! Messages (`MessageAsync` and `MessageHandler`) on simulated time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use profilestore::bus::{BusConfig, MessageBus};
use profilestore::clock::Clock;
use profilestore::datastore::{DataStoreConfig, DataStoreService};
use profilestore::engine::{Engine, EngineConfig, StartOptions};
use profilestore_memory::MemoryPlugin;
use serde_json::{json, Value};

struct World {
    datastores: DataStoreService,
    bus: MessageBus,
}

impl World {
    fn new() -> Self {
        let clock = Clock::tokio(1_700_000_000_000);
        World {
            datastores: DataStoreService::new(
                Arc::new(MemoryPlugin::new()),
                clock.clone(),
                DataStoreConfig::default(),
            ),
            bus: MessageBus::new(clock, BusConfig::default()),
        }
    }

    fn store(&self, job: &str, config: EngineConfig) -> profilestore::engine::ProfileStore {
        Engine::new(self.datastores.clone(), self.bus.clone(), 1, 7, job, config)
            .store("PlayerData", json!({"Coins": 0}))
            .expect("store")
    }

    async fn stored_messages(&self, key: &str) -> Value {
        let ds = self
            .datastores
            .data_store(1, "PlayerData", "global")
            .expect("store");
        ds.get(key).await.expect("get").expect("stored").value["GlobalUpdates"].clone()
    }
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
    let world = World::new();
    let store = world.store("job-a", EngineConfig::default());
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
        world.stored_messages("k").await,
        json!([1, [[1, {"Gift": "Hat"}]]]),
        "removed on the next save"
    );
    profile.save().await.expect("save");
    assert_eq!(world.stored_messages("k").await, json!([1, []]));
}

#[tokio::test(start_paused = true)]
async fn unprocessed_messages_reach_later_handlers_and_later_sessions() {
    let world = World::new();
    let store = world.store("job-a", EngineConfig::default());
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
    assert_eq!(world.stored_messages("k").await, json!([2, []]));

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
    let world = World::new();
    let owner_store = world.store("job-owner", EngineConfig::default());
    let sender = world.store("job-sender", EngineConfig::default());
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
    let world = World::new();
    let store = world.store(
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
        world.stored_messages("k").await,
        json!([5, [[3, 3], [4, 4], [5, 5]]])
    );
}
