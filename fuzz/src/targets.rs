//! The fuzz targets: each takes arbitrary bytes, drives one parser or
//! validator of profilestore (through `profilestore::fuzzing`, the very
//! functions production code calls), and panics only on a real bug: a
//! panic inside profilestore, a 5xx answer, an error body in no known
//! shape, or a broken round trip. Shared by the fuzz crate (libFuzzer and
//! the mutation driver) and `tests/fuzz_smoke.rs` (the short run in CI).

use std::sync::Arc;
use std::time::Duration;

use profilestore::bus::{BusConfig, MessageBus};
use profilestore::datastore::{
    DataStoreError, DataStoreService, ListKeysOptions, ListVersionsOptions, WriteOptions,
};
use profilestore::fuzzing as f;
use profilestore::Clock;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "driver.rs"]
mod driver;
pub use driver::{drive, mutate, read_dir_inputs, Found, Rng};

/// A target: its name and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("http_request", http_request),
    ("request_parts", request_parts),
    ("value", value),
    ("document", document),
    ("message", message),
    ("cursor", cursor),
    ("config", config),
];

/// The API key the in-memory server of [`http_request`] accepts.
pub const API_KEY: &str = "fuzz-key";

/// Tokens the mutation driver splices in, per target (libFuzzer finds its
/// own with `-use_value_profile` and compare tracing).
pub fn dictionary(target: &str) -> &'static [&'static str] {
    match target {
        "http_request" => &[
            "GET ",
            "POST ",
            "PATCH ",
            "DELETE ",
            "PUT ",
            " HTTP/1.1\r\n",
            "\r\n\r\n",
            "\r\n",
            "x-api-key: fuzz-key\r\n",
            "content-length: ",
            "transfer-encoding: chunked\r\n",
            "content-md5: ",
            "roblox-entry-userids: ",
            "roblox-entry-attributes: ",
            "last-event-id: ",
            "accept: text/event-stream\r\n",
            "/datastores/v1/universes/1/standard-datastores",
            "/datastore/entries/entry",
            "/versions/version",
            "/increment",
            "/cloud/v2/universes/1",
            "/data-stores/s/entries/",
            "/scopes/",
            ":increment",
            ":listRevisions",
            ":publishMessage",
            "/messaging-service/v1/universes/1/topics/t",
            "/messages",
            "/session-api/v1/universes/1",
            "/servers/j/sessions",
            "/events",
            "/stores/s/k",
            ":save",
            ":end",
            ":message",
            "?datastoreName=s&entryKey=k",
            "&scope=",
            "&cursor=",
            "&limit=",
            "&timeout=",
            "NaN",
            "-1",
            "1e99",
            "18446744073709551616",
            "%FF",
            "%C3%28",
            "%00",
            "matchVersion=",
            "exclusiveCreate=true",
            "@latest",
            "@latest:2020-01-01T00:00:00Z",
            "{\"value\":",
            "{\"message\":",
            "[[[[[[[[",
            "\"",
            "{}",
            "null",
        ],
        "request_parts" => &[
            "%",
            "%FF",
            "%2F",
            "+",
            "&",
            "=",
            ".01",
            "0000000000000000",
            "FFFFFFFFFFFFFFFF",
            "T00:00:00Z",
            "+00:00",
            "-",
            "9999-12-31",
            "0000-01-01",
            ".9999999",
        ],
        "config" => &[
            "[server]\n",
            "[storage]\n",
            "[datastore]\n",
            "[messaging]\n",
            "[engine]\n",
            "[log]\n",
            "listen = ",
            "\"0.0.0.0:1\"",
            "api_keys = ",
            "max_body_bytes = ",
            "max_connections = ",
            "max_long_polls = ",
            "session_lease_secs = ",
            "1e300",
            "nan",
            "inf",
            "-inf",
            "0",
            "9223372036854775807",
            "version_expiry_days = ",
            "purge_interval_secs = ",
            "retention_secs = ",
            "retention_messages = ",
            "auto_save_period_secs = ",
            "assume_dead_secs = ",
            "plugin = ",
            "durability = ",
        ],
        _ => &[
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "null",
            "true",
            "1e308",
            "-0",
            "1e-400",
            "18446744073709551615",
            "-9223372036854775809",
            "\"Data\"",
            "\"MetaData\"",
            "\"GlobalUpdates\"",
            "\"ActiveSession\"",
            "\"SessionLoadCount\"",
            "\"UserIds\"",
            "\"RobloxMetaData\"",
            "\\u0000",
            "\\ud800",
            "\n",
        ],
    }
}

