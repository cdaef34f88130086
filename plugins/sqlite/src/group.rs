//! Group commit: concurrent commits of one process share one transaction,
//! and so one fsync. The same queue serves ordered writes (a second
//! [`Group`] of `OrderedWrite`s): "commit" below means either kind.
//!
//! Owns: [`Group`], the queue of writes waiting for the database.
//! Invariants:
//! - a commit's result is handed back only after the transaction holding
//!   it has committed (or failed: then every commit of the group fails and
//!   nothing of it is written);
//! - the commits of a group apply in arrival order, each in its own
//!   savepoint, so each sees the ones before it exactly as serial commits
//!   would, and one that fails rolls back alone;
//! - one leader at a time runs a group; when it is done the next waiter
//!   whose commit is still queued leads the next group;
//! - a leader that panics fails its group instead of leaving the others
//!   waiting;
//! - every group run is counted by its size ([`Group::sizes`], read by the
//!   server's metrics).

use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use profilestore_plugin_api::{GroupSizeCounter, GroupSizes, StorageError, StorageResult};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use crate::sql_error;

/// What a queued commit's thread is told.
#[derive(Debug)]
enum Wake<O> {
    Waiting,
    /// Its commit is still queued and no group is running: lead the next.
    Lead,
    Done(StorageResult<O>),
}

/// One queued commit's mailbox: each waiter sleeps on its own condition
/// variable, so finishing a group wakes exactly the threads it concerns.
#[derive(Debug)]
struct Slot<O> {
    wake: Mutex<Wake<O>>,
    ready: Condvar,
}

impl<O> Slot<O> {
    fn tell(&self, wake: Wake<O>) {
        *self.wake.lock() = wake;
        self.ready.notify_one();
    }

    fn wait(&self) -> Wake<O> {
        let mut wake = self.wake.lock();
        while matches!(*wake, Wake::Waiting) {
            self.ready.wait(&mut wake);
        }
        std::mem::replace(&mut *wake, Wake::Waiting)
    }
}

type Queued<T, O> = (T, Arc<Slot<O>>);

#[derive(Debug)]
struct State<T, O> {
    queue: Vec<Queued<T, O>>,
    leading: bool,
}

/// The queue of one kind of write (`T`, answered by an `O`) of one
/// database.
#[derive(Debug)]
pub(crate) struct Group<T, O> {
    state: Mutex<State<T, O>>,
    sizes: GroupSizeCounter,
}

impl<T, O> Default for Group<T, O> {
    fn default() -> Self {
        Group {
            state: Mutex::new(State {
                queue: Vec::new(),
                leading: false,
            }),
            sizes: GroupSizeCounter::default(),
        }
    }
}

impl<T, O> Group<T, O> {
    /// The sizes of the groups run so far.
    pub(crate) fn sizes(&self) -> GroupSizes {
        self.sizes.snapshot()
    }
}

impl<T: Clone, O> Group<T, O> {
    /// Commits `commit`, in a group with whatever commits arrive meanwhile;
    /// `run` executes one group (the caller's writer turn).
    pub(crate) fn commit(
        &self,
        commit: &T,
        run: impl Fn(&[T]) -> Vec<StorageResult<O>>,
    ) -> StorageResult<O> {
        let slot = Arc::new(Slot {
            wake: Mutex::new(Wake::Waiting),
            ready: Condvar::new(),
        });
        let lead_now = {
            let mut state = self.state.lock();
            state.queue.push((commit.clone(), Arc::clone(&slot)));
            !std::mem::replace(&mut state.leading, true)
        };
        if !lead_now {
            match slot.wait() {
                Wake::Done(result) => return result,
                Wake::Lead => {}
                Wake::Waiting => unreachable!("wait returns only once told"),
            }
        }
        let batch = std::mem::take(&mut self.state.lock().queue);
        let (commits, slots): (Vec<T>, Vec<Arc<Slot<O>>>) = batch.into_iter().unzip();
        self.sizes.record(commits.len());
        let mut leader = Leader { group: self, slots };
        let results = run(&commits);
        leader.finish(&slot, results)
    }
}

/// A running group; dropped unfinished (a panic), it fails the group.
struct Leader<'a, T, O> {
    group: &'a Group<T, O>,
    slots: Vec<Arc<Slot<O>>>,
}

impl<T, O> Leader<'_, T, O> {
    /// Hands every result to its waiter (returning the leader's own) and
    /// the lead to the first commit queued meanwhile.
    fn finish(&mut self, own: &Arc<Slot<O>>, results: Vec<StorageResult<O>>) -> StorageResult<O> {
        let mut mine = None;
        for (slot, result) in std::mem::take(&mut self.slots).into_iter().zip(results) {
            if Arc::ptr_eq(&slot, own) {
                mine = Some(result);
            } else {
                slot.tell(Wake::Done(result));
            }
        }
        self.hand_over();
        mine.unwrap_or_else(|| Err(StorageError::Backend("a commit group lost a result".into())))
    }

    fn hand_over(&self) {
        let mut state = self.group.state.lock();
        match state.queue.first() {
            Some((_, next)) => next.tell(Wake::Lead),
            None => state.leading = false,
        }
    }
}

impl<T, O> Drop for Leader<'_, T, O> {
    fn drop(&mut self) {
        if self.slots.is_empty() {
            return;
        }
        for slot in std::mem::take(&mut self.slots) {
            slot.tell(Wake::Done(Err(StorageError::Backend(
                "the commit group this commit was in panicked; nothing of it was written".into(),
            ))));
        }
        self.hand_over();
    }
}

/// The same failure for every commit of a group (`rusqlite::Error` does not
/// clone): busy stays transient.
fn for_each<O>(n: usize, err: &rusqlite::Error) -> Vec<StorageResult<O>> {
    let busy = matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    );
    (0..n)
        .map(|_| {
            Err(if busy {
                StorageError::Unavailable(format!("SQLite database is busy: {err}"))
            } else {
                StorageError::Backend(format!("SQLite commit failed: {err}").into())
            })
        })
        .collect()
}

/// Runs `batch` in one `IMMEDIATE` transaction, each commit in a savepoint
/// where `apply` writes it.
pub(crate) fn run<T, O>(
    conn: &mut Connection,
    batch: &[T],
    apply: impl Fn(&Connection, &T) -> StorageResult<O>,
) -> Vec<StorageResult<O>> {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return for_each(batch.len(), &e),
    };
    let mut results = Vec::with_capacity(batch.len());
    for commit in batch {
        let result = match tx.savepoint() {
            Ok(mut sp) => match apply(&sp, commit) {
                Ok(outcome) => sp.commit().map(|()| outcome).map_err(sql_error),
                Err(e) => {
                    // Undo this commit's partial writes only, then release.
                    let undone = sp.rollback().and_then(|()| sp.commit());
                    undone.map_err(sql_error).and(Err(e))
                }
            },
            Err(e) => Err(sql_error(e)),
        };
        results.push(result);
    }
    match tx.commit() {
        Ok(()) => results,
        Err(e) => for_each(batch.len(), &e),
    }
}
