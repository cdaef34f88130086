//! The emulator's faults control over HTTP.
//!
//! SKELETON: filled in by the faults work.

use super::super::router::Table;

/// Adds this control's routes.
pub(super) fn routes(table: Table) -> Table {
    table
}
