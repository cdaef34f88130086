//! `profilestore cluster nodes`: the live nodes of a running server's
//! cluster.
//!
//! Owns: [`ClusterCommand`]. Invariants: the server is found by
//! `cli::server` (`--url`, else the data folder's `serve.lock`); stdout
//! carries one JSON document, the server's answer.

use clap::Subcommand;
use hyper::Method;

use super::{CliError, ConnectionArgs};
use crate::config::Config;
use crate::opencloud::cluster::ClusterNodes;

/// What to show of the cluster.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// The live nodes: ids, URLs, last heartbeats.
    Nodes,
}

/// Runs `cluster nodes`.
pub(super) async fn run(
    command: ClusterCommand,
    args: &ConnectionArgs,
    config: &Config,
) -> Result<(), CliError> {
    let client = super::server::client(
        args,
        config,
        "the cluster is seen from a running profilestore server",
    )?;
    let ClusterCommand::Nodes = command;
    let nodes: ClusterNodes = client.json(Method::GET, "/cluster/v1/nodes", None).await?;
    println!("{}", serde_json::to_string(&nodes).unwrap_or_default());
    Ok(())
}
