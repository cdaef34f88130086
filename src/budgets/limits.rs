//! Roblox's request budgets as numbers: the request types, what each one
//! allows per minute (per game server and per experience), the queues and
//! the memory-store request units.
//!
//! Owns: every figure taken from Roblox's documentation, as a named
//! constant citing its source. Invariants: nothing here keeps state or
//! reads a clock; a rate is requests (or units) per minute.
//!
//! Sources: `(limits)` is `content/en-us/cloud-services/data-stores/
//! error-codes-and-limits.md` and `(memory)` is `content/en-us/
//! cloud-services/memory-stores/index.md`, both in `Roblox/creator-docs`.

/// A `(base, per user)` pair: `base + per_user × n` requests per minute.
pub type Rate = (u64, u64);

/// (limits) "Server limits", standard and ordered Read, standard Write and
/// Remove: `60 + numPlayers × 40`.
pub const SERVER_READ_WRITE: Rate = (60, 40);
/// (limits) "Server limits", StandardList, OrderedList and
/// RemoveVersionAsync: `5 + numPlayers × 2`.
pub const SERVER_LIST: Rate = (5, 2);
/// (limits) "Server limits", OrderedWrite and OrderedRemove:
/// `30 + numPlayers × 5`.
pub const SERVER_ORDERED_WRITE: Rate = (30, 5);

/// (limits) "Experience Limits", Read (standard and ordered):
/// `300 + concurrentUsers × 40`, shared by game servers and Open Cloud.
pub const EXPERIENCE_READ: Rate = (300, 40);
/// (limits) "Experience Limits", Write: `300 + concurrentUsers × 20`.
pub const EXPERIENCE_WRITE: Rate = (300, 20);
/// (limits) "Experience Limits", List: `300 + concurrentUsers × 2`.
pub const EXPERIENCE_LIST: Rate = (300, 2);
/// (limits) "Experience Limits", Remove (also Open Cloud's Delete Data
/// Store and Undelete): `300 + concurrentUsers × 40`.
pub const EXPERIENCE_REMOVE: Rate = (300, 40);

/// (limits) "Limits": "Each queue has a limit of 30 requests."
pub const QUEUE_LIMIT: usize = 30;

/// How much budget a game server may bank, in minutes of its rate. Roblox
/// does not document it; MockDataStoreService and buildthomas's write-up
/// (spec §2.2) cap it at 3 × the rate.
pub const SERVER_CAP_MINUTES: f64 = 3.0;
/// The "one-time startup burst" a new game server gets ((limits) "Server
/// limits"), in minutes of its rate; its size is not documented, so one
/// minute's worth (close to the mocks' initial 100 for 60 + 40 × 1).
pub const SERVER_STARTUP_MINUTES: f64 = 1.0;

/// (limits) "Throughput limits": Read, 25 MB per key per minute.
pub const KEY_READ_KB_PER_MINUTE: u64 = 25 * 1024;
/// (limits) "Throughput limits": Write, 4 MB per key per minute.
pub const KEY_WRITE_KB_PER_MINUTE: u64 = 4 * 1024;
/// (limits) "Throughput limits": usage "over the last 60 seconds".
pub const KEY_WINDOW_MS: i64 = 60_000;
/// (limits): "Roblox rounds throughput up to the next kilobyte".
pub const KB: u64 = 1024;

/// (memory) "API request limits": `1000 + 120 × [number of concurrent
/// users]` request units per minute, per experience.
pub const MEMORY_UNITS: Rate = (1000, 120);

/// `rate` at `n` users, per minute.
pub fn per_minute(rate: Rate, n: u64) -> u64 {
    rate.0.saturating_add(rate.1.saturating_mul(n))
}

/// A data store request type (`Enum.DataStoreRequestType`'s current
/// names): what a budget is kept for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestType {
    /// `GetAsync`, `GetVersionAsync`, `GetVersionAtTimeAsync`, the read of
    /// `UpdateAsync` (standard).
    StandardRead,
    /// `SetAsync`, `IncrementAsync`, the write of `UpdateAsync`.
    StandardWrite,
    /// `ListDataStoresAsync`, `ListKeysAsync`, `ListVersionsAsync`.
    StandardList,
    /// `RemoveAsync`.
    StandardRemove,
    /// `RemoveVersionAsync` (deprecated).
    RemoveVersion,
    /// Ordered `GetAsync`, `BatchGetAsync`, the read of `UpdateAsync`.
    OrderedRead,
    /// Ordered `SetAsync`, `IncrementAsync`, the write of `UpdateAsync`.
    OrderedWrite,
    /// `GetSortedAsync`.
    OrderedList,
    /// Ordered `RemoveAsync`.
    OrderedRemove,
}

