//! profilestore: Roblox's ProfileStore, DataStore and MessagingService,
//! emulated in one self-contained library and binary.
//!
//! Owns: nothing itself; it declares the modules. See `ARCHITECTURE.md` for
//! the codemap and the dependency rule (plugins never depend on this crate).

pub mod backoff;
pub mod budgets;
pub mod bus;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod datastore;
pub mod engine;
pub mod faults;
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod fuzzing;
pub mod history;
pub mod http;
pub mod memorystore;
pub mod metrics;
pub mod opencloud;
pub mod ordered;
pub mod remote;
pub mod serve;
pub mod sessions;
pub mod snapshots;
pub mod storage;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod transfer;

pub use clock::Clock;
pub use profilestore_plugin_api as plugin_api;

/// The README's Rust examples, compiled and run as doctests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
