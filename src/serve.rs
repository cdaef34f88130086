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
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::bus::{BusConfig, MessageBus};
use crate::cli::CliError;
use crate::config::Config;
use crate::http::{check_bind_safety, run, AppState, Limits};

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
pub async fn serve(config: Config, fixtures: Fixtures) -> Result<(), CliError> {
    check_bind_safety(config.server.listen, !config.server.api_keys.is_empty())?;
    let datastores = crate::cli::open_service(&config)?;
    let universe = config.server.universe;
    if let Some(path) = &fixtures.import {
        let lines = crate::cli::read_export(path)?;
        let count = crate::cli::transfer::import(&datastores, universe, &lines).await?;
        tracing::info!(count, file = %path.display(), "imported");
    }
    let bus = MessageBus::new(
        datastores.clock().clone(),
        BusConfig {
            retention_messages: config.messaging.retention_messages,
            retention: Duration::from_secs_f64(config.messaging.retention_secs),
            ..BusConfig::default()
        },
    );
    let listener = TcpListener::bind(config.server.listen).await.map_err(|e| {
        CliError::Io(std::io::Error::new(
            e.kind(),
            format!(
                "cannot listen on {}: {e}; is another server using that port?",
                config.server.listen
            ),
        ))
    })?;
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

    let (closing, closing_rx) = watch::channel(false);
    let purge = {
        let datastores = datastores.clone();
        let mut stop = closing_rx.clone();
        let every = Duration::from_secs_f64(config.datastore.purge_interval_secs);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.wait_for(|c| *c) => return,
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
    let sessions = crate::sessions::SessionHost::new(
        datastores.clone(),
        bus.clone(),
        crate::sessions::HostConfig {
            engine: config.engine_config(),
            lease: Duration::from_secs_f64(config.server.session_lease_secs),
        },
    );
    sessions.spawn_reaper();
    let state = AppState {
        sessions,
        datastores: datastores.clone(),
        bus,
        api_keys: config.server.api_keys.clone(),
        max_body_bytes: config.server.max_body_bytes,
        closing: closing_rx,
        limits: Limits::new(config.server.max_connections, config.server.max_long_polls),
    };
    run(listener, state, closing, stop_signal()).await?;
    let _ = purge.await;
    if let Some(path) = &fixtures.export_on_exit {
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let count = crate::cli::transfer::export(&datastores, universe, &[], &mut file).await?;
        tracing::info!(count, file = %path.display(), "exported");
    }
    tracing::info!("stopped");
    Ok(())
}
