//! Fault injection: storage that fails on demand ([`FaultyPlugin`], for
//! the engine's own tests) and the server's fault plan ([`FaultPlan`],
//! what `/emulator/v1/faults` drives).
//!
//! Owns: both mechanisms and the error a faulted call returns
//! ([`Injected`]). Invariants: with nothing armed both behave exactly like
//! no fault injection at all; the layers above turn [`Injected`] into
//! their own error type (a variant each), never the other way round.

mod ops;
mod plan;
mod plugin;

pub use ops::{Family, Operation};
pub use plan::{Effect, FaultPlan, FaultSpecError, Injected, InjectedKind, Target, MAX_LATENCY_MS};
pub use plugin::FaultyPlugin;
