//! The session host on simulated time: leases (a silent game server loses
//! its sessions as a crashed Roblox server does) and fencing.

mod support;

use std::time::Duration;

use profilestore::datastore::DataStoreService;
use profilestore::engine::EngineConfig;
use profilestore::sessions::{HostConfig, Patch, SessionError, SessionHost};
use serde_json::json;
use support::world::World;

fn host(lease: Duration) -> (SessionHost, DataStoreService) {
    let world = World::simulated();
    let config = HostConfig {
        engine: EngineConfig {
            // No auto-save inside the test window: only explicit saves count.
            auto_save_period: Duration::from_secs(100_000),
            ..EngineConfig::default()
        },
        lease,
    };
    (world.session_host(config), world.datastores)
}

fn coins(n: i64) -> Patch {
    Patch {
        data: Some(json!({ "Coins": n })),
        ..Patch::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_game_server_loses_its_sessions_without_a_final_save() {
    let (host, ds) = host(Duration::from_secs(60));
    let _reaper = host.spawn_reaper();
    let a = host.server(1, 7, "job-a").expect("server");
    let view = a
        .start("PlayerData", "p", json!({"Coins": 0}), false, None)
        .await
        .expect("start")
        .expect("profile");
    let count = view.load_count;
    let profile = a.session("PlayerData", "p", count).expect("session");
    a.patch(&profile, coins(5)).expect("patch");
    profile.save().await.expect("save");
    a.patch(&profile, coins(6)).expect("unsaved change");

    tokio::time::sleep(Duration::from_secs(59)).await;
    assert!(
        host.existing(1, "job-a").is_some(),
        "within the lease (and renewed)"
    );
    tokio::time::sleep(Duration::from_secs(80)).await;
    assert!(
        host.existing(1, "job-a").is_none(),
        "expired after a silent lease"
    );
    assert!(!profile.is_active(), "its sessions are gone");

    let b = host.server(1, 7, "job-b").expect("server");
    let taken = b
        .start(
            "PlayerData",
            "p",
            json!({"Coins": 0}),
            false,
            Some(Duration::from_secs(2000)),
        )
        .await
        .expect("start")
        .expect("stolen after the steal timers");
    assert_eq!(
        taken.data,
        json!({"Coins": 5}),
        "the unsaved change is lost, as in a crash"
    );
    let stored = ds
        .data_store(1, "PlayerData", "global")
        .expect("ds")
        .get("p")
        .await
        .expect("get")
        .expect("doc");
    assert_eq!(stored.value["MetaData"]["ActiveSession"][1], "job-b");
}

#[tokio::test(start_paused = true)]
async fn a_stale_fence_is_refused_and_writes_nothing() {
    let (host, _) = host(Duration::from_secs(60));
    let a = host.server(1, 7, "job-a").expect("server");
    let view = a
        .start("PlayerData", "p", json!({}), false, None)
        .await
        .expect("start")
        .expect("profile");
    let count = view.load_count;
    match a.session("PlayerData", "p", count + 1) {
        Err(SessionError::Stale { given, active, .. }) => {
            assert_eq!((given, active), (count + 1, count));
        }
        other => panic!("expected Stale, got {other:?}"),
    }
    match a.session("PlayerData", "never", 1) {
        Err(SessionError::Ended { key, given, .. }) => {
            assert_eq!((key.as_str(), given), ("never", 1));
        }
        other => panic!("expected Ended, got {other:?}"),
    }
    let profile = a.session("PlayerData", "p", count).expect("session");
    assert_eq!(profile.data(), json!({}));
    host.shutdown().await;
    assert!(!profile.is_active(), "shutdown ended it");
    assert!(matches!(
        host.server(1, 7, "job-c"),
        Err(SessionError::Closing)
    ));
}