impl RequestType {
    /// Every type, in `Enum.DataStoreRequestType` order.
    pub const ALL: [RequestType; 9] = [
        RequestType::RemoveVersion,
        RequestType::StandardRead,
        RequestType::StandardWrite,
        RequestType::StandardList,
        RequestType::StandardRemove,
        RequestType::OrderedRead,
        RequestType::OrderedWrite,
        RequestType::OrderedList,
        RequestType::OrderedRemove,
    ];

    /// Roblox's name (`StandardWrite`; `RemoveVersionAsync`).
    pub fn name(self) -> &'static str {
        match self {
            RequestType::StandardRead => "StandardRead",
            RequestType::StandardWrite => "StandardWrite",
            RequestType::StandardList => "StandardList",
            RequestType::StandardRemove => "StandardRemove",
            RequestType::RemoveVersion => "RemoveVersionAsync",
            RequestType::OrderedRead => "OrderedRead",
            RequestType::OrderedWrite => "OrderedWrite",
            RequestType::OrderedList => "OrderedList",
            RequestType::OrderedRemove => "OrderedRemove",
        }
    }

    /// The index of this type in [`RequestType::ALL`].
    pub(crate) fn index(self) -> usize {
        RequestType::ALL
            .iter()
            .position(|t| *t == self)
            .unwrap_or_default()
    }

    /// The per-server default rate ((limits) "Server limits").
    pub fn server_rate(self) -> Rate {
        match self {
            RequestType::StandardRead
            | RequestType::StandardWrite
            | RequestType::StandardRemove
            | RequestType::OrderedRead => SERVER_READ_WRITE,
            RequestType::StandardList | RequestType::RemoveVersion | RequestType::OrderedList => {
                SERVER_LIST
            }
            RequestType::OrderedWrite | RequestType::OrderedRemove => SERVER_ORDERED_WRITE,
        }
    }

    /// The experience-level rate, shared with Open Cloud ((limits)
    /// "Experience Limits"; `RemoveVersionAsync` is not listed there and
    /// shares Remove's).
    pub fn experience_rate(self) -> Rate {
        match self {
            RequestType::StandardRead | RequestType::OrderedRead => EXPERIENCE_READ,
            RequestType::StandardWrite | RequestType::OrderedWrite => EXPERIENCE_WRITE,
            RequestType::StandardList | RequestType::OrderedList => EXPERIENCE_LIST,
            RequestType::StandardRemove
            | RequestType::RemoveVersion
            | RequestType::OrderedRemove => EXPERIENCE_REMOVE,
        }
    }

    /// The queue a game server's request of this type waits in.
    pub fn queue(self) -> Queue {
        match self {
            RequestType::StandardRead | RequestType::StandardList | RequestType::RemoveVersion => {
                Queue::Get
            }
            RequestType::StandardWrite | RequestType::StandardRemove => Queue::Set,
            RequestType::OrderedRead | RequestType::OrderedList => Queue::OrderedGet,
            RequestType::OrderedWrite | RequestType::OrderedRemove => Queue::OrderedSet,
        }
    }

    /// `StandardRead` -> "standard read" (Open Cloud's messages).
    fn words(self) -> &'static str {
        match self {
            RequestType::StandardRead => "standard read",
            RequestType::StandardWrite => "standard write",
            RequestType::StandardList => "standard list",
            RequestType::StandardRemove | RequestType::RemoveVersion => "standard remove",
            RequestType::OrderedRead => "ordered read",
            RequestType::OrderedWrite => "ordered write",
            RequestType::OrderedList => "ordered list",
            RequestType::OrderedRemove => "ordered remove",
        }
    }

    /// The experience-limit message Open Cloud gives ((limits) "Server
    /// error codes").
    pub fn experience_message(self) -> String {
        format!(
            "The {} request rate exceeds the allowed maximum for the experience.",
            self.words()
        )
    }
}

