//! The shared backend: memory stores kept in the storage plugin's
//! versioned records, so every `serve` node on one database sees one set.
//!
//! Owns: [`Shared`]: the record layout, the read / apply / compare-and-
//! swap loop around `universe.rs`' operations (the same functions the
//! local backend runs under its lock), queue reads that wait by polling,
//! flush operations, and the copy for snapshots.
//!
//! **Granularity: one record per universe** (`memory/u/{universe}`,
//! JSON of [`Universe`]), plus `memory/flush/{universe}` (the last
//! [`FLUSH_IDS`] flush operation ids). Why: the universe memory quota is a
//! check over every structure of the universe, and a record swap is
//! atomic over one record only. With one record the quota check, the
//! per-structure limits and the write land in one swap, exactly as on
//! the local backend (no ledger to drift, nothing to repair after a node
//! dies mid-write), and a flush is one swap. The cost: every write in a
//! universe rewrites the universe's record (at most its quota, 64 KB +
//! 1.2 KB per user: 1.26 MB by default) and all writers of a universe
//! contend on one version; reads do not write. A record per structure
//! with a quota ledger would let writers of different structures run in
//! parallel, at the price of two swaps per growing write and a ledger
//! that must be reconciled; BENCHMARKS.md has the figures of this choice.
//!
//! Invariants: a call reads the record, applies the operation and swaps
//! with the version it read; on a conflict it applies again to the record
//! the conflict returned (from the second conflict on, after a
//! [`Backoff`] wait on the clock and a fresh read of the record), at most
//! [`SWAP_ATTEMPTS`] times, then fails with a retryable
//! [`MemoryStoreError::Storage`]; an operation that changes nothing (a
//! read, a failed condition, an empty queue read) writes nothing; an empty
//! universe's record is removed. Etags and read ids carry a random node
//! nonce (`Tags`), so they are unique across nodes. A waiting queue read
//! looks again every [`POLL`] on the clock, and at once after an add on
//! this node. Each node keeps the last universe it decoded or wrote with
//! its record version and reuses it while the record is at that version
//! (no JSON parse for a call after its own last one; a read still fetches
//! the record to learn its version).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use profilestore_plugin_api::{RecordExpect, RecordOutcome, SharedRecord, StorageError};

use super::local::Image;
use super::universe::{Changes, Ctx, Tags, Universe};
use super::*;
use crate::storage::Storage;

/// How often a waiting queue read looks again.
pub(super) const POLL: Duration = Duration::from_millis(100);
/// Flush operation ids remembered per universe.
pub(super) const FLUSH_IDS: usize = 100;

const UNIVERSES: &str = "memory/u/";

fn universe_record(universe: u64) -> String {
    format!("{UNIVERSES}{universe}")
}

fn flush_record(universe: u64) -> String {
    format!("memory/flush/{universe}")
}

fn corrupt(name: &str, e: &serde_json::Error) -> StorageError {
    StorageError::Corrupt {
        what: name.to_owned(),
        detail: e.to_string(),
    }
}

fn decode(record: Option<&SharedRecord>) -> std::result::Result<Universe, StorageError> {
    record.map_or_else(
        || Ok(Universe::default()),
        |r| serde_json::from_str(&r.value).map_err(|e| corrupt(&r.name, &e)),
    )
}

fn encode(u: &Universe) -> std::result::Result<Option<String>, StorageError> {
    if u.is_empty() {
        return Ok(None);
    }
    let text = serde_json::to_string(u).map_err(|e| StorageError::Corrupt {
        what: "memory store universe".into(),
        detail: e.to_string(),
    })?;
    Ok(Some(text))
}

/// What one compare-and-swap step decided.
enum Step<R> {
    /// Done; write nothing.
    Keep(R),
    /// Write this (`None`: remove the record), then done.
    Write(R, Option<String>),
}

/// Memory stores in the storage plugin's records.
#[derive(Debug)]
pub(super) struct Shared {
    storage: Storage,
    clock: Clock,
    config: MemoryConfig,
    tags: Tags,
    /// Woken after every queue add through this node.
    added: tokio::sync::Notify,
    /// Bytes of each universe as this node last wrote or measured them.
    seen: Mutex<std::collections::HashMap<u64, u64>>,
    /// The last record of each universe this node decoded or wrote, by
    /// version (versions never repeat, so a match is that very content,
    /// give or take expired items reaped since). A call takes it out and
    /// puts it back, so it is never cloned.
    decoded: Mutex<std::collections::HashMap<u64, (u64, Universe)>>,
}

