//! Roblox's MemoryStoreService: sorted maps, queues and hash maps.
//!
//! Owns: the memory store API the HTTP server, the CLI and Rust users call
//! ([`MemoryStoreService`]), its limits and errors, expirations on the one
//! clock, and the backend seam: `Local` (the structures in this process's
//! memory, as Roblox keeps them) or `Remote` (a profilestore server over
//! the engine API). Invariants: time comes from the injected [`Clock`];
//! an expired item is never returned; a rejected call changes nothing.

use crate::clock::Clock;
use crate::remote::RemoteClient;

/// Where a memory store service's calls go.
#[derive(Clone, Debug)]
#[allow(dead_code)] // SKELETON: filled in by the memory store work.
enum Backend {
    /// The structures in this process.
    Local,
    /// A profilestore server (engine API).
    Remote(RemoteClient),
}

/// Memory stores of every universe, on one backend.
#[derive(Clone, Debug)]
pub struct MemoryStoreService {
    #[allow(dead_code)] // SKELETON
    backend: Backend,
    #[allow(dead_code)] // SKELETON
    clock: Clock,
}

impl MemoryStoreService {
    /// Memory stores kept in this process, on `clock`.
    pub fn new(clock: Clock) -> Self {
        MemoryStoreService {
            backend: Backend::Local,
            clock,
        }
    }

    /// A service whose calls go to the server behind `client`.
    pub fn remote(client: RemoteClient, clock: Clock) -> Self {
        MemoryStoreService {
            backend: Backend::Remote(client),
            clock,
        }
    }
}
