//! The remote backend's version reads and listings: `GetVersionAsync`,
//! `GetVersionAtTimeAsync`, `ListVersionsAsync`, `ListKeysAsync` and
//! `ListDataStoresAsync`, as Open Cloud v1 requests.
//!
//! Owns: building those requests and reading their answers with the wire
//! types. Invariants: those of the remote backend (see its module); a page
//! whose cursor is empty is the last.

use bytes::Bytes;
use hyper::{Method, StatusCode};

use super::{body_of, entry_of, entry_path, next_cursor, parse_body_time, send, stores_path};
use crate::datastore::{
    DataStore, DataStoreError, DataStoreInfo, DsResult, Entry, KeyName, ListKeysOptions,
    ListVersionsOptions, Listing, SortOrder, VersionId, VersionSummary,
};
use crate::opencloud::time::body_time;
use crate::opencloud::v1 as wire;
use crate::remote::{enc, status_error, RemoteClient};

/// `GetVersionAsync`.
pub(in crate::datastore) async fn get_version(
    client: &RemoteClient,
    ds: &DataStore,
    key: &str,
    version: &str,
) -> DsResult<Option<Entry>> {
    VersionId::parse(version).ok_or_else(|| DataStoreError::InvalidVersion(version.to_owned()))?;
    let path = format!(
        "{}&versionId={}",
        entry_path(ds, key, "/entry/versions/version")?,
        enc(version)
    );
    let answer = send(client, Method::GET, &path, &[], Bytes::new()).await?;
    match answer.status {
        StatusCode::OK => entry_of(client, &answer).map(Some),
        StatusCode::NOT_FOUND => Ok(None),
        StatusCode::BAD_REQUEST => match status_error(&answer).into() {
            DataStoreError::InvalidVersion(_) => {
                Err(DataStoreError::InvalidVersion(version.to_owned()))
            }
            other => Err(other),
        },
        _ => Err(status_error(&answer).into()),
    }
}

/// `GetVersionAtTimeAsync`: the newest version at or before `at_ms`.
pub(in crate::datastore) async fn get_version_at_time(
    client: &RemoteClient,
    ds: &DataStore,
    key: &str,
    at_ms: i64,
) -> DsResult<Option<Entry>> {
    if at_ms <= 0 {
        return Err(DataStoreError::InvalidTimestamp);
    }
    let options = ListVersionsOptions {
        order: SortOrder::Descending,
        min_ms: None,
        max_ms: Some(at_ms),
        page_size: 1,
        cursor: None,
    };
    let page = list_versions(client, ds, key, &options).await?;
    match page.items.first() {
        Some(v) if !v.deleted => get_version(client, ds, key, &v.version).await,
        _ => Ok(None),
    }
}

/// `ListVersionsAsync`.
pub(in crate::datastore) async fn list_versions(
    client: &RemoteClient,
    ds: &DataStore,
    key: &str,
    options: &ListVersionsOptions,
) -> DsResult<Listing<VersionSummary>> {
    let mut path = entry_path(ds, key, "/entry/versions")?;
    let order = match options.order {
        SortOrder::Ascending => "Ascending",
        SortOrder::Descending => "Descending",
    };
    let limit = if options.page_size == 0 {
        1024
    } else {
        options.page_size
    };
    path.push_str(&format!("&sortOrder={order}&limit={limit}"));
    if let Some(ms) = options.min_ms {
        path.push_str(&format!("&startTime={}", enc(&body_time(ms))));
    }
    if let Some(ms) = options.max_ms {
        path.push_str(&format!("&endTime={}", enc(&body_time(ms))));
    }
    if let Some(c) = &options.cursor {
        path.push_str(&format!("&cursor={}", enc(c)));
    }
    let answer = send(client, Method::GET, &path, &[], Bytes::new()).await?;
    if answer.status != StatusCode::OK {
        return Err(status_error(&answer).into());
    }
    let page: wire::ListVersions = body_of(client, &answer)?;
    let items = page
        .versions
        .into_iter()
        .map(|v| {
            Ok(VersionSummary {
                created_ms: parse_body_time(client, &v.created_time, "createdTime")?,
                key_created_ms: parse_body_time(
                    client,
                    &v.object_created_time,
                    "objectCreatedTime",
                )?,
                version: v.version,
                deleted: v.deleted,
                content_length: v.content_length,
            })
        })
        .collect::<DsResult<Vec<_>>>()?;
    Ok(Listing {
        items,
        cursor: next_cursor(page.next_page_cursor),
    })
}

/// `ListKeysAsync`. `exclude_deleted` is not part of Open Cloud v1 and is
/// applied by the server's default (deleted keys are listed).
pub(in crate::datastore) async fn list_keys(
    client: &RemoteClient,
    ds: &DataStore,
    options: &ListKeysOptions,
) -> DsResult<Listing<KeyName>> {
    let mut path = format!(
        "{}/datastore/entries?datastoreName={}",
        stores_path(ds.universe()),
        enc(ds.name())
    );
    match ds.scope() {
        Some(scope) => path.push_str(&format!("&scope={}", enc(scope))),
        None => path.push_str("&allScopes=true"),
    }
    let limit = if options.page_size == 0 {
        50
    } else {
        options.page_size
    };
    path.push_str(&format!("&limit={limit}&prefix={}", enc(&options.prefix)));
    if let Some(c) = &options.cursor {
        path.push_str(&format!("&cursor={}", enc(c)));
    }
    let answer = send(client, Method::GET, &path, &[], Bytes::new()).await?;
    if answer.status != StatusCode::OK {
        return Err(status_error(&answer).into());
    }
    let page: wire::ListKeys = body_of(client, &answer)?;
    Ok(Listing {
        items: page
            .keys
            .into_iter()
            .map(|k| KeyName {
                scope: k.scope,
                key: k.key,
            })
            .collect(),
        cursor: next_cursor(page.next_page_cursor),
    })
}

/// `ListDataStoresAsync`.
pub(in crate::datastore) async fn list_data_stores(
    client: &RemoteClient,
    universe: u64,
    prefix: &str,
    page_size: usize,
    cursor: Option<&str>,
) -> DsResult<Listing<DataStoreInfo>> {
    let limit = if page_size == 0 { 32 } else { page_size };
    let mut path = format!(
        "{}?prefix={}&limit={limit}",
        stores_path(universe),
        enc(prefix)
    );
    if let Some(c) = cursor {
        path.push_str(&format!("&cursor={}", enc(c)));
    }
    let answer = send(client, Method::GET, &path, &[], Bytes::new()).await?;
    if answer.status != StatusCode::OK {
        return Err(status_error(&answer).into());
    }
    let page: wire::ListDataStores = body_of(client, &answer)?;
    let items = page
        .datastores
        .into_iter()
        .map(|s| {
            let created_ms = parse_body_time(client, &s.created_time, "createdTime")?;
            Ok(DataStoreInfo {
                name: s.name,
                created_ms,
                updated_ms: created_ms,
            })
        })
        .collect::<DsResult<Vec<_>>>()?;
    Ok(Listing {
        items,
        cursor: next_cursor(page.next_page_cursor),
    })
}
