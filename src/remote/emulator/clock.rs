//! [`Emulator`]'s clock control: the server's time, and moving it ahead.
//!
//! Owns: `GET /emulator/v1/clock` and `POST /emulator/v1/clock:advance`
//! as Rust calls. Invariants: one request per call; the answer is the
//! server's clock after the call.

use std::time::Duration;

use hyper::Method;
use serde_json::json;

use super::Emulator;
use crate::opencloud::emulator::ClockState;
use crate::remote::RemoteError;

impl Emulator {
    /// The server's clock: its now and how far it was moved ahead.
    pub async fn clock(&self) -> Result<ClockState, RemoteError> {
        self.client()
            .json(Method::GET, "/emulator/v1/clock", None)
            .await
    }

    /// Moves the server's clock ahead by `by` (more than zero: time never
    /// moves backward); everything time-based on the server follows at
    /// once (timestamps, version expiry, messaging retention, memory-store
    /// expirations, session API leases, its engines' timers). An engine in
    /// another process (`Engine::remote`) keeps its own clock: move it too
    /// (`engine.clock().advance(by)`) so its own timers and stamps follow.
    pub async fn advance(&self, by: Duration) -> Result<ClockState, RemoteError> {
        let body = json!({"seconds": by.as_secs_f64()});
        self.client()
            .json(Method::POST, "/emulator/v1/clock:advance", Some(&body))
            .await
    }
}
