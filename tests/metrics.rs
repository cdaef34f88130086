//! `GET /metrics` over real sockets and real time: the counters equal the
//! requests made (by API family and status, a 404 and a 401 included),
//! sessions through the session API and engines on the server's services
//! move the session families (starts, ends by reason, handoff, steal,
//! assume-dead takeover), a publish moves the bus's, a throttled request
//! and an injected fault theirs; `/metrics` needs a key unless public, and
//! is a 404 when metrics are off (also through `config.toml` in `serve`).
//! `tests/clients/prometheus_check.py` parses the same text with
//! Prometheus's reference parser.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use hyper::{Method, StatusCode};
use profilestore::engine::{Engine, EngineConfig, StartOptions};
use profilestore::http::Limits;
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::{json, Value};
use support::net::NetServer;
use support::process::ServeProcess;
use support::{call, send, Answer};

/// Every sample of a scrape: `series -> value` (`name{labels}` as rendered).
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("`series value`");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

async fn scrape(s: &TestServer) -> BTreeMap<String, f64> {
    let a = call(s, Method::GET, "/metrics", Value::Null).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(
        a.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    samples(std::str::from_utf8(&a.body).expect("utf-8"))
}

fn value(m: &BTreeMap<String, f64>, series: &str) -> f64 {
    m.get(series).copied().unwrap_or(0.0)
}

fn requests(family: &str, status: u16) -> String {
    format!("profilestore_http_requests_total{{family=\"{family}\",status=\"{status}\"}}")
}

/// Scrapes until `ready` holds (a session task ends a moment after the
/// answer that caused it), failing after a generous bound.
async fn scrape_until(
    s: &TestServer,
    what: &str,
    ready: impl Fn(&BTreeMap<String, f64>) -> bool,
) -> BTreeMap<String, f64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let m = scrape(s).await;
        if ready(&m) {
            return m;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {m:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const V1: &str = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry";

#[tokio::test]
async fn the_request_counters_equal_the_requests_made() {
    let s = spawn_test_server().await;
    for i in 0..3 {
        let path = format!("{V1}?datastoreName=Inv&entryKey=k{i}");
        let a = call(&s, Method::POST, &path, json!({"gold": i})).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    }
    for _ in 0..2 {
        let path = format!("{V1}?datastoreName=Inv&entryKey=missing");
        let a = call(&s, Method::GET, &path, Value::Null).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
    }
    let wrong_key = [("x-api-key", "wrong")];
    let url = format!("{}{V1}?datastoreName=Inv&entryKey=k0", s.url);
    let a = send(Method::GET, &url, &wrong_key, "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = call(&s, Method::GET, "/nowhere", Value::Null).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = send(Method::GET, &format!("{}/healthz", s.url), &[], "").await;
    assert_eq!(a.status, StatusCode::OK);

    let m = scrape(&s).await;
    assert_eq!(value(&m, &requests("datastores_v1", 200)), 3.0, "{m:#?}");
    assert_eq!(value(&m, &requests("datastores_v1", 404)), 2.0);
    assert_eq!(value(&m, &requests("datastores_v1", 401)), 1.0);
    assert_eq!(value(&m, &requests("other", 404)), 1.0);
    assert_eq!(value(&m, &requests("health", 200)), 1.0);
    assert_eq!(
        value(&m, &requests("metrics", 200)),
        0.0,
        "counted once answered"
    );
    let total: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("profilestore_http_requests_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, 8.0, "no request counted twice or missed: {m:#?}");
    let durations = "profilestore_http_request_duration_seconds_count{family=\"datastores_v1\"}";
    assert_eq!(value(&m, durations), 6.0);
    let commits = "profilestore_storage_commit_duration_seconds_count{plugin=\"memory\"}";
    assert!(value(&m, commits) >= 3.0, "{m:#?}");
    assert!(
        !m.keys()
            .any(|k| k.starts_with("profilestore_storage_commit_group_size")),
        "the memory plugin has no group commit"
    );
    assert!(value(&m, "profilestore_uptime_seconds") > 0.0);

    let m = scrape(&s).await;
    assert_eq!(value(&m, &requests("metrics", 200)), 1.0);
    s.shutdown().await;
}

struct Sessions<'a>(&'a TestServer);

impl Sessions<'_> {
    async fn call(&self, method: Method, path: &str, body: Value) -> Answer {
        let path = format!("/session-api/v1/universes/1/{path}");
        call(self.0, method, &path, body).await
    }

    async fn start(&self, job: &str, extra: Value) -> u64 {
        let mut body = json!({"store": "PlayerData", "key": "p", "template": {}, "placeId": 7});
        if let (Some(b), Value::Object(x)) = (body.as_object_mut(), extra) {
            b.extend(x);
        }
        let path = format!("servers/{job}/sessions");
        let a = tokio::time::timeout(
            Duration::from_secs(60),
            self.call(Method::POST, &path, body),
        )
        .await
        .expect("a start in time");
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        a.json()["profile"]["loadCount"]
            .as_u64()
            .expect("loadCount")
    }

    async fn end(&self, job: &str, count: u64) {
        let path = format!("servers/{job}/sessions/PlayerData/p:end?loadCount={count}");
        let a = self.call(Method::POST, &path, Value::Null).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    }
}

const LIVE: &str = "profilestore_sessions_live";
const STARTS: &str = "profilestore_session_starts_total";
const HANDOFFS: &str = "profilestore_session_handoff_duration_seconds_count";

fn ends(reason: &str) -> String {
    format!("profilestore_session_ends_total{{reason=\"{reason}\"}}")
}

#[tokio::test]
async fn sessions_through_the_session_api_move_the_session_families() {
    let s = spawn_test_server().await;
    let api = Sessions(&s);
    let count = api.start("job-a", json!({})).await;
    let m = scrape(&s).await;
    assert_eq!((value(&m, LIVE), value(&m, STARTS)), (1.0, 1.0), "{m:#?}");
    api.end("job-a", count).await;
    let m = scrape_until(&s, "released", |m| value(m, &ends("released")) == 1.0).await;
    assert_eq!(value(&m, LIVE), 0.0);

    // job-b asks for the profile job-a holds: a handoff.
    api.start("job-a", json!({})).await;
    let count_b = api.start("job-b", json!({"timeoutSeconds": 30})).await;
    let m = scrape_until(&s, "handed off", |m| value(m, &ends("handed_off")) == 1.0).await;
    assert_eq!(value(&m, STARTS), 3.0);
    assert_eq!(value(&m, LIVE), 1.0);
    assert_eq!(
        value(&m, HANDOFFS),
        1.0,
        "one start found the profile locked"
    );
    assert_eq!(value(&m, "profilestore_session_steals_total"), 0.0);
    assert!(
        value(&m, "profilestore_bus_publishes_total") >= 2.0,
        "the force-load request and the release notice travel on the bus: {m:#?}"
    );

    // job-c steals it; job-b's next save finds its lock gone.
    api.start("job-c", json!({"steal": true})).await;
    let save = format!("servers/job-b/sessions/PlayerData/p:save?loadCount={count_b}");
    api.call(Method::POST, &save, Value::Null).await;
    let m = scrape_until(&s, "lost", |m| value(m, &ends("lost")) == 1.0).await;
    assert_eq!(value(&m, "profilestore_session_steals_total"), 1.0);
    assert_eq!(value(&m, HANDOFFS), 2.0, "the steal found it locked too");
    assert_eq!(value(&m, LIVE), 1.0, "job-c's");
    // The lock history saw the same owner changes in the documents.
    let kind = |k: &str| format!("profilestore_lock_changes_total{{kind=\"{k}\"}}");
    let m = scrape_until(&s, "stolen recorded", |m| value(m, &kind("stolen")) == 1.0).await;
    let changes = ["started", "released", "handed_off"].map(|k| value(&m, &kind(k)));
    assert_eq!(changes, [2.0, 2.0, 1.0], "{m:#?}");
    assert_eq!(m.get("profilestore_lock_history_dropped_total"), Some(&0.0));
    assert_eq!(m.get("profilestore_lock_history_queue"), Some(&0.0));
    s.shutdown().await;
}

#[tokio::test]
async fn a_crashed_engine_and_an_assume_dead_takeover_are_counted() {
    let s = spawn_test_server().await;
    let engine = |job: &str| {
        Engine::new(
            s.datastores.clone(),
            s.bus.clone(),
            1,
            7,
            job,
            EngineConfig::default(),
        )
    };
    let (a, b) = (engine("a"), engine("b"));
    let store_a = a.store("Players", json!({})).expect("store");
    let start = |store: profilestore::engine::ProfileStore| async move {
        store
            .start_session("p", StartOptions::default())
            .await
            .expect("start")
            .expect("a profile")
    };
    start(store_a).await;
    a.crash();
    let m = scrape_until(&s, "crashed", |m| value(m, &ends("crashed")) == 1.0).await;
    assert_eq!(value(&m, LIVE), 0.0);
    // The lock stays; past ASSUME_DEAD (630 s) another server takes it.
    s.advance(Duration::from_secs(700)).await.expect("advance");
    let profile = start(b.store("Players", json!({})).expect("store")).await;
    let m = scrape(&s).await;
    let takeovers = "profilestore_session_assume_dead_takeovers_total";
    assert_eq!(value(&m, takeovers), 1.0, "{m:#?}");
    assert_eq!(value(&m, "profilestore_session_steals_total"), 0.0);
    assert_eq!((value(&m, LIVE), value(&m, STARTS)), (1.0, 2.0));
    profile.end_session().await;
    b.shutdown().await;
    let m = scrape(&s).await;
    assert_eq!((value(&m, LIVE), value(&m, &ends("released"))), (0.0, 1.0));
    s.shutdown().await;
}

#[tokio::test]
async fn publishes_deliveries_and_drops_are_counted() {
    let s = spawn_test_server().await;
    let mut sub = s.bus.subscribe("t").expect("subscribe");
    let publish = "/messaging-service/v1/universes/1/topics/t";
    let a = call(&s, Method::POST, publish, json!({"message": "hi"})).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let got = tokio::time::timeout(Duration::from_secs(10), sub.recv()).await;
    assert_eq!(got.expect("in time").expect("open").data, json!("hi"));
    let m = scrape(&s).await;
    assert_eq!(value(&m, "profilestore_bus_publishes_total"), 1.0, "{m:#?}");
    assert_eq!(value(&m, "profilestore_bus_deliveries_total"), 1.0);
    // A subscriber that reads nothing: past its queue, the oldest go.
    for i in 0..260 {
        s.bus.publish("t", &json!(i)).await.expect("publish");
    }
    let m = scrape(&s).await;
    let full = "profilestore_bus_drops_total{reason=\"queue_full\"}";
    assert_eq!(value(&m, full), 4.0, "a queue of 256: {m:#?}");
    assert_eq!(value(&m, "profilestore_bus_deliveries_total"), 261.0);
    s.bus.set_faults(profilestore::bus::BusFaults {
        drop_rate: 1.0,
        ..Default::default()
    });
    s.bus.publish("t", &json!("lost")).await.expect("publish");
    let m = scrape(&s).await;
    assert_eq!(
        value(&m, "profilestore_bus_drops_total{reason=\"fault\"}"),
        1.0
    );
    assert_eq!(value(&m, "profilestore_bus_publishes_total"), 262.0);
    drop(sub);
    s.shutdown().await;
}

#[tokio::test]
async fn throttled_requests_and_injected_faults_are_counted() {
    let s = spawn_test_server().await;
    let on = call(
        &s,
        Method::PUT,
        "/emulator/v1/universes/1/budgets",
        json!({"enabled": true}),
    )
    .await;
    assert_eq!(on.status, StatusCode::OK, "{:?}", on.body);
    let mut through = 0;
    loop {
        let path = format!("{V1}?datastoreName=Inv&entryKey=k{through}");
        let a = call(&s, Method::POST, &path, json!(1)).await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        through += 1;
        assert!(through < 400, "never throttled");
    }
    let m = scrape(&s).await;
    let kind = "profilestore_throttled_requests_total{kind=\"open_cloud\"}";
    assert_eq!(value(&m, kind), 1.0, "{m:#?}");
    assert_eq!(value(&m, &requests("datastores_v1", 429)), 1.0);

    let rule = json!({"effect": "error", "match": {"universe": 2, "operations": ["get"]}});
    let a = call(&s, Method::POST, "/emulator/v1/faults", rule).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let path = "/datastores/v1/universes/2/standard-datastores/datastore/entries/entry?datastoreName=Inv&entryKey=k";
    let a = call(&s, Method::GET, path, Value::Null).await;
    assert!(a.status.is_server_error(), "{:?}", a.body);
    let m = scrape(&s).await;
    let fired = "profilestore_injected_faults_total{effect=\"error\",operation=\"get\"}";
    assert_eq!(value(&m, fired), 1.0, "{m:#?}");
    s.shutdown().await;
}

#[tokio::test]
async fn metrics_need_a_key_unless_public() {
    let s = NetServer::start(Limits::default(), None, |_| {}).await;
    let url = format!("{}/metrics", s.url);
    let a = send(Method::GET, &url, &[], "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = send(Method::GET, &url, &[("x-api-key", &s.key)], "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(std::str::from_utf8(&a.body)
        .expect("utf-8")
        .contains("profilestore_http_requests_total{family=\"metrics\",status=\"401\"} 1"));
    let a = send(Method::POST, &url, &[("x-api-key", &s.key)], "").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "only GET and HEAD");
    s.shutdown().await;

    let s = NetServer::start(Limits::default(), None, |state| {
        state.metrics = state.metrics.clone().with_public(true);
    })
    .await;
    let a = send(Method::GET, &format!("{}/metrics", s.url), &[], "").await;
    assert_eq!(a.status, StatusCode::OK, "public: no key needed");
    let other = format!("{}{V1}?datastoreName=Inv&entryKey=k", s.url);
    let a = send(Method::GET, &other, &[], "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "nothing else is public");
    s.shutdown().await;
}

#[tokio::test]
async fn metrics_off_are_a_404_saying_how_to_turn_them_on() {
    let s = NetServer::start(Limits::default(), None, |state| {
        state.metrics = profilestore::metrics::Metrics::off();
    })
    .await;
    let a = send(
        Method::GET,
        &format!("{}/metrics", s.url),
        &[("x-api-key", &s.key)],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let text = String::from_utf8_lossy(&a.body).into_owned();
    assert!(
        text.contains("[metrics]") && text.contains("enabled = true"),
        "{text}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn serve_reads_the_metrics_section_of_config_toml() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = |toml: &str| {
        let config = dir.path().join("config.toml");
        std::fs::write(&config, toml).expect("write config");
        ServeProcess::builder(&dir.path().join("data"))
            .api_key("k")
            .storage("sqlite")
            .durability("off")
            .arg("--config")
            .arg(&config)
            .start()
    };
    let server = start("[metrics]\npublic = true\n");
    let a = send(Method::GET, &format!("{}/metrics", server.url), &[], "").await;
    assert_eq!(a.status, StatusCode::OK);
    let text = String::from_utf8_lossy(&a.body).into_owned();
    assert!(text.contains("profilestore_build_info{version="), "{text}");
    let write = format!("{}{V1}?datastoreName=Inv&entryKey=k", server.url);
    let a = send(Method::POST, &write, &[("x-api-key", "k")], "1").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = send(Method::GET, &format!("{}/metrics", server.url), &[], "").await;
    let m = samples(std::str::from_utf8(&a.body).expect("utf-8"));
    let groups = "profilestore_storage_commit_group_size_count{plugin=\"sqlite\"}";
    assert!(value(&m, groups) >= 1.0, "SQLite's group commit: {m:#?}");
    let sizes = "profilestore_storage_commit_group_size_sum{plugin=\"sqlite\"}";
    assert!(value(&m, sizes) >= value(&m, groups));
    server.stop();
    let server = start("[metrics]\nenabled = false\n");
    let a = send(
        Method::GET,
        &format!("{}/metrics", server.url),
        &[("x-api-key", "k")],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    server.stop();
}
