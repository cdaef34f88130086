//! DataStore v1 bodies (`/datastores/v1/universes/{u}/standard-datastores`).
//!
//! Owns: the JSON answers of the listings and of a write; an entry's value
//! is the raw body and its info is in the `roblox-entry-*` headers
//! ([`super::headers`]). Invariant: field order and names are the wire's.

use serde::{Deserialize, Serialize};

/// `GET .../standard-datastores`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDataStores {
    /// This page.
    pub datastores: Vec<DataStoreItem>,
    /// Empty on the last page.
    #[serde(default)]
    pub next_page_cursor: String,
}

/// One data store of a listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataStoreItem {
    /// Its name.
    pub name: String,
    /// When it was created ([`super::time::body_time`]).
    pub created_time: String,
}

/// `GET .../datastore/entries`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListKeys {
    /// This page.
    pub keys: Vec<KeyItem>,
    /// Empty on the last page.
    #[serde(default)]
    pub next_page_cursor: String,
}

/// One key of a listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyItem {
    /// Its scope.
    pub scope: String,
    /// The key.
    pub key: String,
}

/// `GET .../entry/versions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListVersions {
    /// This page.
    pub versions: Vec<Version>,
    /// Empty on the last page.
    #[serde(default)]
    pub next_page_cursor: String,
}

/// One version: an item of [`ListVersions`], and the answer of a write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    /// The version id.
    pub version: String,
    /// True for a deletion marker.
    pub deleted: bool,
    /// The value's length in bytes (compact JSON).
    pub content_length: u64,
    /// When the version was written.
    pub created_time: String,
    /// When the key was created.
    pub object_created_time: String,
}
