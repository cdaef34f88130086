//! The emulator's control plane over HTTP, `/emulator/v1/...`: what no
//! live experience has (a clock to move, faults on demand, Roblox's request
//! budgets, snapshots of the data).
//!
//! Owns: the one route table of the family, built from one module per
//! control (`clock`, `faults`, `budgets`, `snapshots`), each adding its
//! routes. Invariants: paths are relative to `/emulator/v1` (routes that
//! concern one universe spell `/universes/{universe}` themselves); error
//! bodies have the v2 shape; a control request never leaves stored data
//! half changed.
//!
//! SKELETON: each control module is filled in by its own work.

mod budgets;
mod clock;
mod faults;
mod snapshots;

use std::sync::LazyLock;

use super::error::Style;
use super::router::Table;

/// The control plane's gate, asked first by every handler.
///
/// STUB (snapshots branch): the clock helper writes the real gate (controls
/// on by default on loopback, else only when enabled, always with the API
/// key); until it lands every authenticated request passes.
pub(super) fn allowed(_call: &super::router::Call) -> Result<(), super::error::ApiError> {
    Ok(())
}

/// Every `/emulator/v1` route.
pub(super) static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let table = Table::new(Style::V2, "no such emulator control");
    let table = clock::routes(table);
    let table = faults::routes(table);
    let table = budgets::routes(table);
    snapshots::routes(table)
});
