//! Sustained mixed load against one `profilestore serve` process: many
//! concurrent clients doing what game servers and tools do (reads, profile
//! saves as `matchVersion` read-modify-write, plain writes, increments, key
//! and version listings, message publishes) while long-poll subscribers
//! follow every topic, and game servers hold ProfileStore sessions through
//! the session API (`load/sessions.rs`). Prints throughput, p50/p99/max latency per operation,
//! the server's RSS over time, errors (any answer a correct server would
//! not give: each client owns its profiles, so even a 412 is an error) and
//! message delivery (every message published must reach every subscriber
//! of its topic).
//!
//! Run: `cargo bench --bench load` (10 s, SQLite, full durability).
//! Long run: `PROFILESTORE_LOAD_SECS=300 cargo bench --bench load`.
//! Short run as a test (debug build, part of `./scripts/test`):
//! `PROFILESTORE_LOAD_SECS=3 cargo test --bench load`. The run fails on
//! any error or missed message.
//! Other knobs: `PROFILESTORE_LOAD_CLIENTS` (default 32),
//! `PROFILESTORE_LOAD_SESSION_SERVERS` (default 8),
//! `PROFILESTORE_LOAD_STORAGE` (`sqlite`, `sled`, `memory`),
//! `PROFILESTORE_LOAD_DURABILITY` (`full`, `normal`, `off`).

#[path = "../tests/support/raw_client.rs"]
mod raw_client;
#[path = "load/sessions.rs"]
mod sessions;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use raw_client::{Http, ServerProcess};
use serde_json::{json, Value};

const API_KEY: &str = "load-key";
const ENTRY: &str = "/datastores/v1/universes/1/standard-datastores/datastore/entries";
const STORE: &str = "PlayerData";
const PROFILES_PER_CLIENT: usize = 4;
const TOPICS: usize = 4;
const SUBSCRIBERS_PER_TOPIC: usize = 2;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} has an invalid value"))
        })
        .unwrap_or(default)
}

/// Latencies (µs) and errors of one client, per operation.
#[derive(Debug, Default)]
struct Stats {
    latencies: BTreeMap<&'static str, Vec<u32>>,
    errors: Vec<String>,
    published: [u64; TOPICS],
}

impl Stats {
    fn record(&mut self, op: &'static str, start: Instant) {
        let micros = u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX);
        self.latencies.entry(op).or_default().push(micros);
    }

    fn merge(&mut self, other: Stats) {
        for (op, mut l) in other.latencies {
            self.latencies.entry(op).or_default().append(&mut l);
        }
        self.errors.extend(other.errors);
        for (a, b) in self.published.iter_mut().zip(other.published) {
            *a += b;
        }
    }
}

/// A profile document about the size of a real one (~1 KiB).
fn profile(coins: i64, rng: &mut SmallRng) -> Value {
    let items: Vec<Value> = (0..20)
        .map(|i| json!({"id": format!("item-{i}"), "count": rng.random_range(0..100)}))
        .collect();
    json!({"Data": {"Coins": coins, "Level": coins / 100, "Items": items},
           "MetaData": {"ProfileCreateTime": 1_700_000_000, "SessionLoadCount": coins},
           "GlobalUpdates": [0, []]})
}

fn entry(key: &str) -> String {
    format!("{ENTRY}/entry?datastoreName={STORE}&entryKey={key}")
}

async fn expect(
    stats: &mut Stats,
    op: &'static str,
    start: Instant,
    answer: Result<raw_client::Reply, String>,
    ok: &[StatusCode],
) -> Option<raw_client::Reply> {
    match answer {
        Ok(r) if ok.contains(&r.status) => {
            stats.record(op, start);
            Some(r)
        }
        Ok(r) => {
            stats
                .errors
                .push(format!("{op}: {} {:?}", r.status, r.body));
            None
        }
        Err(e) => {
            stats.errors.push(format!("{op}: {e}"));
            None
        }
    }
}

