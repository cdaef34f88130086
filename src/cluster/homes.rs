//! Game-server homes: which node hosts a session API game server.
//!
//! Owns: [`Cluster::home`] (find, or claim by compare-and-swap),
//! [`Cluster::release`] and releasing all of this node's homes at
//! shutdown. Invariants: a home is claimed only when there is none or its
//! node is dead (no live heartbeat), always by a swap against what was
//! read, so of nodes racing to adopt a game server exactly one wins and
//! the others forward to it; a node releases only its own homes.

use profilestore_plugin_api::{RecordExpect, RecordOutcome};

use super::records::{self, HomeRecord, NodeInfo, HOME_PREFIX};
use super::{Cluster, ClusterError, MAX_SWAPS};

/// Where a game server's calls are handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Home {
    /// On this node.
    Here {
        /// The dead node this call adopted the game server from (its old
        /// sessions' locks are the same game server's, so a new start
        /// takes them at once; see `docs/session-api.md`).
        adopted_from: Option<String>,
    },
    /// On another live node: forward the call there.
    Elsewhere(NodeInfo),
}

impl Cluster {
    /// The home of game server `(universe, job)`: this node, another live
    /// node, or (none, or its node is dead) this node after claiming it.
    pub async fn home(&self, universe: u64, job: &str) -> Result<Home, ClusterError> {
        let name = records::home_name(universe, job);
        for _ in 0..MAX_SWAPS {
            let current = self.read(&name).await?;
            let (expect, adopted_from) = match &current {
                None => (RecordExpect::Absent, None),
                Some(record) => {
                    let home: HomeRecord = records::decode(&name, &record.value)?;
                    if home.node == self.node_id() {
                        return Ok(Home::Here { adopted_from: None });
                    }
                    if let Some(node) = self.node(&home.node).await? {
                        return Ok(Home::Elsewhere(node));
                    }
                    (RecordExpect::Version(record.version), Some(home.node))
                }
            };
            let mine = HomeRecord {
                node: self.node_id().to_owned(),
                since_ms: self.now_ms(),
            };
            let outcome = self
                .swap(&name, expect, Some(records::encode(&mine)))
                .await?;
            if let RecordOutcome::Swapped { .. } = outcome {
                match &adopted_from {
                    Some(dead) => tracing::info!(
                        universe,
                        job,
                        from = %dead,
                        "adopted a game server from a dead node"
                    ),
                    None => tracing::debug!(universe, job, "claimed a game server"),
                }
                return Ok(Home::Here { adopted_from });
            }
        }
        Err(ClusterError::Contended(name))
    }

    /// Forgets game server `(universe, job)`'s home if it is this node
    /// (the game server left); returns whether it was.
    pub async fn release(&self, universe: u64, job: &str) -> Result<bool, ClusterError> {
        let name = records::home_name(universe, job);
        let Some(record) = self.read(&name).await? else {
            return Ok(false);
        };
        let home: HomeRecord = records::decode(&name, &record.value)?;
        if home.node != self.node_id() {
            return Ok(false);
        }
        let outcome = self
            .swap(&name, RecordExpect::Version(record.version), None)
            .await?;
        Ok(matches!(outcome, RecordOutcome::Swapped { .. }))
    }

    /// Removes every home record naming this node (at shutdown).
    pub(super) async fn release_all(&self) -> Result<usize, ClusterError> {
        let mut released = 0;
        for record in self.list(HOME_PREFIX).await? {
            let home: HomeRecord = records::decode(&record.name, &record.value)?;
            if home.node != self.node_id() {
                continue;
            }
            let outcome = self
                .swap(&record.name, RecordExpect::Version(record.version), None)
                .await?;
            if matches!(outcome, RecordOutcome::Swapped { .. }) {
                released += 1;
            }
        }
        Ok(released)
    }
}