/// Checks what the server wrote back: every response has a status below
/// 500, and a JSON error body has one of Open Cloud's shapes.
fn check_responses(input: &[u8], out: &[u8]) {
    let mut rest = out;
    while !rest.is_empty() {
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            return;
        };
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {head:?}"));
        assert!(
            status < 500,
            "status {status} for input {:?}:\n{head}",
            String::from_utf8_lossy(input)
        );
        let header = |name: &str| {
            head.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        };
        let Some(length) = header("content-length").and_then(|l| l.parse::<usize>().ok()) else {
            return; // a stream (SSE) or a closed connection: nothing more to check
        };
        let body_start = head_end + 4;
        let Some(body) = rest.get(body_start..body_start + length) else {
            return;
        };
        if status >= 400 && header("content-type").as_deref() == Some("application/json") {
            let v: Value = serde_json::from_slice(body)
                .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {body:?}"));
            let shaped = (v["error"].is_string() && v["message"].is_string())
                || (v["code"].is_string() && v["message"].is_string())
                || v["errors"][0]["message"].is_string();
            assert!(shaped, "error body in no known shape: {v}");
        }
        rest = &rest[body_start + length..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Raw bytes sent to a real server (the production hyper service, HTTP
/// parsing included) on a fresh memory store, over an in-memory pipe, on
/// paused time (long-polls, steals and timeouts pass instantly).
pub fn http_request(data: &[u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let out = runtime.block_on(async {
        let (state, closing) = f::memory_state(API_KEY.to_owned(), f::Limits::new(16, 8));
        let state = Arc::new(state);
        let (client, server) = tokio::io::duplex(1 << 16);
        let serve = f::serve_io(Arc::clone(&state), server);
        let talk = async move {
            let (mut rd, mut wr) = tokio::io::split(client);
            let write = async move {
                // The write side stays open: the server ends the connection
                // itself (header timeout), as it would a silent client.
                let _ = wr.write_all(data).await;
                wr
            };
            let mut out = Vec::new();
            let mut limited = (&mut rd).take(1 << 22);
            let read = limited.read_to_end(&mut out);
            let (_wr, _) = tokio::join!(write, read);
            out
        };
        let mut out = Vec::new();
        let both = async {
            let (_, o) = tokio::join!(serve, talk);
            out = o;
        };
        // SSE streams never end by themselves: stop after 2 virtual hours.
        let _ = tokio::time::timeout(Duration::from_secs(7200), both).await;
        // Then shut down as the server does (sessions end with their final
        // saves), so that nothing outlives the runtime.
        closing.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(7200), state.sessions.shutdown()).await;
        out
    });
    drop(runtime);
    check_responses(data, &out);
}

/// The pure request parsers: query strings, paths, headers, version ids,
/// times and message cursors.
pub fn request_parts(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        let _ = f::Query::parse(&String::from_utf8_lossy(data));
        return;
    };
    if let Ok(q) = f::Query::parse(text) {
        for name in ["limit", "timeout", "cursor", "datastoreName"] {
            let _ = q.get(name);
            let _ = q.flag(name);
            let _ = q.number(name, 0usize);
            let _ = q.number(name, 0.0f64);
            let _ = q.number(name, 0i64);
        }
    }
    let _ = f::path_segments(text);
    if let Some(v) = f::VersionId::parse(text) {
        let again = f::VersionId::parse(&v.to_string());
        assert_eq!(again, Some(v), "version id {text:?} does not round-trip");
    }
    if let Some(ms) = f::parse_time(text) {
        let _ = f::header_time(ms);
        let body = f::body_time(ms);
        assert_eq!(f::parse_time(&body), Some(ms), "{text:?} -> {body:?}");
    }
    if let Ok(value) = hyper::header::HeaderValue::from_bytes(data) {
        let mut headers = hyper::HeaderMap::new();
        headers.insert("content-md5", value);
        let _ = f::header_text(&headers, "content-md5");
    }
    let bus = MessageBus::new(Clock::system(), BusConfig::default());
    let _ = bus.parse_cursor(text);
    if let Ok(n) = text.parse::<u64>() {
        assert_eq!(bus.parse_cursor(&bus.cursor_text(n)), Some(n));
    }
}

/// DataStore values, metadata, user ids and names: what is accepted is
/// stored as compact JSON that reads back as the same value.
pub fn value(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = f::validate::key(text);
        let _ = f::validate::scope(text);
        let _ = f::validate::data_store_name(text);
    }
    let Ok(v) = f::parse_value_text(data) else {
        return;
    };
    if let Ok(stored) = f::validate::value(&v) {
        let back = f::parse_value_str(&stored).expect("a stored value parses");
        assert_eq!(back, v, "value does not round-trip through {stored}");
    }
    let _ = f::user_ids_from_json(&v);
    if let Ok(map) = f::validate::metadata_from_json(&v) {
        let _ = f::validate::metadata(&map);
    }
}

/// Profile documents read from stored JSON (Luau module and ProfileService
/// layouts): reading never panics, and a document written back reads as
/// the same document.
pub fn document(data: &[u8]) {
    let Ok(v) = f::parse_value_text(data) else {
        return;
    };
    if let f::Stored::Profile(doc) = f::classify(Some(&v)) {
        let written = doc.to_value();
        match f::classify(Some(&written)) {
            f::Stored::Profile(again) => {
                assert_eq!(again.to_value(), written, "profile does not round-trip");
            }
            other => panic!("a written profile reads back as {other:?}"),
        }
    }
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    static LISTED: (DataStoreService, Vec<String>) = seeded_store();
}

/// Messages: `topic\npayload`. A published payload is read back
/// unchanged from its cursor.
pub fn message(data: &[u8]) {
    let (topic, payload) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"t"[..], data),
    };
    let Ok(topic) = std::str::from_utf8(topic) else {
        return;
    };
    let Ok(payload) = serde_json::from_slice::<Value>(payload) else {
        return;
    };
    RUNTIME.with(|rt| {
        rt.block_on(async {
            let bus = MessageBus::new(Clock::system(), BusConfig::default());
            let Ok((_, before)) = bus.read_since(topic, None, 1) else {
                return;
            };
            if bus.publish(topic, &payload).await.is_ok() {
                let (got, _) = bus.read_since(topic, Some(before), 10).expect("read back");
                assert_eq!(got.len(), 1);
                assert_eq!(got[0].data, payload);
            }
        });
    });
}

