//! Raw requests (any bytes: invalid UTF-8 in paths and headers, broken
//! framing), the case type of the tables, the error body shapes, and a
//! snapshot of everything a server stores.

use std::time::Duration;

use profilestore::bus::MessageBus;
use profilestore::datastore::{DataStoreService, ListKeysOptions, ListVersionsOptions};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Which error body a route family answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `{"error", "message", "errorDetails": [{"datastoreErrorCode"}]}`.
    V1,
    /// `{"code", "message", "details"}`.
    V2,
    /// `{"errors": [{"code": 0, "message"}]}`.
    Gateway,
    /// Refused by hyper before routing (no body promised).
    Hyper,
}

/// One row of a table.
#[derive(Debug)]
pub(crate) struct Case {
    /// The route family (for the counts).
    pub family: &'static str,
    /// What is wrong.
    pub name: String,
    /// The whole request, as sent.
    pub raw: Vec<u8>,
    /// The expected status.
    pub status: u16,
    /// The expected error body.
    pub shape: Shape,
}

/// A parsed answer.
#[derive(Debug)]
pub(crate) struct Raw {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

/// A request: `method target`, the API key unless `key` is `None`, the
/// extra header lines (raw bytes) and a body with its content-length.
pub(crate) fn request(
    method: &str,
    target: &[u8],
    key: Option<&str>,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\nhost: test\r\nconnection: close\r\n");
    if let Some(key) = key {
        out.extend_from_slice(format!("x-api-key: {key}\r\n").as_bytes());
    }
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || matches!(method, "POST" | "PATCH" | "PUT") {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Sends `raw` on a new connection and reads the answer until the server
/// closes it (status 0 when it closed without one, or sent none in 10 s).
pub(crate) async fn exchange(addr: &str, raw: &[u8]) -> Raw {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    // Read while writing: a server may answer (413, 400) before reading
    // all of a large body, then close; a failed write is no failure here.
    let write = async move {
        let _ = wr.write_all(raw).await;
        wr
    };
    let read = async {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    };
    let Ok((_wr, out)) =
        tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(write, read) }).await
    else {
        return Raw {
            status: 0,
            head: "no answer within 10 s".to_owned(),
            body: Vec::new(),
        };
    };
    let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Raw {
            status: 0,
            head: format!("no answer: {:?}", String::from_utf8_lossy(&out)),
            body: Vec::new(),
        };
    };
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    Raw {
        status,
        head,
        body: out[end + 4..].to_vec(),
    }
}

/// Checks one answer against its case; `Err` says what is wrong.
pub(crate) fn check(case: &Case, got: &Raw) -> Result<(), String> {
    if case.status == 0 && got.status == 0 {
        return Ok(());
    }
    if got.status >= 500 {
        return Err(format!("5xx: {}", got.head));
    }
    if got.status != case.status {
        return Err(format!(
            "status {} instead of {}: {} {}",
            got.status,
            case.status,
            got.head.lines().next().unwrap_or(""),
            String::from_utf8_lossy(&got.body)
        ));
    }
    if case.shape == Shape::Hyper {
        return Ok(());
    }
    let v: Value = serde_json::from_slice(&got.body)
        .map_err(|e| format!("error body is not JSON ({e}): {:?}", got.body))?;
    let message = match case.shape {
        Shape::V1 => {
            let ok =
                v["error"].is_string() && v["errorDetails"][0]["datastoreErrorCode"].is_string();
            ok.then(|| v["message"].as_str()).flatten()
        }
        Shape::V2 => {
            let ok = v["code"].is_string() && v["details"].is_array();
            ok.then(|| v["message"].as_str()).flatten()
        }
        Shape::Gateway => v["errors"][0]["message"].as_str(),
        Shape::Hyper => unreachable!(),
    };
    match message {
        Some(m) if m.len() >= 8 => Ok(()),
        _ => Err(format!("not a clear {:?} error body: {v}", case.shape)),
    }
}

/// Everything stored in universes 1 and 2 (every version of every key of
/// every scope of every data store, with its value and key info) and the
/// messages retained on the test topics.
pub(crate) async fn snapshot(ds: &DataStoreService, bus: &MessageBus) -> Vec<String> {
    let mut out = Vec::new();
    for universe in [1u64, 2] {
        let mut cursor: Option<String> = None;
        loop {
            let page = ds
                .list_data_stores(universe, "", 0, cursor.as_deref())
                .await
                .expect("list stores");
            for store in &page.items {
                let all = ds
                    .data_store_all_scopes(universe, &store.name)
                    .expect("store");
                let mut keys = ListKeysOptions::default();
                loop {
                    let page = all.list_keys(&keys).await.expect("keys");
                    for k in &page.items {
                        let one = ds
                            .data_store(universe, &store.name, &k.scope)
                            .expect("scope");
                        let latest = one.get(&k.key).await.expect("get");
                        out.push(format!(
                            "{universe}/{}/{}/{} = {:?}",
                            store.name,
                            k.scope,
                            k.key,
                            latest.map(|e| (e.value, e.info))
                        ));
                        let mut versions = ListVersionsOptions::default();
                        loop {
                            let page = one.list_versions(&k.key, &versions).await.expect("v");
                            for v in &page.items {
                                out.push(format!("  {} deleted={}", v.version, v.deleted));
                            }
                            match page.cursor {
                                Some(c) => versions.cursor = Some(c),
                                None => break,
                            }
                        }
                    }
                    match page.cursor {
                        Some(c) => keys.cursor = Some(c),
                        None => break,
                    }
                }
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    for topic in ["t", "PS_x"] {
        let (messages, next) = bus.read_since(topic, Some(0), 10_000).expect("read");
        out.push(format!(
            "topic {topic}: {} messages, cursor {next}",
            messages.len()
        ));
    }
    out
}
