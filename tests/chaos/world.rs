//! The simulated world of one chaos run and the chaos itself.
//!
//! Owns: [`World`] (one in-memory plugin behind the fault injector and
//! the recorder; one node, with its DataStore service and local message
//! bus, or 2-3 nodes, each its own DataStore service and shared bus over
//! that plugin, as a cluster on one database; the game servers that come
//! and go, slot `i` on node `i % nodes`) and the chaos driver: random
//! crashes (a server stops dead, no final save, and a fresh server with a
//! new job id takes its place on the same node), randomly armed plain and
//! ambiguous commit failures, and random message drop rates and delays
//! (on every node's deliveries). Invariant: every random choice comes from
//! a generator seeded from the run's seed; nothing reads the wall clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use profilestore::bus::{BusConfig, BusFaultCounts, BusFaults, MessageBus, SharedBusConfig};
use profilestore::clock::Clock;
use profilestore::datastore::{DataStoreConfig, DataStoreService};
use profilestore::engine::{Engine, EngineConfig, ProfileStore};
use profilestore::faults::FaultyPlugin;
use profilestore::storage::Storage;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::ledger::Ledger;
use super::recorder::Recorder;
use super::support::world::{World as MemoryWorld, T0};
use super::workload::{Cell, Sabotage};

pub(crate) const STORE: &str = "Players";

/// The shape of one run, drawn from its seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub servers: usize,
    pub players: usize,
    pub duration: Duration,
}

impl Shape {
    pub(crate) fn of(rng: &mut SmallRng) -> Self {
        Shape {
            servers: rng.random_range(2..=5),
            players: rng.random_range(4..=10),
            duration: Duration::from_secs(rng.random_range(600..=1800)),
        }
    }
}

/// The data every profile starts from.
pub(crate) fn template() -> Value {
    json!({"Items": [], "Outbox": {}, "Received": {}})
}

/// One game server slot: the engine now running in it.
#[derive(Clone, Debug)]
pub(crate) struct Server {
    pub engine: Engine,
    pub store: ProfileStore,
    pub job: String,
}

/// One node of the cluster: its DataStore service and bus.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub datastores: DataStoreService,
    pub bus: MessageBus,
}

/// How often a shared bus reads the log in the simulation (simulated
/// time; each read is a timer, so shorter costs run time).
const SIM_POLL: Duration = Duration::from_millis(500);

#[derive(Debug)]
pub(crate) struct World {
    /// Node 0's DataStore service (what the checks read).
    pub datastores: DataStoreService,
    pub nodes: Vec<Node>,
    pub faulty: Arc<FaultyPlugin>,
    pub recorder: Arc<Recorder>,
    pub ledger: Arc<Ledger>,
    pub config: EngineConfig,
    pub sabotage: Sabotage,
    /// Handlers' links to their profiles, cut when the run ends.
    pub cells: Mutex<Vec<Cell>>,
    /// Never locked across an `.await`: callers clone a server out.
    slots: Mutex<Vec<(Server, u32)>>,
}

impl World {
    /// A world of `nodes` nodes (1: one DataStore service and a local bus).
    pub(crate) async fn new(shape: &Shape, sabotage: Sabotage, nodes: usize) -> Arc<Self> {
        let (memory, faulty) = MemoryWorld::faulty(Clock::tokio(T0));
        let recorder = Recorder::attach(&faulty, STORE);
        let nodes = if nodes <= 1 {
            vec![Node {
                datastores: memory.datastores.clone(),
                bus: memory.bus,
            }]
        } else {
            let mut all = Vec::new();
            for _ in 0..nodes {
                all.push(shared_node(&faulty, &memory.clock).await);
            }
            all
        };
        let world = World {
            datastores: nodes[0].datastores.clone(),
            nodes,
            faulty,
            recorder,
            ledger: Arc::default(),
            config: EngineConfig::default(),
            sabotage,
            cells: Mutex::new(Vec::new()),
            slots: Mutex::new(Vec::new()),
        };
        let servers: Vec<_> = (0..shape.servers)
            .map(|i| (world.server_on(i, &format!("s{i}-g0")), 0))
            .collect();
        *world.slots.lock().expect("slots") = servers;
        Arc::new(world)
    }

    /// A new game server with job id `job` on node 0.
    pub(crate) fn server(&self, job: &str) -> Server {
        self.server_on(0, job)
    }

    /// A new game server with job id `job` on the node of slot `slot`.
    fn server_on(&self, slot: usize, job: &str) -> Server {
        self.ledger.lock().counts.servers += 1;
        let node = &self.nodes[slot % self.nodes.len()];
        let engine = Engine::new(
            node.datastores.clone(),
            node.bus.clone(),
            1,
            7,
            job,
            self.config.clone(),
        );
        let store = engine.store(STORE, template()).expect("store");
        Server {
            engine,
            store,
            job: job.to_owned(),
        }
    }

    pub(crate) fn pick(&self, rng: &mut SmallRng) -> Server {
        let slots = self.slots.lock().expect("slots");
        slots[rng.random_range(0..slots.len())].0.clone()
    }

