//! Roblox's ordered data stores (`DataStoreService:GetOrderedDataStore`).
//!
//! Owns: the ordered data store API the HTTP server, the CLI and Rust users
//! call ([`OrderedService`]), its limits and errors, and the backend seam:
//! a service is `Local` (the storage plugin's ordered capability in this
//! process) or `Remote` (a profilestore server over the engine API).
//! Invariants: values are integers; there are no versions; a rejected call
//! stores nothing; time comes from the injected [`Clock`].

use std::sync::Arc;

use profilestore_plugin_api::StoragePlugin;

use crate::clock::Clock;
use crate::remote::RemoteClient;
use crate::storage::Storage;

/// Where an ordered service's calls go.
#[derive(Clone, Debug)]
#[allow(dead_code)] // SKELETON: filled in by the ordered data store work.
enum Backend {
    /// The plugin's ordered capability in this process.
    Local(Storage),
    /// A profilestore server (engine API).
    Remote(RemoteClient),
}

/// Ordered data stores of every universe, on one backend.
#[derive(Clone, Debug)]
pub struct OrderedService {
    #[allow(dead_code)] // SKELETON
    backend: Backend,
    #[allow(dead_code)] // SKELETON
    clock: Clock,
}

impl OrderedService {
    /// A service over a plugin in this process.
    pub fn new(plugin: Arc<dyn StoragePlugin>, clock: Clock) -> Self {
        OrderedService {
            backend: Backend::Local(Storage::new(plugin)),
            clock,
        }
    }

    /// A service whose calls go to the server behind `client`.
    pub fn remote(client: RemoteClient, clock: Clock) -> Self {
        OrderedService {
            backend: Backend::Remote(client),
            clock,
        }
    }
}
