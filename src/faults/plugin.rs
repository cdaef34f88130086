//! Fault injection for storage: a plugin wrapper that fails on demand.
//!
//! Owns: [`FaultyPlugin`], which wraps any plugin and makes commits fail
//! plainly (nothing written) or *ambiguously* (written, then reported as
//! failed, as Roblox documents a DataStore write may be). Used by tests and
//! chaos simulations. [`FaultyPlugin::fail_all`] makes the storage
//! unreachable (like a network outage: an engine probing access then uses
//! its mocks); the armed commit failures are transient, retryable errors.
//! Tests also use it to interleave a competing write right before a
//! commit ([`FaultyPlugin::write_before_next_commit`]) and to witness what
//! reached storage ([`FaultyPlugin::on_commit`]), so no test needs a
//! delegating plugin of its own. Invariant: without armed faults or hooks
//! it behaves exactly like the plugin it wraps.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use profilestore_plugin_api::{
    Commit, CommitOutcome, DataStoreInfo, EntryId, Expect, KeyName, KeyQuery, LogMessage,
    MetaRecord, NewVersion, OrderedOutcome, OrderedQuery, OrderedRecord, OrderedWrite, Page,
    PurgeStats, RecordExpect, RecordOutcome, RecordWrite, Seq, SharedRecord, StorageError,
    StoragePlugin, StorageResult, StoreId, StoreQuery, Supersede, VersionInfo, VersionQuery,
    VersionRecord,
};

/// Sees every commit the wrapped plugin accepted, with its outcome.
type OnCommit = Arc<dyn Fn(&Commit, &CommitOutcome) + Send + Sync>;

/// A plugin wrapper with switchable faults and test hooks.
pub struct FaultyPlugin {
    inner: Arc<dyn StoragePlugin>,
    fail_all: AtomicBool,
    fail_next: AtomicU32,
    ambiguous_next: AtomicU32,
    failures: AtomicU32,
    ambiguous: AtomicU32,
    interleave: Mutex<Option<NewVersion>>,
    on_commit: Mutex<Option<OnCommit>>,
    commit_order: Mutex<()>,
    conflict_swaps: AtomicU32,
}

impl fmt::Debug for FaultyPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyPlugin")
            .field("inner", &self.inner)
            .field("fail_all", &self.fail_all)
            .field("fail_next", &self.fail_next)
            .field("ambiguous_next", &self.ambiguous_next)
            .field("failures", &self.failures)
            .field("interleave", &self.interleave)
            .finish_non_exhaustive()
    }
}

impl FaultyPlugin {
    /// Wraps `inner` with no fault armed.
    pub fn new(inner: Arc<dyn StoragePlugin>) -> Self {
        FaultyPlugin {
            inner,
            fail_all: AtomicBool::new(false),
            fail_next: AtomicU32::new(0),
            ambiguous_next: AtomicU32::new(0),
            failures: AtomicU32::new(0),
            ambiguous: AtomicU32::new(0),
            interleave: Mutex::new(None),
            on_commit: Mutex::new(None),
            commit_order: Mutex::new(()),
            conflict_swaps: AtomicU32::new(0),
        }
    }

    /// Makes the next `n` record swaps answer a conflict (with the record
    /// as it is) without writing, as if another node always won the race
    /// (a batch of swaps counts as one, and every write of it conflicts).
    pub fn conflict_next_swaps(&self, n: u32) {
        self.conflict_swaps.store(n, Ordering::SeqCst);
    }

    /// Makes another writer commit `version` (unconditionally) to the same
    /// entry right before the next commit reaches the wrapped plugin: a
    /// competing write between a caller's read and its write, to force a
    /// conflict deterministically.
    pub fn write_before_next_commit(&self, version: NewVersion) {
        *self.interleave.lock() = Some(version);
    }

    /// Calls `f` after every commit the wrapped plugin accepted (ambiguous
    /// ones included: they were written), in commit order: while an
    /// observer is set, commits through this wrapper run one at a time.
    pub fn on_commit(&self, f: impl Fn(&Commit, &CommitOutcome) + Send + Sync + 'static) {
        *self.on_commit.lock() = Some(Arc::new(f));
    }

    /// Makes every call fail as unreachable storage (or stops doing so).
    pub fn fail_all(&self, on: bool) {
        self.fail_all.store(on, Ordering::SeqCst);
    }

