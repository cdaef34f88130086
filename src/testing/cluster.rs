//! Test nodes of a cluster: in-process servers on one shared plugin, each
//! with its own clock, session host and heartbeat (as separate `serve`
//! processes on one database would be).
//!
//! Owns: [`TestNode`] and [`spawn_test_node`]. Invariants: a node is live
//! (its first heartbeat written) before it accepts a call; [`TestNode::kill`]
//! stops it as SIGKILL would, with no cleanup of its records and no final
//! saves.

use std::sync::Arc;
use std::time::Duration;

use profilestore_plugin_api::StoragePlugin;
use tokio::net::TcpListener;

use super::{node_state, TestServer};
use crate::bus::{BusConfig, MessageBus, SharedBusConfig};
use crate::clock::Clock;
use crate::cluster::{Cluster, ClusterConfig};
use crate::http::{run, Limits};
use crate::sessions::SessionHost;
use crate::storage::Storage;

/// A cluster node started by [`spawn_test_node`].
#[derive(Debug)]
pub struct TestNode {
    /// The node's server (URL, key, services).
    pub server: TestServer,
    /// Its cluster membership.
    pub cluster: Cluster,
    /// Its session host (to reach a game server's sessions directly).
    pub sessions: SessionHost,
}

impl TestNode {
    /// The node's base URL.
    pub fn url(&self) -> &str {
        &self.server.url
    }

    /// Stops the node as SIGKILL would: its heartbeat stops with its
    /// record left to expire, it accepts no more connections, and nothing
    /// is saved. Its engines stay in memory (a stalled process): what they
    /// try to save later must find their locks lost.
    pub fn kill(&mut self) {
        self.cluster.halt();
        // Aborted, never told to stop (that would shut it down gracefully).
        if let Some(task) = self.server.task.take() {
            task.abort();
        }
    }

    /// Stops the node gracefully: final saves, then its records go.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Starts a node of the cluster on `plugin` accepting `api_key` (every
/// node of a cluster shares its keys), with node id `node_id` and a node
/// lease of `lease`; it has joined when this returns.
pub async fn spawn_test_node(
    plugin: Arc<dyn StoragePlugin>,
    api_key: &str,
    node_id: &str,
    lease: Duration,
) -> TestNode {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let url = format!("http://{addr}");
    let clock = Clock::adjustable();
    let bus = MessageBus::shared(
        Storage::new(Arc::clone(&plugin)),
        clock.clone(),
        BusConfig::default(),
        SharedBusConfig::default(),
    )
    .await
    .expect("a shared bus on the cluster's plugin");
    let (mut state, _closing) = node_state(
        Arc::clone(&plugin),
        clock,
        bus,
        api_key.to_owned(),
        Limits::default(),
        true,
    );
    state.controls.listen = addr;
    let config = ClusterConfig {
        node_id: node_id.to_owned(),
        advertise_url: url.clone(),
        lease,
    };
    let cluster = Cluster::new(
        Storage::new(plugin),
        config,
        Clock::system(),
        state.clock.clone(),
    );
    cluster.spawn().await.expect("join the cluster");
    state.cluster = Some(cluster.clone());
    state.sessions.spawn_reaper();
    state.history.spawn(&state.datastores);
    let sessions = state.sessions.clone();
    let clock = state.clock.clone();
    let (datastores, bus) = (state.datastores.clone(), state.bus.clone());
    let history = state.history.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, state, async {
        let _ = stopped.await;
    }));
    TestNode {
        server: TestServer {
            url,
            api_key: api_key.to_owned(),
            datastores,
            bus,
            history,
            clock,
            stop: Some(stop),
            task: Some(task),
        },
        cluster,
        sessions,
    }
}
