//! Auto-save, read-only access, version queries and engine events, on
//! simulated time.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use profilestore::clock::Clock;
use profilestore::datastore::{SortOrder, WriteOptions};
use profilestore::engine::{Engine, EngineConfig, EngineEvent, ProfileStore, StartOptions};
use profilestore::faults::FaultyPlugin;
use serde_json::{json, Value};
use support::world::{World, T0};

fn world() -> (World, Arc<FaultyPlugin>) {
    World::faulty(Clock::tokio(T0))
}

fn engine(world: &World, job: &str) -> Engine {
    world.engine(7, job, EngineConfig::default())
}

fn store(engine: &Engine) -> ProfileStore {
    engine
        .store("PlayerData", json!({"Coins": 0}))
        .expect("store")
}

#[tokio::test(start_paused = true)]
async fn auto_save_updates_last_saved_data() {
    let (world, _) = world();
    let store = store(&engine(&world, "job-a"));
    let profile = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    profile
        .update_data(|d| d["Coins"] = json!(42))
        .expect("active");
    assert_eq!(profile.last_saved_data()["Coins"], 0);
    let before = profile.key_info().version;
    tokio::time::sleep(Duration::from_secs(301)).await;
    assert_eq!(profile.last_saved_data()["Coins"], 42);
    assert_ne!(profile.key_info().version, before);
    let stored = world
        .data_store("PlayerData", "global")
        .get("k")
        .await
        .expect("get");
    assert_eq!(stored.expect("stored").value["Data"]["Coins"], 42);
}

