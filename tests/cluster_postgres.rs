//! Several `profilestore serve` processes on one PostgreSQL database as one
//! service (issue 14): game servers on different nodes hand a profile over
//! through the release notice carried by the database's message log (the
//! Rust remote engine and the session API), a message published through
//! one node reaches an owner on another, and a node killed with SIGKILL in
//! the middle of writes loses no acknowledged write while its game
//! servers' profiles are taken over by another node, never owned twice.
//!
//! Needs a PostgreSQL server (`PROFILESTORE_TEST_POSTGRES_URL`, started by
//! `./scripts/test` with `scripts/postgres`); each test gets a fresh
//! database. Without one the tests skip, unless
//! `PROFILESTORE_REQUIRE_POSTGRES=1`.

#[allow(dead_code)]
#[path = "interop_lune/harness.rs"]
mod harness;
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use profilestore_postgres::test_server::TestDatabase;
use serde_json::json;
use support::cli::Cli;
use support::game_server::{GameServer, Kind};
use support::process::ServeProcess;
use support::raw_client::Http;
use support::world::World;

const FAST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/configs/fast.toml");
const T: Duration = Duration::from_secs(45);
const KEY: &str = "k1";

/// A fresh database, or `None` (the test skips) without a server.
fn database(test: &str) -> Option<TestDatabase> {
    let db = TestDatabase::create();
    if db.is_none() {
        eprintln!("{test}: skipped: no PostgreSQL (run ./scripts/test, or scripts/postgres start)");
    }
    db
}

/// Node `id` of the cluster on `db` (its own data folder for `serve.lock`).
fn node(db: &TestDatabase, id: &str) -> (tempfile::TempDir, ServeProcess) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::builder(dir.path())
        .api_key(KEY)
        .args(["--config", FAST, "--storage", "postgres", "--node-id", id])
        .env("PROFILESTORE_POSTGRES_URL", db.url())
        .start();
    (dir, server)
}

fn handoff_across_nodes(first: Kind, second: Kind) {
    let Some(db) = database("handoff across nodes") else {
        return;
    };
    let (_d1, n1) = node(&db, "n1");
    let (_d2, n2) = node(&db, "n2");
    let a = GameServer::start(first, &n1.url, "job-a", "p");
    assert_eq!(a.expect("started", T)["data"], json!({"Coins": 1}));
    let began = Instant::now();
    let b = GameServer::start(second, &n2.url, "job-b", "p");
    let started = b.expect("started", T);
    let took = began.elapsed();
    assert_eq!(
        started["data"],
        json!({"Coins": 2}),
        "job-a's final save on node 1 was loaded on node 2"
    );
    a.expect("ended", T);
    eprintln!("cross-node handoff ({first:?} -> {second:?}) took {took:?}");
    // The release notice crossed, not the steal (2 s in fast.toml after
    // the first repeats): well under the time a steal needs.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(n1.stop().success());
    assert!(n2.stop().success());
}

#[test]
fn rust_servers_on_two_nodes_hand_a_profile_over() {
    handoff_across_nodes(Kind::Rust, Kind::Rust);
}

#[test]
fn session_api_servers_on_two_nodes_hand_a_profile_over() {
    handoff_across_nodes(Kind::Python, Kind::Python);
}

#[test]
fn a_message_sent_through_one_node_reaches_an_owner_on_another() {
    let Some(db) = database("message across nodes") else {
        return;
    };
    let (_d1, n1) = node(&db, "n1");
    let (d2, n2) = node(&db, "n2");
    for kind in [Kind::Rust, Kind::Python] {
        let a = GameServer::start(kind, &n1.url, "job-a", "p");
        a.expect("started", T);
        Cli::remote(&n2.url, KEY, d2.path())
            .args(["profile", "message", "PlayerData", "p", r#"{"Gift":"Hat"}"#])
            .run()
            .success();
        assert_eq!(a.expect("message", T)["message"], json!({"Gift": "Hat"}));
        drop(a);
    }
    assert!(n1.stop().success());
    assert!(n2.stop().success());
}

/// One writer: sets its own keys through the nodes in turn, each key to
/// growing values, and records what was acknowledged (a 200).
fn writer(
    urls: Vec<Http>,
    id: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(String, u64)>>>,
    failed: Arc<Mutex<u64>>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let mut n = 0u64;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let key = format!("w{id}-k{}", n % 8);
            let url = &urls[(n as usize + id) % urls.len()];
            let path = format!(
                "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=Ledger&entryKey={key}"
            );
            let body = json!({"n": n}).to_string();
            let answer = tokio::time::timeout(
                Duration::from_secs(10),
                url.call(Method::POST, &path, &[("content-type", "application/json")], body),
            )
            .await;
            match answer {
                Ok(Ok(a)) if a.status == StatusCode::OK => {
                    acked.lock().expect("acked").push((key, n));
                }
                _ => *failed.lock().expect("failed") += 1,
            }
        }
    });
}

