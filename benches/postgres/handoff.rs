//! Part 3 of the PostgreSQL bench: one profile handed back and forth
//! between two game servers, each taking it from the other in turn (the
//! taker's start asks the owner to release; the owner's final save and
//! release notice let the taker in), timed from the taker's start call to
//! its session. First both game servers on node 1 (the single-node figure),
//! then one on node 1 and one on node 2 (the request and the notice cross
//! the database's message log), on one two-node cluster, for the remote
//! Rust engine (short `EngineConfig` timers) and for the session API (the
//! nodes' engine timers shortened by the bench's node config).

use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use profilestore::engine::{Engine, EngineConfig, Profile, ProfileStore, StartOptions};
use profilestore_postgres::test_server::TestDatabase;
use serde_json::json;

use super::raw_client::Http;
use super::{ms, node_config, percentile, Budget, Node, API_KEY};

/// The remote engines' timers: a missed notice costs a repeat (0.25 s
/// first, then 0.5 s), a steal 2 s.
fn engine_config() -> EngineConfig {
    EngineConfig {
        first_load_repeat: Duration::from_millis(250),
        load_repeat_period: Duration::from_millis(500),
        session_steal: Duration::from_secs(2),
        ..EngineConfig::default()
    }
}

fn engine_store(url: &str, job: &str) -> ProfileStore {
    Engine::remote(url, Some(API_KEY.into()), 1, 1, job, engine_config())
        .expect("engine")
        .store("Bench", json!({"Coins": 0}))
        .expect("store")
}

async fn start(store: &ProfileStore, key: &str) -> Profile {
    store
        .start_session(key, StartOptions::default())
        .await
        .expect("start")
        .expect("a session")
}

/// `rounds` handoffs of `key` between engines on `first` and `second`.
async fn engine_handoffs(first: &str, second: &str, key: &str, rounds: usize) -> Vec<Duration> {
    let stores = [engine_store(first, "job-a"), engine_store(second, "job-b")];
    let mut held = start(&stores[0], key).await;
    let mut times = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let began = Instant::now();
        let taken = start(&stores[(i + 1) % 2], key).await;
        times.push(began.elapsed());
        held = taken;
    }
    held.end_session().await;
    times
}

/// The session API's start of `key` by game server `job`; its load count.
async fn api_start(http: &Http, job: &str, key: &str) -> u64 {
    let body = json!({"store": "Bench", "key": key, "timeoutSeconds": 30}).to_string();
    let path = format!("/session-api/v1/universes/1/servers/{job}/sessions");
    let reply = http
        .call(Method::POST, &path, &[], Bytes::from(body))
        .await
        .expect("an answer");
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.json()["profile"]["loadCount"]
        .as_u64()
        .unwrap_or_else(|| panic!("no session: {:?}", reply.body))
}

/// `rounds` handoffs of `key` between session API game servers on
/// `first` and `second`.
async fn api_handoffs(first: &str, second: &str, key: &str, rounds: usize) -> Vec<Duration> {
    let servers = [
        (Http::new(first, API_KEY), "job-a"),
        (Http::new(second, API_KEY), "job-b"),
    ];
    let mut count = api_start(&servers[0].0, servers[0].1, key).await;
    let mut last = 0;
    let mut times = Vec::with_capacity(rounds);
    for i in 0..rounds {
        last = (i + 1) % 2;
        let (http, job) = &servers[last];
        let began = Instant::now();
        count = api_start(http, job, key).await;
        times.push(began.elapsed());
    }
    let (http, job) = &servers[last];
    let path = format!(
        "/session-api/v1/universes/1/servers/{job}/sessions/Bench/{key}:end?loadCount={count}"
    );
    http.call(Method::POST, &path, &[], "").await.expect("end");
    times
}

fn row(kind: &str, place: &str, mut times: Vec<Duration>, single: Option<Duration>) -> Duration {
    times.sort();
    let median = percentile(&times, 0.5);
    let ratio = single.map_or("1 (baseline)".to_owned(), |s| {
        format!("{:.2}", median.as_secs_f64() / s.as_secs_f64())
    });
    println!(
        "| {kind} | {place} | {} | {:.1} | {:.1} | {:.1} | {ratio} |",
        times.len(),
        ms(median),
        ms(percentile(&times, 0.9)),
        ms(*times.last().expect("rounds"))
    );
    median
}

/// Prints the handoff table.
pub(crate) fn run(budget: Budget) {
    let db = TestDatabase::create().expect("a database");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = node_config(dir.path());
    let n1 = Node::start(db.url(), "n1", &config);
    let n2 = Node::start(db.url(), "n2", &config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rounds = budget.handoffs;
    println!(
        "| game servers | placed | handoffs | median ms | p90 ms | max ms | median / single node |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    runtime.block_on(async {
        let (u1, u2) = (n1.url(), n2.url());
        let single = engine_handoffs(u1, u1, "engine-single", rounds).await;
        let cross = engine_handoffs(u1, u2, "engine-cross", rounds).await;
        let s = row("remote Rust engine", "both on node 1", single, None);
        row("remote Rust engine", "node 1 ↔ node 2", cross, Some(s));
        let single = api_handoffs(u1, u1, "api-single", rounds).await;
        let cross = api_handoffs(u1, u2, "api-cross", rounds).await;
        let s = row("session API", "both on node 1", single, None);
        row("session API", "node 1 ↔ node 2", cross, Some(s));
    });
    drop(runtime);
    n1.stop();
    n2.stop();
}
