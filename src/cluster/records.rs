//! The cluster's shared records: names and JSON contents.
//!
//! Owns: the record names (`cluster/node/{id}`,
//! `cluster/gameserver/{universe}/{job}`, `cluster/clock`) and their JSON
//! layouts, with serialized names spelled out so that nodes of different
//! builds read each other. Invariant: a record this build cannot decode is
//! a [`ClusterError::Corrupt`], never silently taken as absent.

use serde::{Deserialize, Serialize};

use super::ClusterError;

/// The prefix of every node's heartbeat record.
pub(super) const NODE_PREFIX: &str = "cluster/node/";
/// The prefix of every game server's home record.
pub(super) const HOME_PREFIX: &str = "cluster/gameserver/";
/// The shared emulator clock offset.
pub(super) const CLOCK: &str = "cluster/clock";

/// A node's heartbeat record name.
pub(super) fn node_name(id: &str) -> String {
    format!("{NODE_PREFIX}{id}")
}

/// A game server's home record name.
pub(super) fn home_name(universe: u64, job: &str) -> String {
    format!("{HOME_PREFIX}{universe}/{job}")
}

/// A live node, as [`Cluster::nodes`](super::Cluster::nodes) lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Its id.
    #[serde(rename = "id")]
    pub id: String,
    /// Its advertised URL.
    #[serde(rename = "url")]
    pub url: String,
    /// Its last heartbeat, Unix milliseconds (membership clock).
    #[serde(rename = "heartbeatMs")]
    pub heartbeat_ms: i64,
    /// When it stops counting as live without another heartbeat.
    #[serde(rename = "expiresMs")]
    pub expires_ms: i64,
}

impl NodeInfo {
    /// Whether the node is live at `now_ms`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        now_ms < self.expires_ms
    }
}

/// A game server's home.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct HomeRecord {
    /// The node hosting it.
    #[serde(rename = "node")]
    pub node: String,
    /// When it was claimed, Unix milliseconds.
    #[serde(rename = "sinceMs")]
    pub since_ms: i64,
}

/// The shared clock offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ClockRecord {
    /// How far every node's emulator clock is ahead, in nanoseconds.
    #[serde(rename = "offsetNanos")]
    pub offset_nanos: u64,
}

/// Decodes a record's JSON.
pub(super) fn decode<T: for<'de> Deserialize<'de>>(
    name: &str,
    value: &str,
) -> Result<T, ClusterError> {
    serde_json::from_str(value).map_err(|e| ClusterError::Corrupt {
        name: name.to_owned(),
        detail: e.to_string(),
    })
}

/// Encodes a record's JSON.
pub(super) fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("cluster records always serialize")
}
