//! The messages servers send each other about one session.
//!
//! Owns: the request protocol of the Luau ProfileStore module on
//! `PS_<session id>` (`{"LoadCount": n}` asks the owner to save soon,
//! `{"LoadCount": n, "EndSession": true}` asks it to end the session), and
//! profilestore's release notice (`{"Released": true}` on
//! `PSN_<fingerprint of store, key, mock>`, published by an owner that ended
//! a session another server asked for, so that server retries at once).
//! Invariants: these are the only places the topics and the JSON are
//! spelled; the wire bytes are the Luau module's (field names and order:
//! `LoadCount` before `EndSession`); reading is as lenient as the module: a
//! request is an object with a non-negative integer `LoadCount`, and only
//! `EndSession: true` ends a session; publishing is best effort, like
//! MessagingService.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::bus::{MessageBus, Subscription};
use crate::clock::Clock;

/// The topic of a session's requests (the Luau module's `PS_<session>`).
pub(crate) fn session_topic(session_id: &str) -> String {
    format!("PS_{session_id}")
}

/// A request to the owner of a session, addressed by its load count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Request {
    /// The owner's `SessionLoadCount`: an owner ignores requests for
    /// another load count (an older or newer session of the key).
    #[serde(rename = "LoadCount")]
    pub(crate) load_count: u64,
    /// End the session (a force load); otherwise save soon (a new message).
    #[serde(
        rename = "EndSession",
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "only_true"
    )]
    pub(crate) end_session: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `EndSession` counts only when it is `true` (any other value is ignored).
fn only_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Value::deserialize(d)?.as_bool() == Some(true))
}

impl Request {
    /// "Save soon": new messages are waiting (`MessageAsync`).
    pub(crate) fn save(load_count: u64) -> Self {
        Request {
            load_count,
            end_session: false,
        }
    }

    /// "End your session": another server wants the profile.
    pub(crate) fn end_session(load_count: u64) -> Self {
        Request {
            load_count,
            end_session: true,
        }
    }

    /// The request a message on a session topic carries, if it is one.
    pub(crate) fn read(data: &Value) -> Option<Self> {
        if !data.is_object() {
            return None;
        }
        Request::deserialize(data).ok()
    }

    /// Publishes this request to session `session_id`; best effort.
    pub(crate) async fn send(self, bus: &MessageBus, session_id: &str) {
        let data = serde_json::to_value(self).expect("a request serializes");
        let _ = bus.publish(&session_topic(session_id), &data).await;
    }
}

/// Subscribes to the requests of session `session_id`.
pub(crate) fn requests(bus: &MessageBus, session_id: &str) -> Option<Subscription> {
    bus.subscribe(&session_topic(session_id)).ok()
}

/// The release notice's topic for one key of one store (or of its mock).
fn release_topic(store: &str, key: &str, mock: bool) -> String {
    let hash = crate::datastore::fingerprint(&[store, key, if mock { "mock" } else { "" }]);
    format!("PSN_{hash:016x}")
}

/// The release notice: the owner ended a session another server asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Released {
    #[serde(rename = "Released")]
    released: bool,
}

/// Publishes the release notice of `key`; best effort.
pub(crate) async fn publish_release(bus: &MessageBus, store: &str, key: &str, mock: bool) {
    let data = serde_json::to_value(Released { released: true }).expect("a notice serializes");
    let _ = bus.publish(&release_topic(store, key, mock), &data).await;
}

/// Release notices of one key, as a waiting start sees them.
pub(crate) struct ReleaseNotices {
    sub: Option<Subscription>,
    clock: Clock,
}

impl ReleaseNotices {
    /// Listens for notices of `key` when `enabled` (the engine's
    /// `release_notice`); otherwise (or when the bus refuses) waits only
    /// sleep.
    pub(crate) fn listen(
        bus: &MessageBus,
        store: &str,
        key: &str,
        mock: bool,
        enabled: bool,
        clock: &Clock,
    ) -> Self {
        let sub = enabled
            .then(|| bus.subscribe(&release_topic(store, key, mock)).ok())
            .flatten();
        ReleaseNotices {
            sub,
            clock: clock.clone(),
        }
    }

    /// Waits `wait`, or less if a release notice arrives first.
    pub(crate) async fn wait(&mut self, wait: Duration) {
        // On the engine's clock: an advance past the deadline ends it.
        let deadline = self.clock.instant() + wait;
        let Some(sub) = self.sub.as_mut() else {
            self.clock.sleep_until(deadline).await;
            return;
        };
        loop {
            tokio::select! {
                () = self.clock.sleep_until(deadline) => return,
                message = sub.recv() => {
                    let notice = message.map(|m| Released::deserialize(&m.data).is_ok_and(|r| r.released));
                    // Only notices are published there; a closed bus (`None`)
                    // ends the wait as before.
                    if notice != Some(false) {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_have_the_luau_modules_bytes() {
        let save = serde_json::to_string(&serde_json::to_value(Request::save(7)).unwrap());
        assert_eq!(save.unwrap(), r#"{"LoadCount":7}"#);
        let end = serde_json::to_string(&serde_json::to_value(Request::end_session(7)).unwrap());
        assert_eq!(end.unwrap(), r#"{"LoadCount":7,"EndSession":true}"#);
        let notice = serde_json::to_value(Released { released: true }).unwrap();
        assert_eq!(notice, json!({"Released": true}));
        assert_eq!(session_topic("AB-C"), "PS_AB-C");
    }

    #[test]
    fn requests_are_read_as_leniently_as_the_module_reads_them() {
        let read = |v: Value| Request::read(&v);
        assert_eq!(read(json!({"LoadCount": 3})), Some(Request::save(3)));
        assert_eq!(
            read(json!({"LoadCount": 3, "EndSession": true, "Extra": 1})),
            Some(Request::end_session(3))
        );
        assert_eq!(
            read(json!({"LoadCount": 3, "EndSession": 1})),
            Some(Request::save(3))
        );
        assert_eq!(read(json!({"LoadCount": 3.5})), None);
        assert_eq!(read(json!({"LoadCount": -1})), None);
        assert_eq!(read(json!({"LoadCount": "3"})), None);
        assert_eq!(read(json!([3, true])), None);
        assert_eq!(read(json!("hello")), None);
    }
}
