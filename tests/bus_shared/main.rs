//! The shared bus delivery: several "nodes" (each its own
//! `MessageBus::shared`) on one storage plugin, as a cluster on one
//! database is.
//!
//! - `nodes`: the buses themselves on paused tokio time (delivery to every
//!   node once and in log order, cursors across nodes and restarts, storage
//!   failures, retention, shutdown);
//! - `http`: Open Cloud publishing and long-poll/SSE subscriptions across
//!   the nodes of `spawn_test_cluster` (real sockets, real time);
//! - `engines`: the engines' release notices across nodes (a handoff well
//!   under the steal time).

mod blocking;
mod engines;
mod http;
mod nodes;
mod postgres;
mod serve;
#[path = "../support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use profilestore::bus::{BusConfig, BusMessage, MessageBus, SharedBusConfig, Subscription};
use profilestore::clock::Clock;
use profilestore::plugin_api::StoragePlugin;
use profilestore::storage::Storage;

/// A node's bus on `plugin` with bus settings `config`.
pub(crate) async fn node_with(
    plugin: &Arc<dyn StoragePlugin>,
    clock: &Clock,
    config: BusConfig,
    shared: SharedBusConfig,
) -> MessageBus {
    MessageBus::shared(
        Storage::new(Arc::clone(plugin)),
        clock.clone(),
        config,
        shared,
    )
    .await
    .expect("a shared bus")
}

/// A node's bus on `plugin` with default settings.
pub(crate) async fn node(plugin: &Arc<dyn StoragePlugin>, clock: &Clock) -> MessageBus {
    node_with(
        plugin,
        clock,
        BusConfig::default(),
        SharedBusConfig::default(),
    )
    .await
}

/// The next message of `sub`, failing after 10 s (simulated or real).
pub(crate) async fn recv(sub: &mut Subscription) -> BusMessage {
    tokio::time::timeout(Duration::from_secs(10), sub.recv())
        .await
        .expect("a message in time")
        .expect("the bus is open")
}
