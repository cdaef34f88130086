//! Several `serve` nodes as one service: membership, the home node of
//! every session API game server, and the emulator clock shared by all.
//!
//! Owns: [`Cluster`], one node's view of the cluster, kept in the storage
//! plugin's shared records (through [`Storage`], the one bridge):
//! - `cluster/node/{id}`: a node's heartbeat (its advertised URL, when it
//!   last renewed, when it expires), renewed every lease / 3 by a task of
//!   the node's [`TaskTracker`] (`membership.rs`);
//! - `cluster/gameserver/{universe}/{job}`: the node hosting that game
//!   server's sessions (`homes.rs`);
//! - `cluster/clock`: the emulator clock's offset every node applies
//!   (`clock.rs`).
//!
//! Invariants:
//! - a node is live while its heartbeat record is unexpired; leases are
//!   read on the membership clock (system time in `serve`), never on the
//!   emulated clock, so `/emulator/v1/clock:advance` moves game time
//!   without expiring every node at once;
//! - a game server's home changes only by compare-and-swap: claimed when
//!   it has none or its node is dead, so two nodes that race to adopt it
//!   agree on one winner (the profiles' owner is still decided by each
//!   profile's document: see `docs/session-api.md`, "Several nodes");
//! - the shared clock offset only grows, and every advance is one
//!   compare-and-swap on top of the largest offset seen (no advance of
//!   two nodes is lost);
//! - shutdown stops the heartbeat, then removes this node's home records
//!   and its heartbeat (the caller ends the sessions first), so another
//!   node adopts its game servers at once.

mod clock;
mod homes;
mod membership;
mod records;
#[cfg(test)]
mod tests;

pub use homes::Home;
pub use records::NodeInfo;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use profilestore_plugin_api::StorageError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::{Clock, ClockError};
use crate::storage::Storage;

/// The default node lease (`[cluster] lease_secs`).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// How often a compare-and-swap loop retries before giving up (each retry
/// means another node changed the record meanwhile).
const MAX_SWAPS: usize = 32;

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The shared records could not be read or written.
    #[error("the cluster's shared records are unavailable: {0}")]
    Storage(#[from] StorageError),
    /// A record changed under every attempt (other nodes kept writing it).
    #[error("the cluster record `{0}` kept changing under this node; retry")]
    Contended(String),
    /// A shared record holds something this build cannot read.
    #[error("the cluster record `{name}` is not readable: {detail}")]
    Corrupt {
        /// The record.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// The clock could not be moved.
    #[error(transparent)]
    Clock(#[from] ClockError),
}

/// One node's settings (`[cluster]` in `config.toml`).
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterConfig {
    /// This node's id (unique in the cluster).
    pub node_id: String,
    /// The URL other nodes forward this node's game servers' calls to.
    pub advertise_url: String,
    /// How long a heartbeat keeps the node live (renewed every lease / 3).
    pub lease: Duration,
}

impl ClusterConfig {
    /// A random node id (`node-` and 12 hex digits).
    pub fn random_node_id() -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        format!("node-{}", &id[..12])
    }
}

/// One node of a cluster; clones share it.
#[derive(Clone, Debug)]
pub struct Cluster {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    storage: Storage,
    config: ClusterConfig,
    /// Leases: system time in `serve`, simulated time in unit tests.
    time: Clock,
    /// The server's adjustable clock (moved by the shared offset).
    emulated: Clock,
    /// Serializes applying the shared offset to `emulated`.
    apply: Mutex<()>,
    closing: CancellationToken,
    tasks: TaskTracker,
    heartbeat: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Cluster {
    /// This node over `storage`'s shared records; leases on `time`, the
    /// shared offset applied to `emulated`. Nothing is written until
    /// [`heartbeat`](Self::heartbeat) or [`spawn`](Self::spawn).
    pub fn new(storage: Storage, config: ClusterConfig, time: Clock, emulated: Clock) -> Self {
        Cluster {
            inner: Arc::new(Inner {
                storage,
                config,
                time,
                emulated,
                apply: Mutex::new(()),
                closing: CancellationToken::new(),
                tasks: TaskTracker::new(),
                heartbeat: Mutex::new(None),
            }),
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.inner.config.node_id
    }

    /// This node's advertised URL.
    pub fn url(&self) -> &str {
        &self.inner.config.advertise_url
    }

    /// The node lease.
    pub fn lease(&self) -> Duration {
        self.inner.config.lease
    }

    fn now_ms(&self) -> i64 {
        self.inner.time.now_ms()
    }

    /// Stops the heartbeat, removes this node's home records and then its
    /// heartbeat record: other nodes adopt its game servers at once. Call
    /// after the node's sessions ended (their final saves).
    pub async fn shutdown(&self) {
        self.inner.closing.cancel();
        // A heartbeat stuck in a storage call must not hold up shutdown.
        if let Some(h) = self.inner.heartbeat.lock().take() {
            h.abort();
        }
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        if let Err(e) = self.release_all().await {
            tracing::warn!(error = %e, "could not remove this node's game server homes");
        }
        if let Err(e) = self.leave().await {
            tracing::warn!(error = %e, "could not remove this node's heartbeat");
        }
        tracing::info!(node = self.node_id(), "left the cluster");
    }

    /// Test hook: stops the heartbeat as a killed process would (no
    /// cleanup: the record stays until its lease runs out).
    #[cfg(any(test, feature = "test-support"))]
    pub fn halt(&self) {
        if let Some(h) = self.inner.heartbeat.lock().take() {
            h.abort();
        }
        self.inner.closing.cancel();
    }
}
