//! Test support: in-process servers on a memory store, for this crate's
//! integration tests, benches and fuzz targets (feature `test-support`,
//! never part of a release build's API).
//!
//! Owns: [`TestServer`] and the ways to start one (alone, or as the nodes
//! of a cluster on one shared plugin: [`spawn_test_cluster`] for servers
//! sharing a clock and a shared bus, [`TestNode`]s with cluster membership
//! in `testing/cluster.rs`), and [`memory_state`], the state such a server
//! serves. Invariants: a test server listens on loopback only, accepts one
//! random API key, runs everything it hosts on one adjustable clock (moved
//! by [`TestServer::advance`] through the emulator controls, which are on;
//! the nodes of [`spawn_test_cluster`] share one clock), and shuts down
//! gracefully (final saves, then a storage flush, then its bus's tasks)
//! when asked.

mod cluster;

pub use cluster::{spawn_test_node, TestNode};

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use profilestore_memory::MemoryPlugin;
use profilestore_plugin_api::StoragePlugin;

use crate::bus::{BusConfig, MessageBus, SharedBusConfig};
use crate::clock::Clock;
use crate::datastore::{DataStoreConfig, DataStoreService};
use crate::http::{run, AppState, Controls, HttpError, Limits};
use crate::opencloud::emulator::ClockState;
use crate::remote::emulator::Emulator;
use crate::remote::{RemoteClient, RemoteError};
use crate::storage::Storage;

/// A server started by [`spawn_test_server`].
#[derive(Debug)]
pub struct TestServer {
    /// Base URL, e.g. `http://127.0.0.1:54321`.
    pub url: String,
    /// The API key it accepts.
    pub api_key: String,
    /// Its DataStore service (to inspect or seed data directly).
    pub datastores: DataStoreService,
    /// Its bus.
    pub bus: MessageBus,
    /// Its session lock history.
    pub history: crate::history::LockHistory,
    clock: Clock,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), HttpError>>>,
}

impl TestServer {
    /// The controls of this server (`/emulator/v1`), with its key.
    pub fn emulator(&self) -> Emulator {
        let client = RemoteClient::new(&self.url, Some(self.api_key.clone()))
            .expect("a test server's URL is valid");
        Emulator::new(client)
    }

    /// Moves the server's clock ahead by `by` (through the clock control,
    /// so expired versions are purged too); everything it hosts follows.
    pub async fn advance(&self, by: std::time::Duration) -> Result<ClockState, RemoteError> {
        self.emulator().advance(by).await
    }

    /// The clock everything this server hosts runs on.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Stops the server gracefully and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.bus.shutdown().await;
    }
}

/// Starts an in-process server on a free loopback port with a memory store
/// and a random API key, for integration tests.
pub async fn spawn_test_server() -> TestServer {
    spawn_test_server_with(Limits::default()).await
}

/// [`spawn_test_server`] with other caps.
pub async fn spawn_test_server_with(limits: Limits) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let key = uuid::Uuid::new_v4().simple().to_string();
    start_test_server(listener, key, limits).await
}

/// [`spawn_test_server`] recording in `metrics` (`Metrics::off()` for a
/// server without metrics: the metrics bench's baseline).
pub async fn spawn_test_server_with_metrics(metrics: crate::metrics::Metrics) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let key = uuid::Uuid::new_v4().simple().to_string();
    let clock = Clock::adjustable();
    let bus = MessageBus::new(clock.clone(), BusConfig::default());
    let plugin = Arc::new(MemoryPlugin::new());
    let limits = Limits::default();
    let (state, _closing) =
        node_state_with(plugin, clock, bus, key.clone(), limits, false, metrics);
    start_on_state(listener, key, state)
}

/// Like [`spawn_test_server`], on a given listener and key (to restart a
/// server on the same address in reconnection tests).
pub async fn spawn_test_server_on(listener: TcpListener, api_key: String) -> TestServer {
    start_test_server(listener, api_key, Limits::default()).await
}

/// A server's state on a fresh memory store accepting `api_key` (what
/// [`spawn_test_server`] serves), with the sender that closes it.
#[doc(hidden)]
pub fn memory_state(api_key: String, limits: Limits) -> (AppState, CancellationToken) {
    let clock = Clock::adjustable();
    let bus = MessageBus::new(clock.clone(), BusConfig::default());
    node_state(
        Arc::new(MemoryPlugin::new()),
        clock,
        bus,
        api_key,
        limits,
        false,
    )
}

/// Starts `n` in-process servers, the nodes of one cluster: they share one
/// memory plugin and one adjustable clock, and each has a shared bus on
/// that plugin ([`MessageBus::shared`]), so messages, long-polls and
/// release notices cross nodes. Each node has its own API key.
pub async fn spawn_test_cluster(n: usize) -> Vec<TestServer> {
    spawn_test_cluster_on(Arc::new(MemoryPlugin::new()), n).await
}

