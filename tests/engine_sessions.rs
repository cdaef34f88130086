//! Sessions across several simulated game servers sharing one DataStore and
//! one bus, on paused tokio time: a 40 s steal or a 630 s assume-dead runs in
//! milliseconds.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use profilestore::bus::BusFaults;
use profilestore::datastore::{ListVersionsOptions, WriteOptions};
use profilestore::engine::{EndReason, Engine, EngineConfig, EngineError, StartOptions};
use serde_json::{json, Value};
use support::world::{World, T0};

fn game_server(world: &World, job: &str, config: EngineConfig) -> Engine {
    world.engine(4242, job, config)
}

async fn stored(world: &World, key: &str) -> Value {
    let ds = world.data_store("PlayerData", "global");
    ds.get(key).await.expect("get").expect("stored").value
}

async fn writes(world: &World, key: &str) -> usize {
    let ds = world.data_store("PlayerData", "global");
    ds.list_versions(key, &ListVersionsOptions::default())
        .await
        .expect("list")
        .items
        .len()
}

fn template() -> Value {
    json!({"Coins": 0, "Items": []})
}

#[tokio::test(start_paused = true)]
async fn start_end_cycles_then_removal() {
    let world = World::simulated();
    let server = game_server(&world, "job-a", EngineConfig::default());
    let store = server.store("PlayerData", template()).expect("store");
    for cycle in 1..=5u64 {
        let profile = store
            .start_session("Player_1", StartOptions::default())
            .await
            .expect("start")
            .expect("profile");
        assert_eq!(profile.session_load_count(), cycle);
        profile
            .update_data(|d| d["Coins"] = json!(cycle * 10))
            .expect("active");
        profile.end_session().await;
        assert!(!profile.is_active());
        let stored = stored(&world, "Player_1").await;
        assert!(
            stored["MetaData"].get("ActiveSession").is_none(),
            "released"
        );
        assert_eq!(stored["Data"]["Coins"], json!(cycle * 10));
    }
    let ds = world.data_store("PlayerData", "global");
    ds.remove("Player_1").await.expect("remove");
    let fresh = store
        .start_session("Player_1", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    assert_eq!(
        fresh.data(),
        template(),
        "a removed profile starts from the template"
    );
}

#[tokio::test(start_paused = true)]
async fn starting_twice_is_an_error_but_start_end_start_is_fine() {
    let world = World::simulated();
    let store = game_server(&world, "job-a", EngineConfig::default())
        .store("PlayerData", template())
        .expect("store");
    let first = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    assert!(matches!(
        store.start_session("k", StartOptions::default()).await,
        Err(EngineError::AlreadyActive { .. })
    ));
    first.end_session().await;
    assert!(store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .is_some());
}

#[tokio::test(start_paused = true)]
async fn of_three_concurrent_starts_only_the_last_gets_the_profile() {
    let world = World::simulated();
    let store = game_server(&world, "job-a", EngineConfig::default())
        .store("PlayerData", template())
        .expect("store");
    let (a, b, c) = tokio::join!(
        store.start_session("k", StartOptions::default()),
        store.start_session("k", StartOptions::default()),
        store.start_session("k", StartOptions::default()),
    );
    assert!(a.expect("no error").is_none());
    assert!(b.expect("no error").is_none());
    assert!(c.expect("no error").is_some());
    assert_eq!(
        writes(&world, "k").await,
        1,
        "one DataStore call for all three"
    );
}

#[tokio::test(start_paused = true)]
async fn data_cannot_change_after_the_session_ended() {
    let world = World::simulated();
    let store = game_server(&world, "job-a", EngineConfig::default())
        .store("PlayerData", template())
        .expect("store");
    let profile = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    profile.end_session().await;
    assert!(matches!(
        profile.update_data(|d| d["Coins"] = json!(1)),
        Err(EngineError::SessionInactive(_))
    ));
    assert!(matches!(
        profile.save().await,
        Err(EngineError::SessionInactive(_))
    ));
}

async fn handoff(release_notice: bool) -> Duration {
    let world = World::simulated();
    let config = EngineConfig {
        release_notice,
        ..EngineConfig::default()
    };
    let a = game_server(&world, "job-a", config.clone())
        .store("PlayerData", template())
        .expect("store");
    let b = game_server(&world, "job-b", config)
        .store("PlayerData", template())
        .expect("store");
    let held = a
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    held.update_data(|d| d["Coins"] = json!(77))
        .expect("active");
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&reasons);
    held.on_last_save(move |r| seen.lock().expect("lock").push(*r));
    let started = tokio::time::Instant::now();
    let taken = b
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("handed over");
    let elapsed = started.elapsed();
    assert_eq!(
        taken.data()["Coins"],
        77,
        "the new owner sees the old owner's final save"
    );
    assert_eq!(taken.session_load_count(), 2);
    held.ended().await;
    assert_eq!(*reasons.lock().expect("lock"), vec![EndReason::External]);
    elapsed
}