/// One client: a weighted mix of operations on its own profiles.
async fn client(http: Http, id: usize, stop: Arc<AtomicBool>) -> Stats {
    let mut rng = SmallRng::seed_from_u64(id as u64);
    let mut stats = Stats::default();
    let keys: Vec<String> = (0..PROFILES_PER_CLIENT)
        .map(|p| format!("Player_{id}_{p}"))
        .collect();
    let ok = [StatusCode::OK];
    while !stop.load(Ordering::Relaxed) {
        let key = &keys[rng.random_range(0..keys.len())];
        let roll = rng.random_range(0..100);
        let start = Instant::now();
        if roll < 35 {
            let r = http.call(Method::GET, &entry(key), &[], "").await;
            expect(
                &mut stats,
                "get",
                start,
                r,
                &[StatusCode::OK, StatusCode::NOT_FOUND],
            )
            .await;
        } else if roll < 60 {
            // A profile save: read, modify, write back if unchanged.
            let Some(got) = expect(
                &mut stats,
                "save.read",
                start,
                http.call(Method::GET, &entry(key), &[], "").await,
                &[StatusCode::OK, StatusCode::NOT_FOUND],
            )
            .await
            else {
                continue;
            };
            let (coins, precondition) = if got.status == StatusCode::OK {
                let version = got.header("roblox-entry-version").unwrap_or("").to_owned();
                let coins = got.json()["Data"]["Coins"].as_i64().unwrap_or(0);
                (coins + 1, format!("&matchVersion={version}"))
            } else {
                (0, "&exclusiveCreate=true".to_owned())
            };
            let body = profile(coins, &mut rng).to_string();
            let r = http
                .call(
                    Method::POST,
                    &format!("{}{precondition}", entry(key)),
                    &[("roblox-entry-userids", "[1]")],
                    body,
                )
                .await;
            expect(&mut stats, "save (read+write)", start, r, &ok).await;
        } else if roll < 70 {
            let body = profile(rng.random_range(0..1000), &mut rng).to_string();
            let k = format!("{key}_backup");
            let r = http.call(Method::POST, &entry(&k), &[], body).await;
            expect(&mut stats, "set", start, r, &ok).await;
        } else if roll < 80 {
            let path = format!(
                "{ENTRY}/entry/increment?datastoreName={STORE}&entryKey={key}_visits&incrementBy=1"
            );
            let r = http.call(Method::POST, &path, &[], "").await;
            expect(&mut stats, "increment", start, r, &ok).await;
        } else if roll < 85 {
            let path = format!("{ENTRY}?datastoreName={STORE}&prefix=Player_{id}_&limit=10");
            let r = http.call(Method::GET, &path, &[], "").await;
            expect(&mut stats, "list keys", start, r, &ok).await;
        } else if roll < 90 {
            let path = format!(
                "{ENTRY}/entry/versions?datastoreName={STORE}&entryKey={key}&sortOrder=Descending&limit=10"
            );
            let r = http.call(Method::GET, &path, &[], "").await;
            expect(&mut stats, "list versions", start, r, &[StatusCode::OK]).await;
        } else {
            let topic = rng.random_range(0..TOPICS);
            let path = format!("/messaging-service/v1/universes/1/topics/load-{topic}");
            let body = json!({"message": format!("{id}:{}", stats.published[topic])}).to_string();
            let r = http.call(Method::POST, &path, &[], body).await;
            if expect(&mut stats, "publish", start, r, &ok).await.is_some() {
                stats.published[topic] += 1;
            }
        }
    }
    stats
}

