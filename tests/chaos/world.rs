//! The simulated world of one chaos run and the chaos itself.
//!
//! Owns: [`World`] (one in-memory DataStore behind the fault injector and
//! the recorder, one message bus, the game servers that come and go) and
//! the chaos driver: random crashes (a server stops dead, no final save,
//! and a fresh server with a new job id takes its place), randomly armed
//! plain and ambiguous commit failures, and random message drop rates and
//! delays. Invariant: every random choice comes from a generator seeded
//! from the run's seed; nothing reads the wall clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use profilestore::bus::{BusFaults, MessageBus};
use profilestore::clock::Clock;
use profilestore::datastore::DataStoreService;
use profilestore::engine::{Engine, EngineConfig, ProfileStore};
use profilestore::faults::FaultyPlugin;
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

#[derive(Debug)]
pub(crate) struct World {
    pub datastores: DataStoreService,
    pub bus: MessageBus,
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
    pub(crate) fn new(shape: &Shape, sabotage: Sabotage) -> Arc<Self> {
        let (memory, faulty) = MemoryWorld::faulty(Clock::tokio(T0));
        let recorder = Recorder::attach(&faulty, STORE);
        let world = World {
            datastores: memory.datastores,
            bus: memory.bus,
            faulty,
            recorder,
            ledger: Arc::default(),
            config: EngineConfig::default(),
            sabotage,
            cells: Mutex::new(Vec::new()),
            slots: Mutex::new(Vec::new()),
        };
        let servers: Vec<_> = (0..shape.servers)
            .map(|i| (world.server(&format!("s{i}-g0")), 0))
            .collect();
        *world.slots.lock().expect("slots") = servers;
        Arc::new(world)
    }

    /// A new game server with job id `job`.
    pub(crate) fn server(&self, job: &str) -> Server {
        self.ledger.lock().counts.servers += 1;
        let engine = Engine::new(
            self.datastores.clone(),
            self.bus.clone(),
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
        let fresh = self.server(&format!("s{i}-g{}", generation + 1));
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
                _ => self.bus.set_faults(BusFaults {
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
        self.bus.set_faults(BusFaults::default());
    }

    /// Cuts the handlers' links so the run's engines can be dropped.
    pub(crate) fn release(&self) {
        for cell in self.cells.lock().expect("cells").drain(..) {
            cell.lock().expect("cell").take();
        }
    }

    pub(crate) fn rng(seed: u64, stream: u64) -> SmallRng {
        SmallRng::seed_from_u64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}
