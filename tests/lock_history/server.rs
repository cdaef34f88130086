//! A test server's history over HTTP (real time, real sockets): a Rust
//! engine on the server's own DataStore and one on a remote DataStore
//! (whose final save carries its commit note in a header), read through
//! `GET .../lock-history`, the remote client and the CLI with `--url`.

use hyper::{Method, StatusCode};
use profilestore::engine::{EngineConfig, StartOptions};
use profilestore::history::LockChangeKind as K;
use profilestore::remote::RemoteClient;
use profilestore::testing::spawn_test_server;
use serde_json::{json, Value};

use super::support::cli::Cli;
use super::support::world::World;
use super::support::{call, send};
use super::{kinds, server_of, settled_events};

const PATH: &str = "/engine-api/v1/universes/1/profiles/Players";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_engines_shutdown_is_recorded_with_its_note_and_served() {
    let server = spawn_test_server().await;
    let remote = World::remote(&server.url, &server.api_key);
    let engine = remote.engine(3, "job-remote", EngineConfig::default());
    let store = engine.store("Players", json!({})).expect("store");
    let p = store
        .start_session("r1", StartOptions::default())
        .await
        .expect("start")
        .expect("a profile");
    let session = p.session_id().to_owned();
    engine.shutdown().await;
    let events = settled_events(&server.history, "Players", "r1").await;
    // Only the header can tell a shutdown from a release.
    assert_eq!(kinds(&events), [K::Started, K::EndedByShutdown]);
    assert_eq!(server_of(&events[1].owner), (3, "job-remote"));

    let got = call(
        &server,
        Method::GET,
        &format!("{PATH}/r1/lock-history"),
        Value::Null,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    let body = got.json();
    let served: Vec<&str> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(served, ["started", "ended_by_shutdown"]);
    let first = &body["events"][0];
    assert_eq!(first["sessionId"], session.as_str());
    assert_eq!(first["jobId"], "job-remote");
    assert_eq!(
        (first["placeId"].clone(), first["loadCount"].clone()),
        (json!(3), json!(1))
    );
    assert_eq!(first["store"], "Players");
    assert_eq!(first["scope"], "global");
    assert!(
        first["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{first}"
    );

    // The remote client reads the same events.
    let client = RemoteClient::new(&server.url, Some(server.api_key.clone())).expect("client");
    let read = client
        .lock_history(1, "Players", "global", "r1")
        .await
        .expect("lock history");
    assert_eq!(read, events);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_validates_and_reads_scopes() {
    let server = spawn_test_server().await;
    let got = call(
        &server,
        Method::GET,
        &format!("{PATH}/nobody/lock-history"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (got.status, got.json()),
        (StatusCode::OK, json!({"events": []}))
    );
    let scoped = format!("{PATH}/nobody/lock-history?scope=other");
    assert_eq!(
        call(&server, Method::GET, &scoped, Value::Null)
            .await
            .status,
        StatusCode::OK
    );
    let long = "k".repeat(51);
    let bad = call(
        &server,
        Method::GET,
        &format!("{PATH}/{long}/lock-history"),
        Value::Null,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let post = call(
        &server,
        Method::POST,
        &format!("{PATH}/k/lock-history"),
        Value::Null,
    )
    .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    let unknown = call(
        &server,
        Method::GET,
        "/engine-api/v1/universes/1/profiles/P/k",
        Value::Null,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let url = format!("{}{PATH}/k/lock-history", server.url);
    let unauthorized = send(Method::GET, &url, &[("x-api-key", "wrong")], "").await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_reads_a_servers_history_with_url() {
    let server = spawn_test_server().await;
    let world = World::of_server(&server);
    let (a, b) = (
        world.engine(4, "job-a", EngineConfig::default()),
        world.engine(4, "job-b", EngineConfig::default()),
    );
    let start = |engine: &profilestore::engine::Engine| {
        let store = engine.store("Players", json!({})).expect("store");
        async move {
            store
                .start_session("c1", StartOptions::default())
                .await
                .expect("start")
                .expect("a profile")
        }
    };
    let _pa = start(&a).await;
    let pb = start(&b).await;
    let events = settled_events(&server.history, "Players", "c1").await;
    assert_eq!(kinds(&events), [K::Started, K::Released, K::HandedOff]);
    let dir = tempfile::tempdir().expect("temp dir");
    let table = Cli::remote(&server.url, &server.api_key, dir.path())
        .args(["profile", "history", "Players", "c1"])
        .run()
        .success();
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert_eq!(&rows[1][1..4], ["released", "(asked", "for)"], "{table}");
    assert!(rows.iter().all(|r| r[0].ends_with('Z')), "{table}");
    let handed = &rows[2];
    assert_eq!(handed[1], "handed_off", "{table}");
    assert_eq!(handed[3], "job-b", "{table}");
    assert_eq!(handed[4], pb.session_id(), "{table}");
    let previous = events[0].owner.session_id.clone().expect("a session id");
    assert_eq!(handed[6], format!("4/job-a/{previous}"), "{table}");
    a.shutdown().await;
    b.shutdown().await;
    server.shutdown().await;
}
