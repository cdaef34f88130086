//! The snapshots control: save, restore, list and delete named snapshots
//! of a server's data, and wipe one universe.
//!
//! Owns: [`Emulator::snapshot`], [`Emulator::restore`],
//! [`Emulator::snapshots`], [`Emulator::delete_snapshot`],
//! [`Emulator::wipe_universe`]. Invariants: one request each; the bodies
//! are `opencloud::emulator`'s, as the server writes them.

use hyper::Method;

use super::super::client::segment;
use super::{Emulator, RemoteError};
use crate::opencloud::emulator::{ListSnapshots, SaveSnapshot, Snapshot, WipedUniverse};

impl Emulator {
    /// Takes snapshot `id` of everything the server stores (its storage
    /// and memory stores); an id already taken is a 409.
    pub async fn snapshot(&self, id: &str) -> Result<Snapshot, RemoteError> {
        let body = serde_json::to_value(SaveSnapshot { id: id.to_owned() })
            .map_err(|e| self.client().protocol(e.to_string()))?;
        self.client()
            .json(Method::POST, "/emulator/v1/snapshots", Some(&body))
            .await
    }

    /// Puts everything back as snapshot `id` holds it (it stays, to be
    /// restored again).
    pub async fn restore(&self, id: &str) -> Result<Snapshot, RemoteError> {
        let path = format!("/emulator/v1/snapshots/{}:restore", segment(id));
        self.client().json(Method::POST, &path, None).await
    }

    /// Every snapshot of the server, by id.
    pub async fn snapshots(&self) -> Result<Vec<Snapshot>, RemoteError> {
        let list: ListSnapshots = self
            .client()
            .json(Method::GET, "/emulator/v1/snapshots", None)
            .await?;
        Ok(list.snapshots)
    }

    /// Deletes snapshot `id`.
    pub async fn delete_snapshot(&self, id: &str) -> Result<Snapshot, RemoteError> {
        let path = format!("/emulator/v1/snapshots/{}", segment(id));
        self.client().json(Method::DELETE, &path, None).await
    }

    /// Removes everything `universe` stores (standard and ordered entries,
    /// data store states, memory stores); the entries removed.
    pub async fn wipe_universe(&self, universe: u64) -> Result<u64, RemoteError> {
        let path = format!("/emulator/v1/universes/{universe}/data");
        let wiped: WipedUniverse = self.client().json(Method::DELETE, &path, None).await?;
        Ok(wiped.entries_removed)
    }
}
