//! The server's defensive defaults, each proven over real sockets: the
//! listen-address rule, API key comparison, no secret in logs, the header
//! and body timeouts (slowloris), header and body size limits, the
//! connection cap, and the long-poll cap and timeout range.
//!
//! Everything here runs on real time: tokio's paused clock jumps ahead
//! whenever the runtime waits on I/O, so a timeout could fire before the
//! kernel delivers bytes over loopback. The timeout tests start servers
//! with short limits ([`SHORT`]) instead; every wait for something that
//! must happen gives up only after [`GIVE_UP`], and the server's state is
//! waited for as an event ([`wait_until`]), never as a sleep.

mod support;

use std::time::Duration;

use hyper::{Method, StatusCode};
use profilestore::http::request::BODY_READ_TIMEOUT;
use profilestore::http::{check_bind_safety, Limits, HEADER_READ_TIMEOUT};
use profilestore::testing::{spawn_test_server, spawn_test_server_with};
use support::process::{ServeProcess, Stderr};
use support::send;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

fn host_port(url: &str) -> &str {
    url.trim_start_matches("http://")
}

/// The header or body time limit of the servers the timeout tests start.
const SHORT: Duration = Duration::from_millis(400);

/// How long a test waits for something that must happen before failing:
/// far more than a loaded machine needs, and less than the 60 s a
/// long-poll may wait (so that a slot freed by the poll's own end is not
/// taken for one freed by its client leaving).
const GIVE_UP: Duration = Duration::from_secs(30);

/// A connection closed by a [`SHORT`] limit is closed before this: far
/// more than a loaded machine needs, half the default limits or less, so
/// the configured limit is the one that fired.
const CLOSED_BY: Duration = Duration::from_secs(15);

/// How long a test watches for something that must not happen. Only a
/// wrong server can fail such a check, however slow the machine.
const QUIET: Duration = Duration::from_millis(300);

/// How often a trickling client sends its next byte.
const TRICKLE: Duration = Duration::from_millis(50);

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut (impl AsyncRead + Unpin)) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(GIVE_UP, read_all)
        .await
        .expect("the server never closed the connection");
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads until one whole response head has arrived.
async fn read_head(stream: &mut (impl AsyncRead + Unpin)) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !out.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(
                n > 0,
                "closed before answering: {:?}",
                String::from_utf8_lossy(&out)
            );
            out.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(GIVE_UP, read)
        .await
        .expect("the server never answered");
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits until `done` holds; fails after [`GIVE_UP`] naming `what`.
async fn wait_until(what: &str, done: impl FnMut() -> bool) {
    support::wait_until(what, GIVE_UP, done).await;
}

/// Writes `byte` every [`TRICKLE`] until the server stops taking them.
async fn trickle(out: &mut (impl AsyncWrite + Unpin), byte: u8) {
    while out.write_all(&[byte]).await.is_ok() {
        tokio::time::sleep(TRICKLE).await;
    }
    // Keep the connection open: the server, not the client, ends it.
    std::future::pending::<()>().await;
}
#[test]
fn without_a_key_only_loopback_addresses_are_allowed() {
    for (addr, key, ok) in [
        ("127.0.0.1:0", false, true),
        ("[::1]:0", false, true),
        ("0.0.0.0:0", false, false),
        ("[::]:0", false, false),
        ("192.168.1.10:8787", false, false),
        ("0.0.0.0:0", true, true),
    ] {
        let result = check_bind_safety(addr.parse().expect("addr"), key);
        assert_eq!(result.is_ok(), ok, "{addr} with key: {key}");
    }
}

