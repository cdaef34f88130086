//! DataStore calls answered by a remote profilestore server over Open Cloud
//! v1, so the engine runs unchanged in another process.
//!
//! Owns: the translation of each `DataStore` operation into v1 requests and
//! of the answers back into entries, key infos and errors. Invariants:
//! - inputs are validated here with the local rules before anything is
//!   sent, so a bad call fails the same way locally and remotely;
//! - `update` is Roblox's `UpdateAsync`: read the latest version, run the
//!   transform, write with `matchVersion` (or `exclusiveCreate` when there
//!   is no live value) and start again from a fresh read on 412, so a
//!   transform's result is only ever written over the version it saw;
//! - transport failures are `DataStoreError::Remote` and transient, so the
//!   engine retries them as it retries Roblox's 5xx errors.

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Map, Value};

use super::{
    gave_up, validate, DataStore, DataStoreError, DataStoreInfo, DsResult, Entry, KeyInfo, KeyName,
    ListKeysOptions, ListVersionsOptions, Listing, Precondition, RetryCap, SetOutcome, SortOrder,
    Transform, VersionId, VersionSummary, WriteOptions,
};
use crate::opencloud::time::{body_time, parse_time};
use crate::remote::{enc, status_error, Answer, RemoteClient, RemoteError};

/// The error of a call Open Cloud v1 has no request for.
pub(super) fn unsupported(what: &'static str) -> DataStoreError {
    DataStoreError::Remote(RemoteError::Unsupported { what })
}

impl From<RemoteError> for DataStoreError {
    fn from(e: RemoteError) -> Self {
        if let RemoteError::Status {
            detail, message, ..
        } = &e
        {
            match detail.as_str() {
                "InvalidVersionId" => return DataStoreError::InvalidVersion(message.clone()),
                "InvalidCursor" => return DataStoreError::InvalidCursor,
                "ExistingValueNotNumeric" => return DataStoreError::ExistingValueNotNumeric,
                "IncrementValueTooLarge" => return DataStoreError::IncrementOverflow,
                "InvalidStartTime" | "InvalidEndTime" => return DataStoreError::InvalidTimestamp,
                _ => {}
            }
        }
        DataStoreError::Remote(e)
    }
}

/// The base path of a universe's v1 data stores.
fn stores_path(universe: u64) -> String {
    format!("/datastores/v1/universes/{universe}/standard-datastores")
}

/// The path of `tail` (after `standard-datastores/datastore/entries`) with
/// the data store, scope and key parameters for `key`.
fn entry_path(ds: &DataStore, key: &str, tail: &str) -> DsResult<String> {
    let (scope, key) = ds.scope_and_key(key)?;
    Ok(format!(
        "{}/datastore/entries{tail}?datastoreName={}&scope={}&entryKey={}",
        stores_path(ds.universe()),
        enc(ds.name()),
        enc(scope),
        enc(key)
    ))
}

fn parse_header_time(answer: &Answer, name: &str) -> DsResult<i64> {
    answer
        .header(name)
        .and_then(parse_time)
        .ok_or_else(|| protocol(format!("the answer has no valid `{name}` header")))
}

fn protocol(message: String) -> DataStoreError {
    DataStoreError::Remote(RemoteError::Status {
        status: 200,
        detail: "Protocol".into(),
        message,
    })
}

/// An entry from a v1 entry answer (body and `roblox-entry-*` headers).
fn entry_of(answer: &Answer) -> DsResult<Entry> {
    let value: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| protocol(format!("the entry body is not JSON: {e}")))?;
    Ok(Entry {
        value,
        info: key_info_of(answer)?,
    })
}

fn key_info_of(answer: &Answer) -> DsResult<KeyInfo> {
    let version = answer
        .header("roblox-entry-version")
        .ok_or_else(|| protocol("the answer has no roblox-entry-version header".into()))?
        .to_owned();
    let user_ids = match answer.header("roblox-entry-userids") {
        None | Some("") => Vec::new(),
        Some(text) => serde_json::from_str::<Vec<i64>>(text)
            .map_err(|e| protocol(format!("bad roblox-entry-userids: {e}")))?,
    };
    let metadata = match answer.header("roblox-entry-attributes") {
        None | Some("") => Map::new(),
        Some(text) => serde_json::from_str::<Map<String, Value>>(text)
            .map_err(|e| protocol(format!("bad roblox-entry-attributes: {e}")))?,
    };
    Ok(KeyInfo {
        created_ms: parse_header_time(answer, "roblox-entry-created-time")?,
        updated_ms: parse_header_time(answer, "roblox-entry-version-created-time")?,
        version,
        user_ids,
        metadata,
    })
}

