//! The bodies of the emulator's control plane (`/emulator/v1/...`), shared
//! by the server's handlers and the Rust client (`remote::Emulator`).
//!
//! Owns: one section per control (clock, faults, budgets, snapshots), each
//! written by that control's work. Invariants: every serialized name is
//! spelled out (camelCase, as Open Cloud writes), so a Rust rename never
//! changes the API; times are RFC 3339 UTC with milliseconds.

use serde::{Deserialize, Serialize};

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
