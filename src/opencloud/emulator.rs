//! The emulator control plane's bodies (`/emulator/v1/...`), one section
//! per control, shared by the server and `remote::Emulator`.
//!
//! Owns: the JSON shapes of the controls and the headers a game server
//! sends to be budgeted as one. Invariants: serialized names are spelled
//! out (camelCase, as Open Cloud writes them); optional inputs are
//! `Option`s, absent from the output when `None`.

// ---- budgets ----------------------------------------------------------

/// The header naming the game server a request comes from (its
/// `JobId`); a data request without it counts as Open Cloud.
pub const JOB_ID_HEADER: &str = "x-profilestore-job-id";
/// The header with the players in that game server now (default 0).
pub const PLAYERS_HEADER: &str = "x-profilestore-players";

/// `PUT /emulator/v1/universes/{u}/budgets`: turn budgets on or off.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSettings {
    /// Whether requests to the universe are budgeted.
    #[serde(rename = "enabled")]
    pub enabled: bool,
    /// The experience's concurrent users (absent: unchanged).
    #[serde(
        rename = "concurrentUsers",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub concurrent_users: Option<u64>,
}

/// A universe's budget settings and what is left of each budget.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BudgetsView {
    /// The universe.
    #[serde(rename = "universe")]
    pub universe: String,
    /// Whether requests are budgeted.
    #[serde(rename = "enabled")]
    pub enabled: bool,
    /// The concurrent users the experience limits are computed for.
    #[serde(rename = "concurrentUsers")]
    pub concurrent_users: u64,
    /// The game server asked about (absent: the experience's view).
    #[serde(rename = "jobId", default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Its players.
    #[serde(rename = "players", default, skip_serializing_if = "Option::is_none")]
    pub players: Option<u64>,
    /// What `DataStoreService:GetRequestBudgetForRequestType` returns, per
    /// `Enum.DataStoreRequestType` name (`GetAsync`, `SetIncrementAsync`,
    /// `UpdateAsync`, ..., `StandardRead`, ...): the game server's budget
    /// left, or the experience's when no game server is named.
    #[serde(rename = "budgets")]
    pub budgets: std::collections::BTreeMap<String, u64>,
    /// The experience-level budgets left (shared with Open Cloud), per
    /// request type (`StandardRead`, ..., `OrderedRemove`).
    #[serde(rename = "experience")]
    pub experience: std::collections::BTreeMap<String, u64>,
    /// Memory-store request units left.
    #[serde(rename = "memoryStoreRequestUnits")]
    pub memory_store_request_units: u64,
    /// Memory-store bytes the universe uses now (its memory quota, 64 KB +
    /// 1.2 KB × users, is the memory stores' own setting).
    #[serde(
        rename = "memoryStoreBytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub memory_store_bytes: Option<u64>,
    /// That memory quota, in bytes.
    #[serde(
        rename = "memoryStoreQuotaBytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub memory_store_quota_bytes: Option<u64>,
}