/// [`spawn_test_cluster`] on a given plugin (a PostgreSQL one, or a fault
/// injector).
pub async fn spawn_test_cluster_on(plugin: Arc<dyn StoragePlugin>, n: usize) -> Vec<TestServer> {
    let clock = Clock::adjustable();
    let mut nodes = Vec::with_capacity(n);
    for _ in 0..n {
        let bus = MessageBus::shared(
            Storage::new(Arc::clone(&plugin)),
            clock.clone(),
            BusConfig::default(),
            SharedBusConfig::default(),
        )
        .await
        .expect("a shared bus on the cluster's plugin");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let key = uuid::Uuid::new_v4().simple().to_string();
        let (state, _closing) = node_state(
            Arc::clone(&plugin),
            clock.clone(),
            bus,
            key.clone(),
            Limits::default(),
            true,
        );
        nodes.push(start_on_state(listener, key, state));
    }
    nodes
}

/// A server's state on `plugin`, `clock` and `bus`, accepting `api_key`.
/// With `shared` (a node of several on `plugin`), its memory stores live in
/// the plugin's records and its data store management state is re-read
/// (every second), as `serve` does for a cluster.
pub(crate) fn node_state(
    plugin: Arc<dyn StoragePlugin>,
    clock: Clock,
    bus: MessageBus,
    api_key: String,
    limits: Limits,
    shared: bool,
) -> (AppState, CancellationToken) {
    let metrics = crate::metrics::Metrics::new();
    node_state_with(plugin, clock, bus, api_key, limits, shared, metrics)
}

/// [`node_state`] recording in `metrics`.
fn node_state_with(
    plugin: Arc<dyn StoragePlugin>,
    clock: Clock,
    bus: MessageBus,
    api_key: String,
    limits: Limits,
    shared: bool,
    metrics: crate::metrics::Metrics,
) -> (AppState, CancellationToken) {
    let faults = crate::faults::FaultPlan::default().with_metrics(metrics.clone());
    let config = DataStoreConfig {
        shared_state_refresh: shared.then_some(std::time::Duration::from_secs(1)),
        ..DataStoreConfig::default()
    };
    let datastores = DataStoreService::new(Arc::clone(&plugin), clock.clone(), config)
        .with_faults(faults.clone())
        .with_metrics(metrics.clone());
    let memory = if shared {
        crate::memorystore::MemoryStoreService::shared(
            Storage::new(Arc::clone(&plugin)),
            clock.clone(),
            Default::default(),
        )
    } else {
        crate::memorystore::MemoryStoreService::new(clock.clone())
    }
    .with_faults(faults.clone());
    let ordered =
        crate::ordered::OrderedService::new(plugin, clock.clone()).with_faults(faults.clone());
    let snapshots =
        crate::snapshots::Snapshots::new(datastores.clone(), memory.clone(), clock.clone());
    let bus = bus
        .with_fault_plan(faults.clone())
        .with_metrics(metrics.clone());
    let closing = CancellationToken::new();
    let sessions = crate::sessions::SessionHost::new(
        datastores.clone(),
        bus.clone(),
        crate::sessions::HostConfig::default(),
    );
    let history = crate::history::LockHistory::of(&datastores, Default::default());
    let state = AppState {
        sessions,
        history,
        datastores,
        bus,
        ordered,
        memory,
        faults,
        snapshots,
        api_keys: vec![api_key],
        scoped_keys: Vec::new(),
        max_body_bytes: 4 * 1024 * 1024 + 64 * 1024,
        closing: closing.clone(),
        limits,
        budgets: crate::budgets::Budgets::new(clock.clone(), Default::default())
            .with_metrics(metrics.clone()),
        clock,
        controls: Controls::default(),
        cluster: None,
        dashboard: Default::default(),
        metrics,
    };
    (state, closing)
}

async fn start_test_server(listener: TcpListener, api_key: String, limits: Limits) -> TestServer {
    let (state, _closing) = memory_state(api_key.clone(), limits);
    start_on_state(listener, api_key, state)
}

fn start_on_state(listener: TcpListener, api_key: String, mut state: AppState) -> TestServer {
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    state.controls.listen = listener.local_addr().expect("local address");
    let clock = state.clock.clone();
    state.sessions.spawn_reaper();
    state.history.spawn(&state.datastores);
    let (datastores, bus) = (state.datastores.clone(), state.bus.clone());
    let history = state.history.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, state, async {
        let _ = stopped.await;
    }));
    TestServer {
        url,
        api_key,
        datastores,
        bus,
        history,
        clock,
        stop: Some(stop),
        task: Some(task),
    }
}
