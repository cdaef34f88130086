//! The wake-up hint of the message log: `LISTEN ps_log` on a connection of
//! its own, in a background thread started by the first `log_wait`.
//!
//! Owns: [`Listener`]. Invariants:
//! - it is only a hint: a lost or late notification makes a waiter wait
//!   until its timeout, never miss a message (readers read the log);
//! - `log_wait` returns `false` at once while the listening connection is
//!   down (the caller then polls), and waits at most its timeout otherwise;
//!   while the connection is coming up (or back) a call first waits for it
//!   (at most its timeout and [`STARTUP`]);
//! - a notification counted after a waiter took its starting count wakes
//!   it, so one sent between the waiter's check of the log head and its
//!   wait is not lost;
//! - the thread ends within [`POLL`] of the plugin being dropped, and
//!   reconnects (after [`RECONNECT`]) when its connection is lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;

use crate::pool::{Manager, Pool};

/// How often the listening thread checks whether it should stop.
const POLL: Duration = Duration::from_millis(250);
/// Pause before reconnecting a lost listening connection.
const RECONNECT: Duration = Duration::from_secs(1);
/// How long the first `log_wait` waits for the listening connection.
const STARTUP: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
struct State {
    /// Notifications received so far.
    count: u64,
    /// Whether `LISTEN` is in force on a live connection.
    listening: bool,
    /// Whether the thread was started.
    started: bool,
    /// `LISTEN` was refused (CockroachDB): there will be no hint.
    refused: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    stop: AtomicBool,
    /// Set when a `NOTIFY` failed as unsupported (CockroachDB): stop
    /// sending them.
    no_notify: AtomicBool,
}

/// The log's wake-up hint of one plugin.
#[derive(Debug, Default)]
pub(crate) struct Listener {
    shared: Arc<Shared>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

impl Listener {
    /// Best effort, after an append committed: wake every node's waiters.
    pub(crate) fn notify(&self, pool: &Pool) {
        if self.shared.no_notify.load(Ordering::Relaxed) {
            return;
        }
        let sent = pool.read("notify", |db| Ok(db.exec("NOTIFY ps_log", &[])?));
        if let Err(e) = sent {
            if e.to_string().contains("SQLSTATE 0A000") || e.to_string().contains("SQLSTATE 42601")
            {
                self.shared.no_notify.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Waits up to `timeout` for a notification, or returns `false` at once
    /// when no listening connection is up. `has_news` tells whether a
    /// message above the caller's `after` already exists.
    pub(crate) fn wait(
        &self,
        manager: &Manager,
        timeout: Duration,
        has_news: impl FnOnce() -> crate::Result<bool>,
    ) -> crate::Result<bool> {
        let start = {
            let mut state = self.lock();
            if !state.started {
                state.started = true;
                // The caller holds the state lock: `spawn` must not take it.
                if !self.spawn(manager.clone()) {
                    // No thread: no hint; waiters poll.
                    state.refused = true;
                }
            }
            // While the listening connection comes up (or back), wait for
            // it a moment (bounded by the timeout and STARTUP), so a bus
            // sees the hint from the start instead of polling.
            state = self.wait_while(state, timeout.min(STARTUP), |s| !s.listening && !s.refused);
            if !state.listening {
                return Ok(false);
            }
            state.count
        };
        if has_news()? {
            return Ok(true);
        }
        let state = self.lock();
        drop(self.wait_while(state, timeout, |s| s.count == start && s.listening));
        Ok(true)
    }

    /// Waits on the condition variable while `keep` holds, for at most
    /// `timeout`; returns the guard.
    fn wait_while<'a>(
        &self,
        mut state: std::sync::MutexGuard<'a, State>,
        timeout: Duration,
        keep: impl Fn(&State) -> bool,
    ) -> std::sync::MutexGuard<'a, State> {
        let deadline = Instant::now() + timeout;
        while keep(&state) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .shared
                .wake
                .wait_timeout(state, left)
                .map(|(s, _)| s)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        state
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the listening thread; `false` when no thread could be made.
    fn spawn(&self, manager: Manager) -> bool {
        let shared = Arc::clone(&self.shared);
        std::thread::Builder::new()
            .name("profilestore-pg-listen".to_owned())
            .spawn(move || listen(&shared, &manager))
            .is_ok()
    }
}

fn set_listening(shared: &Shared, listening: bool) {
    let mut state = shared
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    state.listening = listening;
    shared.wake.notify_all();
}

fn listen(shared: &Shared, manager: &Manager) {
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok(mut client) = manager.client() else {
            std::thread::sleep(RECONNECT);
            continue;
        };
        if client.batch_execute("LISTEN ps_log").is_err() {
            // No LISTEN on this database (CockroachDB): no hint, ever.
            let mut state = shared
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.refused = true;
            shared.wake.notify_all();
            return;
        }
        set_listening(shared, true);
        while !shared.stop.load(Ordering::SeqCst) && !client.is_closed() {
            let mut notifications = client.notifications();
            let mut iter = notifications.timeout_iter(POLL);
            while let Ok(Some(_)) = iter.next() {
                let mut state = shared
                    .state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                state.count += 1;
                shared.wake.notify_all();
            }
        }
        set_listening(shared, false);
    }
}
