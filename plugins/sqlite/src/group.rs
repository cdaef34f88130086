//! Group commit: concurrent commits of one process share one transaction,
//! and so one fsync.
//!
//! Owns: [`Group`], the queue of commits waiting for the database.
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
//!   waiting.

use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use profilestore_plugin_api::{Commit, CommitOutcome, StorageError, StorageResult};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use crate::sql_error;

/// What a queued commit's thread is told.
#[derive(Debug)]
enum Wake {
    Waiting,
    /// Its commit is still queued and no group is running: lead the next.
    Lead,
    Done(StorageResult<CommitOutcome>),
}

/// One queued commit's mailbox: each waiter sleeps on its own condition
/// variable, so finishing a group wakes exactly the threads it concerns.
#[derive(Debug)]
struct Slot {
    wake: Mutex<Wake>,
    ready: Condvar,
}

impl Slot {
    fn tell(&self, wake: Wake) {
        *self.wake.lock() = wake;
        self.ready.notify_one();
    }

    fn wait(&self) -> Wake {
        let mut wake = self.wake.lock();
        while matches!(*wake, Wake::Waiting) {
            self.ready.wait(&mut wake);
        }
        std::mem::replace(&mut *wake, Wake::Waiting)
    }
}

type Queued = (Commit, Arc<Slot>);

#[derive(Debug, Default)]
struct State {
    queue: Vec<Queued>,
    leading: bool,
}

/// The commit queue of one database.
#[derive(Debug, Default)]
pub(crate) struct Group {
    state: Mutex<State>,
}

impl Group {
    /// Commits `commit`, in a group with whatever commits arrive meanwhile;
    /// `run` executes one group (the caller's writer turn).
    pub(crate) fn commit(
        &self,
        commit: &Commit,
        run: impl Fn(&[Commit]) -> Vec<StorageResult<CommitOutcome>>,
    ) -> StorageResult<CommitOutcome> {
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
        let (commits, slots): (Vec<Commit>, Vec<Arc<Slot>>) = batch.into_iter().unzip();
        let mut leader = Leader { group: self, slots };
        let results = run(&commits);
        leader.finish(&slot, results)
    }
}

/// A running group; dropped unfinished (a panic), it fails the group.
struct Leader<'a> {
    group: &'a Group,
    slots: Vec<Arc<Slot>>,
}

impl Leader<'_> {
    /// Hands every result to its waiter (returning the leader's own) and
    /// the lead to the first commit queued meanwhile.
    fn finish(
        &mut self,
        own: &Arc<Slot>,
        results: Vec<StorageResult<CommitOutcome>>,
    ) -> StorageResult<CommitOutcome> {
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

impl Drop for Leader<'_> {
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
fn for_each(n: usize, err: &rusqlite::Error) -> Vec<StorageResult<CommitOutcome>> {
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
pub(crate) fn run(
    conn: &mut Connection,
    batch: &[Commit],
    apply: impl Fn(&Connection, &Commit) -> StorageResult<CommitOutcome>,
) -> Vec<StorageResult<CommitOutcome>> {
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
