//! Starting a session: `StartSessionAsync`'s loop.
//!
//! Owns: [`ProfileStore::start_session`]: the attempts (each one DataStore
//! `update` running [`session::start`]), the force-load requests to the
//! owner, the waits between repeats (cut short by a release notice), steal
//! and assume-dead (decided by the transform), the backoff after DataStore
//! errors, the start timeout and cancellation. Invariants: a start counts as
//! in flight from its first poll (shutdown waits for it) and a closing
//! engine starts nothing; of concurrent starts of one key on this server
//! only the last caller gets the profile; whether to hold back is decided
//! after waiting for the key's turn (a server that began closing or crashed
//! meanwhile never takes the profile); every wait uses tokio's clock. The
//! server's metrics count steals and assume-dead takeovers, and time a
//! handoff from the first attempt that found another server's lock.

use super::autosave;
use super::config::EngineError;
use super::document::{classify, Stored};
use super::events::EngineEvent;
use super::notice::{ReleaseNotices, Request};
use super::profile::{self, Profile};
use super::session::{self, StartAttempt, StartOutcome};
use super::store::{ProfileStore, StartOptions};
use crate::datastore::{Transform, WriteOptions};
use crate::metrics::Takeover;

/// How a start attempt that takes the profile takes it: from another
/// server's lock, live (a steal) or older than `ASSUME_DEAD` (the rule of
/// `session::start`); `None` when the profile was free or this server's.
fn takeover(stored: &Stored, a: &StartAttempt<'_>) -> Option<Takeover> {
    let Stored::Profile(doc) = stored else {
        return None;
    };
    let owner = doc.meta.active_session.as_ref()?;
    if owner.same_server(a.me) {
        return None;
    }
    let last_update = doc.meta.last_update.as_f64().unwrap_or(0.0);
    Some(if a.now_secs as f64 - last_update > a.assume_dead_secs {
        Takeover::AssumeDead
    } else {
        Takeover::Steal
    })
}

impl ProfileStore {
    /// `StartSessionAsync`: the profile, or `None` when another server keeps
    /// it, a later concurrent start on this server won, the start was
    /// cancelled or timed out, or the server is closing.
    pub async fn start_session(
        &self,
        key: &str,
        options: StartOptions,
    ) -> Result<Option<Profile>, EngineError> {
        let inner = self.state();
        let _in_flight = inner.start_in_flight();
        if inner.closing() {
            return Ok(None);
        }
        let this = self.data().await;
        this.start_in(key, options).await
    }

    async fn start_in(
        &self,
        key: &str,
        options: StartOptions,
    ) -> Result<Option<Profile>, EngineError> {
        let inner = self.state();
        let config = inner.config();
        crate::datastore::validate::key(key)
            .map_err(|e| EngineError::InvalidName(e.to_string()))?;
        let qkey = self.queue_key(key);
        if inner.is_active(&qkey) {
            return Err(EngineError::AlreadyActive {
                store: self.name().to_owned(),
                key: key.to_owned(),
            });
        }
        let generation = inner.begin_start(&qkey);
        // Let concurrent starts of the same key register: the last one wins.
        tokio::task::yield_now().await;
        let mut notices = ReleaseNotices::listen(
            inner.bus(),
            self.name(),
            key,
            self.is_mock(),
            config.release_notice,
            inner.clock(),
        );
        let me = inner.server(Some(uuid::Uuid::new_v4().to_string().to_uppercase()));
        let started = inner.clock().instant();
        let mut repeats = 0u32;
        let mut backoff = inner.backoff(config.max_backoff, self.name(), key);
        // When an attempt first found another server's lock (for metrics).
        let mut locked_since = None;
        loop {
            let superseded = !inner.is_latest_start(&qkey, generation);
            if superseded || options.cancel.as_ref().is_some_and(|c| c()) {
                return Ok(None);
            }
            let result = {
                let _turn = inner.queue(&qkey).await;
                if !inner.is_latest_start(&qkey, generation) {
                    return Ok(None);
                }
                // Decided after the wait for the turn: a server that began
                // closing (or crashed) meanwhile must not take the profile.
                let attempt = StartAttempt {
                    me: &me,
                    template: self.template(),
                    now_secs: inner.clock().now_secs(),
                    steal: options.steal,
                    first_attempt: repeats == 0,
                    // The first attempt is not a repeat: with the defaults the
                    // repeats run at 5, 15, 25 and 35 s and the steal at 45 s.
                    steal_ready: repeats > config.steal_after_repeats(),
                    assume_dead_secs: config.assume_dead.as_secs_f64(),
                    hold_back: inner.closing(),
                };
                let mut outcome = None;
                let mut taken = None;
                let written = self
                    .ds()
                    .update(key, |current, _| {
                        if inner.crashed() {
                            return Transform::Cancel;
                        }
                        let stored = classify(current);
                        taken = takeover(&stored, &attempt);
                        let (doc, o) = session::start(stored, &attempt);
                        outcome = Some(o);
                        Transform::Write {
                            options: WriteOptions {
                                user_ids: doc.user_ids.clone(),
                                metadata: doc.roblox_metadata.clone(),
                            },
                            value: doc.to_value(),
                        }
                    })
                    .await;
                written.map(|entry| (entry, outcome, taken))
            };
            if inner.crashed() {
                return Ok(None);
            }
            match result {
                Ok((
                    Some(entry),
                    Some(StartOutcome::Active {
                        load_count,
                        overwritten,
                    }),
                    taken,
                )) => {
                    let metrics = inner.metrics();
                    if let Some(how) = taken {
                        metrics.session_taken(how);
                    }
                    if let Some(since) = locked_since.or(taken.map(|_| inner.clock().instant())) {
                        metrics.handoff(inner.clock().instant().saturating_duration_since(since));
                    }
                    if overwritten {
                        inner.emit(EngineEvent::Overwrite {
                            store: self.name().to_owned(),
                            key: key.to_owned(),
                        });
                    }
                    let profile = profile::activate(inner, self.target(key), me, load_count, entry);
                    autosave::ensure_running(inner);
                    return Ok(Some(profile));
                }
                Ok((_, Some(StartOutcome::Waiting { owner, load_count }), _)) => {
                    locked_since.get_or_insert_with(|| inner.clock().instant());
                    if let Some(session_id) = &owner.session_id {
                        Request::end_session(load_count)
                            .send(inner.bus(), session_id)
                            .await;
                    }
                    let wait = if repeats == 0 {
                        config.first_load_repeat
                    } else {
                        config.load_repeat_period
                    };
                    repeats += 1;
                    notices.wait(wait).await;
                }
                Ok(_) => return Ok(None),
                Err(e) => {
                    tracing::warn!(store = %self.name(), key, error = %e, "start session attempt failed");
                    inner.report_error(self.name(), key, e.to_string());
                    let delay = backoff.fail();
                    let timed_out = options.cancel.is_none()
                        && inner.clock().instant().saturating_duration_since(started) + delay
                            > config.start_session_timeout;
                    if timed_out {
                        return Ok(None);
                    }
                    inner.clock().sleep(delay).await;
                }
            }
        }
    }
}