/// Follows `topic` with long-polls from `cursor` until `stop` (set once
/// every publisher has finished, so that a publish still in flight when
/// the clock ran out is not missed), then drains;
/// returns messages received and errors.
async fn subscriber(
    http: Http,
    topic: usize,
    mut cursor: String,
    stop: Arc<AtomicBool>,
) -> (u64, Vec<String>) {
    let mut received = 0u64;
    let mut errors = Vec::new();
    loop {
        let draining = stop.load(Ordering::Relaxed);
        let timeout = if draining { 0 } else { 2 };
        let path = format!(
            "/messaging-service/v1/universes/1/topics/load-{topic}/messages?cursor={cursor}&timeout={timeout}&limit=1000"
        );
        match http.call(Method::GET, &path, &[], "").await {
            Ok(r) if r.status == StatusCode::OK => {
                let v = r.json();
                let n = v["messages"].as_array().map_or(0, Vec::len);
                received += n as u64;
                cursor = v["cursor"].as_str().unwrap_or_default().to_owned();
                if draining && n == 0 {
                    return (received, errors);
                }
            }
            Ok(r) => {
                errors.push(format!("long-poll: {} {:?}", r.status, r.body));
                return (received, errors);
            }
            Err(e) => {
                errors.push(format!("long-poll: {e}"));
                return (received, errors);
            }
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs: u64 = env_or("PROFILESTORE_LOAD_SECS", 10);
    let clients: usize = env_or("PROFILESTORE_LOAD_CLIENTS", 32);
    let session_servers: usize = env_or("PROFILESTORE_LOAD_SESSION_SERVERS", 8);
    let storage: String = env_or("PROFILESTORE_LOAD_STORAGE", "sqlite".to_owned());
    let durability: String = env_or("PROFILESTORE_LOAD_DURABILITY", "full".to_owned());
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_profilestore"),
        dir.path(),
        &[
            "--storage",
            &storage,
            "--durability",
            &durability,
            "--api-key",
            API_KEY,
        ],
        true,
    )
    .expect("the server starts");
    println!(
        "load: {secs} s, {clients} clients + {session_servers} session-API game servers + {} long-poll subscribers, {storage}, durability {durability}, server pid {}",
        TOPICS * SUBSCRIBERS_PER_TOPIC,
        server.pid()
    );
    let http = Http::new(&server.url, API_KEY);
    let stop = Arc::new(AtomicBool::new(false));
    let publishers_done = Arc::new(AtomicBool::new(false));

    let mut subscribers = Vec::new();
    for topic in 0..TOPICS {
        for _ in 0..SUBSCRIBERS_PER_TOPIC {
            let path =
                format!("/messaging-service/v1/universes/1/topics/load-{topic}/messages?timeout=0");
            let start = http
                .call(Method::GET, &path, &[], "")
                .await
                .expect("cursor");
            let cursor = start.json()["cursor"].as_str().expect("cursor").to_owned();
            subscribers.push((
                topic,
                tokio::spawn(subscriber(
                    http.clone(),
                    topic,
                    cursor,
                    Arc::clone(&publishers_done),
                )),
            ));
        }
    }
    let started = Instant::now();
    let mut workers: Vec<_> = (0..clients)
        .map(|id| tokio::spawn(client(http.clone(), id, Arc::clone(&stop))))
        .collect();
    workers.extend(
        (0..session_servers)
            .map(|id| tokio::spawn(sessions::game_server(http.clone(), id, Arc::clone(&stop)))),
    );

    let mut rss = Vec::new();
    let sample_every = Duration::from_secs((secs / 20).max(1));
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(sample_every).await;
        if let Some(kib) = server.rss_kib() {
            rss.push((started.elapsed().as_secs(), kib));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut stats = Stats::default();
    for w in workers {
        stats.merge(w.await.expect("client"));
    }
    publishers_done.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let mut delivery = Vec::new();
    for (topic, s) in subscribers {
        let (received, errors) = s.await.expect("subscriber");
        stats.errors.extend(errors);
        delivery.push((topic, received));
    }

    println!();
    println!("| operation | ops | ops/s | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut total = 0usize;
    for (op, l) in &mut stats.latencies {
        l.sort_unstable();
        total += l.len();
        println!(
            "| {op} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
            l.len(),
            l.len() as f64 / elapsed,
            percentile(l, 0.5),
            percentile(l, 0.99),
            percentile(l, 1.0)
        );
    }
    println!(
        "| **all** | {total} | {:.0} | | | |",
        total as f64 / elapsed
    );
    println!();
    let series: Vec<String> = rss
        .iter()
        .map(|(t, kib)| format!("{t}s:{:.1}", *kib as f64 / 1024.0))
        .collect();
    println!("server RSS MiB over time: {}", series.join(" "));
    if let (Some(first), Some(last), Some(max)) = (
        rss.get(rss.len() / 4),
        rss.last(),
        rss.iter().map(|(_, k)| *k).max(),
    ) {
        println!(
            "RSS after warm-up {:.1} MiB, at the end {:.1} MiB, max {:.1} MiB",
            first.1 as f64 / 1024.0,
            last.1 as f64 / 1024.0,
            max as f64 / 1024.0
        );
    }
    let mut missed = 0u64;
    for (topic, received) in &delivery {
        let published = stats.published[*topic];
        missed += published.saturating_sub(*received);
        if *received != published {
            stats.errors.push(format!(
                "topic load-{topic}: a subscriber received {received} of {published} messages"
            ));
        }
    }
    println!(
        "messages published {}, delivered to {} subscribers, missed {missed}",
        stats.published.iter().sum::<u64>(),
        delivery.len()
    );
    println!("errors: {}", stats.errors.len());
    for e in stats.errors.iter().take(20) {
        println!("  {e}");
    }
    assert!(server.stop(), "the server stops cleanly after the load");
    assert!(
        stats.errors.is_empty() && missed == 0,
        "the load run had {} errors and {missed} missed messages",
        stats.errors.len()
    );
}
