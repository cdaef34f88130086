//! The players: they hop between servers, mint items and trade them.
//!
//! Owns: the player loop and the trade protocol. A profile's `Data` is
//! `{"Items": [id...], "Outbox": {trade: {"Item", "To"}}, "Received":
//! {trade: true}}`. A trade of item X from profile P to profile R:
//!
//! 1. P's session moves X from `Items` to `Outbox[t]` (t: a fresh trade id)
//!    and saves. X stays in P, now as an outgoing trade.
//! 2. Once `Outbox[t]` is *stored* (it is in `LastSavedData`), P sends
//!    `MessageAsync(R, {Trade: t, Item: X})`; when that is acknowledged, P
//!    drops `Outbox[t]` from its data. Any later session of P that loads an
//!    `Outbox[t]` sends it again (the removal may not have been saved).
//! 3. R's message handler adds X to `Items` and t to `Received` in one data
//!    change and marks the message processed, unless t is in `Received`
//!    already (a repeated send, or an ambiguous `MessageAsync` retried):
//!    then it only marks it processed.
//!
//! Why it conserves: X is always in exactly one place that storage will
//! keep: P's `Items`, P's stored `Outbox[t]`, the message t in R's queue,
//! or R's `Items` (with t in `Received`, which makes every other copy of t
//! inert). Step 1 is undone by a crash before the save (X is back in
//! `Items` as stored); step 2 sends only what is stored, so a crash can
//! only repeat a send, never invent one; in step 3 the item and the dedup
//! mark change `Data` together, and the message leaves the stored queue in
//! the same save or a later one (never before), so a crash before that save
//! leaves the message queued for the next session. A crash (or a steal) therefore
//! loses only items *minted* since the session's last save, which is what
//! ProfileStore allows. Invariant: no std lock is held across an `.await`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use profilestore::engine::{EngineError, Processed, Profile, StartOptions};
use rand::rngs::SmallRng;
use rand::Rng;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::ledger::{Ledger, Trade};
use super::world::{Server, World};

/// A handler's way back to its profile, cut at the end of the run (a
/// handler holding its own profile would keep the whole world alive).
pub(crate) type Cell = Arc<Mutex<Option<Profile>>>;

/// Deliberate bugs, to show the checks can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sabotage {
    None,
    /// The receiver applies every delivery, repeated or not.
    NoDedup,
    /// The sender sends before its outbox entry is stored.
    SendUnsaved,
}

pub(crate) fn strings(v: &Value) -> impl Iterator<Item = String> + '_ {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
}

/// Every item a profile's data holds: in `Items` and in its `Outbox`.
pub(crate) fn items_of(data: &Value) -> Vec<String> {
    let mut items: Vec<String> = strings(&data["Items"]).collect();
    if let Some(outbox) = data["Outbox"].as_object() {
        items.extend(
            outbox
                .values()
                .filter_map(|e| e["Item"].as_str().map(str::to_owned)),
        );
    }
    items
}

/// Hooks a fresh session into the ledger and installs the receiving side
/// of the trade protocol.
pub(crate) fn attach(world: &World, server: &Server, p: &Profile) {
    let ledger = Arc::clone(&world.ledger);
    ledger.session_started(p.session_id(), &server.job);
    let l = Arc::clone(&ledger);
    p.on_after_save(move |data| l.saved(data));
    let l = Arc::clone(&ledger);
    let session = p.session_id().to_owned();
    p.on_session_end(move |()| l.session_ended(&session));
    let cell: Cell = Arc::new(Mutex::new(Some(p.clone())));
    world.cells.lock().expect("cells").push(Arc::clone(&cell));
    let sabotage = world.sabotage;
    p.message_handler(move |m, done| receive(&cell, &ledger, sabotage, m, done));
}

fn receive(cell: &Cell, ledger: &Ledger, sabotage: Sabotage, m: &Value, done: &Processed) {
    let Some(p) = cell.lock().expect("cell").clone() else {
        return;
    };
    let (Some(trade), Some(item)) = (m["Trade"].as_str(), m["Item"].as_str()) else {
        return;
    };
    let applied = p.update_data(|d| {
        if d["Received"].get(trade).is_some() && sabotage != Sabotage::NoDedup {
            return false;
        }
        d["Received"][trade] = json!(true);
        if let Some(items) = d["Items"].as_array_mut() {
            items.push(json!(item));
        }
        true
    });
    // Refused (the session is ending): leave it queued for the next one.
    if let Ok(fresh) = applied {
        if !fresh {
            ledger.lock().counts.duplicate_deliveries += 1;
        }
        done.processed();
    }
}

