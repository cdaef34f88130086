//! `profilestore serve`: the server process.
//!
//! Owns: turning a resolved [`Config`] into a running server: open storage,
//! check the listen address, bind, announce the bound URL on stdout (one
//! JSON line, for harnesses in any language), purge expired versions
//! periodically (on the server's one adjustable clock, which everything it
//! hosts runs on; the clock control also purges after each advance), and shut down gracefully on SIGINT or SIGTERM.
//! Invariants: nothing is bound when the configuration is unsafe; one
//! server per data folder (an OS lock on [`LOCK_FILE`], held until exit);
//! the purge loop stops with the server; storage is flushed before exit.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::bus::MessageBus;
use crate::clock::Clock;
use crate::config::Config;
use crate::datastore::DataStoreService;
use crate::http::{check_bind_safety, AppState, HttpError};
use crate::memorystore::MemoryStoreService;
use crate::ordered::OrderedService;
use crate::storage::OpenError;
use crate::transfer::{self, create_output, read_export, TransferError};

/// Why the server could not start, or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The storage could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The listen address is unsafe, or the server failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// Binding or writing the address line failed (the message says which).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// `--import` or `--export-on-exit` failed.
    #[error(transparent)]
    Transfer(#[from] TransferError),
    /// A setting read at start-up is unusable (a `key_env` not set).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The TLS certificate or key cannot be used.
    #[error(transparent)]
    Tls(#[from] crate::http::tls::TlsError),
    /// The shared bus could not start (its storage failed).
    #[error("cannot start the shared message bus: {0}")]
    Bus(#[from] crate::bus::BusError),
    /// The node could not join its cluster.
    #[error("cannot join the cluster: {0}")]
    Cluster(#[from] crate::cluster::ClusterError),
    /// Another server holds the data folder's lock.
    #[error(
        "another profilestore server{holder} is serving {dir}; two servers on one folder \
         share its data but not their sessions' messages and release notices, so a \
         profile moving between them waits for a steal and can lose unsaved changes. \
         Use that server (game servers and the data commands take its URL{url_hint}), \
         or start this one with another --data-dir"
    )]
    FolderInUse {
        /// The data folder.
        dir: String,
        /// ` (pid N, http://...)` when the holder recorded it, else empty.
        holder: String,
        /// `: --url http://...` when the holder's URL is known, else empty.
        url_hint: String,
    },
}

/// The lock file in a data folder: a server holds an exclusive OS lock on
/// it for its lifetime (so a crashed server's lock dies with it) and
/// records its pid and URL in it (JSON) for the next one's message.
pub const LOCK_FILE: &str = "serve.lock";

/// A data folder held by this server; released when dropped (or when the
/// process dies).
#[derive(Debug)]
struct FolderLock {
    file: std::fs::File,
}

/// What a serving process recorded in its lock file.
#[derive(Debug, Default)]
pub struct Holder {
    /// Its process id.
    pub pid: Option<u64>,
    /// Its base URL, once it listens.
    pub url: Option<String>,
}

impl Holder {
    /// Reads the record (unknown fields when the holder is rewriting it).
    fn read(path: &std::path::Path) -> Holder {
        let recorded: serde_json::Value = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        Holder {
            pid: recorded["pid"].as_u64(),
            url: recorded["url"].as_str().map(str::to_owned),
        }
    }

    /// ` (pid N, URL)`, or as much of it as is known.
    fn describe(&self) -> String {
        match (self.pid, &self.url) {
            (Some(pid), Some(url)) => format!(" (pid {pid}, {url})"),
            (Some(pid), None) => format!(" (pid {pid})"),
            (None, Some(url)) => format!(" ({url})"),
            (None, None) => String::new(),
        }
    }
}

/// The server serving `data_dir` right now (its lock is held), if any.
pub fn serving(data_dir: &std::path::Path) -> Option<Holder> {
    let path = data_dir.join(LOCK_FILE);
    let file = std::fs::File::open(&path).ok()?;
    match file.try_lock_shared() {
        Err(std::fs::TryLockError::WouldBlock) => Some(Holder::read(&path)),
        _ => None,
    }
}

impl FolderLock {
    /// Takes the lock of `config`'s data folder (creating the folder), or
    /// `None` for memory storage, which uses no folder.
    fn take(config: &Config) -> Result<Option<FolderLock>, ServeError> {
        let storage = config.storage_config();
        if storage.location().is_none() {
            return Ok(None);
        }
        let dir = &storage.data_dir;
        let context = |e: std::io::Error, what: &str| {
            std::io::Error::new(e.kind(), format!("cannot {what} {}: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| context(e, "create the data folder"))?;
        let path = dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| context(e, "open the lock file in"))?;
        match file.try_lock() {
            Ok(()) => {
                let mut lock = FolderLock { file };
                lock.record(None)?;
                Ok(Some(lock))
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = Holder::read(&path);
                let shown = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
                Err(ServeError::FolderInUse {
                    dir: shown.display().to_string(),
                    holder: holder.describe(),
                    url_hint: holder
                        .url
                        .map(|u| format!(": --url {u}"))
                        .unwrap_or_default(),
                })
            }
            Err(std::fs::TryLockError::Error(e)) => Err(context(e, "lock the data folder").into()),
        }
    }

    /// Writes this process's pid (and URL, once bound) into the lock file.
    fn record(&mut self, url: Option<&str>) -> Result<(), ServeError> {
        use std::io::Seek;
        let text = serde_json::json!({"pid": std::process::id(), "url": url}).to_string();
        self.file.set_len(0)?;
        self.file.seek(std::io::SeekFrom::Start(0))?;
        self.file.write_all(text.as_bytes())?;
        self.file.flush()?;
        Ok(())
    }
}

/// Opens the configured storage as a DataStore service on the system clock
/// (what `serve` serves and the CLI's data commands work on).
pub fn open_datastores(config: &Config) -> Result<DataStoreService, OpenError> {
    open_datastores_on(config, Clock::system())
}

/// [`open_datastores`] on `clock` (`serve`'s: one adjustable clock for
/// everything it hosts).
pub fn open_datastores_on(config: &Config, clock: Clock) -> Result<DataStoreService, OpenError> {
    let plugin = crate::storage::open(&config.storage_config())?;
    Ok(DataStoreService::new(
        plugin,
        clock,
        config.datastore_config(),
    ))
}

/// What the dashboard's overview tells about this server (a database
/// URL without its user and password).
fn about(config: &Config) -> crate::http::About {
    let s = &config.storage;
    let storage = s.plugin.to_string();
    let location = match (storage.as_str(), &s.postgres_url) {
        ("memory", _) => "(in memory)".to_owned(),
        ("postgres", Some(url)) => url.rsplit('@').next().unwrap_or("").to_owned(),
        _ => s.data_dir.display().to_string(),
    };
    let durability = serde_json::to_value(s.durability)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    crate::http::About {
        storage,
        location,
        durability,
        universe: config.server.universe,
        tls: config.tls_files().is_some(),
    }
}

/// The bus `config.messaging.delivery` asks for, on `datastores`' clock
/// (and, when shared, its storage's message log).
async fn open_bus(
    config: &Config,
    datastores: &DataStoreService,
) -> Result<MessageBus, ServeError> {
    let clock = datastores.clock().clone();
    match (config.messaging.delivery, datastores.storage()) {
        (crate::config::BusDelivery::Shared, Some(storage)) => Ok(MessageBus::shared(
            storage.clone(),
            clock,
            config.bus_config(),
            config.shared_bus_config(),
        )
        .await?),
        _ => Ok(MessageBus::new(clock, config.bus_config())),
    }
}

/// Installs the SIGINT and SIGTERM handlers now and returns what resolves
/// when one arrives. Called before the address line is printed, so a
/// harness that stops the server right after reading it never meets the
/// default action (which would kill the server without a final flush).
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, Signal, SignalKind};
        async fn wait(s: Option<Signal>) {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            tokio::select! {
                () = wait(term) => {}
                () = wait(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Data to load before serving and to save after (test fixtures).
#[derive(Debug, Default)]
pub struct Fixtures {
    /// An export to import before listening.
    pub import: Option<PathBuf>,
    /// Where to export every data store after the server stopped.
    pub export_on_exit: Option<PathBuf>,
}

/// This node of the cluster, live before it serves (`None` when
/// `[cluster]` is off). Leases run on system time, the shared clock offset
/// moves the server's clock.
async fn join_cluster(
    config: &Config,
    addr: std::net::SocketAddr,
    datastores: &DataStoreService,
) -> Result<Option<crate::cluster::Cluster>, ServeError> {
    let (Some(cluster), Some(storage)) = (config.cluster_config(addr), datastores.storage()) else {
        return Ok(None);
    };
    let cluster = crate::cluster::Cluster::new(
        storage.clone(),
        cluster,
        Clock::system(),
        datastores.clock().clone(),
    );
    cluster.spawn().await?;
    Ok(Some(cluster))
}

/// Runs the server until a stop signal.
pub async fn serve(config: Config, fixtures: Fixtures) -> Result<(), ServeError> {
    check_bind_safety(config.server.listen, config.takes_keys())?;
    let scoped_keys = config.scoped_keys()?;
    let tls = match config.tls_files() {
        Some((cert, key)) => Some(crate::http::tls::Tls::load(&cert, &key)?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Everything that can be refused is checked before anything is
    // written: the import is read and validated, the export file created
    // and the address bound, and only then is the import written.
    let import = match &fixtures.import {
        Some(path) => Some((path, read_export(path)?)),
        None => None,
    };
    // Held until this function returns (dropped after the storage).
    let mut folder_lock = FolderLock::take(&config)?;
    let export_file = match &fixtures.export_on_exit {
        None => None,
        Some(path) => Some(create_output(path, " (--export-on-exit)")?),
    };
    let metrics = config.metrics.metrics();
    let faults = crate::faults::FaultPlan::default().with_metrics(metrics.clone());
    // Everything hosted derives its clock from this one (the clock control
    // moves it).
    let datastores = open_datastores_on(&config, Clock::adjustable())?
        .with_faults(faults.clone())
        .with_metrics(metrics.clone());
    let universe = config.server.universe;
    let bus = open_bus(&config, &datastores)
        .await?
        .with_fault_plan(faults.clone())
        .with_metrics(metrics.clone());
    let listener = TcpListener::bind(config.server.listen).await.map_err(|e| {
        ServeError::Io(std::io::Error::new(
            e.kind(),
            format!(
                "cannot listen on {}: {e}; is another server using that port?",
                config.server.listen
            ),
        ))
    })?;
    if let Some((path, lines)) = import {
        let count = transfer::import(&datastores, universe, &lines).await?;
        tracing::info!(count, file = %path.display(), "imported");
    }
    let addr = listener.local_addr()?;
    if let Some(lock) = &mut folder_lock {
        lock.record(Some(&format!("{scheme}://{addr}")))?;
    }
    let stop = stop_signal();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        serde_json::json!({"listening": format!("{scheme}://{addr}")})
    )?;
    out.flush()?;
    drop(out);
    tracing::info!(%addr, storage = %config.storage.plugin, "profilestore is serving");

    let closing = tokio_util::sync::CancellationToken::new();
    let purge = {
        let datastores = datastores.clone();
        let stop = closing.clone();
        let every = config.purge_interval();
        let clock = datastores.clock().clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = clock.sleep(every) => {}
                    () = stop.cancelled() => return,
                }
                match datastores.purge_expired().await {
                    Ok(stats) => tracing::info!(
                        versions = stats.versions,
                        entries = stats.entries,
                        "purged expired versions"
                    ),
                    Err(e) => tracing::warn!(error = %e, "purge failed"),
                }
            }
        })
    };
    let sessions =
        crate::sessions::SessionHost::new(datastores.clone(), bus.clone(), config.host_config());
    sessions.spawn_reaper();
    let clock = datastores.clock().clone();
    let ordered = match datastores.storage() {
        Some(storage) => OrderedService::new(Arc::clone(storage.plugin()), clock.clone())
            .with_faults(faults.clone()),
        None => unreachable!("open_datastores always opens a local storage"),
    };
    let memory = match datastores.storage() {
        Some(storage) if config.memory_store.shared => {
            MemoryStoreService::shared(storage.clone(), clock.clone(), config.memory_config())
        }
        _ => MemoryStoreService::with_config(clock.clone(), config.memory_config()),
    }
    .with_faults(faults.clone());
    let snapshots =
        crate::snapshots::Snapshots::new(datastores.clone(), memory.clone(), clock.clone());
    let cluster = join_cluster(&config, addr, &datastores).await?;
    let history = crate::history::LockHistory::of(&datastores, config.history_config());
    history.spawn(&datastores);
    let state = AppState {
        sessions,
        datastores: datastores.clone(),
        bus: bus.clone(),
        ordered,
        memory,
        snapshots,
        faults,
        clock,
        controls: crate::http::Controls::new(addr, config.emulator.controls),
        api_keys: config.server.api_keys.clone(),
        scoped_keys,
        max_body_bytes: config.server.max_body_bytes,
        closing,
        limits: config.limits(),
        budgets: crate::budgets::Budgets::new(datastores.clock().clone(), config.budgets())
            .with_metrics(metrics.clone()),
        cluster,
        history,
        dashboard: crate::http::Dashboard::new(about(&config)),
        metrics,
    };
    let served = crate::http::serve_on(listener, state, tls, stop).await;
    // After the sessions' final saves (which may publish release notices).
    bus.shutdown().await;
    served?;
    let _ = purge.await;
    if let (Some(path), Some(file)) = (&fixtures.export_on_exit, export_file) {
        let mut file = std::io::BufWriter::new(file);
        let count = transfer::export(&datastores, universe, &[], &mut file).await?;
        tracing::info!(count, file = %path.display(), "exported");
    }
    tracing::info!("stopped");
    Ok(())
}
