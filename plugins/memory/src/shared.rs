//! The shared capability in memory: the message log and versioned records.
//!
//! Owns: [`Shared`], kept beside (not inside) the entry state so an image
//! import never touches it. Invariants: one lock guards the log and the
//! records for exactly one call; numbers and versions come from counters
//! that only grow.

use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};

use profilestore_plugin_api::shared::record_matches;
use profilestore_plugin_api::{LogMessage, RecordExpect, RecordOutcome, RecordWrite, SharedRecord};

#[derive(Debug, Default)]
struct State {
    log: VecDeque<LogMessage>,
    head: u64,
    records: BTreeMap<String, SharedRecord>,
    last_version: u64,
}

impl State {
    fn swap(&mut self, name: &str, expect: RecordExpect, value: Option<&str>) -> RecordOutcome {
        let current = self.records.get(name);
        if !record_matches(expect, current) {
            return RecordOutcome::Conflict {
                current: current.cloned(),
            };
        }
        let Some(value) = value else {
            self.records.remove(name);
            return RecordOutcome::Swapped { version: None };
        };
        self.last_version += 1;
        let version = self.last_version;
        self.records.insert(
            name.to_owned(),
            SharedRecord {
                name: name.to_owned(),
                version,
                value: value.to_owned(),
            },
        );
        RecordOutcome::Swapped {
            version: Some(version),
        }
    }
}

/// The log and records of one memory plugin.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn append(&self, topic: &str, data: &str, sent_ms: i64) -> u64 {
        let mut s = self.state.lock();
        s.head += 1;
        let seq = s.head;
        s.log.push_back(LogMessage {
            seq,
            topic: topic.to_owned(),
            data: data.to_owned(),
            sent_ms,
        });
        seq
    }

    pub(crate) fn read(&self, after: u64, limit: usize) -> Vec<LogMessage> {
        let s = self.state.lock();
        // The log is in number order: skip to the first above `after`.
        let start = s.log.partition_point(|m| m.seq <= after);
        s.log.iter().skip(start).take(limit).cloned().collect()
    }

    pub(crate) fn head(&self) -> u64 {
        self.state.lock().head
    }

    pub(crate) fn trim(&self, cutoff_ms: i64) -> u64 {
        let mut s = self.state.lock();
        let before = s.log.len();
        s.log.retain(|m| m.sent_ms >= cutoff_ms);
        (before - s.log.len()) as u64
    }

    pub(crate) fn record(&self, name: &str) -> Option<SharedRecord> {
        self.state.lock().records.get(name).cloned()
    }

    pub(crate) fn swap(
        &self,
        name: &str,
        expect: RecordExpect,
        value: Option<&str>,
    ) -> RecordOutcome {
        self.state.lock().swap(name, expect, value)
    }

    /// Several swaps under one hold of the lock (so all at once).
    pub(crate) fn swap_all(&self, writes: &[RecordWrite]) -> Vec<RecordOutcome> {
        let mut s = self.state.lock();
        writes
            .iter()
            .map(|w| s.swap(&w.name, w.expect, w.value.as_deref()))
            .collect()
    }

    pub(crate) fn list(&self, prefix: &str) -> Vec<SharedRecord> {
        let s = self.state.lock();
        s.records
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, r)| r.clone())
            .collect()
    }
}
