//! The control itself, the gate, the Rust helpers and the CLI.

use std::time::Duration;

use hyper::{Method, StatusCode};
use profilestore::http::{AppState, Controls};
use profilestore::remote::emulator::Emulator;
use profilestore::remote::{RemoteClient, RemoteError};
use profilestore::testing::{memory_state, spawn_test_server};
use serde_json::{json, Value};

use super::support::cli::Cli;
use super::support::process::ServeProcess;
use super::support::{send, Answer};
use super::{call, now_ms};

#[tokio::test]
async fn the_clock_shows_now_and_moves_ahead() {
    let server = spawn_test_server().await;
    let shown = call(&server, Method::GET, "/emulator/v1/clock", Value::Null).await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    let shown = shown.json();
    let now = shown["now"].as_str().expect("now");
    assert!(now.ends_with('Z') && now.len() == 24, "ms precision: {now}");
    assert_eq!(shown["offsetSeconds"], json!(0.0));
    let before = now_ms(&shown);
    let body = json!({"seconds": 600});
    let moved = call(&server, Method::POST, "/emulator/v1/clock:advance", body).await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    let moved = moved.json();
    assert_eq!(moved["offsetSeconds"], json!(600.0));
    assert!(now_ms(&moved) >= before + 600_000, "{moved}");
    // The Rust helpers see the same clock.
    let state = server
        .advance(Duration::from_millis(1500))
        .await
        .expect("advance");
    assert_eq!(state.offset_seconds, 601.5);
    let read = server.emulator().clock().await.expect("clock");
    assert_eq!(read.offset_seconds, 601.5);
    assert_eq!(server.clock().offset(), Duration::from_millis(601_500));
    server.shutdown().await;
}

