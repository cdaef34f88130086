//! Order-preserving byte keys for the sled trees.
//!
//! Owns: encoding and decoding entry, version and store keys. Invariant:
//! comparing encoded keys bytewise compares the tuples
//! `(universe, store, scope, key[, seq])` field by field, each string
//! bytewise; an encoded entry key is never a prefix of another entry key.

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

/// The key of a data store in `stores`.
pub(crate) fn store_key(universe: u64, name: &str) -> Vec<u8> {
    let mut out = universe.to_be_bytes().to_vec();
    out.extend_from_slice(name.as_bytes());
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
    }
}