#[tokio::test(start_paused = true)]
async fn auto_saves_are_spread_over_the_period() {
    let (world, _) = world();
    let store = store(&engine(&world, "job-a"));
    let times = Arc::new(Mutex::new(Vec::new()));
    let start = tokio::time::Instant::now();
    for i in 0..4 {
        let p = store
            .start_session(&format!("p{i}"), StartOptions::default())
            .await
            .expect("start")
            .expect("profile");
        let t = Arc::clone(&times);
        p.on_after_save(move |_| t.lock().expect("lock").push((i, start.elapsed().as_secs())));
    }
    tokio::time::sleep(Duration::from_secs(400)).await;
    let times = times.lock().expect("lock").clone();
    let mut who: Vec<i32> = times.iter().map(|(i, _)| *i).collect();
    who.sort_unstable();
    assert_eq!(
        who,
        vec![0, 1, 2, 3],
        "each profile saved exactly once: {times:?}"
    );
    let mut at: Vec<u64> = times.iter().map(|(_, t)| *t).collect();
    at.dedup();
    assert_eq!(at.len(), 4, "never all at once: {times:?}");
    assert!(
        at.iter().all(|t| *t >= 150),
        "nothing saved before half a period: {times:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn read_only_get_and_set_end_a_live_session_elsewhere() {
    let (world, _) = world();
    let a = store(&engine(&world, "job-a"));
    let b = store(&engine(&world, "job-b"));
    assert!(
        b.get("k", None).await.expect("get").is_none(),
        "nothing yet"
    );
    let live = a
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    let mut read = b.get("k", None).await.expect("get").expect("profile");
    assert_eq!(read.session().map(|s| s.job_id.as_str()), Some("job-a"));
    read.data_mut()["Coins"] = json!(500);
    read.set().await.expect("set");
    live.save().await.expect("save call");
    live.ended().await;
    let now = b.get("k", None).await.expect("get").expect("profile");
    assert_eq!(now.data()["Coins"], 500);
    assert!(now.session().is_none());
}

#[tokio::test(start_paused = true)]
async fn reading_a_foreign_value_reports_nothing_and_writes_nothing() {
    let (world, _) = world();
    let e = engine(&world, "job-a");
    let store = store(&e);
    let raw = world.data_store("PlayerData", "global");
    raw.set("k", &json!("not a profile"), &WriteOptions::default())
        .await
        .expect("seed");
    let mut events = e.events();
    assert!(store.get("k", None).await.expect("get").is_none());
    assert!(
        events.try_recv().is_err(),
        "no overwrite on read-only access"
    );
    let profile = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    assert_eq!(
        events.try_recv().expect("event"),
        EngineEvent::Overwrite {
            store: "PlayerData".into(),
            key: "k".into()
        }
    );
    let stored = raw.get("k").await.expect("get").expect("stored").value;
    assert_eq!(stored["WasOverwritten"], true);
    profile.save().await.expect("save");
    let stored = raw.get("k").await.expect("get").expect("stored").value;
    assert_eq!(stored["WasOverwritten"], false);
}

#[tokio::test(start_paused = true)]
async fn version_queries_page_in_order_within_bounds() {
    let (world, _) = world();
    let store = store(&engine(&world, "job-a"));
    let profile = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    for coins in 1..=3 {
        tokio::time::sleep(Duration::from_secs(10)).await;
        profile
            .update_data(|d| d["Coins"] = json!(coins))
            .expect("active");
        profile.save().await.expect("save");
    }
    profile.end_session().await;
    let coins = |q: profilestore::engine::VersionQuery| async move {
        let mut out = Vec::new();
        while let Some(p) = q.next().await.expect("next") {
            out.push(p.data()["Coins"].clone());
        }
        out
    };
    // Versions: start (0) at T0, saves at +10, +20, +30 s, the final save at +30 s.
    let all = coins(store.version_query("k", SortOrder::Ascending, None, None)).await;
    assert_eq!(all, vec![json!(0), json!(1), json!(2), json!(3), json!(3)]);
    let newest_first = coins(store.version_query("k", SortOrder::Descending, None, None)).await;
    assert_eq!(newest_first.first(), Some(&json!(3)));
    assert_eq!(newest_first.last(), Some(&json!(0)));
    let bounded = coins(store.version_query(
        "k",
        SortOrder::Ascending,
        Some(T0 + 5_000),
        Some(T0 + 25_000),
    ))
    .await;
    assert_eq!(bounded, vec![json!(1), json!(2)]);
    // A version read by id.
    let versions = world
        .data_store("PlayerData", "global")
        .list_versions("k", &Default::default())
        .await
        .expect("list");
    let first = store
        .get("k", Some(&versions.items[0].version))
        .await
        .expect("get")
        .expect("v1");
    assert_eq!(first.data()["Coins"], 0);
    store.remove("k").await.expect("remove");
    assert!(store.get("k", None).await.expect("get").is_none());
}

#[tokio::test(start_paused = true)]
async fn datastore_errors_raise_error_events_and_toggle_critical_state() {
    let (world, plugin) = world();
    let e = engine(&world, "job-a");
    let store = store(&e);
    let mut events = e.events();
    assert!(store.get("probe", None).await.expect("get").is_none());
    assert_eq!(
        e.datastore_state(),
        profilestore::engine::DataStoreState::Access
    );
    plugin.fail_all(true);
    let failing = {
        let store = store.clone();
        tokio::spawn(async move { store.start_session("k", StartOptions::default()).await })
    };
    tokio::time::sleep(Duration::from_secs(40)).await;
    assert!(e.is_critical(), "5 errors within 120 s");
    plugin.fail_all(false);
    let profile = failing
        .await
        .expect("task")
        .expect("start")
        .expect("recovered after the errors stopped");
    assert!(profile.is_active());
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    assert!(
        seen.iter()
            .filter(|e| matches!(e, EngineEvent::Error { .. }))
            .count()
            >= 5
    );
    assert!(seen.contains(&EngineEvent::CriticalState(true)));
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert!(!e.is_critical(), "calm for long enough");
    let mut left = false;
    while let Ok(event) = events.try_recv() {
        left |= event == EngineEvent::CriticalState(false);
    }
    assert!(left);
}

#[tokio::test(start_paused = true)]
async fn a_start_gives_up_after_the_timeout() {
    let (world, plugin) = world();
    let store = store(&engine(&world, "job-a"));
    assert!(store.get("probe", None).await.expect("get").is_none());
    plugin.fail_all(true);
    let started = tokio::time::Instant::now();
    let got = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start");
    assert!(got.is_none());
    let waited = started.elapsed();
    assert!(
        waited <= Duration::from_secs(120) && waited >= Duration::from_secs(60),
        "{waited:?}"
    );
    let _: Value = json!(null);
}

#[tokio::test(start_paused = true)]
async fn profile_members_user_ids_metadata_reconcile_and_typed_data() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Default)]
    struct PlayerData {
        #[serde(rename = "Coins")]
        coins: i64,
        #[serde(rename = "Gems", default)]
        gems: i64,
    }
    let (world, _) = world();
    let e = engine(&world, "job-a");
    let raw = world.data_store("PlayerData", "global");
    let old = e.store("PlayerData", json!({"Coins": 0})).expect("store");
    let first = old
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    first
        .update_data(|d| d["Coins"] = json!(9))
        .expect("active");
    first.end_session().await;

    // A newer template adds `Gems`; reconcile fills it without touching Coins.
    let store = e
        .store("PlayerData", json!({"Coins": 0, "Gems": 3}))
        .expect("store");
    let p = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    p.reconcile().expect("reconcile");
    assert_eq!(
        p.data_as::<PlayerData>().expect("typed"),
        PlayerData { coins: 9, gems: 3 }
    );
    p.set_data_from(&PlayerData { coins: 10, gems: 4 })
        .expect("typed write");

    for id in [1, 2, 2, 3, 4] {
        p.add_user_id(id).expect("add");
    }
    assert_eq!(p.user_ids(), vec![1, 2, 3, 4], "no duplicates");
    assert!(p.add_user_id(5).is_err(), "at most 4");
    p.remove_user_id(2).expect("remove");
    let mut meta = serde_json::Map::new();
    meta.insert("Tier".into(), json!("gold"));
    p.set_roblox_metadata(meta).expect("metadata");
    let mut too_big = serde_json::Map::new();
    too_big.insert("k".into(), json!("x".repeat(300)));
    assert!(p.set_roblox_metadata(too_big).is_err());
    assert_eq!(p.session(), (7, "job-a"));
    p.save().await.expect("save");

    let entry = raw.get("k").await.expect("get").expect("stored");
    assert_eq!(entry.value["Data"], json!({"Coins": 10, "Gems": 4}));
    assert_eq!(entry.value["UserIds"], json!([1, 3, 4]));
    assert_eq!(
        entry.info.user_ids,
        vec![1, 3, 4],
        "the key's user ids follow UserIds"
    );
    assert_eq!(
        entry.info.metadata["Tier"], "gold",
        "the key's metadata follows RobloxMetaData"
    );
    p.end_session().await;
    assert!(p.add_user_id(9).is_err(), "inactive");
}

