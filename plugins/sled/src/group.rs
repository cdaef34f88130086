//! Group commit for `full` durability: the writes that arrive together
//! share one flush.
//!
//! Owns: [`FlushGroup`] (the leader/follower turn) and [`GroupStats`] (its
//! counters). Invariants:
//! - a write waits for a flush that *started after* its transaction
//!   committed (sled's flush makes stable everything reserved before it
//!   starts), so a write is acknowledged only once a flush covers it;
//! - one flush at a time: the first waiter finding none running leads the
//!   next and covers every write registered before it started; writes
//!   registered while it runs wait for the one after;
//! - a write succeeds only when a flush covering it succeeded (`ok` only
//!   grows); a failed flush fails exactly the writes it was to cover (a
//!   later one may still report them durable), and a leader that panics
//!   counts as a failed flush, so no follower waits forever.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};
use profilestore_plugin_api::{GroupSizeCounter, GroupSizes, StorageError, StorageResult};

/// Group-size buckets: bucket `i` counts flushes covering at most
/// `GROUP_BUCKETS[i]` writes (and more than the bucket before); the last
/// counts everything larger than the one before it.
pub const GROUP_BUCKETS: [u64; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, u64::MAX];

/// What group commit did since the database opened (`full` durability;
/// the other modes flush in the background and count nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Flushes run for writes (each one covers a group).
    pub groups: u64,
    /// Writes acknowledged through a flush: commits, ordered and meta
    /// writes, record swaps, version removals, purges, imports.
    pub writes: u64,
    /// Flushes per group size, bucketed by [`GROUP_BUCKETS`].
    pub sizes: [u64; GROUP_BUCKETS.len()],
}

#[derive(Debug, Default)]
struct State {
    /// Flushes started / finished / last finished without error (numbered
    /// from 1; each only grows, `ok <= finished <= started`).
    started: u64,
    finished: u64,
    ok: u64,
    flushing: bool,
    /// Writes registered for the next flush to start.
    waiting: u64,
    /// The last flush failure, for the writes it fails.
    error: Option<String>,
}

#[derive(Debug, Default)]
struct Counters {
    groups: AtomicU64,
    writes: AtomicU64,
    sizes: [AtomicU64; GROUP_BUCKETS.len()],
    /// The same groups on the plugin API's bounds, for the server's metrics.
    api: GroupSizeCounter,
}

/// The flush turn of one database.
#[derive(Debug, Default)]
pub(crate) struct FlushGroup {
    state: Mutex<State>,
    done: Condvar,
    counters: Counters,
}

impl FlushGroup {
    /// Returns once a flush that started after this call succeeded (running
    /// `flush` itself when no flush is under way), or fails when the flush
    /// meant to cover this write failed.
    pub(crate) fn write_done(&self, flush: impl Fn() -> Result<(), String>) -> StorageResult<()> {
        let mut state = self.state.lock();
        let target = state.started + 1;
        state.waiting += 1;
        while state.finished < target {
            if state.flushing {
                self.done.wait(&mut state);
                continue;
            }
            state.flushing = true;
            state.started += 1;
            let covered = std::mem::take(&mut state.waiting);
            let mut turn = Turn {
                group: self,
                number: state.started,
                result: Err("the flush panicked".to_owned()),
            };
            drop(state);
            turn.result = flush();
            self.count(covered);
            drop(turn);
            state = self.state.lock();
        }
        if state.ok >= target {
            Ok(())
        } else {
            let detail = state.error.clone().unwrap_or_default();
            Err(StorageError::Backend(
                format!("sled flush failed, the write may not be durable: {detail}").into(),
            ))
        }
    }

    fn count(&self, covered: u64) {
        let c = &self.counters;
        c.groups.fetch_add(1, Ordering::Relaxed);
        c.writes.fetch_add(covered, Ordering::Relaxed);
        let bucket = GROUP_BUCKETS
            .iter()
            .position(|&max| covered <= max)
            .unwrap_or(GROUP_BUCKETS.len() - 1);
        c.sizes[bucket].fetch_add(1, Ordering::Relaxed);
        c.api.record(usize::try_from(covered).unwrap_or(usize::MAX));
    }

