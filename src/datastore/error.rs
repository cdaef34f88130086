//! Errors of the DataStore layer, with Roblox's codes and messages.
//!
//! Owns: [`DataStoreError`]. Invariants: `Display` is Roblox's
//! "`<code>: <message>`" text where Roblox has a code (callers that match on
//! codes, like ProfileStore, keep working); every variant is something a
//! caller can act on; a rejected call stored nothing.

use profilestore_plugin_api::StorageError;

/// An error from a DataStore call.
#[derive(Debug, thiserror::Error)]
pub enum DataStoreError {
    /// 101: the key is empty.
    #[error("101: Key name can't be empty.")]
    KeyNameEmpty,
    /// 102: the key is longer than 50 bytes of UTF-8. Roblox's message says
    /// "character", but Roblox counts with `string.len`, which counts bytes;
    /// its code and text stay first, the precise unit follows.
    #[error(
        "102: Key name exceeds the 50 character limit (a key is at most 50 bytes of UTF-8; this one is {bytes} bytes in {chars} characters)."
    )]
    KeyNameLimit {
        /// The key's length in bytes of UTF-8.
        bytes: usize,
        /// The key's length in characters (Unicode scalar values).
        chars: usize,
    },
    /// 103: an update function produced a value of a type that cannot be stored.
    #[error("103: Can't allow {0} in DataStore.")]
    ValueNotAllowed(String),
    /// 104: the value cannot be serialized (NaN, infinity, invalid UTF-8, ...);
    /// `path` points at the offending value (`root.a[3].b`).
    #[error("104: Can't store {reason} in DataStore (at {path}).")]
    CantStoreValue {
        /// Where in the value.
        path: String,
        /// What is wrong there.
        reason: String,
    },
    /// 105: the serialized value is larger than the limit.
    #[error("105: Serialized value exceeds {limit} limit (it is {size} bytes).")]
    ValueTooLarge {
        /// Serialized size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// 511: metadata is larger than the limits (50 per key name, 250 per
    /// value, 300 in all).
    #[error("511: Metadata attribute size exceeds {limit} limit ({detail}).")]
    AttributeSizeTooLarge {
        /// The limit exceeded.
        limit: usize,
        /// Which part exceeded it.
        detail: String,
    },
    /// 512: more than 4 user ids.
    #[error("512: UserID size exceeds 4 limit (got {count}).")]
    UserIdLimitExceeded {
        /// How many were given.
        count: usize,
    },
    /// 513: a user id is not an integer, or metadata is not an object.
    #[error("513: Attribute {0} format is invalid.")]
    AttributeFormatError(&'static str),
    /// The data store name is empty or longer than 50 bytes of UTF-8.
    #[error("Data store name is invalid: {0}. Names are 1 to 50 bytes of UTF-8.")]
    InvalidDataStoreName(String),
    /// The scope is empty, longer than 50 bytes of UTF-8, or misused with
    /// AllScopes.
    #[error("Scope is invalid: {0}.")]
    InvalidScope(String),
    /// A timestamp outside `1..=now + 10 minutes`.
    #[error(
        "InvalidTimestamp: Timestamp must be positive and not more than ten minutes in the future."
    )]
    InvalidTimestamp,
    /// The version id is not one this data store issued (message contains
    /// "not valid", which ProfileStore looks for).
    #[error("Version id `{0}` is not valid.")]
    InvalidVersion(String),
    /// The listing cursor was not issued by this listing.
    #[error("InvalidExclusiveStartKey: the cursor is not valid for this listing.")]
    InvalidCursor,
    /// A page size outside the allowed range.
    #[error("PageSize must be within a predefined range (1 to {max}, or 0 for the default).")]
    InvalidPageSize {
        /// Largest allowed.
        max: usize,
    },
    /// Increment on a value that is not an integer.
    #[error("ExistingValueNotNumeric: the stored value is not an integer.")]
    ExistingValueNotNumeric,
    /// Increment would leave the 64-bit integer range.
    #[error("IncrementValueTooLarge: the result is outside the 64-bit integer range.")]
    IncrementOverflow,
    /// The data store was deleted through Open Cloud (Roblox's
    /// `DatastoreDeleted`): its entries are inaccessible until it is
    /// undeleted, and purged when its expiry passes.
    #[error("DatastoreDeleted: The data store is deleted (data store `{name}`; undelete it before its expiry to get its entries back).")]
    DataStoreDeleted {
        /// The data store's name.
        name: String,
    },
    /// A management call named a data store that holds no entry (or whose
    /// deletion expired).
    #[error("DatastoreNotFound: data store `{name}` does not exist (a data store exists while it holds an entry).")]
    DataStoreNotFound {
        /// The data store's name.
        name: String,
    },
    /// Undelete on a data store that is not deleted.
    #[error("Data store `{name}` is not deleted, so it cannot be undeleted.")]
    DataStoreNotDeleted {
        /// The data store's name.
        name: String,
    },
    /// The storage plugin failed.
    #[error("InternalServerError: {0}")]
    Storage(#[from] StorageError),
    /// A remote profilestore server could not be reached or refused the
    /// call (see [`crate::remote::RemoteError::is_transient`]).
    #[error("{0}")]
    Remote(crate::remote::RemoteError),
    /// An emulator fault fired (`/emulator/v1/faults`): Roblox's internal
    /// or throttle error; retryable.
    #[error("{0}")]
    Fault(#[from] crate::faults::Injected),
}

impl DataStoreError {
    /// Roblox's numeric error code, where Roblox has one.
    pub fn code(&self) -> Option<u16> {
        Some(match self {
            DataStoreError::KeyNameEmpty => 101,
            DataStoreError::KeyNameLimit { .. } => 102,
            DataStoreError::ValueNotAllowed(_) => 103,
            DataStoreError::CantStoreValue { .. } => 104,
            DataStoreError::ValueTooLarge { .. } => 105,
            DataStoreError::InvalidPageSize { .. } => 106,
            DataStoreError::AttributeSizeTooLarge { .. } => 511,
            DataStoreError::UserIdLimitExceeded { .. } => 512,
            DataStoreError::AttributeFormatError(_) => 513,
            _ => return None,
        })
    }

    /// True when the caller's input was at fault (retrying the same call
    /// cannot succeed); false for storage failures, which may be transient.
    pub fn is_caller_error(&self) -> bool {
        match self {
            DataStoreError::Storage(_) | DataStoreError::Fault(_) => false,
            DataStoreError::Remote(e) => !e.is_transient(),
            _ => true,
        }
    }
}
