//! Bad input over HTTP: every route of the server (Open Cloud v1 and v2
//! DataStore, messaging publish, long-poll and SSE, the session API, and
//! the gateway's key check and routing) given wrong types, over-long
//! names, huge and deeply nested bodies, invalid UTF-8 in body, path,
//! query and headers, NaN/infinite/negative/overflowing numbers, bad and
//! foreign cursors, wrong `content-md5`, bad `matchVersion`, missing or
//! wrong API keys, wrong methods and unknown routes. Every case must get
//! its 4xx with a clear error body in the route's shape, the whole table
//! must change nothing that is stored, and the server must serve normally
//! afterwards. Slow and abandoned connections are at the end (the header
//! and body timeouts themselves are in `tests/security.rs`).

#[path = "../support/mod.rs"]
mod support;

mod cases;
mod raw;

use std::collections::BTreeMap;
use std::time::Duration;

use hyper::{Method, StatusCode};
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::Value;
use support::send;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const V1: &str = "/datastores/v1/universes/1/standard-datastores";

fn addr(server: &TestServer) -> String {
    server.url.trim_start_matches("http://").to_owned()
}

async fn call(server: &TestServer, method: Method, path: &str, body: &str) -> support::Answer {
    send(
        method,
        &format!("{}{path}", server.url),
        &[("x-api-key", &server.api_key)],
        body.to_owned(),
    )
    .await
}

fn entry(store: &str, key: &str) -> String {
    format!("{V1}/datastore/entries/entry?datastoreName={store}&entryKey={key}")
}

