//! The history in a sled and a SQLite folder: recorded by one service,
//! read back after the folder is reopened (by a new service and by the
//! CLI). Real time (plugin calls block), no sockets.

use std::path::Path;

use profilestore::clock::Clock;
use profilestore::datastore::{DataStoreConfig, DataStoreService};
use profilestore::engine::{EngineConfig, StartOptions};
use profilestore::history::{HistoryConfig, LockChangeKind as K, LockHistory};
use profilestore::storage::{StorageConfig, StorageKind};
use serde_json::{json, Value};

use super::support::cli::Cli;
use super::support::world::World;
use super::{kinds, settled_events};

fn open(dir: &Path, kind: StorageKind) -> DataStoreService {
    let plugin = profilestore::storage::open(&StorageConfig {
        kind,
        data_dir: dir.to_owned(),
        durability: profilestore::plugin_api::Durability::Off,
        postgres_url: None,
    })
    .expect("open the folder");
    DataStoreService::new(plugin, Clock::system(), DataStoreConfig::default())
}

async fn survives_a_reopen(kind: StorageKind) {
    let dir = tempfile::tempdir().expect("temp dir");
    let session = {
        let datastores = open(dir.path(), kind);
        let history = LockHistory::of(&datastores, HistoryConfig::default());
        history.spawn(&datastores);
        let world = World {
            clock: datastores.clock().clone(),
            datastores: datastores.clone(),
            bus: profilestore::bus::MessageBus::new(Clock::system(), Default::default()),
        };
        let engine = world.engine(9, "job-disk", EngineConfig::default());
        let store = engine.store("Players", json!({})).expect("store");
        let p = store
            .start_session("disk", StartOptions::default())
            .await
            .expect("start")
            .expect("a profile");
        let session = p.session_id().to_owned();
        p.end_session().await;
        let _held = store
            .start_session("held", StartOptions::default())
            .await
            .expect("start")
            .expect("a profile");
        engine.shutdown().await;
        history.shutdown().await;
        datastores.flush().await.expect("flush");
        session
    };
    // A new service on the folder reads what the first one recorded.
    let datastores = open(dir.path(), kind);
    let history = LockHistory::of(&datastores, HistoryConfig::default());
    let events = settled_events(&history, "Players", "disk").await;
    assert_eq!(kinds(&events), [K::Started, K::Released]);
    assert_eq!(
        events[0].owner.session_id.as_deref(),
        Some(session.as_str())
    );
    assert_eq!(events[0].owner.job_id, "job-disk");
    let held = settled_events(&history, "Players", "held").await;
    assert_eq!(kinds(&held), [K::Started, K::EndedByShutdown]);
    drop((history, datastores));

    // The CLI reads the same folder: a table, or JSON lines.
    let storage = kind.as_str();
    let table = Cli::on(dir.path(), storage)
        .args(["profile", "history", "Players", "disk"])
        .run()
        .success();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    let s = session.as_str();
    let expected: [&[&str]; 3] = [
        &["KIND", "PLACE", "JOB", "SESSION", "LOAD", "PREVIOUS"],
        &["started", "9", "job-disk", s, "1", "-"],
        &["released", "9", "job-disk", s, "1", "-"],
    ];
    for (line, words) in lines.iter().zip(expected) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&cells[1..], words, "{table}");
    }
    let json_lines = Cli::on(dir.path(), storage)
        .args(["profile", "history", "Players", "held", "--json"])
        .run()
        .success();
    let read: Vec<Value> = json_lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let kinds: Vec<&str> = read.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["started", "ended_by_shutdown"], "{json_lines}");
    assert_eq!(read[0]["placeId"], 9);
    assert_eq!(read[0]["loadCount"], 1);
    // Another scope has no history.
    let none = Cli::on(dir.path(), storage)
        .args([
            "profile", "history", "Players", "held", "--scope", "other", "--json",
        ])
        .run()
        .success();
    assert_eq!(none, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_survives_reopening_a_sqlite_folder() {
    survives_a_reopen(StorageKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_survives_reopening_a_sled_folder() {
    survives_a_reopen(StorageKind::Sled).await;
}
