//! `profilestore ordered`: read and edit ordered data stores (leaderboards)
//! on a data folder or, with `--url`, on a server.
//!
//! Owns: the `ordered top/get/set/remove` arguments and running them on an
//! [`OrderedService`] over the data folder's plugin (the one the data
//! commands opened) or the server's engine API. Invariants: stdout carries
//! JSON only (one document, or one line per entry for `top`); inputs are
//! checked with Roblox's rules (`ordered::validate`) before anything is
//! written; a missing key is an error for `get`, as for the data commands.

use std::sync::Arc;

use clap::Subcommand;
use serde_json::json;

use super::CliError;
use crate::datastore::DataStoreService;
use crate::ordered::validate::{self, Bound};
use crate::ordered::{OrderedDataStore, OrderedService, SortedQuery};

/// `profilestore ordered ...`.
#[derive(Debug, Subcommand)]
pub enum OrderedCommand {
    /// The top entries (highest value first; `--ascending` for lowest), one
    /// JSON line each: `{"rank", "key", "value"}`.
    Top {
        /// Ordered data store name.
        store: String,
        /// Scope.
        #[arg(long, default_value = "global")]
        scope: String,
        /// How many entries (at least 1; read 100 per page).
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Lowest values first.
        #[arg(long)]
        ascending: bool,
        /// Only values >= this integer.
        #[arg(long, allow_hyphen_values = true)]
        min: Option<String>,
        /// Only values <= this integer.
        #[arg(long, allow_hyphen_values = true)]
        max: Option<String>,
    },
    /// Print an entry's value: `{"key", "value"}` (an error when it has none).
    Get {
        /// Ordered data store name.
        store: String,
        /// Key.
        key: String,
        /// Scope.
        #[arg(long, default_value = "global")]
        scope: String,
    },
    /// Write an entry's value (an integer): prints `{"key", "value"}`.
    Set {
        /// Ordered data store name.
        store: String,
        /// Key.
        key: String,
        /// The value, an integer.
        #[arg(allow_hyphen_values = true)]
        value: String,
        /// Scope.
        #[arg(long, default_value = "global")]
        scope: String,
    },
    /// Remove an entry for good: prints `{"key", "previous"}` (`null` when
    /// it had no value).
    Remove {
        /// Ordered data store name.
        store: String,
        /// Key.
        key: String,
        /// Scope.
        #[arg(long, default_value = "global")]
        scope: String,
    },
}

impl OrderedCommand {
    /// Whether it only reads or changes existing data (all but `set`).
    pub(super) fn needs_existing_data(&self) -> bool {
        !matches!(self, OrderedCommand::Set { .. })
    }
}

/// The ordered service beside `service`: on the same plugin, or the same server.
fn ordered_service(service: &DataStoreService) -> Result<OrderedService, CliError> {
    let clock = service.clock().clone();
    match (service.storage(), service.remote_client()) {
        (Some(storage), _) => Ok(OrderedService::new(Arc::clone(storage.plugin()), clock)),
        (None, Some(client)) => Ok(OrderedService::remote(client.clone(), clock)),
        (None, None) => Err(CliError::Usage(
            "this data service has neither storage nor a server".to_owned(),
        )),
    }
}

/// Runs an `ordered` command on the data command's service; `place` says
/// where (for a key that is not found).
pub(super) async fn run(
    command: OrderedCommand,
    service: &DataStoreService,
    universe: u64,
    place: String,
) -> Result<(), CliError> {
    let ordered = ordered_service(service)?;
    match command {
        OrderedCommand::Top {
            store,
            scope,
            limit,
            ascending,
            min,
            max,
        } => {
            let min = validate::bound_from_text(min.as_deref().unwrap_or(""), Bound::Min)?;
            let max = validate::bound_from_text(max.as_deref().unwrap_or(""), Bound::Max)?;
            let ds = ordered.data_store(universe, &store, &scope)?;
            top(&ds, limit, ascending, min, max).await?;
        }
        OrderedCommand::Get { store, key, scope } => {
            let ds = ordered.data_store(universe, &store, &scope)?;
            match ds.get(&key).await? {
                Some(value) => println!("{}", json!({"key": key, "value": value})),
                None => {
                    return Err(CliError::NotFound {
                        what: format!("key \"{key}\""),
                        within: format!("in ordered data store \"{store}\" (scope \"{scope}\")"),
                        place,
                    })
                }
            }
        }
        OrderedCommand::Set {
            store,
            key,
            value,
            scope,
        } => {
            let value = validate::value_from_text(&value)?;
            let ds = ordered.data_store(universe, &store, &scope)?;
            ds.set(&key, value).await?;
            println!("{}", json!({"key": key, "value": value}));
        }
        OrderedCommand::Remove { store, key, scope } => {
            let ds = ordered.data_store(universe, &store, &scope)?;
            let previous = ds.remove(&key).await?;
            println!("{}", json!({"key": key, "previous": previous}));
        }
    }
    ordered.flush().await?;
    Ok(())
}

/// `top`: pages of up to 100 until `limit` entries or the end.
async fn top(
    ds: &OrderedDataStore,
    limit: usize,
    ascending: bool,
    min: Option<i64>,
    max: Option<i64>,
) -> Result<(), CliError> {
    if limit == 0 {
        return Err(CliError::Usage("--limit must be at least 1".to_owned()));
    }
    let query = SortedQuery {
        ascending,
        page_size: limit.min(validate::MAX_PAGE_SIZE),
        min,
        max,
    };
    let (mut rank, mut cursor) = (0usize, None::<String>);
    loop {
        let page = ds.list(&query, cursor.as_deref()).await?;
        for e in page.entries {
            rank += 1;
            println!("{}", json!({"rank": rank, "key": e.key, "value": e.value}));
            if rank == limit {
                return Ok(());
            }
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(()),
        }
    }
}
