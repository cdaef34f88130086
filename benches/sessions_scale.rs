//! Sessions at scale: N live ProfileStore sessions in one process with
//! auto-save running, on the memory plugin, then on SQLite (durability
//! `normal`). Prints Markdown tables.
//!
//! Time: the engine runs on the server's clock driven by tokio's *paused*
//! clock (`Clock::tokio`), with the normal 300 s auto-save period: tokio
//! jumps to the next timer whenever every task waits, so the auto-save
//! periods pass as fast as the saves themselves run, and the order of
//! events (and so every count below) is the same on every run. A save takes
//! no simulated time; its real cost is the wall time per period.
//!
//! Each backend runs in a child process of this binary, so the memory that
//! one run frees is not reused by (and hidden from) the next one's RSS
//! deltas. In the child, in order:
//! 1. the data baseline: N bare `serde_json::Value`s of the profiles' `Data`
//!    parsed from JSON (kept alive), its RSS per value;
//! 2. storage seeded with N + M profile documents (M for the cycles);
//! 3. start/end cycles with ~0 sessions held (M keys, 16 workers);
//! 4. N sessions started (16 workers) and held: RSS per session, and that
//!    minus one copy of the data (the baseline's figure);
//! 5. the same start/end cycles while N are held;
//! 6. auto-save for several periods: saves per 10 s of simulated time;
//! 7. RSS again (growth per session after the saves), then, with
//!    `PROFILESTORE_SCALE_SHUTDOWN=1`, a timed shutdown (N final saves).
//!
//! Run: `cargo bench --bench sessions_scale`; the size comes from
//! `PROFILESTORE_SESSIONS` (default 100 000), the number of auto-save
//! periods from `PROFILESTORE_SCALE_PERIODS` (default 2). The figures in
//! BENCHMARKS.md: `PROFILESTORE_SCALE_PERIODS=3 PROFILESTORE_SCALE_SHUTDOWN=1`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use profilestore::bus::{BusConfig, MessageBus};
use profilestore::clock::Clock;
use profilestore::datastore::observe::{CommitObserver, Committed};
use profilestore::datastore::{DataStoreConfig, DataStoreService, WriteOptions};
use profilestore::engine::document::ProfileDocument;
use profilestore::engine::{Engine, EngineConfig, Profile, ProfileStore, StartOptions};
use profilestore::plugin_api::{Durability, StoragePlugin};
use profilestore::storage::{open, StorageConfig, StorageKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The child's environment variable: which backend it runs.
const CHILD: &str = "PROFILESTORE_SCALE_CHILD";
/// Start/end cycles per throughput figure.
const CYCLES: usize = 10_000;
/// Concurrent workers starting and ending sessions.
const WORKERS: usize = 16;
/// The simulated time of one bucket of the auto-save series.
const BUCKET: Duration = Duration::from_secs(10);
const START_MS: i64 = 1_700_000_000_000;

/// What one backend's run measured.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Figures {
    backend: String,
    n: usize,
    data_json_bytes: usize,
    doc_json_bytes: usize,
    /// RSS per bare `Value` of the data.
    value_rss: f64,
    /// RSS per seeded document in storage.
    storage_rss: f64,
    /// RSS per started session.
    session_rss: f64,
    /// RSS growth per session over the auto-save periods.
    after_saves_rss: f64,
    start_n_secs: f64,
    cycles_idle: f64,
    cycles_held: f64,
    /// Saves per bucket once every session is old enough to be saved.
    buckets: Vec<u64>,
    /// Wall seconds per auto-save period.
    period_wall: Vec<f64>,
    shutdown_secs: f64,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace(['_', ' '], "").parse().ok())
        .unwrap_or(default)
}

/// Resident set size in bytes (`/proc/self/statm`, pages of 4 KiB).
fn rss() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096.0
}

/// A profile's `Data`: about 0.5 KiB of JSON, shaped like a player's.
fn data(i: usize) -> Value {
    json!({
        "Coins": i, "Level": 17, "Gems": 3, "Settings": {"Music": true, "Volume": 0.8},
        "Inventory": (0..40).map(|j| format!("item-{j:04}")).collect::<Vec<_>>(),
    })
}

/// Counts every commit the DataStore service makes.
#[derive(Default)]
struct Commits(AtomicU64);

