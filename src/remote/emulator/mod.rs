//! The client side of the emulator's control plane (`/emulator/v1/...`):
//! what a Rust test uses to move a server's clock, inject faults, turn on
//! budgets and take snapshots, whether it started the server itself
//! (`testing::TestServer`) or runs a game server on `Engine::remote`.
//!
//! Owns: [`Emulator`], one method per control, each one request. The
//! methods live in one file per control (`clock.rs`, `faults.rs`,
//! `budgets.rs`, `snapshots.rs`). Invariants: nothing is cached; every
//! failure is the server's error as a [`RemoteError`].
//!
//! SKELETON: each control's methods are added by its own work.

mod budgets;
mod clock;
mod faults;
mod snapshots;

use super::{RemoteClient, RemoteError};

/// The controls of one profilestore server.
#[derive(Clone, Debug)]
pub struct Emulator {
    client: RemoteClient,
}

impl Emulator {
    /// The controls of the server behind `client` (its API key must be
    /// accepted: the controls always need one).
    pub fn new(client: RemoteClient) -> Self {
        Emulator { client }
    }

    /// The client requests go through.
    pub fn client(&self) -> &RemoteClient {
        &self.client
    }
}

#[allow(dead_code)] // SKELETON: used by the controls' methods.
fn unused(_: RemoteError) {}
