//! Property test: random interleavings of several game servers starting,
//! saving, ending, crashing and messaging one profile, on simulated time.
//! Checked after every run, from the profile's version history:
//! - writes by different sessions never interleave: the load count never
//!   goes down, and each load count belongs to one session;
//! - no acknowledged message is lost: each is still queued in storage or was
//!   processed by a handler.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use profilestore::datastore::ListVersionsOptions;
use profilestore::engine::{Engine, EngineConfig, Profile, ProfileStore, StartOptions};
use proptest::prelude::*;
use serde_json::{json, Value};
use support::world::World;

const SERVERS: usize = 3;

#[derive(Clone, Debug)]
enum Op {
    Start(usize, bool),
    Save(usize),
    End(usize),
    Crash(usize),
    Message(usize),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..SERVERS, any::<bool>()).prop_map(|(s, steal)| Op::Start(s, steal)),
        3 => (0..SERVERS).prop_map(Op::Save),
        2 => (0..SERVERS).prop_map(Op::End),
        1 => (0..SERVERS).prop_map(Op::Crash),
        2 => (0..SERVERS).prop_map(Op::Message),
        1 => (1u64..700).prop_map(Op::Wait),
    ]
}

struct Server {
    engine: Engine,
    store: ProfileStore,
    profile: Option<Profile>,
    generation: usize,
}

fn server(world: &World, index: usize, generation: usize) -> Server {
    let engine = world.engine(
        1,
        format!("server-{index}-{generation}"),
        EngineConfig::default(),
    );
    let store = engine
        .store("Players", json!({"Writes": 0}))
        .expect("store");
    Server {
        engine,
        store,
        profile: None,
        generation,
    }
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let world = World::simulated();
    let mut servers: Vec<Server> = (0..SERVERS).map(|i| server(&world, i, 0)).collect();
    let processed: Arc<Mutex<BTreeSet<i64>>> = Arc::default();
    let mut acknowledged = BTreeSet::new();
    let mut next_message = 0i64;
    for op in ops {
        match op {
            Op::Start(s, steal) => {
                if servers[s].profile.as_ref().is_some_and(Profile::is_active) {
                    continue;
                }
                let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                let options = StartOptions {
                    steal,
                    cancel: Some(Arc::new(move || tokio::time::Instant::now() >= deadline)),
                };
                if let Some(p) = servers[s]
                    .store
                    .start_session("k", options)
                    .await
                    .expect("start")
                {
                    let log = Arc::clone(&processed);
                    p.message_handler(move |m, done| {
                        log.lock().expect("lock").insert(m.as_i64().expect("int"));
                        done.processed();
                    });
                    servers[s].profile = Some(p);
                }
            }
            Op::Save(s) => {
                if let Some(p) = servers[s].profile.as_ref().filter(|p| p.is_active()) {
                    let writer = p.session_id().to_owned();
                    let _ = p.update_data(|d| {
                        d["Writes"] = json!(d["Writes"].as_i64().unwrap_or(0) + 1);
                        d["Writer"] = json!(writer);
                    });
                    let _ = p.save().await;
                }
            }
            Op::End(s) => {
                if let Some(p) = servers[s].profile.take() {
                    p.end_session().await;
                }
            }
            Op::Crash(s) => {
                servers[s].engine.crash();
                let generation = servers[s].generation + 1;
                servers[s] = server(&world, s, generation);
            }
            Op::Message(s) => {
                next_message += 1;
                servers[s]
                    .store
                    .message("k", json!(next_message))
                    .await
                    .expect("message");
                acknowledged.insert(next_message);
            }
            Op::Wait(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
        }
    }
    // Let in-flight requests settle.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let raw = world.data_store("Players", "global");
    let versions = raw
        .list_versions("k", &ListVersionsOptions::default())
        .await
        .expect("list");
    let mut last_count = 0u64;
    let mut owners: BTreeMap<u64, String> = BTreeMap::new();
    let mut latest = Value::Null;
    let mut previous: Option<Value> = None;
    for v in &versions.items {
        let entry = raw
            .get_version("k", &v.version)
            .await
            .expect("get")
            .expect("version");
        latest = entry.value.clone();
        let Some(meta) = entry.value.get("MetaData") else {
            continue;
        };
        let count = meta["SessionLoadCount"].as_u64().expect("count");
        prop_assert!(
            count >= last_count,
            "load count went back from {last_count} to {count}"
        );
        last_count = count;
        if let Some(session) = meta.get("ActiveSession").and_then(|a| a[2].as_str()) {
            let owner = owners.entry(count).or_insert_with(|| session.to_owned());
            prop_assert_eq!(
                owner.as_str(),
                session,
                "two sessions wrote under load count {}",
                count
            );
        }
        // Data only changes by a save, and only the owner of record may save.
        if let Some(prev) = previous
            .as_ref()
            .filter(|p| p["Data"] != entry.value["Data"])
        {
            let owner = prev["MetaData"]
                .get("ActiveSession")
                .and_then(|a| a[2].as_str());
            let writer = entry.value["Data"]["Writer"].as_str();
            prop_assert!(
                owner.is_some() && owner == writer,
                "data written by {:?} while {:?} owned the profile",
                writer,
                owner
            );
        }
        previous = Some(entry.value);
    }
    let queued: BTreeSet<i64> = latest
        .get("GlobalUpdates")
        .and_then(|g| g[1].as_array())
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e.as_array()?.last()?.as_i64())
                .collect()
        })
        .unwrap_or_default();
    let processed = processed.lock().expect("lock").clone();
    for m in &acknowledged {
        prop_assert!(
            queued.contains(m) || processed.contains(m),
            "message {} was lost",
            m
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn servers_never_interleave_writes_and_never_lose_messages(ops in prop::collection::vec(op(), 1..14)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime");
        runtime.block_on(run(ops))?;
    }
}
