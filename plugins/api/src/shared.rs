//! What several profilestore nodes on one database share beyond entries:
//! the message log and versioned records.
//!
//! Owns: the types of the shared capability of [`StoragePlugin`]
//! ([`LogMessage`], [`SharedRecord`], [`RecordExpect`], [`RecordOutcome`]).
//! Invariants every plugin keeps (checked by the conformance suite):
//! - **Log numbers** are assigned in commit order and never reused: once
//!   `log_append` returned `n`, a `log_read(n - 1, ..)` sees it, no later
//!   append gets a number at or below `n` (also after trimming everything
//!   or reopening), so a reader that remembers the last number it read
//!   misses nothing and sees nothing twice;
//! - **record versions** never repeat: each successful swap gives the
//!   record a version greater than any version the plugin gave before
//!   (to any record), so a compare-and-swap against a version read before
//!   a remove and re-create conflicts instead of succeeding;
//! - a swap checks and writes in one transaction of the backing store,
//!   never a lock in this process; so does a batch of swaps
//!   (`record_swap_all`), all of it or nothing.
//!
//! Neither the log nor the records are part of a [`StoreImage`]
//! (snapshots hold data, not the cluster's coordination state).
//!
//! [`StoragePlugin`]: crate::StoragePlugin
//! [`StoreImage`]: crate::StoreImage

/// One message of the shared message log (MessagingService across nodes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogMessage {
    /// Its number in the log (1, 2, ...; see the module's invariants).
    pub seq: u64,
    /// The topic it was published on.
    pub topic: String,
    /// The message as compact JSON text (validated by the caller).
    pub data: String,
    /// When it was published, Unix milliseconds of the publisher's clock.
    pub sent_ms: i64,
}

/// A versioned record (cluster membership, leases, shared structures).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedRecord {
    /// Its name.
    pub name: String,
    /// Its version (see the module's invariants).
    pub version: u64,
    /// Its content.
    pub value: String,
}

/// What a swap expects to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordExpect {
    /// No record of that name.
    Absent,
    /// The record at exactly this version.
    Version(u64),
    /// Anything (an unconditional write or remove).
    Any,
}

/// One write of [`StoragePlugin::record_swap_all`]: the arguments of one
/// [`StoragePlugin::record_swap`].
///
/// [`StoragePlugin::record_swap_all`]: crate::StoragePlugin::record_swap_all
/// [`StoragePlugin::record_swap`]: crate::StoragePlugin::record_swap
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordWrite {
    /// The record's name.
    pub name: String,
    /// What the write expects to find.
    pub expect: RecordExpect,
    /// The new content, or `None` to remove the record.
    pub value: Option<String>,
}

/// What a swap did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The expectation held and the write happened. `version` is the
    /// record's new version, or `None` when it was removed (or removing an
    /// absent record).
    Swapped {
        /// The new version.
        version: Option<u64>,
    },
    /// The expectation did not hold; nothing was written.
    Conflict {
        /// What is there now.
        current: Option<SharedRecord>,
    },
}

/// Whether `current` satisfies `expect` (for plugins checking in code
/// inside their transaction).
pub fn record_matches(expect: RecordExpect, current: Option<&SharedRecord>) -> bool {
    match (expect, current) {
        (RecordExpect::Any, _) => true,
        (RecordExpect::Absent, None) => true,
        (RecordExpect::Version(v), Some(r)) => r.version == v,
        _ => false,
    }
}
