//! MemoryStoreService bodies: the engine API's (`docs/engine-api.md`,
//! memory section) and Open Cloud v2's (`memory-store/...`).
//!
//! Owns: [`SortKey`], [`Bound`] and [`Direction`] (re-exported by
//! `memorystore`), every engine API request and answer, the Open Cloud
//! answers, the case-insensitive field lookup of Open Cloud request bodies
//! ([`field`]) and `ttl`/`invisibilityWindow` durations ([`parse_duration`]).
//! Invariants: serialized names are spelled out; the server writes and the
//! remote client reads these same types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A sorted map item's sort key: a number or a string (JSON: either).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortKey {
    /// Sorted before every string, by value.
    Number(f64),
    /// Sorted after every number, by bytes.
    String(String),
}

/// An exclusive bound of `GetRangeAsync`: `{key?, sortKey?}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    /// The key (none: every key of the sort key is excluded).
    #[serde(default, rename = "key", skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The sort key (none: items without a sort key).
    #[serde(default, rename = "sortKey", skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<SortKey>,
}

/// `Enum.SortDirection`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Smallest first.
    Ascending,
    /// Largest first.
    Descending,
}

/// `{"item": ... | null}` (engine `GET items/{key}`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ItemAnswer<T> {
    /// The item, `null` when absent.
    #[serde(rename = "item")]
    pub item: Option<T>,
}

/// An engine sorted map item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SortedItem {
    /// Key.
    #[serde(rename = "key")]
    pub key: String,
    /// Value.
    #[serde(rename = "value")]
    pub value: Value,
    /// Sort key or `null`.
    #[serde(rename = "sortKey", default)]
    pub sort_key: Option<SortKey>,
    /// Changes on every write.
    #[serde(rename = "etag")]
    pub etag: String,
}

/// An engine hash map item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HashItem {
    /// Key.
    #[serde(rename = "key")]
    pub key: String,
    /// Value.
    #[serde(rename = "value")]
    pub value: Value,
    /// Changes on every write.
    #[serde(rename = "etag")]
    pub etag: String,
}

/// Engine `PUT items/{key}` (sorted map: with `sortKey`; hash map: without).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Put {
    /// The value.
    #[serde(rename = "value")]
    pub value: Value,
    /// Seconds to live (0 < expiration <= 3 888 000).
    #[serde(rename = "expiration")]
    pub expiration: f64,
    /// The sort key (sorted maps).
    #[serde(rename = "sortKey", default, skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<SortKey>,
    /// Absent: unconditional; `null`: must not exist; a string: the etag.
    #[serde(
        rename = "expect",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub expect: Option<Value>,
}

/// A field that is present, `null` included (`Some(Null)`); `default`
/// gives `None` when it is absent.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The answer of a conditional `PUT`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PutAnswer<T> {
    /// Whether it was written.
    #[serde(rename = "written")]
    pub written: bool,
    /// The item did not exist (written answers only).
    #[serde(rename = "new", default, skip_serializing_if = "Option::is_none")]
    pub new: Option<bool>,
    /// The item as written, or as it is when not written.
    #[serde(rename = "item")]
    pub item: Option<T>,
}

/// Engine `POST items:range`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RangeRequest {
    /// Ascending or descending.
    #[serde(rename = "direction")]
    pub direction: Direction,
    /// 1..=200.
    #[serde(rename = "count")]
    pub count: i64,
    /// Exclusive lower bound.
    #[serde(rename = "exclusiveLowerBound", default)]
    pub lower: Option<Bound>,
    /// Exclusive upper bound.
    #[serde(rename = "exclusiveUpperBound", default)]
    pub upper: Option<Bound>,
}

/// One item of a range answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RangeItem {
    /// Key.
    #[serde(rename = "key")]
    pub key: String,
    /// Value.
    #[serde(rename = "value")]
    pub value: Value,
    /// Sort key or `null`.
    #[serde(rename = "sortKey", default)]
    pub sort_key: Option<SortKey>,
}

/// `{"items": [...]}` (range, queue read and peek answers).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Items<T> {
    /// The items.
    #[serde(rename = "items")]
    pub items: Vec<T>,
}

/// `{"size": n}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Size {
    /// Items.
    #[serde(rename = "size")]
    pub size: u64,
}

/// Engine `POST items:add`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueueAdd {
    /// The value.
    #[serde(rename = "value")]
    pub value: Value,
    /// Seconds to live.
    #[serde(rename = "expiration")]
    pub expiration: f64,
    /// Higher is read first.
    #[serde(rename = "priority", default)]
    pub priority: f64,
}

fn minus_one() -> f64 {
    -1.0
}

fn thirty() -> f64 {
    30.0
}

/// Engine `POST items:read`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueueRead {
    /// 1..=100.
    #[serde(rename = "count")]
    pub count: i64,
    /// Read nothing unless `count` items are there.
    #[serde(rename = "allOrNothing", default)]
    pub all_or_nothing: bool,
    /// Seconds to wait; -1 waits the default 30 s.
    #[serde(rename = "waitTimeout", default = "minus_one")]
    pub wait_timeout: f64,
    /// Seconds read items stay invisible.
    #[serde(rename = "invisibilityTimeout", default = "thirty")]
    pub invisibility_timeout: f64,
}

/// The engine read answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueueReadAnswer {
    /// The values read.
    #[serde(rename = "items")]
    pub items: Vec<Value>,
    /// The read id, `null` when nothing was read.
    #[serde(rename = "id")]
    pub id: Option<String>,
}

