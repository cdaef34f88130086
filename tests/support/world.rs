//! One in-memory world: a DataStore service on the memory plugin (or a
//! plugin the test gives) and a message bus, both on one [`Clock`], with
//! engines and session hosts on them. The one way the engine, DataStore,
//! bus and session-host tests (and the chaos model) build their world.
//!
//! Invariants: the service and the bus read the same clock; engines and
//! stores made here are in universe [`UNIVERSE`].

#![allow(dead_code)]

use std::sync::Arc;

use profilestore::bus::{BusConfig, MessageBus};
use profilestore::clock::{Clock, ManualClock};
use profilestore::datastore::{DataStore, DataStoreConfig, DataStoreService, Retention};
use profilestore::engine::{Engine, EngineConfig};
use profilestore::faults::FaultyPlugin;
use profilestore::plugin_api::StoragePlugin;
use profilestore::sessions::{HostConfig, SessionHost};
use profilestore::testing::TestServer;
use profilestore_memory::MemoryPlugin;

/// The wall time simulated clocks start at (2023-11-14T22:13:20Z).
pub(crate) const T0: i64 = 1_700_000_000_000;

/// The universe of every engine and store made here.
pub(crate) const UNIVERSE: u64 = 1;

/// A fresh memory plugin.
pub(crate) fn memory() -> Arc<MemoryPlugin> {
    Arc::new(MemoryPlugin::new())
}

/// A fresh memory plugin behind a fault injector.
pub(crate) fn faulty_memory() -> Arc<FaultyPlugin> {
    Arc::new(FaultyPlugin::new(memory()))
}

/// A DataStore service and a bus on one clock.
#[derive(Clone, Debug)]
pub(crate) struct World {
    pub clock: Clock,
    pub datastores: DataStoreService,
    pub bus: MessageBus,
}

impl World {
    /// A fresh memory store and bus on `clock`, with default settings.
    pub(crate) fn new(clock: Clock) -> Self {
        World::on(memory(), clock, DataStoreConfig::default())
    }

    /// [`World::new`] on tokio's clock from [`T0`] (paused in the
    /// simulated-time tests). Must be called inside a tokio runtime.
    pub(crate) fn simulated() -> Self {
        World::new(Clock::tokio(T0))
    }

    /// [`World::new`] with the memory plugin behind a fault injector,
    /// returned too.
    pub(crate) fn faulty(clock: Clock) -> (Self, Arc<FaultyPlugin>) {
        let plugin = faulty_memory();
        let world = World::on(plugin.clone(), clock, DataStoreConfig::default());
        (world, plugin)
    }

    /// [`World::simulated`] with bus settings `bus`.
    pub(crate) fn simulated_with_bus(bus: BusConfig) -> Self {
        World::with_bus(memory(), Clock::tokio(T0), DataStoreConfig::default(), bus)
    }

    /// A world on `plugin` with DataStore settings `config`, on a manual
    /// clock reading [`T0`], returned with its hand.
    pub(crate) fn manual(
        plugin: Arc<dyn StoragePlugin>,
        config: DataStoreConfig,
    ) -> (Self, ManualClock) {
        let (clock, hand) = Clock::manual(T0);
        (World::on(plugin, clock, config), hand)
    }

    /// A world on `plugin` with DataStore settings `config`.
    pub(crate) fn on(
        plugin: Arc<dyn StoragePlugin>,
        clock: Clock,
        config: DataStoreConfig,
    ) -> Self {
        World::with_bus(plugin, clock, config, BusConfig::default())
    }

    /// [`World::on`] with bus settings `bus`.
    pub(crate) fn with_bus(
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

    /// The world an in-process test server serves (its DataStore service
    /// and bus), to put engines beside its HTTP clients.
    pub(crate) fn of_server(server: &TestServer) -> Self {
        World {
            clock: server.datastores.clock().clone(),
            datastores: server.datastores.clone(),
            bus: server.bus.clone(),
        }
    }

    /// A game server's world on a server process at `url`: its data
    /// stores and bus over HTTP (the remote backends), on system time.
    pub(crate) fn remote(url: &str, key: &str) -> Self {
        let client =
            profilestore::remote::RemoteClient::new(url, Some(key.to_owned())).expect("client");
        let clock = Clock::system();
        World {
            datastores: DataStoreService::remote(client.clone(), clock.clone()),
            bus: MessageBus::remote(client, clock.clone(), BusConfig::default()),
            clock,
        }
    }

    /// An engine for game server `(place_id, job)` on this world.
    pub(crate) fn engine(
        &self,
        place_id: u64,
        job: impl Into<String>,
        config: EngineConfig,
    ) -> Engine {
        Engine::new(
            self.datastores.clone(),
            self.bus.clone(),
            UNIVERSE,
            place_id,
            job,
            config,
        )
    }

    /// A session host (the session API's game-server side) on this world.
    pub(crate) fn session_host(&self, config: HostConfig) -> SessionHost {
        SessionHost::new(self.datastores.clone(), self.bus.clone(), config)
    }

    /// Data store `name`, scope `scope`.
    pub(crate) fn data_store(&self, name: &str, scope: &str) -> DataStore {
        self.datastores
            .data_store(UNIVERSE, name, scope)
            .expect("store")
    }
}

/// A DataStore service on `plugin` with `retention`, on a manual clock
/// starting at [`T0`] (the hand that moves it comes back).
pub(crate) fn service_with(
    plugin: Arc<dyn StoragePlugin>,
    retention: Retention,
) -> (DataStoreService, ManualClock) {
    let config = DataStoreConfig {
        retention,
        ..DataStoreConfig::default()
    };
    let (world, hand) = World::manual(plugin, config);
    (world.datastores, hand)
}

/// The `Players`/`global` data store of a fresh memory service on a manual
/// clock (retention per write).
pub(crate) fn players() -> (DataStore, ManualClock) {
    let (service, hand) = service_with(memory(), Retention::PerWrite);
    (
        service
            .data_store(UNIVERSE, "Players", "global")
            .expect("store"),
        hand,
    )
}
