//! Opaque `GetSortedAsync` page cursors.
//!
//! Owns: encoding the last record of a page (value, key) into the cursor
//! handed to clients (`DataStorePages`, Open Cloud's page tokens, the
//! engine API's `nextCursor`), and refusing cursors this listing did not
//! issue. Invariants: a cursor carries an FNV-1a fingerprint of the
//! listing (universe, store, scope, order, bounds), so a cursor reused with
//! other parameters, or garbage, is `InvalidCursor`, never a wrong page;
//! the encoding is stable across builds and restarts (a server hands it to
//! any client, and a restarted server still reads it).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use profilestore_plugin_api::OrderedRecord;
use serde::{Deserialize, Serialize};

use super::{OrdResult, OrderedError};

#[derive(Serialize, Deserialize)]
struct Doc {
    v: u8,
    f: u64,
    value: i64,
    key: String,
}

/// FNV-1a over a listing's parameters, each followed by a separator.
pub(super) fn fingerprint(parts: &[&str]) -> u64 {
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
pub(super) fn encode(fingerprint: u64, after: &OrderedRecord) -> String {
    let doc = Doc {
        v: 1,
        f: fingerprint,
        value: after.value,
        key: after.key.clone(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&doc).expect("a cursor serializes"))
}

/// The resume point of a cursor issued for the listing `fingerprint`.
pub(super) fn decode(cursor: &str, fingerprint: u64) -> OrdResult<OrderedRecord> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .map_err(|_| OrderedError::InvalidCursor)?;
    let doc: Doc = serde_json::from_slice(&bytes).map_err(|_| OrderedError::InvalidCursor)?;
    if doc.v != 1 || doc.f != fingerprint {
        return Err(OrderedError::InvalidCursor);
    }
    Ok(OrderedRecord {
        value: doc.value,
        key: doc.key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_listings_and_garbage() {
        let f = fingerprint(&["1", "Board", "global", "asc", "", ""]);
        let at = OrderedRecord {
            value: -7,
            key: "a/b é".to_owned(),
        };
        let c = encode(f, &at);
        assert!(c
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(decode(&c, f).expect("same listing"), at);
        let other = fingerprint(&["1", "Board", "global", "desc", "", ""]);
        assert!(matches!(
            decode(&c, other),
            Err(OrderedError::InvalidCursor)
        ));
        for bad in ["", "not a cursor!", "e30"] {
            assert!(
                matches!(decode(bad, f), Err(OrderedError::InvalidCursor)),
                "{bad}"
            );
        }
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