    /// Makes the next `n` commits fail without writing.
    pub fn fail_next_commits(&self, n: u32) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Makes the next `n` successful commits report a failure after writing.
    pub fn ambiguous_next_commits(&self, n: u32) {
        self.ambiguous_next.store(n, Ordering::SeqCst);
    }

    /// How many failures were injected so far (ambiguous ones included).
    pub fn injected(&self) -> u32 {
        self.failures.load(Ordering::SeqCst)
    }

    /// How many of them were ambiguous (written, then reported failed).
    pub fn injected_ambiguous(&self) -> u32 {
        self.ambiguous.load(Ordering::SeqCst)
    }

    /// A transient failure, as a busy or briefly failing backend gives.
    fn injected_error(&self, what: &str) -> StorageError {
        self.failures.fetch_add(1, Ordering::SeqCst);
        StorageError::Unavailable(format!("injected fault: {what}"))
    }

    fn take(counter: &AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Takes one armed swap conflict, if any is left.
    fn take_swap_conflict(&self) -> bool {
        let armed = |n: u32| n.checked_sub(1);
        self.conflict_swaps
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, armed)
            .is_ok()
    }

    fn check(&self, what: &str) -> StorageResult<()> {
        if self.fail_all.load(Ordering::SeqCst) {
            self.failures.fetch_add(1, Ordering::SeqCst);
            Err(StorageError::Open {
                path: "injected".into(),
                detail: format!("injected fault: storage unreachable ({what})"),
            })
        } else {
            Ok(())
        }
    }
}

impl StoragePlugin for FaultyPlugin {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn is_blocking(&self) -> bool {
        self.inner.is_blocking()
    }

    fn commit_group_sizes(&self) -> Option<crate::plugin_api::GroupSizes> {
        self.inner.commit_group_sizes()
    }

    fn read_latest(&self, entry: &EntryId) -> StorageResult<Option<VersionRecord>> {
        self.check("read")?;
        self.inner.read_latest(entry)
    }

    fn read_version(&self, entry: &EntryId, seq: Seq) -> StorageResult<Option<VersionRecord>> {
        self.check("read")?;
        self.inner.read_version(entry, seq)
    }

    fn commit(&self, commit: &Commit) -> StorageResult<CommitOutcome> {
        self.check("commit")?;
        if Self::take(&self.fail_next) {
            return Err(self.injected_error("commit"));
        }
        let competing = self.interleave.lock().take();
        if let Some(version) = competing {
            self.inner.commit(&Commit {
                entry: commit.entry.clone(),
                expect: Expect::Any,
                now_ms: commit.now_ms,
                supersede: Supersede::Keep,
                version,
            })?;
        }
        let observer = self.on_commit.lock().clone();
        let order = observer.as_ref().map(|_| self.commit_order.lock());
        let outcome = self.inner.commit(commit)?;
        if let Some(observer) = observer {
            observer(commit, &outcome);
        }
        drop(order);
        if matches!(outcome, CommitOutcome::Committed(_)) && Self::take(&self.ambiguous_next) {
            self.ambiguous.fetch_add(1, Ordering::SeqCst);
            return Err(self.injected_error("ambiguous commit (it was written)"));
        }
        Ok(outcome)
    }

    fn list_versions(
        &self,
        entry: &EntryId,
        query: &VersionQuery,
    ) -> StorageResult<Page<VersionInfo>> {
        self.check("list")?;
        self.inner.list_versions(entry, query)
    }

    fn list_keys(&self, query: &KeyQuery) -> StorageResult<Page<KeyName>> {
        self.check("list")?;
        self.inner.list_keys(query)
    }

    fn list_data_stores(&self, query: &StoreQuery) -> StorageResult<Page<DataStoreInfo>> {
        self.check("list")?;
        self.inner.list_data_stores(query)
    }

    fn remove_version(&self, entry: &EntryId, seq: Seq) -> StorageResult<bool> {
        self.check("remove")?;
        self.inner.remove_version(entry, seq)
    }

    fn purge_expired(&self, cutoff_ms: i64) -> StorageResult<PurgeStats> {
        self.check("purge")?;
        self.inner.purge_expired(cutoff_ms)
    }

