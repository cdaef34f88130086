//! Cross-process benchmark: sessions started and ended per second, and
//! handoff latency, for game servers talking to a `profilestore serve`
//! process over HTTP (the remote engine, and the session API), beside the
//! same figures for two engines in one process, measured in the same run.
//! Memory storage everywhere. Prints Markdown tables.
//!
//! Run: `cargo bench --bench remote` (add `-- --quick` for fewer rounds).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use profilestore::bus::{BusConfig, MessageBus};
use profilestore::clock::Clock;
use profilestore::datastore::{DataStoreConfig, DataStoreService};
use profilestore::engine::{Engine, EngineConfig, ProfileStore, StartOptions};
use serde_json::{json, Value};

fn serve() -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_profilestore"))
        .args(["serve", "--listen", "127.0.0.1:0", "--storage", "memory"])
        .args(["--api-key", "bench"])
        .env("PROFILESTORE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn profilestore serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("address line");
    let v: Value = serde_json::from_str(&line).expect("JSON");
    (child, v["listening"].as_str().expect("url").to_owned())
}

fn local_pair() -> (ProfileStore, ProfileStore) {
    let clock = Clock::system();
    let ds = DataStoreService::new(
        Arc::new(profilestore_memory::MemoryPlugin::new()),
        clock.clone(),
        DataStoreConfig::default(),
    );
    let bus = MessageBus::new(clock, BusConfig::default());
    let a = Engine::new(ds.clone(), bus.clone(), 1, 1, "a", EngineConfig::default());
    let b = Engine::new(ds, bus, 1, 1, "b", EngineConfig::default());
    (
        a.store("Bench", json!({})).expect("store"),
        b.store("Bench", json!({})).expect("store"),
    )
}

fn remote_pair(url: &str) -> (ProfileStore, ProfileStore) {
    let engine = |job: &str| {
        Engine::remote(
            url,
            Some("bench".into()),
            1,
            1,
            job,
            EngineConfig::default(),
        )
        .expect("engine")
        .store("Bench", json!({}))
        .expect("store")
    };
    (engine("remote-a"), engine("remote-b"))
}

fn median_p99(mut t: Vec<Duration>) -> (f64, f64) {
    t.sort();
    let at = |p: f64| t[((t.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99))
}

async fn engine_handoffs(
    a: &ProfileStore,
    b: &ProfileStore,
    rounds: usize,
    tag: &str,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let key = format!("{tag}-h{i}");
        let _held = a
            .start_session(&key, StartOptions::default())
            .await
            .expect("start")
            .expect("a");
        let start = Instant::now();
        let taken = b
            .start_session(&key, StartOptions::default())
            .await
            .expect("start")
            .expect("b");
        times.push(start.elapsed());
        taken.end_session().await;
    }
    times
}

async fn engine_cycles(store: &ProfileStore, budget: Duration, tag: &str) -> f64 {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < budget {
        let p = store
            .start_session(&format!("{tag}-c{}", n % 100), StartOptions::default())
            .await
            .expect("start")
            .expect("profile");
        p.end_session().await;
        n += 1;
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let req = Request::builder()
            .method(method)
            .uri(format!("{}/session-api/v1/universes/1/{path}", self.base))
            .header("x-api-key", "bench")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("request");
        let res = self.client.request(req).await.expect("send");
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }

    async fn start(&self, job: &str, key: &str) -> u64 {
        let v = self
            .call(
                "POST",
                &format!("servers/{job}/sessions"),
                json!({"store": "Bench", "key": key, "timeoutSeconds": 30}),
            )
            .await;
        v["profile"]["loadCount"].as_u64().expect("a session")
    }

    async fn end(&self, job: &str, key: &str, count: u64) {
        self.call(
            "POST",
            &format!("servers/{job}/sessions/Bench/{key}:end?loadCount={count}"),
            Value::Null,
        )
        .await;
    }
}

async fn api_handoffs(api: &Api, rounds: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let key = format!("api-h{i}");
        api.start("job-a", &key).await;
        let start = Instant::now();
        let count = api.start("job-b", &key).await;
        times.push(start.elapsed());
        api.end("job-b", &key, count).await;
    }
    times
}

async fn api_cycles(api: &Api, budget: Duration) -> f64 {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < budget {
        let key = format!("api-c{}", n % 100);
        let count = api.start("job-c", &key).await;
        api.end("job-c", &key, count).await;
        n += 1;
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 10 } else { 100 };
    let budget = Duration::from_millis(if quick { 500 } else { 3000 });
    let (mut server, url) = serve();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (la, lb) = local_pair();
        let (ra, rb) = remote_pair(&url);
        let api = Api {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: url.clone(),
        };
        let rows = [
            ("in process (baseline)", engine_handoffs(&la, &lb, rounds, "l").await, engine_cycles(&la, budget, "l").await),
            ("remote engine over HTTP", engine_handoffs(&ra, &rb, rounds, "r").await, engine_cycles(&ra, budget, "r").await),
            ("session API over HTTP", api_handoffs(&api, rounds).await, api_cycles(&api, budget).await),
        ];
        let base = rows[0].2;
        println!("| game servers | handoff median | handoff p99 | sessions started + ended per second | vs in process |");
        println!("|---|---:|---:|---:|---:|");
        for (name, times, cycles) in rows {
            let (median, p99) = median_p99(times);
            println!("| {name} | {median:.2} ms | {p99:.2} ms | {cycles:.0} | {:.0}% |", cycles / base * 100.0);
        }
    });
    let _ = server.kill();
    let _ = server.wait();
}
