//! Several nodes as one service, in one process: test nodes on one shared
//! memory plugin (as `serve` processes on one database), real sockets and
//! real time; waits are on answers and records, bounded generously.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use profilestore::testing::{spawn_test_node, TestNode};
use serde_json::{json, Value};
use support::{call, call_with, Answer};

const U: u64 = 5;
const NODE: &str = "x-profilestore-node";

async fn nodes(lease: Duration, n: usize) -> Vec<TestNode> {
    let plugin = Arc::new(profilestore_memory::MemoryPlugin::new());
    let key = uuid::Uuid::new_v4().simple().to_string();
    let mut out = Vec::new();
    for i in 1..=n {
        out.push(spawn_test_node(plugin.clone(), &key, &format!("node-{i}"), lease).await);
    }
    out
}

fn sessions(job: &str) -> String {
    format!("/session-api/v1/universes/{U}/servers/{job}/sessions")
}

fn profile(job: &str, key: &str) -> String {
    format!("{}/Players/{key}", sessions(job))
}

async fn start(node: &TestNode, job: &str, key: &str) -> Answer {
    let body = json!({"store": "Players", "key": key, "placeId": 77});
    call(&node.server, Method::POST, &sessions(job), body).await
}

fn load_count(a: &Answer) -> u64 {
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.json());
    a.json()["profile"]["loadCount"]
        .as_u64()
        .expect("loadCount")
}

