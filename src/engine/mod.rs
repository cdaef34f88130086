//! The ProfileStore engine: session-locked, auto-saved profiles on the
//! DataStore layer.
//!
//! Owns: `shared/spec/profilestore.md`. In place: the stored document
//! ([`document`]), the session algorithms as pure transforms ([`session`]),
//! the engine of one game server with its stores and the session-start loop
//! ([`store`]: force-load requests, steal, assume-dead, backoff, release
//! notices; the messages between servers are spelled once in `notice`), and active profiles with saves, ends and events ([`profile`]).
//! Also messages, auto-save (`autosave`), read-only access and version
//! queries ([`readonly`]), and engine events with the critical state
//! ([`events`]). Invariants: every write of a profile goes through one
//! DataStore `update` running a [`session`] transform; the engine reads
//! time only from the injected clock and tokio's timer.

mod autosave;
pub mod config;
pub mod document;
pub mod events;
mod notice;
pub mod profile;
pub mod readonly;
pub mod session;
pub mod store;

pub use config::{EngineConfig, EngineError};
pub use events::EngineEvent;
pub use profile::{EndReason, Processed, Profile};
pub use readonly::{ReadOnlyProfile, VersionQuery};
pub use store::{DataStoreState, Engine, ProfileStore, StartOptions};