#[tokio::test]
async fn time_never_moves_backward() {
    let server = spawn_test_server().await;
    for body in [
        json!({"seconds": 0}),
        json!({"seconds": -60}),
        json!({"seconds": "60"}),
        json!({}),
        json!({"secs": 60}),
    ] {
        let a = call(
            &server,
            Method::POST,
            "/emulator/v1/clock:advance",
            body.clone(),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {:?}", a.body);
        let e = a.json();
        assert_eq!(e["code"], "INVALID_ARGUMENT", "v2 error body: {e}");
        assert!(
            e["message"].as_str().expect("message").contains("seconds"),
            "{e}"
        );
    }
    let refused = server.advance(Duration::ZERO).await;
    assert!(
        matches!(refused, Err(RemoteError::Status { status: 400, .. })),
        "{refused:?}"
    );
    let clock = server.emulator().clock().await.expect("clock");
    assert_eq!(clock.offset_seconds, 0.0, "nothing moved");
    let wrong = call(
        &server,
        Method::GET,
        "/emulator/v1/clock:advance",
        Value::Null,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    server.shutdown().await;
}

/// Serves `state` on a loopback port; returns its URL and the stopper.
async fn serve_state(state: AppState) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(profilestore::http::run(listener, state, async {
        let _ = stopped.await;
    }));
    (url, stop)
}

async fn clock_status(url: &str, key: Option<&str>) -> Answer {
    let headers: Vec<(&str, &str)> = key.map(|k| ("x-api-key", k)).into_iter().collect();
    send(
        Method::GET,
        &format!("{url}/emulator/v1/clock"),
        &headers,
        "",
    )
    .await
}

fn assert_refused(a: &Answer, says: &str) {
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{:?}", a.body);
    let e = a.json();
    assert_eq!(e["code"], "PERMISSION_DENIED", "{e}");
    let message = e["message"].as_str().expect("message");
    assert!(message.contains(says), "{message}");
}

#[tokio::test]
async fn the_gate_needs_an_api_key_and_loopback_or_a_setting() {
    // No API key: every control says to start with one.
    let (mut state, _) = memory_state("k".into(), Default::default());
    state.api_keys.clear();
    let (url, _stop) = serve_state(state).await;
    assert_refused(&clock_status(&url, None).await, "--api-key");
    let advance = send(
        Method::POST,
        &format!("{url}/emulator/v1/clock:advance"),
        &[],
        json!({"seconds": 5}).to_string(),
    )
    .await;
    assert_refused(&advance, "--api-key");
    // A wrong key never reaches the gate.
    let (state, _) = memory_state("k".into(), Default::default());
    let (url, _stop2) = serve_state(state).await;
    assert_eq!(
        clock_status(&url, Some("nope")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(clock_status(&url, Some("k")).await.status, StatusCode::OK);
    // Not on loopback: off unless turned on.
    let anywhere = "0.0.0.0:8787".parse().expect("addr");
    for (setting, allowed) in [(None, false), (Some(true), true), (Some(false), false)] {
        let (mut state, _) = memory_state("k".into(), Default::default());
        state.controls = Controls::new(anywhere, setting);
        let (url, _stop) = serve_state(state).await;
        let a = clock_status(&url, Some("k")).await;
        if allowed {
            assert_eq!(a.status, StatusCode::OK, "{setting:?}: {:?}", a.body);
        } else {
            assert_refused(
                &a,
                if setting.is_none() {
                    "controls = true"
                } else {
                    "turned off"
                },
            );
        }
    }
}

#[tokio::test]
async fn serve_turns_the_controls_off_with_its_flag_variable_or_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[emulator]\ncontrols = false\n").expect("write config");
    type Way<'a> = (&'a [&'a str], Option<(&'a str, &'a str)>);
    let configs: [Way<'_>; 3] = [
        (&["--emulator-controls=false"], None),
        (&[], Some(("PROFILESTORE_EMULATOR_CONTROLS", "false"))),
        (&["--config", config.to_str().expect("utf-8")], None),
    ];
    for (args, env) in configs {
        let mut builder = ServeProcess::builder(dir.path())
            .storage("memory")
            .api_key("k")
            .args(args);
        if let Some((k, v)) = env {
            builder = builder.env(k, v);
        }
        let server = builder.start();
        assert_refused(&clock_status(&server.url, Some("k")).await, "turned off");
        server.stop();
    }
    let on = ServeProcess::builder(dir.path())
        .storage("memory")
        .api_key("k")
        .arg("--emulator-controls")
        .start();
    assert_eq!(
        clock_status(&on.url, Some("k")).await.status,
        StatusCode::OK
    );
    on.stop();
}

#[tokio::test]
async fn a_remote_engine_user_reaches_the_controls_through_its_client() {
    let server = spawn_test_server().await;
    let client = RemoteClient::new(&server.url, Some(server.api_key.clone())).expect("client");
    let emulator = Emulator::new(client);
    let moved = emulator
        .advance(Duration::from_secs(90))
        .await
        .expect("advance");
    assert_eq!(moved.offset_seconds, 90.0);
    assert!(moved.now_ms().expect("now") >= profilestore::clock::Clock::system().now_ms() + 89_000);
    // A remote engine's own clock moves the same way.
    let engine = profilestore::engine::Engine::remote(
        &server.url,
        Some(server.api_key.clone()),
        1,
        7,
        "job-r",
        Default::default(),
    )
    .expect("engine");
    let offset = engine
        .clock()
        .advance(Duration::from_secs(90))
        .expect("adjustable");
    assert_eq!(offset.as_secs_f64(), moved.offset_seconds);
    let wrong = Emulator::new(RemoteClient::new(&server.url, Some("nope".into())).expect("client"));
    assert!(matches!(
        wrong.clock().await,
        Err(RemoteError::Unauthorized { .. })
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn the_cli_shows_and_advances_the_clock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::builder(dir.path())
        .durability("off")
        .api_key("clockkey")
        .start();
    let shown = Cli::remote(&server.url, "clockkey", dir.path())
        .arg("clock")
        .run()
        .json();
    assert_eq!(shown["offsetSeconds"], json!(0.0), "{shown}");
    let moved = Cli::remote(&server.url, "clockkey", dir.path())
        .args(["clock", "advance", "10m"])
        .run()
        .json();
    assert_eq!(moved["offsetSeconds"], json!(600.0), "{moved}");
    assert!(now_ms(&moved) >= now_ms(&shown) + 600_000);
    // On the data folder: the server found in its serve.lock.
    let found = Cli::new()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["clock", "advance", "1h30m", "--key", "clockkey"])
        .run()
        .json();
    assert_eq!(found["offsetSeconds"], json!(6000.0), "{found}");
    let bad = Cli::remote(&server.url, "clockkey", dir.path())
        .args(["clock", "advance", "0"])
        .run();
    bad.failure_with(&["forward"]);
    server.stop();
    let none = Cli::new()
        .arg("--data-dir")
        .arg(dir.path())
        .arg("clock")
        .run();
    none.failure_with(&["no server is serving"]);
}