impl Shared {
    pub(super) fn new(storage: Storage, clock: Clock, config: MemoryConfig) -> Self {
        Shared {
            storage,
            clock,
            config,
            tags: Tags::new(),
            added: tokio::sync::Notify::new(),
            seen: Mutex::new(std::collections::HashMap::new()),
            decoded: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// `record`'s universe: the cached one, taken out, when it is at the
    /// record's version, else decoded.
    fn take(&self, universe: u64, record: Option<&SharedRecord>) -> Result<Universe> {
        let Some(r) = record else {
            return Ok(Universe::default());
        };
        let cached = self.decoded.lock().remove(&universe);
        match cached {
            Some((version, u)) if version == r.version => Ok(u),
            _ => Ok(decode(Some(r))?),
        }
    }

    /// Puts `u` back as the universe's record at `version`.
    fn put_back(&self, universe: u64, version: Option<u64>, u: Universe) {
        if let Some(v) = version {
            self.decoded.lock().insert(universe, (v, u));
        }
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            now: self.clock.now_ms(),
            quota: self.config.quota_bytes(),
            tags: &self.tags,
        }
    }

    async fn read(&self, name: &str) -> Result<Option<SharedRecord>> {
        let name = name.to_owned();
        Ok(self.storage.call(move |p| p.record_read(&name)).await?)
    }

    /// The compare-and-swap loop on record `name`: `step` decides on what
    /// is there (it may run several times). The answer, and the record's
    /// new version when it was written.
    async fn cas<R>(
        &self,
        name: &str,
        mut step: impl FnMut(Option<&SharedRecord>) -> Result<Step<R>>,
    ) -> Result<(R, Option<u64>)> {
        let mut current = self.read(name).await?;
        let mut backoff =
            Backoff::new(Duration::from_millis(1), Duration::from_millis(50)).with_jitter(0.5);
        for attempt in 0..SWAP_ATTEMPTS {
            let (answer, value) = match step(current.as_ref())? {
                Step::Keep(answer) => return Ok((answer, None)),
                Step::Write(answer, value) => (answer, value),
            };
            let expect = current
                .as_ref()
                .map_or(RecordExpect::Absent, |r| RecordExpect::Version(r.version));
            if value.is_none() && current.is_none() {
                return Ok((answer, None));
            }
            let owned = name.to_owned();
            let outcome = self
                .storage
                .call(move |p| p.record_swap(&owned, expect, value.as_deref()))
                .await?;
            match outcome {
                RecordOutcome::Swapped { version } => return Ok((answer, version)),
                // The record a conflict returns is the newest: the first
                // retry applies to it at once. Later ones wait first (to
                // spread racing writers apart) and then read afresh, since
                // other writers swap during the wait: retrying on the
                // record from before the wait lost every time under load
                // (tests/memorystore_shared.rs, 1 run in 20 beside 3 CPU
                // burners, before this).
                RecordOutcome::Conflict { current: now } if attempt == 0 => current = now,
                RecordOutcome::Conflict { .. } => {
                    self.clock.sleep(backoff.fail()).await;
                    current = self.read(name).await?;
                }
            }
        }
        Err(StorageError::Unavailable(format!(
            "memory store record `{name}` changed under {SWAP_ATTEMPTS} attempts in a row; retry"
        ))
        .into())
    }

    /// Runs `f` on `universe` and writes the result back when it changed
    /// something.
    pub(super) async fn apply<R: Changes>(
        &self,
        universe: u64,
        mut f: impl FnMut(&mut Universe, &Ctx<'_>) -> Result<R>,
    ) -> Result<R> {
        let mut written = None;
        let (answer, version) = self
            .cas(&universe_record(universe), |record| {
                written = None;
                let mut u = self.take(universe, record)?;
                let answer = f(&mut u, &self.ctx());
                let version = record.map(|r| r.version);
                let answer = match answer {
                    Ok(a) if a.changed() => a,
                    Ok(a) => {
                        self.put_back(universe, version, u);
                        return Ok(Step::Keep(a));
                    }
                    Err(e) => {
                        // Only expired items may have gone (reaped).
                        self.put_back(universe, version, u);
                        return Err(e);
                    }
                };
                let text = encode(&u)?;
                written = Some(u);
                Ok(Step::Write(answer, text))
            })
            .await?;
        if let Some(u) = written {
            self.seen.lock().insert(universe, u.used());
            self.put_back(universe, version, u);
        }
        Ok(answer)
    }

    /// Runs `f` on a copy of `universe` (nothing is written).
    pub(super) async fn view<R>(
        &self,
        universe: u64,
        f: impl FnOnce(&mut Universe, &Ctx<'_>) -> R,
    ) -> Result<R> {
        let record = self.read(&universe_record(universe)).await?;
        let mut u = self.take(universe, record.as_ref())?;
        let answer = f(&mut u, &self.ctx());
        self.put_back(universe, record.map(|r| r.version), u);
        Ok(answer)
    }

    /// Tells this node's waiting queue reads that an item came.
    pub(super) fn added(&self) {
        self.added.notify_waiters();
    }

    /// A read that waits up to `o.wait` for enough items, looking again
    /// every [`POLL`] (other nodes' adds, windows ending) and at once
    /// after an add on this node.
    pub(super) async fn queue_read(
        &self,
        universe: u64,
        name: &str,
        o: &ReadOptions,
    ) -> Result<(Vec<QueuedItem>, Option<String>)> {
        let wait = i64::try_from(o.wait.as_millis()).unwrap_or(i64::MAX);
        let deadline = self.clock.now_ms().saturating_add(wait);
        loop {
            let notified = self.added.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let read = self
                .apply(universe, |u, cx| Ok(u.queue_read(cx, name, o)))
                .await?;
            if let Some((items, id)) = read {
                return Ok((items, Some(id)));
            }
            let left = deadline - self.clock.now_ms();
            if left <= 0 {
                return Ok((Vec::new(), None));
            }
            let nap = POLL.min(Duration::from_millis(left.unsigned_abs()));
            tokio::select! {
                () = &mut notified => {}
                () = self.clock.sleep(nap) => {}
            }
        }
    }

    /// Drops every memory store of `universe` (one swap) and remembers
    /// the operation's id for every node.
    pub(super) async fn flush(&self, universe: u64) -> Result<String> {
        let name = universe_record(universe);
        self.storage
            .call(move |p| p.record_swap(&name, RecordExpect::Any, None))
            .await?;
        self.seen.lock().remove(&universe);
        self.decoded.lock().remove(&universe);
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.cas(&flush_record(universe), |record| {
            let mut ids = flush_ids(record)?;
            if ids.len() >= FLUSH_IDS {
                ids.remove(0);
            }
            ids.push(id.clone());
            let text = serde_json::to_string(&ids).map_err(|e| corrupt("flush ids", &e))?;
            Ok(Step::Write((), Some(text)))
        })
        .await?;
        Ok(id)
    }

    /// Whether `id` is a flush operation of `universe` (run on any node).
    pub(super) async fn flushed(&self, universe: u64, id: &str) -> Result<bool> {
        let record = self.read(&flush_record(universe)).await?;
        Ok(flush_ids(record.as_ref())?.iter().any(|i| i == id))
    }

    /// Bytes `universe` uses now (expired items not counted), and its quota.
    pub(super) async fn usage(&self, universe: u64) -> Result<(u64, u64)> {
        let (used, quota) = self
            .view(universe, |u, cx| {
                u.reap_all(cx.now);
                (u.used(), cx.quota)
            })
            .await?;
        self.seen.lock().insert(universe, used);
        Ok((used, quota))
    }

    /// The bytes of `universe` this node last wrote or measured, and its
    /// quota (what a synchronous caller such as the budgets view gets).
    pub(super) fn last_usage(&self, universe: u64) -> (u64, u64) {
        let used = self.seen.lock().get(&universe).copied().unwrap_or(0);
        (used, self.config.quota_bytes())
    }

    /// A copy of every universe's record (each read at one version).
    pub(super) async fn export(&self) -> std::result::Result<Image, StorageError> {
        let records = self.storage.call(|p| p.record_list(UNIVERSES)).await?;
        let mut image = Image::default();
        for r in &records {
            let Some(Ok(id)) = r.name.strip_prefix(UNIVERSES).map(str::parse::<u64>) else {
                continue;
            };
            image.0.insert(id, decode(Some(r))?);
        }
        Ok(image)
    }

    /// Replaces every universe with `image`'s: one swap per universe (a
    /// node reading meanwhile may see some universes replaced and others
    /// not yet).
    pub(super) async fn import(&self, image: &Image) -> std::result::Result<(), StorageError> {
        let old = self.export().await?;
        let mut writes: Vec<(String, Option<String>)> = old
            .0
            .keys()
            .filter(|id| !image.0.contains_key(id))
            .map(|id| (universe_record(*id), None))
            .collect();
        for (id, u) in &image.0 {
            writes.push((universe_record(*id), encode(u)?));
        }
        let writes = Arc::new(writes);
        self.storage
            .call(move |p| {
                for (name, value) in writes.iter() {
                    p.record_swap(name, RecordExpect::Any, value.as_deref())?;
                }
                Ok(())
            })
            .await?;
        self.seen.lock().clear();
        self.decoded.lock().clear();
        self.added();
        Ok(())
    }
}

fn flush_ids(record: Option<&SharedRecord>) -> Result<Vec<String>> {
    let Some(r) = record else {
        return Ok(Vec::new());
    };
    Ok(serde_json::from_str(&r.value).map_err(|e| corrupt(&r.name, &e))?)
}