/// One of the four throttle queues ((limits) "Limits": Set, Ordered set,
/// Get, Ordered get).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Queue {
    /// Standard reads and lists.
    Get,
    /// Standard writes and removes.
    Set,
    /// Ordered reads and `GetSortedAsync`.
    OrderedGet,
    /// Ordered writes and removes.
    OrderedSet,
}

impl Queue {
    /// The four queues.
    pub const ALL: [Queue; 4] = [Queue::Get, Queue::Set, Queue::OrderedGet, Queue::OrderedSet];

    pub(crate) fn index(self) -> usize {
        Queue::ALL
            .iter()
            .position(|q| *q == self)
            .unwrap_or_default()
    }
}

/// The game-server API a request stands for: names the 301–306 drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `GetAsync` (301).
    GetAsync,
    /// `SetAsync` (302).
    SetAsync,
    /// `IncrementAsync` (303).
    IncrementAsync,
    /// `UpdateAsync` (304).
    UpdateAsync,
    /// `GetSortedAsync` (305).
    GetSortedAsync,
    /// `RemoveAsync` (306).
    RemoveAsync,
    /// `BatchGetAsync` (drops as `GetAsync`'s 301).
    BatchGetAsync,
    /// `GetVersionAsync` (a named throttle without a number).
    GetVersionAsync,
    /// `ListDataStoresAsync`.
    ListDataStoresAsync,
    /// `ListKeysAsync`.
    ListKeysAsync,
    /// `ListVersionsAsync`.
    ListVersionsAsync,
    /// `RemoveVersionAsync`.
    RemoveVersionAsync,
}

impl Api {
    /// The "request dropped" message of a full queue ((limits) "Error code
    /// reference": 301–306 and the named `...AsyncThrottle` errors).
    pub fn dropped_message(self) -> String {
        let numbered = |code: u16, name: &str| {
            format!("{code}: {name} request dropped. Request was throttled but queue was full.")
        };
        let named =
            |name: &str| format!("{name}Throttle: {name} request dropped. Request was throttled.");
        match self {
            Api::GetAsync | Api::BatchGetAsync => numbered(301, "GetAsync"),
            Api::SetAsync => numbered(302, "SetAsync"),
            Api::IncrementAsync => numbered(303, "IncrementAsync"),
            Api::UpdateAsync => numbered(304, "UpdateAsync"),
            Api::GetSortedAsync => numbered(305, "GetSorted"),
            Api::RemoveAsync => numbered(306, "RemoveAsync"),
            Api::GetVersionAsync => named("GetVersionAsync"),
            Api::ListDataStoresAsync => named("ListDataStoresAsync"),
            Api::ListKeysAsync => named("ListKeysAsync"),
            Api::ListVersionsAsync => named("ListVersionsAsync"),
            Api::RemoveVersionAsync => named("RemoveVersionAsync"),
        }
    }
}

/// A legacy or current `Enum.DataStoreRequestType` name and the budget it
/// reads (`UpdateAsync` reads both Read and Write: the smaller one).
pub const ENUM_NAMES: [(&str, &[RequestType]); 17] = [
    ("GetAsync", &[RequestType::StandardRead]),
    ("SetIncrementAsync", &[RequestType::StandardWrite]),
    (
        "UpdateAsync",
        &[RequestType::StandardRead, RequestType::StandardWrite],
    ),
    ("GetSortedAsync", &[RequestType::OrderedList]),
    ("SetIncrementSortedAsync", &[RequestType::OrderedWrite]),
    ("OnUpdate", &[RequestType::StandardRead]),
    ("ListAsync", &[RequestType::StandardList]),
    ("GetVersionAsync", &[RequestType::StandardRead]),
    ("RemoveVersionAsync", &[RequestType::RemoveVersion]),
    ("StandardRead", &[RequestType::StandardRead]),
    ("StandardWrite", &[RequestType::StandardWrite]),
    ("StandardList", &[RequestType::StandardList]),
    ("StandardRemove", &[RequestType::StandardRemove]),
    ("OrderedRead", &[RequestType::OrderedRead]),
    ("OrderedWrite", &[RequestType::OrderedWrite]),
    ("OrderedList", &[RequestType::OrderedList]),
    ("OrderedRemove", &[RequestType::OrderedRemove]),
];
