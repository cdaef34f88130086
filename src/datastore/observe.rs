//! Commit observers: what a local service tells one registered observer
//! after each write it committed, and the notes a writer can attach.
//!
//! Owns: [`CommitObserver`] and what it is given ([`Committed`],
//! [`Previous`]), the service's observer slot, and commit notes
//! ([`CommitNote`]: set around a write with [`with_note`], a tokio
//! task-local the local backend reads at commit, and the remote backend
//! sends as the [`COMMIT_NOTE`](crate::opencloud::headers::COMMIT_NOTE)
//! header). Invariants: only the local backend calls an observer, once per
//! successful commit, synchronously, after the commit and before the call
//! returns; an observer only looks and enqueues (it must never block or
//! wait); with no observer registered a commit costs one atomic load more.

use std::sync::{Arc, OnceLock};

use profilestore_plugin_api::{Commit, Expect, VersionInfo, VersionRecord};

/// Why a write was made, for what documents cannot show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitNote {
    /// A session's final save while its server shuts down.
    Shutdown,
    /// A session's final save because another server asked for the
    /// profile (a handoff).
    HandedOff,
}

impl CommitNote {
    /// The header value (`shutdown`, `handed-off`).
    pub fn as_str(self) -> &'static str {
        match self {
            CommitNote::Shutdown => "shutdown",
            CommitNote::HandedOff => "handed-off",
        }
    }

    /// The note a header value names (`None` for anything else).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "shutdown" => Some(CommitNote::Shutdown),
            "handed-off" => Some(CommitNote::HandedOff),
            _ => None,
        }
    }
}

tokio::task_local! {
    static NOTE: CommitNote;
}

/// Runs `fut` with every write it commits noted `note`.
pub async fn with_note<F: std::future::Future>(note: CommitNote, fut: F) -> F::Output {
    NOTE.scope(note, fut).await
}

/// The note of the write being made in this task, if any.
pub fn current_note() -> Option<CommitNote> {
    NOTE.try_with(|n| *n).ok()
}

/// What the key held before a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Previous<'a> {
    /// Nothing, or a tombstone.
    Absent,
    /// This value (JSON text).
    Value(&'a str),
    /// Not known: an unconditional write, which read nothing.
    Unknown,
}

/// One successful commit.
#[derive(Clone, Copy, Debug)]
pub struct Committed<'a> {
    /// The universe.
    pub universe: u64,
    /// The data store.
    pub store: &'a str,
    /// The scope.
    pub scope: &'a str,
    /// The key.
    pub key: &'a str,
    /// What the key held before.
    pub previous: Previous<'a>,
    /// The new value (JSON text); `None` for a removal.
    pub value: Option<&'a str>,
    /// The new version's id (Roblox's format).
    pub version: &'a str,
    /// The new version's sequence number (grows with every write of the key).
    pub seq: u64,
    /// When it was committed, Unix ms of the service's clock.
    pub time_ms: i64,
    /// The writer's note, if it set one.
    pub note: Option<CommitNote>,
}

impl<'a> Committed<'a> {
    /// What the local backend tells of `commit`, committed as `info`
    /// (`version` its id) over `previous`, the version `commit.expect`
    /// names when the caller read it.
    pub(super) fn of(
        commit: &'a Commit,
        info: &VersionInfo,
        version: &'a str,
        previous: Option<&'a VersionRecord>,
    ) -> Self {
        let previous = match (commit.expect, previous) {
            (Expect::Current(None), _) => Previous::Absent,
            (Expect::Current(Some(_)), Some(r)) if r.info.deleted => Previous::Absent,
            (Expect::Current(Some(_)), Some(r)) => Previous::Value(&r.value),
            _ => Previous::Unknown,
        };
        Committed {
            universe: commit.entry.store.universe,
            store: &commit.entry.store.name,
            scope: &commit.entry.scope,
            key: &commit.entry.key,
            previous,
            value: (!commit.version.deleted).then_some(commit.version.value.as_str()),
            version,
            seq: info.seq,
            time_ms: commit.now_ms,
            note: current_note(),
        }
    }
}

/// Told of every commit of a local service.
pub trait CommitObserver: Send + Sync {
    /// One commit; must not block (look, copy what is needed, enqueue).
    fn committed(&self, c: &Committed<'_>);
}

/// A service's observer, registered once and shared by its clones.
#[derive(Clone, Default)]
pub(super) struct Slot(Arc<OnceLock<Arc<dyn CommitObserver>>>);

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("registered", &self.0.get().is_some())
            .finish()
    }
}

impl Slot {
    /// Registers `observer`; false when one was registered before.
    pub(super) fn set(&self, observer: Arc<dyn CommitObserver>) -> bool {
        self.0.set(observer).is_ok()
    }

    /// The observer, if one is registered.
    pub(super) fn get(&self) -> Option<&Arc<dyn CommitObserver>> {
        self.0.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_note_holds_inside_its_scope_only() {
        assert_eq!(current_note(), None);
        let inside = with_note(CommitNote::Shutdown, async { current_note() }).await;
        assert_eq!(inside, Some(CommitNote::Shutdown));
        assert_eq!(current_note(), None);
        for note in [CommitNote::Shutdown, CommitNote::HandedOff] {
            assert_eq!(CommitNote::parse(note.as_str()), Some(note));
        }
        assert_eq!(CommitNote::parse("other"), None);
    }
}
