//! The checks run after every chaos run, on what storage holds.
//!
//! Owns: reading every profile, the settle pass, and the invariants:
//! - **ownership** (from the recorder's log of real commits): a change only
//!   an owner may make (`Data`, removal of queued messages, release) is
//!   written over a version owned by one session, keeps its load count and
//!   leaves it owned by that session or by nobody; load counts never go
//!   down and each belongs to one session; one session's writes form one
//!   unbroken run; a crashed server writes nothing after its crash;
//! - **no acknowledged message lost**: each acknowledged trade is applied
//!   by its receiver (`Received`) or still queued in its stored document;
//! - **conservation**: each minted item exists exactly once (counting an
//!   outgoing trade and its queued message as one place); a missing item
//!   must be one minted by a session that never saved it and that ended
//!   without a final save (its server crashed, or it was stolen).
//!
//! Checked twice: right after the surviving servers shut down (trades may
//! still be in flight), then after a settle pass (a fresh server loads
//! every profile, which processes queued messages and resends outboxes),
//! where nothing may be in flight any more.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use profilestore::engine::StartOptions;
use serde_json::Value;

use super::workload::{attach, pump, strings};
use super::world::{World, STORE};

type Docs = HashMap<String, Value>;

fn session_of(doc: &Value) -> Option<(String, String)> {
    let a = doc["MetaData"].get("ActiveSession")?;
    Some((a[1].as_str()?.to_owned(), a.get(2)?.as_str()?.to_owned()))
}

/// `(index, payload)` of each queued message.
fn queued(doc: &Value) -> Vec<(u64, Value)> {
    doc["GlobalUpdates"][1]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.as_array()?;
            Some((e.first()?.as_u64()?, e.last()?.clone()))
        })
        .collect()
}

async fn read_all(world: &World, keys: &[String]) -> Docs {
    let ds = world.datastores.data_store(1, STORE, "global").expect("ds");
    let mut docs = Docs::new();
    for key in keys {
        if let Some(entry) = ds.get(key).await.expect("read") {
            docs.insert(key.clone(), entry.value);
        }
    }
    docs
}

/// Checks the commit log; returns the sessions that released their profile
/// with a final save.
pub(crate) fn ownership(world: &World, v: &mut Vec<String>) -> BTreeSet<String> {
    let crashes = world.ledger.lock().crashes.clone();
    let mut released = BTreeSet::new();
    for (key, commits) in world.recorder.log() {
        let mut prev: Option<&Value> = None;
        let mut last_count = 0u64;
        let mut by_count: BTreeMap<u64, String> = BTreeMap::new();
        let mut writers: Vec<String> = Vec::new();
        for (i, w) in commits.iter().enumerate() {
            let doc = &w.value;
            let Some(count) = doc["MetaData"]["SessionLoadCount"].as_u64() else {
                prev = None;
                continue;
            };
            if count < last_count {
                v.push(format!(
                    "{key} #{i}: load count went back from {last_count} to {count}"
                ));
            }
            last_count = count;
            let owner = session_of(doc);
            if let Some((_, s)) = &owner {
                let first = by_count.entry(count).or_insert_with(|| s.clone());
                if first != s {
                    v.push(format!(
                        "{key} #{i}: sessions {first} and {s} both hold load count {count}"
                    ));
                }
            }
            let Some(p) = prev.filter(|p| p["MetaData"].is_object()) else {
                prev = Some(doc);
                continue;
            };
            let kept: BTreeSet<u64> = queued(doc).into_iter().map(|(i, _)| i).collect();
            let removed = queued(p).iter().any(|(i, _)| !kept.contains(i));
            let p_owner = session_of(p);
            let released_now = p_owner.is_some() && owner.is_none();
            if p["Data"] != doc["Data"] || removed || released_now {
                match &p_owner {
                    None => v.push(format!("{key} #{i}: data written while nobody owned it")),
                    Some((job, s)) => {
                        let same = owner.as_ref().is_none_or(|(_, o)| o == s);
                        if !same || p["MetaData"]["SessionLoadCount"].as_u64() != Some(count) {
                            v.push(format!(
                                "{key} #{i}: session {s} wrote, but the result is owned by {owner:?} at load count {count}"
                            ));
                        }
                        if crashes.get(job).is_some_and(|at| w.at_ms > *at) {
                            v.push(format!("{key} #{i}: server {job} wrote after it crashed"));
                        }
                        if writers.last() != Some(s) {
                            if writers.contains(s) {
                                v.push(format!(
                                    "{key} #{i}: writes of session {s} interleave with another's"
                                ));
                            }
                            writers.push(s.clone());
                        }
                        if released_now {
                            released.insert(s.clone());
                        }
                    }
                }
            }
            prev = Some(doc);
        }
    }
    released
}

