//! Group commit bench: N = 1, 8, 64, 512 concurrent durable writers, each
//! on its own key, in `full` durability, against the disk's fsync rate
//! measured in the same run (the limit when every group costs one fsync).
//!
//! Two paths per plugin: the plugin's `commit` called from N OS threads
//! (`plugin`), and `DataStore::update` from N tokio tasks (`update`: the
//! bridge, the compare-and-swap loop and the JSON transform on top).
//!
//! Columns: commits/s, the speed-up over N = 1 of the same path, the fsync
//! rate of the bench's temp folder measured within the same row (a 512-byte
//! write and `sync_data`, in a loop), commits per fsync-equivalent
//! (commits/s over fsyncs/s: above 1 means several commits per fsync), the
//! commits per flush sled counted (`SledPlugin::group_stats`), p50 and p99
//! latency, the same writers in `off` durability (no flush at all: the CPU
//! ceiling on this machine, which a group commit can approach but not
//! pass), and for sled's plugin path the same writers with a flush after
//! every commit (the plugin before group commit). Every cell runs three
//! rounds, the order of its variants rotating, and reports the median.
//!
//! SQLite and sled always; PostgreSQL too when
//! `PROFILESTORE_TEST_POSTGRES_URL` is set. Prints Markdown tables.
//!
//! Run: `cargo bench --bench group_commit` (about 3 minutes; `-- --quick`
//! for a short run, `-- sled` or `-- sqlite` or `-- postgres` for one
//! plugin).

#[allow(dead_code)] // `raw_bytes` serves the storage bench
#[path = "common/profile.rs"]
mod profile;

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use profile::sample_value;
use profilestore::clock::Clock;
use profilestore::datastore::{DataStoreConfig, DataStoreService, Transform, WriteOptions};
use profilestore::plugin_api::{
    Commit, CommitOutcome, Durability, EntryId, Expect, NewVersion, StoragePlugin, Supersede,
};
use profilestore_sled::SledPlugin;

const WRITERS: [usize; 4] = [1, 8, 64, 512];

/// One measured cell: commits, the window and every commit's latency.
struct Run {
    commits: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.commits as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort_unstable();
        self.latencies[((self.latencies.len() - 1) as f64 * p) as usize]
    }
}

