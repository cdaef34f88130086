//! Interop with Roblox server code under Lune: the Luau client
//! (`clients/luau/`), its Lune environment, and the real ProfileStore module
//! (fetched at test time by `scripts/test`, never committed) against
//! profilestore servers, with the Rust engine on the same data and bus.
//!
//! Lune and the module are found through `PROFILESTORE_LUNE` and
//! `PROFILESTORE_PS_MODULE` (set by `scripts/test`). Without them each test
//! prints a "skipped" line and passes, unless `PROFILESTORE_REQUIRE_LUNE=1`,
//! which turns their absence into a failure. Lune runs in real time, so
//! these tests use the system clock; the module's timings are fixed, so the
//! contention scenarios use its fast paths (force-load message, `External`
//! end), which take seconds.

#[path = "interop_lune/harness.rs"]
mod harness;
#[path = "interop_lune/scripts.rs"]
mod scripts;
mod support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::{lune_setup, run_script, run_script_in};
use hyper::{Method, StatusCode};
use profilestore::engine::{EndReason, EngineConfig, ProfileStore, StartOptions};
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::{json, Map, Value};
use support::cli::Cli;
use support::process::ServeProcess;
use support::send;
use support::world::World;

/// The template every store in these scenarios uses, on both sides.
fn template() -> Value {
    json!({"Coins": 0, "Items": [], "Settings": {"Music": true}})
}

fn engine_store(server: &TestServer, place: u64, job: &str, config: EngineConfig) -> ProfileStore {
    World::of_server(server)
        .engine(place, job, config)
        .store("InteropPlayers", template())
        .expect("store")
}

async fn stored(
    server: &TestServer,
    store: &str,
    scope: &str,
    key: &str,
) -> profilestore::datastore::Entry {
    server
        .datastores
        .data_store(1, store, scope)
        .expect("store")
        .get(key)
        .await
        .expect("get")
        .expect("stored")
}

