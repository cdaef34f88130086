//! The session lock history's wire format: one [`LockEvent`] per change of
//! a profile's owner, as `GET /engine-api/v1/universes/{u}/profiles/
//! {store}/{key}/lock-history` answers it ([`LockHistoryPage`]), as the
//! storage record of a profile's history keeps it, and as
//! `profilestore profile history --json` prints it.
//!
//! Owns: the event types with fixed serialized names (fields in camelCase
//! like the rest of profilestore's JSON, kinds in snake_case). Invariants:
//! renaming a Rust item never changes the JSON; `timeMs` is the truth and
//! `time` its RFC 3339 form (written from `timeMs`, ignored when read).

use serde::{Deserialize, Serialize};

/// What happened to a profile's owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LockChangeKind {
    /// A server took a profile nobody held.
    #[serde(rename = "started")]
    Started,
    /// Its owner released it (ended the session).
    #[serde(rename = "released")]
    Released,
    /// A server took a profile it had asked for, after its owner released
    /// it (`previous` is that owner when known).
    #[serde(rename = "handed_off")]
    HandedOff,
    /// A server took a profile from a live owner (`previous`).
    #[serde(rename = "stolen")]
    Stolen,
    /// A server took a profile whose owner (`previous`) had not saved for
    /// longer than ProfileStore's `ASSUME_DEAD`.
    #[serde(rename = "assumed_dead")]
    AssumedDead,
    /// Its owner released it while shutting down.
    #[serde(rename = "ended_by_shutdown")]
    EndedByShutdown,
}

impl LockChangeKind {
    /// Every kind, in declaration order.
    pub const ALL: [LockChangeKind; 6] = [
        LockChangeKind::Started,
        LockChangeKind::Released,
        LockChangeKind::HandedOff,
        LockChangeKind::Stolen,
        LockChangeKind::AssumedDead,
        LockChangeKind::EndedByShutdown,
    ];

    /// The serialized name (`handed_off`).
    pub fn as_str(self) -> &'static str {
        match self {
            LockChangeKind::Started => "started",
            LockChangeKind::Released => "released",
            LockChangeKind::HandedOff => "handed_off",
            LockChangeKind::Stolen => "stolen",
            LockChangeKind::AssumedDead => "assumed_dead",
            LockChangeKind::EndedByShutdown => "ended_by_shutdown",
        }
    }

    /// Whether the change leaves the profile held (a take), rather than
    /// released.
    pub fn takes(self) -> bool {
        !matches!(
            self,
            LockChangeKind::Released | LockChangeKind::EndedByShutdown
        )
    }
}

impl std::fmt::Display for LockChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A session owner as a profile document names it (`ActiveSession`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockOwner {
    /// `game.PlaceId`.
    #[serde(rename = "placeId")]
    pub place_id: i64,
    /// `game.JobId`.
    #[serde(rename = "jobId")]
    pub job_id: String,
    /// The session's GUID (`None` in ProfileService's two-element form).
    #[serde(rename = "sessionId")]
    pub session_id: Option<String>,
}

/// One change of a profile's owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEvent {
    /// What changed.
    #[serde(rename = "kind")]
    pub kind: LockChangeKind,
    /// The universe.
    #[serde(rename = "universe")]
    pub universe: u64,
    /// The data store (ProfileStore name).
    #[serde(rename = "store")]
    pub store: String,
    /// The scope (`global` for ProfileStore).
    #[serde(rename = "scope")]
    pub scope: String,
    /// The key.
    #[serde(rename = "key")]
    pub key: String,
    /// The owner after a take, the owner that let go after a release.
    #[serde(flatten)]
    pub owner: LockOwner,
    /// `SessionLoadCount` of the document written.
    #[serde(rename = "loadCount")]
    pub load_count: u64,
    /// When the write was committed, Unix milliseconds of the server's
    /// clock.
    #[serde(rename = "timeMs")]
    pub time_ms: i64,
    /// `timeMs` as RFC 3339 (UTC).
    #[serde(rename = "time", default, skip_deserializing)]
    pub time: String,
    /// The owner before (`handed_off`, `stolen`, `assumed_dead`), when known.
    #[serde(rename = "previous", default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<LockOwner>,
    /// A release that another server had asked for (a handoff's first
    /// half: the writer said so, or the document names the server waiting).
    #[serde(rename = "askedFor", default, skip_serializing_if = "is_false")]
    pub asked_for: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl LockEvent {
    /// Fills `time` from `time_ms` (after reading a stored event).
    pub fn with_time_text(mut self) -> Self {
        self.time = super::time::body_time(self.time_ms);
        self
    }
}

/// `GET .../profiles/{store}/{key}/lock-history`: a profile's events,
/// oldest first, within the server's retention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHistoryPage {
    /// The events.
    #[serde(rename = "events")]
    pub events: Vec<LockEvent>,
}

/// A profile held right now, as the node that answers saw its commits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveLock {
    /// The universe.
    #[serde(rename = "universe")]
    pub universe: u64,
    /// The data store.
    #[serde(rename = "store")]
    pub store: String,
    /// The scope.
    #[serde(rename = "scope")]
    pub scope: String,
    /// The key.
    #[serde(rename = "key")]
    pub key: String,
    /// The holder.
    #[serde(flatten)]
    pub owner: LockOwner,
    /// Its `SessionLoadCount`.
    #[serde(rename = "loadCount")]
    pub load_count: u64,
    /// When the node saw the session taken (or, for a session taken before
    /// the node saw it, its first save), Unix ms.
    #[serde(rename = "sinceMs")]
    pub since_ms: i64,
    /// The holder's last save the node saw, Unix ms.
    #[serde(rename = "lastSaveMs")]
    pub last_save_ms: i64,
    /// When ProfileStore's auto-save is due: `lastSaveMs` + `AUTO_SAVE_PERIOD`.
    #[serde(rename = "autoSaveDueMs")]
    pub auto_save_due_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_fixed_names() {
        let event = LockEvent {
            kind: LockChangeKind::HandedOff,
            universe: 1,
            store: "Players".into(),
            scope: "global".into(),
            key: "u1".into(),
            owner: LockOwner {
                place_id: 2,
                job_id: "job-b".into(),
                session_id: Some("S-B".into()),
            },
            load_count: 3,
            time_ms: 1_694_956_791_014,
            time: String::new(),
            previous: Some(LockOwner {
                place_id: 2,
                job_id: "job-a".into(),
                session_id: None,
            }),
            asked_for: false,
        }
        .with_time_text();
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"handed_off","universe":1,"store":"Players","scope":"global","key":"u1","placeId":2,"jobId":"job-b","sessionId":"S-B","loadCount":3,"timeMs":1694956791014,"time":"2023-09-17T13:19:51.014Z","previous":{"placeId":2,"jobId":"job-a","sessionId":null}}"#
        );
        let back: LockEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(back.with_time_text(), event);
        let names: Vec<String> = LockChangeKind::ALL
            .iter()
            .map(|k| {
                serde_json::to_value(k)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        let spelled: Vec<&str> = LockChangeKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, spelled);
    }
}
