//! The ordered capability of the plugin contract: Roblox's ordered data
//! stores (integer values, no versions, sorted reads) and the small
//! metadata records the layers above keep beside the data (data store
//! states, snapshot times).
//!
//! Owns: [`OrderedWrite`], [`OrderedOutcome`], [`OrderedQuery`],
//! [`OrderedRecord`], [`MetaRecord`]. Invariants a plugin guarantees (each
//! checked by the conformance suite):
//! - an ordered entry lives in its own namespace: the standard entry with
//!   the same [`EntryId`] is a different object;
//! - [`OrderedWrite`] checks its [`OrderedExpect`] and writes (or removes)
//!   in one transaction of the backing store;
//! - [`OrderedQuery`] reads are index-backed: the cost of a page grows with
//!   the page, not with the number of entries in the scope;
//! - the sort order is `(value, key)`, keys compared as byte strings;
//!   descending reverses it.

use crate::{EntryId, SortOrder, StoreId};

/// The condition an [`OrderedWrite`] checks atomically.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderedExpect {
    /// Unconditional.
    Any,
    /// The entry's current value must be exactly this (`None`: absent).
    Current(Option<i64>),
}

/// A write of one ordered entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderedWrite {
    /// The entry (universe, ordered data store, scope, key).
    pub entry: EntryId,
    /// Condition checked atomically with the write.
    pub expect: OrderedExpect,
    /// The new value, or `None` to remove the entry.
    pub value: Option<i64>,
}

/// Result of an [`OrderedWrite`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderedOutcome {
    /// Written; carries the value it replaced (`None`: it was absent).
    Written {
        /// The value before the write.
        previous: Option<i64>,
    },
    /// The expectation did not hold; nothing was written.
    Conflict {
        /// The entry's current value.
        current: Option<i64>,
    },
}

/// One ordered entry as a sorted read returns it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderedRecord {
    /// Its value (first sort field).
    pub value: i64,
    /// Its key (second sort field).
    pub key: String,
}

/// A sorted read of one scope of an ordered data store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderedQuery {
    /// The ordered data store.
    pub store: StoreId,
    /// The scope read.
    pub scope: String,
    /// `(value, key)` ascending or descending.
    pub order: SortOrder,
    /// Only values `>= min` (inclusive), when set.
    pub min: Option<i64>,
    /// Only values `<= max` (inclusive), when set.
    pub max: Option<i64>,
    /// Resume after this record (exclusive, in the read's order).
    pub after: Option<OrderedRecord>,
    /// Page size, at least 1.
    pub limit: usize,
}

/// A named metadata record: a short JSON text the layers above keep beside
/// the data (for example `datastore-state/<universe>/<name>`). Names are
/// ordered as byte strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaRecord {
    /// The record's name.
    pub name: String,
    /// Its content.
    pub value: String,
}

/// Whether `record` lies inside `query`'s bounds and after its cursor.
/// Plugins whose index cannot express a bound filter with this.
pub fn ordered_matches(query: &OrderedQuery, record: &OrderedRecord) -> bool {
    let in_range =
        query.min.is_none_or(|m| record.value >= m) && query.max.is_none_or(|m| record.value <= m);
    let after = match (&query.after, query.order) {
        (None, _) => true,
        (Some(a), SortOrder::Ascending) => record > a,
        (Some(a), SortOrder::Descending) => record < a,
    };
    in_range && after
}

/// The order-preserving 8-byte encoding of an ordered value (sign bit
/// flipped, big-endian), for plugins that index values as byte strings.
pub fn ordered_value_bytes(value: i64) -> [u8; 8] {
    ((value as u64) ^ (1 << 63)).to_be_bytes()
}

/// The inverse of [`ordered_value_bytes`].
pub fn ordered_value_from_bytes(bytes: [u8; 8]) -> i64 {
    (u64::from_be_bytes(bytes) ^ (1 << 63)) as i64
}
