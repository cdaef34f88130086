//! The session API's JSON outputs as types (documented in
//! `docs/session-api.md`): profile views, stored-profile views, key info,
//! events, end reasons and the small answers.
//!
//! Owns: every serialized name of the session API's answers. Invariants:
//! names are spelled out with `#[serde(rename)]`, so renaming a Rust item
//! never changes the API; field order is the documented one; events carry
//! `type`, `store`, `key`, `loadCount` (the log adds `id`).

use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::datastore::KeyInfo;
use crate::engine::{EndReason, Profile, ReadOnlyProfile};

/// `V`: an active session's profile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProfileView {
    /// Store name.
    #[serde(rename = "store")]
    pub store: String,
    /// Key.
    #[serde(rename = "key")]
    pub key: String,
    /// The session's load count (its fence).
    #[serde(rename = "loadCount")]
    pub load_count: u64,
    /// The session's GUID.
    #[serde(rename = "sessionId")]
    pub session_id: String,
    /// Whether the session is still active.
    #[serde(rename = "active")]
    pub active: bool,
    /// `Data`.
    #[serde(rename = "data")]
    pub data: Value,
    /// `RobloxMetaData`.
    #[serde(rename = "metadata")]
    pub metadata: Map<String, Value>,
    /// User ids.
    #[serde(rename = "userIds")]
    pub user_ids: Vec<i64>,
    /// `FirstSessionTime` as stored.
    #[serde(rename = "firstSessionTime")]
    pub first_session_time: Value,
    /// The entry's key info.
    #[serde(rename = "keyInfo")]
    pub key_info: KeyInfoView,
}

impl ProfileView {
    /// The view of `profile` of store `store`.
    pub fn of(store: &str, profile: &Profile) -> Self {
        ProfileView {
            store: store.to_owned(),
            key: profile.key().to_owned(),
            load_count: profile.session_load_count(),
            session_id: profile.session_id().to_owned(),
            active: profile.is_active(),
            data: profile.data(),
            metadata: profile.roblox_metadata(),
            user_ids: profile.user_ids(),
            first_session_time: profile.first_session_time(),
            key_info: KeyInfoView::of(&profile.key_info()),
        }
    }
}

/// Key info as the session API writes it (times in Unix ms).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfoView {
    /// The version id.
    #[serde(rename = "version")]
    pub version: String,
    /// When the key was created.
    #[serde(rename = "createdTime")]
    pub created_time: i64,
    /// When this version was written.
    #[serde(rename = "updatedTime")]
    pub updated_time: i64,
}

impl KeyInfoView {
    /// The view of `info`.
    pub fn of(info: &KeyInfo) -> Self {
        KeyInfoView {
            version: info.version.clone(),
            created_time: info.created_ms,
            updated_time: info.updated_ms,
        }
    }
}

/// `R`: a stored profile read without a session.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredView {
    /// Store name.
    #[serde(rename = "store")]
    pub store: String,
    /// Key.
    #[serde(rename = "key")]
    pub key: String,
    /// `Data`.
    #[serde(rename = "data")]
    pub data: Value,
    /// User ids.
    #[serde(rename = "userIds")]
    pub user_ids: Vec<i64>,
    /// The session holding it, if any.
    #[serde(rename = "session")]
    pub session: Option<SessionOwnerView>,
    /// Its load count.
    #[serde(rename = "loadCount")]
    pub load_count: u64,
    /// Waiting messages, `[index, message]`.
    #[serde(rename = "messages")]
    pub messages: Vec<(u64, Value)>,
    /// The version's key info.
    #[serde(rename = "keyInfo")]
    pub key_info: KeyInfoView,
}

impl StoredView {
    /// The view of `p` of store `store`.
    pub fn of(store: &str, p: &ReadOnlyProfile) -> Self {
        StoredView {
            store: store.to_owned(),
            key: p.key().to_owned(),
            data: p.data().clone(),
            user_ids: p.user_ids().to_vec(),
            session: p.session().map(|o| SessionOwnerView {
                place_id: o.place_id.clone(),
                job_id: o.job_id.clone(),
                session_id: o.session_id.clone(),
            }),
            load_count: p.session_load_count(),
            messages: p.messages(),
            key_info: KeyInfoView::of(p.key_info()),
        }
    }
}

