//! The bridge between a local [`MessageBus`] and the topics of a remote
//! profilestore server.
//!
//! Owns: publishing over `POST /messaging-service/v1/...` and one long-poll
//! task per subscribed topic. Invariants: a topic has at most one poller,
//! which ends once its topic has no local subscription; a poller resumes
//! from the last cursor it was given after any failure (with a capped
//! backoff), so a dropped connection loses no retained message; its first
//! poll asks for messages published since the subscription was made, so a
//! message published right after `subscribe` returned is not missed.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::Value;

use super::hub::Hub;
use super::{BusError, BusMessage};
use crate::backoff::Backoff;
use crate::opencloud::messaging::{Poll, PublishV1};
use crate::remote::{enc, status_error, RemoteClient};

/// How long one long-poll may wait on the server.
const POLL_WAIT_SECS: u64 = 20;
/// First and longest pause between attempts after failures.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The remote side of a bus.
#[derive(Clone, Debug)]
pub(super) struct Link {
    client: RemoteClient,
    pollers: Arc<Mutex<HashSet<String>>>,
}

fn topic_path(topic: &str) -> String {
    // Topics are shared by every universe of a server (see
    // `http::messaging::bus_topic`), so the universe in the path is moot.
    format!(
        "/messaging-service/v1/universes/1/topics/{}",
        enc_path(topic)
    )
}

fn enc_path(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Link {
    pub(super) fn new(client: RemoteClient) -> Self {
        Link {
            client,
            pollers: Arc::default(),
        }
    }

    /// Publishes on the server (limits were checked by the caller).
    pub(super) async fn publish(&self, topic: &str, data: &Value) -> Result<(), BusError> {
        let body = serde_json::to_vec(&PublishV1 {
            message: data.clone(),
        })
        .map(Bytes::from)
        .map_err(|e| BusError::Remote(self.client.protocol(e.to_string())))?;
        let answer = self
            .client
            .send(Method::POST, &topic_path(topic), &[], body, Duration::ZERO)
            .await
            .map_err(BusError::Remote)?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(BusError::Remote(status_error(&answer)))
        }
    }

    /// Starts the poller of `topic` unless it runs already.
    pub(super) fn ensure_poller(&self, hub: &Arc<Hub>, topic: &str) {
        if !self.pollers.lock().insert(topic.to_owned()) {
            return;
        }
        let poller = Poller {
            client: self.client.clone(),
            hub: Arc::downgrade(hub),
            pollers: Arc::clone(&self.pollers),
            topic: topic.to_owned(),
            since_ms: hub.clock().now_ms(),
        };
        tokio::spawn(poller.run());
    }
}

struct Poller {
    client: RemoteClient,
    /// Weak, so a poller never keeps a dropped bus alive.
    hub: Weak<Hub>,
    pollers: Arc<Mutex<HashSet<String>>>,
    topic: String,
    since_ms: i64,
}

impl Poller {
    /// The hub, while someone still listens to the topic; otherwise the
    /// poller deregisters (under the same lock `ensure_poller` takes, so a
    /// new subscription either sees it running or starts a new one).
    fn listening_hub(&self) -> Option<Arc<Hub>> {
        let mut pollers = self.pollers.lock();
        match self.hub.upgrade() {
            Some(hub) if hub.subscriber_count(&self.topic) > 0 => Some(hub),
            _ => {
                pollers.remove(&self.topic);
                None
            }
        }
    }

    async fn run(self) {
        let mut cursor: Option<String> = None;
        let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF).with_jitter(0.5);
        while self.listening_hub().is_some() {
            let position = match &cursor {
                Some(c) => format!("cursor={}", enc(c)),
                None => format!("since={}", self.since_ms),
            };
            let path = format!(
                "{}/messages?{position}&timeout={POLL_WAIT_SECS}",
                topic_path(&self.topic)
            );
            let result = self
                .client
                .send(
                    Method::GET,
                    &path,
                    &[],
                    Bytes::new(),
                    Duration::from_secs(POLL_WAIT_SECS),
                )
                .await;
            let failure = match result {
                Ok(answer) if answer.status == StatusCode::OK => {
                    match serde_json::from_slice::<Poll<BusMessage>>(&answer.body) {
                        Ok(poll) => {
                            cursor = Some(poll.cursor);
                            if let Some(hub) = self.hub.upgrade() {
                                for m in &poll.messages {
                                    hub.deliver_local(&self.topic, m);
                                }
                            }
                            backoff.reset();
                            None
                        }
                        Err(e) => Some(self.client.protocol(format!("a poll answer: {e}"))),
                    }
                }
                Ok(answer) => Some(status_error(&answer)),
                Err(e) => Some(e),
            };
            if let Some(e) = failure {
                tracing::warn!(topic = %self.topic, error = %e, "message poll failed; retrying");
                tokio::time::sleep(backoff.fail()).await;
            }
        }
    }
}
