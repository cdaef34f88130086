//! One queue's items: priority order, invisibility windows, read ids.
//!
//! Owns: [`QueueData`]. Invariants: items come out highest priority
//! first, in order of addition within a priority; a read item is
//! invisible until its window ends, then visible again unless its read id
//! removed it first; a read id removes only items it still holds (an item
//! read again belongs to the newer read) and nothing once its window has
//! ended; an expired item is never returned and `reap` drops such items
//! (and finished reads) within a budget. A queue serializes as its items
//! (priority, sequence, item), its reads and its next sequence number (the
//! expiry index is rebuilt on reading; waiters are not data).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::sorted_map::Num;
use super::QueuedItem;

type Slot = (Reverse<Num>, u64);

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Stored {
    #[serde(rename = "v")]
    value: Value,
    #[serde(rename = "z")]
    size: usize,
    #[serde(rename = "x")]
    expire_ms: i64,
    #[serde(rename = "i")]
    invisible_until: i64,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    read_id: Option<String>,
}

/// A slot as written: priority and sequence number.
type WireSlot = (f64, u64);

fn wire(slot: &Slot) -> WireSlot {
    (slot.0 .0 .0, slot.1)
}

fn unwire((priority, seq): WireSlot) -> Slot {
    (Reverse(Num(priority)), seq)
}

/// A queue as written (borrowing) ...
#[derive(Serialize)]
struct WireOut<'a> {
    items: Vec<(WireSlot, &'a Stored)>,
    reads: Vec<(&'a str, i64, Vec<WireSlot>)>,
    next: u64,
}

/// ... and as read.
#[derive(Deserialize)]
struct WireIn {
    items: Vec<(WireSlot, Stored)>,
    reads: Vec<(String, i64, Vec<WireSlot>)>,
    next: u64,
}

/// The items of one queue.
#[derive(Clone, Debug, Default)]
pub(super) struct QueueData {
    items: BTreeMap<Slot, Stored>,
    expiry: BTreeSet<(i64, Slot)>,
    reads: HashMap<String, (i64, Vec<Slot>)>,
    next_seq: u64,
    bytes: usize,
    /// Woken on every add (queue reads that wait).
    pub(super) notify: Arc<tokio::sync::Notify>,
}

impl Serialize for QueueData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WireOut {
            items: self.items.iter().map(|(k, v)| (wire(k), v)).collect(),
            reads: self
                .reads
                .iter()
                .map(|(id, (until, slots))| (id.as_str(), *until, slots.iter().map(wire).collect()))
                .collect(),
            next: self.next_seq,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for QueueData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireIn::deserialize(d)?;
        let mut q = QueueData {
            next_seq: w.next,
            ..QueueData::default()
        };
        for (slot, s) in w.items {
            let slot = unwire(slot);
            q.expiry.insert((s.expire_ms, slot));
            q.bytes += s.size;
            q.items.insert(slot, s);
        }
        for (id, until, slots) in w.reads {
            q.reads
                .insert(id, (until, slots.into_iter().map(unwire).collect()));
        }
        Ok(q)
    }
}

/// The size an item counts for: its value JSON and its priority.
pub(super) fn item_size(value_bytes: usize) -> usize {
    value_bytes + 8
}

impl QueueData {
    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Items held (expired ones not yet reaped included).
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Drops up to `budget` expired items and finished reads.
    pub(super) fn reap(&mut self, now: i64, budget: usize) {
        for _ in 0..budget {
            match self.expiry.first().copied() {
                Some((at, slot)) if at <= now => self.take(slot),
                _ => break,
            }
        }
        if self.reads.len() > budget {
            self.reads.retain(|_, (deadline, _)| *deadline > now);
        }
    }

    fn take(&mut self, slot: Slot) {
        if let Some(s) = self.items.remove(&slot) {
            self.expiry.remove(&(s.expire_ms, slot));
            self.bytes -= s.size;
        }
    }

    /// Adds an item.
    pub(super) fn add(&mut self, value: Value, size: usize, priority: f64, expire_ms: i64) {
        let slot = (Reverse(Num(priority)), self.next_seq);
        self.next_seq += 1;
        self.expiry.insert((expire_ms, slot));
        self.bytes += size;
        let stored = Stored {
            value,
            size,
            expire_ms,
            invisible_until: 0,
            read_id: None,
        };
        self.items.insert(slot, stored);
        self.notify.notify_waiters();
    }

