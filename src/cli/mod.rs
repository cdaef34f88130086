//! The command line: argument definitions and the data commands.
//!
//! Owns: parsing (`clap`) and running the `profilestore` subcommands. The
//! data commands work on a data folder directly, or, with `--url`, on a
//! running server through its HTTP API (`profile` in `profile.rs`, `export`
//! and `import` in [`crate::transfer`]). Invariants: every command prints JSON
//! (one document or one JSON line per item) on stdout so scripts can read
//! it; errors go to stderr via `main` and exit non-zero; a command that is
//! rejected changes nothing.

mod profile;

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};

use crate::bus::{BusConfig, MessageBus};
use crate::clock::Clock;
use crate::config::{Config, Overrides};
use crate::datastore::{
    parse_value_text, DataStore, DataStoreService, Entry, KeyInfo, ListKeysOptions,
    ListVersionsOptions, Retention, SortOrder, WriteOptions,
};
use crate::plugin_api::Durability;
use crate::storage::StorageKind;
use crate::transfer::{self, create_output, read_export};

/// Why a command failed. Each variant's message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Storage could not be opened.
    #[error(transparent)]
    Open(#[from] crate::storage::OpenError),
    /// A DataStore call was refused.
    #[error(transparent)]
    DataStore(#[from] crate::datastore::DataStoreError),
    /// The storage plugin failed.
    #[error(transparent)]
    Storage(#[from] crate::plugin_api::StorageError),
    /// The server could not run.
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    /// Reading input or writing output failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A ProfileStore operation failed.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// A remote server could not be used.
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    /// The arguments are wrong.
    #[error("{0}")]
    Usage(String),
    /// An export or import failed.
    #[error(transparent)]
    Transfer(#[from] transfer::TransferError),
    /// The server could not start or stopped with an error.
    #[error(transparent)]
    Serve(#[from] crate::serve::ServeError),
}

/// `profilestore`: a local Roblox DataStore and ProfileStore server.
#[derive(Debug, Parser)]
#[command(name = "profilestore", version, about, long_about = None)]
pub struct Cli {
    /// Where and how data is stored.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command. Each overrides `config.toml`.
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// Config file (default: ./config.toml when it exists).
    #[arg(long, global = true, env = "PROFILESTORE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Storage plugin: sqlite (default), sled or memory.
    #[arg(long, global = true, env = "PROFILESTORE_STORAGE")]
    pub storage: Option<StorageKind>,
    /// Data folder (default `data`; created when missing).
    #[arg(long, global = true, env = "PROFILESTORE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `full` (default: fsync every commit), `normal` or `off` (fast, for tests).
    #[arg(long, global = true, env = "PROFILESTORE_DURABILITY")]
    pub durability: Option<Durability>,
    /// Version granularity: every write (default), or the first write per UTC hour.
    #[arg(long, global = true, env = "PROFILESTORE_RETENTION", value_enum)]
    pub retention: Option<RetentionArg>,
    /// Universe (experience) id (default 1).
    #[arg(long, global = true, env = "PROFILESTORE_UNIVERSE")]
    pub universe: Option<u64>,
    /// Work on a running server (`http://HOST:PORT`) instead of a data folder.
    #[arg(long, global = true, env = "PROFILESTORE_URL")]
    pub url: Option<String>,
    /// The API key of the server at `--url`.
    #[arg(
        long = "key",
        id = "remote_api_key",
        global = true,
        env = "PROFILESTORE_API_KEY",
        hide_env_values = true
    )]
    pub remote_key: Option<String>,
}

/// `--retention` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RetentionArg {
    /// Every write is a version.
    PerWrite,
    /// First write per key per UTC hour is a version.
    PerUtcHour,
}

/// An entry's address.
#[derive(Debug, Args)]
pub struct EntryArgs {
    /// Data store name.
    pub datastore: String,
    /// Key.
    pub key: String,
    /// Scope.
    #[arg(long, default_value = "global")]
    pub scope: String,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (Open Cloud DataStore v1 and MessagingService APIs).
    /// Prints `{"listening":"http://ADDR"}` on stdout once it accepts.
    Serve {
        /// Address to listen on (default 127.0.0.1:8787; port 0 picks one).
        #[arg(long, env = "PROFILESTORE_LISTEN")]
        listen: Option<std::net::SocketAddr>,
        /// An accepted `x-api-key` (repeatable; comma-separated in the variable).
        #[arg(
            long = "api-key",
            env = "PROFILESTORE_API_KEYS",
            value_delimiter = ',',
            hide_env_values = true
        )]
        api_keys: Vec<String>,
        /// Load this export (JSON lines) before serving (fixtures).
        #[arg(long)]
        import: Option<PathBuf>,
        /// Write every data store to this file (JSON lines) on shutdown.
        #[arg(long)]
        export_on_exit: Option<PathBuf>,
    },
    /// ProfileStore profiles: show, message, rollback.
    #[command(subcommand_required = true, arg_required_else_help = false)]
    Profile {
        /// What to do.
        #[command(subcommand)]
        command: profile::ProfileCommand,
    },
    /// Write whole data stores as JSON lines (latest live values).
    Export {
        /// A data store to export (repeatable; default: all of the universe).
        #[arg(long = "datastore")]
        datastores: Vec<String>,
        /// Output file (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write the entries of an export (`-` for stdin); checks every line first.
    Import {
        /// The JSON lines file.
        file: PathBuf,
    },
    /// Print an entry's value and key info (or one version's).
    Get {
        /// The entry.
        #[command(flatten)]
        entry: EntryArgs,
        /// A version id from `versions`.
        #[arg(long)]
        version: Option<String>,
    },
    /// Write an entry (value as JSON text, or `-` for stdin).
    Set {
        /// The entry.
        #[command(flatten)]
        entry: EntryArgs,
        /// The value, as JSON.
        value: String,
        /// A user id to attach (repeatable, at most 4).
        #[arg(long = "user-id")]
        user_ids: Vec<i64>,
        /// Metadata, as a JSON object.
        #[arg(long)]
        metadata: Option<String>,
    },
    /// Add to an integer entry.
    Increment {
        /// The entry.
        #[command(flatten)]
        entry: EntryArgs,
        /// Amount.
        #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
        by: i64,
    },
    /// Delete an entry (writes a tombstone version).
    Remove {
        /// The entry.
        #[command(flatten)]
        entry: EntryArgs,
    },
    /// List the keys of a data store, one JSON line each.
    Keys {
        /// Data store name.
        datastore: String,
        /// Scope (ignored with `--all-scopes`).
        #[arg(long, default_value = "global")]
        scope: String,
        /// List every scope; names are `scope/key`.
        #[arg(long)]
        all_scopes: bool,
        /// Key prefix.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Skip deleted keys.
        #[arg(long)]
        exclude_deleted: bool,
    },
    /// List an entry's versions, one JSON line each.
    Versions {
        /// The entry.
        #[command(flatten)]
        entry: EntryArgs,
        /// Newest first.
        #[arg(long)]
        descending: bool,
    },
    /// List the data stores of the universe, one JSON line each.
    Stores {
        /// Name prefix.
        #[arg(long, default_value = "")]
        prefix: String,
    },
    /// Permanently remove expired versions and tombstones now.
    Purge,
}

