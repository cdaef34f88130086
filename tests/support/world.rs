//! One in-memory world: a DataStore service on the memory plugin (or a
//! plugin the test gives) and a message bus, both on one [`Clock`], with
//! engines on them. The one way the engine, DataStore, bus and session-host
//! tests build their world.
//!
//! Invariants: the service and the bus read the same clock; engines and
//! stores made here are in universe [`UNIVERSE`].

#![allow(dead_code)]

use std::sync::Arc;

use profilestore::bus::{BusConfig, MessageBus};
use profilestore::clock::Clock;
use profilestore::datastore::{DataStore, DataStoreConfig, DataStoreService};
use profilestore::engine::{Engine, EngineConfig};
use profilestore::faults::FaultyPlugin;
use profilestore::plugin_api::StoragePlugin;
use profilestore_memory::MemoryPlugin;

/// The wall time simulated clocks start at (2023-11-14T22:13:20Z).
pub const T0: i64 = 1_700_000_000_000;

/// The universe of every engine and store made here.
pub const UNIVERSE: u64 = 1;

/// A fresh memory plugin.
pub fn memory() -> Arc<MemoryPlugin> {
    Arc::new(MemoryPlugin::new())
}

/// A fresh memory plugin behind a fault injector.
pub fn faulty_memory() -> Arc<FaultyPlugin> {
    Arc::new(FaultyPlugin::new(memory()))
}

/// A DataStore service and a bus on one clock.
#[derive(Clone, Debug)]
pub struct World {
    pub clock: Clock,
    pub datastores: DataStoreService,
    pub bus: MessageBus,
}

impl World {
    /// A fresh memory store and bus on `clock`, with default settings.
    pub fn new(clock: Clock) -> Self {
        World::on(memory(), clock, DataStoreConfig::default())
    }

    /// [`World::new`] on tokio's clock from [`T0`] (paused in the
    /// simulated-time tests). Must be called inside a tokio runtime.
    pub fn simulated() -> Self {
        World::new(Clock::tokio(T0))
    }

    /// A world on `plugin` with DataStore settings `config`.
    pub fn on(plugin: Arc<dyn StoragePlugin>, clock: Clock, config: DataStoreConfig) -> Self {
        World::with_bus(plugin, clock, config, BusConfig::default())
    }

    /// [`World::on`] with bus settings `bus`.
    pub fn with_bus(
        plugin: Arc<dyn StoragePlugin>,
        clock: Clock,
        config: DataStoreConfig,
        bus: BusConfig,
    ) -> Self {
        World {
            datastores: DataStoreService::new(plugin, clock.clone(), config),
            bus: MessageBus::new(clock.clone(), bus),
            clock,
        }
    }

    /// An engine for game server `(place_id, job)` on this world.
    pub fn engine(&self, place_id: u64, job: impl Into<String>, config: EngineConfig) -> Engine {
        Engine::new(
            self.datastores.clone(),
            self.bus.clone(),
            UNIVERSE,
            place_id,
            job,
            config,
        )
    }

    /// Data store `name`, scope `scope`.
    pub fn data_store(&self, name: &str, scope: &str) -> DataStore {
        self.datastores
            .data_store(UNIVERSE, name, scope)
            .expect("store")
    }
}
