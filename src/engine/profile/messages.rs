//! A profile's message queue as its session sees it: handlers, the
//! `processed` token, and new messages found by saves.
//!
//! Owns: [`Processed`] and the message methods of [`Profile`]. Invariants:
//! a message is offered to handlers in registration order until one marks
//! it processed; a processed message leaves `pending` at once and the
//! stored queue with the next save; a message is offered once per session
//! (indexes above `seen_index` are new).

use std::sync::Arc;

use serde_json::Value;

use super::super::document::{classify, Stored};
use super::{Handler, Profile};

/// Handed to a message handler with each message: call
/// [`Processed::processed`] to consume it.
#[derive(Debug)]
pub struct Processed {
    index: u64,
    done: std::sync::atomic::AtomicBool,
}

impl Processed {
    /// Marks the message processed: no later handler sees it, and the next
    /// save removes it from the stored queue.
    pub fn processed(&self) {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// The message's index in the profile's queue.
    pub fn index(&self) -> u64 {
        self.index
    }
}

impl Profile {
    /// `MessageHandler(fn)`: `handler(message, processed)` receives every
    /// pending message no earlier handler processed: first the ones already
    /// known, then new ones as saves find them. Each handler gets its own
    /// copy of the message.
    pub fn message_handler(&self, handler: impl Fn(&Value, &Processed) + Send + Sync + 'static) {
        let handler: Handler = Arc::new(handler);
        self.inner
            .callbacks
            .lock()
            .handlers
            .push(Arc::clone(&handler));
        let known: Vec<(u64, Value)> = self.inner.state.lock().pending.clone();
        for (index, message) in known {
            if self.offer(std::slice::from_ref(&handler), index, &message) {
                self.mark_processed(index);
            }
        }
    }

    /// Offers one message to `handlers` in order; true once one processed it.
    fn offer(&self, handlers: &[Handler], index: u64, message: &Value) -> bool {
        for h in handlers {
            let token = Processed {
                index,
                done: std::sync::atomic::AtomicBool::new(false),
            };
            h(&message.clone(), &token);
            if token.done.load(std::sync::atomic::Ordering::SeqCst) {
                return true;
            }
        }
        false
    }

    /// Marks pending message `index` processed after its handler returned
    /// (a remote game server acknowledging it later); the next save removes
    /// it from the stored queue. False when no such message is pending.
    pub fn mark_message_processed(&self, index: u64) -> bool {
        let pending = self
            .inner
            .state
            .lock()
            .pending
            .iter()
            .any(|(i, _)| *i == index);
        if pending {
            self.mark_processed(index);
        }
        pending
    }

    fn mark_processed(&self, index: u64) {
        let mut s = self.inner.state.lock();
        s.pending.retain(|(i, _)| *i != index);
        if !s.processed.contains(&index) {
            s.processed.push(index);
        }
    }

    /// Takes in the message queue a save read back and offers new messages.
    pub(super) fn discover(&self, stored: &Value) {
        let Stored::Profile(doc) = classify(Some(stored)) else {
            return;
        };
        let fresh: Vec<(u64, Value)> = {
            let mut s = self.inner.state.lock();
            let seen = s.seen_index;
            let fresh: Vec<(u64, Value)> = doc
                .messages
                .entries
                .iter()
                .filter(|e| e.index() > seen)
                .map(|e| (e.index(), e.payload().clone()))
                .collect();
            s.seen_index = s.seen_index.max(doc.messages.last_index);
            s.pending.extend(fresh.iter().cloned());
            fresh
        };
        let handlers: Vec<Handler> = self.inner.callbacks.lock().handlers.clone();
        for (index, message) in fresh {
            if self.offer(&handlers, index, &message) {
                self.mark_processed(index);
            }
        }
    }
}
