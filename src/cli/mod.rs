//! The command line: argument definitions and the data commands.
//!
//! Owns: parsing (`clap`) and running the `profilestore` subcommands. The
//! data commands work on a data folder directly, or, with `--url`, on a
//! running server through its HTTP API (`profile` in `profile.rs`, `export`
//! and `import` in [`crate::transfer`]). Invariants: stdout carries only
//! JSON (one document or one JSON line per item) so scripts can read it;
//! stderr carries logs, progress, counts and errors (`error: ...` via
//! `main`, exit non-zero, also for a key that is not found); a command
//! that is rejected changes nothing; `--url`/`--key` belong to the data
//! commands, never to `serve`.

mod budgets;
mod clock;
mod cluster;
mod data;
mod faults;
mod memory;
mod ordered;
mod profile;
mod server;
mod snapshot;
mod stores;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Config, Overrides};
use crate::datastore::Retention;
use crate::plugin_api::Durability;
use crate::storage::StorageKind;
use crate::transfer;

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
    /// An ordered data store call was refused.
    #[error(transparent)]
    Ordered(#[from] crate::ordered::OrderedError),
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
    /// What a command asked for is not there (`get` of a missing key).
    #[error("{what} not found {within} {place}")]
    NotFound {
        /// What was looked for, e.g. `key "k"`.
        what: String,
        /// What holds it, e.g. `in data store "D" (scope "global")`.
        within: String,
        /// Where: `in /path/data (sqlite)`, or `on the server at URL`.
        place: String,
    },
    /// A command that only works on existing data was pointed at a data
    /// folder (or a plugin's data in it) that does not exist; nothing was
    /// created.
    #[error("{0}; pass --data-dir DIR for the folder that holds the data, or --url URL to work on a running server (nothing was created)")]
    NoData(String),
}

/// `profilestore`: a local Roblox DataStore and ProfileStore server.
#[derive(Debug, Parser)]
#[command(
    name = "profilestore",
    version,
    about,
    long_about = None,
    after_help = OUTPUT_HELP
)]
pub struct Cli {
    /// Where and how data is stored.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Which server the data commands work on (`--url`, `--key`): accepted
    /// before the command or after a data command's name, never by `serve`.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// What goes where, at the end of `--help`.
const OUTPUT_HELP: &str = "\
Output: stdout carries only JSON (one document, or one JSON line per item; \
`serve` prints one `{\"listening\":\"http://ADDR\"}` line). stderr carries \
everything for people: logs, progress and counts (`exported 2 entries`), \
and errors as one `error: ...` line, with a non-zero exit code (also for a \
key that is not found).";

/// The data commands: every subcommand but `serve`.
const DATA_COMMANDS: &[&str] = &[
    "profile",
    "export",
    "import",
    "get",
    "set",
    "increment",
    "remove",
    "keys",
    "versions",
    "stores",
    "purge",
    "ordered",
    "memory",
    "faults",
    "clock",
    "budgets",
    "snapshot",
    "cluster",
];

/// The connection of the data commands to a running server. Not `serve`'s:
/// a server serves its own `--data-dir` and accepts keys with `--api-key`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Server connection (data commands)")]
pub struct ConnectionArgs {
    /// Work on a running server (`http://HOST:PORT`) instead of a data folder.
    #[arg(long, env = "PROFILESTORE_URL")]
    pub url: Option<String>,
    /// An API key the server at `--url` accepts (one of its `--api-key`s).
    #[arg(
        long = "key",
        id = "remote_api_key",
        value_name = "KEY",
        env = "PROFILESTORE_API_KEY",
        hide_env_values = true
    )]
    pub remote_key: Option<String>,
    /// A PEM file of certificates to trust for an `https://` `--url`
    /// besides the public CAs (a private CA, or a self-signed server
    /// certificate).
    #[arg(long, value_name = "FILE", env = "PROFILESTORE_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

impl ConnectionArgs {
    /// The client of the server at `url`, with `--key` and `--ca-cert`.
    pub fn client(&self, url: &str) -> Result<crate::remote::RemoteClient, CliError> {
        Ok(crate::remote::RemoteClient::with_ca_cert(
            url,
            self.remote_key.clone(),
            self.ca_cert.as_deref(),
        )?)
    }
}