    fn flush(&self) -> StorageResult<()> {
        self.inner.flush()
    }
    fn purge_store(&self, store: &StoreId) -> StorageResult<u64> {
        self.check("purge")?;
        self.inner.purge_store(store)
    }

    fn ordered_read(&self, entry: &EntryId) -> StorageResult<Option<i64>> {
        self.check("read")?;
        self.inner.ordered_read(entry)
    }

    fn ordered_write(&self, write: &OrderedWrite) -> StorageResult<OrderedOutcome> {
        self.check("commit")?;
        if Self::take(&self.fail_next) {
            return Err(self.injected_error("ordered write"));
        }
        let outcome = self.inner.ordered_write(write)?;
        if matches!(outcome, OrderedOutcome::Written { .. }) && Self::take(&self.ambiguous_next) {
            self.ambiguous.fetch_add(1, Ordering::SeqCst);
            return Err(self.injected_error("ambiguous ordered write (it was written)"));
        }
        Ok(outcome)
    }

    fn ordered_range(&self, query: &OrderedQuery) -> StorageResult<Page<OrderedRecord>> {
        self.check("list")?;
        self.inner.ordered_range(query)
    }

    fn read_meta(&self, name: &str) -> StorageResult<Option<String>> {
        self.check("read")?;
        self.inner.read_meta(name)
    }

    fn write_meta(&self, name: &str, value: Option<&str>) -> StorageResult<()> {
        self.check("commit")?;
        self.inner.write_meta(name, value)
    }

    fn list_meta(&self, prefix: &str) -> StorageResult<Vec<MetaRecord>> {
        self.check("list")?;
        self.inner.list_meta(prefix)
    }

    // Whole-store images are controls, not data calls: no injected fault
    // reaches them (a snapshot or restore must not fail half way).
    fn export_image(&self) -> StorageResult<crate::plugin_api::StoreImage> {
        self.inner.export_image()
    }

    fn import_image(&self, image: &crate::plugin_api::StoreImage) -> StorageResult<()> {
        self.inner.import_image(image)
    }

    fn purge_universe(&self, universe: u64) -> StorageResult<u64> {
        self.inner.purge_universe(universe)
    }

    // The shared log and records fail with the storage (an unreachable
    // database), not with per-call faults: the bus and the cluster have
    // their own fault controls.
    fn log_append(&self, topic: &str, data: &str, sent_ms: i64) -> StorageResult<u64> {
        self.check("commit")?;
        self.inner.log_append(topic, data, sent_ms)
    }

    fn log_read(&self, after: u64, limit: usize) -> StorageResult<Vec<LogMessage>> {
        self.check("read")?;
        self.inner.log_read(after, limit)
    }

    fn log_head(&self) -> StorageResult<u64> {
        self.check("read")?;
        self.inner.log_head()
    }

    fn log_trim(&self, cutoff_ms: i64) -> StorageResult<u64> {
        self.check("commit")?;
        self.inner.log_trim(cutoff_ms)
    }

    fn log_wait(&self, after: u64, timeout: std::time::Duration) -> StorageResult<bool> {
        self.check("read")?;
        self.inner.log_wait(after, timeout)
    }

    fn record_read(&self, name: &str) -> StorageResult<Option<SharedRecord>> {
        self.check("read")?;
        self.inner.record_read(name)
    }

    fn record_swap(
        &self,
        name: &str,
        expect: RecordExpect,
        value: Option<&str>,
    ) -> StorageResult<RecordOutcome> {
        self.check("commit")?;
        if self.take_swap_conflict() {
            let current = self.inner.record_read(name)?;
            return Ok(RecordOutcome::Conflict { current });
        }
        self.inner.record_swap(name, expect, value)
    }

    fn record_swap_all(&self, writes: &[RecordWrite]) -> StorageResult<Vec<RecordOutcome>> {
        self.check("commit")?;
        if self.take_swap_conflict() {
            // One armed conflict fails the whole batch: every write.
            return writes
                .iter()
                .map(|w| {
                    let current = self.inner.record_read(&w.name)?;
                    Ok(RecordOutcome::Conflict { current })
                })
                .collect();
        }
        self.inner.record_swap_all(writes)
    }

    fn record_list(&self, prefix: &str) -> StorageResult<Vec<SharedRecord>> {
        self.check("list")?;
        self.inner.record_list(prefix)
    }
}
