//! DataStore v2 bodies (`/cloud/v2/universes/{u}/data-stores/...`).
//!
//! Owns: the answers (data stores, entries, revisions, listings, the
//! snapshot answer) and the write bodies. Invariants: field order and names are the wire's; `etag`
//! and `revisionId` are the version id; `users` are `"users/{id}"`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An entry's or data store's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// Present.
    #[serde(rename = "ACTIVE")]
    Active,
    /// A deleted revision.
    #[serde(rename = "DELETED")]
    Deleted,
}

/// A data store (v2's `DataStore` resource: listings, delete, undelete).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataStore {
    /// `universes/{u}/data-stores/{id}`.
    pub path: String,
    /// When it was created (its first write).
    pub create_time: String,
    /// When a deleted store is purged; absent while active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
    /// `ACTIVE` or `DELETED`, always present (rblx-open-cloud requires it).
    pub state: State,
    /// Its name.
    pub id: String,
}

/// `GET .../data-stores`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDataStores {
    /// This page.
    pub data_stores: Vec<DataStore>,
    /// Empty on the last page.
    #[serde(default)]
    pub next_page_token: String,
}

/// An entry (the answer of get, create, patch and increment).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// `universes/{u}/data-stores/{s}[/scopes/{scope}]/entries/{id}`.
    pub path: String,
    /// When the key was created.
    pub create_time: String,
    /// The version id.
    pub revision_id: String,
    /// When this revision was written.
    pub revision_create_time: String,
    /// Always active.
    pub state: State,
    /// The version id.
    pub etag: String,
    /// The value.
    pub value: Value,
    /// The key.
    pub id: String,
    /// `users/{id}` of each user id.
    pub users: Vec<String>,
    /// The attributes.
    pub attributes: Map<String, Value>,
}

/// One entry of a listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntryRef {
    /// Its path.
    pub path: String,
    /// The key.
    pub id: String,
}

/// `GET .../entries`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListEntries {
    /// This page.
    pub data_store_entries: Vec<EntryRef>,
    /// Empty on the last page.
    #[serde(default)]
    pub next_page_token: String,
}

/// One revision of `:listRevisions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    /// `.../entries/{id}@{revision}`.
    pub path: String,
    /// `{id}@{revision}`.
    pub id: String,
    /// When the key was created.
    pub create_time: String,
    /// When this revision was written.
    pub revision_create_time: String,
    /// The version id.
    pub revision_id: String,
    /// The version id.
    pub etag: String,
    /// Active, or deleted for a deletion marker.
    pub state: State,
}

/// `GET .../entries/{id}:listRevisions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListRevisions {
    /// This page, newest first.
    pub data_store_entries: Vec<Revision>,
    /// Empty on the last page.
    #[serde(default)]
    pub next_page_token: String,
}

/// The body of a create or patch (`etag` only on patch). The server reads
/// these fields leniently (see `http/v2.rs`); a client writes this type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteEntry {
    /// The new value.
    pub value: Value,
    /// `users/{id}` strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Map<String, Value>>,
    /// The revision the patch expects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// The body of `:increment`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Increment {
    /// By how much (1 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// `users/{id}` strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Map<String, Value>>,
}

/// The answer of `POST .../data-stores:snapshot`: both fields always
/// present (rblx-open-cloud reads `newSnapshotTaken` unconditionally).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotAnswer {
    /// False when the UTC day already had a snapshot.
    pub new_snapshot_taken: bool,
    /// The latest snapshot's time (UTC).
    pub latest_snapshot_time: String,
}

/// The `{}` answer of a delete.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}
