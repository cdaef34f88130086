//! Opaque listing cursors, for every listing that pages (standard data
//! stores' keys, versions and data stores; ordered data stores' sorted
//! pages).
//!
//! Owns: encoding a listing's resume point into the cursor string handed to
//! clients, and refusing cursors that this listing did not issue (`None`;
//! each caller turns it into its own `InvalidCursor` error).
//! Invariants: a cursor carries a fingerprint of the listing's parameters
//! (data store, scope, key, filters, order), so a cursor reused with other
//! parameters, or garbage, is `InvalidCursor`, never a silently wrong page.
//! The fingerprint is FNV-1a, stable across builds and restarts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Doc<T> {
    v: u8,
    f: u64,
    a: T,
}

/// FNV-1a over the listing's parameters, each followed by a separator.
pub fn fingerprint(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The cursor resuming after `after` in the listing `fingerprint`.
pub fn encode<T: Serialize>(fingerprint: u64, after: &T) -> String {
    let doc = Doc {
        v: 1,
        f: fingerprint,
        a: after,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&doc).expect("cursor serializes"))
}

/// The resume point of a cursor issued for the listing `fingerprint`, or
/// `None` for garbage or a cursor of another listing.
pub fn decode<T: DeserializeOwned>(cursor: &str, fingerprint: u64) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).ok()?;
    let doc: Doc<T> = serde_json::from_slice(&bytes).ok()?;
    (doc.v == 1 && doc.f == fingerprint).then_some(doc.a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_listings() {
        let f = fingerprint(&["Players", "global"]);
        let c = encode(f, &42u64);
        assert_eq!(decode::<u64>(&c, f).expect("same listing"), 42);
        assert!(decode::<u64>(&c, fingerprint(&["Players", "other"])).is_none());
        assert!(decode::<u64>("not a cursor!", f).is_none());
        assert!(decode::<u64>("", f).is_none());
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
