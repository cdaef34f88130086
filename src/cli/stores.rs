//! `profilestore stores ...`: data store management (Open Cloud v2's
//! delete, undelete, listing with state, snapshot) on the data folder or,
//! with `--url`, on a server.
//!
//! Owns: [`StoresCommand`] and printing its answers. Invariants: every
//! subcommand prints JSON on stdout (one line per data store for `list`,
//! one document otherwise), times in epoch ms like the other data commands;
//! `profilestore stores` without a subcommand keeps its earlier output
//! (live data stores, see `data.rs`).

use clap::Subcommand;
use serde_json::{json, Value};

use super::CliError;
use crate::datastore::{DataStoreService, ListStoresOptions, StoreState, StoreStatus};

/// The `stores` subcommands.
#[derive(Debug, Subcommand)]
pub enum StoresCommand {
    /// List data stores with their state (`ACTIVE`/`DELETED`), one JSON line each.
    List {
        /// Name prefix.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Include deleted data stores (with their `expireTime`).
        #[arg(long)]
        deleted: bool,
    },
    /// Delete a data store: its entries become inaccessible and are purged
    /// after 30 days unless it is undeleted.
    Delete {
        /// Data store name.
        name: String,
    },
    /// Restore a deleted data store with all its entries.
    Undelete {
        /// Data store name.
        name: String,
    },
    /// Take the universe's snapshot (once per UTC day): the next write of
    /// every key keeps the version it replaces.
    Snapshot,
}

fn status_json(s: &StoreStatus) -> Value {
    let mut v = json!({
        "name": s.name,
        "state": match s.state {
            StoreState::Active => "ACTIVE",
            StoreState::Deleted => "DELETED",
        },
        "createdTime": s.created_ms,
    });
    if let Some(expire) = s.expire_ms {
        v["expireTime"] = json!(expire);
    }
    v
}

/// Runs one `stores` subcommand.
pub(super) async fn run(
    command: StoresCommand,
    service: &DataStoreService,
    universe: u64,
) -> Result<(), CliError> {
    match command {
        StoresCommand::List { prefix, deleted } => {
            let mut options = ListStoresOptions {
                prefix,
                page_size: crate::datastore::MAX_STORE_PAGE,
                cursor: None,
                show_deleted: deleted,
            };
            loop {
                let page = service.list_data_stores_with(universe, &options).await?;
                for s in &page.items {
                    println!("{}", status_json(s));
                }
                match page.cursor {
                    Some(c) => options.cursor = Some(c),
                    None => return Ok(()),
                }
            }
        }
        StoresCommand::Delete { name } => {
            println!(
                "{}",
                status_json(&service.delete_data_store(universe, &name).await?)
            );
        }
        StoresCommand::Undelete { name } => {
            println!(
                "{}",
                status_json(&service.undelete_data_store(universe, &name).await?)
            );
        }
        StoresCommand::Snapshot => {
            let s = service.snapshot(universe).await?;
            let v = json!({"newSnapshotTaken": s.new_snapshot_taken, "latestSnapshotTime": s.latest_ms});
            println!("{v}");
        }
    }
    Ok(())
}