/// Engine `POST items:remove`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueueRemove {
    /// The read id.
    #[serde(rename = "id")]
    pub id: String,
}

/// One item of a peek answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeekItem {
    /// Value.
    #[serde(rename = "value")]
    pub value: Value,
    /// Priority.
    #[serde(rename = "priority")]
    pub priority: f64,
    /// RFC 3339.
    #[serde(rename = "expireTime")]
    pub expire_time: String,
    /// RFC 3339, `null` when visible.
    #[serde(rename = "invisibleUntil", default)]
    pub invisible_until: Option<String>,
}

/// One item of a hash map page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HashListItem {
    /// Key.
    #[serde(rename = "key")]
    pub key: String,
    /// Value.
    #[serde(rename = "value")]
    pub value: Value,
}

/// A hash map page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HashList {
    /// The items.
    #[serde(rename = "items")]
    pub items: Vec<HashListItem>,
    /// The next page's cursor, `null` on the last page.
    #[serde(rename = "nextCursor")]
    pub next_cursor: Option<String>,
}

/// An Open Cloud sorted map item.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OcSortedItem {
    /// `cloud/v2/universes/{u}/memory-store/sorted-maps/{m}/items/{id}`.
    #[serde(rename = "path")]
    pub path: String,
    /// Value.
    #[serde(rename = "value")]
    pub value: Value,
    /// Changes on every write.
    #[serde(rename = "etag")]
    pub etag: String,
    /// RFC 3339.
    #[serde(rename = "expireTime")]
    pub expire_time: String,
    /// The key.
    #[serde(rename = "id")]
    pub id: String,
    /// A string sort key.
    #[serde(
        rename = "stringSortKey",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub string_sort_key: Option<String>,
    /// A numeric sort key.
    #[serde(
        rename = "numericSortKey",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub numeric_sort_key: Option<f64>,
}

/// An Open Cloud sorted map page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OcSortedList {
    /// The items.
    #[serde(rename = "items")]
    pub items: Vec<OcSortedItem>,
    /// Absent on the last page.
    #[serde(
        rename = "nextPageToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub next_page_token: Option<String>,
}

/// An Open Cloud queue item.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OcQueueItem {
    /// `cloud/v2/universes/{u}/memory-store/queues/{q}/items/{id}`.
    #[serde(rename = "path")]
    pub path: String,
    /// Value.
    #[serde(rename = "data")]
    pub data: Value,
    /// Priority.
    #[serde(rename = "priority")]
    pub priority: f64,
    /// RFC 3339.
    #[serde(rename = "expireTime")]
    pub expire_time: String,
    /// The item's name.
    #[serde(rename = "id")]
    pub id: String,
}

/// The Open Cloud read answer: the documented `{readId, items}` and what
/// real clients read, `{data, id}` (quirk 1), both at once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OcRead {
    /// The read id (documented).
    #[serde(rename = "readId")]
    pub read_id: String,
    /// The items (documented).
    #[serde(rename = "items")]
    pub items: Vec<OcQueueItem>,
    /// The items' values, in order (what rblx-open-cloud and openblox
    /// read: openblox's captured body holds the values themselves).
    #[serde(rename = "data")]
    pub data: Vec<Value>,
    /// The same read id (what the clients read).
    #[serde(rename = "id")]
    pub id: String,
}

/// A long-running operation (the memory store flush).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Operation {
    /// `universes/{u}/memory-store/operations/{id}`.
    #[serde(rename = "path")]
    pub path: String,
    /// Always true here: a flush is done when it answers.
    #[serde(rename = "done")]
    pub done: bool,
    /// `{"@type": ...FlushMemoryStoreResponse}`.
    #[serde(rename = "response", default)]
    pub response: Value,
}

/// The `@type` of a flush operation's response.
pub const FLUSH_RESPONSE_TYPE: &str =
    "type.googleapis.com/roblox.open_cloud.cloud.v2.FlushMemoryStoreResponse";

/// The field `name` of a JSON object, its name matched case-insensitively
/// (rblx-open-cloud sends `Value`, `Ttl`; openblox `NumericSortKey`).
pub fn field<'v>(body: &'v Value, name: &str) -> Option<&'v Value> {
    body.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A protobuf duration (`"30s"`, `"2.5s"`) or a bare number of seconds.
pub fn parse_duration(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().strip_suffix('s').unwrap_or(s).trim().parse().ok(),
        _ => None,
    }
    .filter(|s: &f64| s.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_match_any_case_and_durations_take_both_forms() {
        let body = json!({"Value": 1, "numericSortKey": 2});
        assert_eq!(field(&body, "value"), Some(&json!(1)));
        assert_eq!(field(&body, "NumericSortKey"), Some(&json!(2)));
        assert_eq!(parse_duration(&json!("30s")), Some(30.0));
        assert_eq!(parse_duration(&json!("2.5s")), Some(2.5));
        assert_eq!(parse_duration(&json!(7)), Some(7.0));
        assert_eq!(parse_duration(&json!("x")), None);
    }

    #[test]
    fn expect_absent_and_null_differ_on_the_wire() {
        let put = |expect| Put {
            value: json!(1),
            expiration: 5.0,
            sort_key: None,
            expect,
        };
        let absent = serde_json::to_value(put(None)).unwrap_or_default();
        assert!(absent.get("expect").is_none());
        let null = serde_json::to_value(put(Some(Value::Null))).unwrap_or_default();
        assert_eq!(null.get("expect"), Some(&Value::Null));
        let back: Put = serde_json::from_value(null).unwrap_or_else(|_| put(None));
        assert_eq!(back.expect, Some(Value::Null), "null survives reading");
    }
}
