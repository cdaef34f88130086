//! The session part of the load mix: game servers that hold ProfileStore
//! sessions through the session API (`/session-api/v1/...`), as a game
//! server in another language does. Each one cycles over its own profiles:
//! start a session, change the data a few times, sometimes message the
//! profile and wait for the message event (then mark it processed), save,
//! end. Invariant checked on every start: the data is what the previous
//! session of this profile left (`Coins` counts every change), so a lost or
//! duplicated save is an error, as is any non-2xx answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::raw_client::Http;
use super::{expect, Stats};

const UNIVERSE: &str = "/session-api/v1/universes/1";
const STORE: &str = "SessionLoad";
const PROFILES_PER_SERVER: usize = 4;

/// One game server (`load-job-{id}`) until `stop`; ends its last session.
pub(crate) async fn game_server(http: Http, id: usize, stop: Arc<AtomicBool>) -> Stats {
    let mut rng = SmallRng::seed_from_u64(1_000_000 + id as u64);
    let mut stats = Stats::default();
    let server = format!("{UNIVERSE}/servers/load-job-{id}");
    let ok = [StatusCode::OK];
    let Some(first) = expect(
        &mut stats,
        "session events (timeout 0)",
        Instant::now(),
        http.call(Method::GET, &format!("{server}/events?timeout=0"), &[], "")
            .await,
        &ok,
    )
    .await
    else {
        return stats;
    };
    let mut cursor = first.json()["cursor"].as_str().unwrap_or("0").to_owned();
    let mut coins: HashMap<String, i64> = HashMap::new();
    let mut turn = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("S_{id}_{}", turn % PROFILES_PER_SERVER);
        turn += 1;
        let start = Instant::now();
        let body = json!({"store": STORE, "key": key, "template": {"Coins": 0}, "placeId": 1});
        let Some(p) = expect(
            &mut stats,
            "session start",
            start,
            http.call(
                Method::POST,
                &format!("{server}/sessions"),
                &[],
                body.to_string(),
            )
            .await,
            &ok,
        )
        .await
        else {
            continue;
        };
        let p = p.json()["profile"].take();
        if p.is_null() {
            // Only this server uses its profiles, so none is ever held elsewhere.
            stats
                .errors
                .push(format!("{key}: the session did not start"));
            continue;
        }
        let load_count = p["loadCount"].as_i64().unwrap_or(-1);
        let mut have = p["data"]["Coins"].as_i64().unwrap_or(-1);
        let expected = coins.get(&key).copied().unwrap_or(0);
        if have != expected {
            stats.errors.push(format!(
                "{key}: the session started with Coins {have}, the last one ended with {expected}"
            ));
        }
        let session = format!("{server}/sessions/{STORE}/{key}");
        for _ in 0..rng.random_range(1..=4) {
            have += 1;
            let start = Instant::now();
            let r = http
                .call(
                    Method::PATCH,
                    &format!("{session}?loadCount={load_count}"),
                    &[],
                    json!({"data": {"Coins": have}}).to_string(),
                )
                .await;
            expect(&mut stats, "session change", start, r, &ok).await;
        }
        if rng.random_range(0..100) < 30 {
            message_round_trip(&http, &server, &key, load_count, &mut cursor, &mut stats).await;
        }
        let start = Instant::now();
        let r = http
            .call(
                Method::POST,
                &format!("{session}:save?loadCount={load_count}"),
                &[],
                "",
            )
            .await;
        expect(&mut stats, "session save", start, r, &ok).await;
        let start = Instant::now();
        let r = http
            .call(
                Method::POST,
                &format!("{session}:end?loadCount={load_count}"),
                &[],
                "",
            )
            .await;
        if expect(&mut stats, "session end (final save)", start, r, &ok)
            .await
            .is_some()
        {
            coins.insert(key, have);
        }
    }
    stats
}

/// Messages the profile `key` (held by `server` at `load_count`), waits for
/// its `message` event and marks it processed. A message that never
/// arrives is an error.
async fn message_round_trip(
    http: &Http,
    server: &str,
    key: &str,
    load_count: i64,
    cursor: &mut String,
    stats: &mut Stats,
) {
    let start = Instant::now();
    let tag = format!("{key}@{load_count}");
    let r = http
        .call(
            Method::POST,
            &format!("{UNIVERSE}/stores/{STORE}/{key}:message"),
            &[],
            json!({"message": {"tag": tag}}).to_string(),
        )
        .await;
    if expect(stats, "session message send", start, r, &[StatusCode::OK])
        .await
        .is_none()
    {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let r = http
            .call(
                Method::GET,
                &format!("{server}/events?cursor={cursor}&timeout=5"),
                &[],
                "",
            )
            .await;
        // Not timed: a long-poll's time is mostly waiting.
        let v = match r {
            Ok(r) if r.status == StatusCode::OK => r.json(),
            Ok(r) => {
                return stats
                    .errors
                    .push(format!("events: {} {:?}", r.status, r.body))
            }
            Err(e) => return stats.errors.push(format!("events: {e}")),
        };
        *cursor = v["cursor"].as_str().unwrap_or_default().to_owned();
        let events = v["events"].as_array().cloned().unwrap_or_default();
        let Some(event) = events.iter().find(|e: &&Value| {
            e["type"] == "message" && e["key"] == key && e["message"]["tag"] == tag.as_str()
        }) else {
            continue;
        };
        stats.record("session message → event", start);
        let index = event["index"].as_i64().unwrap_or(-1);
        let start = Instant::now();
        let r = http
            .call(
                Method::POST,
                &format!(
                    "{server}/sessions/{STORE}/{key}/messages/{index}:processed?loadCount={load_count}"
                ),
                &[],
                "",
            )
            .await;
        expect(stats, "session processed", start, r, &[StatusCode::OK]).await;
        return;
    }
    stats.errors.push(format!(
        "{tag}: the message event did not arrive within 30 s"
    ));
}
