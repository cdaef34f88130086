//! The session lock history, black-box: `engines` (two engines on one
//! world in simulated time: a handoff, a steal, an assume-dead takeover,
//! shutdown, the live view, retention), `durable` (a sled and a SQLite
//! folder reopened, and the CLI on a folder), `server` (the HTTP endpoint,
//! the CLI with `--url`, a remote engine's commit note) and `lune` (the
//! real ProfileStore module under Lune). The helpers are here.

#[path = "../support/mod.rs"]
mod support;

#[path = "../interop_lune/harness.rs"]
#[allow(dead_code)]
mod harness;

mod durable;
mod engines;
mod lune;
mod server;

use std::time::Duration;

use profilestore::history::{LockChangeKind, LockEvent, LockHistory, LockOwner};

/// The kinds of `events`, in order.
fn kinds(events: &[LockEvent]) -> Vec<LockChangeKind> {
    events.iter().map(|e| e.kind).collect()
}

/// The owner `(place, job)` of a game server (session id not compared).
fn server_of(owner: &LockOwner) -> (i64, &str) {
    (owner.place_id, owner.job_id.as_str())
}

/// The events of `key` in `Players`/`global` of universe 1, once every
/// commit observed so far is recorded.
async fn settled_events(history: &LockHistory, store: &str, key: &str) -> Vec<LockEvent> {
    tokio::time::timeout(Duration::from_secs(60), history.settled())
        .await
        .expect("the history settles");
    history
        .events(1, store, "global", key)
        .await
        .expect("read the history")
}
