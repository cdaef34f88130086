//! `config.toml`: the settings of a profilestore server, with defaults.
//!
//! Owns: the settings' shape, their defaults, reading the file and applying
//! overrides. Invariants: an unknown key is an error naming the key; the
//! precedence is built-in default < file < environment variable < flag
//! (environment and flags arrive together as [`Overrides`], resolved by
//! clap); every value is validated here, before anything starts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

mod emulator;
mod history;
mod network;
pub use emulator::EmulatorSection;
pub use history::HistorySection;
pub use network::{KeyEntry, LogFormat};
mod cluster;
pub use cluster::ClusterSection;
mod metrics;
pub use metrics::MetricsSection;

use crate::datastore::{DataStoreConfig, Retention};
use crate::plugin_api::Durability;
use crate::storage::{StorageConfig, StorageKind};

/// The default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// The longest duration setting, in seconds (about 31 years).
pub const MAX_SECONDS: f64 = 1e9;

/// The most connections or long-polls a server can be told to hold.
pub const MAX_SLOTS: usize = 1_000_000;

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (names the key and line).
        message: String,
    },
    /// A value is out of range.
    #[error("invalid setting `{key}`: {message}")]
    Invalid {
        /// The setting, as `section.key`.
        key: &'static str,
        /// What is wrong and what is accepted.
        message: String,
    },
}

/// The whole file. Every section and key is optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[server]`
    pub server: ServerSection,
    /// `[storage]`
    pub storage: StorageSection,
    /// `[datastore]`
    pub datastore: DataStoreSection,
    /// `[messaging]`
    pub messaging: MessagingSection,
    /// `[memory_store]`.
    pub memory_store: MemoryStoreSection,
    /// `[engine]`
    pub engine: EngineSection,
    /// `[log]`
    pub log: LogSection,
    /// `[emulator]`
    pub emulator: EmulatorSection,
    /// `[budgets]`
    pub budgets: BudgetsSection,
    /// `[cluster]`
    pub cluster: ClusterSection,
    /// `[history]`
    pub history: HistorySection,
    /// `[metrics]`
    pub metrics: MetricsSection,
}

/// `[budgets]`: Roblox's request budgets for every universe not set at
/// run time (`PUT /emulator/v1/universes/{u}/budgets`). Off by default:
/// the CLI, imports and tools would be throttled at 300 requests a minute.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetsSection {
    /// Budget every universe (default false).
    pub enabled: bool,
    /// The concurrent users the experience limits are computed for (0).
    pub concurrent_users: u64,
}

/// `[server]`: the HTTP endpoint.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address to listen on (default `127.0.0.1:8787`; port 0 picks one).
    pub listen: SocketAddr,
    /// Accepted `x-api-key` values. Without any, only loopback is allowed.
    pub api_keys: Vec<String>,
    /// Largest request body in bytes (default 4 MiB + 64 KiB).
    pub max_body_bytes: usize,
    /// Open connections served at once (default 1024); further clients wait
    /// in the listen backlog.
    pub max_connections: usize,
    /// Long-polls waiting at once (default 512); more answer 429.
    pub max_long_polls: usize,
    /// Seconds a client may take to send a request's head; also how long
    /// an idle keep-alive connection stays open (default 30).
    pub header_read_timeout_secs: f64,
    /// Seconds a request body may take to arrive, else a 408 (default 60).
    pub body_read_timeout_secs: f64,
    /// Universe id used when a client does not name one (CLI, engine).
    pub universe: u64,
    /// Session API: seconds a game server may make no call before its
    /// sessions are dropped as a crashed server's (default 60).
    pub session_lease_secs: f64,
    /// `[[server.keys]]`: API keys with scopes (see `http::scopes`).
    pub keys: Vec<KeyEntry>,
    /// A PEM certificate chain: serve HTTPS (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            api_keys: Vec::new(),
            max_body_bytes: 4 * 1024 * 1024 + 64 * 1024,
            max_connections: 1024,
            max_long_polls: 512,
            header_read_timeout_secs: crate::http::HEADER_READ_TIMEOUT.as_secs_f64(),
            body_read_timeout_secs: crate::http::request::BODY_READ_TIMEOUT.as_secs_f64(),
            universe: 1,
            session_lease_secs: 60.0,
            keys: Vec::new(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// `[storage]`: the storage plugin.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    /// `sqlite` (default), `sled`, `memory` or `postgres`.
    pub plugin: StorageKind,
    /// Data folder (default `data`, relative to the working directory).
    pub data_dir: PathBuf,
    /// `full` (default), `normal` or `off`.
    pub durability: Durability,
    /// The database of the `postgres` plugin.
    pub postgres_url: Option<String>,
}

