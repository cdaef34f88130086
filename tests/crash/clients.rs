//! The clients of one round: setters, read-modify-write clients and an
//! incrementer, driven until the kill.

use std::time::Duration;

use hyper::{Method, StatusCode};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::{
    entry_path, Ack, RoundLog, API_KEY, COUNTER_KEY, PREFIX, RMW_CLIENTS, RMW_KEY, SETTERS, STORE,
};
use crate::support::process::ServeProcess;
use crate::support::raw_client::{self, Http};

fn version_of(reply: &raw_client::Reply) -> String {
    reply.json()["version"]
        .as_str()
        .expect("a write answers its version")
        .to_owned()
}

/// Writes distinct values to its own key until the server dies.
async fn setter(http: Http, key: String, writer: usize, round: u64, seed: u64) -> RoundLog {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut acks = Vec::new();
    let mut log = RoundLog::default();
    for n in 0u64.. {
        let pad: String = (0..rng.random_range(0..64))
            .map(|_| char::from(rng.random_range(b'a'..=b'z')))
            .collect();
        let value = json!({"writer": writer, "round": round, "n": n, "pad": pad});
        match http
            .call(
                Method::POST,
                &entry_path(&key, ""),
                &[("content-type", "application/json")],
                value.to_string(),
            )
            .await
        {
            Ok(r) if r.status == StatusCode::OK => acks.push(Ack {
                key: key.clone(),
                version: version_of(&r),
                value,
            }),
            Ok(r) => {
                log.unexpected
                    .push(format!("set {key}: {} {:?}", r.status, r.body));
                break;
            }
            Err(_) => {
                log.setters.push((key.clone(), acks, Some(value)));
                return log;
            }
        }
    }
    log.setters.push((key, acks, None));
    log
}

/// Read-modify-write of the shared entry (what a remote profile session
/// does): read, add one to `count`, write back with `matchVersion`.
async fn rmw(http: Http, client: usize, round: u64) -> RoundLog {
    let mut log = RoundLog::default();
    for attempt in 0u64.. {
        let got = match http
            .call(Method::GET, &entry_path(RMW_KEY, ""), &[], "")
            .await
        {
            Ok(r) => r,
            Err(_) => return log,
        };
        let (count, precondition) = match got.status {
            StatusCode::OK => {
                let version = got
                    .header("roblox-entry-version")
                    .expect("version header")
                    .to_owned();
                let count = got.json()["count"].as_i64().expect("count");
                (count, format!("&matchVersion={version}"))
            }
            StatusCode::NOT_FOUND => (0, "&exclusiveCreate=true".to_owned()),
            other => {
                log.unexpected
                    .push(format!("get {RMW_KEY}: {other} {:?}", got.body));
                return log;
            }
        };
        let value = json!({"count": count + 1, "by": format!("{client}-{round}-{attempt}")});
        match http
            .call(
                Method::POST,
                &entry_path(RMW_KEY, &precondition),
                &[],
                value.to_string(),
            )
            .await
        {
            Ok(r) if r.status == StatusCode::OK => log.rmw_acks.push(Ack {
                key: RMW_KEY.to_owned(),
                version: version_of(&r),
                value,
            }),
            Ok(r) if r.status == StatusCode::PRECONDITION_FAILED => {}
            Ok(r) => {
                log.unexpected
                    .push(format!("rmw {RMW_KEY}: {} {:?}", r.status, r.body));
                return log;
            }
            Err(_) => {
                log.rmw_unknown += 1;
                return log;
            }
        }
    }
    log
}

/// Increments the counter until the server dies.
async fn incrementer(http: Http) -> RoundLog {
    let mut log = RoundLog::default();
    loop {
        let path = format!(
            "{PREFIX}/increment?datastoreName={STORE}&entryKey={COUNTER_KEY}&incrementBy=1"
        );
        match http.call(Method::POST, &path, &[], "").await {
            Ok(r) if r.status == StatusCode::OK => log.increments_acked += 1,
            Ok(r) => {
                log.unexpected
                    .push(format!("increment: {} {:?}", r.status, r.body));
                return log;
            }
            Err(_) => {
                log.increments_unknown += 1;
                return log;
            }
        }
    }
}

/// Runs the clients of one round and kills the server after `kill_after`.
pub(crate) async fn drive_round(
    server: ServeProcess,
    round: u64,
    kill_after: Duration,
    seed: u64,
) -> RoundLog {
    let http = Http::new(&server.url, API_KEY);
    let mut tasks = Vec::new();
    for writer in 0..SETTERS {
        let key = format!("set-{writer}-r{round}");
        tasks.push(tokio::spawn(setter(
            http.clone(),
            key,
            writer,
            round,
            seed ^ (writer as u64 + 1),
        )));
    }
    for client in 0..RMW_CLIENTS {
        tasks.push(tokio::spawn(rmw(http.clone(), client, round)));
    }
    tasks.push(tokio::spawn(incrementer(http.clone())));
    tokio::time::sleep(kill_after).await;
    server.kill();
    let mut log = RoundLog::default();
    for task in tasks {
        let part = task.await.expect("client task");
        log.setters.extend(part.setters);
        log.rmw_acks.extend(part.rmw_acks);
        log.rmw_unknown += part.rmw_unknown;
        log.increments_acked += part.increments_acked;
        log.increments_unknown += part.increments_unknown;
        log.unexpected.extend(part.unexpected);
    }
    log
}
