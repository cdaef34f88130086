//! The backends that run the structures' logic in this process: on local
//! memory ([`Local`]) or on the storage plugin's shared records
//! ([`Shared`]).
//!
//! Owns: [`Near`], one door for the handles: `apply` (an operation that
//! may change the universe), `view` (one that only looks), the waiting
//! queue read and the queue add (which wakes this node's waiters).
//! Invariants: both arms run the same `universe.rs` functions; `apply` on
//! the shared arm may run its operation more than once (it must depend on
//! its inputs and the universe only).

use std::sync::Arc;

use serde_json::Value;

use super::local::Local;
use super::shared::Shared;
use super::universe::{Changes, Ctx, Universe};
use super::*;

/// A backend running the structures here.
#[derive(Clone, Debug)]
pub(super) enum Near {
    /// In this process's memory.
    Local(Arc<Local>),
    /// In the storage plugin's records, shared by every node.
    Shared(Arc<Shared>),
}

impl Near {
    /// Runs `f` on `universe`, keeping what it changed.
    pub(super) async fn apply<R: Changes>(
        &self,
        universe: u64,
        mut f: impl FnMut(&mut Universe, &Ctx<'_>) -> Result<R>,
    ) -> Result<R> {
        match self {
            Near::Local(l) => l.apply(universe, f),
            Near::Shared(s) => s.apply(universe, &mut f).await,
        }
    }

    /// Runs `f` on `universe`, to look only.
    pub(super) async fn view<R>(
        &self,
        universe: u64,
        f: impl FnOnce(&mut Universe, &Ctx<'_>) -> R,
    ) -> Result<R> {
        match self {
            Near::Local(l) => Ok(l.apply(universe, f)),
            Near::Shared(s) => s.view(universe, f).await,
        }
    }

    /// `AddAsync`, checked by the caller.
    pub(super) async fn queue_add(
        &self,
        universe: u64,
        name: &str,
        value: Value,
        value_bytes: usize,
        expiration_secs: u64,
        priority: f64,
    ) -> Result<()> {
        self.apply(universe, |u, cx| {
            u.queue_add(
                cx,
                name,
                value.clone(),
                value_bytes,
                expiration_secs,
                priority,
            )
        })
        .await?;
        if let Near::Shared(s) = self {
            s.added();
        }
        Ok(())
    }

    /// A queue read that waits up to `o.wait`.
    pub(super) async fn queue_read(
        &self,
        universe: u64,
        name: &str,
        o: &ReadOptions,
    ) -> Result<(Vec<QueuedItem>, Option<String>)> {
        match self {
            Near::Local(l) => Ok(l.queue_read(universe, name, o).await),
            Near::Shared(s) => s.queue_read(universe, name, o).await,
        }
    }
}
