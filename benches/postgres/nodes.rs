//! Part 2 of the PostgreSQL bench: the same client load (32 concurrent
//! HTTP clients, each setting and getting its own four entries through Open
//! Cloud v1, client `i` on node `i mod n`) against 1, 2 and 3 `serve`
//! nodes on a fresh database each, for a fixed time after a warm-up.
//! Reports aggregate ops/s, the ratio to one node, p50/p99 latency, errors,
//! and where the CPU went during the measured window: the PostgreSQL
//! server, the nodes, and the bench process (the clients), as shares of
//! the machine's cores.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use profilestore_postgres::test_server::{self, TestDatabase};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::cpu::Meter;
use super::raw_client::Http;
use super::{ms, node_config, percentile, Budget, Node};

const CLIENTS: usize = 32;
const KEYS_PER_CLIENT: usize = 4;
const WARM_UP: Duration = Duration::from_secs(1);
const ENTRY: &str =
    "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=Bench";

/// Client phases: warm-up (not counted), measured, stop.
const WARMING: u8 = 0;
const MEASURING: u8 = 1;
const STOP: u8 = 2;

/// What one client saw in the measured window.
#[derive(Debug, Default)]
struct Seen {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

/// One client: 50 % sets of a ~1 KiB profile, 50 % gets, on its own keys.
async fn client(http: Http, id: usize, phase: Arc<AtomicU8>) -> Seen {
    let mut rng = SmallRng::seed_from_u64(id as u64);
    let mut seen = Seen::default();
    let mut n = 0i64;
    loop {
        let at_start = phase.load(Ordering::Relaxed);
        if at_start == STOP {
            return seen;
        }
        let key = format!("C{id}_{}", rng.random_range(0..KEYS_PER_CLIENT));
        let path = format!("{ENTRY}&entryKey={key}");
        n += 1;
        let start = Instant::now();
        let (answer, ok) = if rng.random_bool(0.5) {
            let items: Vec<String> = (0..40).map(|i| format!("item-{i:04}")).collect();
            let body =
                json!({"Data": {"Coins": n, "Items": items}, "MetaData": {"SessionLoadCount": n}});
            let answer = http
                .call(
                    Method::POST,
                    &path,
                    &[("roblox-entry-userids", "[1]")],
                    body.to_string(),
                )
                .await;
            (answer, &[StatusCode::OK][..])
        } else {
            let answer = http.call(Method::GET, &path, &[], "").await;
            (answer, &[StatusCode::OK, StatusCode::NOT_FOUND][..])
        };
        let took = start.elapsed();
        if at_start != MEASURING || phase.load(Ordering::Relaxed) != MEASURING {
            continue;
        }
        match answer {
            Ok(r) if ok.contains(&r.status) => seen.latencies.push(took),
            other => {
                seen.errors += 1;
                seen.first_error.get_or_insert_with(|| match other {
                    Ok(r) => format!("{} {:?}", r.status, r.body),
                    Err(e) => e,
                });
            }
        }
    }
}

/// CPU seconds so far: (server, nodes, bench).
fn cpu_now(meter: &Meter, nodes: &[Node]) -> (f64, f64, f64) {
    let nodes_cpu = nodes.iter().filter_map(|n| meter.process(n.pid())).sum();
    (
        meter.server().unwrap_or(f64::NAN),
        nodes_cpu,
        meter.this_process().unwrap_or(f64::NAN),
    )
}

/// One row: `(ops/s, p50, p99, errors, cpu shares (server, nodes, bench))`.
struct Row {
    rate: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
    first_error: Option<String>,
    cpu: (f64, f64, f64),
}

async fn measure(urls: &[String], meter: &Meter, nodes: &[Node], window: Duration) -> Row {
    let https: Vec<Http> = urls.iter().map(|u| Http::new(u, super::API_KEY)).collect();
    let phase = Arc::new(AtomicU8::new(WARMING));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|id| {
            tokio::spawn(client(
                https[id % https.len()].clone(),
                id,
                Arc::clone(&phase),
            ))
        })
        .collect();
    tokio::time::sleep(WARM_UP).await;
    let before = cpu_now(meter, nodes);
    let started = Instant::now();
    phase.store(MEASURING, Ordering::Relaxed);
    tokio::time::sleep(window).await;
    phase.store(STOP, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let after = cpu_now(meter, nodes);
    let mut all = Seen::default();
    for t in tasks {
        let seen = t.await.expect("client");
        all.latencies.extend(seen.latencies);
        all.errors += seen.errors;
        all.first_error = all.first_error.or(seen.first_error);
    }
    all.latencies.sort();
    let secs = elapsed.as_secs_f64();
    let share = |a: f64, b: f64| (b - a) / secs;
    Row {
        rate: all.latencies.len() as f64 / secs,
        p50: percentile(&all.latencies, 0.5),
        p99: percentile(&all.latencies, 0.99),
        errors: all.errors,
        first_error: all.first_error,
        cpu: (
            share(before.0, after.0),
            share(before.1, after.1),
            share(before.2, after.2),
        ),
    }
}

/// The postmaster's pid: the parent of a backend of ours.
fn postmaster(url: &str) -> Option<u32> {
    let mut client = test_server::raw_client(url);
    let backend: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .ok()?
        .get(0);
    Meter::parent_of(u32::try_from(backend).ok()?)
}

/// Prints the node table.
pub(crate) fn run(budget: Budget) {
    let admin = test_server::server_url().expect("checked by main");
    let meter = Meter::new(postmaster(&admin));
    if meter_missing(&meter) {
        println!(
            "(the PostgreSQL server's processes are not visible here: its CPU is not reported)"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = node_config(dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    println!(
        "{CLIENTS} clients (50 % set of a ~1 KiB entry, 50 % get), {} s measured after {} s warm-up; CPU in cores busy (of {cores:.0})\n",
        budget.load.as_secs(),
        WARM_UP.as_secs()
    );
    println!("| nodes | ops/s | vs 1 node | p50 ms | p99 ms | errors | CPU postgres | CPU nodes | CPU bench clients | CPU total |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut base = None;
    for n in 1..=3 {
        let db = TestDatabase::create().expect("a database");
        let nodes: Vec<Node> = (1..=n)
            .map(|i| Node::start(db.url(), &format!("n{i}"), &config))
            .collect();
        let urls: Vec<String> = nodes.iter().map(|n| n.url().to_owned()).collect();
        let row = runtime.block_on(measure(&urls, &meter, &nodes, budget.load));
        let base = *base.get_or_insert(row.rate);
        let (pg, ours, bench) = row.cpu;
        println!(
            "| {n} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {pg:.2} | {ours:.2} | {bench:.2} | {:.2} |",
            row.rate,
            row.rate / base,
            ms(row.p50),
            ms(row.p99),
            row.errors,
            pg + ours + bench,
        );
        if let Some(e) = row.first_error {
            println!("first error: {e}");
        }
        for node in nodes {
            node.stop();
        }
    }
}

fn meter_missing(meter: &Meter) -> bool {
    meter.server().is_none()
}