impl StorageArgs {
    /// The flag and environment overrides these arguments carry.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            storage: self.storage,
            data_dir: self.data_dir.clone(),
            durability: self.durability,
            retention: self.retention.map(|r| match r {
                RetentionArg::PerWrite => Retention::PerWrite,
                RetentionArg::PerUtcHour => Retention::PerUtcHour,
            }),
            universe: self.universe,
            ..Overrides::default()
        }
    }

    /// The log filter: `PROFILESTORE_LOG`, else the config's `[log] level`
    /// for `serve`, else `warn` for the data commands.
    pub fn log_filter(&self, command: &Command) -> String {
        if let Ok(filter) = std::env::var("PROFILESTORE_LOG") {
            return filter;
        }
        match command {
            Command::Serve { .. } => Config::load(self.config.as_deref())
                .map(|c| c.log.level)
                .unwrap_or_else(|_| "info".to_owned()),
            _ => "warn".to_owned(),
        }
    }

    /// The file's settings with these overrides applied.
    pub fn resolve(&self, extra: Overrides) -> Result<Config, CliError> {
        let mut overrides = self.overrides();
        overrides.listen = extra.listen;
        overrides.api_keys = extra.api_keys;
        Ok(Config::load(self.config.as_deref())?.apply(overrides)?)
    }
}

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

