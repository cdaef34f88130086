//! The data commands: `get`, `set`, `increment`, `remove`, `keys`,
//! `versions`, `stores`, `purge`, `export`, `import` and `profile`.
//!
//! Owns: running each on the data folder's service or, with `--url`, on a
//! server's (remote backends), and printing its JSON. Invariants: every
//! command prints JSON on stdout (one document, or one line per item);
//! inputs are checked before anything is written; the service is flushed
//! before the command returns.

use std::io::Read;

use serde_json::{json, Map, Value};

use super::{profile, CliError, Command, ConnectionArgs, EntryArgs};
use crate::bus::{BusConfig, MessageBus};
use crate::clock::Clock;
use crate::config::Config;
use crate::datastore::{
    parse_value_text, DataStore, DataStoreService, Entry, KeyInfo, ListKeysOptions,
    ListVersionsOptions, SortOrder, WriteOptions,
};
use crate::transfer::{self, create_output, read_export};

fn key_info_json(info: &KeyInfo) -> Value {
    json!({
        "version": info.version,
        "createdTime": info.created_ms,
        "updatedTime": info.updated_ms,
        "userIds": info.user_ids,
        "metadata": info.metadata,
    })
}

fn entry_json(entry: Option<Entry>) -> Value {
    match entry {
        Some(e) => json!({"value": e.value, "keyInfo": key_info_json(&e.info)}),
        None => Value::Null,
    }
}

fn print_line(value: &Value) {
    println!("{value}");
}

fn store(
    service: &DataStoreService,
    universe: u64,
    entry: &EntryArgs,
) -> Result<DataStore, CliError> {
    Ok(service.data_store(universe, &entry.datastore, &entry.scope)?)
}

/// Where a command looks, for its messages: `in /abs/data (sqlite)`, `in
/// memory storage` or `on the server at URL`.
fn place(args: &ConnectionArgs, config: &Config) -> String {
    if let Some(url) = &args.url {
        return format!("on the server at {url}");
    }
    let storage = config.storage_config();
    if storage.kind == crate::storage::StorageKind::Postgres {
        return "in the PostgreSQL database of the storage settings (postgres_url)".to_owned();
    }
    if storage.location().is_none() {
        return format!("in {} storage (empty at every start)", storage.kind);
    }
    let dir = std::fs::canonicalize(&storage.data_dir).unwrap_or(storage.data_dir);
    format!("in {} ({} storage)", dir.display(), storage.kind)
}

/// Refuses a command that needs existing data when the data folder, or the
/// plugin's data in it, does not exist (instead of creating it).
fn check_data_exists(config: &Config) -> Result<(), CliError> {
    let storage = config.storage_config();
    let Some(location) = storage.location() else {
        return Ok(());
    };
    let shown = |p: &std::path::Path| {
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| {
                std::env::current_dir()
                    .map(|cwd| cwd.join(p))
                    .unwrap_or_else(|_| p.to_owned())
            })
            .display()
            .to_string()
    };
    if !storage.data_dir.exists() {
        return Err(CliError::NoData(format!(
            "no data folder at {}",
            shown(&storage.data_dir)
        )));
    }
    if !location.exists() {
        return Err(CliError::NoData(format!(
            "no {} data in {} (no {}; pass --storage if the folder holds another kind)",
            storage.kind,
            shown(&storage.data_dir),
            location
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        )));
    }
    Ok(())
}

