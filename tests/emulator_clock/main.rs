//! The clock control (`/emulator/v1/clock`, `clock:advance`) over real
//! sockets and real time: after an advance everything time-based follows
//! at once (`follows.rs`: entry times, the 30-day version expiry,
//! messaging retention, memory-store expirations and queue waits, session
//! API leases, a hosted engine's assume-dead wait); the control itself,
//! time never moving backward, the control plane's gate, the Rust helpers
//! and `profilestore clock [advance]` (`control.rs`).

mod control;
mod follows;
#[path = "../support/mod.rs"]
mod support;

use profilestore::opencloud::time::parse_time;
use serde_json::Value;
pub(crate) use support::call;

/// A clock answer's `now` in epoch ms.
pub(crate) fn now_ms(clock: &Value) -> i64 {
    parse_time(clock["now"].as_str().expect("now")).expect("RFC 3339")
}
