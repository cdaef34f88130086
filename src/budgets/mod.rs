//! Roblox's request budgets and throttling, per universe, off unless
//! turned on: the experience-level limits game servers and Open Cloud
//! share, each game server's own limits (`60 + 40 × players` a minute and
//! the others) with its four queues of 30, per-key throughput, and
//! memory-store request units.
//!
//! Owns: [`Budgets`] (the settings and meters of every universe, on the
//! injected [`Clock`]), [`Caller`] (who asks: Open Cloud, or a game server
//! by job id and player count), [`Charge`] (what a request uses) and
//! [`Throttled`] (Roblox's throttle errors). The figures are in `limits`.
//! Invariants: a universe whose budgets are off is never refused or
//! delayed; Open Cloud is refused at once when over a limit; a game
//! server's request over its own budget waits in its queue, in arrival
//! order, until its budget refills on the clock (a full queue drops it);
//! a refused request uses no budget; a caller that stops waiting leaves
//! its queue; every refusal is counted in the server's metrics (by kind).

mod bucket;
mod error;
pub mod limits;
mod state;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::clock::Clock;
pub use error::Throttled;
pub use limits::{Api, Queue, RequestType};
use state::Universe;

/// The longest a queued request sleeps before looking again (so that a
/// moved clock is noticed soon).
const POLL_MS: i64 = 200;

/// One universe's budget settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Whether requests are budgeted at all.
    pub enabled: bool,
    /// The experience's concurrent users (the `CCU` of the limits).
    pub concurrent_users: u64,
}

/// Who makes a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// An Open Cloud client (no game server named).
    OpenCloud,
    /// A game server.
    GameServer {
        /// Its `JobId`.
        job: String,
        /// Players in it now.
        players: u64,
    },
}

/// The key a request reads or writes, with the kilobytes it moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUse {
    /// The data store (with its scope).
    pub store: String,
    /// The key.
    pub key: String,
    /// Kilobytes read (rounded up).
    pub read_kb: u64,
    /// Kilobytes written (rounded up).
    pub write_kb: u64,
}

/// What one request uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    /// The game-server API it stands for (names its drop error).
    pub api: Api,
    /// The budgets it takes one request from (`UpdateAsync`: Read and
    /// Write; the last one picks its queue).
    pub types: Vec<RequestType>,
    /// The key, for per-key throughput.
    pub key: Option<KeyUse>,
}

impl Charge {
    /// `api` taking one request from each of `types` (at least one).
    pub fn new(api: Api, types: &[RequestType]) -> Self {
        assert!(!types.is_empty(), "a charge takes from some budget");
        Charge {
            api,
            types: types.to_vec(),
            key: None,
        }
    }

    /// This charge on `store`'s `key`, reading `read_bytes` and writing
    /// `write_bytes` (each rounded up to whole kilobytes when not zero).
    #[must_use]
    pub fn on_key(mut self, store: &str, key: &str, read_bytes: u64, write_bytes: u64) -> Self {
        let kb = |b: u64, used: bool| if used { state::kilobytes(b) } else { 0 };
        let reads = self.types.iter().any(|t| {
            matches!(
                t,
                RequestType::StandardRead | RequestType::StandardList | RequestType::OrderedRead
            )
        });
        let writes = self.types.iter().any(|t| {
            matches!(
                t,
                RequestType::StandardWrite
                    | RequestType::StandardRemove
                    | RequestType::OrderedWrite
                    | RequestType::OrderedRemove
            )
        });
        self.key = Some(KeyUse {
            store: store.to_owned(),
            key: key.to_owned(),
            read_kb: kb(read_bytes, reads),
            write_kb: kb(write_bytes, writes),
        });
        self
    }

    /// The budget that decides the queue and names the drop.
    pub fn kind(&self) -> RequestType {
        *self.types.last().expect("never empty")
    }

    /// The queue it waits in.
    pub fn queue(&self) -> Queue {
        self.kind().queue()
    }
}

/// What a universe has left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Its settings.
    pub settings: Settings,
    /// Per request type: the game server's own budget left (when one was
    /// named), else the experience's.
    pub remaining: Vec<(RequestType, u64)>,
    /// Per request type: the experience-level budget left.
    pub experience: Vec<(RequestType, u64)>,
    /// Memory-store request units left this minute.
    pub memory_units: u64,
}

#[derive(Debug)]
struct Inner {
    clock: Clock,
    default: Settings,
    universes: Mutex<HashMap<u64, Universe>>,
    tickets: AtomicU64,
}

/// Every universe's budgets. Cloning shares them.
#[derive(Clone, Debug)]
pub struct Budgets {
    inner: Arc<Inner>,
    metrics: crate::metrics::Metrics,
}

impl Budgets {
    /// Budgets on `clock`; a universe not set otherwise has `default`.
    pub fn new(clock: Clock, default: Settings) -> Self {
        Budgets {
            inner: Arc::new(Inner {
                clock,
                default,
                universes: Mutex::new(HashMap::new()),
                tickets: AtomicU64::new(0),
            }),
            metrics: crate::metrics::Metrics::off(),
        }
    }