    pub(crate) fn servers(&self) -> Vec<Server> {
        let slots = self.slots.lock().expect("slots");
        slots.iter().map(|(s, _)| s.clone()).collect()
    }

    /// Crashes the server in slot `i` and puts a fresh one in its place.
    fn crash(&self, i: usize) {
        let (old, generation) = self.slots.lock().expect("slots")[i].clone();
        let at_ms = old.engine.clock().now_ms();
        let active: Vec<String> = {
            let ledger = self.ledger.lock();
            ledger
                .sessions
                .iter()
                .filter(|(s, job)| **job == old.job && !ledger.ended.contains(*s))
                .map(|(s, _)| s.clone())
                .collect()
        };
        self.ledger.crashed(&old.job, at_ms, active);
        old.engine.crash();
        let fresh = self.server_on(i, &format!("s{i}-g{}", generation + 1));
        self.slots.lock().expect("slots")[i] = (fresh, generation + 1);
    }

    /// The chaos driver: until `until`, every 10 to 120 s, one of a crash,
    /// a burst of commit failures, or new bus faults. Then the surviving
    /// servers shut down, with players still in them and a few ambiguous
    /// failures armed, so final saves race the players' last changes.
    pub(crate) async fn chaos(self: Arc<Self>, mut rng: SmallRng, until: tokio::time::Instant) {
        loop {
            let wait = Duration::from_secs(rng.random_range(10..=120));
            if tokio::time::Instant::now() + wait >= until {
                tokio::time::sleep_until(until).await;
                self.faulty.ambiguous_next_commits(rng.random_range(0..=3));
                self.calm_down().await;
                return;
            }
            tokio::time::sleep(wait).await;
            match rng.random_range(0..100) {
                0..20 => {
                    let slots = self.slots.lock().expect("slots").len();
                    self.crash(rng.random_range(0..slots));
                }
                20..50 => self.faulty.fail_next_commits(rng.random_range(1..=4)),
                50..75 => self.faulty.ambiguous_next_commits(rng.random_range(1..=3)),
                _ => self.set_bus_faults(BusFaults {
                    drop_rate: rng.random_range(0.0..0.6),
                    delay: rng
                        .random_bool(0.6)
                        .then(|| Duration::from_millis(rng.random_range(100..=15_000))),
                    seed: rng.random(),
                }),
            }
        }
    }

    /// Ends the chaos: no more faults, surviving servers shut down cleanly
    /// (final saves), crashed servers' locks stay where they are.
    /// Faults still armed stay armed through the shutdown (final saves meet
    /// them too) and are cleared after it.
    pub(crate) async fn calm_down(&self) {
        let servers = self.servers();
        let shutdowns: Vec<_> = servers
            .into_iter()
            .map(|s| tokio::spawn(async move { s.engine.shutdown().await }))
            .collect();
        for s in shutdowns {
            s.await.expect("shutdown");
        }
        self.faulty.fail_next_commits(0);
        self.faulty.ambiguous_next_commits(0);
        self.set_bus_faults(BusFaults::default());
    }

    /// Stops the shared buses' tasks (after the checks, which still run
    /// an engine).
    pub(crate) async fn stop_buses(&self) {
        for node in &self.nodes {
            node.bus.shutdown().await;
        }
    }

    /// Sets `faults` on every node's deliveries (each node its own seed).
    fn set_bus_faults(&self, faults: BusFaults) {
        for (i, node) in self.nodes.iter().enumerate() {
            node.bus.set_faults(BusFaults {
                seed: faults.seed ^ i as u64,
                ..faults
            });
        }
    }

    /// What the bus faults did, on every node.
    pub(crate) fn bus_fault_counts(&self) -> BusFaultCounts {
        self.nodes
            .iter()
            .map(|n| n.bus.fault_counts())
            .fold(BusFaultCounts::default(), |a, c| BusFaultCounts {
                dropped: a.dropped + c.dropped,
                delayed: a.delayed + c.delayed,
            })
    }

    /// Cuts the handlers' links so the run's engines can be dropped.
    pub(crate) fn release(&self) {
        for cell in self.cells.lock().expect("cells").drain(..) {
            cell.lock().expect("cell").take();
        }
    }

    /// The number of nodes of a multi-node run of `seed` (2 or 3).
    pub(crate) fn nodes_of(seed: u64) -> usize {
        World::rng(seed, 2_000).random_range(2..=3)
    }

    pub(crate) fn rng(seed: u64, stream: u64) -> SmallRng {
        SmallRng::seed_from_u64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// A node with its own DataStore service and a shared bus on `faulty`.
async fn shared_node(faulty: &Arc<FaultyPlugin>, clock: &Clock) -> Node {
    let plugin: Arc<dyn profilestore::plugin_api::StoragePlugin> = faulty.clone();
    let bus = MessageBus::shared(
        Storage::new(Arc::clone(&plugin)),
        clock.clone(),
        BusConfig::default(),
        SharedBusConfig {
            poll_interval: SIM_POLL,
            ..SharedBusConfig::default()
        },
    )
    .await
    .expect("a shared bus");
    Node {
        datastores: DataStoreService::new(plugin, clock.clone(), DataStoreConfig::default()),
        bus,
    }
}