impl Default for StorageSection {
    fn default() -> Self {
        let defaults = StorageConfig::default();
        StorageSection {
            plugin: defaults.kind,
            data_dir: defaults.data_dir,
            durability: defaults.durability,
            postgres_url: defaults.postgres_url,
        }
    }
}

/// `[datastore]`: versions.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataStoreSection {
    /// `per_write` (default) or `per_utc_hour`.
    pub retention: Retention,
    /// Days a superseded version or tombstone is kept (default 30).
    pub version_expiry_days: f64,
    /// How often expired versions are purged, in seconds (default 3600).
    pub purge_interval_secs: f64,
}

impl Default for DataStoreSection {
    fn default() -> Self {
        DataStoreSection {
            retention: Retention::PerWrite,
            version_expiry_days: 30.0,
            purge_interval_secs: 3600.0,
        }
    }
}

/// `[messaging]`: the message bus.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessagingSection {
    /// How long published messages stay readable by long-polls (default 120 s).
    pub retention_secs: f64,
    /// How many messages per topic stay readable (default 1000).
    pub retention_messages: usize,
    /// `local` (this process is the service; the default) or `shared`
    /// (through the storage's message log, for several nodes on one
    /// database).
    pub delivery: BusDelivery,
    /// Shared delivery: how often a node reads the log for other nodes'
    /// messages when no wake-up hint came (default 0.025 s).
    pub poll_interval_secs: f64,
}

/// `messaging.delivery`: where the bus's messages travel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusDelivery {
    /// In this process only.
    #[default]
    Local,
    /// Through the storage plugin's shared message log, to every node.
    Shared,
}

impl Default for MessagingSection {
    fn default() -> Self {
        MessagingSection {
            retention_secs: 120.0,
            retention_messages: 1000,
            delivery: BusDelivery::Local,
            poll_interval_secs: 0.025,
        }
    }
}

/// `[memory_store]`: MemoryStoreService.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryStoreSection {
    /// The concurrent users each universe's memory quota is computed for
    /// (Roblox: 64 KB + 1.2 KB x users; default 1000, about 1.2 MB).
    pub users: u64,
    /// Keep the memory stores in the storage plugin's shared records, so
    /// every `serve` node on one database sees one set (default false:
    /// this process's memory, lost at exit, as on Roblox).
    pub shared: bool,
}

impl Default for MemoryStoreSection {
    fn default() -> Self {
        MemoryStoreSection {
            users: crate::memorystore::MemoryConfig::default().users,
            shared: false,
        }
    }
}

/// `[engine]`: ProfileStore's constants, in seconds unless named otherwise.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    /// `AUTO_SAVE_PERIOD` (300).
    pub auto_save_period_secs: f64,
    /// `LOAD_REPEAT_PERIOD` (10).
    pub load_repeat_period_secs: f64,
    /// `FIRST_LOAD_REPEAT` (5).
    pub first_load_repeat_secs: f64,
    /// `SESSION_STEAL` (40).
    pub session_steal_secs: f64,
    /// `ASSUME_DEAD` (630).
    pub assume_dead_secs: f64,
    /// `START_SESSION_TIMEOUT` (120).
    pub start_session_timeout_secs: f64,
    /// `CRITICAL_STATE_ERROR_COUNT` (5).
    pub critical_state_error_count: usize,
    /// `CRITICAL_STATE_ERROR_EXPIRE` (120).
    pub critical_state_error_expire_secs: f64,
    /// `CRITICAL_STATE_EXPIRE` (120).
    pub critical_state_expire_secs: f64,
    /// `MAX_MESSAGE_QUEUE` (1000).
    pub max_message_queue: usize,
}