impl Cli {
    /// The command line with the connection options on every data command
    /// too (so `get ... --url U` works, while `serve --help` does not list
    /// them).
    pub fn command_line() -> clap::Command {
        use clap::CommandFactory;
        let connection: Vec<clap::Arg> =
            ConnectionArgs::augment_args(clap::Command::new("connection"))
                .get_arguments()
                .map(|a| a.clone().global(true))
                .collect();
        let mut command = Cli::command();
        for name in DATA_COMMANDS {
            let args = connection.clone();
            command = command.mut_subcommand(name, |sub| sub.args(args));
        }
        command
    }

    /// Parses the process's arguments (exits with clap's message on a
    /// usage error, e.g. `--url` given to `serve`).
    pub fn parse_args() -> Cli {
        use clap::FromArgMatches;
        let mut command = Cli::command_line();
        let matches = command.get_matches_mut();
        let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit());
        if matches!(cli.command, Command::Serve { .. }) {
            for (id, flag) in [
                ("url", "--url"),
                ("remote_api_key", "--key"),
                ("ca_cert", "--ca-cert"),
            ] {
                if matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
                    command
                        .error(
                            clap::error::ErrorKind::ArgumentConflict,
                            format!(
                                "`{flag}` is for the data commands (get, set, ...) working on a server; \
                                 `serve` serves its own --data-dir and accepts keys with --api-key"
                            ),
                        )
                        .exit();
                }
            }
        }
        cli
    }
}

/// Options shared by every command. Each overrides `config.toml`.
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// Config file (default: ./config.toml when it exists).
    #[arg(long, global = true, env = "PROFILESTORE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Storage plugin: sqlite (default), sled, memory or postgres.
    #[arg(long, global = true, env = "PROFILESTORE_STORAGE")]
    pub storage: Option<StorageKind>,
    /// Data folder (default `data`; `serve` and the commands that write
    /// create it, the others need it to exist).
    #[arg(long, global = true, env = "PROFILESTORE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `full` (default: fsync every commit), `normal` or `off` (fast, for tests).
    #[arg(long, global = true, env = "PROFILESTORE_DURABILITY")]
    pub durability: Option<Durability>,
    /// Database of `--storage postgres` (postgres://user:password@host:port/db).
    #[arg(long, global = true, env = "PROFILESTORE_POSTGRES_URL")]
    pub postgres_url: Option<String>,
    /// Version granularity: every write (default), or the first write per UTC hour.
    #[arg(long, global = true, env = "PROFILESTORE_RETENTION", value_enum)]
    pub retention: Option<RetentionArg>,
    /// Universe (experience) id (default 1).
    #[arg(long, global = true, env = "PROFILESTORE_UNIVERSE")]
    pub universe: Option<u64>,
}

/// `--retention` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RetentionArg {
    /// Every write is a version (also spelled `per_write`, as in `config.toml`).
    #[value(alias = "per_write")]
    PerWrite,
    /// First write per key per UTC hour is a version (also `per_utc_hour`).
    #[value(alias = "per_utc_hour")]
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