/// The service and bus a data command works on: the data folder's, or the
/// server's at `--url`.
fn backends(
    args: &ConnectionArgs,
    config: &Config,
    command: &Command,
) -> Result<(DataStoreService, MessageBus), CliError> {
    if args.url.is_none() && command.needs_existing_data() {
        check_data_exists(config)?;
    }
    match &args.url {
        Some(url) => {
            let client = args.client(url)?;
            let clock = Clock::system();
            Ok((
                DataStoreService::remote(client.clone(), clock.clone()),
                MessageBus::remote(client, clock, BusConfig::default()),
            ))
        }
        None => {
            let service = crate::serve::open_datastores(config).map_err(|e| {
                let storage = config.storage_config();
                if storage.kind != crate::storage::StorageKind::Sled {
                    return CliError::Open(e);
                }
                // sled allows one process per folder: a server on it
                // keeps the CLI out, but its HTTP API is open.
                let hint = match crate::serve::serving(&storage.data_dir) {
                    Some(crate::serve::Holder { pid, url }) => format!(
                        "a profilestore server{} is serving this folder: work through it with --url {}",
                        pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
                        url.as_deref().unwrap_or("http://HOST:PORT"),
                    ),
                    None if e.to_string().contains("another running profilestore") => {
                        "if a profilestore server is serving this folder, work through it with --url http://HOST:PORT".to_owned()
                    }
                    None => return CliError::Open(e),
                };
                CliError::Usage(format!("{e}; {hint}"))
            })?;
            let bus = MessageBus::new(service.clock().clone(), BusConfig::default());
            Ok((service, bus))
        }
    }
}

/// Runs a data command (anything but `serve`).
pub(super) async fn run(
    command: Command,
    args: &ConnectionArgs,
    config: &Config,
) -> Result<(), CliError> {
    let (service, bus) = backends(args, config, &command)?;
    let universe = config.server.universe;
    match command {
        Command::Profile {
            command:
                profile::ProfileCommand::History {
                    store,
                    key,
                    scope,
                    json,
                },
        } => {
            let args = profile::history::HistoryArgs {
                store: &store,
                key: &key,
                scope: &scope,
                json,
            };
            profile::history::run(&service, universe, config.history_config(), &args).await?;
        }
        Command::Profile { command } => {
            let shown = match &command {
                profile::ProfileCommand::Show {
                    store,
                    key,
                    version,
                } => Some((
                    match version {
                        Some(v) => format!("version {v} of profile \"{key}\""),
                        None => format!("profile \"{key}\""),
                    },
                    format!("in ProfileStore \"{store}\""),
                )),
                _ => None,
            };
            let value = profile::run(command, &service, bus, universe).await?;
            if let (Some((what, within)), Value::Null) = (shown, &value) {
                return Err(CliError::NotFound {
                    what,
                    within,
                    place: place(args, config),
                });
            }
            print_line(&value);
        }
        Command::Export { datastores, out } => export(&service, universe, &datastores, out).await?,
        Command::Import { file } => {
            let lines = read_export(&file)?;
            let count = transfer::import(&service, universe, &lines).await?;
            print_line(&json!({"imported": count}));
        }
        Command::Get { entry, version } => {
            let ds = store(&service, universe, &entry)?;
            let found = match &version {
                Some(v) => ds.get_version(&entry.key, v).await?,
                None => ds.get(&entry.key).await?,
            };
            let Some(found) = found else {
                let key = format!("key \"{}\"", entry.key);
                return Err(CliError::NotFound {
                    what: match version {
                        Some(v) => format!("version {v} of {key}"),
                        None => key,
                    },
                    within: format!(
                        "in data store \"{}\" (scope \"{}\")",
                        entry.datastore, entry.scope
                    ),
                    place: place(args, config),
                });
            };
            print_line(&entry_json(Some(found)));
        }
        Command::Set {
            entry,
            value,
            user_ids,
            metadata,
        } => set(&service, universe, &entry, value, user_ids, metadata).await?,
        Command::Increment { entry, by } => {
            let ds = store(&service, universe, &entry)?;
            let (value, info) = ds
                .increment(&entry.key, by, &WriteOptions::default())
                .await?;
            print_line(&json!({"value": value, "keyInfo": key_info_json(&info)}));
        }
        Command::Remove { entry } => {
            let ds = store(&service, universe, &entry)?;
            print_line(&entry_json(ds.remove(&entry.key).await?));
        }
        Command::Keys {
            datastore,
            scope,
            all_scopes,
            prefix,
            exclude_deleted,
        } => {
            let ds = if all_scopes {
                service.data_store_all_scopes(universe, &datastore)?
            } else {
                service.data_store(universe, &datastore, &scope)?
            };
            list_keys(&ds, prefix, exclude_deleted).await?;
        }
        Command::Versions { entry, descending } => {
            list_versions(&store(&service, universe, &entry)?, &entry.key, descending).await?;
        }
        Command::Stores { prefix, command } => match command {
            Some(command) => super::stores::run(command, &service, universe).await?,
            None => list_stores(&service, universe, &prefix).await?,
        },
        Command::Ordered { command } => {
            super::ordered::run(command, &service, universe, place(args, config)).await?;
        }
        Command::Serve { .. }
        | Command::Memory(_)
        | Command::Faults(_)
        | Command::Clock { .. }
        | Command::Budgets(_)
        | Command::Snapshot(_)
        | Command::Cluster(_) => {
            unreachable!("handled above")
        }
        Command::Purge => {
            let stats = service.purge_expired().await?;
            print_line(
                &json!({"versionsRemoved": stats.versions, "entriesRemoved": stats.entries}),
            );
        }
    }
    service.flush().await?;
    Ok(())
}

