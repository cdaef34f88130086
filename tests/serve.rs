//! `profilestore serve` as a process: the machine-readable address line,
//! real requests, graceful stop on SIGTERM with data kept, and the refusal
//! to listen on a public address without an API key.

mod support;

use hyper::{Method, StatusCode};
use serde_json::json;
use support::cli::Cli;
use support::process::ServeProcess;
use support::send;

fn start(dir: &std::path::Path) -> ServeProcess {
    ServeProcess::builder(dir)
        .api_key("k1")
        .durability("off")
        .start()
}

#[tokio::test]
async fn serves_stops_gracefully_and_keeps_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let entry = format!("{}/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=P&entryKey=k", server.url);
    let set = send(Method::POST, &entry, &[("x-api-key", "k1")], r#"{"a":1}"#).await;
    assert_eq!(set.status, StatusCode::OK);
    assert!(server.stop().success(), "exits cleanly on SIGTERM");

    let again = start(dir.path());
    let entry = format!("{}/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=P&entryKey=k", again.url);
    let got = send(Method::GET, &entry, &[("x-api-key", "k1")], "").await;
    assert_eq!(
        got.json(),
        json!({"a": 1}),
        "the default SQLite storage kept it"
    );
    again.stop();
}

#[test]
fn refuses_a_public_address_without_an_api_key() {
    Cli::new()
        .args(["serve", "--listen", "0.0.0.0:0", "--storage", "memory"])
        .run()
        .failure_with(&["without an API key", "--api-key"]);
}

#[test]
fn an_unknown_config_key_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[server]\nlisten_address = \"127.0.0.1:1\"\n").expect("write");
    Cli::new()
        .args(["serve", "--config", config.to_str().expect("utf-8")])
        .run()
        .failure_with(&["listen_address"]);
}
