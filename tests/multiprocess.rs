//! Game servers as real processes against a real `profilestore serve`
//! process, with shortened timers: Rust game servers on the remote engine
//! (`examples/game_server.rs`), Python ones on the session API
//! (`examples/session_api_client.py`), and a mix of both. Each scenario:
//! a clean handoff, the owner killed with SIGKILL, a message sent from a
//! third process.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::cli::Cli;
use support::game_server::{GameServer, Kind, PY};
use support::process::ServeProcess;

const FAST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/configs/fast.toml");
const T: Duration = Duration::from_secs(45);

fn server() -> (tempfile::TempDir, ServeProcess) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::builder(dir.path())
        .api_key("k1")
        .durability("off")
        .args(["--config", FAST])
        .start();
    (dir, server)
}

fn handoff(first: Kind, second: Kind) {
    let (_dir, srv) = server();
    let url = srv.url.clone();
    let a = GameServer::start(first, &url, "job-a", "p");
    assert_eq!(a.expect("started", T)["data"], json!({"Coins": 1}));
    let b = GameServer::start(second, &url, "job-b", "p");
    let started = b.expect("started", T);
    assert_eq!(
        started["data"],
        json!({"Coins": 2}),
        "job-a's final save was loaded"
    );
    a.expect("ended", T);
    assert!(srv.stop().success());
}

fn owner_killed(first: Kind, second: Kind) {
    let (_dir, srv) = server();
    let url = srv.url.clone();
    let mut a = GameServer::start(first, &url, "job-a", "p");
    assert_eq!(a.expect("started", T)["data"], json!({"Coins": 1}));
    a.sigkill();
    let began = Instant::now();
    let b = GameServer::start(second, &url, "job-b", "p");
    let started = b.expect("started", T);
    assert_eq!(started["data"], json!({"Coins": 2}), "what job-a had saved");
    eprintln!("taken from a killed owner after {:?}", began.elapsed());
    assert!(srv.stop().success());
}

fn message_from_a_third_process(owner: Kind) {
    let (dir, srv) = server();
    let url = srv.url.clone();
    let a = GameServer::start(owner, &url, "job-a", "p");
    a.expect("started", T);
    Cli::remote(&url, "k1", dir.path())
        .args(["profile", "message", "PlayerData", "p", r#"{"Gift":"Hat"}"#])
        .run()
        .success();
    assert_eq!(a.expect("message", T)["message"], json!({"Gift": "Hat"}));
    assert!(srv.stop().success());
}

#[test]
fn rust_servers_hand_a_profile_over() {
    handoff(Kind::Rust, Kind::Rust);
}

#[test]
fn rust_server_killed_loses_the_profile_after_the_steal_timers() {
    owner_killed(Kind::Rust, Kind::Rust);
}

#[test]
fn a_message_reaches_a_rust_owner() {
    message_from_a_third_process(Kind::Rust);
}

#[test]
fn session_api_servers_hand_a_profile_over() {
    handoff(Kind::Python, Kind::Python);
}

#[test]
fn session_api_server_killed_loses_the_profile_after_its_lease_and_the_steal_timers() {
    owner_killed(Kind::Python, Kind::Python);
}

#[test]
fn a_message_reaches_a_session_api_owner() {
    message_from_a_third_process(Kind::Python);
}

#[test]
fn a_rust_and_a_session_api_server_contend_both_ways() {
    handoff(Kind::Rust, Kind::Python);
    handoff(Kind::Python, Kind::Rust);
}

#[test]
fn the_documented_python_example_runs() {
    let (_dir, srv) = server();
    let url = srv.url.clone();
    let out = Command::new("python3")
        .args([PY, "demo", "--url", &url, "--key", "k1"])
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("demo ok"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(srv.stop().success());
}

#[test]
fn the_python_example_shows_why_the_server_refused_its_key() {
    let (_dir, srv) = server();
    let url = srv.url.clone();
    let out = Command::new("python3")
        .args([PY, "demo", "--url", &url, "--key", "wrong"])
        .output()
        .expect("python3");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("401: Invalid API Key (pass --key"),
        "the server's message, not an empty one: {err}"
    );
    assert!(srv.stop().success());
}
