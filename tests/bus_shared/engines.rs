//! The engines' requests and release notices across nodes: two game
//! servers on two nodes (each its own DataStore service and bus) over one
//! plugin, on paused tokio time.

use std::sync::Arc;
use std::time::Duration;

use profilestore::bus::MessageBus;
use profilestore::clock::Clock;
use profilestore::datastore::{DataStoreConfig, DataStoreService};
use profilestore::engine::{EndReason, EngineConfig, StartOptions};
use profilestore::plugin_api::StoragePlugin;
use serde_json::json;

use super::node;
use super::support::world::{memory, World, T0};

/// A node: its own DataStore service on `plugin`, and `bus`.
fn node_world(plugin: &Arc<dyn StoragePlugin>, clock: &Clock, bus: MessageBus) -> World {
    World {
        clock: clock.clone(),
        datastores: DataStoreService::new(
            Arc::clone(plugin),
            clock.clone(),
            DataStoreConfig::default(),
        ),
        bus,
    }
}

/// Game server A on node 1 holds a profile; game server B on node 2 asks
/// for it. Returns how long B waited and the coins it found.
async fn handoff(one: &World, two: &World) -> (Duration, serde_json::Value) {
    let template = json!({"Coins": 0});
    let a = one
        .engine(1, "job-a", EngineConfig::default())
        .store("PlayerData", template.clone())
        .expect("store");
    let b = two
        .engine(1, "job-b", EngineConfig::default())
        .store("PlayerData", template)
        .expect("store");
    let held = a
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    held.update_data(|d| d["Coins"] = json!(5)).expect("active");
    let started = tokio::time::Instant::now();
    let taken = b
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("handed over");
    (started.elapsed(), taken.data()["Coins"].clone())
}

#[tokio::test(start_paused = true)]
async fn a_profile_held_on_node_1_is_handed_to_node_2_by_the_release_notice() {
    let plugin: Arc<dyn StoragePlugin> = memory();
    let clock = Clock::tokio(T0);
    let one = node_world(&plugin, &clock, node(&plugin, &clock).await);
    let two = node_world(&plugin, &clock, node(&plugin, &clock).await);
    let (waited, coins) = handoff(&one, &two).await;
    assert_eq!(coins, 5, "node 2 sees node 1's final save");
    eprintln!("cross-node handoff (simulated time): {waited:?}");
    let steal = EngineConfig::default().session_steal;
    assert!(
        waited < Duration::from_secs(1) && waited * 40 < steal,
        "the request and the release notice cross the bus: {waited:?} (steal {steal:?})"
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_shared_bus_the_same_handoff_waits_for_the_steal() {
    let plugin: Arc<dyn StoragePlugin> = memory();
    let clock = Clock::tokio(T0);
    let one = node_world(&plugin, &clock, World::new(clock.clone()).bus);
    let two = node_world(&plugin, &clock, World::new(clock.clone()).bus);
    let (waited, _) = handoff(&one, &two).await;
    assert!(
        waited >= EngineConfig::default().session_steal,
        "node 1 never hears node 2's request: {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_owner_on_node_1_ends_with_reason_external() {
    let plugin: Arc<dyn StoragePlugin> = memory();
    let clock = Clock::tokio(T0);
    let one = node_world(&plugin, &clock, node(&plugin, &clock).await);
    let two = node_world(&plugin, &clock, node(&plugin, &clock).await);
    let a = one
        .engine(1, "job-a", EngineConfig::default())
        .store("PlayerData", json!({}))
        .expect("store");
    let held = a
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    let reasons = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&reasons);
    held.on_last_save(move |r| seen.lock().expect("lock").push(*r));
    let b = two
        .engine(1, "job-b", EngineConfig::default())
        .store("PlayerData", json!({}))
        .expect("store");
    b.start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("handed over");
    held.ended().await;
    assert_eq!(*reasons.lock().expect("lock"), vec![EndReason::External]);
}