#[test]
fn a_node_killed_mid_write_loses_no_acknowledged_write_and_its_profile_moves() {
    let Some(db) = database("node killed mid-write") else {
        return;
    };
    let (_d1, n1) = node(&db, "n1");
    let (_d2, n2) = node(&db, "n2");
    let (_d3, n3) = node(&db, "n3");
    // A session API game server hosted by node 2 holds a profile.
    let mut held = GameServer::start(Kind::Python, &n2.url, "job-held", "p");
    held.expect("started", T);

    let urls: Vec<Http> = [&n1, &n2, &n3]
        .iter()
        .map(|n| Http::new(&n.url, KEY))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(Mutex::new(0));
    let writers: Vec<_> = (0..6)
        .map(|id| {
            let (urls, stop, acked, failed) =
                (urls.clone(), stop.clone(), acked.clone(), failed.clone());
            std::thread::spawn(move || writer(urls, id, stop, acked, failed))
        })
        .collect();
    // Kill node 2 once writes are flowing through every node.
    let deadline = Instant::now() + T;
    while acked.lock().expect("acked").len() < 300 {
        assert!(Instant::now() < deadline, "writes never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    n2.kill();
    let at_kill = acked.lock().expect("acked").len();
    // Writes go on through the survivors.
    while acked.lock().expect("acked").len() < at_kill + 300 {
        assert!(Instant::now() < deadline, "writes stopped after the kill");
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().expect("writer");
    }
    held.sigkill();

    // Every acknowledged write is there: each key holds its last
    // acknowledged value or a later (unacknowledged) one.
    let acked = acked.lock().expect("acked").clone();
    let mut last: std::collections::BTreeMap<String, u64> = Default::default();
    for (key, n) in &acked {
        let e = last.entry(key.clone()).or_default();
        *e = (*e).max(*n);
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut lost = 0;
    for (key, n) in &last {
        let path = format!(
            "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=Ledger&entryKey={key}"
        );
        let got = rt
            .block_on(Http::new(&n1.url, KEY).call(Method::GET, &path, &[], ""))
            .expect("read through node 1");
        let stored = got.json()["n"].as_u64().unwrap_or(0);
        if stored < *n {
            lost += 1;
            eprintln!("{key}: acknowledged {n}, stored {stored}");
        }
    }
    eprintln!(
        "kill test: {} writes acknowledged ({} keys), {} failed or unanswered, {lost} lost",
        acked.len(),
        last.len(),
        *failed.lock().expect("failed")
    );
    assert_eq!(lost, 0, "acknowledged writes were lost");

    // The profile node 2's game server held is taken by a game server on
    // node 3 (its owner cannot answer the release request: the steal timers).
    let began = Instant::now();
    let taker = GameServer::start(Kind::Rust, &n3.url, "job-taker", "p");
    let started = taker.expect("started", T);
    assert_eq!(
        started["data"],
        json!({"Coins": 2}),
        "what job-held had saved"
    );
    eprintln!(
        "taken from a killed node's game server after {:?}",
        began.elapsed()
    );
    assert!(n1.stop().success());
    assert!(n3.stop().success());
}

/// The real ProfileStore module under Lune, on node 1, hands its profile
/// to the Rust engine of a game server on node 2 (the module's final save
/// arrives, the handover is by release notice across the database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_luau_server_on_one_node_hands_a_profile_to_an_engine_on_another() {
    use profilestore::engine::{EngineConfig, StartOptions};
    let Some(setup) = harness::lune_setup("luau hands over across nodes") else {
        return;
    };
    let Some(db) = database("luau hands over across nodes") else {
        return;
    };
    let (_d1, n1) = node(&db, "n1");
    let (_d2, n2) = node(&db, "n2");
    let mut script = harness::run_script(
        &setup,
        "ps_hold",
        &n1.url,
        KEY,
        &[("PROFILESTORE_KEY", "across-1")],
    );
    assert_eq!(script.result().await["ready"], json!(true));
    let config = EngineConfig {
        first_load_repeat: Duration::from_secs(1),
        load_repeat_period: Duration::from_secs(2),
        ..EngineConfig::default()
    };
    let store = World::remote(&n2.url, KEY)
        .engine(97, "rust-taker", config)
        .store(
            "InteropPlayers",
            json!({"Coins": 0, "Items": [], "Settings": {"Music": true}}),
        )
        .expect("store");
    let began = Instant::now();
    let profile = tokio::time::timeout(
        Duration::from_secs(30),
        store.start_session("across-1", StartOptions::default()),
    )
    .await
    .expect("the handover took too long")
    .expect("start")
    .expect("the engine got the profile");
    eprintln!(
        "luau (node 1) -> engine (node 2) handover took {:?}",
        began.elapsed()
    );
    assert_eq!(
        profile.data()["Coins"],
        json!(123),
        "the module's final save"
    );
    assert_eq!(profile.session_load_count(), 2);
    assert_eq!(script.result().await["reason"], json!("External"));
    script.finish().await;
    profile.end_session().await;
    assert!(n1.stop().success());
    assert!(n2.stop().success());
}