#[tokio::test]
async fn only_the_exact_key_is_accepted() {
    let server = spawn_test_server().await;
    let url = format!(
        "{}/datastores/v1/universes/1/standard-datastores",
        server.url
    );
    let key = server.api_key.clone();
    let near_misses = [
        key[..key.len() - 1].to_owned(),
        format!("{key}x"),
        key.to_uppercase(),
        String::new(),
    ];
    for wrong in &near_misses {
        let a = send(Method::GET, &url, &[("x-api-key", wrong)], "").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
    }
    let a = send(Method::GET, &url, &[("x-api-key", &key)], "").await;
    assert_eq!(a.status, StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn api_keys_never_reach_the_log_even_at_trace_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = "s3cret-key-7f1c0d";
    let wrong = "wrong-key-a9b8c7";
    let server = ServeProcess::builder(dir.path())
        .storage("memory")
        .api_key(secret)
        .env("PROFILESTORE_LOG", "trace")
        .stderr(Stderr::Capture)
        .start();
    let base = server.url.clone();
    let entry = format!(
        "{base}/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=D&entryKey=k"
    );
    for key in [secret, wrong] {
        send(Method::POST, &entry, &[("x-api-key", key)], "1").await;
        send(Method::GET, &entry, &[("x-api-key", key)], "").await;
    }
    send(Method::GET, &entry, &[], "").await;
    let (_, log) = server.stop_with_stderr();
    assert!(
        log.contains("rejected: missing or wrong API key") && log.contains("DEBUG"),
        "the log was captured at a verbose level: {log}"
    );
    assert!(!log.contains(secret), "the API key was logged: {log}");
    assert!(!log.contains(wrong), "a wrong key was logged: {log}");
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected() {
    assert!(CLOSED_BY < HEADER_READ_TIMEOUT);
    let limits = Limits::default().with_header_read_timeout(SHORT);
    let server = spawn_test_server_with(limits).await;
    // Timed from before the connection exists: the server's clock for the
    // head cannot have started earlier.
    let start = Instant::now();
    let mut stream = TcpStream::connect(host_port(&server.url))
        .await
        .expect("connect");
    stream
        .write_all(
            b"GET /datastores/v1/universes/1/standard-datastores HTTP/1.1\r\nhost: x\r\nx-slow: ",
        )
        .await
        .expect("write");
    // A byte every 50 ms: never idle, never done.
    let (mut rd, mut wr) = stream.split();
    let answer = tokio::select! {
        answer = read_to_close(&mut rd) => answer,
        () = trickle(&mut wr, b'a') => unreachable!("trickle never returns"),
    };
    let waited = start.elapsed();
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(
        waited >= SHORT && waited < CLOSED_BY,
        "closed after {waited:?} (limit {SHORT:?})"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    assert!(CLOSED_BY < HEADER_READ_TIMEOUT);
    let limits = Limits::default().with_header_read_timeout(SHORT);
    let server = spawn_test_server_with(limits.clone()).await;
    // Timed from before the request: the server's idle clock starts once
    // it has answered, so later than this.
    let start = Instant::now();
    let mut stream = TcpStream::connect(host_port(&server.url))
        .await
        .expect("connect");
    stream
        .write_all(b"GET /nowhere HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("connection: close"),
        "kept alive: {head}"
    );
    // The event: the server ends the connection (EOF), within GIVE_UP.
    read_to_close(&mut stream).await;
    let waited = start.elapsed();
    assert!(
        waited >= SHORT && waited < CLOSED_BY,
        "closed after {waited:?} (limit {SHORT:?})"
    );
    // The server, not only the socket, ended it: it counts it no more.
    wait_until("the server counts the connection closed", || {
        limits.open_connections() == 0
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_trickled_body_gets_408_and_writes_nothing() {
    assert!(CLOSED_BY < BODY_READ_TIMEOUT);
    let limits = Limits::default().with_body_read_timeout(SHORT);
    let server = spawn_test_server_with(limits).await;
    let path = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=D&entryKey=k";
    let start = Instant::now();
    let mut stream = TcpStream::connect(host_port(&server.url))
        .await
        .expect("connect");
    // A body announced far longer than the trickle can ever send.
    stream
        .write_all(
            format!(
                "POST {path} HTTP/1.1\r\nhost: x\r\nx-api-key: {}\r\ncontent-length: 1000000\r\n\r\n[1,",
                server.api_key
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let (mut rd, mut wr) = stream.split();
    let head = tokio::select! {
        head = read_head(&mut rd) => head,
        () = trickle(&mut wr, b'1') => unreachable!("trickle never returns"),
    };
    let waited = start.elapsed();
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(
        waited >= SHORT && waited < CLOSED_BY,
        "answered after {waited:?} (limit {SHORT:?})"
    );
    let store = server
        .datastores
        .data_store(1, "D", "global")
        .expect("store");
    assert!(store.get("k").await.expect("get").is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_headers_and_bodies_are_refused() {
    let server = spawn_test_server().await;
    let url = format!(
        "{}/datastores/v1/universes/1/standard-datastores",
        server.url
    );
    let huge = "a".repeat(512 * 1024);
    let mut stream = TcpStream::connect(host_port(&server.url))
        .await
        .expect("connect");
    let request = format!("GET /x HTTP/1.1\r\nhost: x\r\nx-big: {huge}\r\n\r\n");
    // The server may stop reading before all is written.
    let _ = stream.write_all(request.as_bytes()).await;
    let answer = read_to_close(&mut stream).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer:.200}"
    );
    let mut stream = TcpStream::connect(host_port(&server.url))
        .await
        .expect("connect");
    let many: String = (0..200).map(|i| format!("x-h{i}: v\r\n")).collect();
    let _ = stream
        .write_all(format!("GET /x HTTP/1.1\r\nhost: x\r\n{many}\r\n").as_bytes())
        .await;
    let answer = read_to_close(&mut stream).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer:.200}"
    );
    let entry = format!("{url}/datastore/entries/entry?datastoreName=D&entryKey=k");
    let body = vec![b'1'; 5 * 1024 * 1024];
    let a = send(
        Method::POST,
        &entry,
        &[("x-api-key", &server.api_key)],
        body,
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    let a = send(Method::GET, &url, &[("x-api-key", &server.api_key)], "").await;
    assert_eq!(a.status, StatusCode::OK, "still serving");
    server.shutdown().await;
}

/// Sends a request on `stream` and reads its answer's head (a 401: no key).
async fn round_trip(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /x HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    read_head(stream).await
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    // Idle connections stay open for the whole test: only closing one may
    // free a slot.
    let limits = Limits::new(2, 1).with_header_read_timeout(Duration::from_secs(600));
    let server = spawn_test_server_with(limits.clone()).await;
    let addr = host_port(&server.url).to_owned();
    // An answer on each proves the server has accepted both (and holds
    // both slots: they stay open, kept alive).
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        let head = round_trip(&mut stream).await;
        assert!(head.starts_with("HTTP/1.1 401"), "{head}");
        held.push(stream);
    }
    assert_eq!(limits.open_connections(), 2, "both connections are served");
    // The third is accepted by the kernel (backlog) and its request sent.
    let mut third = TcpStream::connect(&addr).await.expect("kernel backlog");
    third
        .write_all(b"GET /x HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    // Events instead of a wait: a server without the cap, on this test's
    // one thread, would accept and answer the third while it answers these
    // requests on a held connection, sent after the third's.
    for _ in 0..3 {
        let head = round_trip(&mut held[1]).await;
        assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    }
    let mut buf = [0u8; 64];
    let early = third.try_read(&mut buf);
    assert!(
        matches!(&early, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "served beyond the cap: {early:?}"
    );
    // And a moment of real time, for a server on other threads.
    let early = tokio::time::timeout(QUIET, third.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond the cap: {early:?}");
    assert_eq!(limits.open_connections(), 2, "no third slot");
    // Closing one frees its slot: the third is served (within GIVE_UP).
    drop(held.remove(0));
    let head = read_head(&mut third).await;
    assert!(
        head.starts_with("HTTP/1.1 401"),
        "served once a slot is free: {head}"
    );
    assert_eq!(limits.open_connections(), 2, "the held one and the third");
    server.shutdown().await;
}

#[tokio::test]
async fn long_polls_beyond_the_cap_answer_429() {
    let limits = Limits::new(64, 2);
    let server = spawn_test_server_with(limits.clone()).await;
    let key = server.api_key.clone();
    let topic = format!("{}/messaging-service/v1/universes/1/topics/t", server.url);
    let start = send(
        Method::GET,
        &format!("{topic}/messages?timeout=0"),
        &[("x-api-key", &key)],
        "",
    )
    .await
    .json();
    let cursor = start["cursor"].as_str().expect("cursor").to_owned();
    let poll_url = format!("{topic}/messages?cursor={cursor}&timeout=50");
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let (url, key) = (poll_url.clone(), key.clone());
            tokio::spawn(async move { send(Method::GET, &url, &[("x-api-key", &key)], "").await })
        })
        .collect();
    wait_until("both polls wait in a slot", || {
        limits.busy_long_polls() == 2
    })
    .await;
    let refused = send(Method::GET, &poll_url, &[("x-api-key", &key)], "").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.json()["error"], "RESOURCE_EXHAUSTED");
    let immediate = send(
        Method::GET,
        &format!("{topic}/messages?cursor={cursor}&timeout=0"),
        &[("x-api-key", &key)],
        "",
    )
    .await;
    assert_eq!(immediate.status, StatusCode::OK, "timeout=0 takes no slot");
    let published = send(
        Method::POST,
        &topic,
        &[("x-api-key", &key)],
        r#"{"message":"hi"}"#,
    )
    .await;
    assert_eq!(published.status, StatusCode::OK);
    for w in waiting {
        let a = tokio::time::timeout(GIVE_UP, w)
            .await
            .expect("the publish ends the poll")
            .expect("join");
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.json()["messages"][0]["data"], "hi");
    }
    // A poll gives its slot back before it answers.
    assert_eq!(limits.busy_long_polls(), 0, "slots are given back");
    let again = send(Method::GET, &poll_url, &[("x-api-key", &key)], "").await;
    assert_eq!(again.status, StatusCode::OK, "slots are given back");
    server.shutdown().await;
}

#[tokio::test]
async fn an_abandoned_long_poll_gives_its_slot_back() {
    let limits = Limits::new(64, 1);
    let server = spawn_test_server_with(limits.clone()).await;
    let key = server.api_key.clone();
    let topic = format!("{}/messaging-service/v1/universes/1/topics/t", server.url);
    let poll = format!("{topic}/messages?cursor=0&timeout=60");
    let mut stream = TcpStream::connect(host_port(&server.url))
        .await
        .expect("connect");
    stream
        .write_all(
            format!(
                "GET /messaging-service/v1/universes/1/topics/t/messages?cursor=0&timeout=60 HTTP/1.1\r\nhost: x\r\nx-api-key: {key}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    wait_until("the poll waits in a slot", || limits.busy_long_polls() == 1).await;
    let busy = send(Method::GET, &poll, &[("x-api-key", &key)], "").await;
    assert_eq!(busy.status, StatusCode::TOO_MANY_REQUESTS);
    drop(stream);
    // Within GIVE_UP (30 s), long before the poll's own 60 s end.
    wait_until("the abandoned poll gives its slot back", || {
        limits.busy_long_polls() == 0
    })
    .await;
    let freed = send(
        Method::GET,
        &format!("{topic}/messages?cursor=0&timeout=1"),
        &[("x-api-key", &key)],
        "",
    )
    .await;
    assert_eq!(freed.status, StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn long_poll_timeouts_outside_0_to_60_seconds_are_400() {
    let server = spawn_test_server().await;
    let key = server.api_key.clone();
    let topic = format!("{}/messaging-service/v1/universes/1/topics/t", server.url);
    for bad in ["61", "3600", "-1", "NaN", "inf", "ten"] {
        let a = send(
            Method::GET,
            &format!("{topic}/messages?cursor=0&timeout={bad}"),
            &[("x-api-key", &key)],
            "",
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "timeout={bad}");
    }
    let a = send(
        Method::GET,
        &format!("{topic}/messages?timeout=60"),
        &[("x-api-key", &key)],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    server.shutdown().await;
}