/// Data every table refers to: entries `s/k` (an object, written twice),
/// `s/c` (i64::MAX), `t/k1..k3`, a message on `t`, and profile `p/k` of a
/// session started and ended by game server `j`.
async fn seed(server: &TestServer) -> cases::Ctx {
    let ok = |a: &support::Answer| assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let first = call(server, Method::POST, &entry("s", "k"), "{\"a\":0}").await;
    ok(&first);
    let stale = first.json()["version"]
        .as_str()
        .expect("version")
        .to_owned();
    ok(&call(server, Method::POST, &entry("s", "k"), "{\"a\":1}").await);
    ok(&call(
        server,
        Method::POST,
        &entry("s", "c"),
        "9223372036854775807",
    )
    .await);
    for k in ["k1", "k2", "k3"] {
        ok(&call(server, Method::POST, &entry("t", k), "1").await);
    }
    let keys = call(
        server,
        Method::GET,
        &format!("{V1}/datastore/entries?datastoreName=t&limit=1"),
        "",
    )
    .await;
    let foreign_keys_cursor = keys.json()["nextPageCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let v2 = call(
        server,
        Method::GET,
        "/cloud/v2/universes/1/data-stores/t/entries?maxPageSize=1",
        "",
    )
    .await;
    let foreign_v2_token = v2.json()["nextPageToken"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(!foreign_keys_cursor.is_empty() && !foreign_v2_token.is_empty());
    ok(&call(
        server,
        Method::POST,
        "/messaging-service/v1/universes/1/topics/t",
        "{\"message\":\"hi\"}",
    )
    .await);
    let sapi = "/session-api/v1/universes/1/servers/j";
    let started = call(
        server,
        Method::POST,
        &format!("{sapi}/sessions"),
        "{\"store\":\"p\",\"key\":\"k\",\"template\":{\"coins\":0}}",
    )
    .await;
    ok(&started);
    let count = started.json()["profile"]["loadCount"].as_u64().unwrap_or(1);
    ok(&call(
        server,
        Method::POST,
        &format!("{sapi}/sessions/p/k:end?loadCount={count}"),
        "",
    )
    .await);
    ok(&call(server, Method::DELETE, sapi, "").await);
    // The first call of the session API's own engine writes its `____PS`
    // access probe (as the Luau module does); make it here, not in a case.
    ok(&call(
        server,
        Method::GET,
        "/session-api/v1/universes/1/stores/p/k",
        "",
    )
    .await);
    cases::Ctx {
        key: server.api_key.clone(),
        foreign_keys_cursor,
        foreign_v2_token,
        stale_version: stale,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_bad_input_with_a_4xx_and_changes_nothing() {
    let server = spawn_test_server().await;
    let ctx = seed(&server).await;
    let mut before = raw::snapshot(&server.datastores, &server.bus).await;
    assert!(before.len() > 10, "{before:#?}");
    let start = before.clone();

    let mut all = Vec::new();
    all.extend(cases::v1(&ctx));
    all.extend(cases::v2(&ctx));
    all.extend(cases::messaging(&ctx));
    all.extend(cases::session_api(&ctx));
    all.extend(cases::gateway(&ctx));
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &all {
        *counts.entry(case.family).or_default() += 1;
        let got = raw::exchange(&addr(&server), &case.raw).await;
        if let Err(e) = raw::check(case, &got) {
            failures.push(format!("[{}] {}: {e}", case.family, case.name));
        }
        // Checked after every case, so a change names its request.
        let now = raw::snapshot(&server.datastores, &server.bus).await;
        if now != before {
            failures.push(format!(
                "[{}] {}: changed the store",
                case.family, case.name
            ));
            before = now;
        }
    }
    for (family, n) in &counts {
        println!("{n:4} cases  {family}");
    }
    println!("{:4} cases  in all", all.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );

    let after = raw::snapshot(&server.datastores, &server.bus).await;
    assert_eq!(start, after, "a refused request changed the store");
    let got = call(&server, Method::GET, &entry("s", "k"), "").await;
    assert_eq!(got.status, StatusCode::OK, "still serving");
    assert_eq!(got.json(), serde_json::json!({"a": 1}));
    server.shutdown().await;
}

/// Opens `n` connections that each send `prefix` and then stall.
async fn stalled(server: &TestServer, n: usize, prefix: &[u8]) -> Vec<TcpStream> {
    let mut streams = Vec::new();
    for _ in 0..n {
        let mut s = TcpStream::connect(addr(server)).await.expect("connect");
        s.write_all(prefix).await.expect("write");
        streams.push(s);
    }
    streams
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_abandoned_connections_write_nothing_and_others_are_served() {
    let server = spawn_test_server().await;
    let ctx = seed(&server).await;
    let before = raw::snapshot(&server.datastores, &server.bus).await;
    let key = &ctx.key;
    let set = |k: &str| {
        format!(
            "POST {} HTTP/1.1\r\nhost: t\r\nx-api-key: {key}\r\ncontent-length: 1000\r\n\r\n{{\"a\":",
            entry("s", k)
        )
    };
    // Half a request head, a head without its end, a body that stops
    // midway, a chunked body that stops midway, a long-poll and an SSE
    // stream whose clients will vanish: all left hanging at once.
    let mut open = Vec::new();
    open.extend(stalled(&server, 20, b"POST /datastores/v1/universes/1/stan").await);
    open.extend(
        stalled(
            &server,
            20,
            format!("GET {V1} HTTP/1.1\r\nx-api-key: {key}\r\n").as_bytes(),
        )
        .await,
    );
    open.extend(stalled(&server, 20, set("k").as_bytes()).await);
    open.extend(stalled(&server, 20, set("new").as_bytes()).await);
    let chunked = format!(
        "POST {} HTTP/1.1\r\nhost: t\r\nx-api-key: {key}\r\ntransfer-encoding: chunked\r\n\r\n10\r\n{{\"a\":1",
        entry("s", "chunky")
    );
    open.extend(stalled(&server, 10, chunked.as_bytes()).await);
    let poll = format!(
        "GET /messaging-service/v1/universes/1/topics/t/messages?cursor=999999&timeout=60 HTTP/1.1\r\nhost: t\r\nx-api-key: {key}\r\n\r\n"
    );
    open.extend(stalled(&server, 5, poll.as_bytes()).await);
    let sse = format!(
        "GET /messaging-service/v1/universes/1/topics/t/messages?stream=sse HTTP/1.1\r\nhost: t\r\nx-api-key: {key}\r\n\r\n"
    );
    open.extend(stalled(&server, 5, sse.as_bytes()).await);

    // While they hang, everyone else is served.
    for i in 0..20 {
        let got = call(&server, Method::GET, &entry("s", "k"), "").await;
        assert_eq!(
            got.status,
            StatusCode::OK,
            "request {i} while {} stall",
            open.len()
        );
    }
    // Then they vanish mid-request: half close their side first (the
    // server sees the end of the stream mid-request), half just go.
    for (i, mut s) in open.into_iter().enumerate() {
        if i % 2 == 0 {
            let _ = s.shutdown().await;
        }
        drop(s);
    }
    // A request whose client closes before reading its answer.
    for _ in 0..10 {
        let mut s = TcpStream::connect(addr(&server)).await.expect("connect");
        let req = format!(
            "GET {} HTTP/1.1\r\nhost: t\r\nx-api-key: {key}\r\n\r\n",
            entry("s", "k")
        );
        s.write_all(req.as_bytes()).await.expect("write");
        drop(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = raw::snapshot(&server.datastores, &server.bus).await;
    assert_eq!(before, after, "an abandoned request wrote something");
    for i in 0..20 {
        let got = call(&server, Method::GET, &entry("s", "k"), "").await;
        assert_eq!(
            got.status,
            StatusCode::OK,
            "request {i} after the abandoned ones"
        );
        let v: Value = got.json();
        assert_eq!(v["a"], 1);
    }
    // Long-poll slots were given back: a full set of long-polls still fits.
    let got = call(
        &server,
        Method::GET,
        "/messaging-service/v1/universes/1/topics/t/messages?cursor=0&timeout=0.1",
        "",
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    server.shutdown().await;
}
