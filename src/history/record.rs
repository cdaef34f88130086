//! The durable lock history: one shared storage record per profile,
//! `history/{universe}/{store}/{scope}/{key}` (each part with `%` and `/`
//! escaped as `%25` and `%2F`), holding a JSON list of [`LockEvent`]s,
//! oldest first.
//!
//! Owns: record names, reading and writing a record through `Storage`, and
//! pruning. Invariants: a record is only ever replaced by compare-and-swap
//! against the version read (several nodes may append to one profile's
//! history); every write prunes events older than the retention and keeps
//! the newest `max_events`; a record that does not decode reads as empty
//! (and is replaced by the next append).

use std::time::Duration;

use profilestore_plugin_api::{RecordExpect, RecordOutcome, StorageResult};

use crate::opencloud::history::LockEvent;
use crate::storage::Storage;

/// The prefix of every lock history record.
pub(crate) const PREFIX: &str = "history/";

fn escape(part: &str) -> String {
    part.replace('%', "%25").replace('/', "%2F")
}

/// The record of one profile.
pub(crate) fn name(universe: u64, store: &str, scope: &str, key: &str) -> String {
    format!(
        "{PREFIX}{universe}/{}/{}/{}",
        escape(store),
        escape(scope),
        escape(key)
    )
}

/// The oldest time `retention` keeps at `now_ms`.
pub(crate) fn cutoff(now_ms: i64, retention: Duration) -> i64 {
    let keep = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_sub(keep)
}

/// Drops events older than `cutoff_ms` and all but the newest `max`.
pub(crate) fn prune(events: &mut Vec<LockEvent>, cutoff_ms: i64, max: usize) {
    events.retain(|e| e.time_ms >= cutoff_ms);
    if events.len() > max {
        let excess = events.len() - max;
        events.drain(..excess);
    }
}

/// A record as read: its version (`None`: absent) and events.
pub(crate) struct Stored {
    pub(crate) version: Option<u64>,
    pub(crate) events: Vec<LockEvent>,
}

/// Reads record `name`.
pub(crate) async fn read(storage: &Storage, name: &str) -> StorageResult<Stored> {
    let owned = name.to_owned();
    let record = storage.call(move |p| p.record_read(&owned)).await?;
    Ok(match record {
        None => Stored {
            version: None,
            events: Vec::new(),
        },
        Some(r) => Stored {
            version: Some(r.version),
            events: serde_json::from_str(&r.value).unwrap_or_else(|e| {
                tracing::warn!(record = %name, error = %e, "unreadable lock history record; starting it again");
                Vec::new()
            }),
        },
    })
}

/// Replaces record `name` with `events` if it is still at `version`;
/// false on a conflict.
pub(crate) async fn swap(
    storage: &Storage,
    name: &str,
    version: Option<u64>,
    events: &[LockEvent],
) -> StorageResult<bool> {
    let text = serde_json::to_string(events).expect("events serialize");
    let expect = match version {
        Some(v) => RecordExpect::Version(v),
        None => RecordExpect::Absent,
    };
    let name = name.to_owned();
    let outcome = storage
        .call(move |p| p.record_swap(&name, expect, Some(&text)))
        .await?;
    Ok(matches!(outcome, RecordOutcome::Swapped { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opencloud::history::{LockChangeKind, LockOwner};

    #[test]
    fn names_escape_slashes_so_parts_never_run_together() {
        assert_eq!(name(1, "S", "global", "k"), "history/1/S/global/k");
        assert_eq!(name(1, "a/b", "global", "c"), "history/1/a%2Fb/global/c");
        assert_ne!(name(1, "a/b", "c", "d"), name(1, "a", "b/c", "d"));
        assert_eq!(name(2, "%2F", "s", "k"), "history/2/%252F/s/k");
    }

    #[test]
    fn pruning_keeps_the_retention_and_the_newest() {
        let event = |t| LockEvent {
            kind: LockChangeKind::Started,
            universe: 1,
            store: "S".into(),
            scope: "global".into(),
            key: "k".into(),
            owner: LockOwner {
                place_id: 1,
                job_id: "j".into(),
                session_id: None,
            },
            load_count: 1,
            time_ms: t,
            time: String::new(),
            previous: None,
            asked_for: false,
        };
        let mut events: Vec<_> = (0..10).map(event).collect();
        prune(&mut events, 3, 100);
        assert_eq!(events.first().map(|e| e.time_ms), Some(3));
        prune(&mut events, 0, 4);
        let times: Vec<i64> = events.iter().map(|e| e.time_ms).collect();
        assert_eq!(times, vec![6, 7, 8, 9]);
        assert_eq!(cutoff(10_000, Duration::from_secs(3)), 7_000);
        assert_eq!(cutoff(0, Duration::MAX), -i64::MAX);
    }
}
