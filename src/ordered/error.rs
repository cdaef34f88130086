//! Errors of ordered data stores, with Roblox's codes and messages.
//!
//! Owns: [`OrderedError`]. Invariants: `Display` starts with Roblox's
//! "`<code>: <message>`" text where Roblox has a code (a Luau `pcall` sees
//! that string); every variant is something a caller can act on; a
//! rejected call stored nothing.

use profilestore_plugin_api::StorageError;

use crate::remote::RemoteError;

/// Most keys one [`BatchGetAsync`](super::OrderedDataStore::batch_get) takes.
pub const MAX_BATCH_KEYS: usize = 100;

/// An error from an ordered data store call.
#[derive(Debug, thiserror::Error)]
pub enum OrderedError {
    /// 101: the key is empty.
    #[error("101: Key name can't be empty.")]
    KeyNameEmpty,
    /// 102: the key is longer than 50 bytes of UTF-8 (Roblox counts with
    /// `string.len`, bytes, though its message says characters).
    #[error(
        "102: Key name exceeds the 50 character limit (a key is at most 50 bytes of UTF-8; this one is {bytes} bytes)."
    )]
    KeyNameLimit {
        /// The key's length in bytes.
        bytes: usize,
    },
    /// 103: a value of a type an ordered data store cannot hold (a string
    /// that is not an integer, a boolean, a table, nil).
    #[error("103: Can't allow {kind} in DataStore. Ordered data stores hold integers only.")]
    ValueNotAllowed {
        /// The value's type, as Luau names it (`string`, `boolean`, `table`, `nil`).
        kind: &'static str,
    },
    /// 104: a number that is not an integer.
    #[error("104: Can't store {value} in DataStore. Ordered data store values must be integers.")]
    NotAnInteger {
        /// The number as given.
        value: String,
    },
    /// 104: an integer outside the 64-bit range ordered data stores hold.
    #[error(
        "104: Can't store {value} in DataStore. Ordered data store values are 64-bit integers (-9223372036854775808 to 9223372036854775807)."
    )]
    ValueOutOfRange {
        /// The number as given.
        value: String,
    },
    /// 106: `GetSortedAsync`'s page size is not 1 to 100.
    #[error("106: PageSize must be within a predefined range.")]
    PageSizeOutOfRange {
        /// The page size given.
        given: i64,
    },
    /// 106: the minimum value is not an integer.
    #[error("106: MinValue must be an integer.")]
    MinValueInvalid,
    /// 106: the maximum value is not an integer.
    #[error("106: MaxValue must be an integer.")]
    MaxValueInvalid,
    /// 107: the minimum is larger than the maximum.
    #[error("107: MaxValue must be greater than or equal to MinValue.")]
    MinMaxOrderInvalid,
    /// `BatchGetAsync` got no keys or more than [`MAX_BATCH_KEYS`].
    #[error("BatchGetAsync takes 1 to 100 keys (got {count}).")]
    BatchSize {
        /// How many keys were given.
        count: usize,
    },
    /// The ordered data store name is empty or longer than 50 bytes.
    #[error("Data store name is invalid: {0}. Names are 1 to 50 bytes of UTF-8.")]
    InvalidDataStoreName(String),
    /// The scope is empty or longer than 50 bytes.
    #[error("Scope is invalid: {0}. Scopes are 1 to 50 bytes of UTF-8.")]
    InvalidScope(String),
    /// The page cursor was not issued by this listing (other store, scope,
    /// order or bounds), or is not a cursor.
    #[error("InvalidExclusiveStartKey: the cursor is not valid for this listing.")]
    InvalidCursor,
    /// `AdvanceToNextPageAsync` on the last page.
    #[error("No pages to advance to.")]
    NoMorePages,
    /// `IncrementAsync` would leave the 64-bit integer range.
    #[error("IncrementValueTooLarge: the result is outside the 64-bit integer range.")]
    IncrementOverflow,
    /// Create of an entry that exists (Open Cloud's exact message).
    #[error("Entry already exists.")]
    EntryExists,
    /// The entry does not exist (Open Cloud get, update without
    /// `allowMissing`, v2 delete).
    #[error("Entry not found.")]
    EntryNotFound,
    /// `UpdateAsync` kept conflicting with other writers of the key.
    #[error("UpdateAsync gave up on key `{key}` after {attempts} conflicting writes; retry later")]
    TooManyConflicts {
        /// The key.
        key: String,
        /// How many times the transform ran.
        attempts: usize,
    },
    /// The storage plugin failed.
    #[error("InternalServerError: {0}")]
    Storage(#[from] StorageError),
    /// A remote profilestore server could not be reached or refused the call.
    #[error("{0}")]
    Remote(RemoteError),
    /// An emulator fault fired (`/emulator/v1/faults`); retryable.
    #[error("{0}")]
    Fault(#[from] crate::faults::Injected),
}

impl OrderedError {
    /// Roblox's numeric error code, where Roblox has one.
    pub fn code(&self) -> Option<u16> {
        Some(match self {
            OrderedError::KeyNameEmpty => 101,
            OrderedError::KeyNameLimit { .. } => 102,
            OrderedError::ValueNotAllowed { .. } => 103,
            OrderedError::NotAnInteger { .. } | OrderedError::ValueOutOfRange { .. } => 104,
            OrderedError::PageSizeOutOfRange { .. }
            | OrderedError::MinValueInvalid
            | OrderedError::MaxValueInvalid => 106,
            OrderedError::MinMaxOrderInvalid => 107,
            _ => return None,
        })
    }

    /// True when the caller's input was at fault (retrying the same call
    /// cannot succeed); false for storage failures and lost races.
    pub fn is_caller_error(&self) -> bool {
        match self {
            OrderedError::Storage(_)
            | OrderedError::TooManyConflicts { .. }
            | OrderedError::Fault(_) => false,
            OrderedError::Remote(e) => !e.is_transient(),
            _ => true,
        }
    }
}

impl From<RemoteError> for OrderedError {
    /// The error a server's answer stands for: the messages of errors only
    /// the server can detect map back to their variants, so a caller sees
    /// one error for one cause, local or remote (the remote backend checks
    /// every input itself before sending).
    fn from(e: RemoteError) -> Self {
        if let RemoteError::Status { message, .. } = &e {
            let known = [
                OrderedError::IncrementOverflow,
                OrderedError::InvalidCursor,
                OrderedError::EntryExists,
                OrderedError::EntryNotFound,
                OrderedError::MinMaxOrderInvalid,
                OrderedError::MinValueInvalid,
                OrderedError::MaxValueInvalid,
                OrderedError::KeyNameEmpty,
            ];
            if let Some(found) = known.into_iter().find(|k| k.to_string() == *message) {
                return found;
            }
        }
        OrderedError::Remote(e)
    }
}
