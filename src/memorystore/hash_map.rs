//! One hash map's items and their pages.
//!
//! Owns: [`HashMapData`] (items by key, expiry index, byte count) and its
//! page cursors. Invariants: pages list keys in byte order, each key once
//! across the pages of one walk; a cursor names the last key of its page
//! (so a page after writes neither repeats nor skips unchanged keys); an
//! expired item is never returned and `reap` drops such items within a
//! budget. A map serializes as its items by key (the expiry index is
//! rebuilt on reading).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound as B;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::HashItem;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Stored {
    #[serde(rename = "v")]
    value: Value,
    #[serde(rename = "e")]
    etag: String,
    #[serde(rename = "x")]
    expire_ms: i64,
    #[serde(rename = "z")]
    size: usize,
}

/// The items of one hash map.
#[derive(Clone, Debug, Default)]
pub(super) struct HashMapData {
    items: BTreeMap<String, Stored>,
    expiry: BTreeSet<(i64, String)>,
    bytes: usize,
}

impl Serialize for HashMapData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(s)
    }
}

impl<'de> Deserialize<'de> for HashMapData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = BTreeMap::<String, Stored>::deserialize(d)?;
        let expiry = items
            .iter()
            .map(|(k, s)| (s.expire_ms, k.clone()))
            .collect();
        let bytes = items.values().map(|s| s.size).sum();
        Ok(HashMapData {
            items,
            expiry,
            bytes,
        })
    }
}

/// The size an item counts for: key and value JSON.
pub(super) fn item_size(key: &str, value_bytes: usize) -> usize {
    key.len() + value_bytes
}

/// The cursor after `key`.
pub(super) fn cursor_after(key: &str) -> String {
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    format!("h1.{hex}")
}

/// The key a cursor names, `None` when it is not one of ours.
pub(super) fn parse_cursor(cursor: &str) -> Option<String> {
    let hex = cursor.strip_prefix("h1.")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

impl HashMapData {
    /// Items held (expired ones not yet reaped included).
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Drops up to `budget` expired items.
    pub(super) fn reap(&mut self, now: i64, budget: usize) {
        for _ in 0..budget {
            match self.expiry.first().cloned() {
                Some((at, key)) if at <= now => {
                    self.take(&key);
                }
                _ => break,
            }
        }
    }

    /// The live item of `key`.
    pub(super) fn get(&self, key: &str, now: i64) -> Option<HashItem> {
        let s = self.items.get(key).filter(|s| s.expire_ms > now)?;
        Some(HashItem {
            key: key.to_owned(),
            value: s.value.clone(),
            etag: s.etag.clone(),
            expire_ms: s.expire_ms,
        })
    }

    /// The size of `key`'s live item (0 when there is none).
    pub(super) fn size_of(&self, key: &str, now: i64) -> usize {
        self.items
            .get(key)
            .filter(|s| s.expire_ms > now)
            .map_or(0, |s| s.size)
    }

    /// Removes `key`.
    pub(super) fn take(&mut self, key: &str) {
        if let Some(s) = self.items.remove(key) {
            self.expiry.remove(&(s.expire_ms, key.to_owned()));
            self.bytes -= s.size;
        }
    }

    /// Writes `item` (replacing any), counting `size` bytes.
    pub(super) fn insert(&mut self, item: HashItem, size: usize) {
        self.take(&item.key);
        self.expiry.insert((item.expire_ms, item.key.clone()));
        self.bytes += size;
        let stored = Stored {
            value: item.value,
            etag: item.etag,
            expire_ms: item.expire_ms,
            size,
        };
        self.items.insert(item.key, stored);
    }

    /// Up to `count` live items after `after`, and whether more follow.
    pub(super) fn page(
        &self,
        count: usize,
        after: Option<&str>,
        now: i64,
    ) -> (Vec<(String, Value)>, bool) {
        let start = after.map_or(B::Unbounded, |k| B::Excluded(k.to_owned()));
        let mut live = self
            .items
            .range::<String, _>((start, B::Unbounded))
            .filter(|(_, s)| s.expire_ms > now);
        let page: Vec<(String, Value)> = live
            .by_ref()
            .take(count)
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect();
        let more = live.next().is_some();
        (page, more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_others() {
        for key in ["", "a", "ключ/é:1"] {
            assert_eq!(parse_cursor(&cursor_after(key)).as_deref(), Some(key));
        }
        assert!(parse_cursor("zzz").is_none());
        assert!(parse_cursor("h1.f").is_none());
        assert!(parse_cursor("h1.ff").is_none(), "not UTF-8");
    }

    #[test]
    fn pages_walk_every_live_key_once() {
        let mut m = HashMapData::default();
        for (i, k) in ["c", "a", "b", "d"].iter().enumerate() {
            let item = HashItem {
                key: (*k).into(),
                value: Value::from(i),
                etag: "e".into(),
                expire_ms: if *k == "b" { 5 } else { 100 },
            };
            m.insert(item, 2);
        }
        let (first, more) = m.page(2, None, 10);
        assert!(more);
        assert_eq!(
            first.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["a", "c"]
        );
        let (rest, more) = m.page(2, Some("c"), 10);
        assert!(!more);
        assert_eq!(rest.len(), 1);
        m.reap(10, 10);
        assert_eq!(m.bytes(), 6);
    }
}
