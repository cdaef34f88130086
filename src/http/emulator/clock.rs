//! The emulator's clock control over HTTP: `GET /clock` (the server's now
//! and offset) and `POST /clock:advance` (`{"seconds": <number > 0>}`).
//!
//! Owns: reading and moving the server's one adjustable clock
//! (`AppState::clock`). Invariants: behind the gate ([`super::allowed`]);
//! time never moves backward (a zero, negative, missing or non-numeric
//! `seconds` is a 400 and moves nothing); everything time-based follows an
//! advance at once (sleepers on the clock wake, see `crate::clock`), and
//! in a cluster the move goes through the shared offset, so every node
//! follows (`crate::cluster`), and a clock read applies a newer one first;
//! before the answer the game servers silent past their lease are dropped
//! and expired versions purged (so the 30-day expiry follows too); the
//! answer is the clock after the move.

use std::time::Duration;

use hyper::{Method, StatusCode};

use super::super::error::ApiError;
use super::super::request;
use super::super::router::{handler, Call, Reply, Route, Table};
use super::super::AppState;
use crate::clock::{Clock, MAX_OFFSET};
use crate::opencloud::codes::DetailCode as D;
use crate::opencloud::emulator::{AdvanceClock, ClockState};

/// Adds this control's routes.
pub(super) fn routes(table: Table) -> Table {
    table
        .route("/clock", Route::new().on(Method::GET, handler(show)))
        .route(
            "/clock:advance",
            Route::new().on(Method::POST, handler(advance)),
        )
}

fn state(clock: &Clock) -> ClockState {
    ClockState::new(clock.now_ms(), clock.offset())
}

async fn show(c: Call) -> Reply {
    super::allowed(&c)?;
    Ok(request::json(StatusCode::OK, &now(&c.state).await?))
}

/// The server's clock (in a cluster, after applying a newer shared offset).
pub(in crate::http) async fn now(state: &AppState) -> Result<ClockState, ApiError> {
    if let Some(cluster) = &state.cluster {
        cluster.sync_clock().await?;
    }
    Ok(self::state(&state.clock))
}

async fn advance(mut c: Call) -> Reply {
    super::allowed(&c)?;
    let by = seconds(&c.body().await?)?;
    Ok(request::json(
        StatusCode::OK,
        &advance_by(&c.state, by).await?,
    ))
}

/// Moves the clock `by` (every node's in a cluster), then drops the game
/// servers silent past their lease and purges expired versions; the
/// clock after the move. The caller has passed the gate.
pub(in crate::http) async fn advance_by(
    state: &AppState,
    by: Duration,
) -> Result<ClockState, ApiError> {
    let clock = &state.clock;
    match &state.cluster {
        // Every node's clock: through the shared offset.
        Some(cluster) => {
            cluster.advance_clock(by).await?;
        }
        None => {
            clock
                .advance(by)
                .map_err(|e| ApiError::bad_request(D::Unknown, e.to_string()))?;
        }
    }
    // Leases and versions that ran out go now, before the answer: not at
    // the reaper's next tick or the next hourly purge.
    let dropped = state.sessions.expire();
    if dropped > 0 {
        tracing::info!(
            dropped,
            "game servers silent past their lease after a clock advance"
        );
    }
    match state.datastores.purge_expired().await {
        Ok(stats) => tracing::info!(
            versions = stats.versions,
            entries = stats.entries,
            "purged expired versions after a clock advance"
        ),
        Err(e) => tracing::warn!(error = %e, "purge after a clock advance failed"),
    }
    Ok(self::state(clock))
}

/// The move a body asks for: `seconds`, a finite number > 0.
fn seconds(body: &[u8]) -> Result<Duration, ApiError> {
    let bad = |why: String| {
        ApiError::bad_request(
            D::Unknown,
            format!("the body must be {{\"seconds\": <number > 0>}}: {why}"),
        )
    };
    let AdvanceClock { seconds } = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    checked_seconds(seconds).map_err(bad)
}

/// A move of `seconds`: finite, > 0, at most the clock's whole offset
/// (else why not).
pub(in crate::http) fn checked_seconds(seconds: f64) -> Result<Duration, String> {
    let bad = |why: String| why;
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(bad(format!(
            "`seconds` is {seconds}, and time never moves backward (nor stands still)"
        )));
    }
    if seconds > MAX_OFFSET.as_secs_f64() {
        return Err(bad(format!(
            "`seconds` is {seconds}; the clock moves at most {} s ahead in all",
            MAX_OFFSET.as_secs()
        )));
    }
    let by = Duration::from_secs_f64(seconds);
    if by.is_zero() {
        return Err(bad(format!(
            "`seconds` is {seconds}, less than a nanosecond"
        )));
    }
    Ok(by)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_must_be_a_positive_number() {
        assert_eq!(
            seconds(br#"{"seconds": 90}"#).expect("ok"),
            Duration::from_secs(90)
        );
        assert_eq!(
            seconds(br#"{"seconds": 0.25}"#).expect("ok"),
            Duration::from_millis(250)
        );
        for body in [
            &br#"{"seconds": 0}"#[..],
            br#"{"seconds": -5}"#,
            br#"{"seconds": "10"}"#,
            br#"{}"#,
            br#"{"secs": 10}"#,
            br#"not json"#,
            b"",
            br#"{"seconds": 1e300}"#,
        ] {
            let e = seconds(body).expect_err("refused");
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.message.contains("seconds"), "{}", e.message);
        }
    }
}
