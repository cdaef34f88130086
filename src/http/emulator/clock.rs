//! The emulator's clock control over HTTP.
//!
//! SKELETON: filled in by the clock work.

use super::super::router::Table;

/// Adds this control's routes.
pub(super) fn routes(table: Table) -> Table {
    table
}
