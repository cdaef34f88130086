//! The storage-side witness of a chaos run.
//!
//! Owns: [`Recorder`], attached to the fault injector's commit hook, which
//! sees exactly the commits that reached storage (ambiguous ones included:
//! they were written even though the caller heard an error). It keeps, per
//! profile key, every committed document in commit order with the writer's
//! clock. The ownership checks in `invariants.rs` read this log, never the
//! engines' own account of what they did.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use profilestore::faults::FaultyPlugin;
use profilestore::plugin_api::CommitOutcome;
use serde_json::Value;

/// One committed write of a profile key.
#[derive(Clone, Debug)]
pub(crate) struct Written {
    /// The writer's clock, epoch ms.
    pub at_ms: i64,
    /// The document written (`Null` for a tombstone).
    pub value: Value,
}

/// Logs every committed write to the data store named `store`.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    log: Mutex<HashMap<String, Vec<Written>>>,
}

impl Recorder {
    /// A recorder of `faulty`'s commits to `store`.
    pub(crate) fn attach(faulty: &FaultyPlugin, store: &str) -> Arc<Self> {
        let recorder = Arc::new(Recorder::default());
        let (log, store) = (Arc::clone(&recorder), store.to_owned());
        faulty.on_commit(move |commit, outcome| {
            if !matches!(outcome, CommitOutcome::Committed(_)) || commit.entry.store.name != store {
                return;
            }
            let value = if commit.version.deleted {
                Value::Null
            } else {
                serde_json::from_str(&commit.version.value).expect("committed JSON")
            };
            log.log
                .lock()
                .expect("recorder lock")
                .entry(commit.entry.key.clone())
                .or_default()
                .push(Written {
                    at_ms: commit.now_ms,
                    value,
                });
        });
        recorder
    }

    /// Every key's commits, in commit order.
    pub(crate) fn log(&self) -> HashMap<String, Vec<Written>> {
        self.log.lock().expect("recorder lock").clone()
    }
}
