//! MemoryStoreService's documented limits and the one setting of this
//! emulator (the concurrent user count behind the memory quota).
//!
//! Owns: every size and count limit of the creator docs (`index.md`,
//! `sorted-map.md`, `queue.md`, `hash-map.md`, the `MemoryStore*` class
//! pages) and [`MemoryConfig`]. Invariant: the checks of `validate` (in
//! `error.rs`' callers) read these constants only, so the local and remote
//! backends refuse the same inputs.

/// Longest key (sorted map, hash map), in characters.
pub const MAX_KEY_CHARS: usize = 128;
/// Longest string sort key, in characters.
pub const MAX_SORT_KEY_CHARS: usize = 128;
/// Longest structure name (sorted map, queue, hash map), in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Largest value, in bytes of its JSON text (32 KB).
pub const MAX_VALUE_BYTES: usize = 32 * 1024;
/// Longest expiration, in seconds (45 days).
pub const MAX_EXPIRATION_SECS: u64 = 3_888_000;
/// Most items one `GetRangeAsync` returns.
pub const MAX_RANGE_COUNT: usize = 200;
/// Most items one engine `ReadAsync` reads.
pub const MAX_READ_COUNT: usize = 100;
/// Most items one Open Cloud `items:read` reads (larger counts are
/// coerced to it, as Open Cloud documents).
pub const MAX_READ_COUNT_OPEN_CLOUD: usize = 200;
/// Most items one `ListItemsAsync` page holds.
pub const MAX_LIST_COUNT: usize = 200;
/// Most items one sorted map or queue holds.
pub const MAX_ITEMS: usize = 1_000_000;
/// Most bytes one sorted map or queue holds (keys included): 100 MB.
pub const MAX_STRUCTURE_BYTES: usize = 100 * 1000 * 1000;
/// Default wait of a queue read whose `waitTimeout` is -1, in seconds.
pub const DEFAULT_WAIT_SECS: f64 = 30.0;
/// Default invisibility window of a queue read, in seconds.
pub const DEFAULT_INVISIBILITY_SECS: f64 = 30.0;
/// Longest invisibility window, in seconds (the longest item lifetime).
pub const MAX_INVISIBILITY_SECS: f64 = MAX_EXPIRATION_SECS as f64;
/// Most transform runs of one `UpdateAsync` before `UpdateConflict`.
pub const UPDATE_RETRIES: u32 = 20;
/// Most record swaps one call of a shared service tries (another node
/// changed the universe's record in between) before it fails with a
/// retryable `MemoryStoreError::Storage`.
pub const SWAP_ATTEMPTS: u32 = 32;

/// The emulator's settings of MemoryStoreService.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryConfig {
    /// Concurrent users the memory quota is computed for
    /// (`64 KB + 1.2 KB × users`, per universe). Roblox counts the players
    /// of the experience; an emulator has none, so this is a setting.
    /// Default [`DEFAULT_USERS`].
    pub users: u64,
}

/// The default user count: 1000 users, a 1.26 MB quota per universe, room
/// for a busy test game while still catching a leak of items that never
/// expire.
pub const DEFAULT_USERS: u64 = 1000;

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            users: DEFAULT_USERS,
        }
    }
}

impl MemoryConfig {
    /// The memory quota of one universe, in bytes: 64 KB + 1.2 KB × users.
    pub fn quota_bytes(&self) -> u64 {
        64 * 1024 + self.users.saturating_mul(1229)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_follows_the_documented_formula() {
        assert_eq!(MemoryConfig { users: 0 }.quota_bytes(), 65_536);
        assert_eq!(MemoryConfig { users: 10 }.quota_bytes(), 65_536 + 12_290);
        assert_eq!(MemoryConfig::default().users, DEFAULT_USERS);
    }
}
