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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Overrides;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("config.toml"))
    }

    #[test]
    fn the_section_is_off_by_default_and_read_from_the_file() {
        let addr: SocketAddr = "127.0.0.1:9000".parse().expect("addr");
        assert_eq!(Config::default().cluster_config(addr), None);
        let config = parse(
            "[cluster]\nenabled = true\nnode_id = \"eu-1\"\nadvertise_url = \"http://10.0.0.5:8787/\"\nlease_secs = 4.5\n",
        )
        .expect("valid");
        let node = config.cluster_config(addr).expect("on");
        assert_eq!(node.node_id, "eu-1");
        assert_eq!(node.advertise_url, "http://10.0.0.5:8787");
        assert_eq!(node.lease, Duration::from_millis(4500));
        let defaults = parse("[cluster]\nenabled = true\n").expect("valid");
        let node = defaults.cluster_config(addr).expect("on");
        assert_eq!(node.advertise_url, "http://127.0.0.1:9000");
        assert_eq!(node.lease, DEFAULT_LEASE);
        assert!(node.node_id.starts_with("node-"), "{}", node.node_id);
    }

    #[test]
    fn flags_override_the_file() {
        let config = parse("[cluster]\nnode_id = \"a\"\n")
            .expect("valid")
            .apply(Overrides {
                cluster: Some(true),
                node_id: Some("b".into()),
                advertise_url: Some("http://node-b:1".into()),
                ..Overrides::default()
            })
            .expect("valid");
        let node = config
            .cluster_config("127.0.0.1:1".parse().expect("addr"))
            .expect("on");
        assert_eq!(
            (node.node_id.as_str(), node.advertise_url.as_str()),
            ("b", "http://node-b:1")
        );
    }

    #[test]
    fn bad_values_name_their_setting() {
        for (text, key) in [
            ("node_id = \"\"", "cluster.node_id"),
            ("node_id = \"a b\"", "cluster.node_id"),
            ("node_id = \"a/b\"", "cluster.node_id"),
            ("advertise_url = \"10.0.0.5:8787\"", "cluster.advertise_url"),
            (
                "advertise_url = \"http://h:1/path\"",
                "cluster.advertise_url",
            ),
            ("advertise_url = \"http://\"", "cluster.advertise_url"),
            ("lease_secs = 0", "cluster.lease_secs"),
            ("lease_secs = nan", "cluster.lease_secs"),
        ] {
            match parse(&format!("[cluster]\n{text}\n")) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            parse("[cluster]\nnodes = 3\n"),
            Err(ConfigError::Parse { .. })
        ));
    }
}