#[tokio::test(start_paused = true)]
async fn without_datastore_access_stores_fall_back_to_their_mocks() {
    use profilestore::engine::DataStoreState;
    let (world, plugin) = world();
    let e = engine(&world, "job-a");
    assert_eq!(e.datastore_state(), DataStoreState::NotReady);
    plugin.fail_all(true);
    let store = store(&e);
    let profile = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("mock profile");
    assert_eq!(e.datastore_state(), DataStoreState::NoInternet);
    profile
        .update_data(|d| d["Coins"] = json!(3))
        .expect("active");
    profile.end_session().await;
    plugin.fail_all(false);
    let raw = world.data_store("PlayerData", "global");
    assert!(
        raw.get("k").await.expect("get").is_none(),
        "real storage untouched"
    );
}

#[tokio::test(start_paused = true)]
async fn typed_stores_start_from_the_default_value() {
    #[derive(serde::Serialize, serde::Deserialize, Default, Debug, PartialEq)]
    struct Save {
        level: u32,
        name: String,
    }
    let (world, _) = world();
    let store = engine(&world, "job-a")
        .typed_store::<Save>("Typed")
        .expect("store");
    let p = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    assert_eq!(p.data_as::<Save>().expect("typed"), Save::default());
    p.set_data_from(&Save {
        level: 2,
        name: "x".into(),
    })
    .expect("write");
    p.end_session().await;
    let again = store
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    assert_eq!(
        again.data_as::<Save>().expect("typed"),
        Save {
            level: 2,
            name: "x".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_transient_error_on_the_access_probe_keeps_real_storage() {
    use profilestore::engine::DataStoreState;
    let (world, plugin) = world();
    let e = engine(&world, "job-a");
    // The probe is the engine's first commit: it fails once, transiently.
    plugin.fail_next_commits(1);
    let profile = store(&e)
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    assert_eq!(plugin.injected(), 1, "the probe met the fault");
    assert_eq!(e.datastore_state(), DataStoreState::Access);
    profile
        .update_data(|d| d["Coins"] = json!(5))
        .expect("active");
    profile.end_session().await;
    let raw = world.data_store("PlayerData", "global");
    let stored = raw.get("k").await.expect("get").expect("in real storage");
    assert_eq!(stored.value["Data"]["Coins"], 5);
}

#[tokio::test(start_paused = true)]
async fn changes_after_the_final_save_copied_the_data_are_refused() {
    let (world, plugin) = world();
    let e = engine(&world, "job-a");
    let profile = store(&e)
        .start_session("k", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    profile
        .update_data(|d| d["Coins"] = json!(1))
        .expect("active");
    // The final save is written but reported failed: its retry finds the
    // session released and writes nothing more.
    plugin.ambiguous_next_commits(1);
    let ending = {
        let p = profile.clone();
        tokio::spawn(async move { p.end_session().await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(profile.is_active(), "still retrying the final save");
    assert!(
        profile.update_data(|d| d["Coins"] = json!(2)).is_err(),
        "a change no write would carry must be refused, not lost"
    );
    ending.await.expect("ended");
    let raw = world.data_store("PlayerData", "global");
    let stored = raw.get("k").await.expect("get").expect("stored");
    assert_eq!(stored.value["Data"]["Coins"], 1);
    assert!(stored.value["MetaData"].get("ActiveSession").is_none());
}

#[tokio::test(start_paused = true)]
async fn a_crashed_server_writes_nothing_for_calls_still_in_flight() {
    let (world, plugin) = world();
    let e = engine(&world, "job-a");
    let store = store(&e);
    assert!(store.get("probe", None).await.expect("get").is_none());
    // Both calls meet a failure and wait 1 s to retry; the server dies
    // meanwhile. A dead process sends nothing: the retries must not write.
    plugin.fail_next_commits(2);
    let sending = {
        let store = store.clone();
        tokio::spawn(async move { store.message("m", json!("hello")).await })
    };
    let starting = {
        let store = store.clone();
        tokio::spawn(async move { store.start_session("s", StartOptions::default()).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(plugin.injected(), 2, "both first attempts failed");
    e.crash();
    assert!(
        sending.await.expect("task").is_err(),
        "a dead server acknowledges no message"
    );
    assert!(starting.await.expect("task").expect("start").is_none());
    let raw = world.data_store("PlayerData", "global");
    assert!(
        raw.get("m").await.expect("get").is_none(),
        "no message written"
    );
    assert!(
        raw.get("s").await.expect("get").is_none(),
        "no profile written"
    );
}