    /// The group sizes so far, as `StoragePlugin::commit_group_sizes`
    /// reports them.
    pub(crate) fn sizes(&self) -> GroupSizes {
        self.counters.api.snapshot()
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> GroupStats {
        let c = &self.counters;
        GroupStats {
            groups: c.groups.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            sizes: std::array::from_fn(|i| c.sizes[i].load(Ordering::Relaxed)),
        }
    }
}

/// A running flush; dropped (finished or unwinding) it records the result
/// and wakes the followers.
struct Turn<'a> {
    group: &'a FlushGroup,
    number: u64,
    result: Result<(), String>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut state = self.group.state.lock();
        state.flushing = false;
        state.finished = self.number;
        match &self.result {
            Ok(()) => state.ok = self.number,
            Err(e) => state.error = Some(e.clone()),
        }
        drop(state);
        self.group.done.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::sync::Arc;
    use std::time::Duration;

    /// A flush that blocks until the test lets it go, so which writes a
    /// group covers does not depend on timing.
    struct Gate {
        entered: Mutex<mpsc::Sender<()>>,
        release: Mutex<mpsc::Receiver<Result<(), String>>>,
    }

    fn gated() -> (
        Arc<Gate>,
        mpsc::Receiver<()>,
        mpsc::Sender<Result<(), String>>,
    ) {
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel();
        let gate = Gate {
            entered: Mutex::new(entered_tx),
            release: Mutex::new(release_rx),
        };
        (Arc::new(gate), entered_rx, release_tx)
    }

    fn write(
        group: &Arc<FlushGroup>,
        gate: &Arc<Gate>,
    ) -> std::thread::JoinHandle<StorageResult<()>> {
        let (group, gate) = (Arc::clone(group), Arc::clone(gate));
        std::thread::spawn(move || {
            group.write_done(|| {
                gate.entered.lock().send(()).expect("test alive");
                gate.release.lock().recv().expect("test alive")
            })
        })
    }

    /// Waits until `n` writes are registered and waiting for a flush.
    fn until_waiting(group: &FlushGroup, n: u64) {
        while group.state.lock().waiting < n {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn writes_arriving_during_a_flush_share_the_next_one() {
        let group = Arc::new(FlushGroup::default());
        let (gate, entered, release) = gated();
        let first = write(&group, &gate);
        entered.recv().expect("first flush starts");
        let followers: Vec<_> = (0..5).map(|_| write(&group, &gate)).collect();
        until_waiting(&group, 5);
        release.send(Ok(())).expect("release first");
        entered.recv().expect("second flush starts");
        release.send(Ok(())).expect("release second");
        first.join().expect("thread").expect("first write");
        for f in followers {
            f.join().expect("thread").expect("follower write");
        }
        let stats = group.stats();
        assert_eq!((stats.groups, stats.writes), (2, 6), "{stats:?}");
        assert_eq!(stats.sizes[0], 1, "a group of one: {stats:?}");
        assert_eq!(
            stats.sizes[3], 1,
            "a group of five (bucket <= 8): {stats:?}"
        );
    }

    #[test]
    fn a_failed_flush_fails_the_writes_it_covers_and_the_next_succeeds() {
        let group = Arc::new(FlushGroup::default());
        let (gate, entered, release) = gated();
        let first = write(&group, &gate);
        entered.recv().expect("flush starts");
        release.send(Err("disk gone".to_owned())).expect("release");
        let err = first.join().expect("thread").expect_err("flush failed");
        assert!(err.to_string().contains("disk gone"), "{err}");
        let second = write(&group, &gate);
        entered.recv().expect("flush starts");
        release.send(Ok(())).expect("release");
        second.join().expect("thread").expect("next flush succeeds");
    }

    #[test]
    fn a_panicking_flush_fails_its_writes_and_frees_the_turn() {
        let group = FlushGroup::default();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            group.write_done(|| panic!("flush bug"))
        }));
        assert!(caught.is_err());
        group.write_done(|| Ok(())).expect("the turn is free again");
        assert_eq!(group.stats().groups, 1, "only the finished flush counts");
    }
}
