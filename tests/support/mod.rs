//! Test support shared by every test crate (`mod support;`): a small HTTP
//! client for black-box tests against a running server ([`send`], and
//! [`call`]/[`call_with`] for a test server with its key), the one
//! way to launch `profilestore serve` ([`process`]), the one CLI runner
//! ([`cli`]), game servers as processes ([`game_server`]), the one in-memory world ([`world`]), and the failure-reporting
//! client of the crash harness and load bench ([`raw_client`]), and the
//! ordered data store tests' helpers ([`ordered`]).

#![allow(dead_code)]

pub(crate) mod cli;
pub(crate) mod game_server;
pub(crate) mod net;
pub(crate) mod ordered;
pub(crate) mod raw_client;
pub(crate) mod world;

/// Declared in `raw_client.rs`, which the load bench includes on its own.
#[allow(unused_imports)]
pub(crate) use raw_client::process;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// One answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request.
pub(crate) async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(body.into())).expect("request");
    let res = client.request(req).await.expect("send");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

/// One request to `server` with its API key and `headers`; a `Null` body
/// sends none, any other value is sent as JSON text.
pub(crate) async fn call_with(
    server: &profilestore::testing::TestServer,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> Answer {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut all = vec![("x-api-key", server.api_key.as_str())];
    all.extend_from_slice(headers);
    send(method, &format!("{}{path}", server.url), &all, body).await
}

/// [`call_with`] without extra headers.
pub(crate) async fn call(
    server: &profilestore::testing::TestServer,
    method: Method,
    path: &str,
    body: Value,
) -> Answer {
    call_with(server, method, path, &[], body).await
}

/// Reads a streamed answer (SSE, a long-poll) until its text so far
/// contains `needle`, failing when a chunk takes longer than `within`.
/// Returns everything read.
pub(crate) async fn read_stream_until(
    body: &mut hyper::body::Incoming,
    needle: &str,
    within: std::time::Duration,
) -> String {
    let mut text = String::new();
    while !text.contains(needle) {
        let frame = tokio::time::timeout(within, body.frame())
            .await
            .expect("data in time")
            .expect("stream open")
            .expect("frame");
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
    }
    text
}

/// Waits until `done` holds, checking every few milliseconds of real time;
/// fails after `bound` naming `what`. For a server's state that must come
/// (a long-poll holding its slot, a connection let go): an event to wait
/// for, where a fixed sleep would only hope it came.
pub(crate) async fn wait_until(
    what: &str,
    bound: std::time::Duration,
    mut done: impl FnMut() -> bool,
) {
    let deadline = tokio::time::Instant::now() + bound;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {bound:?}: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