    /// These budgets counting their refusals in `metrics` (set before
    /// cloning).
    #[must_use]
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Counts a refusal in the metrics.
    fn refused<T>(&self, result: Result<T, Throttled>) -> Result<T, Throttled> {
        if let Err(e) = &result {
            use crate::metrics::Throttle as K;
            self.metrics.throttled(match e {
                Throttled::Experience(_) => K::Experience,
                Throttled::OpenCloud(_) => K::OpenCloud,
                Throttled::Dropped { .. } => K::QueueFull,
                Throttled::Key => K::Key,
                Throttled::MemoryUnits => K::MemoryUnits,
            });
        }
        result
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Runs `f` on `universe`'s budgets (created from the defaults), or
    /// returns `None` when they are off.
    fn with<T>(&self, universe: u64, f: impl FnOnce(&mut Universe, i64) -> T) -> Option<T> {
        let now = self.now();
        let mut all = self.inner.universes.lock();
        let u = all
            .entry(universe)
            .or_insert_with(|| Universe::new(self.inner.default, now));
        u.settings.enabled.then(|| f(u, now))
    }

    /// Whether `universe`'s budgets are on (a request of a universe whose
    /// budgets are off needs no classifying).
    pub fn enabled(&self, universe: u64) -> bool {
        self.settings(universe).enabled
    }

    /// `universe`'s settings.
    pub fn settings(&self, universe: u64) -> Settings {
        let all = self.inner.universes.lock();
        all.get(&universe)
            .map_or(self.inner.default, |u| u.settings)
    }

    /// Sets `universe`'s settings. Turning budgets on (or off) starts them
    /// afresh: every bucket full, every queue empty; a change of users
    /// keeps what was used.
    pub fn set(&self, universe: u64, settings: Settings) -> Settings {
        let now = self.now();
        let mut all = self.inner.universes.lock();
        match all.get_mut(&universe) {
            Some(u) if u.settings.enabled && settings.enabled => u.settings = settings,
            _ => {
                all.insert(universe, Universe::new(settings, now));
            }
        }
        settings
    }

    /// Admits one request of `caller` using `charge`, waiting in its game
    /// server's queue while that server's budget is used up.
    pub async fn acquire(
        &self,
        universe: u64,
        caller: &Caller,
        charge: &Charge,
    ) -> Result<(), Throttled> {
        let admitted = self.admit(universe, caller, charge).await;
        self.refused(admitted)
    }

    async fn admit(
        &self,
        universe: u64,
        caller: &Caller,
        charge: &Charge,
    ) -> Result<(), Throttled> {
        let (job, players) = match caller {
            Caller::OpenCloud => {
                return self
                    .with(universe, |u, now| u.admit_open_cloud(charge, now))
                    .unwrap_or(Ok(()));
            }
            Caller::GameServer { job, players } => (job.as_str(), *players),
        };
        let ticket = self.inner.tickets.fetch_add(1, Ordering::Relaxed);
        let arrived = self.with(universe, |u, now| {
            u.arrive(job, players, charge, ticket, now)
        });
        let Some(queue) = arrived.unwrap_or(Ok(None))? else {
            return Ok(());
        };
        let mut waiting = Waiting {
            budgets: self,
            universe,
            job,
            queue,
            ticket,
            queued: true,
        };
        loop {
            let polled = self.with(universe, |u, now| u.poll(job, players, charge, ticket, now));
            let wait = match polled {
                // Turned off (or afresh) while waiting: nothing to wait for.
                None => None,
                Some(Err(e)) => {
                    waiting.queued = false;
                    return Err(e);
                }
                Some(Ok(wait)) => wait,
            };
            let Some(ms) = wait else {
                waiting.queued = false;
                return Ok(());
            };
            let ms = ms.clamp(1, POLL_MS);
            self.inner
                .clock
                .sleep(Duration::from_millis(ms as u64))
                .await;
        }
    }

    /// Takes `units` memory-store request units from `universe` (at least
    /// one), or refuses when they are used up.
    pub fn memory_units(&self, universe: u64, units: u64) -> Result<(), Throttled> {
        let taken = self
            .with(universe, |u, now| u.take_units(units, now))
            .unwrap_or(Ok(()));
        self.refused(taken)
    }

    /// Requests waiting in `job`'s `queue` in `universe`.
    pub fn queued(&self, universe: u64, job: &str, queue: Queue) -> usize {
        let all = self.inner.universes.lock();
        all.get(&universe).map_or(0, |u| u.queued(job, queue))
    }

    /// What `universe` has left; for game server `server` (`(job,
    /// players)`) when given, which is then seen with that player count.
    pub fn report(&self, universe: u64, server: Option<(&str, u64)>) -> Report {
        let settings = self.settings(universe);
        let now = self.now();
        let mut all = self.inner.universes.lock();
        let mut fresh = None;
        let u = match all.get_mut(&universe) {
            Some(u) => u,
            None => fresh.insert(Universe::new(settings, now)),
        };
        let experience: Vec<_> = RequestType::ALL
            .iter()
            .map(|t| (*t, u.experience_remaining(*t, now)))
            .collect();
        let remaining = match server {
            Some((job, players)) => {
                let s = u.server(job, players, now);
                RequestType::ALL
                    .iter()
                    .map(|t| (*t, s.remaining(*t)))
                    .collect()
            }
            None => experience.clone(),
        };
        Report {
            settings,
            remaining,
            experience,
            memory_units: u.units_remaining(now),
        }
    }
}

/// A queued request; leaves its queue if its caller stops waiting.
struct Waiting<'b> {
    budgets: &'b Budgets,
    universe: u64,
    job: &'b str,
    queue: Queue,
    ticket: u64,
    queued: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.queued {
            let mut all = self.budgets.inner.universes.lock();
            if let Some(u) = all.get_mut(&self.universe) {
                u.forget(self.job, self.queue, self.ticket);
            }
        }
    }
}
