//! The ProfileStore engine: session-locked, auto-saved profiles on the
//! DataStore layer.
//!
//! Owns: `shared/spec/profilestore.md`. In place, bottom to top:
//! - [`config`], [`document`] (the stored document), [`session`] (the
//!   session algorithms as pure transforms), [`events`] (engine events and
//!   the critical state): leaves;
//! - `access`: the DataStore access probe (`DataStoreState`);
//! - `notice`: the messages between servers (requests on `PS_<session>`,
//!   the release notice), spelled once, with the Luau module's bytes;
//! - `state`: the shared state of one engine behind methods (queue,
//!   registry of active sessions, events, and the lifecycle:
//!   a cancellation token for closing, one for a crash, a task tracker);
//! - [`profile`]: active profiles with saves, ends and events, the task
//!   serving each session and its message queue;
//! - `autosave`: auto-save spread over the period;
//! - [`store`]: [`Engine`] and [`ProfileStore`], `MessageAsync`;
//! - `start`: the session-start loop (force-load requests, steal,
//!   assume-dead, backoff, release notices);
//! - [`readonly`]: read-only access and version queries.
//!
//! Invariants: a module uses only modules below it (no cycle); every write
//! of a profile goes through one DataStore `update` running a [`session`]
//! transform; every retry loop waits with `crate::backoff::Backoff` (1 s
//! doubling to `max_backoff`, 20 % seeded jitter, see `state`); the
//! engine reads time only from the injected clock and tokio's timer; no
//! lock is held across an `.await`.

mod access;
mod autosave;
pub mod config;
pub mod document;
pub mod events;
mod notice;
pub mod profile;
pub mod readonly;
pub mod session;
mod start;
mod state;
pub mod store;

pub use config::{EngineConfig, EngineError};
pub use events::EngineEvent;
pub use profile::{EndReason, Processed, Profile};
pub use readonly::{ReadOnlyProfile, VersionQuery};
pub use store::{DataStoreState, Engine, ProfileStore, StartOptions};

/// A DataStore service on the memory plugin and a bus, both on a paused
/// tokio clock: the world of the engine's unit tests.
#[cfg(test)]
fn memory_services() -> (crate::datastore::DataStoreService, crate::bus::MessageBus) {
    let clock = crate::clock::Clock::tokio(1_700_000_000_000);
    let datastores = crate::datastore::DataStoreService::new(
        std::sync::Arc::new(profilestore_memory::MemoryPlugin::new()),
        clock.clone(),
        crate::datastore::DataStoreConfig::default(),
    );
    let bus = crate::bus::MessageBus::new(clock, crate::bus::BusConfig::default());
    (datastores, bus)
}
