//! A game server's event log, read by cursor (long-poll and SSE).
//!
//! Owns: [`EventLog`]. Invariants: events are numbered from 1 in push
//! order and each carries its number as `id`; at most `capacity` are kept
//! (the oldest go first), so a reader that falls that far behind resumes at
//! the oldest kept one; pushing never waits; no lock is held across an
//! `.await`.

use std::collections::VecDeque;
use std::time::Duration;

use parking_lot::Mutex;

use serde_json::Value;
use tokio::sync::Notify;

/// A bounded, numbered event log.
#[derive(Debug)]
pub struct EventLog {
    state: Mutex<(u64, VecDeque<(u64, Value)>)>,
    arrivals: Notify,
    capacity: usize,
}

impl EventLog {
    /// An empty log keeping at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        EventLog {
            state: Mutex::new((0, VecDeque::new())),
            arrivals: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    /// Appends `event` (an object gets its `id`).
    pub fn push(&self, mut event: Value) {
        let mut state = self.state.lock();
        state.0 += 1;
        let id = state.0;
        if let Some(map) = event.as_object_mut() {
            map.insert("id".into(), Value::from(id));
        }
        state.1.push_back((id, event));
        while state.1.len() > self.capacity {
            state.1.pop_front();
        }
        drop(state);
        self.arrivals.notify_waiters();
    }

    /// Events after `cursor` (from the current end when `None`), at most
    /// `max`, and the cursor to continue from.
    pub fn read_since(&self, cursor: Option<u64>, max: usize) -> (Vec<Value>, u64) {
        let state = self.state.lock();
        let Some(after) = cursor else {
            return (Vec::new(), state.0);
        };
        let events: Vec<(u64, Value)> = state
            .1
            .iter()
            .filter(|(id, _)| *id > after)
            .take(max)
            .cloned()
            .collect();
        let next = events.last().map_or(after.min(state.0), |(id, _)| *id);
        (events.into_iter().map(|(_, e)| e).collect(), next)
    }

    /// Like [`read_since`](Self::read_since), waiting up to `timeout` for
    /// at least one event.
    pub async fn wait_since(
        &self,
        cursor: Option<u64>,
        max: usize,
        timeout: Duration,
    ) -> (Vec<Value>, u64) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut cursor = cursor;
        loop {
            let notified = self.arrivals.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (events, next) = self.read_since(cursor, max);
            if !events.is_empty() {
                return (events, next);
            }
            cursor = Some(next);
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.read_since(cursor, max);
            }
        }
    }
}
