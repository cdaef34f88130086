//! Engines on one in-memory world in simulated (paused) time, recorded by a
//! lock history on the world's DataStore service.

use std::sync::Arc;
use std::time::Duration;

use profilestore::clock::Clock;
use profilestore::datastore::DataStoreConfig;
use profilestore::engine::{Engine, EngineConfig, Profile, ProfileStore, StartOptions};
use profilestore::history::{HistoryConfig, LockChangeKind as K, LockHistory};
use profilestore::plugin_api::StoragePlugin;
use serde_json::json;

use super::support::world::{memory, World, T0};
use super::{kinds, server_of, settled_events};

/// A world on `plugin` with a recording history.
fn world_on(plugin: Arc<dyn StoragePlugin>, config: HistoryConfig) -> (World, LockHistory) {
    let world = World::on(plugin, Clock::tokio(T0), DataStoreConfig::default());
    let history = LockHistory::of(&world.datastores, config);
    history.spawn(&world.datastores);
    (world, history)
}

fn recorded() -> (World, LockHistory) {
    world_on(memory(), HistoryConfig::default())
}

fn players(engine: &Engine) -> ProfileStore {
    engine.store("Players", json!({"Coins": 0})).expect("store")
}

async fn start(store: &ProfileStore, key: &str, steal: bool) -> Profile {
    store
        .start_session(
            key,
            StartOptions {
                steal,
                ..StartOptions::default()
            },
        )
        .await
        .expect("start")
        .expect("a profile")
}