/// The service and bus a data command works on: the data folder's, or the
/// server's at `--url`.
fn backends(
    args: &StorageArgs,
    config: &Config,
) -> Result<(DataStoreService, MessageBus), CliError> {
    match &args.url {
        Some(url) => {
            let client = crate::remote::RemoteClient::new(url, args.remote_key.clone())?;
            let clock = Clock::system();
            Ok((
                DataStoreService::remote(client.clone(), clock.clone()),
                MessageBus::remote(client, clock, BusConfig::default()),
            ))
        }
        None => {
            let service = crate::serve::open_datastores(config)?;
            let bus = MessageBus::new(service.clock().clone(), BusConfig::default());
            Ok((service, bus))
        }
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    if let Command::Serve {
        listen,
        api_keys,
        import,
        export_on_exit,
    } = cli.command
    {
        let config = cli.storage.resolve(Overrides {
            listen,
            api_keys,
            ..Overrides::default()
        })?;
        let fixtures = crate::serve::Fixtures {
            import,
            export_on_exit,
        };
        return Ok(crate::serve::serve(config, fixtures).await?);
    }
    let config = cli.storage.resolve(Overrides::default())?;
    let (service, bus) = backends(&cli.storage, &config)?;
    let universe = config.server.universe;
    match cli.command {
        Command::Profile { command } => {
            print_line(&profile::run(command, &service, bus, universe).await?);
        }
        Command::Export { datastores, out } => {
            // Names are checked before the output file is created.
            for name in &datastores {
                crate::datastore::validate::data_store_name(name)?;
            }
            let count = match out {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(create_output(&path, "")?);
                    transfer::export(&service, universe, &datastores, &mut file).await?
                }
                None => {
                    let mut stdout = std::io::stdout().lock();
                    transfer::export(&service, universe, &datastores, &mut stdout).await?
                }
            };
            eprintln!("exported {count} entries");
        }
        Command::Import { file } => {
            let lines = read_export(&file)?;
            let count = transfer::import(&service, universe, &lines).await?;
            print_line(&json!({"imported": count}));
        }
        Command::Get { entry, version } => {
            let ds = store(&service, universe, &entry)?;
            let found = match version {
                Some(v) => ds.get_version(&entry.key, &v).await?,
                None => ds.get(&entry.key).await?,
            };
            print_line(&entry_json(found));
        }
        Command::Set {
            entry,
            value,
            user_ids,
            metadata,
        } => {
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
            let ds = store(&service, universe, &entry)?;
            let info = ds
                .set(&entry.key, &value, &WriteOptions { user_ids, metadata })
                .await?;
            print_line(&key_info_json(&info));
        }
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
                    None => break,
                }
            }
        }
        Command::Versions { entry, descending } => {
            let ds = store(&service, universe, &entry)?;
            let mut options = ListVersionsOptions {
                order: if descending {
                    SortOrder::Descending
                } else {
                    SortOrder::Ascending
                },
                ..ListVersionsOptions::default()
            };
            loop {
                let page = ds.list_versions(&entry.key, &options).await?;
                for v in &page.items {
                    print_line(&json!({
                        "version": v.version, "createdTime": v.created_ms,
                        "deleted": v.deleted, "contentLength": v.content_length,
                    }));
                }
                match page.cursor {
                    Some(c) => options.cursor = Some(c),
                    None => break,
                }
            }
        }
        Command::Stores { prefix } => {
            let mut cursor = None;
            loop {
                let page = service
                    .list_data_stores(universe, &prefix, 0, cursor.as_deref())
                    .await?;
                for s in &page.items {
                    print_line(
                        &json!({"name": s.name, "createdTime": s.created_ms, "updatedTime": s.updated_ms}),
                    );
                }
                match page.cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        Command::Serve { .. } => unreachable!("handled above"),
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
