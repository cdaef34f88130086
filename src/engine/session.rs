//! The session algorithms of ProfileStore as pure functions over a stored
//! document: what one start attempt and one save write, and what they mean.
//!
//! Owns: the session-start decision table, the load-count fence, and the
//! save rules of `shared/spec/profilestore.md`. Invariants: these functions
//! read no clock and do no I/O (the caller passes `now` and runs them inside
//! one DataStore `update`); a save whose fence fails writes nothing.

use serde_json::{Map, Number, Value};

use super::document::{ProfileDocument, SessionOwner, Stored};

/// One start attempt, as the caller sees it.
#[derive(Clone, Debug)]
pub struct StartAttempt<'a> {
    /// This server and the new session's id.
    pub me: &'a SessionOwner,
    /// The data of a new profile (a deep copy of the template).
    pub template: &'a Value,
    /// Now, Unix seconds.
    pub now_secs: i64,
    /// The caller asked to steal.
    pub steal: bool,
    /// This is the first attempt of this start.
    pub first_attempt: bool,
    /// Enough repeats passed to steal (`ceil(SESSION_STEAL / LOAD_REPEAT_PERIOD)`).
    pub steal_ready: bool,
    /// `ASSUME_DEAD`, seconds.
    pub assume_dead_secs: f64,
    /// The start was cancelled or the server is closing: never take it.
    pub hold_back: bool,
}

/// What a start attempt found, read from what it wrote.
#[derive(Clone, Debug, PartialEq)]
pub enum StartOutcome {
    /// This session owns the profile; the load count is its fence.
    Active {
        /// `SessionLoadCount` after the start.
        load_count: u64,
        /// The stored value was not a profile and was replaced.
        overwritten: bool,
    },
    /// Another server owns it and we are the one asking for it.
    Waiting {
        /// The owner (publish the force-load request to its session).
        owner: SessionOwner,
        /// Its load count (the request carries it).
        load_count: u64,
    },
    /// Another server owns it and someone else asked for it later: give up.
    GiveUp,
    /// Held back (cancelled or closing) and not taken.
    NotTaken,
}

fn fresh(template: &Value, now_secs: i64) -> ProfileDocument {
    ProfileDocument::new(template.clone(), now_secs)
}

/// Decides one start attempt. Returns the document to write and what it
/// means.
pub fn start(stored: Stored, a: &StartAttempt<'_>) -> (ProfileDocument, StartOutcome) {
    let mut overwritten = false;
    let mut doc = match stored {
        Stored::Profile(doc) => *doc,
        Stored::Missing => fresh(a.template, a.now_secs),
        Stored::MessagesOnly(messages) => {
            let mut doc = fresh(a.template, a.now_secs);
            doc.messages = messages;
            doc
        }
        Stored::Foreign(_) => {
            overwritten = true;
            let mut doc = fresh(a.template, a.now_secs);
            doc.was_overwritten = Some(true);
            doc
        }
    };
    let take = |doc: &mut ProfileDocument| {
        doc.meta.active_session = Some(a.me.clone());
        doc.meta.force_load_session = None;
    };
    match doc.meta.active_session.clone() {
        _ if a.hold_back => {}
        None => take(&mut doc),
        Some(owner) if owner.same_server(a.me) => take(&mut doc),
        Some(_) => {
            let last_update = doc.meta.last_update.as_f64().unwrap_or(0.0);
            let dead = a.now_secs as f64 - last_update > a.assume_dead_secs;
            let asked_by_me = doc
                .meta
                .force_load_session
                .as_ref()
                .is_some_and(|f| f.same_server(a.me));
            if dead || a.steal || (a.steal_ready && asked_by_me) {
                take(&mut doc);
            } else if a.first_attempt {
                doc.meta.force_load_session = Some(SessionOwner {
                    session_id: None,
                    ..a.me.clone()
                });
            }
        }
    }
    let owner = doc.meta.active_session.clone();
    let outcome = match owner {
        Some(o) if o.same_server(a.me) && o.session_id == a.me.session_id => {
            doc.meta.session_load_count += 1;
            doc.meta.last_update = Number::from(a.now_secs);
            StartOutcome::Active {
                load_count: doc.meta.session_load_count,
                overwritten,
            }
        }
        _ if a.hold_back => StartOutcome::NotTaken,
        Some(o) => {
            let asked_by_me = doc
                .meta
                .force_load_session
                .as_ref()
                .is_some_and(|f| f.same_server(a.me));
            if asked_by_me {
                StartOutcome::Waiting {
                    owner: o,
                    load_count: doc.meta.session_load_count,
                }
            } else {
                StartOutcome::GiveUp
            }
        }
        None => StartOutcome::NotTaken,
    };
    (doc, outcome)
}

