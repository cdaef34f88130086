//! The rules of the lock history: what one commit of a profile did to its
//! owner, as pure functions (no clock, no I/O).
//!
//! Owns: reading the lock a document shows ([`Lock`], only `MetaData` is
//! parsed; anything not in ProfileStore's layout is no lock), and
//! [`classify`]. The rules, with A and B two different owners (place, job
//! and session GUID; the same owner with another load count is a new
//! session, so it counts as different):
//! - no owner -> B: `handed_off` when B had asked for it (the document
//!   before names B's place and job in `ForceLoadSession`, which both the
//!   Luau module and the engine write while they wait), or when the last
//!   recorded event is a release another server asked for, less than the
//!   handoff window (60 s) ago; `previous` is then the owner of that last
//!   release. Otherwise `started`;
//! - A -> no owner (released, removed or overwritten): `ended_by_shutdown`
//!   with the note `Shutdown`, else `released`; `askedFor` when the note is
//!   `HandedOff` or the document names a waiting server other than A;
//! - A -> B directly: `assumed_dead` when A's `LastUpdate` is older than
//!   `ASSUME_DEAD` (630 s) at commit time, else `stolen`; `previous` is A;
//! - A -> A (same load count): no event, a save (the live view's last save);
//! - the value before unknown (an unconditional `SetAsync` read nothing):
//!   the owner before is the last recorded event's (a take's owner, or none
//!   after a release).

use std::time::Duration;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use crate::datastore::observe::CommitNote;
use crate::engine::document::{MetaData, SessionOwner};
use crate::opencloud::history::{LockChangeKind, LockEvent, LockOwner};

/// A profile's lock as one stored document shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Lock {
    /// `ActiveSession`.
    pub(crate) owner: Option<LockOwner>,
    /// `SessionLoadCount`.
    pub(crate) load_count: u64,
    /// `LastUpdate`, Unix seconds.
    pub(crate) last_update_secs: f64,
    /// `ForceLoadSession`: the server waiting for the profile.
    pub(crate) force_load: Option<LockOwner>,
}

/// The parts of a document the history reads: `Data` must be there,
/// everything but `MetaData` is skipped without being kept.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "Data")]
    _data: IgnoredAny,
    #[serde(rename = "MetaData")]
    meta: Value,
}

fn owner_of(o: &SessionOwner) -> LockOwner {
    let place_id = o
        .place_id
        .as_i64()
        .or_else(|| o.place_id.as_f64().map(|f| f as i64))
        .unwrap_or(0);
    LockOwner {
        place_id,
        job_id: o.job_id.clone(),
        session_id: o.session_id.clone(),
    }
}

impl Lock {
    /// Whether `text` may be a profile: an object naming `MetaData` (a
    /// cheap test before parsing).
    pub(crate) fn may_be_profile(text: &str) -> bool {
        text.trim_start().starts_with('{') && text.contains("\"MetaData\"")
    }

    /// The lock of a stored value; `None` when it is not a profile.
    pub(crate) fn read(text: &str) -> Option<Lock> {
        if !Self::may_be_profile(text) {
            return None;
        }
        let head: Head = serde_json::from_str(text).ok()?;
        let meta = MetaData::read(&head.meta)?;
        Some(Lock {
            owner: meta.active_session.as_ref().map(owner_of),
            load_count: meta.session_load_count,
            last_update_secs: meta.last_update.as_f64().unwrap_or(0.0),
            force_load: meta.force_load_session.as_ref().map(owner_of),
        })
    }
}

/// What the key held before a commit, as far as the history knows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Before {
    /// Read by the write: this lock (no owner for a missing key or a
    /// value that is not a profile).
    Known(Lock),
    /// Not read (an unconditional write).
    Unknown,
}

/// One commit of a profile, as the observer saw it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Commit {
    /// The lock before.
    pub(crate) before: Before,
    /// The lock after (no owner when removed or no longer a profile).
    pub(crate) after: Lock,
    /// The writer's note.
    pub(crate) note: Option<CommitNote>,
    /// Commit time, Unix ms.
    pub(crate) time_ms: i64,
}

