//! Storage plugin selection and the one bridge from async code to plugins.
//!
//! Owns: choosing and opening a plugin from a [`StorageConfig`] (features
//! `sled`, `sqlite` and `postgres` decide which are compiled in), and [`Storage`], the
//! only place that runs plugin calls off the async runtime, timing commits
//! for the server's metrics ([`Storage::with_metrics`]).
//! Invariants: no other module runs blocking storage calls itself; a
//! blocking plugin call never stalls the runtime: it runs under
//! `block_in_place` on a multi-thread runtime (the worker's queue moves to
//! another thread first) and on the blocking pool (`spawn_blocking`) on a
//! current-thread runtime.

use std::path::PathBuf;
use std::sync::Arc;

use profilestore_plugin_api::{
    Commit, CommitOutcome, Durability, StorageError, StoragePlugin, StorageResult,
    GROUP_SIZE_BOUNDS,
};
use serde::{Deserialize, Serialize};

/// Which storage plugin to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageKind {
    /// In memory; lost at exit. For tests and mocks.
    Memory,
    /// sled, an embedded log-structured store (a directory).
    Sled,
    /// SQLite in WAL mode (one file). The default.
    #[default]
    Sqlite,
    /// PostgreSQL at [`StorageConfig::postgres_url`], which several
    /// processes (nodes) may share.
    Postgres,
}

impl StorageKind {
    /// The plugin's name as written in configs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageKind::Memory => "memory",
            StorageKind::Sled => "sled",
            StorageKind::Sqlite => "sqlite",
            StorageKind::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for StorageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for StorageKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "memory" => Ok(StorageKind::Memory),
            "sled" => Ok(StorageKind::Sled),
            "sqlite" => Ok(StorageKind::Sqlite),
            "postgres" | "postgresql" => Ok(StorageKind::Postgres),
            other => Err(format!(
                "unknown storage plugin `{other}`: expected `memory`, `sled`, `sqlite` or `postgres`"
            )),
        }
    }
}

/// How to open storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageConfig {
    /// The plugin.
    pub kind: StorageKind,
    /// Data folder: sled uses `<data_dir>/sled`, SQLite `<data_dir>/profilestore.sqlite3`.
    pub data_dir: PathBuf,
    /// Safety/speed trade-off of the persistent plugins.
    pub durability: Durability,
    /// The database of the `postgres` plugin (`postgres://user@host:port/db`).
    pub postgres_url: Option<String>,
}

impl StorageConfig {
    /// Where the plugin keeps its data: `<data_dir>/profilestore.sqlite3`
    /// (SQLite) or `<data_dir>/sled` (sled); `None` for memory and
    /// PostgreSQL (no local folder).
    pub fn location(&self) -> Option<PathBuf> {
        match self.kind {
            StorageKind::Memory | StorageKind::Postgres => None,
            StorageKind::Sled => Some(self.data_dir.join("sled")),
            StorageKind::Sqlite => Some(self.data_dir.join("profilestore.sqlite3")),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            kind: StorageKind::default(),
            data_dir: PathBuf::from("data"),
            durability: Durability::Full,
            postgres_url: None,
        }
    }
}

/// Why storage could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The configured plugin's cargo feature was not enabled at build time.
    #[error(
        "storage plugin `{0}` is not compiled into this build; rebuild with \
         `cargo build --release --features {0}` (or choose another plugin with `--storage`)"
    )]
    NotCompiled(StorageKind),
    /// The `postgres` plugin was chosen without a database URL.
    #[error(
        "the postgres storage plugin needs a database URL: set `[storage] postgres_url`, \
         PROFILESTORE_POSTGRES_URL or --postgres-url (postgres://user:password@host:port/database)"
    )]
    NoPostgresUrl,
    /// The plugin failed to open its data.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Opens the configured plugin.
pub fn open(config: &StorageConfig) -> Result<Arc<dyn StoragePlugin>, OpenError> {
    match config.kind {
        StorageKind::Memory => Ok(Arc::new(profilestore_memory::MemoryPlugin::new())),
        #[cfg(feature = "sled")]
        StorageKind::Sled => Ok(Arc::new(profilestore_sled::SledPlugin::open(
            &config.data_dir.join("sled"),
            config.durability,
        )?)),
        #[cfg(feature = "sqlite")]
        StorageKind::Sqlite => Ok(Arc::new(profilestore_sqlite::SqlitePlugin::open(
            &config.data_dir.join("profilestore.sqlite3"),
            config.durability,
        )?)),
        #[cfg(feature = "postgres")]
        StorageKind::Postgres => {
            let url = config
                .postgres_url
                .as_deref()
                .ok_or(OpenError::NoPostgresUrl)?;
            let options = profilestore_postgres::PostgresOptions {
                durability: config.durability,
                ..profilestore_postgres::PostgresOptions::default()
            };
            Ok(Arc::new(profilestore_postgres::PostgresPlugin::open(
                url, options,
            )?))
        }
        #[allow(unreachable_patterns)]
        other => Err(OpenError::NotCompiled(other)),
    }
}

