//! `profilestore serve` as a process: the machine-readable address line,
//! real requests, graceful stop on SIGTERM with data kept, and the refusal
//! to listen on a public address without an API key.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use support::send;

fn start(dir: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_profilestore"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--api-key",
            "k1",
            "--durability",
            "off",
        ])
        .args(["--data-dir", dir.to_str().expect("utf-8")])
        .args(extra)
        .env_remove("PROFILESTORE_LISTEN")
        .env_remove("PROFILESTORE_API_KEYS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the address line");
    let announced: Value = serde_json::from_str(&line).expect("one JSON line");
    (
        child,
        announced["listening"].as_str().expect("url").to_owned(),
    )
}

fn stop(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    child.wait().expect("wait")
}

#[tokio::test]
async fn serves_stops_gracefully_and_keeps_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, url) = start(dir.path(), &[]);
    let entry = format!("{url}/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=P&entryKey=k");
    let set = send(Method::POST, &entry, &[("x-api-key", "k1")], r#"{"a":1}"#).await;
    assert_eq!(set.status, StatusCode::OK);
    assert!(stop(&mut child).success(), "exits cleanly on SIGTERM");

    let (mut again, url) = start(dir.path(), &[]);
    let entry = format!("{url}/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=P&entryKey=k");
    let got = send(Method::GET, &entry, &[("x-api-key", "k1")], "").await;
    assert_eq!(
        got.json(),
        json!({"a": 1}),
        "the default SQLite storage kept it"
    );
    stop(&mut again);
}

#[test]
fn refuses_a_public_address_without_an_api_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_profilestore"))
        .args(["serve", "--listen", "0.0.0.0:0", "--storage", "memory"])
        .env_remove("PROFILESTORE_API_KEYS")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("without an API key") && stderr.contains("--api-key"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_config_key_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[server]\nlisten_address = \"127.0.0.1:1\"\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_profilestore"))
        .args(["serve", "--config", config.to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("listen_address"), "{stderr}");
}
