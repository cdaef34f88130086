//! Order-preserving byte keys for the sled trees.
//!
//! Owns: encoding and decoding entry, version and store keys. Invariant:
//! comparing encoded keys bytewise compares the tuples
//! `(universe, store, scope, key[, seq])` field by field, each string
//! bytewise; an encoded entry key is never a prefix of another entry key.

use profilestore_plugin_api::ordered::{ordered_value_bytes, ordered_value_from_bytes};
use profilestore_plugin_api::{EntryId, Seq};

const ESCAPE: u8 = 0x00;
const ESCAPED_ZERO: u8 = 0xFF;
const TERMINATOR: u8 = 0x01;

fn push_str(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        out.push(b);
        if b == ESCAPE {
            out.push(ESCAPED_ZERO);
        }
    }
    out.extend_from_slice(&[ESCAPE, TERMINATOR]);
}

/// Reads one escaped string; returns it and the rest.
fn take_str(bytes: &[u8]) -> Option<(String, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == ESCAPE {
            match *bytes.get(i + 1)? {
                ESCAPED_ZERO => out.push(ESCAPE),
                TERMINATOR => return Some((String::from_utf8(out).ok()?, &bytes[i + 2..])),
                _ => return None,
            }
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    None
}

/// Prefix of every entry of one data store.
pub(crate) fn store_prefix(universe: u64, store: &str) -> Vec<u8> {
    let mut out = universe.to_be_bytes().to_vec();
    push_str(&mut out, store);
    out
}

/// Prefix of every entry of one scope.
pub(crate) fn scope_prefix(universe: u64, store: &str, scope: &str) -> Vec<u8> {
    let mut out = store_prefix(universe, store);
    push_str(&mut out, scope);
    out
}

/// The key of an entry in `heads`, and the prefix of its versions.
pub(crate) fn entry_key(e: &EntryId) -> Vec<u8> {
    let mut out = scope_prefix(e.store.universe, &e.store.name, &e.scope);
    push_str(&mut out, &e.key);
    out
}

/// The key of one version.
pub(crate) fn version_key(entry: &[u8], seq: Seq) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry.len() + 8);
    out.extend_from_slice(entry);
    out.extend_from_slice(&seq.to_be_bytes());
    out
}

/// The sequence number at the end of a version key.
pub(crate) fn seq_of(version_key: &[u8]) -> Option<Seq> {
    let tail = version_key.get(version_key.len().checked_sub(8)?..)?;
    Some(Seq::from_be_bytes(tail.try_into().ok()?))
}

/// (scope, key) of an entry key under `store_prefix`.
pub(crate) fn scope_and_key(entry_key: &[u8], store_prefix_len: usize) -> Option<(String, String)> {
    let (scope, rest) = take_str(entry_key.get(store_prefix_len..)?)?;
    let (key, rest) = take_str(rest)?;
    rest.is_empty().then_some((scope, key))
}

/// The entry an entry key encodes (the inverse of [`entry_key`]).
pub(crate) fn decode_entry_key(bytes: &[u8]) -> Option<EntryId> {
    let universe = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let (store, rest) = take_str(&bytes[8..])?;
    let (scope, rest) = take_str(rest)?;
    let (key, rest) = take_str(rest)?;
    rest.is_empty()
        .then(|| EntryId::new(universe, store, scope, key))
}

/// The key of a data store in `stores`.
pub(crate) fn store_key(universe: u64, name: &str) -> Vec<u8> {
    let mut out = universe.to_be_bytes().to_vec();
    out.extend_from_slice(name.as_bytes());
    out
}

/// The key of an ordered entry's record in `ordered_index`:
/// `scope_prefix ++ ordered_value_bytes(value) ++ escaped key`, so byte
/// order is `(value, key)` order within a scope.
pub(crate) fn ordered_index_key(scope_prefix: &[u8], value: i64, key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(scope_prefix.len() + 8 + key.len() + 2);
    out.extend_from_slice(scope_prefix);
    out.extend_from_slice(&ordered_value_bytes(value));
    push_str(&mut out, key);
    out
}

/// `(value, key)` of an `ordered_index` key under a scope prefix.
pub(crate) fn ordered_index_parts(index_key: &[u8], prefix_len: usize) -> Option<(i64, String)> {
    let rest = index_key.get(prefix_len..)?;
    let value = ordered_value_from_bytes(rest.get(..8)?.try_into().ok()?);
    let (key, tail) = take_str(&rest[8..])?;
    tail.is_empty().then_some((value, key))
}

/// The smallest key above every key starting with `prefix` (a prefix
/// built by `push_str` ends with the terminator `00 01`).
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    if let Some(last) = out.last_mut() {
        *last += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_is_tuple_order() {
        let k = |scope: &str, key: &str| entry_key(&EntryId::new(1, "S", scope, key));
        assert!(k("a", "z") < k("ab", "a"), "scope decides before key");
        assert!(k("a", "b") < k("a", "b\u{0}"));
        assert!(k("a", "b\u{0}") < k("a", "b\u{1}"));
        assert!(
            entry_key(&EntryId::new(1, "S", "a", "b")) < entry_key(&EntryId::new(2, "A", "a", "b"))
        );
    }

    #[test]
    fn decodes_what_it_encodes() {
        let e = EntryId::new(7, "Store\u{0}x", "sc\u{0}", "k/ey\u{0}\u{0}");
        let key = entry_key(&e);
        let prefix = store_prefix(7, "Store\u{0}x");
        assert_eq!(
            scope_and_key(&key, prefix.len()),
            Some((e.scope.clone(), e.key.clone()))
        );
        assert_eq!(seq_of(&version_key(&key, 42)), Some(42));
        assert_eq!(decode_entry_key(&key), Some(e.clone()));
    }

    #[test]
    fn ordered_index_keys_sort_by_value_then_key() {
        let prefix = scope_prefix(1, "S", "global");
        let k = |v: i64, key: &str| ordered_index_key(&prefix, v, key);
        assert!(k(i64::MIN, "z") < k(-1, "a"));
        assert!(k(-1, "z") < k(0, "a"));
        assert!(k(5, "a") < k(5, "a\u{0}"));
        assert!(k(5, "a\u{0}") < k(5, "b"));
        assert!(k(i64::MAX, "é") < prefix_end(&prefix));
        assert_eq!(
            ordered_index_parts(&k(-7, "k\u{0}y"), prefix.len()),
            Some((-7, "k\u{0}y".to_owned()))
        );
    }
}
