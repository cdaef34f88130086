//! `profilestore serve` as a process: the machine-readable address line,
//! real requests, graceful stop on SIGTERM with data kept, and the refusal
//! to listen on a public address without an API key.

mod support;

use hyper::{Method, StatusCode};
use serde_json::json;
use support::cli::Cli;
use support::process::{ServeProcess, Stderr};
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

/// `serve` on `dir` as a one-off command (killed after 60 s: a second
/// server that starts by mistake fails the test instead of hanging it).
fn serve_once(dir: &std::path::Path, storage: &str) -> support::cli::CliOutput {
    Cli::new()
        .args(["serve", "--listen", "127.0.0.1:0", "--durability", "off"])
        .args(["--storage", storage, "--data-dir"])
        .arg(dir)
        .time_limit(std::time::Duration::from_secs(60))
        .run()
}

/// Waits until `server` answers a request (its stop signal handler is
/// installed by then, so SIGTERM is a graceful stop).
async fn answered(server: &ServeProcess) {
    let url = format!(
        "{}/messaging-service/v1/universes/1/topics/t/messages?cursor=0&timeout=0",
        server.url
    );
    send(Method::GET, &url, &[], "").await;
}

#[tokio::test]
async fn a_second_server_on_the_same_folder_refuses_and_says_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = ServeProcess::builder(dir.path()).durability("off").start();
    let pid = format!("pid {}", first.pid());
    for storage in ["sqlite", "sled"] {
        let out = serve_once(dir.path(), storage);
        assert!(out.stdout.is_empty(), "no address line: {}", out.stdout);
        out.failure_with(&[
            "another profilestore server",
            &pid,
            &format!("--url {}", first.url),
            "--data-dir",
        ]);
    }
    // The data commands still work on the folder beside the server.
    Cli::on(dir.path(), "sqlite")
        .args(["set", "S", "k", "1"])
        .run()
        .success();
    answered(&first).await;
    assert!(first.stop().success());

    // Once it stopped, the folder is free; a killed server's lock dies
    // with it too.
    let second = ServeProcess::builder(dir.path()).durability("off").start();
    second.kill();
    let third = ServeProcess::builder(dir.path()).durability("off").start();
    answered(&third).await;
    assert!(third.stop().success());
}

#[tokio::test]
async fn logs_written_to_a_file_or_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::builder(dir.path())
        .durability("off")
        .env("PROFILESTORE_LOG", "info")
        .stderr(Stderr::Capture)
        .start();
    answered(&server).await;
    let (status, stderr) = server.stop_with_stderr();
    assert!(status.success());
    assert!(stderr.contains("profilestore is serving"), "{stderr}");
    assert!(!stderr.contains("\x1b["), "ANSI codes in {stderr:?}");
}

#[test]
fn serve_refuses_to_run_keyless_when_only_the_cli_key_variable_is_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    Cli::new()
        .env("PROFILESTORE_API_KEY", "k1")
        .args(["serve", "--listen", "127.0.0.1:0", "--storage", "memory"])
        .time_limit(std::time::Duration::from_secs(60))
        .run()
        .failure_with(&[
            "PROFILESTORE_API_KEY is set",
            "PROFILESTORE_API_KEYS",
            "--api-key",
        ]);
    // With a server key too, the singular variable is the CLI's business.
    let server = ServeProcess::builder(dir.path())
        .storage("memory")
        .env("PROFILESTORE_API_KEY", "k1")
        .env("PROFILESTORE_API_KEYS", "k1")
        .start();
    server.kill();
}

#[test]
fn connection_options_belong_to_the_data_commands_only() {
    let help = Cli::new().args(["serve", "--help"]).run().success();
    for flag in [
        "--url",
        "--key ",
        "PROFILESTORE_URL",
        "PROFILESTORE_API_KEY]",
    ] {
        assert!(!help.contains(flag), "serve --help lists {flag}: {help}");
    }
    assert!(help.contains("--api-key"), "{help}");
    for command in [
        &["get", "--help"][..],
        &["profile", "show", "--help"],
        &["--help"],
    ] {
        let help = Cli::new().args(command).run().success();
        assert!(
            help.contains("--url") && help.contains("--key"),
            "{command:?}: {help}"
        );
    }
    for args in [
        &["serve", "--url", "http://127.0.0.1:1"][..],
        &["serve", "--key", "k"],
        &["--url", "http://127.0.0.1:1", "serve"],
        &["--key", "k", "serve"],
    ] {
        Cli::new()
            .args(args)
            .args(["--storage", "memory", "--listen", "127.0.0.1:0"])
            .time_limit(std::time::Duration::from_secs(60))
            .run()
            .failure_with(&["error:"]);
    }
    Cli::new()
        .args([
            "--url",
            "http://127.0.0.1:1",
            "serve",
            "--storage",
            "memory",
        ])
        .time_limit(std::time::Duration::from_secs(60))
        .run()
        .failure_with(&["is for the data commands", "--api-key"]);
}

#[tokio::test]
async fn a_data_command_on_a_served_sled_folder_points_at_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::builder(dir.path())
        .storage("sled")
        .durability("off")
        .api_key("k1")
        .start();
    Cli::on(dir.path(), "sled")
        .args(["keys", "S"])
        .run()
        .failure_with(&[
            "another process holds this sled folder",
            &format!("pid {}", server.pid()),
            &format!("--url {}", server.url),
        ]);
    // Through the server, the same command works.
    Cli::remote(&server.url, "k1", dir.path())
        .args(["keys", "S"])
        .run()
        .success();
    answered(&server).await;
    assert!(server.stop().success());
}

#[test]
fn a_stop_right_after_the_address_line_is_a_graceful_stop() {
    // The signal handlers are installed before the address line is printed,
    // so SIGTERM at once never meets the default action (death by signal).
    let dir = tempfile::tempdir().expect("temp dir");
    for round in 0..5 {
        let server = ServeProcess::builder(dir.path()).durability("off").start();
        let status = server.stop();
        assert!(status.success(), "round {round}: {status:?}");
    }
}
