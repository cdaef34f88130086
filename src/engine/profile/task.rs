//! The task that serves one session, from activation to its final save.
//!
//! Owns: [`activate`] (registering a started session and spawning its
//! task), the task's loop (requests on `PS_<session>`, end requests,
//! shutdown) and the final save with its retries and the release notice.
//! Invariants: one task per session, spawned through the engine state (so
//! shutdown waits for it and a crash stops it before it writes again); an
//! owner answers a request only for its own load count and at most once per
//! `message_response_interval`; a final save is retried with the engine's
//! backoff (capped lower while closing) until it is written or the fence
//! says the session is gone, under the commit note of its reason
//! (`Shutdown`, `HandedOff` for an end another server asked for); the
//! release notice follows only an end another server asked for; an idle
//! task holds only its waits (its saves are boxed, allocated while they
//! run), so a held session costs little memory.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

use super::super::document::{classify, SessionOwner, Stored};
use super::super::notice::{self, Request};
use super::super::state::queue_key;
use super::{Callbacks, EndReason, Profile, ProfileInner, SessionState, Shared, Target};
use crate::bus::Subscription;
use crate::datastore::observe::{self, CommitNote};
use crate::datastore::Entry;
use crate::metrics::SessionEnd;

/// Registers a freshly started session and starts serving it.
pub(crate) fn activate(
    engine: &Arc<Shared>,
    target: Target,
    session: SessionOwner,
    load_count: u64,
    entry: Entry,
) -> Profile {
    let requests = notice::requests(
        engine.bus(),
        session.session_id.as_deref().unwrap_or_default(),
    );
    let doc = match classify(Some(&entry.value)) {
        Stored::Profile(doc) => *doc,
        _ => unreachable!("a started session wrote a profile"),
    };
    let pending: Vec<(u64, Value)> = doc
        .messages
        .entries
        .iter()
        .map(|e| (e.index(), e.payload().clone()))
        .collect();
    let seen_index = doc.messages.last_index;
    let data = Arc::new(doc.data);
    let inner = Arc::new(ProfileInner {
        qkey: queue_key(&target.store, target.mock, &target.key),
        engine: Arc::clone(engine),
        target,
        session,
        load_count,
        activation_seq: engine.next_activation(),
        loaded_at: engine.clock().instant(),
        first_session_time: Value::Number(doc.meta.profile_create_time.clone()),
        state: Mutex::new(SessionState {
            last_saved_data: Arc::clone(&data),
            data,
            roblox_metadata: doc.roblox_metadata,
            user_ids: doc.user_ids,
            key_info: entry.info,
            active: true,
            pending,
            processed: Vec::new(),
            seen_index,
            final_copy: false,
        }),
        callbacks: Mutex::new(Callbacks::default()),
        ending: Default::default(),
        closed: AtomicBool::new(false),
    });
    let profile = Profile { inner };
    engine.register_active(profile.inner.qkey.clone(), profile.clone());
    engine.metrics().session_started();
    engine.spawn_task(serve(profile.clone(), requests));
    profile
}

/// Serves one session until it ends.
async fn serve(profile: Profile, mut requests: Option<Subscription>) {
    let engine = Arc::clone(&profile.inner.engine);
    let mut last_answer: Option<tokio::time::Instant> = None;
    let reason = loop {
        if engine.closing() {
            break Some(EndReason::Shutdown);
        }
        let request = async {
            match requests.as_mut() {
                Some(sub) => sub.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = profile.inner.ending.requested() => break Some(r),
            _ = engine.closed() => break Some(EndReason::Shutdown),
            message = request => {
                let Some(message) = message else { continue };
                let Some(request) = Request::read(&message.data) else { continue };
                let for_us = request.load_count == profile.inner.load_count;
                let now = engine.clock().instant();
                let throttled = last_answer.is_some_and(|t| {
                    now.saturating_duration_since(t) < engine.config().message_response_interval
                });
                if !for_us || throttled {
                    continue;
                }
                last_answer = Some(now);
                if request.end_session {
                    break Some(EndReason::External);
                }
                // Boxed, like the final save: the save's state (about 16 KiB)
                // is allocated while it runs, not held by every idle task.
                let _ = Box::pin(profile.save_inner(false)).await;
                if !profile.is_active() {
                    break None;
                }
            }
        }
    };
    match reason {
        Some(reason) if profile.is_active() => Box::pin(profile.finish(reason)).await,
        _ => {
            if profile.close() {
                engine.metrics().session_ended(SessionEnd::Lost);
            }
        }
    }
}

impl Profile {
    /// Ends the session with a final save, retrying until it is written.
    async fn finish(&self, reason: EndReason) {
        let last: Vec<_> = self.inner.callbacks.lock().last_save.clone();
        for f in &last {
            f(&reason);
        }
        let engine = Arc::clone(&self.inner.engine);
        let target = &self.inner.target;
        let config = engine.config();
        let mut backoff = engine.backoff(config.max_backoff, &target.store, &target.key);
        // What the lock history cannot read from the document: why.
        let note = match reason {
            EndReason::Shutdown => Some(CommitNote::Shutdown),
            EndReason::External => Some(CommitNote::HandedOff),
            EndReason::Manual => None,
        };
        while self.is_active() {
            let save = self.save_inner(true);
            let saved = match note {
                Some(note) => observe::with_note(note, save).await,
                None => save.await,
            };
            match saved {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(key = %target.key, error = %e, "final save failed; retrying");
                    backoff.set_max(if engine.closing() {
                        config.max_backoff_closing
                    } else {
                        config.max_backoff
                    });
                    engine.clock().sleep(backoff.fail()).await;
                }
            }
        }
        if self.close() {
            engine.metrics().session_ended(match reason {
                EndReason::Manual => SessionEnd::Released,
                EndReason::External => SessionEnd::HandedOff,
                EndReason::Shutdown => SessionEnd::Shutdown,
            });
        }
        if reason == EndReason::External && config.release_notice {
            notice::publish_release(engine.bus(), &target.store, &target.key, target.mock).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[tokio::test(start_paused = true)]
    async fn ended_sessions_leave_no_task_handles_behind() {
        use crate::engine::{Engine, EngineConfig, StartOptions};

        let (datastores, bus) = crate::engine::memory_services();
        let engine = Engine::new(datastores, bus, 1, 1, "job", EngineConfig::default());
        let store = engine.store("Players", json!({})).unwrap();
        for round in 0..50 {
            let profile = store
                .start_session(&format!("Player_{}", round % 3), StartOptions::default())
                .await
                .unwrap()
                .unwrap();
            profile.end_session().await;
            tokio::task::yield_now().await;
        }
        // One profile task at most plus the housekeeping task: 50 finished
        // sessions would otherwise hold 50 task allocations until shutdown.
        assert!(engine.state().tracked() <= 2);
        engine.shutdown().await;
        assert_eq!(engine.state().tracked(), 0);
    }
}
