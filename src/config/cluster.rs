//! `[cluster]`: this server as one node of several on one database.
//!
//! Owns: the section's shape, defaults and validation, and the node's
//! [`ClusterConfig`]. Invariants: a node id is 1 to 64 of `A-Z a-z 0-9 . _ -`
//! (it is a record name's part and a header value); an advertised URL is
//! an `http://` or `https://` URL without a path, query or fragment.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::{Config, ConfigError};
use crate::cluster::{ClusterConfig, DEFAULT_LEASE};

/// `[cluster]`: several `serve` nodes as one service (off by default).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSection {
    /// Join the cluster of the nodes on the same storage (default false).
    pub enabled: bool,
    /// This node's id (default: a random one at every start).
    pub node_id: Option<String>,
    /// The URL other nodes reach this one at (default: `http://` and the
    /// listen address).
    pub advertise_url: Option<String>,
    /// Seconds a heartbeat keeps a node live (default 10; renewed every
    /// third of it). A killed node's game servers move after it.
    pub lease_secs: f64,
}

impl Default for ClusterSection {
    fn default() -> Self {
        ClusterSection {
            enabled: false,
            node_id: None,
            advertise_url: None,
            lease_secs: DEFAULT_LEASE.as_secs_f64(),
        }
    }
}

impl ClusterSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: String| Err(ConfigError::Invalid { key, message });
        if !(self.lease_secs.is_finite() && self.lease_secs >= 0.03 && self.lease_secs <= 86_400.0)
        {
            return invalid(
                "cluster.lease_secs",
                format!(
                    "{} is not a number of seconds from 0.03 to 86400",
                    self.lease_secs
                ),
            );
        }
        if let Some(id) = &self.node_id {
            let ok = (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok {
                return invalid(
                    "cluster.node_id",
                    format!("`{id}` is not 1 to 64 letters, digits, `.`, `_` or `-`"),
                );
            }
        }
        if let Some(url) = &self.advertise_url {
            let rest = url
                .strip_prefix("http://")
                .or_else(|| url.strip_prefix("https://"));
            let ok = rest.is_some_and(|r| {
                let r = r.trim_end_matches('/');
                !r.is_empty() && !r.contains(['/', '?', '#', ' '])
            });
            if !ok {
                return invalid(
                    "cluster.advertise_url",
                    format!("`{url}` is not an http:// URL of a host and port (no path)"),
                );
            }
        }
        Ok(())
    }
}

impl Config {
    /// This node's cluster settings when clustering is on; the advertised
    /// URL defaults to the address the server listens on, `addr`.
    pub fn cluster_config(&self, addr: SocketAddr) -> Option<ClusterConfig> {
        let c = &self.cluster;
        c.enabled.then(|| ClusterConfig {
            node_id: c
                .node_id
                .clone()
                .unwrap_or_else(ClusterConfig::random_node_id),
            advertise_url: c.advertise_url.as_deref().map_or_else(
                || format!("http://{addr}"),
                |u| u.trim_end_matches('/').to_owned(),
            ),
            lease: Duration::from_secs_f64(c.lease_secs),
        })
    }
}