impl CommitObserver for Commits {
    fn committed(&self, _c: &Committed<'_>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Commits {
    fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

fn main() {
    match std::env::var(CHILD) {
        Ok(backend) => child(&backend),
        Err(_) => parent(),
    }
}

fn parent() {
    let mut all = Vec::new();
    for backend in ["memory", "sqlite"] {
        let out = std::process::Command::new(std::env::current_exe().expect("exe"))
            .env(CHILD, backend)
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("child run");
        assert!(out.status.success(), "the {backend} run failed");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let line = text.lines().last().expect("figures");
        all.push(serde_json::from_str::<Figures>(line).expect("figures json"));
    }
    print_tables(&all);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
}

fn child(backend: &str) {
    let n = env_usize("PROFILESTORE_SESSIONS", 100_000);
    let periods = env_usize("PROFILESTORE_SCALE_PERIODS", 2);
    let dir = tempfile::tempdir().expect("tempdir");
    let kind = match backend {
        "memory" => StorageKind::Memory,
        _ => StorageKind::Sqlite,
    };
    let plugin = open(&StorageConfig {
        kind,
        data_dir: dir.path().to_path_buf(),
        durability: Durability::Normal,
        postgres_url: None,
    })
    .expect("open storage");
    let figures = runtime().block_on(run(backend, plugin, n, periods));
    println!("{}", serde_json::to_string(&figures).expect("json"));
}

async fn run(backend: &str, plugin: Arc<dyn StoragePlugin>, n: usize, periods: usize) -> Figures {
    let mut f = Figures {
        backend: backend.to_owned(),
        n,
        data_json_bytes: serde_json::to_string(&data(n)).expect("json").len(),
        ..Figures::default()
    };
    // 1. The data baseline, kept alive so later phases cannot reuse it:
    // parsed from JSON text, as a session's data is (from the stored
    // document).
    let texts: Vec<String> = (0..n).map(|i| data(i).to_string()).collect();
    let mut values: Vec<Value> = Vec::with_capacity(n);
    let before = rss();
    values.extend(texts.iter().map(|t| serde_json::from_str(t).expect("json")));
    f.value_rss = (rss() - before) / n as f64;

    let clock = Clock::tokio(START_MS);
    let ds = DataStoreService::new(plugin, clock.clone(), DataStoreConfig::default());
    let commits = Arc::new(Commits::default());
    ds.set_commit_observer(commits.clone());
    let bus = MessageBus::new(clock.clone(), BusConfig::default());
    let engine = Engine::new(ds.clone(), bus, 1, 1, "scale-job", EngineConfig::default());
    let store = engine.store("Players", data(0)).expect("store");

    // 2. Storage seeded (a profile document per key, no session).
    let held: Arc<Vec<String>> = Arc::new((0..n).map(|i| format!("player-{i}")).collect());
    let cycled: Arc<Vec<String>> = Arc::new((0..CYCLES).map(|i| format!("cycle-{i}")).collect());
    let before = rss();
    seed(&ds, &held, clock.now_secs()).await;
    f.storage_rss = (rss() - before) / n as f64;
    seed(&ds, &cycled, clock.now_secs()).await;
    let doc = ProfileDocument::new(data(n), clock.now_secs()).to_value();
    f.doc_json_bytes = serde_json::to_string(&doc).expect("json").len();
    eprintln!("[{backend}] seeded {n} profiles");

    // 3. Start/end throughput with ~0 sessions held.
    f.cycles_idle = cycles(&store, &cycled).await;

    // 4. N sessions started and held.
    let profiles = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let before = rss();
    let started = Instant::now();
    start_all(&store, &held, &profiles).await;
    f.start_n_secs = started.elapsed().as_secs_f64();
    let rss_held = rss();
    f.session_rss = (rss_held - before) / n as f64;
    eprintln!("[{backend}] {n} sessions held");

    // 5. Start/end throughput while N are held.
    f.cycles_held = cycles(&store, &cycled).await;

    // 6. Auto-save over `periods` periods of simulated time.
    let period = EngineConfig::default().auto_save_period;
    let per_period = (period.as_secs() / BUCKET.as_secs()) as usize;
    let mut last = commits.count();
    let mut wall = Instant::now();
    for b in 1..=periods * per_period {
        tokio::time::sleep(BUCKET).await;
        let now = commits.count();
        // Sessions younger than half a period are skipped: count from then.
        if b > per_period / 2 {
            f.buckets.push(now - last);
        }
        last = now;
        if b % per_period == 0 {
            f.period_wall.push(wall.elapsed().as_secs_f64());
            wall = Instant::now();
        }
    }
    f.after_saves_rss = (rss() - rss_held) / n as f64;
    eprintln!("[{backend}] {periods} auto-save periods done");

    // 7. Shutdown: N final saves; or, for a short run, a crash (none).
    if std::env::var_os("PROFILESTORE_SCALE_SHUTDOWN").is_some_and(|v| v == "1") {
        let stopped = Instant::now();
        engine.shutdown().await;
        f.shutdown_secs = stopped.elapsed().as_secs_f64();
    } else {
        engine.crash();
    }
    let ended = profiles
        .lock()
        .expect("profiles")
        .iter()
        .all(|p| !p.is_active());
    assert!(ended, "shutdown ended every session");
    drop((values, texts));
    f
}

/// Writes a fresh profile document (no session) for every key.
async fn seed(ds: &DataStoreService, keys: &Arc<Vec<String>>, now_secs: i64) {
    let store = ds.data_store(1, "Players", "global").expect("store");
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..WORKERS * 4 {
        let (store, keys, next) = (store.clone(), Arc::clone(keys), Arc::clone(&next));
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(key) = keys.get(i) else { break };
                let doc = ProfileDocument::new(data(i), now_secs).to_value();
                let options = WriteOptions::default();
                store.set(key, &doc, &options).await.expect("seed");
            }
        });
    }
    while workers.join_next().await.is_some() {}
}