impl Default for EngineSection {
    fn default() -> Self {
        EngineSection {
            auto_save_period_secs: 300.0,
            load_repeat_period_secs: 10.0,
            first_load_repeat_secs: 5.0,
            session_steal_secs: 40.0,
            assume_dead_secs: 630.0,
            start_session_timeout_secs: 120.0,
            critical_state_error_count: 5,
            critical_state_error_expire_secs: 120.0,
            critical_state_expire_secs: 120.0,
            max_message_queue: 1000,
        }
    }
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// A `tracing` filter: `error`, `warn`, `info` (default), `debug`, or
    /// per-module directives. `PROFILESTORE_LOG` overrides it.
    pub level: String,
    /// `text` (default) or `json` (one JSON object a line, for log
    /// shippers). `--log-format` / `PROFILESTORE_LOG_FORMAT` override it.
    pub format: LogFormat,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// Values from flags and environment variables; `None` keeps the file's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// `--listen` / `PROFILESTORE_LISTEN`.
    pub listen: Option<SocketAddr>,
    /// `--api-key` (repeatable) / `PROFILESTORE_API_KEYS` (comma-separated).
    pub api_keys: Vec<String>,
    /// `--storage` / `PROFILESTORE_STORAGE`.
    pub storage: Option<StorageKind>,
    /// `--data-dir` / `PROFILESTORE_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--durability` / `PROFILESTORE_DURABILITY`.
    pub durability: Option<Durability>,
    /// `--postgres-url` / `PROFILESTORE_POSTGRES_URL`.
    pub postgres_url: Option<String>,
    /// `--retention` / `PROFILESTORE_RETENTION`.
    pub retention: Option<Retention>,
    /// `--universe` / `PROFILESTORE_UNIVERSE`.
    pub universe: Option<u64>,
    /// `--emulator-controls` / `PROFILESTORE_EMULATOR_CONTROLS`.
    pub emulator_controls: Option<bool>,
    /// `--tls-cert` / `PROFILESTORE_TLS_CERT`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key` / `PROFILESTORE_TLS_KEY`.
    pub tls_key: Option<PathBuf>,
    /// `--cluster` / `PROFILESTORE_CLUSTER`.
    pub cluster: Option<bool>,
    /// `--node-id` / `PROFILESTORE_NODE_ID`.
    pub node_id: Option<String>,
    /// `--advertise-url` / `PROFILESTORE_ADVERTISE_URL`.
    pub advertise_url: Option<String>,
}