/// One save of an active session.
#[derive(Clone, Debug)]
pub struct SaveRequest<'a> {
    /// The session saving.
    pub me: &'a SessionOwner,
    /// Its load count at start (the fence).
    pub fence: u64,
    /// `Data` to write.
    pub data: &'a Value,
    /// `RobloxMetaData` to write.
    pub roblox_metadata: &'a Map<String, Value>,
    /// `UserIds` to write.
    pub user_ids: &'a [i64],
    /// Indices of messages the handlers processed: removed from the queue.
    pub processed: &'a [u64],
    /// A final save: releases the session.
    pub release: bool,
    /// Now, Unix seconds.
    pub now_secs: i64,
}

/// What a save found.
#[derive(Clone, Debug, PartialEq)]
pub enum SaveOutcome {
    /// Written. `asked_for` is set when another server asked for the profile
    /// (end the session with reason `External`).
    Saved {
        /// Another server's force-load request is pending.
        asked_for: bool,
    },
    /// The fence failed: the session is no longer ours; nothing written.
    Lost,
}

/// Whether `doc` is still owned by the session `me` with load count `fence`.
pub fn fence_holds(doc: &ProfileDocument, me: &SessionOwner, fence: u64) -> bool {
    doc.meta
        .active_session
        .as_ref()
        .is_some_and(|o| o.same_server(me) && o.session_id == me.session_id)
        && doc.meta.session_load_count == fence
}

/// Decides one save: `None` means write nothing (the session was lost).
pub fn save(stored: Stored, r: &SaveRequest<'_>) -> (Option<ProfileDocument>, SaveOutcome) {
    let Stored::Profile(doc) = stored else {
        return (None, SaveOutcome::Lost);
    };
    let mut doc = *doc;
    if !fence_holds(&doc, r.me, r.fence) {
        return (None, SaveOutcome::Lost);
    }
    doc.data = r.data.clone();
    doc.roblox_metadata = r.roblox_metadata.clone();
    doc.user_ids = r.user_ids.to_vec();
    doc.meta.last_update = Number::from(r.now_secs);
    doc.messages
        .entries
        .retain(|e| !r.processed.contains(&e.index()));
    if doc.was_overwritten == Some(true) {
        doc.was_overwritten = Some(false);
    }
    let asked_for = doc
        .meta
        .force_load_session
        .as_ref()
        .is_some_and(|f| !f.same_server(r.me));
    if r.release {
        doc.meta.active_session = None;
    }
    (Some(doc), SaveOutcome::Saved { asked_for })
}

/// Appends a message to a stored value (`MessageAsync`): to a profile, or,
/// when there is none yet, to a messages-only document. Returns the value
/// to write and the owner to notify (`(owner, load_count)`) if any.
pub fn append_message(
    stored: Stored,
    message: Value,
    cap: usize,
) -> (Value, Option<(SessionOwner, u64)>) {
    match stored {
        Stored::Profile(mut doc) => {
            doc.messages.push(message, cap);
            let owner = doc
                .meta
                .active_session
                .clone()
                .map(|o| (o, doc.meta.session_load_count));
            (doc.to_value(), owner)
        }
        Stored::MessagesOnly(mut messages) => {
            messages.push(message, cap);
            (messages_only(&messages), None)
        }
        Stored::Missing | Stored::Foreign(_) => {
            let mut messages = super::document::Messages::default();
            messages.push(message, cap);
            (messages_only(&messages), None)
        }
    }
}

fn messages_only(messages: &super::document::Messages) -> Value {
    let entries: Vec<Value> = messages
        .entries
        .iter()
        .map(|e| Value::Array(vec![Value::from(e.index()), e.payload().clone()]))
        .collect();
    serde_json::json!({"GlobalUpdates": [messages.last_index, entries]})
}