/// `serve`'s `[cluster]` flags (each overrides `config.toml`).
#[derive(Clone, Debug, Default, clap::Args)]
#[command(next_help_heading = "Cluster (several nodes on one database)")]
pub struct ClusterFlags {
    /// Join the other nodes on the same storage as one service
    /// (`[cluster] enabled`); `=false` turns it off.
    #[arg(long, env = "PROFILESTORE_CLUSTER", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub cluster: Option<bool>,
    /// This node's id (`[cluster] node_id`; default: random at each start).
    #[arg(long, env = "PROFILESTORE_NODE_ID")]
    pub node_id: Option<String>,
    /// The URL other nodes reach this one at (`[cluster] advertise_url`;
    /// default: http:// and the listen address).
    #[arg(long, env = "PROFILESTORE_ADVERTISE_URL")]
    pub advertise_url: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (Open Cloud data stores, ordered data stores, memory
    /// stores and messaging; the engine and session APIs).
    /// Prints `{"listening":"http://ADDR"}` on stdout once it accepts
    /// (`https://` with --tls-cert).
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
        /// The emulator controls (/emulator/v1): on by default on loopback
        /// only; `--emulator-controls` turns them on anywhere, `=false` off.
        #[arg(long, env = "PROFILESTORE_EMULATOR_CONTROLS", num_args = 0..=1,
              default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
        emulator_controls: Option<bool>,
        /// Serve HTTPS with this PEM certificate chain (with --tls-key).
        #[arg(
            long,
            value_name = "FILE",
            env = "PROFILESTORE_TLS_CERT",
            requires = "tls_key"
        )]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(
            long,
            value_name = "FILE",
            env = "PROFILESTORE_TLS_KEY",
            requires = "tls_cert"
        )]
        tls_key: Option<PathBuf>,
        /// Log lines as `text` (default) or `json` (one object a line).
        #[arg(long, value_name = "FORMAT", env = "PROFILESTORE_LOG_FORMAT")]
        log_format: Option<crate::config::LogFormat>,
        /// `[cluster]`: this server as one node of several on one database.
        #[command(flatten)]
        cluster: ClusterFlags,
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
    /// List the data stores of the universe, one JSON line each; or manage
    /// them (`list --deleted`, `delete`, `undelete`, `snapshot`).
    Stores {
        /// Name prefix.
        #[arg(long, default_value = "")]
        prefix: String,
        /// A management subcommand (none: list live data stores).
        #[command(subcommand)]
        command: Option<stores::StoresCommand>,
    },
    /// Permanently remove expired versions and tombstones now.
    Purge,
    /// Ordered data stores (leaderboards): top, get, set, remove.
    Ordered {
        /// What to do.
        #[command(subcommand)]
        command: ordered::OrderedCommand,
    },
    /// What the memory stores (MemoryStoreService) of a running server
    /// hold: they live in its memory, so this needs `--url` or a server
    /// serving the data folder.
    #[command(subcommand)]
    Memory(memory::MemoryCommand),
    /// The emulator's faults on a running server: add, list, clear.
    #[command(subcommand)]
    Faults(faults::FaultsCommand),
    /// A running server's clock (`--url`, or the server serving the data
    /// folder): prints it; `clock advance 10m` moves it ahead.
    Clock {
        /// What to do (none: show the clock).
        #[command(subcommand)]
        command: Option<clock::ClockCommand>,
    },
    /// Roblox's request budgets of the universe on a running server: show
    /// them, or turn them `on` / `off`.
    Budgets(budgets::BudgetsArgs),
    /// The emulator's snapshots of a running server's data (`--url`):
    /// save, restore, list, delete.
    #[command(subcommand)]
    Snapshot(snapshot::SnapshotCommand),
    /// A running server's cluster (`--url`): `cluster nodes` lists the
    /// live nodes.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
}

impl Command {
    /// Whether the command only reads or changes data that already exists,
    /// so a missing data folder is a mistake (a forgotten `--url` or
    /// `--data-dir`) rather than a folder to create. `set`, `increment`,
    /// `import` and `profile message` create it.
    pub fn needs_existing_data(&self) -> bool {
        match self {
            Command::Serve { .. }
            | Command::Set { .. }
            | Command::Increment { .. }
            | Command::Import { .. }
            | Command::Memory(_)
            | Command::Faults(_)
            | Command::Clock { .. }
            | Command::Budgets(_)
            | Command::Snapshot(_)
            | Command::Cluster(_) => false,
            Command::Profile { command } => {
                !matches!(command, profile::ProfileCommand::Message { .. })
            }
            Command::Ordered { command } => command.needs_existing_data(),
            Command::Export { .. }
            | Command::Get { .. }
            | Command::Remove { .. }
            | Command::Keys { .. }
            | Command::Versions { .. }
            | Command::Stores { .. }
            | Command::Purge => true,
        }
    }
}

impl StorageArgs {
    /// The flag and environment overrides these arguments carry.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            storage: self.storage,
            data_dir: self.data_dir.clone(),
            durability: self.durability,
            postgres_url: self.postgres_url.clone(),
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

