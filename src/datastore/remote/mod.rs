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
//!   engine retries them as it retries Roblox's 5xx errors;
//! - a write made under a commit note (`observe::with_note`) carries it in
//!   the `x-profilestore-commit-note` header.

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Map, Value};

mod listing;
pub(super) mod manage;

pub(super) use listing::{
    get_version, get_version_at_time, list_data_stores, list_keys, list_versions,
};

use super::{
    gave_up, validate, DataStore, DataStoreError, DsResult, Entry, KeyInfo, Precondition, RetryCap,
    SetOutcome, Transform, VersionId, WriteOptions,
};
use crate::opencloud::codes::DetailCode;
use crate::opencloud::headers as h;
use crate::opencloud::time::parse_time;
use crate::opencloud::v1 as wire;
use crate::remote::{enc, status_error, Answer, RemoteClient, RemoteError};

/// The error of a call Open Cloud v1 has no request for.
pub(super) fn unsupported(what: &'static str) -> DataStoreError {
    DataStoreError::Remote(RemoteError::Unsupported { what })
}

impl From<RemoteError> for DataStoreError {
    /// The DataStore error a server's answer stands for: the detail codes
    /// the server maps its own errors to (`http/error.rs`) map back to the
    /// same variants, so a caller sees one error for one cause, local or
    /// remote.
    fn from(e: RemoteError) -> Self {
        if let RemoteError::Status {
            detail: Some(detail),
            message,
            ..
        } = &e
        {
            match detail {
                DetailCode::InvalidVersionId => {
                    return DataStoreError::InvalidVersion(message.clone())
                }
                DetailCode::InvalidCursor => return DataStoreError::InvalidCursor,
                DetailCode::ExistingValueNotNumeric => {
                    return DataStoreError::ExistingValueNotNumeric
                }
                DetailCode::IncrementValueTooLarge => return DataStoreError::IncrementOverflow,
                DetailCode::InvalidStartTime | DetailCode::InvalidEndTime => {
                    return DataStoreError::InvalidTimestamp
                }
                DetailCode::DatastoreDeleted => return manage::deleted_of(message),
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

/// The error of an answer without what it should carry.
fn protocol(client: &RemoteClient, reason: impl Into<String>) -> DataStoreError {
    DataStoreError::Remote(client.protocol(reason))
}

/// A body in the server's own wire type.
fn body_of<T: serde::de::DeserializeOwned>(client: &RemoteClient, answer: &Answer) -> DsResult<T> {
    serde_json::from_slice(&answer.body).map_err(|e| {
        protocol(
            client,
            format!("the {} body: {e}", std::any::type_name::<T>()),
        )
    })
}

fn parse_header_time(client: &RemoteClient, answer: &Answer, name: &str) -> DsResult<i64> {
    answer
        .header(name)
        .and_then(parse_time)
        .ok_or_else(|| protocol(client, format!("the answer has no valid `{name}` header")))
}

fn parse_body_time(client: &RemoteClient, text: &str, field: &str) -> DsResult<i64> {
    parse_time(text).ok_or_else(|| protocol(client, format!("`{field}` is not a time: {text}")))
}

/// An entry from a v1 entry answer (body and `roblox-entry-*` headers).
fn entry_of(client: &RemoteClient, answer: &Answer) -> DsResult<Entry> {
    let value: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| protocol(client, format!("the entry body is not JSON: {e}")))?;
    Ok(Entry {
        value,
        info: key_info_of(client, answer)?,
    })
}

fn key_info_of(client: &RemoteClient, answer: &Answer) -> DsResult<KeyInfo> {
    let version = answer
        .header(h::ENTRY_VERSION)
        .ok_or_else(|| {
            protocol(
                client,
                format!("the answer has no {} header", h::ENTRY_VERSION),
            )
        })?
        .to_owned();
    let user_ids = match answer.header(h::ENTRY_USERIDS) {
        None | Some("") => Vec::new(),
        Some(text) => serde_json::from_str::<Vec<i64>>(text)
            .map_err(|e| protocol(client, format!("bad {}: {e}", h::ENTRY_USERIDS)))?,
    };
    let metadata = match answer.header(h::ENTRY_ATTRIBUTES) {
        None | Some("") => Map::new(),
        Some(text) => serde_json::from_str::<Map<String, Value>>(text)
            .map_err(|e| protocol(client, format!("bad {}: {e}", h::ENTRY_ATTRIBUTES)))?,
    };
    Ok(KeyInfo {
        created_ms: parse_header_time(client, answer, h::ENTRY_CREATED_TIME)?,
        updated_ms: parse_header_time(client, answer, h::ENTRY_VERSION_CREATED_TIME)?,
        version,
        user_ids,
        metadata,
    })
}

fn write_headers(options: &WriteOptions) -> Vec<(&'static str, String)> {
    let mut headers = vec![(
        h::ENTRY_USERIDS,
        Value::from(options.user_ids.clone()).to_string(),
    )];
    if !options.metadata.is_empty() {
        headers.push((
            h::ENTRY_ATTRIBUTES,
            Value::Object(options.metadata.clone()).to_string(),
        ));
    }
    headers
}

/// The cursor of the next page (`None` on the last page).
fn next_cursor(cursor: String) -> Option<String> {
    (!cursor.is_empty()).then_some(cursor)
}

async fn send(
    client: &RemoteClient,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> DsResult<Answer> {
    let answer = client
        .send(method, path, headers, body, std::time::Duration::ZERO)
        .await?;
    // A deleted data store is an error on every call, also on those that
    // read a 404 as "no such entry".
    manage::refuse_deleted(&answer)?;
    Ok(answer)
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
        StatusCode::OK => entry_of(client, &answer).map(Some),
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
    // Key first, then the write: the order the local backend checks in.
    let mut path = entry_path(ds, key, "/entry")?;
    let text = validate::write(value, options)?.value;
    match precondition {
        Precondition::None => {}
        Precondition::ExclusiveCreate => path.push_str("&exclusiveCreate=true"),
        Precondition::MatchVersion(v) => {
            VersionId::parse(v).ok_or_else(|| DataStoreError::InvalidVersion(v.clone()))?;
            path.push_str("&matchVersion=");
            path.push_str(&enc(v));
        }
    }
    let mut headers = write_headers(options);
    // The note of a final save, so the server's lock history records it.
    if let Some(note) = super::observe::current_note() {
        headers.push((h::COMMIT_NOTE, note.as_str().to_owned()));
    }
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = send(client, Method::POST, &path, &headers, Bytes::from(text)).await?;
    match answer.status {
        StatusCode::OK => {
            let written: wire::Version = body_of(client, &answer)?;
            Ok(SetOutcome::Written(KeyInfo {
                created_ms: parse_body_time(
                    client,
                    &written.object_created_time,
                    "objectCreatedTime",
                )?,
                updated_ms: parse_body_time(client, &written.created_time, "createdTime")?,
                version: written.version,
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
    let entry = entry_of(client, &answer)?;
    let value = entry
        .value
        .as_i64()
        .ok_or_else(|| protocol(client, "the increment answer is not an integer"))?;
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