#[tokio::test(start_paused = true)]
async fn a_force_load_request_ends_the_owner_with_reason_external() {
    let with_notice = handoff(true).await;
    assert!(
        with_notice < Duration::from_secs(1),
        "the release notice wakes the waiter at once: {with_notice:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_release_notice_the_waiter_falls_back_to_its_timers() {
    let without = handoff(false).await;
    assert!(
        (Duration::from_secs(5)..Duration::from_secs(6)).contains(&without),
        "FIRST_LOAD_REPEAT decides: {without:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_owner_that_never_answers_loses_the_profile_after_the_steal_time() {
    let world = World::simulated();
    let a = game_server(&world, "job-a", EngineConfig::default())
        .store("PlayerData", template())
        .expect("store");
    let b = game_server(&world, "job-b", EngineConfig::default())
        .store("PlayerData", template())
        .expect("store");
    let held = a
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    let last_saves = Arc::new(AtomicUsize::new(0));
    let ends = Arc::new(AtomicUsize::new(0));
    let (l, e) = (Arc::clone(&last_saves), Arc::clone(&ends));
    held.on_last_save(move |_| {
        l.fetch_add(1, Ordering::SeqCst);
    });
    held.on_session_end(move |_| {
        e.fetch_add(1, Ordering::SeqCst);
    });
    world.bus.set_faults(BusFaults {
        drop_rate: 1.0,
        ..BusFaults::default()
    });
    let started = tokio::time::Instant::now();
    let taken = b
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("stolen");
    let elapsed = started.elapsed();
    assert!(
        (Duration::from_secs(45)..Duration::from_secs(46)).contains(&elapsed),
        "5 s + 4 x 10 s, then the steal: {elapsed:?}"
    );
    assert_eq!(taken.session_load_count(), 2);
    // The old owner finds out on its next save and ends without a final save.
    held.save().await.expect("save call");
    held.ended().await;
    assert!(!held.is_active());
    assert_eq!(
        last_saves.load(Ordering::SeqCst),
        0,
        "no last-save event for a stolen session"
    );
    assert_eq!(ends.load(Ordering::SeqCst), 1);
    assert_eq!(
        stored(&world, "k").await["MetaData"]["ActiveSession"][1],
        "job-b"
    );
}

#[tokio::test(start_paused = true)]
async fn a_crashed_owner_is_assumed_dead_after_630_seconds() {
    let world = World::simulated();
    let ds = world.data_store("PlayerData", "global");
    let now_secs = T0 / 1000;
    let crashed = |last_update: i64| {
        json!({
            "Data": {"Coins": 5}, "RobloxMetaData": [], "UserIds": [], "GlobalUpdates": [0, []],
            "MetaData": {"ProfileCreateTime": 1, "SessionLoadCount": 3, "LastUpdate": last_update,
                         "ActiveSession": [4242, "job-crashed", "DEAD-GUID"], "MetaTags": []}
        })
    };
    ds.set("dead", &crashed(now_secs - 631), &WriteOptions::default())
        .await
        .expect("seed");
    ds.set("alive", &crashed(now_secs - 600), &WriteOptions::default())
        .await
        .expect("seed");
    world.bus.set_faults(BusFaults {
        drop_rate: 1.0,
        ..BusFaults::default()
    });
    let store = game_server(&world, "job-b", EngineConfig::default())
        .store("PlayerData", template())
        .expect("store");
    let started = tokio::time::Instant::now();
    let taken = store
        .start_session("dead", StartOptions::default())
        .await
        .expect("start")
        .expect("taken");
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "taken on the first attempt"
    );
    assert_eq!(taken.data()["Coins"], 5);
    assert_eq!(taken.session_load_count(), 4);
    // 600 s old is not dead yet: the waiter has to wait for the steal.
    let started = tokio::time::Instant::now();
    store
        .start_session("alive", StartOptions::default())
        .await
        .expect("start")
        .expect("stolen");
    assert!(started.elapsed() >= Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn a_foreign_owner_written_into_the_document_ends_our_session_without_a_final_save() {
    let world = World::simulated();
    let store = game_server(&world, "job-a", EngineConfig::default())
        .store("PlayerData", template())
        .expect("store");
    let profile = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    let last_saves = Arc::new(AtomicUsize::new(0));
    let l = Arc::clone(&last_saves);
    profile.on_last_save(move |_| {
        l.fetch_add(1, Ordering::SeqCst);
    });
    let ds = world.data_store("PlayerData", "global");
    let mut doc = stored(&world, "k").await;
    doc["MetaData"]["ActiveSession"] = json!([9, "job-intruder", "INTRUDER"]);
    ds.set("k", &doc, &WriteOptions::default())
        .await
        .expect("inject");
    profile
        .update_data(|d| d["Coins"] = json!(999))
        .expect("still active locally");
    profile.save().await.expect("save call");
    profile.ended().await;
    assert_eq!(last_saves.load(Ordering::SeqCst), 0);
    let stored = stored(&world, "k").await;
    assert_eq!(stored["MetaData"]["ActiveSession"][1], "job-intruder");
    assert_eq!(
        stored["Data"]["Coins"], 0,
        "nothing written over the new owner"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_every_session_with_a_final_save() {
    let world = World::simulated();
    let server = game_server(&world, "job-a", EngineConfig::default());
    let store = server.store("PlayerData", template()).expect("store");
    let reasons = Arc::new(Mutex::new(Vec::new()));
    for key in ["p1", "p2", "p3"] {
        let p = store
            .start_session(key, StartOptions::default())
            .await
            .expect("start")
            .expect("profile");
        p.update_data(|d| d["Coins"] = json!(key)).expect("active");
        let r = Arc::clone(&reasons);
        p.on_last_save(move |reason| r.lock().expect("lock").push(*reason));
    }
    server.shutdown().await;
    assert!(server.is_closing());
    assert_eq!(*reasons.lock().expect("lock"), vec![EndReason::Shutdown; 3]);
    for key in ["p1", "p2", "p3"] {
        let stored = stored(&world, key).await;
        assert_eq!(stored["Data"]["Coins"], key);
        assert!(stored["MetaData"].get("ActiveSession").is_none());
    }
    assert!(store
        .start_session("p4", StartOptions::default())
        .await
        .expect("start")
        .is_none());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_start_returns_no_profile() {
    let world = World::simulated();
    let a = game_server(&world, "job-a", EngineConfig::default())
        .store("PlayerData", template())
        .expect("store");
    let b = game_server(&world, "job-b", EngineConfig::default())
        .store("PlayerData", template())
        .expect("store");
    let _held = a
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    world.bus.set_faults(BusFaults {
        drop_rate: 1.0,
        ..BusFaults::default()
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(12);
    let options = StartOptions {
        steal: false,
        cancel: Some(Arc::new(move || tokio::time::Instant::now() >= deadline)),
    };
    assert!(b
        .start_session("k", options)
        .await
        .expect("start")
        .is_none());
    assert!(tokio::time::Instant::now() < deadline + Duration::from_secs(11));
}

#[tokio::test(start_paused = true)]
async fn mock_stores_are_separate_profiles() {
    let world = World::simulated();
    let store = game_server(&world, "job-a", EngineConfig::default())
        .store("PlayerData", template())
        .expect("store");
    let real = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    let mock = store
        .mock()
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("mock");
    mock.update_data(|d| d["Coins"] = json!(5)).expect("active");
    mock.end_session().await;
    real.end_session().await;
    assert_eq!(
        stored(&world, "k").await["Data"]["Coins"],
        0,
        "the mock never touched real data"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_that_lost_a_session_can_start_the_key_again_at_once() {
    let world = World::simulated();
    let a = game_server(&world, "job-a", EngineConfig::default())
        .store("PlayerData", template())
        .expect("store");
    let b = game_server(&world, "job-b", EngineConfig::default())
        .store("PlayerData", template())
        .expect("store");
    let mine = a
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    let steal = StartOptions {
        steal: true,
        cancel: None,
    };
    let thief = b
        .start_session("k", steal)
        .await
        .expect("start")
        .expect("stolen");
    mine.save().await.expect("save call");
    assert!(!mine.is_active(), "the save found the session lost");
    // No AlreadyActive: the lost session is unregistered at once.
    let again = a.start_session(
        "k",
        StartOptions {
            steal: true,
            cancel: None,
        },
    );
    let again = again
        .await
        .expect("no AlreadyActive error")
        .expect("stolen back");
    assert_eq!(again.session_load_count(), thief.session_load_count() + 1);
}
