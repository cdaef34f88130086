//! Engine benchmark: handoff time (a second server asks for a profile until
//! its session is active) with profilestore's release notice and without it
//! (the Luau module's timers), and sessions started and ended per second.
//! Real time, memory plugin unless named. Prints a Markdown table.
//!
//! Run: `cargo bench --bench engine` (add `-- --quick` for fewer rounds).

use std::sync::Arc;
use std::time::{Duration, Instant};

use profilestore::bus::{BusConfig, MessageBus};
use profilestore::clock::Clock;
use profilestore::datastore::{DataStoreConfig, DataStoreService};
use profilestore::engine::{Engine, EngineConfig, StartOptions};
use profilestore::plugin_api::{Durability, StoragePlugin};
use profilestore::storage::{open, StorageConfig, StorageKind};
use serde_json::json;

fn engines(plugin: Arc<dyn StoragePlugin>, release_notice: bool) -> (Engine, Engine) {
    let clock = Clock::system();
    let ds = DataStoreService::new(plugin, clock.clone(), DataStoreConfig::default());
    let bus = MessageBus::new(clock, BusConfig::default());
    let config = EngineConfig {
        release_notice,
        ..EngineConfig::default()
    };
    (
        Engine::new(ds.clone(), bus.clone(), 1, 1, "server-a", config.clone()),
        Engine::new(ds, bus, 1, 1, "server-b", config),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn handoffs(
    plugin: Arc<dyn StoragePlugin>,
    release_notice: bool,
    rounds: usize,
) -> Vec<Duration> {
    let (a, b) = engines(plugin, release_notice);
    let (a, b) = (
        a.store("Bench", json!({})).expect("store"),
        b.store("Bench", json!({})).expect("store"),
    );
    let mut times = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let key = format!("player-{i}");
        let _held = a
            .start_session(&key, StartOptions::default())
            .await
            .expect("start")
            .expect("profile");
        let start = Instant::now();
        let taken = b
            .start_session(&key, StartOptions::default())
            .await
            .expect("start")
            .expect("handoff");
        times.push(start.elapsed());
        taken.end_session().await;
    }
    times.sort();
    times
}

async fn cycles(plugin: Arc<dyn StoragePlugin>, budget: Duration) -> f64 {
    let (a, _) = engines(plugin, true);
    let store = a.store("Bench", json!({"Coins": 0})).expect("store");
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < budget {
        let p = store
            .start_session(&format!("k{}", n % 100), StartOptions::default())
            .await
            .expect("start")
            .expect("profile");
        p.end_session().await;
        n += 1;
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let memory =
        || -> Arc<dyn StoragePlugin> { Arc::new(profilestore_memory::MemoryPlugin::new()) };
    runtime.block_on(async {
        let rounds = if quick { 10 } else { 100 };
        let with = handoffs(memory(), true, rounds).await;
        let without = handoffs(memory(), false, if quick { 1 } else { 3 }).await;
        println!("| handoff (memory plugin) | rounds | median | p99 | max |");
        println!("|---|---:|---:|---:|---:|");
        for (name, t) in [
            ("with release notice", &with),
            ("without (Luau timers)", &without),
        ] {
            println!(
                "| {name} | {} | {:.2} ms | {:.2} ms | {:.2} ms |",
                t.len(),
                percentile(t, 0.5).as_secs_f64() * 1e3,
                percentile(t, 0.99).as_secs_f64() * 1e3,
                t.last().expect("rounds").as_secs_f64() * 1e3
            );
        }
        println!(
            "\nspeed-up of the median handoff: {:.0}x",
            percentile(&without, 0.5).as_secs_f64() / percentile(&with, 0.5).as_secs_f64()
        );
        let budget = Duration::from_millis(if quick { 300 } else { 2000 });
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = |durability| {
            open(&StorageConfig {
                kind: StorageKind::Sqlite,
                data_dir: dir.path().join(format!("{durability:?}")),
                durability,
                postgres_url: None,
            })
            .expect("sqlite")
        };
        println!("\n| sessions started + ended | per second |");
        println!("|---|---:|");
        println!("| memory | {:.0} |", cycles(memory(), budget).await);
        println!(
            "| sqlite, durability off | {:.0} |",
            cycles(sqlite(Durability::Off), budget).await
        );
        println!(
            "| sqlite, durability full | {:.0} |",
            cycles(sqlite(Durability::Full), budget).await
        );
    });
}
