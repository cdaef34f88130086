//! The plugin inside profilestore's async runtime: `postgres::Client`
//! drives a runtime of its own, so opening and dropping the plugin must
//! work on an async worker, and calls must work where profilestore's
//! storage bridge runs them (`block_in_place` on a multi-thread runtime,
//! `spawn_blocking` on a current-thread one). Skipped without a test
//! server.

use std::sync::Arc;

use profilestore_plugin_api::{
    Commit, CommitOutcome, Durability, EntryId, Expect, NewVersion, StoragePlugin, Supersede,
};
use profilestore_postgres::test_server::{open, TestDatabase};

fn commit(p: &dyn StoragePlugin, e: &EntryId) -> CommitOutcome {
    p.commit(&Commit {
        entry: e.clone(),
        expect: Expect::Any,
        now_ms: 1_700_000_000_000,
        supersede: Supersede::Keep,
        version: NewVersion {
            deleted: false,
            value: "1".to_owned(),
            user_ids: Vec::new(),
            metadata: "{}".to_owned(),
        },
    })
    .expect("commit")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_calls_and_drop_on_a_multi_thread_runtime() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    // On an async worker: what `serve` does at start.
    let p = open(db.url(), Durability::Off);
    let e = EntryId::new(1, "S", "global", "k");
    let outcome = tokio::task::block_in_place(|| commit(&p, &e));
    assert!(matches!(outcome, CommitOutcome::Committed(_)));
    let p = Arc::new(p);
    let reader = Arc::clone(&p);
    let read = tokio::task::spawn_blocking(move || reader.read_latest(&e))
        .await
        .expect("join")
        .expect("read");
    assert_eq!(read.expect("kept").value, "1");
    // Dropped on an async worker too (what shutting down does).
    drop(p);
}

#[tokio::test(flavor = "current_thread")]
async fn open_calls_and_drop_on_a_current_thread_runtime() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let p = Arc::new(open(db.url(), Durability::Off));
    let writer = Arc::clone(&p);
    let e = EntryId::new(1, "S", "global", "k");
    let outcome = tokio::task::spawn_blocking(move || commit(&*writer, &e))
        .await
        .expect("join");
    assert!(matches!(outcome, CommitOutcome::Committed(_)));
    drop(p);
}
