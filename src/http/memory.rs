//! MemoryStoreService over HTTP: Open Cloud v2
//! (`/cloud/v2/universes/{u}/memory-store/...`, `memory-store:flush` and
//! its operations) and the engine API
//! (`/engine-api/v1/universes/{u}/memory-store/...`, what the Luau client
//! and remote services call).
//!
//! SKELETON: the tables are filled in by the memory store work.

use std::sync::LazyLock;

use super::error::Style;
use super::router::Table;

/// Open Cloud v2 memory store routes, after `/cloud/v2/universes/{u}`
/// (`/memory-store...` and `/operations/{id}`).
pub(super) static TABLE_V2: LazyLock<Table> =
    LazyLock::new(|| Table::new(Style::V2, "no such memory store endpoint"));

/// Engine API memory store routes, after `/engine-api/v1/universes/{u}`.
pub(super) static ENGINE: LazyLock<Table> =
    LazyLock::new(|| Table::new(Style::V2, "no such engine API endpoint"));