/// Acknowledged trades: applied, or (unless `settled`) still queued.
fn acknowledged(world: &World, docs: &Docs, settled: bool, v: &mut Vec<String>) {
    let acked = world.ledger.lock().acknowledged.clone();
    for (t, trade) in acked {
        let doc = docs.get(&trade.to).unwrap_or(&Value::Null);
        let applied = doc["Data"]["Received"].get(&t).is_some();
        let waiting = queued(doc).iter().any(|(_, m)| m["Trade"] == t.as_str());
        if !applied && (settled || !waiting) {
            let state = if waiting {
                "still queued after settling"
            } else {
                "lost"
            };
            v.push(format!(
                "acknowledged trade {t} of {} from {} to {}: {state}",
                trade.item, trade.from, trade.to
            ));
        }
    }
}

/// Conservation; returns items lost to crashes and to steals.
fn conservation(
    world: &World,
    docs: &Docs,
    released: &BTreeSet<String>,
    settled: bool,
    v: &mut Vec<String>,
) -> (u64, u64) {
    let received = |key: &str, t: &str| {
        docs.get(key)
            .is_some_and(|d| d["Data"]["Received"].get(t).is_some())
    };
    let mut count: BTreeMap<String, u32> = BTreeMap::new();
    // Trades still in flight, by trade id: an outbox entry and the message
    // it sent are one place.
    let mut flying: BTreeMap<String, String> = BTreeMap::new();
    for (key, doc) in docs {
        let data = &doc["Data"];
        for item in strings(&data["Items"]) {
            *count.entry(item).or_default() += 1;
        }
        for (t, e) in data["Outbox"].as_object().into_iter().flatten() {
            let to = e["To"].as_str().unwrap_or_default();
            if settled {
                v.push(format!(
                    "{key}: outbox still holds trade {t} after settling"
                ));
            }
            if !received(to, t) {
                flying.insert(t.clone(), e["Item"].as_str().unwrap_or_default().to_owned());
            }
        }
        for (_, m) in queued(doc) {
            let t = m["Trade"].as_str().unwrap_or_default();
            if settled {
                v.push(format!(
                    "{key}: message of trade {t} still queued after settling"
                ));
            }
            if !received(key, t) {
                flying.insert(
                    t.to_owned(),
                    m["Item"].as_str().unwrap_or_default().to_owned(),
                );
            }
        }
    }
    for item in flying.into_values() {
        *count.entry(item).or_default() += 1;
    }
    let ledger = world.ledger.lock();
    for (item, n) in &count {
        if *n > 1 {
            v.push(format!("item {item} exists {n} times"));
        }
        if !ledger.minted.contains_key(item) {
            v.push(format!("item {item} was never minted"));
        }
    }
    let (mut crashed, mut stolen) = (0, 0);
    for (item, mint) in &ledger.minted {
        if count.contains_key(item) {
            continue;
        }
        if ledger.persisted.contains(item) {
            v.push(format!("item {item} was saved, then lost"));
        } else if ledger.crashed_sessions.contains(&mint.session) {
            crashed += 1;
        } else if !released.contains(&mint.session) {
            stolen += 1;
        } else {
            v.push(format!(
                "item {item} of session {} lost although it ended with a final save",
                mint.session
            ));
        }
    }
    (crashed, stolen)
}

/// A fresh server loads every profile twice over (stealing the locks of
/// crashed servers): queued trades are applied, outboxes resent.
async fn settle(world: &World, keys: &[String]) {
    let server = world.server("settler");
    for _ in 0..2 {
        for key in keys {
            let options = StartOptions {
                steal: true,
                ..StartOptions::default()
            };
            let p = server
                .store
                .start_session(key, options)
                .await
                .expect("settle start")
                .expect("a steal always gets the profile");
            attach(world, &server, &p);
            pump(world, &server, &p).await;
            p.end_session().await;
        }
    }
    server.engine.shutdown().await;
}

/// All checks; violations as readable lines.
pub(crate) async fn check(world: &World, keys: &[String]) -> Vec<String> {
    let mut v = Vec::new();
    // Before settling only to classify losses; checked in full after it.
    let released = ownership(world, &mut Vec::new());
    let docs = read_all(world, keys).await;
    acknowledged(world, &docs, false, &mut v);
    conservation(world, &docs, &released, false, &mut v);
    settle(world, keys).await;
    let released = ownership(world, &mut v);
    let docs = read_all(world, keys).await;
    acknowledged(world, &docs, true, &mut v);
    let (crashed, stolen) = conservation(world, &docs, &released, true, &mut v);
    let mut ledger = world.ledger.lock();
    ledger.counts.lost_to_crashes += crashed;
    ledger.counts.lost_to_steals += stolen;
    drop(ledger);
    // Both passes see a loss that happened before settling: report it once.
    let mut seen = BTreeSet::new();
    v.retain(|line| seen.insert(line.clone()));
    v
}