fn seeded_store() -> (DataStoreService, Vec<String>) {
    let (state, _) = f::memory_state(API_KEY.to_owned(), f::Limits::default());
    let service = state.datastores;
    let mut cursors = Vec::new();
    RUNTIME.with(|rt| {
        rt.block_on(async {
            for store in ["s", "t"] {
                for scope in ["global", "other"] {
                    let ds = service.data_store(1, store, scope).expect("store");
                    for k in 0..5 {
                        for v in 0..3 {
                            ds.set(&format!("k{k}"), &Value::from(v), &WriteOptions::default())
                                .await
                                .expect("seed");
                        }
                    }
                }
            }
            let ds = service.data_store(1, "s", "global").expect("store");
            let page = ds
                .list_keys(&ListKeysOptions {
                    page_size: 2,
                    ..ListKeysOptions::default()
                })
                .await
                .expect("list");
            cursors.extend(page.cursor);
            let page = ds
                .list_versions(
                    "k0",
                    &ListVersionsOptions {
                        page_size: 1,
                        ..ListVersionsOptions::default()
                    },
                )
                .await
                .expect("versions");
            cursors.extend(page.cursor);
            let page = service
                .list_data_stores(1, "", 1, None)
                .await
                .expect("stores");
            cursors.extend(page.cursor);
        });
    });
    (service, cursors)
}

/// Cursors seeded from real listings (for the corpus).
pub fn real_cursors() -> Vec<String> {
    LISTED.with(|(_, c)| c.clone())
}

/// Listing cursors: any text given as a cursor to a key, version or data
/// store listing is either a valid resume point or `InvalidCursor`.
pub fn cursor(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cursor = Some(text.to_owned());
    LISTED.with(|(service, _)| {
        RUNTIME.with(|rt| {
            rt.block_on(async {
                let bad = |r: Result<(), DataStoreError>| match r {
                    Ok(()) | Err(DataStoreError::InvalidCursor) => {}
                    Err(e) => panic!("cursor {text:?}: {e}"),
                };
                let keys = ListKeysOptions {
                    cursor: cursor.clone(),
                    ..ListKeysOptions::default()
                };
                let ds = service.data_store(1, "s", "global").expect("store");
                bad(ds.list_keys(&keys).await.map(drop));
                let all = service.data_store_all_scopes(1, "s").expect("store");
                bad(all.list_keys(&keys).await.map(drop));
                let versions = ListVersionsOptions {
                    cursor: cursor.clone(),
                    ..ListVersionsOptions::default()
                };
                bad(ds.list_versions("k0", &versions).await.map(drop));
                bad(service
                    .list_data_stores(1, "", 0, Some(text))
                    .await
                    .map(drop));
            });
        });
    });
}

/// `config.toml`: any text is either refused with an error or gives
/// settings every part of the server can use (no panic converting them).
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = f::Config::from_toml(text, std::path::Path::new("fuzz.toml")) else {
        return;
    };
    let _ = c.engine_config();
    let _ = c.datastore_config();
    let _ = c.storage_config();
    let _ = c.bus_config();
    let _ = c.host_config();
    let _ = c.purge_interval();
    let _ = c.limits();
    let _ = c.apply(profilestore::config::Overrides::default());
}
