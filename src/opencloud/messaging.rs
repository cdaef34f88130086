//! MessagingService bodies: Open Cloud publishing (v1 and v2) and
//! profilestore's long-poll answer.
//!
//! Owns: [`PublishV1`], [`PublishV2`], [`Poll`], [`Message`]. Invariants:
//! field names are the wire's; a published `message` is any JSON value
//! (Open Cloud sends a string); cursors are opaque text.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /messaging-service/v1/universes/{u}/topics/{t}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublishV1 {
    /// The payload.
    pub message: Value,
}

/// `POST /cloud/v2/universes/{u}:publishMessage`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublishV2 {
    /// The topic.
    pub topic: String,
    /// The payload.
    pub message: Value,
}

/// One delivered message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The published value.
    pub data: Value,
    /// When it was published, Unix seconds.
    pub sent: i64,
}

/// The long-poll answer of `GET .../topics/{t}/messages`; `M` is anything
/// serializing as a [`Message`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Poll<M = Message> {
    /// Messages after the request's cursor, oldest first.
    pub messages: Vec<M>,
    /// Where the next poll starts.
    pub cursor: String,
}
