//! Chaos simulation of the engine: many game servers on simulated time,
//! sharing one DataStore with injected plain and ambiguous commit failures
//! and one message bus that drops and delays deliveries; servers crash
//! without final saves; players hop between servers and trade items.
//!
//! Owns: the test entry points, seeds, the per-run runtime and the summary
//! table. The model lives in `world.rs`, the players and the trade protocol
//! in `workload.rs`, the checks in `invariants.rs`, the harness's record in
//! `ledger.rs`, the storage-side witness in `recorder.rs`.
//!
//! - `cargo test --test chaos`: the short run (seeds 1..=25 and the
//!   regression seeds on one node; seeds 1..=[`NODE_RUNS`] with the game
//!   servers spread over 2 or 3 nodes, each its own DataStore service and
//!   shared bus over one plugin).
//! - `PROFILESTORE_CHAOS_RUNS=1000 cargo test --release --test chaos -- --nocapture`:
//!   the long run (`PROFILESTORE_CHAOS_FIRST` moves the first seed;
//!   `PROFILESTORE_CHAOS_NODE_RUNS` sets the multi-node runs).
//! - `PROFILESTORE_CHAOS_SEED=<n>`: replays one seed (a failure prints it),
//!   in both modes.

mod invariants;
mod ledger;
mod recorder;
#[path = "../support/mod.rs"]
mod support;
mod workload;
mod world;

use std::sync::Arc;
use std::time::Duration;

use ledger::Counts;
use workload::Sabotage;
use world::{Shape, World};

/// What one run produced.
struct Outcome {
    counts: Counts,
    violations: Vec<String>,
}

/// A run that has not finished after a simulated day is stuck: a liveness
/// bug (a final save or a shutdown that never ends).
const STUCK: Duration = Duration::from_secs(24 * 3600);

/// Multi-node runs of the short run (each costs about as much as a
/// one-node run: keep the test under ~30 s in debug).
const NODE_RUNS: u64 = 40;

/// Where a run's game servers live.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// One node: one DataStore service, a local bus.
    OneNode,
    /// 2 or 3 nodes (drawn from the seed) over one shared plugin.
    Nodes,
}

fn run_seed(seed: u64, sabotage: Sabotage) -> Outcome {
    run_seed_in(seed, sabotage, Mode::OneNode)
}

fn run_seed_in(seed: u64, sabotage: Sabotage, mode: Mode) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        match tokio::time::timeout(STUCK, simulate(seed, sabotage, mode)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome {
                counts: Counts {
                    runs: 1,
                    violations: 1,
                    ..Counts::default()
                },
                violations: vec!["the run did not finish within a simulated day".into()],
            },
        }
    })
}

async fn simulate(seed: u64, sabotage: Sabotage, mode: Mode) -> Outcome {
    let shape = Shape::of(&mut World::rng(seed, 0));
    let nodes = match mode {
        Mode::OneNode => 1,
        Mode::Nodes => World::nodes_of(seed),
    };
    let world = World::new(&shape, sabotage, nodes).await;
    let keys: Arc<Vec<String>> =
        Arc::new((0..shape.players).map(|i| format!("player{i}")).collect());
    let until = tokio::time::Instant::now() + shape.duration;
    // Players go on for a while after the servers start shutting down.
    let stop = until + Duration::from_secs(90);
    let players: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let rng = World::rng(seed, i as u64 + 1);
            tokio::spawn(workload::player(
                Arc::clone(&world),
                key.clone(),
                Arc::clone(&keys),
                rng,
                stop,
            ))
        })
        .collect();
    let chaos = tokio::spawn(Arc::clone(&world).chaos(World::rng(seed, 1_000), until));
    let mut violations = Vec::new();
    for task in players.into_iter().chain([chaos]) {
        if let Err(e) = task.await {
            violations.push(format!("a task failed: {e}"));
        }
    }
    violations.extend(invariants::check(&world, &keys).await);
    world.stop_buses().await;
    let mut counts = world.ledger.lock().counts;
    let ambiguous = u64::from(world.faulty.injected_ambiguous());
    let bus = world.bus_fault_counts();
    counts.runs = 1;
    counts.ambiguous = ambiguous;
    counts.store_errors = u64::from(world.faulty.injected()) - ambiguous;
    counts.dropped = bus.dropped;
    counts.delayed = bus.delayed;
    counts.violations = violations.len() as u64;
    world.release();
    Outcome { counts, violations }
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {text:?}")),
    )
}

