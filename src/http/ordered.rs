//! Ordered data stores over HTTP: Open Cloud v1
//! (`/ordered-data-stores/v1/universes/{u}/orderedDataStores/...`), v2
//! (`/cloud/v2/universes/{u}/ordered-data-stores/...`) and the engine API
//! (`/engine-api/v1/universes/{u}/ordered-data-stores/...`, what the Luau
//! client and remote services call).
//!
//! SKELETON: the tables are filled in by the ordered data store work.

use std::sync::LazyLock;

use super::error::Style;
use super::router::Table;

/// Open Cloud v1 ordered routes, after `/ordered-data-stores/v1/universes/{u}`.
pub(super) static TABLE_V1: LazyLock<Table> =
    LazyLock::new(|| Table::new(Style::V2, "no such ordered data store v1 endpoint"));

/// Open Cloud v2 ordered routes, after `/cloud/v2/universes/{u}`.
pub(super) static TABLE_V2: LazyLock<Table> =
    LazyLock::new(|| Table::new(Style::V2, "no such ordered data store v2 endpoint"));

/// Engine API ordered routes, after `/engine-api/v1/universes/{u}`.
pub(super) static ENGINE: LazyLock<Table> =
    LazyLock::new(|| Table::new(Style::V2, "no such engine API endpoint"));