impl Config {
    /// Parses TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads `path`; with `None`, reads `./config.toml` when it exists and
    /// uses the defaults otherwise.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let (path, required) = match path {
            Some(p) => (p.to_owned(), true),
            None => (PathBuf::from("config.toml"), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::from_toml(&text, &path),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// Applies flag and environment overrides, then validates again.
    pub fn apply(mut self, o: Overrides) -> Result<Config, ConfigError> {
        if let Some(v) = o.listen {
            self.server.listen = v;
        }
        if !o.api_keys.is_empty() {
            self.server.api_keys = o.api_keys;
        }
        if let Some(v) = o.storage {
            self.storage.plugin = v;
        }
        if let Some(v) = o.data_dir {
            self.storage.data_dir = v;
        }
        if let Some(v) = o.durability {
            self.storage.durability = v;
        }
        if let Some(v) = o.postgres_url {
            self.storage.postgres_url = Some(v);
        }
        if let Some(v) = o.retention {
            self.datastore.retention = v;
        }
        if let Some(v) = o.universe {
            self.server.universe = v;
        }
        if let Some(v) = o.emulator_controls {
            self.emulator.controls = Some(v);
        }
        if let Some(v) = o.tls_cert {
            self.server.tls_cert = Some(v);
        }
        if let Some(v) = o.tls_key {
            self.server.tls_key = Some(v);
        }
        if let Some(v) = o.cluster {
            self.cluster.enabled = v;
        }
        if let Some(v) = o.node_id {
            self.cluster.node_id = Some(v);
        }
        if let Some(v) = o.advertise_url {
            self.cluster.advertise_url = Some(v);
        }
        self.share_a_shared_database();
        self.validate()?;
        Ok(self)
    }

    /// A PostgreSQL database is shared by design: every server on it is a
    /// node of one cluster, whose messages, memory stores and membership
    /// live in the database. (The other plugins keep what the file says:
    /// one server owns a SQLite file or a sled folder.)
    fn share_a_shared_database(&mut self) {
        if self.storage.plugin == StorageKind::Postgres {
            self.cluster.enabled = true;
            self.messaging.delivery = BusDelivery::Shared;
            self.memory_store.shared = true;
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        // Every duration setting becomes a `Duration` (which panics on
        // values past its range) and millisecond arithmetic: cap them at
        // about 31 years.
        fn positive(key: &'static str, v: f64) -> Result<(), ConfigError> {
            within(key, v, MAX_SECONDS, "seconds")
        }
        fn within(key: &'static str, v: f64, max: f64, unit: &str) -> Result<(), ConfigError> {
            if v.is_finite() && v > 0.0 && v <= max {
                Ok(())
            } else {
                Err(ConfigError::Invalid {
                    key,
                    message: format!("{v} is not a positive number of {unit} up to {max}"),
                })
            }
        }
        let d = &self.datastore;
        within(
            "datastore.version_expiry_days",
            d.version_expiry_days,
            MAX_SECONDS / 86_400.0,
            "days",
        )?;
        positive("datastore.purge_interval_secs", d.purge_interval_secs)?;
        positive("messaging.retention_secs", self.messaging.retention_secs)?;
        positive(
            "messaging.poll_interval_secs",
            self.messaging.poll_interval_secs,
        )?;
        let e = &self.engine;
        for (key, v) in [
            ("engine.auto_save_period_secs", e.auto_save_period_secs),
            ("engine.load_repeat_period_secs", e.load_repeat_period_secs),
            ("engine.first_load_repeat_secs", e.first_load_repeat_secs),
            ("engine.session_steal_secs", e.session_steal_secs),
            ("engine.assume_dead_secs", e.assume_dead_secs),
            (
                "engine.start_session_timeout_secs",
                e.start_session_timeout_secs,
            ),
            (
                "engine.critical_state_error_expire_secs",
                e.critical_state_error_expire_secs,
            ),
            (
                "engine.critical_state_expire_secs",
                e.critical_state_expire_secs,
            ),
        ] {
            positive(key, v)?;
        }
        if e.critical_state_error_count == 0 || e.max_message_queue == 0 {
            return Err(ConfigError::Invalid {
                key: "engine",
                message: "critical_state_error_count and max_message_queue must be at least 1"
                    .into(),
            });
        }
        let s = &self.server;
        for (key, v) in [
            ("server.session_lease_secs", s.session_lease_secs),
            (
                "server.header_read_timeout_secs",
                s.header_read_timeout_secs,
            ),
            ("server.body_read_timeout_secs", s.body_read_timeout_secs),
        ] {
            positive(key, v)?;
        }
        if self.server.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid {
                key: "server.max_body_bytes",
                message: "must be at least 1024".into(),
            });
        }
        for (key, v) in [
            ("server.max_connections", self.server.max_connections),
            ("server.max_long_polls", self.server.max_long_polls),
        ] {
            if !(1..=MAX_SLOTS).contains(&v) {
                return Err(ConfigError::Invalid {
                    key,
                    message: format!("{v} is not from 1 to {MAX_SLOTS}"),
                });
            }
        }
        self.cluster.validate()?;
        self.history.validate()?;
        self.metrics.validate()?;
        if self.server.api_keys.iter().any(String::is_empty) {
            return Err(ConfigError::Invalid {
                key: "server.api_keys",
                message: "an API key cannot be empty".into(),
            });
        }
        network::validate(&self.server)?;
        Ok(())
    }

