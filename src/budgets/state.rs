//! One universe's budgets: its experience buckets, its game servers (each
//! with its buckets and four queues of tickets), its keys' windows and its
//! memory-store request units.
//!
//! Owns: the admission rules, as synchronous steps under the service's
//! lock. Invariants: a request is admitted only when every budget it needs
//! has room, and then takes from all of them at once (a refused request
//! takes nothing); a game server's queued requests leave their queue in
//! arrival order; a queue never holds more than [`QUEUE_LIMIT`] tickets.

use std::collections::{HashMap, VecDeque};

use super::bucket::{Bucket, Window};
use super::limits::{
    per_minute, Queue, RequestType, KB, KEY_READ_KB_PER_MINUTE, KEY_WRITE_KB_PER_MINUTE,
    MEMORY_UNITS, QUEUE_LIMIT, SERVER_CAP_MINUTES, SERVER_STARTUP_MINUTES,
};
use super::{Charge, Settings, Throttled};

/// A game server forgotten after this long without a request (and with
/// nothing queued).
const IDLE_SERVER_MS: i64 = 10 * 60_000;

/// One game server's budgets.
#[derive(Debug)]
pub(crate) struct Server {
    players: u64,
    buckets: Vec<Bucket>,
    queues: [VecDeque<u64>; 4],
    seen_ms: i64,
}

impl Server {
    fn new(players: u64, now: i64) -> Self {
        let buckets = RequestType::ALL
            .iter()
            .map(|t| {
                let rate = per_minute(t.server_rate(), players) as f64;
                Bucket::new(rate * SERVER_STARTUP_MINUTES, now)
            })
            .collect();
        Server {
            players,
            buckets,
            queues: Default::default(),
            seen_ms: now,
        }
    }

    fn rate(&self, t: RequestType) -> f64 {
        per_minute(t.server_rate(), self.players) as f64
    }

    fn refill(&mut self, now: i64) {
        for t in RequestType::ALL {
            let rate = self.rate(t);
            self.buckets[t.index()].refill(now, rate, rate * SERVER_CAP_MINUTES);
        }
    }

    /// What the server has left of `t`, whole requests.
    pub(crate) fn remaining(&self, t: RequestType) -> u64 {
        self.buckets[t.index()].whole()
    }

    fn has(&self, types: &[RequestType]) -> bool {
        types.iter().all(|t| self.buckets[t.index()].has(1.0))
    }

    /// Milliseconds until every type in `types` has a token.
    fn wait_ms(&self, types: &[RequestType]) -> i64 {
        types
            .iter()
            .map(|t| self.buckets[t.index()].wait_ms(self.rate(*t)))
            .max()
            .unwrap_or(0)
    }
}

/// One universe's budgets.
#[derive(Debug)]
pub(crate) struct Universe {
    pub(crate) settings: Settings,
    experience: Vec<Bucket>,
    units: Bucket,
    servers: HashMap<String, Server>,
    keys: HashMap<(String, String), (Window, Window)>,
}

/// The experience bucket a type draws on (`RemoveVersionAsync` shares
/// Remove's).
fn slot(t: RequestType) -> usize {
    match t {
        RequestType::RemoveVersion => RequestType::StandardRemove.index(),
        t => t.index(),
    }
}

impl Universe {
    /// Fresh budgets under `settings` at `now`: every bucket full.
    pub(crate) fn new(settings: Settings, now: i64) -> Self {
        let users = settings.concurrent_users;
        let experience = RequestType::ALL
            .iter()
            .map(|t| Bucket::new(per_minute(t.experience_rate(), users) as f64, now))
            .collect();
        Universe {
            settings,
            experience,
            units: Bucket::new(per_minute(MEMORY_UNITS, users) as f64, now),
            servers: HashMap::new(),
            keys: HashMap::new(),
        }
    }

    fn refill(&mut self, now: i64) {
        let users = self.settings.concurrent_users;
        for t in RequestType::ALL {
            let rate = per_minute(t.experience_rate(), users) as f64;
            self.experience[t.index()].refill(now, rate, rate);
        }
        let units = per_minute(MEMORY_UNITS, users) as f64;
        self.units.refill(now, units, units);
    }

    /// What the experience has left of `t` at `now`.
    pub(crate) fn experience_remaining(&mut self, t: RequestType, now: i64) -> u64 {
        self.refill(now);
        self.experience[slot(t)].whole()
    }

    /// Memory-store request units left at `now`.
    pub(crate) fn units_remaining(&mut self, now: i64) -> u64 {
        self.refill(now);
        self.units.whole()
    }

    /// The game server `job` with `players`, refilled to `now` (created
    /// with its startup burst if new).
    pub(crate) fn server(&mut self, job: &str, players: u64, now: i64) -> &mut Server {
        self.servers.retain(|j, s| {
            j == job || now - s.seen_ms < IDLE_SERVER_MS || s.queues.iter().any(|q| !q.is_empty())
        });
        let server = self
            .servers
            .entry(job.to_owned())
            .or_insert_with(|| Server::new(players, now));
        server.players = players;
        server.seen_ms = server.seen_ms.max(now);
        server.refill(now);
        server
    }

