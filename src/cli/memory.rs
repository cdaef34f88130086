//! `profilestore memory ...`: what the memory stores of a running server
//! hold (sorted map ranges, queue length and first items, hash map items).
//!
//! Owns: [`MemoryCommand`] and finding the server: `--url`/`--key`, else
//! the server recorded in the data folder's `serve.lock`. Invariants:
//! memory stores live only in a server's memory (nothing is on disk), so
//! without a running server the command fails saying how to start or
//! name one; the commands only read (a queue is peeked, never read);
//! stdout carries one JSON line per item (a queue: one document).

use clap::Subcommand;
use serde_json::json;

use super::{CliError, ConnectionArgs};
use crate::clock::Clock;
use crate::config::Config;
use crate::memorystore::{Bound, Direction, MemoryStoreService, MAX_RANGE_COUNT};
use crate::opencloud::time::body_time;

/// What to show.
#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// A sorted map's items in order, one JSON line each (`{"key",
    /// "value", "sortKey"}`).
    SortedMap {
        /// The sorted map.
        map: String,
        /// At most this many items.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Largest first.
        #[arg(long)]
        descending: bool,
    },
    /// A queue's length and its first items, invisible ones included
    /// (peeked: nothing is read or hidden).
    Queue {
        /// The queue.
        queue: String,
        /// Show at most this many items (1..=200).
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Every item of a hash map, one JSON line each (`{"key", "value"}`).
    HashMap {
        /// The hash map.
        map: String,
    },
}

fn line(value: &serde_json::Value) {
    println!("{value}");
}

/// Runs a `memory` command.
pub(super) async fn run(
    command: MemoryCommand,
    args: &ConnectionArgs,
    config: &Config,
) -> Result<(), CliError> {
    let client = super::server::client(
        args,
        config,
        "memory stores live in the memory of a running profilestore server (nothing is kept on disk)",
    )?;
    let svc = MemoryStoreService::remote(client, Clock::system());
    let universe = config.server.universe;
    match command {
        MemoryCommand::SortedMap {
            map,
            limit,
            descending,
        } => {
            let map = svc.sorted_map(universe, &map);
            let direction = if descending {
                Direction::Descending
            } else {
                Direction::Ascending
            };
            let (mut shown, mut after) = (0, None::<Bound>);
            while shown < limit {
                let count = (limit - shown).min(MAX_RANGE_COUNT);
                let (lower, upper) = match direction {
                    Direction::Ascending => (after.clone(), None),
                    Direction::Descending => (None, after.clone()),
                };
                let items = map
                    .get_range(direction, count, lower, upper)
                    .await
                    .map_err(memory)?;
                for i in &items {
                    line(&json!({"key": i.key, "value": i.value, "sortKey": i.sort_key}));
                }
                shown += items.len();
                match items.last() {
                    Some(last) if items.len() == count => {
                        after = Some(Bound {
                            key: Some(last.key.clone()),
                            sort_key: last.sort_key.clone(),
                        });
                    }
                    _ => break,
                }
            }
            eprintln!("{shown} items");
        }
        MemoryCommand::Queue { queue, limit } => {
            let q = svc.queue(universe, &queue);
            let size = q.size(false).await.map_err(memory)?;
            let visible = q.size(true).await.map_err(memory)?;
            let items = q.peek(limit).await.map_err(memory)?;
            let items: Vec<_> = items
                .iter()
                .map(|i| {
                    json!({
                        "value": i.value,
                        "priority": i.priority,
                        "expireTime": body_time(i.expire_ms),
                        "invisibleUntil": i.invisible_until.map(body_time),
                    })
                })
                .collect();
            line(&json!({"size": size, "visible": visible, "items": items}));
        }
        MemoryCommand::HashMap { map } => {
            let m = svc.hash_map(universe, &map);
            let (mut cursor, mut shown) = (None::<String>, 0);
            loop {
                let page = m.list_items(200, cursor.as_deref()).await.map_err(memory)?;
                for (key, value) in &page.items {
                    line(&json!({"key": key, "value": value}));
                }
                shown += page.items.len();
                match page.cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            eprintln!("{shown} items");
        }
    }
    Ok(())
}

fn memory(e: crate::memorystore::MemoryStoreError) -> CliError {
    match e {
        crate::memorystore::MemoryStoreError::Remote(r) => CliError::Remote(r),
        other => CliError::Usage(other.to_string()),
    }
}