    /// The storage settings.
    pub fn storage_config(&self) -> StorageConfig {
        StorageConfig {
            kind: self.storage.plugin,
            data_dir: self.storage.data_dir.clone(),
            durability: self.storage.durability,
            postgres_url: self.storage.postgres_url.clone(),
        }
    }

    /// The engine's constants.
    pub fn engine_config(&self) -> crate::engine::EngineConfig {
        let e = &self.engine;
        crate::engine::EngineConfig {
            auto_save_period: Duration::from_secs_f64(e.auto_save_period_secs),
            load_repeat_period: Duration::from_secs_f64(e.load_repeat_period_secs),
            first_load_repeat: Duration::from_secs_f64(e.first_load_repeat_secs),
            session_steal: Duration::from_secs_f64(e.session_steal_secs),
            assume_dead: Duration::from_secs_f64(e.assume_dead_secs),
            start_session_timeout: Duration::from_secs_f64(e.start_session_timeout_secs),
            max_message_queue: e.max_message_queue,
            critical_state_error_count: e.critical_state_error_count,
            critical_state_error_expire: Duration::from_secs_f64(
                e.critical_state_error_expire_secs,
            ),
            critical_state_expire: Duration::from_secs_f64(e.critical_state_expire_secs),
            ..crate::engine::EngineConfig::default()
        }
    }

    /// The memory stores' settings.
    pub fn memory_config(&self) -> crate::memorystore::MemoryConfig {
        crate::memorystore::MemoryConfig {
            users: self.memory_store.users,
        }
    }

    /// The message bus's settings.
    pub fn bus_config(&self) -> crate::bus::BusConfig {
        crate::bus::BusConfig {
            retention_messages: self.messaging.retention_messages,
            retention: Duration::from_secs_f64(self.messaging.retention_secs),
            ..crate::bus::BusConfig::default()
        }
    }

    /// The shared bus delivery's settings (`messaging.delivery = "shared"`).
    pub fn shared_bus_config(&self) -> crate::bus::SharedBusConfig {
        crate::bus::SharedBusConfig {
            poll_interval: Duration::from_secs_f64(self.messaging.poll_interval_secs),
            ..crate::bus::SharedBusConfig::default()
        }
    }

    /// The session host's settings.
    pub fn host_config(&self) -> crate::sessions::HostConfig {
        crate::sessions::HostConfig {
            engine: self.engine_config(),
            lease: Duration::from_secs_f64(self.server.session_lease_secs),
        }
    }

    /// The HTTP server's caps and time limits.
    pub fn limits(&self) -> crate::http::Limits {
        let s = &self.server;
        crate::http::Limits::new(s.max_connections, s.max_long_polls)
            .with_header_read_timeout(Duration::from_secs_f64(s.header_read_timeout_secs))
            .with_body_read_timeout(Duration::from_secs_f64(s.body_read_timeout_secs))
    }

    /// Who may use the emulator controls on this server's address.
    pub fn controls(&self) -> crate::http::Controls {
        crate::http::Controls::new(self.server.listen, self.emulator.controls)
    }

    /// The budgets of a universe not set at run time.
    pub fn budgets(&self) -> crate::budgets::Settings {
        crate::budgets::Settings {
            enabled: self.budgets.enabled,
            concurrent_users: self.budgets.concurrent_users,
        }
    }

    /// How often expired versions are purged.
    pub fn purge_interval(&self) -> Duration {
        Duration::from_secs_f64(self.datastore.purge_interval_secs)
    }

    /// The session lock history's settings.
    pub fn history_config(&self) -> crate::history::HistoryConfig {
        self.history.config(&self.engine_config())
    }

    /// The DataStore layer's settings.
    pub fn datastore_config(&self) -> DataStoreConfig {
        DataStoreConfig {
            retention: self.datastore.retention,
            version_expiry: Duration::from_secs_f64(self.datastore.version_expiry_days * 86_400.0),
            // Nodes sharing a database see each other's store deletes and
            // snapshots within a second.
            shared_state_refresh: self.cluster.enabled.then_some(Duration::from_secs(1)),
        }
    }
}

#[cfg(test)]
mod tests;
