//! `profilestore snapshot save|restore|list|delete`: the emulator's named
//! snapshots of a running server's data.
//!
//! Owns: [`SnapshotCommand`]. Invariants: snapshots live in a server's
//! memory, so the command needs `--url` (or the server recorded in the
//! data folder's `serve.lock`); stdout carries one JSON document per
//! snapshot (the server's body: `id`, `createTime`, counts, `bytes`).

use clap::Subcommand;

use super::{CliError, ConnectionArgs};
use crate::config::Config;
use crate::remote::Emulator;

/// What to do with snapshots.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Takes snapshot ID of everything the server stores (data stores with
    /// every version, ordered data stores, memory stores).
    Save {
        /// The snapshot's id (1..=128 of A-Z a-z 0-9 . _ -).
        id: String,
    },
    /// Puts everything back as snapshot ID holds it.
    Restore {
        /// The snapshot's id.
        id: String,
    },
    /// Every snapshot, one JSON line each.
    List,
    /// Deletes snapshot ID.
    Delete {
        /// The snapshot's id.
        id: String,
    },
}

fn print(s: &crate::opencloud::emulator::Snapshot) {
    println!("{}", serde_json::to_string(s).unwrap_or_default());
}

/// Runs one snapshot command.
pub(super) async fn run(
    command: SnapshotCommand,
    args: &ConnectionArgs,
    config: &Config,
) -> Result<(), CliError> {
    let emulator = Emulator::new(super::server::client(
        args,
        config,
        "snapshots live in the memory of a running profilestore server",
    )?);
    match command {
        SnapshotCommand::Save { id } => print(&emulator.snapshot(&id).await?),
        SnapshotCommand::Restore { id } => print(&emulator.restore(&id).await?),
        SnapshotCommand::Delete { id } => print(&emulator.delete_snapshot(&id).await?),
        SnapshotCommand::List => {
            for s in emulator.snapshots().await? {
                print(&s);
            }
        }
    }
    Ok(())
}
