//! The harness's own account of a chaos run: what the simulated players
//! were told, against which the stored result is checked.
//!
//! Owns: [`Ledger`]: every item minted (by which session, on which
//! server), every item some session was told was saved (`OnAfterSave`),
//! every trade whose `MessageAsync` was acknowledged, which sessions were
//! on a server when it crashed and when it crashed, and the run's counters.
//! Invariant: it records only what a caller learned from the engine's
//! answers (an acknowledged call, a fired event), never what storage holds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

/// Who minted an item.
#[derive(Clone, Debug)]
pub(crate) struct Mint {
    pub session: String,
}

/// A trade whose message `MessageAsync` acknowledged.
#[derive(Clone, Debug)]
pub(crate) struct Trade {
    pub item: String,
    pub from: String,
    pub to: String,
}

/// Counters of one run (summed over runs for the report).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub runs: u64,
    pub servers: u64,
    pub sessions: u64,
    pub starts_refused: u64,
    pub mints: u64,
    pub trades: u64,
    pub duplicate_deliveries: u64,
    pub crashes: u64,
    pub store_errors: u64,
    pub ambiguous: u64,
    pub dropped: u64,
    pub delayed: u64,
    pub lost_to_crashes: u64,
    pub lost_to_steals: u64,
    pub violations: u64,
}

impl Counts {
    pub(crate) fn add(&mut self, o: &Counts) {
        let Counts {
            runs,
            servers,
            sessions,
            starts_refused,
            mints,
            trades,
            duplicate_deliveries,
            crashes,
            store_errors,
            ambiguous,
            dropped,
            delayed,
            lost_to_crashes,
            lost_to_steals,
            violations,
        } = o;
        self.runs += runs;
        self.servers += servers;
        self.sessions += sessions;
        self.starts_refused += starts_refused;
        self.mints += mints;
        self.trades += trades;
        self.duplicate_deliveries += duplicate_deliveries;
        self.crashes += crashes;
        self.store_errors += store_errors;
        self.ambiguous += ambiguous;
        self.dropped += dropped;
        self.delayed += delayed;
        self.lost_to_crashes += lost_to_crashes;
        self.lost_to_steals += lost_to_steals;
        self.violations += violations;
    }
}

#[derive(Debug, Default)]
pub(crate) struct State {
    next_item: u64,
    next_trade: u64,
    pub minted: BTreeMap<String, Mint>,
    /// Items that appeared in `Data` some `OnAfterSave` reported as saved.
    pub persisted: BTreeSet<String>,
    /// Session id -> job id of its server.
    pub sessions: HashMap<String, String>,
    /// Sessions whose `OnSessionEnd` fired (a crash fires none).
    pub ended: BTreeSet<String>,
    /// Sessions that were active on a server when it crashed.
    pub crashed_sessions: BTreeSet<String>,
    /// Job id -> when it crashed (clock ms).
    pub crashes: HashMap<String, i64>,
    /// Trade id -> trade, for every acknowledged `MessageAsync`.
    pub acknowledged: BTreeMap<String, Trade>,
    pub counts: Counts,
}

/// Shared by every player task; a std mutex, never held across `.await`.
#[derive(Debug, Default)]
pub(crate) struct Ledger(Mutex<State>);

impl Ledger {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn new_item_id(&self) -> String {
        let mut s = self.lock();
        s.next_item += 1;
        format!("i{}", s.next_item)
    }

    pub(crate) fn new_trade_id(&self) -> String {
        let mut s = self.lock();
        s.next_trade += 1;
        format!("t{}", s.next_trade)
    }

    pub(crate) fn minted(&self, item: &str, session: &str) {
        let mut s = self.lock();
        s.counts.mints += 1;
        s.minted.insert(
            item.to_owned(),
            Mint {
                session: session.to_owned(),
            },
        );
    }

    /// `OnAfterSave(data)`: every item in `data` is now stored.
    pub(crate) fn saved(&self, data: &Value) {
        let items = super::workload::items_of(data);
        let mut s = self.lock();
        s.persisted.extend(items);
    }

    pub(crate) fn session_started(&self, session: &str, job: &str) {
        let mut s = self.lock();
        s.counts.sessions += 1;
        s.sessions.insert(session.to_owned(), job.to_owned());
    }

    pub(crate) fn session_ended(&self, session: &str) {
        self.lock().ended.insert(session.to_owned());
    }

    /// Server `job` crashed at `at_ms` with `active` sessions on it.
    pub(crate) fn crashed(&self, job: &str, at_ms: i64, active: impl IntoIterator<Item = String>) {
        let mut s = self.lock();
        s.counts.crashes += 1;
        s.crashes.insert(job.to_owned(), at_ms);
        s.crashed_sessions.extend(active);
    }

    pub(crate) fn acknowledged(&self, trade: &str, t: Trade) {
        let mut s = self.lock();
        if s.acknowledged.insert(trade.to_owned(), t).is_none() {
            s.counts.trades += 1;
        }
    }
}