async fn api_scenario(transport: &str) {
    let Some(setup) = lune_setup(&format!("datastore api over {transport}")) else {
        return;
    };
    let server = spawn_test_server().await;
    let script = run_script(
        &setup,
        "datastore_api",
        &server.url,
        &server.api_key,
        &[("PROFILESTORE_TRANSPORT", transport)],
    );
    script.finish().await;

    // What the Luau client wrote is what Open Cloud serves.
    let url = format!(
        "{}/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=LuauApi_{transport}&entryKey=k1",
        server.url
    );
    let got = send(Method::GET, &url, &[("x-api-key", &server.api_key)], "").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.json(),
        json!({"Coins": 5, "Items": ["a", "b"], "Empty": []})
    );
    assert_eq!(got.header("roblox-entry-userids"), Some("[111,222]"));
    assert_eq!(
        got.header("roblox-entry-attributes"),
        Some(r#"{"source":"luau"}"#)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn luau_datastore_and_messaging_api_over_net() {
    api_scenario("net").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn luau_datastore_and_messaging_api_over_httpservice() {
    api_scenario("HttpService").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_module_sessions_and_the_engine_reads_its_profile() {
    let Some(setup) = lune_setup("real module sessions") else {
        return;
    };
    let server = spawn_test_server().await;
    let mut script = run_script(&setup, "ps_basic", &server.url, &server.api_key, &[]);
    let luau = script.result().await;
    script.finish().await;

    let before = stored(&server, "InteropPlayers", "global", "basic").await;
    assert_eq!(
        before.info.version, luau["Version"],
        "same version id seen on both sides"
    );
    assert_eq!(before.value["WasOverwritten"], json!(false));

    let store = engine_store(&server, 99, "rust-reader", EngineConfig::default());
    let view = store
        .get("basic", None)
        .await
        .expect("read")
        .expect("a profile");
    assert_eq!(view.data(), &luau["Data"]);
    assert_eq!(view.user_ids(), &[1234]);
    assert_eq!(view.key_info().version, before.info.version);
    assert!(view.session().is_none(), "the module released it");
    assert_eq!(json!(view.session_load_count()), luau["SessionLoadCount"]);
    assert_eq!(
        view.messages(),
        vec![(2, json!({"Pending": "for rust"}))],
        "the processed message is gone, the pending one keeps its index"
    );
    let profile = store
        .start_session("basic", StartOptions::default())
        .await
        .expect("start")
        .expect("the engine takes the profile the module released");
    assert_eq!(
        profile.data(),
        json!({"Coins": 50, "Items": ["Sword"], "Settings": {"Music": true}})
    );
    assert_eq!(profile.data(), luau["Data"]);
    assert_eq!(profile.user_ids(), vec![1234]);
    assert_eq!(json!(profile.user_ids()), luau["UserIds"]);
    assert_eq!(
        Value::Object(profile.roblox_metadata()),
        json!({"Tier": "gold"})
    );
    assert_eq!(profile.first_session_time(), luau["ProfileCreateTime"]);
    assert_eq!(
        json!(profile.session_load_count()),
        json!(luau["SessionLoadCount"].as_u64().expect("count") + 1)
    );
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    profile.message_handler(move |message, processed| {
        sink.lock().expect("lock").push(message.clone());
        processed.processed();
    });
    assert_eq!(
        *got.lock().expect("lock"),
        vec![json!({"Pending": "for rust"})],
        "the message the module queued while nobody held the profile"
    );
    profile.end_session().await;
    let after = stored(&server, "InteropPlayers", "global", "basic").await;
    assert_eq!(after.info.user_ids, vec![1234]);
    assert_eq!(
        Value::Object(after.info.metadata.clone()),
        json!({"Tier": "gold"})
    );
    assert!(after.value["MetaData"].get("ActiveSession").is_none());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_module_reads_a_profile_the_engine_wrote() {
    let Some(setup) = lune_setup("module reads engine profile") else {
        return;
    };
    let server = spawn_test_server().await;
    let store = engine_store(&server, 98, "rust-writer", EngineConfig::default());
    let profile = store
        .start_session("fromrust", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    profile
        .update_data(|d| {
            *d = json!({"Coins": 77, "Items": ["x", "y"], "Nested": {"a": 1, "b": [1.5, "z"]}});
        })
        .expect("data");
    profile.add_user_id(999).expect("user id");
    let mut meta = Map::new();
    meta.insert("Source".into(), json!("rust"));
    profile.set_roblox_metadata(meta).expect("metadata");
    let first_session_time = profile.first_session_time();
    profile.end_session().await;
    store
        .message("fromrust", json!({"FromRust": 1}))
        .await
        .expect("message");

    let mut script = run_script(
        &setup,
        "ps_read",
        &server.url,
        &server.api_key,
        &[("PROFILESTORE_KEY", "fromrust")],
    );
    let luau = script.result().await;
    script.finish().await;
    let data = json!({"Coins": 77, "Items": ["x", "y"], "Nested": {"a": 1, "b": [1.5, "z"]}});
    assert_eq!(luau["Data"], data);
    assert_eq!(luau["UserIds"], json!([999]));
    assert_eq!(luau["KeyUserIds"], json!([999]));
    assert_eq!(luau["RobloxMetaData"], json!({"Source": "rust"}));
    assert_eq!(luau["KeyMetadata"], json!({"Source": "rust"}));
    assert_eq!(luau["SessionLoadCount"], json!(2));
    assert_eq!(luau["FirstSessionTime"], first_session_time);
    assert_eq!(luau["Messages"], json!([{"FromRust": 1}]));
    let mut reconciled = data.clone();
    reconciled["Settings"] = json!({"Music": true});
    assert_eq!(luau["Reconciled"], reconciled);

    let after = stored(&server, "InteropPlayers", "global", "fromrust").await;
    assert!(after.value["MetaData"].get("ActiveSession").is_none());
    assert_eq!(after.value["Data"], reconciled, "the module's final save");
    let queue = &after.value["GlobalUpdates"][1];
    assert!(
        queue.as_array().is_some_and(Vec::is_empty) || queue.as_object().is_some_and(Map::is_empty),
        "the processed message was removed: {queue}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_luau_server_hands_a_profile_to_the_engine() {
    let Some(setup) = lune_setup("luau hands over to the engine") else {
        return;
    };
    let server = spawn_test_server().await;
    let mut script = run_script(
        &setup,
        "ps_hold",
        &server.url,
        &server.api_key,
        &[("PROFILESTORE_KEY", "contended-1")],
    );
    let ready = script.result().await;
    assert_eq!(ready["ready"], json!(true));

    let config = EngineConfig {
        first_load_repeat: Duration::from_secs(1),
        load_repeat_period: Duration::from_secs(2),
        ..EngineConfig::default()
    };
    let store = engine_store(&server, 97, "rust-taker", config);
    let started = std::time::Instant::now();
    let profile = tokio::time::timeout(
        Duration::from_secs(30),
        store.start_session("contended-1", StartOptions::default()),
    )
    .await
    .expect("the handover took too long")
    .expect("start")
    .expect("the engine got the profile without stealing");
    println!("luau -> engine handover took {:?}", started.elapsed());
    assert_eq!(
        profile.data()["Coins"],
        json!(123),
        "the module's final save carried its change"
    );
    assert_eq!(profile.session_load_count(), 2);
    let ended = script.result().await;
    assert_eq!(ended["reason"], json!("External"));
    script.finish().await;
    profile.end_session().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_hands_a_profile_to_a_luau_server_and_they_exchange_messages() {
    let Some(setup) = lune_setup("engine hands over to luau") else {
        return;
    };
    let server = spawn_test_server().await;
    let store = engine_store(&server, 96, "rust-holder", EngineConfig::default());
    let profile = store
        .start_session("contended-2", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    profile
        .update_data(|d| d["Coins"] = json!(321))
        .expect("data");
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&reasons);
    profile.on_last_save(move |r| sink.lock().expect("lock").push(*r));
    // A second profile the engine keeps, for the module's MessageAsync.
    let kept = store
        .start_session("rust-held", StartOptions::default())
        .await
        .expect("start")
        .expect("profile");
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&inbox);
    kept.message_handler(move |message, processed| {
        sink.lock().expect("lock").push(message.clone());
        processed.processed();
    });

    let mut script = run_script(
        &setup,
        "ps_take",
        &server.url,
        &server.api_key,
        &[
            ("PROFILESTORE_KEY", "contended-2"),
            ("PROFILESTORE_RUST_KEY", "rust-held"),
        ],
    );
    let luau = script.result().await;
    println!("engine -> luau handover took {} s", luau["took"]);
    assert_eq!(luau["Data"]["Coins"], json!(321), "the engine's final save");
    assert_eq!(luau["SessionLoadCount"], json!(2));
    assert_eq!(*reasons.lock().expect("lock"), vec![EndReason::External]);
    assert!(!profile.is_active());

    // Engine -> module: the owner is told over MessagingService to save.
    store
        .message("contended-2", json!({"FromRust": "hello"}))
        .await
        .expect("message");
    let exchanged = script.result().await;
    assert_eq!(exchanged["message"], json!({"FromRust": "hello"}));
    script.finish().await;
    // Module -> engine: the engine saved on the module's request.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while inbox.lock().expect("lock").is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        *inbox.lock().expect("lock"),
        vec![json!({"FromLuau": "hello"})]
    );
    kept.end_session().await;

    let doc = stored(&server, "InteropPlayers", "global", "contended-2").await;
    assert_eq!(doc.value["MetaData"]["SessionLoadCount"], json!(2));
    assert!(
        doc.value["MetaData"].get("ActiveSession").is_none(),
        "released by the Luau server's shutdown"
    );
    server.shutdown().await;
}

fn start_serve(dir: &Path) -> ServeProcess {
    ServeProcess::builder(dir)
        .api_key("luau-key")
        .storage("sqlite")
        .durability("off")
        .start()
}

fn cli_get(dir: &Path, args: &[&str]) -> Value {
    Cli::new()
        .arg("get")
        .args(args)
        .args(["--storage", "sqlite"])
        .arg("--data-dir")
        .arg(dir)
        .run()
        .json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn luau_writes_are_visible_through_open_cloud_and_the_cli() {
    let Some(setup) = lune_setup("luau writes via open cloud and cli") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let serve = start_serve(dir.path());
    let url = serve.url.clone();
    let mut script = run_script(&setup, "ds_write", &url, "luau-key", &[]);
    let luau = script.result().await;
    script.finish().await;

    let entry = |key: &str, scope: &str| {
        format!("{url}/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=CliStore&entryKey={key}&scope={scope}")
    };
    let hero = json!({"Name": "Ada", "Level": 8, "Tags": ["a", "b"], "Ratio": 0.5});
    let got = send(
        Method::GET,
        &entry("hero", "global"),
        &[("x-api-key", "luau-key")],
        "",
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json(), hero);
    assert_eq!(got.header("roblox-entry-version"), luau["version"].as_str());
    assert_eq!(got.header("roblox-entry-userids"), Some("[42,43]"));
    assert_eq!(
        got.header("roblox-entry-attributes"),
        Some(r#"{"via":"luau"}"#)
    );
    let v2 = send(
        Method::GET,
        &format!("{url}/cloud/v2/universes/1/data-stores/CliStore/entries/visits"),
        &[("x-api-key", "luau-key")],
        "",
    )
    .await;
    assert_eq!(v2.status, StatusCode::OK, "{:?}", v2.body);
    assert_eq!(v2.json()["value"], json!(7));

    assert!(serve.stop().success(), "serve stops cleanly");

    let cli = cli_get(dir.path(), &["CliStore", "hero"]);
    assert_eq!(cli["value"], hero);
    assert_eq!(cli["keyInfo"]["version"], luau["version"]);
    assert_eq!(cli["keyInfo"]["userIds"], json!([42, 43]));
    assert_eq!(cli["keyInfo"]["metadata"], json!({"via": "luau"}));
    let first = cli_get(
        dir.path(),
        &[
            "CliStore",
            "hero",
            "--version",
            luau["firstVersion"].as_str().expect("id"),
        ],
    );
    assert_eq!(
        first["value"]["Level"],
        json!(7),
        "the first version is kept"
    );
    assert_eq!(
        cli_get(dir.path(), &["CliStore", "visits"])["value"],
        json!(7)
    );
    assert_eq!(
        cli_get(dir.path(), &["CliStore", "hero", "--scope", "eu"])["value"],
        json!("bonjour")
    );
}

/// `examples/lune_game/` is a game's own folder: its `.luaurc` aliases the
/// client (`require("@profilestore/lune")`), and its test runs from there,
/// as `docs/roblox.md` shows. What the game saved is what the server has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lune_game_example_runs_from_its_own_folder() {
    let Some(setup) = lune_setup("lune game example") else {
        return;
    };
    let server = spawn_test_server().await;
    let script = run_script_in(
        &setup,
        "examples/lune_game",
        "tests/players.luau",
        &server.url,
        &server.api_key,
    );
    let output = script.finish().await;
    assert!(output.contains("passed=7 failed=0"), "{output}");

    for (key, user_id, data) in [
        (
            "Player_1001",
            1001,
            json!({"Coins": 10, "Items": ["Sword"]}),
        ),
        (
            "Player_1002",
            1002,
            json!({"Coins": 5, "Items": ["Shield"]}),
        ),
    ] {
        let entry = stored(&server, "PlayerData", "global", key).await;
        assert_eq!(entry.value["Data"], data, "{key}: the final save");
        assert_eq!(entry.info.user_ids, vec![user_id], "{key}");
        assert!(
            entry.value["MetaData"].get("ActiveSession").is_none(),
            "{key}: released"
        );
    }
    server.shutdown().await;
}
