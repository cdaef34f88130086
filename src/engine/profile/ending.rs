//! The end of one session as its task and its callers see it: the first
//! end request, and whether the session has ended.
//!
//! Owns: [`Ending`], one small slot per session in place of an unbounded
//! channel of end requests and a watch channel of "ended" (together about
//! 900 bytes per session, measured in `benches/sessions_scale.rs`).
//! Invariants: the task acts on the first request (it ends the session on
//! it, so later ones are moot and not kept); a request made after the
//! session ended is still recorded (the task may not have seen the end
//! yet); "ended" only goes from false to true; a waiter enables its
//! `Notified` before it checks the state, so no wake-up is lost; the lock
//! is held for one field access, never across an `.await`.

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::EndReason;

#[derive(Default)]
struct State {
    request: Option<EndReason>,
    ended: bool,
}

/// The end requests and the end of one session.
#[derive(Default)]
pub(super) struct Ending {
    state: Mutex<State>,
    changed: Notify,
}

impl Ending {
    /// Asks the session's task to end it (the first request wins); false
    /// when the session has ended already.
    pub(super) fn request(&self, reason: EndReason) -> bool {
        let live = {
            let mut s = self.state.lock();
            s.request.get_or_insert(reason);
            !s.ended
        };
        self.changed.notify_waiters();
        live
    }

    /// Marks the session ended and wakes every waiter.
    pub(super) fn set_ended(&self) {
        self.state.lock().ended = true;
        self.changed.notify_waiters();
    }

    /// The first end request, once there is one.
    pub(super) async fn requested(&self) -> EndReason {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(reason) = self.state.lock().request {
                return reason;
            }
            changed.await;
        }
    }

    /// Resolves once the session has ended.
    pub(super) async fn ended(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.state.lock().ended {
                return;
            }
            changed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn the_first_request_wins_and_waiters_wake() {
        let ending = Arc::new(Ending::default());
        let task = tokio::spawn({
            let ending = Arc::clone(&ending);
            async move { ending.requested().await }
        });
        tokio::task::yield_now().await;
        assert!(ending.request(EndReason::External), "the session is live");
        assert!(ending.request(EndReason::Manual));
        assert_eq!(task.await.unwrap(), EndReason::External);
        assert_eq!(ending.requested().await, EndReason::External, "it stays");

        let waiter = tokio::spawn({
            let ending = Arc::clone(&ending);
            async move { ending.ended().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        ending.set_ended();
        waiter.await.unwrap();
        ending.ended().await;
    }

    #[tokio::test]
    async fn a_request_after_the_end_is_kept_but_says_so() {
        let ending = Ending::default();
        ending.set_ended();
        assert!(!ending.request(EndReason::Manual), "ended already");
        assert_eq!(ending.requested().await, EndReason::Manual);
    }
}