fn node_seeds() -> Vec<u64> {
    if let Some(seed) = env_u64("PROFILESTORE_CHAOS_SEED") {
        return vec![seed];
    }
    let first = env_u64("PROFILESTORE_CHAOS_FIRST").unwrap_or(1);
    (first..first + env_u64("PROFILESTORE_CHAOS_NODE_RUNS").unwrap_or(NODE_RUNS)).collect()
}

fn seeds() -> Vec<u64> {
    if let Some(seed) = env_u64("PROFILESTORE_CHAOS_SEED") {
        return vec![seed];
    }
    let first = env_u64("PROFILESTORE_CHAOS_FIRST").unwrap_or(1);
    let runs = env_u64("PROFILESTORE_CHAOS_RUNS").unwrap_or(25);
    let mut seeds: Vec<u64> = (first..first + runs).collect();
    let extra: Vec<u64> = REGRESSION_SEEDS
        .into_iter()
        .filter(|s| !seeds.contains(s))
        .collect();
    seeds.extend(extra);
    seeds
}

/// Seeds that found engine bugs, always run. 4, 13, 22 and 29 (in the
/// default range) lost saved items and acknowledged trades while a server
/// whose access probe met a transient error used its mock stores; 130, 149
/// and 200 lost an item minted while a shutdown's final save was being
/// retried after an ambiguous failure; in 960 a start that was waiting for
/// its key's turn when its server crashed took the profile afterwards, and
/// the crashed server went on saving it.
const REGRESSION_SEEDS: [u64; 4] = [130, 149, 200, 960];

fn summary(c: &Counts, elapsed: Duration) -> String {
    let rows = [
        ("runs", c.runs),
        ("servers (crash replacements included)", c.servers),
        ("sessions", c.sessions),
        (
            "starts with no profile (refused, given up, server closing)",
            c.starts_refused,
        ),
        ("items minted", c.mints),
        ("trades acknowledged", c.trades),
        ("repeated deliveries deduplicated", c.duplicate_deliveries),
        ("crashes", c.crashes),
        ("injected store errors (plain)", c.store_errors),
        ("injected ambiguous errors", c.ambiguous),
        ("bus deliveries dropped", c.dropped),
        ("bus deliveries delayed", c.delayed),
        ("items lost to crashes", c.lost_to_crashes),
        ("items lost to steals", c.lost_to_steals),
        ("violations", c.violations),
    ];
    let mut out = format!(
        "\nchaos summary ({:.1} s)\n| | |\n|---|---:|\n",
        elapsed.as_secs_f64()
    );
    for (name, n) in rows {
        out.push_str(&format!("| {name} | {n} |\n"));
    }
    out
}

#[test]
fn chaos_runs_keep_every_invariant() {
    run_all(&seeds(), Mode::OneNode);
}

#[test]
fn chaos_runs_with_servers_on_several_nodes_keep_every_invariant() {
    run_all(&node_seeds(), Mode::Nodes);
}

fn run_all(seeds: &[u64], mode: Mode) {
    let started = std::time::Instant::now();
    let mut total = Counts::default();
    let mut failed: Vec<(u64, Vec<String>)> = Vec::new();
    for &seed in seeds {
        let outcome = run_seed_in(seed, Sabotage::None, mode);
        total.add(&outcome.counts);
        if !outcome.violations.is_empty() {
            eprintln!("seed {seed}: {} violations", outcome.violations.len());
            failed.push((seed, outcome.violations));
        }
    }
    println!("{mode:?}: {}", summary(&total, started.elapsed()));
    if let Some((seed, violations)) = failed.first() {
        let shown: Vec<&str> = violations.iter().take(20).map(String::as_str).collect();
        panic!(
            "{} chaos run(s) failed (seeds {:?}); replay the first with PROFILESTORE_CHAOS_SEED={seed}:\n{}",
            failed.len(),
            failed.iter().map(|(s, _)| s).collect::<Vec<_>>(),
            shown.join("\n")
        );
    }
}

/// The checks can fail: a deliberately broken protocol is caught.
fn caught(sabotage: Sabotage) -> bool {
    (1..=40).any(|seed| !run_seed(seed, sabotage).violations.is_empty())
}

#[test]
fn a_receiver_without_dedup_is_caught() {
    assert!(caught(Sabotage::NoDedup), "duplicates went unnoticed");
}

#[test]
fn a_sender_sending_before_its_save_is_caught() {
    assert!(
        caught(Sabotage::SendUnsaved),
        "a send before the save went unnoticed"
    );
}