    fn shown(slot: &Slot, s: &Stored, now: i64) -> QueuedItem {
        QueuedItem {
            value: s.value.clone(),
            priority: slot.0 .0 .0,
            expire_ms: s.expire_ms,
            invisible_until: (s.invisible_until > now).then_some(s.invisible_until),
        }
    }

    fn visible(&self, now: i64) -> impl Iterator<Item = (&Slot, &Stored)> {
        self.items
            .iter()
            .filter(move |(_, s)| s.expire_ms > now && s.invisible_until <= now)
    }

    /// Reads up to `count` visible items as `read_id`, hiding them for
    /// `invisible_ms`; `None` (nothing changed) when there is none, or
    /// fewer than `count` with `all_or_nothing`.
    pub(super) fn read(
        &mut self,
        count: usize,
        all_or_nothing: bool,
        invisible_ms: i64,
        read_id: &str,
        now: i64,
    ) -> Option<Vec<QueuedItem>> {
        let slots: Vec<Slot> = self.visible(now).take(count).map(|(k, _)| *k).collect();
        if slots.is_empty() || (all_or_nothing && slots.len() < count) {
            return None;
        }
        let until = now.saturating_add(invisible_ms);
        let mut out = Vec::with_capacity(slots.len());
        for slot in &slots {
            if let Some(s) = self.items.get_mut(slot) {
                s.invisible_until = until;
                s.read_id = Some(read_id.to_owned());
                out.push(QueuedItem {
                    invisible_until: None,
                    ..Self::shown(slot, s, now)
                });
            }
        }
        self.reads.insert(read_id.to_owned(), (until, slots));
        Some(out)
    }

    /// Removes the items `read_id` still holds; how many were removed.
    pub(super) fn remove(&mut self, read_id: &str, now: i64) -> usize {
        let Some((deadline, slots)) = self.reads.remove(read_id) else {
            return 0;
        };
        if deadline <= now {
            return 0;
        }
        let mut removed = 0;
        for slot in slots {
            let ours = self
                .items
                .get(&slot)
                .is_some_and(|s| s.read_id.as_deref() == Some(read_id));
            if ours {
                self.take(slot);
                removed += 1;
            }
        }
        removed
    }

    /// Live items, without the invisible ones when `exclude_invisible`.
    pub(super) fn size(&self, exclude_invisible: bool, now: i64) -> usize {
        if exclude_invisible {
            self.visible(now).count()
        } else {
            self.items.values().filter(|s| s.expire_ms > now).count()
        }
    }

    /// The first `count` live items in read order, invisible ones included.
    pub(super) fn peek(&self, count: usize, now: i64) -> Vec<QueuedItem> {
        self.items
            .iter()
            .filter(|(_, s)| s.expire_ms > now)
            .take(count)
            .map(|(k, s)| Self::shown(k, s, now))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(items: &[QueuedItem]) -> Vec<i64> {
        items.iter().filter_map(|i| i.value.as_i64()).collect()
    }

    #[test]
    fn higher_priority_first_then_fifo() {
        let mut q = QueueData::default();
        for (v, p) in [(1, 0.0), (2, 5.0), (3, 0.0), (4, 5.0), (5, -1.0)] {
            q.add(Value::from(v), 9, p, 1_000);
        }
        let read = q.read(10, false, 100, "r", 0).unwrap_or_default();
        assert_eq!(values(&read), [2, 4, 1, 3, 5]);
    }

    #[test]
    fn a_read_id_removes_only_what_it_still_holds() {
        let mut q = QueueData::default();
        q.add(Value::from(1), 9, 0.0, 10_000);
        assert!(q.read(1, false, 100, "first", 0).is_some());
        assert!(q.read(1, false, 100, "x", 50).is_none(), "invisible");
        assert!(q.read(1, false, 100, "second", 100).is_some(), "back");
        assert_eq!(q.remove("first", 150), 0, "window over");
        assert_eq!(q.remove("second", 150), 1);
        assert_eq!(q.size(false, 150), 0);
        assert_eq!(q.bytes(), 0);
    }

    #[test]
    fn all_or_nothing_reads_nothing_when_short() {
        let mut q = QueueData::default();
        q.add(Value::from(1), 9, 0.0, 10_000);
        assert!(q.read(2, true, 100, "r", 0).is_none());
        assert_eq!(q.size(true, 0), 1, "nothing was hidden");
    }
}
