//! Wire bodies of the emulator's control plane (`/emulator/v1/...`),
//! shared by the server (`http::emulator`) and the Rust client
//! (`remote::emulator`).
//!
//! Owns: the JSON shapes only, one contiguous section per control.
//! Invariants: field names are camelCase as the issue spells them; unknown
//! fields in a request body are refused (a typo never silently does
//! nothing).

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