/// fsyncs per second of the disk under `dir`: a 512-byte write then
/// `sync_data` (fdatasync), in a loop.
fn fsync_rate(dir: &Path, time: Duration) -> f64 {
    let file = std::fs::File::create(dir.join("fsync-probe")).expect("probe file");
    let block = [7u8; 512];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < time {
        file.write_all_at(&block, 0).expect("write");
        file.sync_data().expect("fsync");
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn commit_of(key: &str, value: &str) -> Commit {
    Commit {
        entry: EntryId::new(1, "bench", "global", key),
        expect: Expect::Any,
        now_ms: 1_700_000_000_000,
        supersede: Supersede::Keep,
        version: NewVersion {
            deleted: false,
            value: value.to_owned(),
            user_ids: vec![2_312_310],
            metadata: "{}".to_owned(),
        },
    }
}

/// `n` OS threads committing to their own keys until `time` has passed.
/// With `flush_each`, every commit is followed by its own `flush` (sled
/// before group commit, on a database opened in `off`).
fn plugin_writers(
    plugin: &Arc<dyn StoragePlugin>,
    n: usize,
    time: Duration,
    flush_each: bool,
) -> Run {
    let value = serde_json::to_string(&sample_value(1)).expect("json");
    let start = Arc::new(Barrier::new(n + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..n)
        .map(|w| {
            let (plugin, start, stop) = (Arc::clone(plugin), start.clone(), stop.clone());
            let commit = commit_of(&format!("Player_{w}"), &value);
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                start.wait();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let outcome = plugin.commit(&commit).expect("commit");
                    assert!(matches!(outcome, CommitOutcome::Committed(_)));
                    if flush_each {
                        plugin.flush().expect("flush");
                    }
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    std::thread::sleep(time);
    stop.store(true, Ordering::Relaxed);
    let latencies: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("writer"))
        .collect();
    Run {
        commits: latencies.len(),
        elapsed: began.elapsed(),
        latencies,
    }
}

/// `n` tokio tasks running `DataStore::update` on their own keys.
async fn update_writers(plugin: Arc<dyn StoragePlugin>, n: usize, time: Duration) -> Run {
    let service = DataStoreService::new(plugin, Clock::system(), DataStoreConfig::default());
    let store = service.data_store(1, "bench", "global").expect("store");
    let began = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let key = format!("Player_{w}");
                let mut latencies = Vec::new();
                while began.elapsed() < time {
                    let t = Instant::now();
                    store
                        .update(&key, |old, _| {
                            let coins = old.and_then(|v| v["Data"]["Coins"].as_i64()).unwrap_or(0);
                            Transform::Write {
                                value: sample_value(coins + 1),
                                options: WriteOptions {
                                    user_ids: vec![2_312_310],
                                    ..WriteOptions::default()
                                },
                            }
                        })
                        .await
                        .expect("update");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("task"));
    }
    Run {
        commits: latencies.len(),
        elapsed: began.elapsed(),
        latencies,
    }
}

/// A fresh database of one plugin; sled's is also kept typed so its
/// group counters can be read.
struct Fresh {
    plugin: Arc<dyn StoragePlugin>,
    sled: Option<Arc<SledPlugin>>,
    _guard: Box<dyn std::any::Any>,
}

impl Fresh {
    fn open(kind: &str, durability: Durability) -> Fresh {
        let dir = tempfile::tempdir().expect("tempdir");
        match kind {
            "sled" => {
                let sled = SledPlugin::open(&dir.path().join("sled"), durability).expect("sled");
                let sled = Arc::new(sled);
                Fresh {
                    plugin: sled.clone(),
                    sled: Some(sled),
                    _guard: Box::new(dir),
                }
            }
            "sqlite" => {
                let file = dir.path().join("db.sqlite3");
                let plugin = profilestore_sqlite::SqlitePlugin::open(&file, durability);
                Fresh {
                    plugin: Arc::new(plugin.expect("sqlite")),
                    sled: None,
                    _guard: Box::new(dir),
                }
            }
            _ => {
                let db = profilestore_postgres::test_server::TestDatabase::create()
                    .expect("PostgreSQL server");
                let plugin = profilestore_postgres::test_server::open(db.url(), durability);
                Fresh {
                    plugin: Arc::new(plugin),
                    sled: None,
                    _guard: Box::new(db),
                }
            }
        }
    }

    /// Flushes the plugin ran for writes, when it counts them.
    fn flushes(&self) -> Option<u64> {
        self.sled.as_ref().map(|p| p.group_stats().groups)
    }
}

/// One cell: `n` writers on a fresh database of `kind`.
fn measure(
    kind: &str,
    path: &str,
    durability: Durability,
    n: usize,
    time: Duration,
    runtime: &tokio::runtime::Runtime,
) -> (Run, Option<u64>) {
    let fresh = Fresh::open(kind, durability);
    let run = match path {
        "plugin" => plugin_writers(&fresh.plugin, n, time, false),
        "flush-each" => plugin_writers(&fresh.plugin, n, time, true),
        _ => runtime.block_on(update_writers(fresh.plugin.clone(), n, time)),
    };
    (run, fresh.flushes())
}

/// Rounds of each cell; the median is reported (a shared machine's disk
/// and CPUs drift from one second to the next).
const ROUNDS: usize = 3;

/// One row: the median round of each variant.
struct Cell {
    full: Run,
    flushes: Option<u64>,
    off: f64,
    before: Option<f64>,
    fsyncs: f64,
}

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// `ROUNDS` rounds of: the disk's fsync rate, the writers in `full`, in
/// `off`, and (sled's plugin path) in `off` with a flush after every
/// commit; the order rotates from round to round.
fn cell(kind: &str, path: &str, n: usize, time: Duration, rt: &tokio::runtime::Runtime) -> Cell {
    let (mut fulls, mut offs, mut befores, mut fsyncs) = (Vec::new(), vec![], vec![], vec![]);
    let mut steps = vec!["full", "off"];
    if kind == "sled" && path == "plugin" {
        steps.push("before");
    }
    for _ in 0..ROUNDS {
        let probe = tempfile::tempdir().expect("tempdir");
        fsyncs.push(fsync_rate(probe.path(), time / 4));
        for step in &steps {
            match *step {
                "full" => fulls.push(measure(kind, path, Durability::Full, n, time, rt)),
                "off" => offs.push(measure(kind, path, Durability::Off, n, time, rt).0.rate()),
                _ => befores.push(
                    measure(kind, "flush-each", Durability::Off, n, time, rt)
                        .0
                        .rate(),
                ),
            }
        }
        steps.rotate_left(1);
    }
    fulls.sort_by(|a, b| a.0.rate().total_cmp(&b.0.rate()));
    let (full, flushes) = fulls.swap_remove(ROUNDS / 2);
    Cell {
        full,
        flushes,
        off: median(offs),
        before: (!befores.is_empty()).then(|| median(befores)),
        fsyncs: median(fsyncs),
    }
}

fn table(kind: &str, path: &str, time: Duration, runtime: &tokio::runtime::Runtime) {
    println!("\n{kind}, {path} path\n");
    println!(
        "| N | commits/s | x vs N=1 | fsyncs/s | commits per fsync-equivalent \
         | commits per flush | p50 ms | p99 ms | `off` commits/s | full / off \
         | a flush per commit: commits/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut one = None;
    for n in WRITERS {
        let Cell {
            full: mut run,
            flushes,
            off,
            before,
            fsyncs,
        } = cell(kind, path, n, time, runtime);
        let rate = run.rate();
        let base = *one.get_or_insert(rate);
        let per_flush = flushes.map_or("-".to_owned(), |f| {
            format!("{:.1}", run.commits as f64 / f.max(1) as f64)
        });
        let before = before.map_or("-".to_owned(), |b| format!("{b:.0}"));
        let (p50, p99) = (run.percentile(0.5), run.percentile(0.99));
        println!(
            "| {n} | {rate:.0} | {:.1} | {fsyncs:.0} | {:.2} | {per_flush} | {:.2} | {:.2} | {off:.0} | {:.0} % | {before} |",
            rate / base,
            rate / fsyncs,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            100.0 * rate / off,
        );
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let time = Duration::from_millis(if quick { 200 } else { 1000 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(600)
        .enable_all()
        .build()
        .expect("runtime");
    let mut kinds = vec!["sqlite", "sled"];
    if profilestore_postgres::test_server::server_url().is_some() {
        kinds.push("postgres");
    }
    for kind in kinds {
        if !only.is_empty() && !only.iter().any(|o| o == kind) {
            continue;
        }
        for path in ["plugin", "update"] {
            table(kind, path, time, &runtime);
        }
    }
}