/// Waits (bounded) until `node` no longer lists `gone` as live.
async fn until_dead(node: &TestNode, gone: &str, bound: Duration) {
    let deadline = Instant::now() + bound;
    loop {
        let live = node.cluster.nodes().await.expect("nodes");
        if live.iter().all(|n| n.id != gone) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{gone} still live after {bound:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_session_started_on_one_node_is_served_by_it_through_another() {
    let [n1, n2]: [TestNode; 2] = nodes(Duration::from_secs(10), 2).await.try_into().unwrap();
    let started = start(&n1, "job-a", "p1").await;
    assert_eq!(started.header(NODE), Some("node-1"));
    let count = load_count(&started);
    let fenced = |verb: &str| format!("{}{verb}?loadCount={count}", profile("job-a", "p1"));

    let patched = call(
        &n2.server,
        Method::PATCH,
        &fenced(""),
        json!({"data": {"coins": 12}}),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.json());
    assert_eq!(
        patched.header(NODE),
        Some("node-1"),
        "forwarded to the home"
    );
    let read = call(
        &n2.server,
        Method::GET,
        &profile("job-a", "p1"),
        Value::Null,
    )
    .await;
    assert_eq!(read.header(NODE), Some("node-1"));
    assert_eq!(read.json()["data"], json!({"coins": 12}));
    let saved = call(&n2.server, Method::POST, &fenced(":save"), Value::Null).await;
    assert_eq!(
        (saved.status, saved.header(NODE)),
        (StatusCode::OK, Some("node-1"))
    );
    let ended = call(&n2.server, Method::POST, &fenced(":end"), Value::Null).await;
    assert_eq!(
        (ended.status, ended.header(NODE)),
        (StatusCode::OK, Some("node-1"))
    );
    assert_eq!(ended.json()["active"], json!(false));
    // The profile's document says so, read from storage on node 2.
    let stored_path = format!("/session-api/v1/universes/{U}/stores/Players/p1");
    let stored = call(&n2.server, Method::GET, &stored_path, Value::Null).await;
    assert_eq!(
        stored.header(NODE),
        Some("node-2"),
        "not a game server call"
    );
    assert_eq!(stored.json()["data"], json!({"coins": 12}));
    assert_eq!(stored.json()["session"], Value::Null, "released");
    // A stale fence through node 2 is node 1's 409, nothing written.
    let stale = call(&n2.server, Method::POST, &fenced(":save"), Value::Null).await;
    assert_eq!(stale.header(NODE), Some("node-1"));
    assert!(stale.status.is_client_error(), "{:?}", stale.json());
}

#[tokio::test]
async fn events_long_poll_and_stream_through_another_node() {
    let [n1, n2]: [TestNode; 2] = nodes(Duration::from_secs(10), 2).await.try_into().unwrap();
    let count = load_count(&start(&n1, "job-e", "p1").await);
    let events = format!("/session-api/v1/universes/{U}/servers/job-e/events");
    let first = call(
        &n2.server,
        Method::GET,
        &format!("{events}?timeout=0"),
        Value::Null,
    )
    .await;
    assert_eq!(first.header(NODE), Some("node-1"));
    let cursor = first.json()["cursor"].as_str().expect("cursor").to_owned();
    // A long-poll and an event stream wait on node 1 through node 2.
    let poll = {
        let (server, path) = (
            n2.server.url.clone(),
            format!("{events}?cursor={cursor}&timeout=30"),
        );
        let key = n2.server.api_key.clone();
        tokio::spawn(async move {
            support::send(
                Method::GET,
                &format!("{server}{path}"),
                &[("x-api-key", &key)],
                "",
            )
            .await
        })
    };
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let req = Request::get(format!("{}{events}?cursor={cursor}", n2.server.url))
        .header("x-api-key", &n2.server.api_key)
        .header("accept", "text/event-stream")
        .body(Empty::new())
        .expect("request");
    let mut stream = client.request(req).await.expect("stream").into_body();
    let ended = format!("{}:end?loadCount={count}", profile("job-e", "p1"));
    let end = call(&n1.server, Method::POST, &ended, Value::Null).await;
    assert_eq!(end.status, StatusCode::OK);
    let poll = tokio::time::timeout(Duration::from_secs(30), poll)
        .await
        .expect("the poll answers")
        .expect("task");
    assert_eq!(poll.header(NODE), Some("node-1"));
    let kinds: Vec<Value> = poll.json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert!(kinds.contains(&json!("sessionEnded")), "{kinds:?}");
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !text.contains("event: sessionEnded") {
        let frame = tokio::time::timeout_at(deadline, stream.frame())
            .await
            .expect("the stream carries the events")
            .expect("not ended")
            .expect("frame");
        if let Some(data) = frame.data_ref() {
            text.push_str(&String::from_utf8_lossy(data));
        }
    }
    assert!(text.contains("event: sessionEnding"), "{text}");
}

#[tokio::test]
async fn a_node_shut_down_cleanly_hands_its_game_servers_over_at_once() {
    let [n1, n2]: [TestNode; 2] = nodes(Duration::from_secs(600), 2).await.try_into().unwrap();
    load_count(&start(&n1, "job-s", "p1").await);
    n1.shutdown().await;
    // Its heartbeat went with it (a lease of 600 s would otherwise keep it).
    let live = n2.cluster.nodes().await.expect("nodes");
    assert_eq!(
        live.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        ["node-2"]
    );
    let again = start(&n2, "job-s", "p1").await;
    assert_eq!(again.header(NODE), Some("node-2"));
    assert_eq!(load_count(&again), 2);
}

#[tokio::test]
async fn a_killed_nodes_game_server_moves_after_its_lease_and_its_old_session_writes_nothing() {
    // Long enough that node 1 still counts as live for the next request
    // after the kill, however loaded the machine; short enough that its
    // expiry is waited for in seconds.
    let lease = Duration::from_secs(3);
    let [mut n1, n2]: [TestNode; 2] = nodes(lease, 2).await.try_into().unwrap();
    let count = load_count(&start(&n1, "job-k", "p1").await);
    let fenced = format!("{}?loadCount={count}", profile("job-k", "p1"));
    let patch = json!({"data": {"coins": 1}});
    let patched = call(&n2.server, Method::PATCH, &fenced, patch).await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.json());
    let saved = call(
        &n2.server,
        Method::POST,
        &fenced.replace("?", ":save?"),
        Value::Null,
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK);
    n1.kill();
    // Before the lease runs out node 2 still forwards: a 503 to retry.
    let early = call(
        &n2.server,
        Method::GET,
        &profile("job-k", "p1"),
        Value::Null,
    )
    .await;
    assert_eq!(
        early.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        early.json()
    );
    assert!(early.json()["message"]
        .as_str()
        .unwrap_or("")
        .contains("node-1"));
    until_dead(&n2, "node-1", lease * 20).await;
    // The game server's next call claims it; its start takes the lock its
    // old session (same place and job) left, without the 40 s steal.
    let began = Instant::now();
    let again = start(&n2, "job-k", "p1").await;
    assert_eq!(again.header(NODE), Some("node-2"));
    let new_count = load_count(&again);
    assert_eq!(new_count, count + 1);
    // Well under the 40 s a steal would wait.
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(again.json()["profile"]["data"], json!({"coins": 1}));
    // The killed node's old session still runs in memory: its save finds
    // the lock lost and writes nothing.
    let old = n1
        .sessions
        .existing(U, "job-k")
        .expect("still in the killed node's memory")
        .session("Players", "p1", count)
        .expect("it still thinks it is active");
    old.update_data(|d| *d = json!({"coins": 999}))
        .expect("in memory");
    let _ = old.save().await;
    tokio::time::timeout(Duration::from_secs(30), old.ended())
        .await
        .expect("the old session ends");
    let stored_path = format!("/session-api/v1/universes/{U}/stores/Players/p1");
    let stored = call(&n2.server, Method::GET, &stored_path, Value::Null).await;
    assert_eq!(
        stored.json()["data"],
        json!({"coins": 1}),
        "nothing written"
    );
    assert_eq!(stored.json()["loadCount"], json!(new_count));
    let session_id = again.json()["profile"]["sessionId"].clone();
    assert_eq!(
        stored.json()["session"]["sessionId"],
        session_id,
        "node 2's"
    );
    let fenced = format!("{}:save?loadCount={new_count}", profile("job-k", "p1"));
    let saved = call(&n2.server, Method::POST, &fenced, Value::Null).await;
    assert_eq!(
        (saved.status, saved.header(NODE)),
        (StatusCode::OK, Some("node-2"))
    );
}

#[tokio::test]
async fn a_clock_advance_on_one_node_reaches_the_others() {
    let [n1, n2, n3]: [TestNode; 3] = nodes(Duration::from_secs(10), 3).await.try_into().unwrap();
    let moved = call(
        &n1.server,
        Method::POST,
        "/emulator/v1/clock:advance",
        json!({"seconds": 3600}),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.json());
    assert_eq!(moved.json()["offsetSeconds"], json!(3600.0));
    for node in [&n2, &n3] {
        let read = call(&node.server, Method::GET, "/emulator/v1/clock", Value::Null).await;
        assert_eq!(read.json()["offsetSeconds"], json!(3600.0));
        assert_eq!(node.server.clock().offset(), Duration::from_secs(3600));
    }
    // An advance on node 3 counts on top of node 1's.
    let moved = call(
        &n3.server,
        Method::POST,
        "/emulator/v1/clock:advance",
        json!({"seconds": 60}),
    )
    .await;
    assert_eq!(moved.json()["offsetSeconds"], json!(3660.0));
    let read = call(&n1.server, Method::GET, "/emulator/v1/clock", Value::Null).await;
    assert_eq!(read.json()["offsetSeconds"], json!(3660.0));
    // The nodes stay live: leases are not on the emulated clock.
    assert_eq!(n2.cluster.nodes().await.expect("nodes").len(), 3);
}

#[tokio::test]
async fn the_nodes_listing_and_loop_prevention() {
    let [n1, n2]: [TestNode; 2] = nodes(Duration::from_secs(10), 2).await.try_into().unwrap();
    let listed = call(&n2.server, Method::GET, "/cluster/v1/nodes", Value::Null).await;
    assert_eq!(listed.status, StatusCode::OK);
    let body = listed.json();
    assert_eq!(body["node"], json!("node-2"));
    let urls: Vec<(&str, &str)> = body["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n["url"].as_str().unwrap()))
        .collect();
    assert_eq!(urls, [("node-1", n1.url()), ("node-2", n2.url())]);
    assert!(body["nodes"][0]["heartbeatTime"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let anonymous = support::send(
        Method::GET,
        &format!("{}/cluster/v1/nodes", n2.url()),
        &[],
        "",
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let alone = profilestore::testing::spawn_test_server().await;
    let off = call(&alone, Method::GET, "/cluster/v1/nodes", Value::Null).await;
    assert_eq!(off.status, StatusCode::NOT_FOUND);
    assert!(off.header(NODE).is_none());
    // A forwarded call is handled where it arrives (never forwarded again).
    load_count(&start(&n1, "job-l", "p1").await);
    let forwarded = call_with(
        &n2.server,
        Method::GET,
        &profile("job-l", "p1"),
        &[("x-profilestore-forwarded", "node-9")],
        Value::Null,
    )
    .await;
    assert_eq!(forwarded.header(NODE), Some("node-2"));
    assert_eq!(
        forwarded.status,
        StatusCode::BAD_REQUEST,
        "no sessions here"
    );
    // A game server that leaves releases its home.
    let left = call(
        &n2.server,
        Method::DELETE,
        &format!("/session-api/v1/universes/{U}/servers/job-l"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (left.status, left.header(NODE)),
        (StatusCode::OK, Some("node-1"))
    );
    assert_eq!(left.json()["ended"], json!(true));
    let next = start(&n2, "job-l", "p1").await;
    assert_eq!(next.header(NODE), Some("node-2"));
}

#[tokio::test]
async fn serve_joins_with_its_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = support::process::ServeProcess::builder(dir.path())
        .storage("memory")
        .args(["--cluster", "--node-id", "solo-1"])
        .start();
    let answer = support::send(
        Method::GET,
        &format!("{}/cluster/v1/nodes", server.url),
        &[],
        "",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    assert_eq!(answer.header(NODE), Some("solo-1"));
    let nodes = answer.json()["nodes"].clone();
    assert_eq!(nodes[0]["id"], json!("solo-1"));
    assert_eq!(nodes[0]["url"], json!(server.url));
    let listed = support::cli::Cli::new()
        .args(["cluster", "nodes", "--url", &server.url])
        .arg("--data-dir")
        .arg(dir.path())
        .run()
        .json();
    assert_eq!(listed["node"], json!("solo-1"), "{listed}");
    assert_eq!(listed["nodes"][0]["url"], json!(server.url));
    assert!(server.stop().success());
}

#[tokio::test]
async fn a_relayed_stream_does_not_hold_up_the_relaying_nodes_shutdown() {
    let [n1, n2]: [TestNode; 2] = nodes(Duration::from_secs(10), 2).await.try_into().unwrap();
    load_count(&start(&n1, "job-r", "p1").await);
    let events = format!("/session-api/v1/universes/{U}/servers/job-r/events");
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let req = Request::get(format!("{}{events}", n2.server.url))
        .header("x-api-key", &n2.server.api_key)
        .header("accept", "text/event-stream")
        .body(Empty::new())
        .expect("request");
    let answer = client.request(req).await.expect("stream");
    assert_eq!(answer.headers()[NODE], "node-1");
    let mut stream = answer.into_body();
    tokio::time::timeout(Duration::from_secs(30), n2.shutdown())
        .await
        .expect("node 2 shuts down with a relayed stream open");
    // The stream through node 2 ended; node 1 still serves the game server.
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(_)) = stream.frame().await {}
    })
    .await;
    assert!(ended.is_ok(), "the relayed stream ended");
    let read = call(
        &n1.server,
        Method::GET,
        &profile("job-r", "p1"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (read.status, read.header(NODE)),
        (StatusCode::OK, Some("node-1"))
    );
}

/// Memory stores and data store management are shared by the nodes: a
/// sorted-map item written through node 1 is read through node 2, and a
/// store deleted through node 1 is refused by node 2 once its management
/// state is re-read (every second in a cluster).
#[tokio::test]
async fn memory_stores_and_store_deletes_reach_every_node() {
    let [n1, n2]: [TestNode; 2] = nodes(Duration::from_secs(10), 2).await.try_into().unwrap();
    let oc = format!("/cloud/v2/universes/{U}/memory-store/sorted-maps/m/items");
    let made = call(
        &n1.server,
        Method::POST,
        &format!("{oc}?id=k1"),
        json!({"value": {"hp": 3}, "ttl": "60s"}),
    )
    .await;
    assert_eq!(made.status, StatusCode::OK, "{:?}", made.json());
    let read = call(&n2.server, Method::GET, &format!("{oc}/k1"), Value::Null).await;
    assert_eq!(read.status, StatusCode::OK, "{:?}", read.json());
    assert_eq!(read.json()["value"], json!({"hp": 3}));

    let entry = format!("/cloud/v2/universes/{U}/data-stores/Bag/entries");
    let set = call(
        &n2.server,
        Method::POST,
        &format!("{entry}?id=a"),
        json!({"value": 1}),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.json());
    let deleted = call(
        &n1.server,
        Method::DELETE,
        &format!("/cloud/v2/universes/{U}/data-stores/Bag"),
        Value::Null,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK, "{:?}", deleted.json());
    // Node 2 re-reads the state within a second of real time (the nodes'
    // adjustable clocks follow system time); wait for the refusal.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = call(&n2.server, Method::GET, &format!("{entry}/a"), Value::Null).await;
        if got.status == StatusCode::NOT_FOUND {
            break;
        }
        assert_eq!(got.status, StatusCode::OK, "{:?}", got.json());
        assert!(Instant::now() < deadline, "node 2 never saw the delete");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
