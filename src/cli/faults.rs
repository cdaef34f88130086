//! `profilestore faults add/list/clear`: the emulator's faults control of
//! a running server (`--url`, `--key`; else the server serving the data
//! folder).
//!
//! Owns: the `faults` subcommands. Invariants: stdout carries only JSON
//! (the added fault; one line per listed fault; `{}` after a clear); a
//! refused fault is the server's error and adds nothing.

use clap::Subcommand;

use super::{CliError, ConnectionArgs};
use crate::config::Config;
use crate::opencloud::emulator::{FaultMatch, FaultSpec};
use crate::remote::Emulator;

/// The `faults` subcommands.
#[derive(Debug, Subcommand)]
pub enum FaultsCommand {
    /// Adds a fault; prints it with its id. The global `--universe`, when
    /// given, limits it to that universe.
    Add {
        /// error, ambiguous, throttle or latency.
        #[arg(long)]
        effect: String,
        /// Operations it applies to, comma-separated (get, set, update,
        /// increment, remove, list, listVersions, getVersion, orderedGet,
        /// orderedSet, ..., publish); none means every operation.
        #[arg(long, value_delimiter = ',')]
        operations: Vec<String>,
        /// Only calls on this data store (or structure, or topic).
        #[arg(long)]
        store: Option<String>,
        /// Only calls on this key (`--key` is the server's API key).
        #[arg(long = "entry-key")]
        key: Option<String>,
        /// Fire at most this many times.
        #[arg(long)]
        times: Option<u64>,
        /// Fire on this share of matching calls (0 to 1).
        #[arg(long)]
        probability: Option<f64>,
        /// For `latency`: how long each call waits, in ms.
        #[arg(long = "latency-ms")]
        latency_ms: Option<u64>,
    },
    /// Lists the faults with their counters, one JSON line each.
    List,
    /// Removes one fault (by id), or all of them.
    Clear {
        /// The fault to remove; all when absent.
        id: Option<String>,
    },
}

/// Runs a `faults` command.
pub(super) async fn run(
    command: FaultsCommand,
    args: &ConnectionArgs,
    config: &Config,
    universe: Option<u64>,
) -> Result<(), CliError> {
    let emulator = Emulator::new(super::server::client(
        args,
        config,
        "faults are a control of a running profilestore server",
    )?);
    match command {
        FaultsCommand::Add {
            effect,
            operations,
            store,
            key,
            times,
            probability,
            latency_ms,
        } => {
            let spec = FaultSpec {
                matches: FaultMatch {
                    universe,
                    data_store: store,
                    key,
                    operations,
                },
                effect,
                times,
                probability,
                latency_ms,
            };
            json(&emulator.fault(&spec).await?);
        }
        FaultsCommand::List => {
            for fault in emulator.faults().await? {
                json(&fault);
            }
        }
        FaultsCommand::Clear { id: Some(id) } => {
            emulator.remove_fault(&id).await?;
            println!("{{}}");
        }
        FaultsCommand::Clear { id: None } => {
            emulator.clear_faults().await?;
            println!("{{}}");
        }
    }
    Ok(())
}

/// Prints one JSON line.
fn json<T: serde::Serialize>(value: &T) {
    println!("{}", serde_json::to_string(value).unwrap_or_default());
}
