//! The clock control (`/emulator/v1/clock`, `clock:advance`) over real
//! sockets and real time: after an advance everything time-based follows
//! at once (entry times, the 30-day version expiry, messaging retention,
//! memory-store expirations and queue waits, session API leases, a hosted
//! engine's assume-dead wait); time never moves backward; the control
//! plane's gate; the Rust helpers and `profilestore clock [advance]`.

mod support;

use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use profilestore::http::{AppState, Controls};
use profilestore::opencloud::time::parse_time;
use profilestore::remote::emulator::Emulator;
use profilestore::remote::{RemoteClient, RemoteError};
use profilestore::testing::{memory_state, spawn_test_server, TestServer};
use serde_json::{json, Value};
use support::cli::Cli;
use support::process::ServeProcess;
use support::{send, Answer};

const DAY: Duration = Duration::from_secs(86_400);

async fn call(server: &TestServer, method: Method, path: &str, body: Value) -> Answer {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let url = format!("{}{path}", server.url);
    send(method, &url, &[("x-api-key", &server.api_key)], body).await
}

fn now_ms(clock: &Value) -> i64 {
    parse_time(clock["now"].as_str().expect("now")).expect("RFC 3339")
}

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

#[tokio::test]
async fn entry_times_jump_with_the_clock() {
    let server = spawn_test_server().await;
    let entries = "/cloud/v2/universes/1/data-stores/Times/scopes/global/entries";
    let first = call(
        &server,
        Method::POST,
        &format!("{entries}?id=a"),
        json!({"value": 1}),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let first_ms = parse_time(first.json()["createTime"].as_str().expect("createTime")).unwrap();
    server.advance(DAY).await.expect("advance");
    let second = call(
        &server,
        Method::POST,
        &format!("{entries}?id=b"),
        json!({"value": 2}),
    )
    .await;
    let second_ms = parse_time(second.json()["createTime"].as_str().expect("createTime")).unwrap();
    assert!(
        second_ms - first_ms >= 86_400_000,
        "{first_ms} -> {second_ms}"
    );
    let v1 = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry";
    let set = format!("{v1}?datastoreName=Times&entryKey=c");
    assert!(call(&server, Method::POST, &set, json!(3))
        .await
        .status
        .is_success());
    let got = call(&server, Method::GET, &set, Value::Null).await;
    let created = got
        .header("roblox-entry-created-time")
        .expect("created header");
    let created_ms = parse_time(created).expect("header time");
    assert!(created_ms - first_ms >= 86_400_000, "{created}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_superseded_version_is_purged_after_30_days() {
    let server = spawn_test_server().await;
    let v1 = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry";
    let entry = format!("{v1}?datastoreName=Old&entryKey=k");
    let versions = format!("{v1}/versions?datastoreName=Old&entryKey=k");
    for value in [1, 2] {
        let a = call(&server, Method::POST, &entry, json!(value)).await;
        assert!(a.status.is_success(), "{:?}", a.body);
    }
    let count = |a: Answer| a.json()["versions"].as_array().expect("versions").len();
    assert_eq!(
        count(call(&server, Method::GET, &versions, Value::Null).await),
        2
    );
    server.advance(29 * DAY).await.expect("advance");
    assert_eq!(
        count(call(&server, Method::GET, &versions, Value::Null).await),
        2
    );
    server
        .advance(DAY + Duration::from_secs(60))
        .await
        .expect("advance");
    assert_eq!(
        count(call(&server, Method::GET, &versions, Value::Null).await),
        1,
        "purged by the advance, not by the hourly purge"
    );
    let latest = call(&server, Method::GET, &entry, Value::Null).await;
    assert_eq!(latest.json(), json!(2), "the latest version never expires");
    server.shutdown().await;
}

#[tokio::test]
async fn messaging_retention_follows_the_clock() {
    let server = spawn_test_server().await;
    let topic = "/messaging-service/v1/universes/1/topics/news";
    let published = call(&server, Method::POST, topic, json!({"message": "old"})).await;
    assert!(published.status.is_success(), "{:?}", published.body);
    let read = format!("{topic}/messages?since=0&timeout=0");
    let messages = |a: Answer| a.json()["messages"].as_array().expect("messages").len();
    assert_eq!(
        messages(call(&server, Method::GET, &read, Value::Null).await),
        1
    );
    server
        .advance(Duration::from_secs(121))
        .await
        .expect("advance");
    assert_eq!(
        messages(call(&server, Method::GET, &read, Value::Null).await),
        0,
        "past the 120 s retention"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn memory_store_items_expire_and_queue_waits_end() {
    let server = spawn_test_server().await;
    let item = "/engine-api/v1/universes/1/memory-store/hash-maps/m/items/k";
    let put = call(
        &server,
        Method::PUT,
        item,
        json!({"value": 1, "expiration": 60}),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    let get = call(&server, Method::GET, item, Value::Null).await;
    assert_eq!(get.json()["item"]["value"], json!(1));
    server
        .advance(Duration::from_secs(61))
        .await
        .expect("advance");
    let get = call(&server, Method::GET, item, Value::Null).await;
    assert_eq!(get.json()["item"], Value::Null, "expired");

    // A read waiting 30 s on an empty queue ends when the clock passes it.
    let read = "/engine-api/v1/universes/1/memory-store/queues/q/items:read";
    let mut waiting = {
        let (url, key) = (format!("{}{read}", server.url), server.api_key.clone());
        let body = json!({"count": 1, "waitTimeout": 30}).to_string();
        tokio::spawn(async move { send(Method::POST, &url, &[("x-api-key", &key)], body).await })
    };
    let started = Instant::now();
    // Moved again while it has not ended: the read may not be waiting yet
    // at the first move.
    let answer = loop {
        server
            .advance(Duration::from_secs(31))
            .await
            .expect("advance");
        match tokio::time::timeout(Duration::from_millis(500), &mut waiting).await {
            Ok(read) => break read.expect("read"),
            Err(_) => assert!(
                started.elapsed() < Duration::from_secs(20),
                "the read never ended"
            ),
        }
    };
    assert_eq!(answer.json()["items"], json!([]));
    assert!(started.elapsed() < Duration::from_secs(20));
    server.shutdown().await;
}

/// The session API of universe 1.
async fn session(server: &TestServer, method: Method, path: &str, body: Value) -> Answer {
    let path = format!("/session-api/v1/universes/1/{path}");
    call(server, method, &path, body).await
}

fn start_body(key: &str) -> Value {
    json!({"store": "PlayerData", "key": key, "template": {"Coins": 0}, "placeId": 7})
}

#[tokio::test]
async fn a_silent_game_server_is_dropped_when_its_lease_runs_out() {
    let server = spawn_test_server().await;
    let a = session(
        &server,
        Method::POST,
        "servers/job-a/sessions",
        start_body("p"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let count = a.json()["profile"]["loadCount"].as_u64().expect("count");
    let current = format!("servers/job-a/sessions/PlayerData/p?loadCount={count}");
    server
        .advance(Duration::from_secs(30))
        .await
        .expect("advance");
    let alive = session(&server, Method::GET, &current, Value::Null).await;
    assert_eq!(alive.status, StatusCode::OK, "within the 60 s lease");
    server
        .advance(Duration::from_secs(61))
        .await
        .expect("advance");
    let gone = session(&server, Method::GET, &current, Value::Null).await;
    assert!(
        !gone.status.is_success(),
        "dropped at once: {} {:?}",
        gone.status,
        gone.body
    );
    // As a crashed server: no final save, the lock stays.
    let ds = server
        .datastores
        .data_store(1, "PlayerData", "global")
        .expect("ds");
    let stored = ds.get("p").await.expect("get").expect("stored").value;
    assert_ne!(stored["MetaData"]["ActiveSession"], Value::Null, "{stored}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_hosted_engine_assumes_a_dead_session_dead_after_an_advance() {
    let server = spawn_test_server().await;
    let a = session(
        &server,
        Method::POST,
        "servers/job-a/sessions",
        start_body("p"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let session_id = a.json()["profile"]["sessionId"]
        .as_str()
        .expect("id")
        .to_owned();
    // job-a dies holding the profile: its lease runs out, no final save.
    server
        .advance(Duration::from_secs(61))
        .await
        .expect("advance");
    // job-b asks the dead session to end, then waits (5 s, then 10 s
    // repeats; the lock is 61 s old, far from the 630 s assume-dead).
    let mut requests = server
        .bus
        .subscribe(&format!("PS_{session_id}"))
        .expect("subscribe");
    let b = {
        let (url, key) = (server.url.clone(), server.api_key.clone());
        tokio::spawn(async move {
            let url = format!("{url}/session-api/v1/universes/1/servers/job-b/sessions");
            send(
                Method::POST,
                &url,
                &[("x-api-key", &key)],
                start_body("p").to_string(),
            )
            .await
        })
    };
    let asked = tokio::time::timeout(Duration::from_secs(30), requests.recv()).await;
    assert!(asked.expect("job-b asked the dead session").is_some());
    let started = Instant::now();
    server
        .advance(Duration::from_secs(700))
        .await
        .expect("advance");
    let b = tokio::time::timeout(Duration::from_secs(60), b)
        .await
        .expect("job-b got an answer")
        .expect("task");
    let took = started.elapsed();
    eprintln!("assume-dead handoff after advance(700 s): {took:?} of real time");
    assert_eq!(b.status, StatusCode::OK, "{:?}", b.body);
    let profile = b.json()["profile"].clone();
    assert_eq!(profile["active"], json!(true), "{profile}");
    assert!(
        took < Duration::from_secs(4),
        "the 5 s wait ended with the advance, not on its own: {took:?}"
    );
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
    let configs: [(&[&str], Option<(&str, &str)>); 3] = [
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
