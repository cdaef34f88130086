//! Open Cloud v2 data store management: `GET /data-stores` (`filter`,
//! `showDeleted`, `maxPageSize`, `pageToken`), `DELETE /data-stores/{ds}`,
//! `POST /data-stores/{ds}:undelete` and `POST /data-stores:snapshot`.
//!
//! Owns: those handlers, the `DataStore` resource body, and the `filter`
//! (`id.startsWith`) and page-token parameters the entry listings share. Invariants:
//! every data store body has `state` (rblx-open-cloud requires it) and a
//! deleted one `expireTime`; undelete and snapshot take `{}` or no body at
//! all (rblx-open-cloud sends none), any other body must be a JSON object;
//! the snapshot answer always has `newSnapshotTaken` and
//! `latestSnapshotTime`; `maxPageSize` defaults to 10 and larger values
//! than 100 are lowered to 100, as the OpenAPI says.

use hyper::StatusCode;
use serde_json::Value;

use super::error::ApiError;
use super::request::{self, Query};
use super::router::{Call, Reply};
use crate::datastore::{ListStoresOptions, StoreState, StoreStatus};
use crate::opencloud::codes::DetailCode as D;
use crate::opencloud::time::body_time;
use crate::opencloud::v2 as wire;

/// The page token (`pageToken`; also `nextPageToken`), `None` when empty.
pub(super) fn token(q: &Query) -> Option<String> {
    // rblxopencloud sends `nextPageToken` for revisions; accept both.
    q.get("pageToken")
        .or_else(|| q.get("nextPageToken"))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// `id.startsWith("prefix")`, the only filter Open Cloud supports here.
pub(super) fn id_prefix(q: &Query) -> Result<String, ApiError> {
    match q.get("filter").map(str::trim).filter(|f| !f.is_empty()) {
        None => Ok(String::new()),
        Some(f) => f
            .strip_prefix("id.startsWith(\"")
            .and_then(|r| r.strip_suffix("\")"))
            .map(str::to_owned)
            .ok_or_else(|| {
                ApiError::bad_request(D::Unknown, "filter supports only id.startsWith(\"prefix\")")
            }),
    }
}

fn store_body(universe: u64, s: StoreStatus) -> wire::DataStore {
    wire::DataStore {
        path: format!("universes/{universe}/data-stores/{}", s.name),
        create_time: body_time(s.created_ms),
        expire_time: s.expire_ms.map(body_time),
        state: match s.state {
            StoreState::Active => wire::State::Active,
            StoreState::Deleted => wire::State::Deleted,
        },
        id: s.name,
    }
}

/// Reads a body that may be absent or `{}` (quirk 17): anything else must
/// be a JSON object.
async fn empty_body(c: &mut Call) -> Result<(), ApiError> {
    let bytes = c.body().await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(ApiError::bad_request(
            D::ContentNotJson,
            "the body must be a JSON object (`{}`) or empty",
        )),
    }
}

/// `GET /data-stores`.
pub(super) async fn list_stores(c: Call) -> Reply {
    let q = &c.query;
    let page_size = q.number("maxPageSize", 0usize)?;
    let options = ListStoresOptions {
        prefix: id_prefix(q)?,
        page_size,
        cursor: token(q),
        show_deleted: q.flag("showDeleted")?,
    };
    let page = c
        .state
        .datastores
        .list_data_stores_with(c.universe, &options)
        .await?;
    let body = wire::ListDataStores {
        data_stores: page
            .items
            .into_iter()
            .map(|s| store_body(c.universe, s))
            .collect(),
        next_page_token: page.cursor.unwrap_or_default(),
    };
    Ok(request::json(StatusCode::OK, &body))
}

/// `DELETE /data-stores/{store}`.
pub(super) async fn delete_store(c: Call) -> Reply {
    let name = c.param("store");
    let status = c
        .state
        .datastores
        .delete_data_store(c.universe, name)
        .await?;
    Ok(request::json(
        StatusCode::OK,
        &store_body(c.universe, status),
    ))
}

/// `POST /data-stores/{store}:undelete`.
pub(super) async fn undelete_store(mut c: Call) -> Reply {
    empty_body(&mut c).await?;
    let name = c.param("store");
    let status = c
        .state
        .datastores
        .undelete_data_store(c.universe, name)
        .await?;
    Ok(request::json(
        StatusCode::OK,
        &store_body(c.universe, status),
    ))
}

/// `POST /data-stores:snapshot`.
pub(super) async fn snapshot(mut c: Call) -> Reply {
    empty_body(&mut c).await?;
    let outcome = c.state.datastores.snapshot(c.universe).await?;
    let body = wire::SnapshotAnswer {
        new_snapshot_taken: outcome.new_snapshot_taken,
        latest_snapshot_time: body_time(outcome.latest_ms),
    };
    Ok(request::json(StatusCode::OK, &body))
}