    /// The log format: `serve --log-format` (or PROFILESTORE_LOG_FORMAT),
    /// else the config's `[log] format`; text for the data commands.
    pub fn log_format(&self, command: &Command) -> crate::config::LogFormat {
        match command {
            Command::Serve {
                log_format: Some(f),
                ..
            } => *f,
            Command::Serve { .. } => Config::load(self.config.as_deref())
                .map(|c| c.log.format)
                .unwrap_or_default(),
            _ => crate::config::LogFormat::Text,
        }
    }

    /// The file's settings with these overrides applied.
    pub fn resolve(&self, extra: Overrides) -> Result<Config, CliError> {
        let mut overrides = self.overrides();
        overrides.listen = extra.listen;
        overrides.api_keys = extra.api_keys;
        overrides.emulator_controls = extra.emulator_controls;
        overrides.tls_cert = extra.tls_cert;
        overrides.tls_key = extra.tls_key;
        overrides.cluster = extra.cluster;
        overrides.node_id = extra.node_id;
        overrides.advertise_url = extra.advertise_url;
        Ok(Config::load(self.config.as_deref())?.apply(overrides)?)
    }
}

/// Whether log lines on stderr are coloured: only when stderr is a
/// terminal and `NO_COLOR` is unset or empty (<https://no-color.org>).
pub fn log_colour() -> bool {
    use std::io::IsTerminal;
    colour_wanted(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// [`log_colour`]'s rule, given what it reads.
fn colour_wanted(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Refuses to start a server without keys while `PROFILESTORE_API_KEY`
/// (the data commands' variable, singular) is set: its user meant the
/// server to require that key, and it would accept every request.
fn check_server_keys(config: &Config, cli_key: Option<&std::ffi::OsStr>) -> Result<(), CliError> {
    if !config.takes_keys() && cli_key.is_some_and(|k| !k.is_empty()) {
        return Err(CliError::Usage(
            "PROFILESTORE_API_KEY is set, but it is the data commands' key (their --key); \
             `serve` reads its keys from --api-key or PROFILESTORE_API_KEYS (plural) or \
             config.toml's [server] api_keys, and none is set, so this server would accept \
             requests without a key. Set PROFILESTORE_API_KEYS (e.g. \
             PROFILESTORE_API_KEYS=\"$PROFILESTORE_API_KEY\"), or unset PROFILESTORE_API_KEY \
             to serve without a key"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Runs one command: `serve`, or a data command on the data folder or, with
/// `--url`, on a server.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    if let Command::Serve {
        listen,
        api_keys,
        import,
        export_on_exit,
        emulator_controls,
        tls_cert,
        tls_key,
        log_format: _,
        cluster,
    } = cli.command
    {
        let config = cli.storage.resolve(Overrides {
            listen,
            api_keys,
            emulator_controls,
            tls_cert,
            tls_key,
            cluster: cluster.cluster,
            node_id: cluster.node_id,
            advertise_url: cluster.advertise_url,
            ..Overrides::default()
        })?;
        check_server_keys(&config, std::env::var_os("PROFILESTORE_API_KEY").as_deref())?;
        let fixtures = crate::serve::Fixtures {
            import,
            export_on_exit,
        };
        return Ok(crate::serve::serve(config, fixtures).await?);
    }
    let config = cli.storage.resolve(Overrides::default())?;
    if let Command::Budgets(args) = cli.command {
        return budgets::run(args, &cli.connection, &config).await;
    }
    if let Command::Memory(command) = cli.command {
        return memory::run(command, &cli.connection, &config).await;
    }
    if let Command::Faults(command) = cli.command {
        return faults::run(command, &cli.connection, &config, cli.storage.universe).await;
    }
    if let Command::Clock { command } = cli.command {
        return clock::run(command, &cli.connection, &config).await;
    }
    if let Command::Snapshot(command) = cli.command {
        return snapshot::run(command, &cli.connection, &config).await;
    }
    if let Command::Cluster(command) = cli.command {
        return cluster::run(command, &cli.connection, &config).await;
    }
    data::run(cli.command, &cli.connection, &config).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour_wanted(true, None));
        assert!(
            colour_wanted(true, Some(OsStr::new(""))),
            "an empty NO_COLOR is unset"
        );
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        assert!(!colour_wanted(false, None));
        assert!(!colour_wanted(false, Some(OsStr::new(""))));
    }
}