/// The settings the rules read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rules {
    /// ProfileStore's `ASSUME_DEAD`.
    pub(crate) assume_dead: Duration,
    /// How long after a release another server asked for a take still
    /// counts as its handoff.
    pub(crate) handoff_window: Duration,
}

/// What a commit did to the owner.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    /// Nothing held before or after.
    Nothing,
    /// The owner saved (same owner and session).
    Saved {
        /// The owner.
        owner: LockOwner,
        /// Its load count.
        load_count: u64,
    },
    /// The owner changed.
    Change(Change),
}

/// An owner change, an event without its address and time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Change {
    pub(crate) kind: LockChangeKind,
    pub(crate) owner: LockOwner,
    pub(crate) load_count: u64,
    pub(crate) previous: Option<LockOwner>,
    pub(crate) asked_for: bool,
}

fn same_server(a: &LockOwner, b: &LockOwner) -> bool {
    a.place_id == b.place_id && a.job_id == b.job_id
}

/// The owner before, with its load count and `LastUpdate` (None when
/// unknown) and the server waiting for it.
type Holder = (Option<LockOwner>, u64, Option<f64>, Option<LockOwner>);

fn holder(before: &Before, last: Option<&LockEvent>) -> Holder {
    match before {
        Before::Known(l) => (
            l.owner.clone(),
            l.load_count,
            Some(l.last_update_secs),
            l.force_load.clone(),
        ),
        Before::Unknown => match last {
            Some(e) if e.kind.takes() => (Some(e.owner.clone()), e.load_count, None, None),
            _ => (None, 0, None, None),
        },
    }
}

/// What commit `c` did, given the profile's last recorded event.
pub(crate) fn classify(c: &Commit, last: Option<&LockEvent>, rules: &Rules) -> Outcome {
    let (before, before_count, last_update, waiting) = holder(&c.before, last);
    let after = &c.after;
    match (before, &after.owner) {
        (None, None) => Outcome::Nothing,
        (Some(a), Some(b)) if a == *b && before_count == after.load_count => Outcome::Saved {
            owner: a,
            load_count: after.load_count,
        },
        (Some(a), None) => {
            let kind = if c.note == Some(CommitNote::Shutdown) {
                LockChangeKind::EndedByShutdown
            } else {
                LockChangeKind::Released
            };
            let waiting = after.force_load.as_ref().or(waiting.as_ref());
            let asked_for = c.note == Some(CommitNote::HandedOff)
                || waiting.is_some_and(|w| !same_server(w, &a));
            Outcome::Change(Change {
                kind,
                owner: a,
                load_count: before_count.max(after.load_count),
                previous: None,
                asked_for,
            })
        }
        (None, Some(b)) => {
            let asked_by_b = waiting.as_ref().is_some_and(|w| same_server(w, b));
            let window_ms = i64::try_from(rules.handoff_window.as_millis()).unwrap_or(i64::MAX);
            let release = last.filter(|e| !e.kind.takes());
            let recent_asked = release
                .is_some_and(|e| e.asked_for && c.time_ms.saturating_sub(e.time_ms) <= window_ms);
            let handed = asked_by_b || recent_asked;
            Outcome::Change(Change {
                kind: if handed {
                    LockChangeKind::HandedOff
                } else {
                    LockChangeKind::Started
                },
                owner: b.clone(),
                load_count: after.load_count,
                previous: release.filter(|_| handed).map(|e| e.owner.clone()),
                asked_for: false,
            })
        }
        (Some(a), Some(b)) => {
            let age_secs = match last_update {
                Some(t) => c.time_ms as f64 / 1000.0 - t,
                // Unknown: the last recorded event's time bounds it.
                None => last.map_or(0.0, |e| (c.time_ms - e.time_ms) as f64 / 1000.0),
            };
            let kind = if age_secs > rules.assume_dead.as_secs_f64() {
                LockChangeKind::AssumedDead
            } else {
                LockChangeKind::Stolen
            };
            Outcome::Change(Change {
                kind,
                owner: b.clone(),
                load_count: after.load_count,
                previous: Some(a),
                asked_for: false,
            })
        }
    }
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
