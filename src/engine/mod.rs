//! The ProfileStore engine: session-locked, auto-saved profiles on the
//! DataStore layer.
//!
//! Owns: `shared/spec/profilestore.md`. In place: the stored document
//! ([`document`]), the session algorithms as pure transforms ([`session`]),
//! the engine of one game server with its stores and the session-start loop
//! ([`store`]: force-load requests, steal, assume-dead, backoff, release
//! notices), and active profiles with saves, ends and events ([`profile`]).
//! Not yet: auto-save, messages, read-only access, version queries,
//! critical state. Invariants: every write of a profile goes through one
//! DataStore `update` running a [`session`] transform; the engine reads
//! time only from the injected clock and tokio's timer.

pub mod config;
pub mod document;
pub mod profile;
pub mod session;
pub mod store;

pub use config::{EngineConfig, EngineError};
pub use profile::{EndReason, Processed, Profile};
pub use store::{Engine, ProfileStore, StartOptions};