fn write_headers(options: &WriteOptions) -> Vec<(&'static str, String)> {
    let mut headers = vec![(
        "roblox-entry-userids",
        Value::from(options.user_ids.clone()).to_string(),
    )];
    if !options.metadata.is_empty() {
        headers.push((
            "roblox-entry-attributes",
            Value::Object(options.metadata.clone()).to_string(),
        ));
    }
    headers
}

fn time_of(body: &Value, field: &str) -> DsResult<i64> {
    body.get(field)
        .and_then(Value::as_str)
        .and_then(parse_time)
        .ok_or_else(|| protocol(format!("the answer has no valid `{field}`")))
}

async fn send(
    client: &RemoteClient,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> DsResult<Answer> {
    Ok(client
        .send(method, path, headers, body, std::time::Duration::ZERO)
        .await?)
}

/// `GetAsync`.
pub(super) async fn get(
    client: &RemoteClient,
    ds: &DataStore,
    key: &str,
) -> DsResult<Option<Entry>> {
    let path = entry_path(ds, key, "/entry")?;
    let answer = send(client, Method::GET, &path, &[], Bytes::new()).await?;
    match answer.status {
        StatusCode::OK => entry_of(&answer).map(Some),
        StatusCode::NOT_FOUND => Ok(None),
        _ => Err(status_error(&answer).into()),
    }
}

/// Conditional set.
pub(super) async fn set_with(
    client: &RemoteClient,
    ds: &DataStore,
    key: &str,
    value: &Value,
    options: &WriteOptions,
    precondition: &Precondition,
) -> DsResult<SetOutcome> {
    let text = validate::value(value)?;
    validate::user_ids(&options.user_ids)?;
    validate::metadata(&options.metadata)?;
    let mut path = entry_path(ds, key, "/entry")?;
    match precondition {
        Precondition::None => {}
        Precondition::ExclusiveCreate => path.push_str("&exclusiveCreate=true"),
        Precondition::MatchVersion(v) => {
            VersionId::parse(v).ok_or_else(|| DataStoreError::InvalidVersion(v.clone()))?;
            path.push_str("&matchVersion=");
            path.push_str(&enc(v));
        }
    }
    let headers = write_headers(options);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = send(client, Method::POST, &path, &headers, Bytes::from(text)).await?;
    match answer.status {
        StatusCode::OK => {
            let body = answer.json();
            let version = body
                .get("version")
                .and_then(Value::as_str)
                .ok_or_else(|| protocol("the set answer has no `version`".into()))?;
            Ok(SetOutcome::Written(KeyInfo {
                created_ms: time_of(&body, "objectCreatedTime")?,
                updated_ms: time_of(&body, "createdTime")?,
                version: version.to_owned(),
                user_ids: options.user_ids.clone(),
                metadata: options.metadata.clone(),
            }))
        }
        StatusCode::PRECONDITION_FAILED => Ok(SetOutcome::PreconditionFailed {
            // The 412 carries only headers; read the value it describes.
            current: get(client, ds, key).await?,
        }),
        _ => Err(status_error(&answer).into()),
    }
}

/// `UpdateAsync` as read, transform, conditional write.
pub(super) async fn update<F>(
    client: &RemoteClient,
    ds: &DataStore,
    key: &str,
    mut transform: F,
) -> DsResult<Option<Entry>>
where
    F: FnMut(Option<&Value>, Option<&KeyInfo>) -> Transform + Send,
{
    let mut current = get(client, ds, key).await?;
    for _ in 0..RetryCap::REMOTE {
        let decision = match &current {
            Some(e) => transform(Some(&e.value), Some(&e.info)),
            None => transform(None, None),
        };
        let Transform::Write { value, options } = decision else {
            return Ok(None);
        };
        let precondition = match &current {
            Some(e) => Precondition::MatchVersion(e.info.version.clone()),
            None => Precondition::ExclusiveCreate,
        };
        match set_with(client, ds, key, &value, &options, &precondition).await? {
            SetOutcome::Written(info) => return Ok(Some(Entry { value, info })),
            SetOutcome::PreconditionFailed { current: now } => current = now,
        }
    }
    Err(gave_up("UpdateAsync", key, RetryCap::REMOTE))
}

/// `IncrementAsync` (atomic on the server).
pub(super) async fn increment(
    client: &RemoteClient,
    ds: &DataStore,
    key: &str,
    delta: i64,
    options: &WriteOptions,
) -> DsResult<(i64, KeyInfo)> {
    validate::user_ids(&options.user_ids)?;
    validate::metadata(&options.metadata)?;
    let path = format!(
        "{}&incrementBy={delta}",
        entry_path(ds, key, "/entry/increment")?
    );
    let headers = write_headers(options);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = send(client, Method::POST, &path, &headers, Bytes::new()).await?;
    if answer.status != StatusCode::OK {
        return Err(status_error(&answer).into());
    }
    let entry = entry_of(&answer)?;
    let value = entry
        .value
        .as_i64()
        .ok_or_else(|| protocol("the increment answer is not an integer".into()))?;
    Ok((value, entry.info))
}

/// `RemoveAsync`. v1's delete returns no body, so the value returned is
/// the one read just before: a write landing between the two is removed
/// but not returned.
pub(super) async fn remove(
    client: &RemoteClient,
    ds: &DataStore,
    key: &str,
) -> DsResult<Option<Entry>> {
    let before = get(client, ds, key).await?;
    let path = entry_path(ds, key, "/entry")?;
    let answer = send(client, Method::DELETE, &path, &[], Bytes::new()).await?;
    match answer.status {
        StatusCode::NO_CONTENT | StatusCode::OK => Ok(before),
        StatusCode::NOT_FOUND => Ok(None),
        _ => Err(status_error(&answer).into()),
    }
}

/// `GetVersionAsync`.
pub(super) async fn get_version(
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
        StatusCode::OK => entry_of(&answer).map(Some),
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
pub(super) async fn get_version_at_time(
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
pub(super) async fn list_versions(
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
    let body = answer.json();
    let items = body
        .get("versions")
        .and_then(Value::as_array)
        .ok_or_else(|| protocol("the versions answer has no `versions`".into()))?
        .iter()
        .map(|v| {
            Ok(VersionSummary {
                version: v
                    .get("version")
                    .and_then(Value::as_str)
                    .ok_or_else(|| protocol("a version has no id".into()))?
                    .to_owned(),
                created_ms: time_of(v, "createdTime")?,
                key_created_ms: time_of(v, "objectCreatedTime")?,
                deleted: v.get("deleted").and_then(Value::as_bool).unwrap_or(false),
                content_length: v.get("contentLength").and_then(Value::as_u64).unwrap_or(0),
            })
        })
        .collect::<DsResult<Vec<_>>>()?;
    Ok(Listing {
        items,
        cursor: next_cursor(&body),
    })
}

fn next_cursor(body: &Value) -> Option<String> {
    body.get("nextPageCursor")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
}

/// `ListKeysAsync`. `exclude_deleted` is not part of Open Cloud v1 and is
/// applied by the server's default (deleted keys are listed).
pub(super) async fn list_keys(
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
    let body = answer.json();
    let items = body
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| protocol("the keys answer has no `keys`".into()))?
        .iter()
        .map(|k| KeyName {
            scope: k
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            key: k
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        })
        .collect();
    Ok(Listing {
        items,
        cursor: next_cursor(&body),
    })
}

/// `ListDataStoresAsync`.
pub(super) async fn list_data_stores(
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
    let body = answer.json();
    let items = body
        .get("datastores")
        .and_then(Value::as_array)
        .ok_or_else(|| protocol("the answer has no `datastores`".into()))?
        .iter()
        .map(|s| {
            let created_ms = time_of(s, "createdTime")?;
            Ok(DataStoreInfo {
                name: s
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                created_ms,
                updated_ms: created_ms,
            })
        })
        .collect::<DsResult<Vec<_>>>()?;
    Ok(Listing {
        items,
        cursor: next_cursor(&body),
    })
}
