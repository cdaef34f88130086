//! One sorted map's items: the order, the bounds of a range, expiry.
//!
//! Owns: [`SortedMapData`] (items by key, the order index, the expiry
//! index, the byte count). Invariants: the order is Roblox's (numeric sort
//! keys, then string sort keys, then no sort key; ties by key); range
//! bounds are exclusive (the class reference, quirk 19); an item whose
//! expiry time has come is never returned, and `reap` drops such items
//! (oldest first, at most a budget per call); `bytes` is the sum of the
//! items' sizes. A map serializes as its items by key (the indices are
//! rebuilt on reading: the shared backend's records, `shared.rs`).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound as B;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{Bound, Direction, SortKey, SortedItem};

/// An `f64` ordered by `total_cmp` (sort keys and priorities are finite).
#[derive(Clone, Copy, Debug)]
pub(super) struct Num(pub(super) f64);

impl PartialEq for Num {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Num {}
impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Where a sort key ranks: numbers, then strings, then none.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Num(Num),
    Str(String),
    Nil,
}

impl Rank {
    fn of(sort_key: Option<&SortKey>) -> Self {
        match sort_key {
            Some(SortKey::Number(n)) => Rank::Num(Num(*n)),
            Some(SortKey::String(s)) => Rank::Str(s.clone()),
            None => Rank::Nil,
        }
    }
}

/// A key position: before every key, a key, after every key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KeyPos {
    Min,
    Key(String),
    Max,
}

type Pos = (Rank, KeyPos);

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Stored {
    #[serde(rename = "v")]
    value: Value,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    sort_key: Option<SortKey>,
    #[serde(rename = "e")]
    etag: String,
    #[serde(rename = "x")]
    expire_ms: i64,
    #[serde(rename = "z")]
    size: usize,
}

/// The items of one sorted map.
#[derive(Clone, Debug, Default)]
pub(super) struct SortedMapData {
    items: HashMap<String, Stored>,
    order: BTreeSet<Pos>,
    expiry: BTreeSet<(i64, String)>,
    bytes: usize,
}

impl Serialize for SortedMapData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SortedMapData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = HashMap::<String, Stored>::deserialize(d)?;
        let mut map = SortedMapData::default();
        for (key, s) in items {
            map.order
                .insert((Rank::of(s.sort_key.as_ref()), KeyPos::Key(key.clone())));
            map.expiry.insert((s.expire_ms, key.clone()));
            map.bytes += s.size;
            map.items.insert(key, s);
        }
        Ok(map)
    }
}

/// The size an item counts for: key, value JSON and sort key.
pub(super) fn item_size(key: &str, value_bytes: usize, sort_key: Option<&SortKey>) -> usize {
    let sort = match sort_key {
        Some(SortKey::String(s)) => s.len(),
        Some(SortKey::Number(_)) => 8,
        None => 0,
    };
    key.len() + value_bytes + sort
}

impl SortedMapData {
    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Items held (expired ones not yet reaped included).
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Drops up to `budget` expired items; true when none is left.
    pub(super) fn reap(&mut self, now: i64, budget: usize) -> bool {
        for _ in 0..budget {
            let Some((at, key)) = self.expiry.first().cloned() else {
                return true;
            };
            if at > now {
                return true;
            }
            self.take(&key);
        }
        self.expiry.first().is_none_or(|(at, _)| *at > now)
    }

    fn item(key: &str, s: &Stored) -> SortedItem {
        SortedItem {
            key: key.to_owned(),
            value: s.value.clone(),
            sort_key: s.sort_key.clone(),
            etag: s.etag.clone(),
            expire_ms: s.expire_ms,
        }
    }

    /// The live item of `key`.
    pub(super) fn get(&self, key: &str, now: i64) -> Option<SortedItem> {
        self.items
            .get(key)
            .filter(|s| s.expire_ms > now)
            .map(|s| Self::item(key, s))
    }

    /// The size of `key`'s live item (0 when there is none).
    pub(super) fn size_of(&self, key: &str, now: i64) -> usize {
        self.items
            .get(key)
            .filter(|s| s.expire_ms > now)
            .map_or(0, |s| s.size)
    }

    /// Removes `key` (live or expired).
    pub(super) fn take(&mut self, key: &str) -> Option<SortedItem> {
        let s = self.items.remove(key)?;
        self.order
            .remove(&(Rank::of(s.sort_key.as_ref()), KeyPos::Key(key.to_owned())));
        self.expiry.remove(&(s.expire_ms, key.to_owned()));
        self.bytes -= s.size;
        Some(Self::item(key, &s))
    }

    /// Writes `item` (replacing any), counting `size` bytes.
    pub(super) fn insert(&mut self, item: SortedItem, size: usize) {
        self.take(&item.key);
        self.order.insert((
            Rank::of(item.sort_key.as_ref()),
            KeyPos::Key(item.key.clone()),
        ));
        self.expiry.insert((item.expire_ms, item.key.clone()));
        self.bytes += size;
        self.items.insert(
            item.key,
            Stored {
                value: item.value,
                sort_key: item.sort_key,
                etag: item.etag,
                expire_ms: item.expire_ms,
                size,
            },
        );
    }

