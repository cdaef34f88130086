//! The HTTP client of a profilestore server in another process.
//!
//! Owns: [`RemoteClient`] (base URL, API key, timeouts), sending one
//! request with a deadline, and [`RemoteError`]. It knows no DataStore or
//! bus semantics: the remote *backends* that use it are
//! `datastore/remote.rs` (DataStore calls as Open Cloud v1 requests) and
//! `bus/remote.rs` (publishes and long-polls). A Rust game server is
//! `Engine::new(DataStoreService::remote(..), MessageBus::remote(..), ..)`:
//! the engine does not know the difference. Invariants: the remote side is
//! the only source of truth (nothing is cached across calls); every failure
//! to reach it is a transient, retryable error.

mod client;
pub mod emulator;
mod history;
mod tls;

pub(crate) use client::{enc, segment, status_error};
pub use client::{Answer, RemoteClient, RemoteError};
pub use emulator::Emulator;
pub use tls::{connector as https_connector, CA_CERT_ENV};
