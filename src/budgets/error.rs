//! Why a budgeted request was refused: Roblox's throttle errors.
//!
//! Owns: [`Throttled`], with Roblox's names and messages ((limits) in
//! `limits.rs`). Invariants: a refused request changed nothing and used
//! no budget; every message starts with Roblox's error name or code.

use super::limits::{Api, RequestType};

/// A request refused by a budget.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Throttled {
    /// A game server's request over the experience-level limit
    /// (`StandardWriteExperienceThrottled`).
    #[error("{}ExperienceThrottled: `{}` request was throttled by experience limits.", .0.name(), .0.name())]
    Experience(RequestType),
    /// An Open Cloud request over the experience-level limit (the same
    /// limit, Open Cloud's message).
    #[error("{}ExperienceThrottled: {}", .0.name(), .0.experience_message())]
    OpenCloud(RequestType),
    /// A game server's queue for this request was full (301–306).
    #[error("{} ({}GameServerThrottled: `{}` request was throttled by game server limits or the request queue was full.)", .api.dropped_message(), .kind.name(), .kind.name())]
    Dropped {
        /// The game-server API the request stands for.
        api: Api,
        /// The budget it waited for.
        kind: RequestType,
    },
    /// The key's throughput over the last 60 s is used up.
    #[error("KeyThrottled: The request rate exceeds the allowed maximum for the key.")]
    Key,
    /// The experience's memory-store request units are used up.
    #[error("TotalRequestsOverLimit: Exceeds universe-level request unit limit.")]
    MemoryUnits,
}
