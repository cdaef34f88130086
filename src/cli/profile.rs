//! `profilestore profile ...`: ProfileStore profiles from the command line.
//!
//! Owns: `show` (the decoded document: data, owner session, lock age,
//! pending messages), `message` (`MessageAsync`), `rollback` (a past
//! version written back with `SetAsync`, which ends any session elsewhere
//! at its next save) and `history` (the session lock history, `history.rs`
//! of this folder: the storage's records, or the server's with `--url`). Invariants: every write goes through the engine, so
//! it follows the same session rules as a game server's; a rollback target
//! that holds no profile is an error and writes nothing.

pub(crate) mod history;

use clap::Subcommand;
use serde_json::{json, Value};

use super::CliError;
use crate::bus::MessageBus;
use crate::datastore::{DataStoreService, SortOrder};
use crate::engine::document::{classify, Stored};
use crate::engine::{Engine, EngineConfig};
use crate::opencloud::time::parse_time;

/// The `profile` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Print a profile: data, owner session, lock age, pending messages.
    Show {
        /// ProfileStore name (the data store).
        store: String,
        /// Profile key.
        key: String,
        /// A version id from `versions`, instead of the latest.
        #[arg(long)]
        version: Option<String>,
    },
    /// Send a message to a profile (`MessageAsync`); its owner's handler
    /// receives it.
    Message {
        /// ProfileStore name.
        store: String,
        /// Profile key.
        key: String,
        /// The message, as JSON (a table in Luau).
        message: String,
    },
    /// Write a past version back as the current data (`SetAsync`).
    Rollback {
        /// ProfileStore name.
        store: String,
        /// Profile key.
        key: String,
        /// A version id, or a time (RFC 3339 like 2026-11-25T10:00:00Z, or
        /// Unix milliseconds): the newest version at or before it.
        #[arg(long)]
        to: String,
    },
    /// The profile's session lock history: every change of its owner
    /// (started, released, handed_off, stolen, assumed_dead,
    /// ended_by_shutdown), oldest first, as a table.
    History {
        /// ProfileStore name.
        store: String,
        /// Profile key.
        key: String,
        /// The data store scope.
        #[arg(long, default_value = "global")]
        scope: String,
        /// One JSON line per event instead of the table.
        #[arg(long)]
        json: bool,
    },
}

fn engine(service: &DataStoreService, bus: MessageBus, universe: u64) -> Engine {
    let job = format!("cli-{}", uuid::Uuid::new_v4().simple());
    Engine::new(
        service.clone(),
        bus,
        universe,
        0,
        job,
        EngineConfig::default(),
    )
}

/// Runs a `profile` command; `bus` reaches the owners of active sessions
/// (a remote server's bus with `--url`).
pub(crate) async fn run(
    command: ProfileCommand,
    service: &DataStoreService,
    bus: MessageBus,
    universe: u64,
) -> Result<Value, CliError> {
    // Everything is checked before the engine makes its first DataStore
    // call (which writes the `____PS` access probe, as the Luau module
    // does): a refused command writes nothing.
    let (ProfileCommand::Show { store, key, .. }
    | ProfileCommand::Message { store, key, .. }
    | ProfileCommand::Rollback { store, key, .. }
    | ProfileCommand::History { store, key, .. }) = &command;
    crate::datastore::validate::data_store_name(store)?;
    crate::datastore::validate::key(key)?;
    let message = match &command {
        ProfileCommand::Message { message, .. } => {
            Some(crate::datastore::parse_value_str(message)?)
        }
        _ => None,
    };
    if let ProfileCommand::Rollback { store, key, to } = &command {
        if crate::datastore::VersionId::parse(to).is_some() {
            let ds = service.data_store(universe, store, "global")?;
            if ds.get_version(key, to).await?.is_none() {
                return Err(CliError::Usage(format!(
                    "`{key}` in `{store}` has no version `{to}`; list them with `versions {store} {key}`; nothing was written"
                )));
            }
        } else if parse_time(to).is_none() && to.parse::<i64>().is_err() {
            return Err(CliError::Usage(format!(
                "--to `{to}` is neither a version id nor a time (RFC 3339 or Unix ms)"
            )));
        }
    }
    let engine = engine(service, bus, universe);
    let result = match command {
        // It prints a table, not one JSON document.
        ProfileCommand::History { .. } => unreachable!("data::run sends it to history::run"),
        ProfileCommand::Show {
            store,
            key,
            version,
        } => show(service, universe, &store, &key, version.as_deref()).await,
        ProfileCommand::Message { store, key, .. } => {
            let message = message.unwrap_or(Value::Null);
            let store = engine.store(&store, json!({}))?;
            store.message(&key, message).await?;
            Ok(json!({"sent": true}))
        }
        ProfileCommand::Rollback { store, key, to } => {
            let store = engine.store(&store, json!({}))?;
            let target = if crate::datastore::VersionId::parse(&to).is_some() {
                store.get(&key, Some(&to)).await?
            } else {
                let at_ms = parse_time(&to)
                    .or_else(|| to.parse::<i64>().ok())
                    .ok_or_else(|| {
                        CliError::Usage(format!(
                            "--to `{to}` is neither a version id nor a time (RFC 3339 or Unix ms)"
                        ))
                    })?;
                store
                    .version_query(&key, SortOrder::Descending, None, Some(at_ms))
                    .next()
                    .await?
            };
            let Some(mut profile) = target else {
                return Err(CliError::Usage(format!(
                    "no profile version of `{key}` matches `{to}`; nothing was written"
                )));
            };
            let from = profile.key_info().version.clone();
            profile.set().await?;
            Ok(
                json!({"rolledBackTo": from, "version": profile.key_info().version, "data": profile.data()}),
            )
        }
    };
    engine.shutdown().await;
    result
}

async fn show(
    service: &DataStoreService,
    universe: u64,
    store: &str,
    key: &str,
    version: Option<&str>,
) -> Result<Value, CliError> {
    let ds = service.data_store(universe, store, "global")?;
    let entry = match version {
        Some(v) => ds.get_version(key, v).await?,
        None => ds.get(key).await?,
    };
    let Some(entry) = entry else {
        return Ok(Value::Null);
    };
    let now_s = service.clock().now_ms().div_euclid(1000);
    let owner = |o: &crate::engine::document::SessionOwner| json!({"placeId": o.place_id, "jobId": o.job_id, "sessionId": o.session_id});
    Ok(match classify(Some(&entry.value)) {
        Stored::Profile(doc) => {
            let last_update = doc.meta.last_update.as_f64().unwrap_or(0.0);
            json!({
                "data": doc.data,
                "session": doc.meta.active_session.as_ref().map(owner),
                "lockAgeSeconds": doc.meta.active_session.as_ref().map(|_| now_s as f64 - last_update),
                "forceLoadSession": doc.meta.force_load_session.as_ref().map(owner),
                "sessionLoadCount": doc.meta.session_load_count,
                "messages": doc.messages.entries.iter().map(|m| json!([m.index(), m.payload()])).collect::<Vec<_>>(),
                "userIds": doc.user_ids,
                "robloxMetaData": doc.roblox_metadata,
                "version": entry.info.version,
            })
        }
        Stored::MessagesOnly(messages) => json!({
            "data": null,
            "messages": messages.entries.iter().map(|m| json!([m.index(), m.payload()])).collect::<Vec<_>>(),
            "version": entry.info.version,
        }),
        Stored::Missing => Value::Null,
        Stored::Foreign(_) => {
            return Err(CliError::Usage(format!(
                "`{key}` in `{store}` is not a ProfileStore profile; read it with `get`"
            )))
        }
    })
}
