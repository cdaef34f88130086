//! The durable lock history of one profile: a small head record
//! `history/{universe}/{store}/{scope}/{key}` (each part with `%` and `/`
//! escaped as `%25` and `%2F`) holding the newest events, and sealed chunk
//! records `{head}/{n}` (`n` zero-padded, so name order is number order)
//! holding older ones, each a JSON list of [`LockEvent`]s, oldest first.
//!
//! Owns: record names, the head's layout, what an append writes and what
//! it prunes, and reading a profile's events. Invariants:
//! - an append rewrites only the head (at most [`CHUNK`] events plus one
//!   batch), never the whole history: when the stored head holds
//!   [`CHUNK`] events or more, the append seals them whole as chunk
//!   `next` (written once, expecting it absent) and the new head starts
//!   with the new events;
//! - the head is only replaced by compare-and-swap against the version
//!   read, so several nodes may append to one profile; a full head is
//!   never appended to, only sealed, so every writer that seals chunk `n`
//!   seals the same events (a chunk that already exists is that chunk);
//! - every append drops the head's events older than the retention, and
//!   the chunks no longer needed (all events older than the retention, or
//!   beyond the newest `max_events`); reads filter the same way, so a read
//!   never shows more than the retention and `max_events` allow;
//! - a head that does not decode reads as empty (and is replaced by the
//!   next append); a head in the first layout (a bare list) reads as that
//!   list with no chunks.

use std::time::Duration;

use profilestore_plugin_api::{RecordExpect, RecordWrite, StorageResult};
use serde::{Deserialize, Serialize};

use crate::opencloud::history::LockEvent;
use crate::storage::Storage;

/// The prefix of every lock history record.
pub(crate) const PREFIX: &str = "history/";

/// How many events a head holds before the next append seals them.
pub(crate) const CHUNK: usize = 32;

fn escape(part: &str) -> String {
    part.replace('%', "%25").replace('/', "%2F")
}

/// The head record of one profile.
pub(crate) fn name(universe: u64, store: &str, scope: &str, key: &str) -> String {
    format!(
        "{PREFIX}{universe}/{}/{}/{}",
        escape(store),
        escape(scope),
        escape(key)
    )
}

/// The name of chunk `n` of the profile whose head is `head`.
fn chunk_name(head: &str, n: u64) -> String {
    format!("{head}/{n:020}")
}

/// The oldest time `retention` keeps at `now_ms`.
pub(crate) fn cutoff(now_ms: i64, retention: Duration) -> i64 {
    let keep = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_sub(keep)
}

/// A sealed chunk, as the head lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Chunk {
    n: u64,
    count: usize,
    last_ms: i64,
}

/// The head of one profile's history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Head {
    /// The number the next sealed chunk gets.
    next: u64,
    /// The chunks kept, oldest first.
    chunks: Vec<Chunk>,
    /// The newest events, oldest first.
    events: Vec<LockEvent>,
}

impl Head {
    /// The newest event (what the next commit is classified against).
    pub(crate) fn last(&self) -> Option<&LockEvent> {
        self.events.last()
    }
}

/// A head as read: its version (`None`: absent) and content.
pub(crate) struct Stored {
    pub(crate) version: Option<u64>,
    pub(crate) head: Head,
}

fn decode(name: &str, text: &str) -> Head {
    serde_json::from_str::<Head>(text)
        .or_else(|_| {
            serde_json::from_str::<Vec<LockEvent>>(text).map(|events| Head {
                events,
                ..Head::default()
            })
        })
        .unwrap_or_else(|e| {
            tracing::warn!(record = %name, error = %e, "unreadable lock history record; starting it again");
            Head::default()
        })
}

/// Reads the heads of `names`, in order, in one storage call.
pub(crate) async fn read_heads(
    storage: &Storage,
    names: Vec<String>,
) -> StorageResult<Vec<Stored>> {
    storage
        .call(move |p| {
            names
                .iter()
                .map(|name| {
                    Ok(match p.record_read(name)? {
                        None => Stored {
                            version: None,
                            head: Head::default(),
                        },
                        Some(r) => Stored {
                            version: Some(r.version),
                            head: decode(name, &r.value),
                        },
                    })
                })
                .collect()
        })
        .await
}