/// `export`: names are checked before the output file is created.
async fn export(
    service: &DataStoreService,
    universe: u64,
    datastores: &[String],
    out: Option<std::path::PathBuf>,
) -> Result<(), CliError> {
    for name in datastores {
        crate::datastore::validate::data_store_name(name)?;
    }
    let count = match out {
        Some(path) => {
            let mut file = std::io::BufWriter::new(create_output(&path, "")?);
            transfer::export(service, universe, datastores, &mut file).await?
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            transfer::export(service, universe, datastores, &mut stdout).await?
        }
    };
    eprintln!(
        "exported {count} {}",
        if count == 1 { "entry" } else { "entries" }
    );
    Ok(())
}

/// `set`: the value from the argument or stdin (`-`), metadata as a JSON object.
async fn set(
    service: &DataStoreService,
    universe: u64,
    entry: &EntryArgs,
    value: String,
    user_ids: Vec<i64>,
    metadata: Option<String>,
) -> Result<(), CliError> {
    let text = if value == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        buf
    } else {
        value.into_bytes()
    };
    let value = parse_value_text(&text)?;
    let metadata = match metadata {
        Some(m) => match serde_json::from_str::<Value>(&m) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(CliError::Usage(
                    "--metadata must be a JSON object, like '{\"source\":\"cli\"}'".into(),
                ))
            }
        },
        None => Map::new(),
    };
    let ds = store(service, universe, entry)?;
    let info = ds
        .set(&entry.key, &value, &WriteOptions { user_ids, metadata })
        .await?;
    print_line(&key_info_json(&info));
    Ok(())
}

/// `keys`: every page, one line per key.
async fn list_keys(ds: &DataStore, prefix: String, exclude_deleted: bool) -> Result<(), CliError> {
    let mut options = ListKeysOptions {
        prefix,
        exclude_deleted,
        ..ListKeysOptions::default()
    };
    loop {
        let page = ds.list_keys(&options).await?;
        for k in &page.items {
            print_line(&json!({"scope": k.scope, "key": k.key}));
        }
        match page.cursor {
            Some(c) => options.cursor = Some(c),
            None => return Ok(()),
        }
    }
}

/// `versions`: every page, one line per version.
async fn list_versions(ds: &DataStore, key: &str, descending: bool) -> Result<(), CliError> {
    let mut options = ListVersionsOptions {
        order: if descending {
            SortOrder::Descending
        } else {
            SortOrder::Ascending
        },
        ..ListVersionsOptions::default()
    };
    loop {
        let page = ds.list_versions(key, &options).await?;
        for v in &page.items {
            print_line(&json!({
                "version": v.version, "createdTime": v.created_ms,
                "deleted": v.deleted, "contentLength": v.content_length,
            }));
        }
        match page.cursor {
            Some(c) => options.cursor = Some(c),
            None => return Ok(()),
        }
    }
}

/// `stores`: every page, one line per data store.
async fn list_stores(
    service: &DataStoreService,
    universe: u64,
    prefix: &str,
) -> Result<(), CliError> {
    let mut cursor = None;
    loop {
        let page = service
            .list_data_stores(universe, prefix, 0, cursor.as_deref())
            .await?;
        for s in &page.items {
            print_line(
                &json!({"name": s.name, "createdTime": s.created_ms, "updatedTime": s.updated_ms}),
            );
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(()),
        }
    }
}
