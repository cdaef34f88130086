//! PostgreSQL and several nodes: what a cluster of `profilestore serve`
//! processes on one database costs and gains, each figure beside a
//! baseline measured in the same run. Prints Markdown tables:
//!
//! 1. `DataStore::update` ops/s on the PostgreSQL plugin against a raw
//!    `INSERT ... ON CONFLICT DO UPDATE` of the same bytes through plain
//!    `postgres::Client`s, at the same concurrency (`postgres/update.rs`);
//! 2. aggregate Open Cloud v1 throughput of 1, 2 and 3 nodes on one
//!    database under the same client load, with the CPU time of the
//!    PostgreSQL server, the nodes and the bench's own clients
//!    (`postgres/nodes.rs`);
//! 3. handoff latency of one profile passed back and forth between two game
//!    servers on one node against the same on two nodes (the remote Rust
//!    engine and the session API; `postgres/handoff.rs`).
//!
//! Needs a PostgreSQL server: `PROFILESTORE_TEST_POSTGRES_URL` (e.g. from
//! `scripts/postgres start /tmp/pg`); each part gets fresh databases.
//! Without one the bench prints a notice and exits successfully.
//!
//! Run: `cargo bench --bench postgres` (about 50 s; add `-- --quick`
//! for a short smoke run). Nothing is asserted on time: ratios against a
//! baseline of the same run compare across machines, absolute numbers
//! depend on the machine, its cores and the server's `fsync`.

#[path = "postgres/cpu.rs"]
mod cpu;
#[path = "postgres/handoff.rs"]
mod handoff;
#[path = "postgres/nodes.rs"]
mod nodes;
#[path = "common/profile.rs"]
mod profile;
#[path = "../tests/support/raw_client.rs"]
mod raw_client;
#[path = "postgres/update.rs"]
mod update;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use profilestore_postgres::test_server;
use raw_client::process::ServeProcess;

/// The API key every node of the bench is started with.
const API_KEY: &str = "bench-key";

/// How long each measurement runs.
#[derive(Clone, Copy, Debug)]
struct Budget {
    /// One cell of the update table.
    update: Duration,
    /// The measured window of each node count (after a warm-up).
    load: Duration,
    /// Handoffs per row of the handoff table.
    handoffs: usize,
}

/// The nodes' config: the engine timers of the sessions they host
/// through the session API shortened as in `fixtures/configs/fast.toml`
/// (a missed release notice costs half a second, not ten), the session
/// lease left at its default (no game server here polls events).
const NODE_CONFIG: &str = "[engine]
load_repeat_period_secs = 0.5
first_load_repeat_secs = 0.25
session_steal_secs = 2.0
start_session_timeout_secs = 60.0
";

/// Writes [`NODE_CONFIG`] into `dir`; its path.
fn node_config(dir: &Path) -> PathBuf {
    let path = dir.join("bench-node.toml");
    std::fs::write(&path, NODE_CONFIG).expect("node config");
    path
}

/// A running node: `serve --storage postgres` on `db_url` with its own
/// data folder (for `serve.lock`), stopped (SIGTERM) by [`Node::stop`] and
/// killed if dropped.
struct Node {
    _dir: tempfile::TempDir,
    server: ServeProcess,
}

impl Node {
    /// Node `id` of the cluster on `db_url`, durability `full`.
    fn start(db_url: &str, id: &str, config: &Path) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = ServeProcess::builder(dir.path())
            .storage("postgres")
            .durability("full")
            .api_key(API_KEY)
            .arg("--config")
            .arg(config)
            .args(["--node-id", id])
            .env("PROFILESTORE_POSTGRES_URL", db_url)
            .log_unless_set("warn")
            .start();
        Node { _dir: dir, server }
    }

    fn url(&self) -> &str {
        &self.server.url
    }

    fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// SIGTERM and wait; panics unless it exited cleanly.
    fn stop(self) {
        assert!(self.server.stop().success(), "a node exited uncleanly");
    }
}

/// Element `p` (0..=1) of an ascending slice.
fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The server's version and the settings that decide what `full` means.
fn describe_server(url: &str) -> String {
    let mut client = test_server::raw_client(url);
    let mut show = |name: &str| -> String {
        client
            .query_one(&format!("SHOW {name}"), &[])
            .map(|row| row.get(0))
            .unwrap_or_else(|e| format!("? ({e})"))
    };
    format!(
        "PostgreSQL {}, fsync = {}, full_page_writes = {}, wal_sync_method = {}",
        show("server_version"),
        show("fsync"),
        show("full_page_writes"),
        show("wal_sync_method"),
    )
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let Some(url) = test_server::server_url() else {
        println!("postgres bench: skipped (set PROFILESTORE_TEST_POSTGRES_URL, e.g. from `scripts/postgres start /tmp/pg`)");
        return;
    };
    let budget = if quick {
        Budget {
            update: Duration::from_millis(300),
            load: Duration::from_secs(1),
            handoffs: 4,
        }
    } else {
        Budget {
            update: Duration::from_millis(1500),
            load: Duration::from_secs(8),
            handoffs: 20,
        }
    };
    let began = Instant::now();
    println!("postgres bench: {}", describe_server(&url));
    println!(
        "machine: {} cores (the server, the nodes and the bench's clients share them)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("\n## DataStore::update against a raw upsert of the same bytes\n");
    update::run(budget);
    println!("\n## Nodes on one database, same client load\n");
    nodes::run(budget);
    println!("\n## Handoff of one profile between two game servers\n");
    handoff::run(budget);
    println!(
        "\npostgres bench: done in {:.0} s",
        began.elapsed().as_secs_f64()
    );
}