/// The server holding a stored profile's session.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionOwnerView {
    /// `game.PlaceId`.
    #[serde(rename = "placeId")]
    pub place_id: Number,
    /// `game.JobId`.
    #[serde(rename = "jobId")]
    pub job_id: String,
    /// The session's GUID (`null` in ProfileService's form).
    #[serde(rename = "sessionId")]
    pub session_id: Option<String>,
}

/// Why a session is ending (`sessionEnding`'s `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum EndReasonView {
    /// The game server ended it.
    #[serde(rename = "Manual")]
    Manual,
    /// Another server asked for the profile.
    #[serde(rename = "External")]
    External,
    /// The profilestore server is shutting down.
    #[serde(rename = "Shutdown")]
    Shutdown,
}

impl From<&EndReason> for EndReasonView {
    fn from(r: &EndReason) -> Self {
        match r {
            EndReason::Manual => EndReasonView::Manual,
            EndReason::External => EndReasonView::External,
            EndReason::Shutdown => EndReasonView::Shutdown,
        }
    }
}

/// An event of a game server's log (`E`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// Store name.
    #[serde(rename = "store")]
    pub store: String,
    /// Key.
    #[serde(rename = "key")]
    pub key: String,
    /// The session's load count.
    #[serde(rename = "loadCount")]
    pub load_count: u64,
    /// What happened (`type` and its fields).
    #[serde(flatten)]
    pub kind: EventKind,
}

/// An event's `type` and fields.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum EventKind {
    /// A message arrived for the session.
    #[serde(rename = "message")]
    Message {
        /// Its index (for `:processed`).
        #[serde(rename = "index")]
        index: u64,
        /// The message.
        #[serde(rename = "message")]
        message: Value,
    },
    /// The session is making its final save.
    #[serde(rename = "sessionEnding")]
    SessionEnding {
        /// Why.
        #[serde(rename = "reason")]
        reason: EndReasonView,
    },
    /// The session is over.
    #[serde(rename = "sessionEnded")]
    SessionEnded,
}

impl Event {
    /// The event as the log stores it.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// `DELETE /servers/{job}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Ended {
    /// Whether the game server was known.
    #[serde(rename = "ended")]
    pub ended: bool,
}

/// `POST /servers/{job}` (lease renewal).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Lease {
    /// The lease in seconds.
    #[serde(rename = "leaseSeconds")]
    pub lease_seconds: f64,
}

/// `POST .../sessions` (`profile` is `null` when it could not be had).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Started {
    /// The session's profile.
    #[serde(rename = "profile")]
    pub profile: Option<ProfileView>,
}

/// `POST .../messages/{i}:processed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessedAnswer {
    /// Whether the message was waiting.
    #[serde(rename = "processed")]
    pub processed: bool,
}

/// `POST /stores/{s}/{k}:message`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Sent {
    /// Always true.
    #[serde(rename = "sent")]
    pub sent: bool,
}

/// `GET /stores/{s}/{k}/versions`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Versions {
    /// Oldest or newest first, as asked.
    #[serde(rename = "versions")]
    pub versions: Vec<StoredView>,
}

/// `GET /servers/{job}/events` (long-poll).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Events {
    /// Events after the cursor.
    #[serde(rename = "events")]
    pub events: Vec<Value>,
    /// Where the next read starts.
    #[serde(rename = "cursor")]
    pub cursor: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_keep_their_wire_names() {
        let e = Event {
            store: "s".into(),
            key: "k".into(),
            load_count: 3,
            kind: EventKind::SessionEnding {
                reason: EndReasonView::External,
            },
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"store":"s","key":"k","loadCount":3,"type":"sessionEnding","reason":"External"}"#
        );
        let e = Event {
            kind: EventKind::Message {
                index: 2,
                message: Value::from("hi"),
            },
            ..e
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"store":"s","key":"k","loadCount":3,"type":"message","index":2,"message":"hi"}"#
        );
        let e = Event {
            kind: EventKind::SessionEnded,
            ..e
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"store":"s","key":"k","loadCount":3,"type":"sessionEnded"}"#
        );
    }
}