/// The events of the profile whose head is `name`, within `cutoff_ms`
/// and the newest `max`, oldest first.
pub(crate) async fn read(
    storage: &Storage,
    name: &str,
    cutoff_ms: i64,
    max: usize,
) -> StorageResult<Vec<LockEvent>> {
    let Some(stored) = read_heads(storage, vec![name.to_owned()]).await?.pop() else {
        return Ok(Vec::new());
    };
    let head = stored.head;
    let mut events = Vec::new();
    if !head.chunks.is_empty() {
        let prefix = format!("{name}/");
        let records = storage.call(move |p| p.record_list(&prefix)).await?;
        for chunk in &head.chunks {
            let wanted = chunk_name(name, chunk.n);
            // A listed chunk may be missing (another node pruned it).
            if let Some(r) = records.iter().find(|r| r.name == wanted) {
                events.extend(serde_json::from_str::<Vec<LockEvent>>(&r.value).unwrap_or_default());
            }
        }
    }
    events.extend(head.events);
    events.retain(|e| e.time_ms >= cutoff_ms);
    let excess = events.len().saturating_sub(max);
    events.drain(..excess);
    Ok(events)
}

/// What one append writes: the head's compare-and-swap, the chunk it
/// seals (if any), and, once the head is in, the removals of the chunks no
/// longer needed.
#[derive(Debug)]
pub(crate) struct Append {
    pub(crate) head: RecordWrite,
    pub(crate) seal: Option<RecordWrite>,
    pub(crate) removes: Vec<RecordWrite>,
}

/// The append of `new` events (oldest first) to `stored`, the head `name`.
pub(crate) fn append(
    name: &str,
    stored: &Stored,
    new: Vec<LockEvent>,
    cutoff_ms: i64,
    max: usize,
) -> Append {
    let mut head = stored.head.clone();
    let mut seal = None;
    if head.events.len() >= CHUNK {
        let sealed = std::mem::replace(&mut head.events, new);
        head.chunks.push(Chunk {
            n: head.next,
            count: sealed.len(),
            last_ms: sealed.last().map_or(i64::MIN, |e| e.time_ms),
        });
        seal = Some(RecordWrite {
            name: chunk_name(name, head.next),
            expect: RecordExpect::Absent,
            value: Some(serde_json::to_string(&sealed).expect("events serialize")),
        });
        head.next += 1;
    } else {
        head.events.extend(new);
    }
    head.events.retain(|e| e.time_ms >= cutoff_ms);
    let excess = head.events.len().saturating_sub(max);
    head.events.drain(..excess);
    let removes = prune_chunks(name, &mut head, cutoff_ms, max);
    let expect = match stored.version {
        Some(v) => RecordExpect::Version(v),
        None => RecordExpect::Absent,
    };
    Append {
        head: RecordWrite {
            name: name.to_owned(),
            expect,
            value: Some(serde_json::to_string(&head).expect("a head serializes")),
        },
        seal,
        removes,
    }
}

/// Drops the chunks all older than `cutoff_ms`, and the oldest while the
/// rest still hold `max` events; returns their removals.
fn prune_chunks(name: &str, head: &mut Head, cutoff_ms: i64, max: usize) -> Vec<RecordWrite> {
    let mut total: usize = head.events.len() + head.chunks.iter().map(|c| c.count).sum::<usize>();
    let mut keep_from = 0;
    for c in &head.chunks {
        if c.last_ms >= cutoff_ms && total - c.count < max {
            break;
        }
        total -= c.count;
        keep_from += 1;
    }
    head.chunks
        .drain(..keep_from)
        .map(|c| RecordWrite {
            name: chunk_name(name, c.n),
            expect: RecordExpect::Any,
            value: None,
        })
        .collect()
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