#[tokio::test(start_paused = true)]
async fn a_handoff_records_the_asked_for_release_and_the_take() {
    let (world, history) = recorded();
    let (a, b) = (
        world.engine(5, "job-a", EngineConfig::default()),
        world.engine(5, "job-b", EngineConfig::default()),
    );
    let pa = start(&players(&a), "u1", false).await;
    let pb = start(&players(&b), "u1", false).await;
    let events = settled_events(&history, "Players", "u1").await;
    assert_eq!(kinds(&events), [K::Started, K::Released, K::HandedOff]);
    let (started, released, handed) = (&events[0], &events[1], &events[2]);
    assert_eq!(server_of(&started.owner), (5, "job-a"));
    assert_eq!(started.owner.session_id.as_deref(), Some(pa.session_id()));
    assert_eq!(started.load_count, 1);
    assert_eq!(released.owner, started.owner);
    assert!(released.asked_for, "{released:?}");
    assert_eq!(server_of(&handed.owner), (5, "job-b"));
    assert_eq!(handed.owner.session_id.as_deref(), Some(pb.session_id()));
    assert_eq!(handed.load_count, 2);
    assert_eq!(handed.previous.as_ref(), Some(&started.owner));
    assert!(events.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
    assert_eq!(events[0].time_ms, T0);
    assert_eq!(events[0].time, "2023-11-14T22:13:20Z");
    a.shutdown().await;
    b.shutdown().await;
    let events = settled_events(&history, "Players", "u1").await;
    assert_eq!(kinds(&events).last(), Some(&K::EndedByShutdown));
    assert_eq!(server_of(&events[3].owner), (5, "job-b"));
}

#[tokio::test(start_paused = true)]
async fn a_steal_is_stolen_and_the_robbed_owner_writes_nothing_more() {
    let (world, history) = recorded();
    let (a, b) = (
        world.engine(5, "job-a", EngineConfig::default()),
        world.engine(6, "job-b", EngineConfig::default()),
    );
    let pa = start(&players(&a), "u2", false).await;
    let _pb = start(&players(&b), "u2", true).await;
    let _ = pa.save().await;
    a.shutdown().await;
    let events = settled_events(&history, "Players", "u2").await;
    assert_eq!(kinds(&events), [K::Started, K::Stolen]);
    assert_eq!(server_of(&events[1].owner), (6, "job-b"));
    assert_eq!(events[1].previous.as_ref(), Some(&events[0].owner));
    b.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_take_after_assume_dead_is_assumed_dead() {
    let (world, history) = recorded();
    let (a, b) = (
        world.engine(5, "job-a", EngineConfig::default()),
        world.engine(6, "job-b", EngineConfig::default()),
    );
    let _pa = start(&players(&a), "u3", false).await;
    a.crash();
    tokio::time::advance(Duration::from_secs(631)).await;
    let _pb = start(&players(&b), "u3", false).await;
    let events = settled_events(&history, "Players", "u3").await;
    assert_eq!(kinds(&events), [K::Started, K::AssumedDead]);
    assert_eq!(events[1].previous.as_ref(), Some(&events[0].owner));
    assert!(events[1].time_ms - events[0].time_ms >= 631_000);
    b.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_manual_end_is_released_and_a_shutdown_ended_by_shutdown() {
    let (world, history) = recorded();
    let a = world.engine(5, "job-a", EngineConfig::default());
    let store = players(&a);
    let p = start(&store, "u4", false).await;
    p.end_session().await;
    let _p = start(&store, "u5", false).await;
    a.shutdown().await;
    let ended = settled_events(&history, "Players", "u4").await;
    assert_eq!(kinds(&ended), [K::Started, K::Released]);
    assert!(!ended[1].asked_for);
    let shut = settled_events(&history, "Players", "u5").await;
    assert_eq!(kinds(&shut), [K::Started, K::EndedByShutdown]);
    let counts = history.counts();
    assert!(counts.contains(&(K::Started, 2)), "{counts:?}");
    assert!(counts.contains(&(K::Released, 1)), "{counts:?}");
    assert!(counts.contains(&(K::EndedByShutdown, 1)), "{counts:?}");
    assert!(counts.contains(&(K::Stolen, 0)), "{counts:?}");
}

#[tokio::test(start_paused = true)]
async fn the_live_view_follows_takes_saves_and_releases() {
    let (world, history) = recorded();
    let mut events = history.subscribe();
    let a = world.engine(5, "job-a", EngineConfig::default());
    let p = start(&players(&a), "u6", false).await;
    history.settled().await;
    let live = history.live();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!((live[0].key.as_str(), live[0].load_count), ("u6", 1));
    assert_eq!(live[0].owner.session_id.as_deref(), Some(p.session_id()));
    assert_eq!((live[0].since_ms, live[0].last_save_ms), (T0, T0));
    assert_eq!(live[0].auto_save_due_ms, T0 + 300_000);
    tokio::time::advance(Duration::from_secs(10)).await;
    p.save().await.expect("save");
    history.settled().await;
    let live = history.live();
    assert_eq!((live[0].since_ms, live[0].last_save_ms), (T0, T0 + 10_000));
    assert_eq!(live[0].auto_save_due_ms, T0 + 310_000);
    p.end_session().await;
    history.settled().await;
    assert!(history.live().is_empty());
    let first = events.recv().await.expect("an event");
    let second = events.recv().await.expect("an event");
    assert_eq!((first.kind, second.kind), (K::Started, K::Released));
    assert!(events.try_recv().is_err(), "a save is no event");
    a.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn retention_filters_reads_and_prunes_on_the_next_append() {
    let plugin = memory();
    let config = HistoryConfig {
        retention: Duration::from_secs(24 * 3600),
        ..HistoryConfig::default()
    };
    let (world, history) = world_on(plugin.clone(), config);
    let a = world.engine(5, "job-a", EngineConfig::default());
    let store = players(&a);
    start(&store, "u7", false).await.end_session().await;
    assert_eq!(settled_events(&history, "Players", "u7").await.len(), 2);
    tokio::time::advance(Duration::from_secs(24 * 3600 + 1)).await;
    assert!(settled_events(&history, "Players", "u7").await.is_empty());
    let stored = |plugin: &Arc<profilestore_memory::MemoryPlugin>| {
        let record = plugin
            .record_read("history/1/Players/global/u7")
            .expect("read")
            .expect("the record");
        let head: serde_json::Value = serde_json::from_str(&record.value).expect("a head");
        head["events"].as_array().expect("the head's events").len()
    };
    assert_eq!(stored(&plugin), 2, "reads filter, only appends prune");
    let _p = start(&store, "u7", false).await;
    assert_eq!(
        kinds(&settled_events(&history, "Players", "u7").await),
        [K::Started]
    );
    assert_eq!(stored(&plugin), 1);
    a.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn values_that_are_not_profiles_make_no_events() {
    let (world, history) = recorded();
    let ds = world.data_store("Players", "global");
    ds.set("plain", &json!({"MetaData": 1}), &Default::default())
        .await
        .expect("set");
    ds.set("other", &json!([1, 2, 3]), &Default::default())
        .await
        .expect("set");
    ds.remove("plain").await.expect("remove");
    assert!(settled_events(&history, "Players", "plain")
        .await
        .is_empty());
    assert!(settled_events(&history, "Players", "other")
        .await
        .is_empty());
    assert!(history.live().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_long_history_keeps_the_newest_max_events_in_bounded_records() {
    let plugin = memory();
    let config = HistoryConfig {
        max_events: 100,
        ..HistoryConfig::default()
    };
    let (world, history) = world_on(plugin.clone(), config);
    let a = world.engine(5, "job-a", EngineConfig::default());
    let store = players(&a);
    for _ in 0..150 {
        start(&store, "u9", false).await.end_session().await;
        // One batch per session: each appends to the head on its own.
        history.settled().await;
    }
    let events = settled_events(&history, "Players", "u9").await;
    assert_eq!(events.len(), 100, "the newest max_events are read");
    let loads: Vec<u64> = events.iter().map(|e| e.load_count).collect();
    let newest: Vec<u64> = (101..=150).flat_map(|n| [n, n]).collect();
    assert_eq!(loads, newest, "oldest first, none missing or repeated");
    assert_eq!(
        kinds(&events[..2]),
        [K::Started, K::Released],
        "each session is a start and a release"
    );
    let records = plugin
        .record_list("history/1/Players/global/u9")
        .expect("list");
    let largest = records.iter().map(|r| r.value.len()).max().unwrap_or(0);
    // 300 events were recorded; what is kept is the newest 100 and at most
    // one chunk more, each record a bounded size.
    assert!(records.len() <= 5, "{} records", records.len());
    assert!(largest < 40 * 400, "the largest record is {largest} bytes");
    a.shutdown().await;
}