    /// Live items.
    pub(super) fn live(&self, now: i64) -> usize {
        self.items.values().filter(|s| s.expire_ms > now).count()
    }

    /// Up to `count` live items strictly between the bounds, in `direction`.
    pub(super) fn range(
        &self,
        direction: Direction,
        count: usize,
        lower: Option<&Bound>,
        upper: Option<&Bound>,
        now: i64,
    ) -> Vec<SortedItem> {
        let lo = lower.and_then(|b| position(b, KeyPos::Max));
        let hi = upper.and_then(|b| position(b, KeyPos::Min));
        if let (Some(lo), Some(hi)) = (&lo, &hi) {
            if lo >= hi {
                return Vec::new();
            }
        }
        let lo = lo.map_or(B::Unbounded, B::Excluded);
        let hi = hi.map_or(B::Unbounded, B::Excluded);
        let iter = self.order.range((lo, hi));
        let keys: Box<dyn Iterator<Item = &Pos>> = match direction {
            Direction::Ascending => Box::new(iter),
            Direction::Descending => Box::new(iter.rev()),
        };
        keys.filter_map(|(_, k)| match k {
            KeyPos::Key(k) => self.get(k, now),
            _ => None,
        })
        .take(count)
        .collect()
    }
}

/// A bound's position; a bound without a key sits at `no_key` within its
/// sort key (after every key of it for a lower bound, before for an
/// upper one); a bound with neither is no bound.
fn position(b: &Bound, no_key: KeyPos) -> Option<Pos> {
    if b.key.is_none() && b.sort_key.is_none() {
        return None;
    }
    let key = b.key.clone().map_or(no_key, KeyPos::Key);
    Some((Rank::of(b.sort_key.as_ref()), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(m: &mut SortedMapData, key: &str, sk: Option<SortKey>, expire_ms: i64) {
        let item = SortedItem {
            key: key.into(),
            value: Value::from(key),
            sort_key: sk,
            etag: "e".into(),
            expire_ms,
        };
        m.insert(item, 10);
    }

    fn keys(items: &[SortedItem]) -> Vec<&str> {
        items.iter().map(|i| i.key.as_str()).collect()
    }

    #[test]
    fn order_is_numbers_then_strings_then_none_ties_by_key() {
        let mut m = SortedMapData::default();
        put(&mut m, "player0", None, 100);
        put(&mut m, "player1", Some(SortKey::Number(3.0)), 100);
        put(&mut m, "player2", Some(SortKey::Number(-1.5)), 100);
        put(&mut m, "player6", Some(SortKey::String("a".into())), 100);
        put(&mut m, "player5", Some(SortKey::Number(3.0)), 100);
        put(&mut m, "a", None, 100);
        let all = m.range(Direction::Ascending, 10, None, None, 0);
        assert_eq!(
            keys(&all),
            ["player2", "player1", "player5", "player6", "a", "player0"]
        );
        let down = m.range(Direction::Descending, 2, None, None, 0);
        assert_eq!(keys(&down), ["player0", "a"]);
    }

    #[test]
    fn bounds_are_exclusive_and_a_sort_key_alone_excludes_all_its_keys() {
        let mut m = SortedMapData::default();
        for (k, n) in [("a", 1.0), ("b", 2.0), ("c", 2.0), ("d", 3.0)] {
            put(&mut m, k, Some(SortKey::Number(n)), 100);
        }
        let b = |key: Option<&str>, n: Option<f64>| Bound {
            key: key.map(str::to_owned),
            sort_key: n.map(SortKey::Number),
        };
        let lo = b(Some("b"), Some(2.0));
        assert_eq!(
            keys(&m.range(Direction::Ascending, 10, Some(&lo), None, 0)),
            ["c", "d"]
        );
        let lo = b(None, Some(2.0));
        assert_eq!(
            keys(&m.range(Direction::Ascending, 10, Some(&lo), None, 0)),
            ["d"]
        );
        let hi = b(None, Some(2.0));
        assert_eq!(
            keys(&m.range(Direction::Ascending, 10, None, Some(&hi), 0)),
            ["a"]
        );
        let (lo, hi) = (b(Some("c"), Some(2.0)), b(Some("b"), Some(2.0)));
        assert!(m
            .range(Direction::Ascending, 10, Some(&lo), Some(&hi), 0)
            .is_empty());
    }

    #[test]
    fn expired_items_are_hidden_then_reaped_within_the_budget() {
        let mut m = SortedMapData::default();
        put(&mut m, "old", None, 50);
        put(&mut m, "older", None, 40);
        put(&mut m, "new", None, 500);
        assert!(m.get("old", 60).is_none());
        assert_eq!(
            keys(&m.range(Direction::Ascending, 10, None, None, 60)),
            ["new"]
        );
        assert!(!m.reap(60, 1), "one of two expired items left");
        assert!(m.reap(60, 1));
        assert_eq!((m.len(), m.bytes()), (1, 10));
    }
}
