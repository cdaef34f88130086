//! A Rust game server using the remote engine: `ProfileStore` + a URL + an
//! API key. Run a server (`cargo run --release -- serve`), then:
//!
//! ```sh
//! cargo run --example game_server -- --url http://127.0.0.1:8787 --job server-1 --profile Player_1
//! ```
//!
//! It starts a session on one profile (waiting for another server to hand
//! it over if needed), adds 1 to `Coins`, saves, and prints one JSON line
//! per event: `started`, `message` (each is marked processed), `ending`
//! and `ended`. It exits when the session ends (another server took the
//! profile) or, on Ctrl-C, after the final save. `--fast` shortens the
//! engine's timers (steal after 2 s instead of 40 s) for tests.

use std::time::Duration;

use clap::Parser;
use profilestore::engine::{Engine, EngineConfig, StartOptions};
use serde_json::json;

#[derive(Debug, Parser)]
struct Args {
    /// The profilestore server.
    #[arg(
        long,
        env = "PROFILESTORE_URL",
        default_value = "http://127.0.0.1:8787"
    )]
    url: String,
    /// Its API key.
    #[arg(long, env = "PROFILESTORE_API_KEY")]
    key: Option<String>,
    /// This game server's job id.
    #[arg(long, default_value = "rust-game-server")]
    job: String,
    /// The profile to hold.
    #[arg(long, default_value = "Player_1")]
    profile: String,
    /// Shortened engine timers (tests).
    #[arg(long)]
    fast: bool,
    /// Give up starting after this many seconds.
    #[arg(long, default_value_t = 120.0)]
    timeout: f64,
}

fn emit(line: &serde_json::Value) {
    println!("{line}");
}

fn fast_config() -> EngineConfig {
    EngineConfig {
        load_repeat_period: Duration::from_millis(500),
        first_load_repeat: Duration::from_millis(250),
        session_steal: Duration::from_secs(2),
        assume_dead: Duration::from_secs(30),
        max_backoff: Duration::from_secs(1),
        ..EngineConfig::default()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut config = if args.fast {
        fast_config()
    } else {
        EngineConfig::default()
    };
    config.start_session_timeout = Duration::from_secs_f64(args.timeout);
    let engine = Engine::remote(&args.url, args.key.clone(), 1, 1, &args.job, config)?;
    let store = engine.store("PlayerData", json!({"Coins": 0}))?;
    let Some(profile) = store
        .start_session(&args.profile, StartOptions::default())
        .await?
    else {
        emit(&json!({"event": "notStarted"}));
        engine.shutdown().await;
        std::process::exit(1);
    };
    profile.update_data(|d| {
        let coins = d["Coins"].as_i64().unwrap_or(0);
        d["Coins"] = json!(coins + 1);
    })?;
    profile.save().await?;
    profile.message_handler(|message, processed| {
        emit(&json!({"event": "message", "message": message}));
        processed.processed();
    });
    profile
        .on_last_save(|reason| emit(&json!({"event": "ending", "reason": format!("{reason:?}")})));
    emit(
        &json!({"event": "started", "data": profile.data(), "loadCount": profile.session_load_count()}),
    );
    tokio::select! {
        () = profile.ended() => {}
        _ = tokio::signal::ctrl_c() => engine.shutdown().await,
    }
    emit(&json!({"event": "ended"}));
    engine.shutdown().await;
    Ok(())
}