/// Sends every stored outgoing trade still in the data (step 2).
pub(crate) async fn pump(world: &World, server: &Server, p: &Profile) {
    let stored = if world.sabotage == Sabotage::SendUnsaved {
        p.data()
    } else {
        p.last_saved_data()
    };
    let current = p.data();
    let outgoing: Vec<(String, String, String)> = stored["Outbox"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(t, _)| current["Outbox"].get(t.as_str()).is_some())
        .filter_map(|(t, e)| {
            Some((
                t.clone(),
                e["Item"].as_str()?.into(),
                e["To"].as_str()?.into(),
            ))
        })
        .collect();
    for (trade, item, to) in outgoing {
        if !p.is_active() {
            return;
        }
        let message = json!({"Trade": trade, "Item": item});
        // MessageAsync retries DataStore errors until written; it fails
        // only on a crashed server (which wrote nothing).
        if server.store.message(&to, message).await.is_err() {
            return;
        }
        let from = p.key().to_owned();
        world.ledger.acknowledged(&trade, Trade { item, from, to });
        let _ = p.update_data(|d| d["Outbox"].as_object_mut().map(|o| o.remove(&trade)));
    }
}

async fn mint(world: &World, p: &Profile) {
    let item = world.ledger.new_item_id();
    let added = p.update_data(|d| {
        if let Some(items) = d["Items"].as_array_mut() {
            items.push(json!(item));
        }
    });
    if added.is_ok() {
        world.ledger.minted(&item, p.session_id());
    }
}

/// Step 1, then step 2 at once if the save went through.
async fn trade(world: &World, server: &Server, p: &Profile, keys: &[String], rng: &mut SmallRng) {
    let items: Vec<String> = strings(&p.data()["Items"]).collect();
    if items.is_empty() || keys.len() < 2 {
        return;
    }
    let item = items[rng.random_range(0..items.len())].clone();
    let to = loop {
        let k = &keys[rng.random_range(0..keys.len())];
        if k != p.key() {
            break k.clone();
        }
    };
    let trade = world.ledger.new_trade_id();
    let moved = p.update_data(|d| {
        let Some(list) = d["Items"].as_array_mut() else {
            return;
        };
        let Some(at) = list.iter().position(|i| i.as_str() == Some(item.as_str())) else {
            return;
        };
        list.remove(at);
        d["Outbox"][trade.as_str()] = json!({"Item": item, "To": to});
    });
    if moved.is_ok() {
        if world.sabotage != Sabotage::SendUnsaved {
            let _ = p.save().await;
        }
        pump(world, server, p).await;
    }
}

async fn play(
    world: &World,
    server: &Server,
    p: &Profile,
    keys: &[String],
    rng: &mut SmallRng,
    until: Instant,
) {
    // An earlier session may have left stored trades unsent.
    pump(world, server, p).await;
    for _ in 0..rng.random_range(2..=12) {
        tokio::time::sleep(Duration::from_secs(rng.random_range(1..=60))).await;
        if !p.is_active() || Instant::now() >= until {
            break;
        }
        match rng.random_range(0..100) {
            0..30 => mint(world, p).await,
            30..65 => trade(world, server, p, keys, rng).await,
            65..80 => pump(world, server, p).await,
            80..90 => {
                let _ = p.save().await;
            }
            _ => {}
        }
    }
    // Leave: end the session, or just go (the next start elsewhere asks
    // this server to let go, or steals).
    if rng.random_bool(0.7) {
        p.end_session().await;
    }
}

/// One player until `until`: join a random server (sometimes stealing),
/// play a while, leave, again.
pub(crate) async fn player(
    world: Arc<World>,
    key: String,
    keys: Arc<Vec<String>>,
    mut rng: SmallRng,
    until: Instant,
) {
    while Instant::now() < until {
        let server = world.pick(&mut rng);
        let give_up = Instant::now() + Duration::from_secs(rng.random_range(30..=150));
        let options = StartOptions {
            steal: rng.random_bool(0.15),
            cancel: Some(Arc::new(move || Instant::now() >= give_up)),
        };
        match server.store.start_session(&key, options).await {
            Ok(Some(p)) => {
                attach(&world, &server, &p);
                play(&world, &server, &p, &keys, &mut rng, until).await;
            }
            // Refused, or this player's abandoned session is still here.
            Ok(None) | Err(EngineError::AlreadyActive { .. }) => {
                world.ledger.lock().counts.starts_refused += 1;
                tokio::time::sleep(Duration::from_secs(rng.random_range(1..=30))).await;
            }
            Err(e) => panic!("start of {key} failed: {e}"),
        }
    }
}
