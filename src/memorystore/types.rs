//! The values memory store calls take and answer.
//!
//! Owns: [`SortKey`], the items ([`SortedItem`], [`HashItem`],
//! [`QueuedItem`]), range [`Bound`]s, conditional writes ([`Expect`],
//! [`Written`]), queue reads ([`ReadOptions`], [`QueueRead`]) and hash map
//! pages ([`HashPage`]), plus the whole-call input checks both backends
//! share. Invariant: a type here means the same on both backends.

use std::time::Duration;

use serde_json::Value;

use super::error::{self, MemoryStoreError};
use super::limits::*;

pub use crate::opencloud::memory::{Bound, Direction, SortKey};

/// A sorted map item.
#[derive(Clone, Debug, PartialEq)]
pub struct SortedItem {
    /// Its key.
    pub key: String,
    /// Its value.
    pub value: Value,
    /// Its sort key.
    pub sort_key: Option<SortKey>,
    /// Changes on every write.
    pub etag: String,
    /// When it expires (Unix ms).
    pub expire_ms: i64,
}

impl SortedItem {
    /// Value and sort key (what `GetAsync` answers).
    pub fn parts(self) -> (Value, Option<SortKey>) {
        (self.value, self.sort_key)
    }
}

/// A hash map item.
#[derive(Clone, Debug, PartialEq)]
pub struct HashItem {
    /// Its key.
    pub key: String,
    /// Its value.
    pub value: Value,
    /// Changes on every write.
    pub etag: String,
    /// When it expires (Unix ms).
    pub expire_ms: i64,
}

/// A queue item as a read or a peek shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuedItem {
    /// Its value.
    pub value: Value,
    /// Its priority.
    pub priority: f64,
    /// When it expires (Unix ms).
    pub expire_ms: i64,
    /// Until when it is invisible (Unix ms), when it is (peek only).
    pub invisible_until: Option<i64>,
}

/// Range bounds check their key and sort key as a write would.
pub(super) fn check_bound(b: &Bound) -> Result<(), MemoryStoreError> {
    if let Some(k) = &b.key {
        error::check_key(k)?;
    }
    error::check_sort_key(b.sort_key.as_ref())
}

/// The condition of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Unconditional.
    Any,
    /// The item must not exist.
    Absent,
    /// The item's etag must be this one.
    Etag(String),
}

/// What a conditional write did.
#[derive(Clone, Debug, PartialEq)]
pub enum Written<I> {
    /// It was written; `new` when the item did not exist.
    Written {
        /// The item did not exist.
        new: bool,
        /// The item as written.
        item: I,
    },
    /// The condition failed; nothing changed.
    Conflict {
        /// The item as it is.
        current: Option<I>,
    },
}

/// How a queue read reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadOptions {
    /// How many items (1..=100; Open Cloud 1..=200).
    pub count: usize,
    /// Read nothing unless `count` items are there.
    pub all_or_nothing: bool,
    /// How long to wait for items (zero: answer at once).
    pub wait: Duration,
    /// How long read items stay invisible (above zero).
    pub invisibility: Duration,
}

impl ReadOptions {
    /// `count` items, no waiting, 30 s invisibility.
    pub fn new(count: usize) -> Self {
        ReadOptions {
            count,
            all_or_nothing: false,
            wait: Duration::ZERO,
            invisibility: Duration::from_secs_f64(DEFAULT_INVISIBILITY_SECS),
        }
    }

    pub(super) fn check(&self, max: usize) -> Result<(), MemoryStoreError> {
        error::check_count("count", self.count, max)?;
        let secs = self.invisibility.as_secs_f64();
        error::check_seconds("invisibilityTimeout", secs, true, MAX_INVISIBILITY_SECS)
    }
}

/// What a queue read got.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueRead {
    /// The values, in read order.
    pub values: Vec<Value>,
    /// The id that removes them, `None` when nothing was read.
    pub id: Option<String>,
}

/// What kind of structure a [`Structure`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StructureKind {
    /// A sorted map.
    SortedMap,
    /// A queue.
    Queue,
    /// A hash map.
    HashMap,
}

/// One structure of a universe, as an inspection lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Structure {
    /// Sorted map, queue or hash map.
    pub kind: StructureKind,
    /// Its name.
    pub name: String,
    /// Items it holds (expired ones not yet reclaimed included).
    pub items: usize,
    /// Bytes they count against the quota.
    pub bytes: usize,
}

/// One page of `ListItemsAsync`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HashPage {
    /// Keys and values.
    pub items: Vec<(String, Value)>,
    /// The next page's cursor, `None` on the last page.
    pub cursor: Option<String>,
}

/// A sorted map write, checked.
#[derive(Clone, Debug)]
pub(super) struct SortedWrite<'a> {
    pub(super) key: &'a str,
    pub(super) value: Value,
    pub(super) expiration_secs: u64,
    pub(super) sort_key: Option<SortKey>,
    pub(super) expect: Expect,
}

/// A range query, checked.
#[derive(Debug)]
pub(super) struct RangeQuery {
    pub(super) direction: Direction,
    pub(super) count: usize,
    pub(super) lower: Option<Bound>,
    pub(super) upper: Option<Bound>,
}

/// A structure's name.
pub(super) fn check_structure(name: &str, what: &'static str) -> Result<(), MemoryStoreError> {
    error::check_name(name, what)
}

/// Every check of a sorted map write; the value's JSON size.
pub(super) fn check_sorted_write(
    name: &str,
    key: &str,
    value: &Value,
    expiration_secs: u64,
    sort_key: Option<&SortKey>,
) -> Result<usize, MemoryStoreError> {
    check_structure(name, "sorted map name")?;
    error::check_key(key)?;
    error::check_sort_key(sort_key)?;
    error::check_expiration(expiration_secs)?;
    error::check_value(value)
}

/// Every check of a hash map write; the value's JSON size.
pub(super) fn check_hash_write(
    name: &str,
    key: &str,
    value: &Value,
    expiration_secs: u64,
) -> Result<usize, MemoryStoreError> {
    check_structure(name, "hash map name")?;
    error::check_key(key)?;
    error::check_expiration(expiration_secs)?;
    error::check_value(value)
}
