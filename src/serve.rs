//! `profilestore serve`: the server process.
//!
//! Owns: turning a resolved [`Config`] into a running server: open storage,
//! check the listen address, bind, announce the bound URL on stdout (one
//! JSON line, for harnesses in any language), purge expired versions
//! periodically, and shut down gracefully on SIGINT or SIGTERM.
//! Invariants: nothing is bound when the configuration is unsafe; the purge
//! loop stops with the server; storage is flushed before exit.

use std::io::Write;
use std::path::PathBuf;

use tokio::net::TcpListener;

use crate::bus::MessageBus;
use crate::clock::Clock;
use crate::config::Config;
use crate::datastore::DataStoreService;
use crate::http::{check_bind_safety, run, AppState, HttpError};
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
}

/// Opens the configured storage as a DataStore service on the system clock
/// (what `serve` serves and the CLI's data commands work on).
pub fn open_datastores(config: &Config) -> Result<DataStoreService, OpenError> {
    let plugin = crate::storage::open(&config.storage_config())?;
    Ok(DataStoreService::new(
        plugin,
        Clock::system(),
        config.datastore_config(),
    ))
}

/// Resolves when the process is asked to stop (SIGINT or SIGTERM).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
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

/// Runs the server until a stop signal.
pub async fn serve(config: Config, fixtures: Fixtures) -> Result<(), ServeError> {
    check_bind_safety(config.server.listen, !config.server.api_keys.is_empty())?;
    // Everything that can be refused is checked before anything is
    // written: the import is read and validated, the export file created
    // and the address bound, and only then is the import written.
    let import = match &fixtures.import {
        Some(path) => Some((path, read_export(path)?)),
        None => None,
    };
    let export_file = match &fixtures.export_on_exit {
        None => None,
        Some(path) => Some(create_output(path, " (--export-on-exit)")?),
    };
    let datastores = open_datastores(&config)?;
    let universe = config.server.universe;
    let bus = MessageBus::new(datastores.clock().clone(), config.bus_config());
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
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        serde_json::json!({"listening": format!("http://{addr}")})
    )?;
    out.flush()?;
    drop(out);
    tracing::info!(%addr, storage = %config.storage.plugin, "profilestore is serving");

    let closing = tokio_util::sync::CancellationToken::new();
    let purge = {
        let datastores = datastores.clone();
        let stop = closing.clone();
        let every = config.purge_interval();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
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
    let state = AppState {
        sessions,
        datastores: datastores.clone(),
        bus,
        api_keys: config.server.api_keys.clone(),
        max_body_bytes: config.server.max_body_bytes,
        closing,
        limits: config.limits(),
    };
    run(listener, state, stop_signal()).await?;
    let _ = purge.await;
    if let (Some(path), Some(file)) = (&fixtures.export_on_exit, export_file) {
        let mut file = std::io::BufWriter::new(file);
        let count = transfer::export(&datastores, universe, &[], &mut file).await?;
        tracing::info!(count, file = %path.display(), "exported");
    }
    tracing::info!("stopped");
    Ok(())
}
