//! The emulator control plane's bodies (`/emulator/v1/...`), one section
//! per control (clock, faults, budgets, snapshots).
//!
//! Owns: every request and answer body of the controls, shared by the
//! server (`http::emulator`) and the Rust client (`remote::emulator`).
//! Invariants: serialized names are spelled out (camelCase, as the issue's
//! interface names them); request bodies refuse unknown fields, so a typo
//! is a 400 rather than a silent default; the server writes and the client
//! reads these same types.

use serde::{Deserialize, Serialize};

// --- clock ---

/// `GET /emulator/v1/clock`, and the answer of `clock:advance`: the
/// server's time and how far it was moved ahead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClockState {
    /// The server's now: RFC 3339 in UTC with milliseconds
    /// (`2026-12-01T12:00:00.000Z`, see [`clock_time`]).
    #[serde(rename = "now")]
    pub now: String,
    /// How far the server's clock was moved ahead, in seconds.
    #[serde(rename = "offsetSeconds")]
    pub offset_seconds: f64,
}

impl ClockState {
    /// The state of a clock reading `now_ms` and moved ahead by `offset`.
    pub fn new(now_ms: i64, offset: std::time::Duration) -> Self {
        ClockState {
            now: clock_time(now_ms),
            offset_seconds: offset.as_secs_f64(),
        }
    }

    /// [`now`](Self::now) in Unix epoch milliseconds (`None` when it does
    /// not parse).
    pub fn now_ms(&self) -> Option<i64> {
        super::time::parse_time(&self.now)
    }
}

/// `POST /emulator/v1/clock:advance`: `{"seconds": <number > 0>}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    /// How far to move the clock ahead, in seconds (fractions allowed).
    #[serde(rename = "seconds")]
    pub seconds: f64,
}

/// Epoch milliseconds as RFC 3339 in UTC with exactly three fraction
/// digits (`1970-01-01T00:00:00.000Z`).
pub fn clock_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod clock_tests {
    use super::*;

    #[test]
    fn clock_times_always_have_milliseconds() {
        assert_eq!(clock_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(clock_time(1_694_956_791_014), "2023-09-17T13:19:51.014Z");
        let state = ClockState::new(1_694_956_791_000, std::time::Duration::from_millis(1500));
        assert_eq!(
            serde_json::to_value(&state).expect("json"),
            serde_json::json!({"now": "2023-09-17T13:19:51.000Z", "offsetSeconds": 1.5})
        );
        assert_eq!(state.now_ms(), Some(1_694_956_791_000));
    }
}

// ---- faults ---------------------------------------------------------------

/// Which calls a fault applies to; an absent field matches everything.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultMatch {
    /// Only calls in this universe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub universe: Option<u64>,
    /// Only calls on this data store, ordered data store, memory store
    /// structure or messaging topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_store: Option<String>,
    /// Only calls on this key (as the caller spells it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Operation names (see `faults::Operation`); empty means every one.
    #[serde(default)]
    pub operations: Vec<String>,
}

/// A fault to add (`POST /emulator/v1/faults`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// Which calls it applies to.
    #[serde(rename = "match", default)]
    pub matches: FaultMatch,
    /// `error`, `ambiguous`, `throttle` or `latency`.
    pub effect: String,
    /// Fire at most this many times (absent: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Fire on this share of matching calls, 0 to 1 (absent: every one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// How long a `latency` fault delays the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

/// A fault as the server holds it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultInfo {
    /// Its id (for `DELETE /emulator/v1/faults/{id}`).
    pub id: String,
    /// Which calls it applies to.
    #[serde(rename = "match")]
    pub matches: FaultMatch,
    /// Its effect.
    pub effect: String,
    /// The limit it was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// The probability it was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// The latency it was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// How many calls it has affected.
    pub fired: u64,
    /// How many more it will affect (`None`: no limit).
    pub remaining: Option<u64>,
}

/// `GET /emulator/v1/faults`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FaultList {
    /// Every fault, in the order they were added (exhausted ones included).
    pub faults: Vec<FaultInfo>,
}

// ---- end of faults --------------------------------------------------------

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

// ---- snapshots: POST/GET /snapshots, POST /snapshots/{id}:restore,
// ---- DELETE /snapshots/{id}, DELETE /universes/{u}/data

/// `POST /emulator/v1/snapshots` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveSnapshot {
    /// The new snapshot's id (1..=128 of `A-Z a-z 0-9 . _ -`).
    #[serde(rename = "id")]
    pub id: String,
}

/// One snapshot: the answer of save, restore and delete, and an item of
/// the listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Its id.
    #[serde(rename = "id")]
    pub id: String,
    /// When it was taken, on the server's clock.
    #[serde(rename = "createTime")]
    pub create_time: String,
    /// Standard entries held.
    #[serde(rename = "entries")]
    pub entries: u64,
    /// Stored versions held (tombstones included).
    #[serde(rename = "versions")]
    pub versions: u64,
    /// Ordered entries held.
    #[serde(rename = "orderedEntries")]
    pub ordered_entries: u64,
    /// Meta records held (deleted data stores, Open Cloud snapshot times).
    #[serde(rename = "metaRecords")]
    pub meta_records: u64,
    /// Memory store items held.
    #[serde(rename = "memoryItems")]
    pub memory_items: u64,
    /// Roughly the bytes it keeps in the server's memory.
    #[serde(rename = "bytes")]
    pub bytes: u64,
}

/// `GET /emulator/v1/snapshots` answer, by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSnapshots {
    /// Every snapshot.
    #[serde(rename = "snapshots")]
    pub snapshots: Vec<Snapshot>,
}

/// `DELETE /emulator/v1/universes/{u}/data` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WipedUniverse {
    /// The universe wiped.
    #[serde(rename = "universe")]
    pub universe: u64,
    /// Standard and ordered entries removed.
    #[serde(rename = "entriesRemoved")]
    pub entries_removed: u64,
}
