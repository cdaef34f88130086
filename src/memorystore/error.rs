//! Why a memory store call failed, with Roblox's status names.
//!
//! Owns: [`MemoryStoreError`] and the input checks both backends run
//! before anything changes or is sent ([`check_key`], [`check_value`],
//! ...). Invariants: every message starts with Roblox's status name
//! (`InvalidRequest: ...`, `ItemValueSizeTooLarge: ...`), the string a
//! `pcall` sees on Roblox; the errors only a server can find (quotas,
//! conflicts) have fixed messages, so the remote backend gets the same
//! variant back ([`MemoryStoreError::from_message`]).

use serde_json::Value;

use super::limits::*;
use super::SortKey;
use crate::remote::RemoteError;

/// Why a memory store call failed. Nothing changed when one is returned.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MemoryStoreError {
    /// A key or structure name is empty.
    #[error("InvalidRequest: the {what} must not be empty")]
    EmptyName {
        /// `key`, `sorted map name`...
        what: &'static str,
    },
    /// A key, sort key or structure name is too long.
    #[error("InvalidRequest: the {what} has {chars} characters; the limit is {max}")]
    NameTooLong {
        /// `key`, `sort key`, `queue name`...
        what: &'static str,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A sort key is neither a finite number nor a string.
    #[error("InvalidRequest: Unable to convert sortKey to a valid number or string.")]
    InvalidSortKey,
    /// The value is not JSON Roblox can store (NaN never reaches here; a
    /// value that does not serialize does).
    #[error("InvalidRequest: Unable to convert value to json.")]
    InvalidValue,
    /// The value's JSON is larger than 32 KB: shard or compress it.
    #[error("ItemValueSizeTooLarge: Value size exceeds limit (32 KB): {bytes} bytes; split the value over several keys or compress it")]
    ValueTooLarge {
        /// Its size in bytes.
        bytes: usize,
    },
    /// The expiration is outside 1..=3 888 000 seconds.
    #[error("InvalidExpirationTime: The field 'expiration' time must be between 0 and 3,888,000 (got {given}).")]
    InvalidExpiration {
        /// What was given, in seconds.
        given: f64,
    },
    /// A count is outside its range.
    #[error("InvalidRequest: {what} must be from {min} to {max} (got {given})")]
    CountOutOfRange {
        /// `count`, ...
        what: &'static str,
        /// What was given.
        given: i64,
        /// Smallest allowed.
        min: usize,
        /// Largest allowed.
        max: usize,
    },
    /// A time parameter (wait, invisibility) or a priority is not a usable
    /// number.
    #[error("InvalidRequest: {what} {rule} (got {given})")]
    InvalidNumber {
        /// The parameter.
        what: &'static str,
        /// What it must be.
        rule: &'static str,
        /// What was given.
        given: f64,
    },
    /// A page cursor did not come from a previous page.
    #[error("InvalidRequest: the cursor did not come from a previous page of this hash map")]
    InvalidCursor,
    /// The sorted map or queue holds 1,000,000 items already.
    #[error("DataStructureItemsOverLimit: Exceeds data structure level item count limit (1M); remove items or shard the structure")]
    ItemsOverLimit,
    /// The sorted map or queue holds 100 MB already.
    #[error("DataStructureMemoryOverLimit: Exceeds data structure level memory size limit (100 MB); remove items or shard the structure")]
    StructureMemoryOverLimit,
    /// The universe's memory quota (64 KB + 1.2 KB × users) is used up.
    #[error("TotalMemoryOverLimit: Exceeds universe-level memory quota; remove items, shorten expirations, or raise the user count the quota is computed for (`[memory_store] users` in config.toml)")]
    TotalMemoryOverLimit,
    /// `UpdateAsync` lost every race with other writers.
    #[error("UpdateConflict: Exceeded max number of retries.")]
    UpdateConflict,
    /// The server behind a remote service failed or could not be reached.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The storage behind shared memory stores (several nodes on one
    /// database) failed, or a record kept changing under the call;
    /// retryable when the storage error is.
    #[error("InternalError: the memory stores' shared storage failed: {0}")]
    Storage(std::sync::Arc<profilestore_plugin_api::StorageError>),
    /// An emulator fault fired (`/emulator/v1/faults`); retryable.
    #[error("{0}")]
    Fault(#[from] crate::faults::Injected),
}

impl MemoryStoreError {
    /// The variant a server's error `message` stands for, when it is one
    /// only a server can find (quota, item count, conflict).
    pub fn from_message(message: &str) -> Option<Self> {
        [
            MemoryStoreError::ItemsOverLimit,
            MemoryStoreError::StructureMemoryOverLimit,
            MemoryStoreError::TotalMemoryOverLimit,
            MemoryStoreError::UpdateConflict,
            MemoryStoreError::InvalidCursor,
        ]
        .into_iter()
        .find(|e| e.to_string() == message)
    }

    /// True when retrying later may succeed (quota, conflict, transport).
    pub fn is_transient(&self) -> bool {
        match self {
            MemoryStoreError::Remote(r) => r.is_transient(),
            MemoryStoreError::Storage(s) => {
                matches!(**s, profilestore_plugin_api::StorageError::Unavailable(_))
            }
            MemoryStoreError::UpdateConflict
            | MemoryStoreError::TotalMemoryOverLimit
            | MemoryStoreError::Fault(_) => true,
            _ => false,
        }
    }
}

impl From<profilestore_plugin_api::StorageError> for MemoryStoreError {
    fn from(e: profilestore_plugin_api::StorageError) -> Self {
        MemoryStoreError::Storage(std::sync::Arc::new(e))
    }
}

type Checked = Result<(), MemoryStoreError>;

fn check_text(text: &str, what: &'static str, max: usize) -> Checked {
    let chars = text.chars().count();
    if chars == 0 {
        return Err(MemoryStoreError::EmptyName { what });
    }
    if chars > max {
        return Err(MemoryStoreError::NameTooLong { what, chars, max });
    }
    Ok(())
}

/// A key: 1..=128 characters.
pub(super) fn check_key(key: &str) -> Checked {
    check_text(key, "key", MAX_KEY_CHARS)
}

/// A structure name: 1..=128 characters.
pub(super) fn check_name(name: &str, what: &'static str) -> Checked {
    check_text(name, what, MAX_NAME_CHARS)
}

/// A sort key: a finite number, or a string of 1..=128 characters.
pub(super) fn check_sort_key(sort_key: Option<&SortKey>) -> Checked {
    match sort_key {
        None => Ok(()),
        Some(SortKey::Number(n)) if n.is_finite() => Ok(()),
        Some(SortKey::Number(_)) => Err(MemoryStoreError::InvalidSortKey),
        Some(SortKey::String(s)) => check_text(s, "sort key", MAX_SORT_KEY_CHARS),
    }
}

/// A value: its JSON is at most 32 KB. Returns the size in bytes.
pub(super) fn check_value(value: &Value) -> Result<usize, MemoryStoreError> {
    let bytes = serde_json::to_vec(value)
        .map_err(|_| MemoryStoreError::InvalidValue)?
        .len();
    if bytes > MAX_VALUE_BYTES {
        return Err(MemoryStoreError::ValueTooLarge { bytes });
    }
    Ok(bytes)
}

/// An expiration: 1..=3 888 000 seconds.
pub(super) fn check_expiration(secs: u64) -> Checked {
    if secs == 0 || secs > MAX_EXPIRATION_SECS {
        return Err(MemoryStoreError::InvalidExpiration { given: secs as f64 });
    }
    Ok(())
}

/// A count within `1..=max`.
pub(super) fn check_count(what: &'static str, given: usize, max: usize) -> Checked {
    if given == 0 || given > max {
        return Err(MemoryStoreError::CountOutOfRange {
            what,
            given: i64::try_from(given).unwrap_or(i64::MAX),
            min: 1,
            max,
        });
    }
    Ok(())
}

/// A number of seconds in `min..=max` (`min` excluded when `open`).
pub(super) fn check_seconds(what: &'static str, secs: f64, open: bool, max: f64) -> Checked {
    let low_ok = if open { secs > 0.0 } else { secs >= 0.0 };
    if !secs.is_finite() || !low_ok || secs > max {
        let rule = if open {
            "must be a number of seconds above 0 and at most 3,888,000"
        } else {
            "must be a number of seconds from 0 up"
        };
        return Err(MemoryStoreError::InvalidNumber {
            what,
            rule,
            given: secs,
        });
    }
    Ok(())
}

/// A queue priority: a finite number.
pub(super) fn check_priority(priority: f64) -> Checked {
    if !priority.is_finite() {
        return Err(MemoryStoreError::InvalidNumber {
            what: "priority",
            rule: "must be a finite number",
            given: priority,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_only_errors_come_back_from_their_message() {
        for e in [
            MemoryStoreError::ItemsOverLimit,
            MemoryStoreError::TotalMemoryOverLimit,
            MemoryStoreError::UpdateConflict,
        ] {
            let back = MemoryStoreError::from_message(&e.to_string());
            assert_eq!(back.map(|b| b.to_string()), Some(e.to_string()));
        }
        assert!(MemoryStoreError::from_message("InvalidRequest: x").is_none());
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        assert!(check_key(&"é".repeat(128)).is_ok());
        assert!(matches!(
            check_key(&"é".repeat(129)),
            Err(MemoryStoreError::NameTooLong { chars: 129, .. })
        ));
        assert!(matches!(
            check_key(""),
            Err(MemoryStoreError::EmptyName { .. })
        ));
    }

    #[test]
    fn expiration_and_sort_key_rules() {
        assert!(check_expiration(0).is_err());
        assert!(check_expiration(1).is_ok());
        assert!(check_expiration(MAX_EXPIRATION_SECS).is_ok());
        assert!(check_expiration(MAX_EXPIRATION_SECS + 1).is_err());
        assert!(check_sort_key(Some(&SortKey::Number(f64::NAN))).is_err());
        assert!(check_sort_key(Some(&SortKey::String(String::new()))).is_err());
        assert!(check_value(&Value::String("x".repeat(MAX_VALUE_BYTES))).is_err());
        assert_eq!(check_value(&Value::String("x".repeat(10))).ok(), Some(12));
    }
}
