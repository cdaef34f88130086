//! The cluster's wire format: `GET /cluster/v1/nodes`.
//!
//! Owns: [`ClusterNodes`] and [`ClusterNode`], with fixed serialized names
//! (written by the server, read by `profilestore cluster nodes`).

use serde::{Deserialize, Serialize};

/// `GET /cluster/v1/nodes`: the live nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterNodes {
    /// The id of the node that answered.
    #[serde(rename = "node")]
    pub node: String,
    /// The live nodes, by id.
    #[serde(rename = "nodes")]
    pub nodes: Vec<ClusterNode>,
}

/// One live node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterNode {
    /// Its id.
    #[serde(rename = "id")]
    pub id: String,
    /// Its advertised URL.
    #[serde(rename = "url")]
    pub url: String,
    /// Its last heartbeat (RFC 3339, UTC, milliseconds).
    #[serde(rename = "heartbeatTime")]
    pub heartbeat_time: String,
    /// When it stops counting as live without another heartbeat.
    #[serde(rename = "expiresTime")]
    pub expires_time: String,
}
