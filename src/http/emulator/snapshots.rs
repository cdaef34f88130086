//! The emulator's snapshots control over HTTP: `POST /snapshots` (`{"id"}`),
//! `GET /snapshots`, `POST /snapshots/{id}:restore`,
//! `DELETE /snapshots/{id}` and `DELETE /universes/{universe}/data` (wipe
//! one universe).
//!
//! Owns: those handlers and the conversion of [`SnapshotInfo`] to its wire
//! body. Invariants: every handler asks the control plane's gate first
//! ([`super::allowed`]); the work itself is `crate::snapshots` (one control
//! at a time; a restore or wipe lands whole or not at all); a bad id is a
//! 400, a taken id 409, an unknown id 404 (`http/error.rs`).

use hyper::{Method, StatusCode};

use super::super::error::ApiError;
use super::super::request;
use super::super::router::{handler, Call, Reply, Route, Table};
use crate::opencloud::codes::DetailCode as D;
use crate::opencloud::emulator as wire;
use crate::opencloud::time::body_time;
use crate::snapshots::SnapshotInfo;

/// Adds this control's routes.
pub(super) fn routes(table: Table) -> Table {
    table
        .route(
            "/snapshots",
            Route::new()
                .on(Method::GET, handler(list))
                .on(Method::POST, handler(save)),
        )
        .route(
            "/snapshots/{id}",
            Route::new().on(Method::DELETE, handler(delete)).verb(
                "restore",
                Method::POST,
                handler(restore),
            ),
        )
        .route(
            "/universes/{universe}/data",
            Route::new().on(Method::DELETE, handler(wipe)),
        )
}

fn body(s: SnapshotInfo) -> wire::Snapshot {
    wire::Snapshot {
        id: s.id,
        create_time: body_time(s.created_ms),
        entries: s.entries,
        versions: s.versions,
        ordered_entries: s.ordered_entries,
        meta_records: s.meta_records,
        memory_items: s.memory_items,
        bytes: s.bytes,
    }
}

/// `POST /snapshots` with `{"id": "..."}`.
async fn save(mut c: Call) -> Reply {
    super::allowed(&c)?;
    let bytes = c.body().await?;
    let req: wire::SaveSnapshot = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            D::Unknown,
            format!("the body must be {{\"id\": \"<snapshot id>\"}}: {e}"),
        )
    })?;
    let info = c.state.snapshots.save(&req.id).await?;
    Ok(request::json(StatusCode::OK, &body(info)))
}

/// `GET /snapshots`.
async fn list(c: Call) -> Reply {
    super::allowed(&c)?;
    let snapshots = c.state.snapshots.list().into_iter().map(body).collect();
    Ok(request::json(
        StatusCode::OK,
        &wire::ListSnapshots { snapshots },
    ))
}

/// `POST /snapshots/{id}:restore` (no body, or any).
async fn restore(c: Call) -> Reply {
    super::allowed(&c)?;
    let info = c.state.snapshots.restore(c.param("id")).await?;
    Ok(request::json(StatusCode::OK, &body(info)))
}

/// `DELETE /snapshots/{id}`.
async fn delete(c: Call) -> Reply {
    super::allowed(&c)?;
    let info = c.state.snapshots.delete(c.param("id")).await?;
    Ok(request::json(StatusCode::OK, &body(info)))
}

/// `DELETE /universes/{universe}/data`.
async fn wipe(c: Call) -> Reply {
    super::allowed(&c)?;
    let universe = super::super::universe(c.param("universe"))?;
    let removed = c.state.snapshots.wipe_universe(universe).await?;
    Ok(request::json(
        StatusCode::OK,
        &wire::WipedUniverse {
            universe,
            entries_removed: removed,
        },
    ))
}
