//! Listing cursors of the DataStore layer: the shared codec
//! (`opencloud::cursor`) with its refusal as [`DataStoreError::InvalidCursor`].

use serde::de::DeserializeOwned;

pub(crate) use crate::opencloud::cursor::{encode, fingerprint};

use super::{DataStoreError, DsResult};

/// The resume point of a cursor issued for the listing `fingerprint`.
pub(crate) fn decode<T: DeserializeOwned>(cursor: &str, fingerprint: u64) -> DsResult<T> {
    crate::opencloud::cursor::decode(cursor, fingerprint).ok_or(DataStoreError::InvalidCursor)
}