    /// The checks shared by every caller: experience limits and the key's
    /// throughput. `game_server` picks the experience error's wording.
    fn check_shared(
        &mut self,
        charge: &Charge,
        now: i64,
        game_server: bool,
    ) -> Result<(), Throttled> {
        self.refill(now);
        for t in &charge.types {
            if !self.experience[slot(*t)].has(1.0) {
                return Err(if game_server {
                    Throttled::Experience(*t)
                } else {
                    Throttled::OpenCloud(*t)
                });
            }
        }
        if let Some(k) = &charge.key {
            let windows = self
                .keys
                .entry((k.store.clone(), k.key.clone()))
                .or_default();
            let read_ok = windows.0.fits(now, k.read_kb, KEY_READ_KB_PER_MINUTE);
            let write_ok = windows.1.fits(now, k.write_kb, KEY_WRITE_KB_PER_MINUTE);
            if !(read_ok && write_ok) {
                return Err(Throttled::Key);
            }
        }
        Ok(())
    }

    /// Takes what `charge` uses of the shared budgets (after the checks).
    fn take_shared(&mut self, charge: &Charge, now: i64) {
        for t in &charge.types {
            self.experience[slot(*t)].take(1.0);
        }
        if let Some(k) = &charge.key {
            let windows = self
                .keys
                .entry((k.store.clone(), k.key.clone()))
                .or_default();
            windows.0.add(now, k.read_kb);
            windows.1.add(now, k.write_kb);
        }
        if self.keys.len() > 10_000 {
            self.keys
                .retain(|_, (r, w)| !(r.is_idle(now) && w.is_idle(now)));
        }
    }

    /// An Open Cloud request: admitted now or refused.
    pub(crate) fn admit_open_cloud(&mut self, charge: &Charge, now: i64) -> Result<(), Throttled> {
        self.check_shared(charge, now, false)?;
        self.take_shared(charge, now);
        Ok(())
    }

    /// A game server's request arriving: admitted now (`Ok(None)`), queued
    /// as `ticket` (`Ok(Some(queue))`), or dropped (queue full) or refused
    /// (experience or key limit).
    pub(crate) fn arrive(
        &mut self,
        job: &str,
        players: u64,
        charge: &Charge,
        ticket: u64,
        now: i64,
    ) -> Result<Option<Queue>, Throttled> {
        let queue = charge.queue();
        let server = self.server(job, players, now);
        let line = &server.queues[queue.index()];
        if line.is_empty() && server.has(&charge.types) {
            return self.leave(job, charge, now).map(|()| None);
        }
        if line.len() >= QUEUE_LIMIT {
            return Err(Throttled::Dropped {
                api: charge.api,
                kind: charge.kind(),
            });
        }
        server.queues[queue.index()].push_back(ticket);
        Ok(Some(queue))
    }

    /// A queued ticket's turn: `Ok(true)` when it left its queue admitted,
    /// `Ok(false)` with the milliseconds to wait while it must stay, or the
    /// refusal (it left its queue).
    pub(crate) fn poll(
        &mut self,
        job: &str,
        players: u64,
        charge: &Charge,
        ticket: u64,
        now: i64,
    ) -> Result<Option<i64>, Throttled> {
        let queue = charge.queue().index();
        let server = self.server(job, players, now);
        if !server.queues[queue].contains(&ticket) {
            // Budgets were started afresh while it waited.
            return Ok(None);
        }
        if server.queues[queue].front() != Some(&ticket) {
            return Ok(Some(server.wait_ms(&charge.types).max(1)));
        }
        if !server.has(&charge.types) {
            return Ok(Some(server.wait_ms(&charge.types)));
        }
        server.queues[queue].pop_front();
        self.leave(job, charge, now).map(|()| None)
    }

    /// The shared checks, then every budget taken.
    fn leave(&mut self, job: &str, charge: &Charge, now: i64) -> Result<(), Throttled> {
        self.check_shared(charge, now, true)?;
        self.take_shared(charge, now);
        if let Some(server) = self.servers.get_mut(job) {
            for t in &charge.types {
                server.buckets[t.index()].take(1.0);
            }
        }
        Ok(())
    }

    /// Removes `ticket` from its queue (a caller gave up waiting).
    pub(crate) fn forget(&mut self, job: &str, queue: Queue, ticket: u64) {
        if let Some(server) = self.servers.get_mut(job) {
            server.queues[queue.index()].retain(|t| *t != ticket);
        }
    }

    /// Tickets waiting in `job`'s `queue`.
    pub(crate) fn queued(&self, job: &str, queue: Queue) -> usize {
        self.servers
            .get(job)
            .map_or(0, |s| s.queues[queue.index()].len())
    }

    /// Takes `units` memory-store request units, or refuses.
    pub(crate) fn take_units(&mut self, units: u64, now: i64) -> Result<(), Throttled> {
        self.refill(now);
        let units = units.max(1) as f64;
        if !self.units.has(units) {
            return Err(Throttled::MemoryUnits);
        }
        self.units.take(units);
        Ok(())
    }
}

/// A size in bytes as Roblox counts throughput: whole kilobytes, rounded
/// up, at least one.
pub(crate) fn kilobytes(bytes: u64) -> u64 {
    bytes.div_ceil(KB).max(1)
}
