//! The remote backend's data store management, as Open Cloud v2 requests
//! (`/cloud/v2/universes/{u}/data-stores...`): list with `filter`,
//! `showDeleted` and page tokens, delete, `:undelete`, `:snapshot`; and
//! the recognition of a deleted store in any answer.
//!
//! Owns: building those requests and reading their answers with the wire
//! types of `opencloud/v2.rs`. Invariants: a management call gives the
//! same result and the same `DataStoreError` variant as on a local
//! service (the server's statuses, chosen in `http/error.rs`, map back:
//! 404 is `DataStoreNotFound`, a 400 on undelete `DataStoreNotDeleted`);
//! any answer carrying the `DatastoreDeleted` detail is that error.

use bytes::Bytes;
use hyper::{Method, StatusCode};

use super::{body_of, parse_body_time};
use crate::datastore::manage::{
    store_page, ListStoresOptions, SnapshotOutcome, StoreState, StoreStatus,
};
use crate::datastore::{DataStoreError, DsResult, Listing};
use crate::opencloud::codes::DetailCode;
use crate::opencloud::errors::AnyError;
use crate::opencloud::v2 as wire;
use crate::remote::{enc, status_error, Answer, RemoteClient};

/// `DataStoreDeleted` from a server's message (which names the store
/// between backticks, see `DataStoreError`'s text).
pub(super) fn deleted_of(message: &str) -> DataStoreError {
    let name = message
        .split('`')
        .nth(1)
        .map_or_else(String::new, str::to_owned);
    DataStoreError::DataStoreDeleted { name }
}

/// `Err(DataStoreDeleted)` when `answer` says the data store is deleted.
pub(super) fn refuse_deleted(answer: &Answer) -> DsResult<()> {
    if answer.status.is_success() {
        return Ok(());
    }
    match AnyError::parse(&answer.body) {
        Some(e) if e.detail() == Some(DetailCode::DatastoreDeleted) => Err(deleted_of(e.message())),
        _ => Ok(()),
    }
}

fn stores_path(universe: u64) -> String {
    format!("/cloud/v2/universes/{universe}/data-stores")
}

fn status_of(client: &RemoteClient, s: wire::DataStore) -> DsResult<StoreStatus> {
    let created_ms = parse_body_time(client, &s.create_time, "createTime")?;
    let expire_ms = s
        .expire_time
        .as_deref()
        .map(|t| parse_body_time(client, t, "expireTime"))
        .transpose()?;
    Ok(StoreStatus {
        name: s.id,
        created_ms,
        state: match s.state {
            wire::State::Deleted => StoreState::Deleted,
            wire::State::Active => StoreState::Active,
        },
        expire_ms,
    })
}

/// The answer of a delete or undelete of `name`.
fn store_answer(
    client: &RemoteClient,
    answer: &Answer,
    name: &str,
    undelete: bool,
) -> DsResult<StoreStatus> {
    match answer.status {
        StatusCode::OK => status_of(client, body_of(client, answer)?),
        StatusCode::NOT_FOUND => Err(DataStoreError::DataStoreNotFound {
            name: name.to_owned(),
        }),
        StatusCode::BAD_REQUEST if undelete => Err(DataStoreError::DataStoreNotDeleted {
            name: name.to_owned(),
        }),
        _ => Err(status_error(answer).into()),
    }
}

async fn send(client: &RemoteClient, method: Method, path: &str, body: &str) -> DsResult<Answer> {
    let body = Bytes::copy_from_slice(body.as_bytes());
    super::send(client, method, path, &[], body).await
}

/// `DELETE .../data-stores/{name}`.
pub(in crate::datastore) async fn delete(
    client: &RemoteClient,
    universe: u64,
    name: &str,
) -> DsResult<StoreStatus> {
    let path = format!("{}/{}", stores_path(universe), enc(name));
    let answer = send(client, Method::DELETE, &path, "").await?;
    store_answer(client, &answer, name, false)
}

/// `POST .../data-stores/{name}:undelete` with `{}`.
pub(in crate::datastore) async fn undelete(
    client: &RemoteClient,
    universe: u64,
    name: &str,
) -> DsResult<StoreStatus> {
    let path = format!("{}/{}:undelete", stores_path(universe), enc(name));
    let answer = send(client, Method::POST, &path, "{}").await?;
    store_answer(client, &answer, name, true)
}

/// `GET .../data-stores?maxPageSize&filter&showDeleted&pageToken`.
pub(in crate::datastore) async fn list(
    client: &RemoteClient,
    universe: u64,
    options: &ListStoresOptions,
) -> DsResult<Listing<StoreStatus>> {
    let mut path = format!(
        "{}?maxPageSize={}&showDeleted={}",
        stores_path(universe),
        store_page(options.page_size),
        options.show_deleted
    );
    if !options.prefix.is_empty() {
        let filter = format!("id.startsWith(\"{}\")", options.prefix);
        path.push_str(&format!("&filter={}", enc(&filter)));
    }
    if let Some(token) = &options.cursor {
        path.push_str(&format!("&pageToken={}", enc(token)));
    }
    let answer = send(client, Method::GET, &path, "").await?;
    if answer.status != StatusCode::OK {
        return Err(status_error(&answer).into());
    }
    let page: wire::ListDataStores = body_of(client, &answer)?;
    let items = page
        .data_stores
        .into_iter()
        .map(|s| status_of(client, s))
        .collect::<DsResult<Vec<_>>>()?;
    Ok(Listing {
        items,
        cursor: (!page.next_page_token.is_empty()).then_some(page.next_page_token),
    })
}

/// `POST .../data-stores:snapshot` with `{}`.
pub(in crate::datastore) async fn snapshot(
    client: &RemoteClient,
    universe: u64,
) -> DsResult<SnapshotOutcome> {
    let path = format!("{}:snapshot", stores_path(universe));
    let answer = send(client, Method::POST, &path, "{}").await?;
    if answer.status != StatusCode::OK {
        return Err(status_error(&answer).into());
    }
    let body: wire::SnapshotAnswer = body_of(client, &answer)?;
    Ok(SnapshotOutcome {
        new_snapshot_taken: body.new_snapshot_taken,
        latest_ms: parse_body_time(client, &body.latest_snapshot_time, "latestSnapshotTime")?,
    })
}
