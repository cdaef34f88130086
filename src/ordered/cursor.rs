//! Opaque `GetSortedAsync` page cursors.
//!
//! Owns: the last record of a page (value, key) as the cursor handed to
//! clients (`DataStorePages`, Open Cloud's page tokens, the engine API's
//! `nextCursor`), in the shared codec (`opencloud::cursor`). Invariants: a
//! cursor carries the FNV-1a fingerprint of its listing (universe, store,
//! scope, order, bounds), so a cursor reused with other parameters, or
//! garbage, is `InvalidCursor`, never a wrong page; the encoding is stable
//! across builds and restarts.

use profilestore_plugin_api::OrderedRecord;

use super::{OrdResult, OrderedError};
use crate::opencloud::cursor;

pub(super) use cursor::fingerprint;

/// The cursor resuming after `after` in the listing `fingerprint`.
pub(super) fn encode(fingerprint: u64, after: &OrderedRecord) -> String {
    cursor::encode(fingerprint, &(after.value, &after.key))
}

/// The resume point of a cursor issued for the listing `fingerprint`.
pub(super) fn decode(cursor: &str, fingerprint: u64) -> OrdResult<OrderedRecord> {
    let (value, key) = cursor::decode(cursor, fingerprint).ok_or(OrderedError::InvalidCursor)?;
    Ok(OrderedRecord { value, key })
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
