//! Ordered data store bodies: Open Cloud v1
//! (`/ordered-data-stores/v1/.../orderedDataStores/...`), v2
//! (`/cloud/v2/.../ordered-data-stores/...`) and the engine API
//! (`/engine-api/v1/.../ordered-data-stores/...`, `docs/engine-api.md`).
//!
//! Owns: every request and answer body of the three families, written by
//! the server and read by the remote client. Invariants: serialized names
//! are spelled out; answers carry values as JSON integers; request values
//! stay raw JSON (`Value`) because clients send numbers or strings holding
//! them (openblox), and the server checks them with Roblox's rules; in the
//! engine API a field that may be `null` and may be absent keeps the two
//! apart (`Option<Option<_>>` / `Option<Value>` read by [`present`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Reads a field that is present (even as `null`) as `Some`; with
/// `#[serde(default)]` an absent field stays `None`.
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// An entry of Open Cloud v1 (`Entry`: path, id, value).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct V1Entry {
    /// `universes/{u}/orderedDataStores/{store}/scopes/{scope}/entries/{id}`.
    #[serde(rename = "path")]
    pub path: String,
    /// The key.
    #[serde(rename = "id")]
    pub id: String,
    /// The value.
    #[serde(rename = "value")]
    pub value: i64,
}

/// v1's list answer (`ListEntriesResponse`); no token on the last page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct V1List {
    /// The page.
    #[serde(rename = "entries")]
    pub entries: Vec<V1Entry>,
    /// The next page's `page_token`.
    #[serde(
        rename = "nextPageToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub next_page_token: Option<String>,
}

/// An entry of Open Cloud v2 (`OrderedDataStoreEntry`: path, value, id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct V2Entry {
    /// `universes/{u}/ordered-data-stores/{store}/scopes/{scope}/entries/{id}`.
    #[serde(rename = "path")]
    pub path: String,
    /// The value.
    #[serde(rename = "value")]
    pub value: i64,
    /// The key.
    #[serde(rename = "id")]
    pub id: String,
}

/// v2's list answer; no token on the last page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct V2List {
    /// The page.
    #[serde(rename = "orderedDataStoreEntries")]
    pub entries: Vec<V2Entry>,
    /// The next page's `pageToken`.
    #[serde(
        rename = "nextPageToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub next_page_token: Option<String>,
}

/// Create and update bodies of v1 and v2 (`{"value": 5}`; `"5"` too).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValueBody {
    /// The value as sent.
    #[serde(rename = "value", default, deserialize_with = "present")]
    pub value: Option<Value>,
}

/// `:increment` bodies of v1 and v2 (`{"amount": 5}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmountBody {
    /// The amount as sent.
    #[serde(rename = "amount", default, deserialize_with = "present")]
    pub amount: Option<Value>,
}

/// Engine API: `{"value": 5}` or `{"value": null}` (get, set, increment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineValue {
    /// The value.
    #[serde(rename = "value")]
    pub value: Option<i64>,
}

/// Engine API `PUT entries/{key}` answer: `{"value": 5, "previous": 3}`
/// (`previous`, the value it replaced or `null`, is an addition to the
/// table of `docs/engine-api.md`, which a client may ignore).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineSetAnswer {
    /// The value written.
    #[serde(rename = "value")]
    pub value: i64,
    /// The value it replaced (absent from answers of older servers).
    #[serde(rename = "previous", default)]
    pub previous: Option<i64>,
}

/// Engine API `PUT entries/{key}` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineSet {
    /// The value as sent.
    #[serde(rename = "value", default, deserialize_with = "present")]
    pub value: Option<Value>,
}

/// Engine API `:increment` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineIncrement {
    /// The amount as sent (default 1, as `IncrementAsync`'s `delta`).
    #[serde(rename = "delta", default, deserialize_with = "present")]
    pub delta: Option<Value>,
}

/// Engine API `:update` body: write `value` (`null` removes) if the entry
/// holds `expect` (`null`: absent; field absent: unconditional).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineUpdate {
    /// The expected current value.
    #[serde(
        rename = "expect",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub expect: Option<Value>,
    /// The new value (`null` removes).
    #[serde(rename = "value", default)]
    pub value: Value,
}

/// Engine API `:update` answer: `{"written": true, "value": 7}` or
/// `{"written": false, "current": 6}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineUpdated {
    /// Whether the write happened.
    #[serde(rename = "written")]
    pub written: bool,
    /// The value written (when written).
    #[serde(
        rename = "value",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Option<i64>>,
    /// The entry's current value (when not written).
    #[serde(
        rename = "current",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub current: Option<Option<i64>>,
}

/// Engine API `DELETE` answer: `{"previous": 5}` or `{"previous": null}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineRemoved {
    /// The value the entry had.
    #[serde(rename = "previous")]
    pub previous: Option<i64>,
}

/// One entry of an engine API sorted page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineEntry {
    /// The key.
    #[serde(rename = "key")]
    pub key: String,
    /// The value.
    #[serde(rename = "value")]
    pub value: i64,
}

/// Engine API sorted page (`DataStorePages`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnginePage {
    /// The page.
    #[serde(rename = "entries")]
    pub entries: Vec<EngineEntry>,
    /// The next page's cursor (`null` on the last page).
    #[serde(rename = "nextCursor", default)]
    pub next_cursor: Option<String>,
}

/// Engine API `entries:batchGet` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineBatchGet {
    /// The keys.
    #[serde(rename = "keys")]
    pub keys: Vec<String>,
}

/// Engine API `entries:batchGet` answer (keys without a value left out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineBatch {
    /// Values by key.
    #[serde(rename = "entries")]
    pub entries: BTreeMap<String, i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn engine_update_keeps_absent_and_null_apart() {
        let absent: EngineUpdate = serde_json::from_value(json!({"value": 3})).unwrap();
        assert_eq!(absent.expect, None);
        let null: EngineUpdate =
            serde_json::from_value(json!({"expect": null, "value": 3})).unwrap();
        assert_eq!(null.expect, Some(Value::Null));
        let written = EngineUpdated {
            written: true,
            value: Some(None),
            current: None,
        };
        let text = serde_json::to_value(written).unwrap();
        assert_eq!(text, json!({"written": true, "value": null}));
        assert_eq!(
            serde_json::from_value::<EngineUpdated>(text).unwrap(),
            written
        );
        let lost: EngineUpdated =
            serde_json::from_value(json!({"written": false, "current": 6})).unwrap();
        assert_eq!(lost.current, Some(Some(6)));
    }

    #[test]
    fn list_answers_omit_the_token_on_the_last_page() {
        let last = V2List {
            entries: vec![],
            next_page_token: None,
        };
        assert_eq!(
            serde_json::to_value(last).unwrap(),
            json!({"orderedDataStoreEntries": []})
        );
    }
}