/// Starts a session of every key with [`WORKERS`] workers; keeps them.
async fn start_all(store: &ProfileStore, keys: &Arc<Vec<String>>, out: &Arc<Mutex<Vec<Profile>>>) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let (store, keys, next, out) = (
            store.clone(),
            Arc::clone(keys),
            Arc::clone(&next),
            Arc::clone(out),
        );
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(key) = keys.get(i) else { break };
                let profile = store.start_session(key, StartOptions::default()).await;
                let profile = profile.expect("start").expect("a profile");
                out.lock().expect("profiles").push(profile);
            }
        });
    }
    while workers.join_next().await.is_some() {}
}

/// Sessions started and ended per second (wall time) over `keys`.
async fn cycles(store: &ProfileStore, keys: &Arc<Vec<String>>) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let (store, keys, next) = (store.clone(), Arc::clone(keys), Arc::clone(&next));
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(key) = keys.get(i) else { break };
                let profile = store.start_session(key, StartOptions::default()).await;
                profile
                    .expect("start")
                    .expect("a profile")
                    .end_session()
                    .await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
    keys.len() as f64 / started.elapsed().as_secs_f64()
}

fn median(sorted: &[u64]) -> u64 {
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

fn print_tables(all: &[Figures]) {
    let kib = |b: f64| format!("{:.2} KiB", b / 1024.0);
    println!("| backend | N | data JSON | bare `Value` of the data | session (RSS) | session beyond one copy of the data | growth after the saves | storage per document |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for f in all {
        println!(
            "| {} | {} | {} B | {} | {} | **{}** | {} | {} |",
            f.backend,
            f.n,
            f.data_json_bytes,
            kib(f.value_rss),
            kib(f.session_rss),
            kib(f.session_rss - f.value_rss),
            kib(f.after_saves_rss),
            kib(f.storage_rss),
        );
    }
    println!();
    println!("| backend | expected per 10 s (N / 300 s) | min | median | max | buckets | wall s per period | shutdown (N final saves) |");
    println!("|---|---:|---:|---:|---:|---:|---|---:|");
    for f in all {
        let mut sorted = f.buckets.clone();
        sorted.sort_unstable();
        let walls: Vec<String> = f.period_wall.iter().map(|w| format!("{w:.1}")).collect();
        let shutdown = if f.shutdown_secs > 0.0 {
            format!("{:.1} s", f.shutdown_secs)
        } else {
            "not run".to_owned()
        };
        println!(
            "| {} | {:.0} | {} | {} | {} | {} | {} | {} |",
            f.backend,
            f.n as f64 * BUCKET.as_secs_f64() / 300.0,
            sorted.first().copied().unwrap_or(0),
            median(&sorted),
            sorted.last().copied().unwrap_or(0),
            sorted.len(),
            walls.join(", "),
            shutdown,
        );
    }
    println!();
    println!(
        "| backend | start+end per s, ~0 held | start+end per s, N held | ratio | N started in |"
    );
    println!("|---|---:|---:|---:|---:|");
    for f in all {
        println!(
            "| {} | {:.0} | {:.0} | {:.0} % | {:.1} s ({:.0}/s) |",
            f.backend,
            f.cycles_idle,
            f.cycles_held,
            100.0 * f.cycles_held / f.cycles_idle,
            f.start_n_secs,
            f.n as f64 / f.start_n_secs,
        );
    }
}