/// The async face of a storage plugin: the one bridge to blocking calls.
#[derive(Clone, Debug)]
pub struct Storage {
    plugin: Arc<dyn StoragePlugin>,
    metrics: crate::metrics::Metrics,
}

impl Storage {
    /// Wraps a plugin.
    pub fn new(plugin: Arc<dyn StoragePlugin>) -> Self {
        Storage {
            plugin,
            metrics: crate::metrics::Metrics::off(),
        }
    }

    /// This storage with its commits timed in `metrics`, which also export
    /// the plugin's commit group sizes (read at each scrape).
    #[must_use]
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        let plugin = Arc::clone(&self.plugin);
        metrics.watch_group_sizes(self.plugin.name(), move || {
            let sizes = plugin.commit_group_sizes()?;
            Some(crate::metrics::Snapshot {
                buckets: GROUP_SIZE_BOUNDS
                    .iter()
                    .zip(sizes.buckets)
                    .map(|(bound, n)| (*bound as f64, n))
                    .collect(),
                sum: sizes.sum as f64,
                count: sizes.count,
            })
        });
        self.metrics = metrics;
        self
    }

    /// Runs one commit (through [`Storage::call`]), timed in the metrics.
    pub async fn commit(&self, commit: Arc<Commit>) -> StorageResult<CommitOutcome> {
        let started = self.metrics.start();
        let outcome = self.call(move |p| p.commit(&commit)).await;
        self.metrics.commit(self.plugin.name(), started);
        outcome
    }

    /// The plugin itself (for synchronous tools and benchmarks).
    pub fn plugin(&self) -> &Arc<dyn StoragePlugin> {
        &self.plugin
    }

    /// Runs one plugin call: on the blocking pool for blocking plugins,
    /// inline for in-memory ones.
    pub async fn call<R, F>(&self, f: F) -> StorageResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&dyn StoragePlugin) -> StorageResult<R> + Send + 'static,
    {
        if !self.plugin.is_blocking() {
            return f(&*self.plugin);
        }
        // On a multi-thread runtime, `block_in_place` hands this worker's
        // other tasks to another thread and runs the call right here: the
        // runtime keeps running, and the call saves the two thread hops of
        // `spawn_blocking` (measured: about 1.4x to 2x more updates per
        // second, see BENCHMARKS.md). A current-thread runtime cannot do
        // that, so it uses the blocking pool.
        if tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread
        {
            return tokio::task::block_in_place(|| f(&*self.plugin));
        }
        self.on_blocking_pool(f).await
    }

    /// Runs one plugin call that may block for long (the message log's
    /// wake-up wait, up to its timeout) on the blocking pool, never in
    /// place: `block_in_place` would take a runtime worker away for that
    /// long, on every node, all the time.
    pub async fn call_waiting<R, F>(&self, f: F) -> StorageResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&dyn StoragePlugin) -> StorageResult<R> + Send + 'static,
    {
        if !self.plugin.is_blocking() {
            return f(&*self.plugin);
        }
        self.on_blocking_pool(f).await
    }

    async fn on_blocking_pool<R, F>(&self, f: F) -> StorageResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&dyn StoragePlugin) -> StorageResult<R> + Send + 'static,
    {
        let plugin = Arc::clone(&self.plugin);
        match tokio::task::spawn_blocking(move || f(&*plugin)).await {
            Ok(result) => result,
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Err(join) => Err(StorageError::Unavailable(format!(
                "storage call cancelled: {join}"
            ))),
        }
    }
}

