//! Auto-save and housekeeping of one engine.
//!
//! Owns: the background task that saves every active profile once per
//! `AUTO_SAVE_PERIOD`, spread evenly (one save every period / N, in
//! activation order, skipping profiles loaded less than half a period ago),
//! and that re-evaluates the critical state. Picking the next profile is
//! one ordered-map lookup (`EngineState::next_in_activation_order`), so a
//! save costs the same with 10 or 100 000 sessions held. Invariants: one such task per
//! engine, started lazily from async code by the first session start and
//! spawned through the engine state (shutdown waits for it, a crash stops
//! it); it stops when the engine closes; a failed auto-save is not retried
//! (the next round saves again).

use std::sync::Arc;
use std::time::Duration;

use super::profile::{Profile, Shared};

/// Starts the housekeeping task if it is not running yet.
pub(crate) fn ensure_running(engine: &Arc<Shared>) {
    if engine.claim_housekeeping() {
        engine.spawn_task(run(Arc::clone(engine)));
    }
}

async fn run(engine: Arc<Shared>) {
    // The activation number to save from next (round robin).
    let mut next = 0u64;
    // The engine's clock: an advance of a server's clock fires saves too.
    let clock = engine.clock().clone();
    let mut last_save = clock.instant();
    loop {
        // Re-planned whenever profiles come or go, like the Luau module's
        // per-frame check: one save every period / N since the last one.
        let changed = engine.profiles_changed();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let count = engine.active_count().max(1);
        let period = engine.config().auto_save_period;
        let due = last_save + period / u32::try_from(count).unwrap_or(u32::MAX);
        let wake = if engine.is_critical() {
            due.min(clock.instant() + Duration::from_secs(1))
        } else {
            due
        };
        tokio::select! {
            () = clock.sleep_until(wake) => {}
            _ = &mut changed => continue,
            _ = engine.closed() => return,
        }
        engine.poll_critical();
        if clock.instant() < due {
            continue;
        }
        last_save = clock.instant();
        let ready = |p: &Profile| p.loaded_for() >= period / 2;
        if let Some((seq, profile)) = engine.next_in_activation_order(next, ready) {
            next = seq.wrapping_add(1);
            let _ = profile.auto_save().await;
        }
    }
}