impl Storage {
    /// A cheap read (one metadata record) that must answer within
    /// `limit`, for readiness checks. A blocking plugin's call runs on the
    /// blocking pool, so that the time limit holds even when the plugin
    /// hangs (the call itself then finishes in the background).
    pub async fn ping(&self, limit: std::time::Duration) -> StorageResult<()> {
        const PROBE: &str = "profilestore.readiness-probe";
        let plugin = Arc::clone(&self.plugin);
        let call = async move {
            if !plugin.is_blocking() {
                return plugin.read_meta(PROBE).map(drop);
            }
            match tokio::task::spawn_blocking(move || plugin.read_meta(PROBE)).await {
                Ok(result) => result.map(drop),
                Err(join) => Err(StorageError::Unavailable(format!(
                    "storage probe failed: {join}"
                ))),
            }
        };
        tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
            Err(StorageError::Unavailable(format!(
                "storage did not answer within {} s",
                limit.as_secs_f64()
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kind: StorageKind) -> (tempfile::TempDir, StorageConfig) {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = StorageConfig {
            kind,
            data_dir: dir.path().to_owned(),
            durability: Durability::Off,
            postgres_url: None,
        };
        (dir, config)
    }

    #[test]
    fn parses_plugin_names_case_insensitively() {
        assert_eq!("SQLite".parse::<StorageKind>(), Ok(StorageKind::Sqlite));
        assert_eq!("sled".parse::<StorageKind>(), Ok(StorageKind::Sled));
        assert_eq!("memory".parse::<StorageKind>(), Ok(StorageKind::Memory));
        assert_eq!(
            "PostgreSQL".parse::<StorageKind>(),
            Ok(StorageKind::Postgres)
        );
        let err = "mysql".parse::<StorageKind>().unwrap_err();
        assert!(err.contains("mysql") && err.contains("postgres"), "{err}");
    }

    #[test]
    fn memory_is_always_compiled_in() {
        let (_dir, config) = config(StorageKind::Memory);
        assert_eq!(open(&config).expect("memory").name(), "memory");
    }

    #[cfg(feature = "sled")]
    #[test]
    fn opens_sled_under_the_data_dir() {
        let (dir, config) = config(StorageKind::Sled);
        assert_eq!(open(&config).expect("sled").name(), "sled");
        assert!(dir.path().join("sled").exists());
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn opens_sqlite_under_the_data_dir() {
        let (dir, config) = config(StorageKind::Sqlite);
        assert_eq!(open(&config).expect("sqlite").name(), "sqlite");
        assert!(dir.path().join("profilestore.sqlite3").exists());
    }

    #[cfg(not(feature = "sled"))]
    #[test]
    fn sled_not_compiled_in_says_how_to_enable_it() {
        let (_dir, config) = config(StorageKind::Sled);
        let err = open(&config).unwrap_err().to_string();
        assert!(err.contains("--features sled"), "{err}");
    }

    #[cfg(not(feature = "sqlite"))]
    #[test]
    fn sqlite_not_compiled_in_says_how_to_enable_it() {
        let (_dir, config) = config(StorageKind::Sqlite);
        let err = open(&config).unwrap_err().to_string();
        assert!(err.contains("--features sqlite"), "{err}");
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn postgres_not_compiled_in_says_how_to_enable_it() {
        let (_dir, config) = config(StorageKind::Postgres);
        let err = open(&config).unwrap_err().to_string();
        assert!(err.contains("--features postgres"), "{err}");
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_without_a_url_says_where_to_set_it() {
        let (_dir, config) = config(StorageKind::Postgres);
        let err = open(&config).unwrap_err().to_string();
        assert!(
            err.contains("postgres_url") && err.contains("--postgres-url"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn bridge_runs_blocking_and_inline_plugins() {
        for kind in [StorageKind::Memory, StorageKind::Sqlite] {
            let (_dir, config) = config(kind);
            let Ok(plugin) = open(&config) else { continue };
            let storage = Storage::new(plugin);
            let name = storage.call(|p| Ok(p.name())).await.expect("call");
            assert_eq!(name, kind.as_str());
        }
    }
}

#[cfg(test)]
mod bridge_tests {
    use super::*;
    use std::time::Duration;

    /// A slow blocking call must not stall other tasks, on either runtime.
    fn other_tasks_run_during_a_blocking_call(rt: &tokio::runtime::Runtime) {
        let dir = tempfile::tempdir().expect("tempdir");
        let plugin = open(&StorageConfig {
            kind: StorageKind::Sqlite,
            data_dir: dir.path().to_owned(),
            durability: Durability::Off,
            postgres_url: None,
        });
        let Ok(plugin) = plugin else { return };
        rt.block_on(async {
            let storage = Storage::new(plugin);
            // The blocking call waits for the ticker, which only the
            // runtime can run: an event, not a race between two sleeps
            // (generous: a loaded machine may take long, a stalled runtime
            // never finishes).
            let (ticked, done) = std::sync::mpsc::channel();
            let ticker = tokio::spawn(async move {
                for _ in 0..5 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let _ = ticked.send(());
            });
            let ran = storage
                .call(move |_| Ok(done.recv_timeout(Duration::from_secs(30)).is_ok()))
                .await
                .expect("call");
            assert!(ran, "the runtime stalled during a blocking call");
            ticker.await.expect("ticker");
        });
    }

    #[test]
    fn multi_thread_runtime_keeps_running() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        other_tasks_run_during_a_blocking_call(&rt);
    }

    #[test]
    fn current_thread_runtime_keeps_running() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        other_tasks_run_during_a_blocking_call(&rt);
    }
}
