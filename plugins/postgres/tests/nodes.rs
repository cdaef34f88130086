//! Several nodes on one database: two plugin instances (as two processes
//! would have) see each other's commits, their compare-and-swaps conflict
//! with each other, concurrent increments through both lose nothing, the
//! message log read on a third node holds every append of the others once
//! and in order, and a node waiting on the log is woken by another's
//! append. Skipped without a test server.

use std::time::{Duration, Instant};

use profilestore_plugin_api::{
    Commit, CommitOutcome, Durability, EntryId, Expect, NewVersion, OrderedExpect, OrderedOutcome,
    OrderedWrite, SortOrder, StoragePlugin, Supersede, VersionQuery,
};
use profilestore_postgres::test_server::{open, TestDatabase};
use profilestore_postgres::PostgresPlugin;

const T0: i64 = 1_700_000_000_000;

/// Two nodes on a fresh database (dropped with the guard).
fn two_nodes() -> Option<(PostgresPlugin, PostgresPlugin, TestDatabase)> {
    let db = TestDatabase::create()?;
    let (a, b) = (
        open(db.url(), Durability::Off),
        open(db.url(), Durability::Off),
    );
    Some((a, b, db))
}

fn put(p: &dyn StoragePlugin, e: &EntryId, expect: Expect, v: &str) -> CommitOutcome {
    p.commit(&Commit {
        entry: e.clone(),
        expect,
        now_ms: T0,
        supersede: Supersede::Keep,
        version: NewVersion {
            deleted: false,
            value: v.to_owned(),
            user_ids: Vec::new(),
            metadata: "{}".to_owned(),
        },
    })
    .expect("commit")
}

#[test]
fn nodes_see_each_others_commits_and_conflicts() {
    let Some((a, b, _db)) = two_nodes() else {
        return;
    };
    let e = EntryId::new(1, "Players", "global", "p1");
    let CommitOutcome::Committed(v1) = put(&a, &e, Expect::Current(None), "1") else {
        panic!("the first create wins");
    };
    let seen = b.read_latest(&e).expect("read").expect("b sees a's commit");
    assert_eq!((seen.info.seq, seen.value.as_str()), (v1.seq, "1"));
    assert!(
        matches!(
            put(&b, &e, Expect::Current(None), "x"),
            CommitOutcome::Conflict { .. }
        ),
        "b cannot create what a created"
    );
    assert!(matches!(
        put(&a, &e, Expect::Current(Some(v1.seq)), "2"),
        CommitOutcome::Committed(_)
    ));
    // b still holds version 1: its swap conflicts and shows a's version 2.
    match put(&b, &e, Expect::Current(Some(v1.seq)), "stale") {
        CommitOutcome::Conflict { current: Some(cur) } => assert_eq!(cur.value, "2"),
        other => panic!("a stale swap on another node must conflict: {other:?}"),
    }
    a.write_meta("datastore-state/1/Players", Some("x"))
        .expect("meta");
    assert_eq!(
        b.read_meta("datastore-state/1/Players")
            .expect("meta")
            .as_deref(),
        Some("x")
    );
}

#[test]
fn increments_through_two_nodes_lose_nothing() {
    const THREADS_PER_NODE: usize = 4;
    const EACH: usize = 25;
    let Some((a, b, _db)) = two_nodes() else {
        return;
    };
    let e = EntryId::new(1, "Counters", "global", "n");
    let o = EntryId::new(1, "Board", "global", "n");
    let started = Instant::now();
    std::thread::scope(|s| {
        for node in [&a, &b] {
            for _ in 0..THREADS_PER_NODE {
                let (e, o) = (&e, &o);
                s.spawn(move || {
                    for _ in 0..EACH {
                        increment(node, e);
                        increment_ordered(node, o);
                    }
                });
            }
        }
    });
    let total = 2 * THREADS_PER_NODE * EACH;
    println!(
        "{total} increments of one key (and one ordered key) through two nodes in {:?}",
        started.elapsed()
    );
    assert_eq!(
        b.read_latest(&e).expect("read").expect("n").value,
        total.to_string()
    );
    assert_eq!(a.ordered_read(&o).expect("read"), Some(total as i64));
    let listed = a
        .list_versions(
            &e,
            &VersionQuery {
                order: SortOrder::Ascending,
                min_ms: None,
                max_ms: None,
                after: None,
                limit: total + 10,
            },
        )
        .expect("versions");
    let seqs: Vec<u64> = listed.items.iter().map(|v| v.seq).collect();
    assert_eq!(
        seqs,
        (1..=total as u64).collect::<Vec<_>>(),
        "no version id twice"
    );
}

fn increment(p: &PostgresPlugin, e: &EntryId) {
    loop {
        let latest = p.read_latest(e).expect("read");
        let n: u64 = latest.as_ref().map_or(0, |r| r.value.parse().expect("int"));
        let expect = Expect::Current(latest.map(|r| r.info.seq));
        if let CommitOutcome::Committed(_) = put(p, e, expect, &(n + 1).to_string()) {
            return;
        }
    }
}

fn increment_ordered(p: &PostgresPlugin, e: &EntryId) {
    loop {
        let current = p.ordered_read(e).expect("read");
        let w = OrderedWrite {
            entry: e.clone(),
            expect: OrderedExpect::Current(current),
            value: Some(current.unwrap_or(0) + 1),
        };
        if let OrderedOutcome::Written { .. } = p.ordered_write(&w).expect("write") {
            return;
        }
    }
}

#[test]
fn a_third_node_reads_every_append_of_two_others_once_in_order() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let url = db.url().to_owned();
    let writers = [open(&url, Durability::Off), open(&url, Durability::Off)];
    let reader = open(&url, Durability::Off);
    let done = std::sync::atomic::AtomicBool::new(false);
    let (appended, read) = std::thread::scope(|s| {
        let reading = s.spawn(|| {
            let (mut seen, mut last) = (Vec::new(), 0);
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let batch = reader.log_read(last, 13).expect("read");
                if let Some(m) = batch.last() {
                    last = m.seq;
                }
                seen.extend(batch.iter().map(|m| m.seq));
                if finished && batch.is_empty() {
                    return seen;
                }
            }
        });
        let handles: Vec<_> = writers
            .iter()
            .flat_map(|w| [w, w])
            .enumerate()
            .map(|(t, w)| {
                s.spawn(move || {
                    (0..40)
                        .map(|i| {
                            w.log_append("topic", &format!("\"{t}-{i}\""), T0)
                                .expect("append")
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut appended: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("w"))
            .collect();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        appended.sort_unstable();
        (appended, reading.join().expect("reader"))
    });
    assert_eq!(
        appended,
        (1..=160).collect::<Vec<u64>>(),
        "numbers are dense across nodes"
    );
    assert_eq!(
        read, appended,
        "the reader missed, repeated or reordered messages"
    );
}

#[test]
fn an_append_on_one_node_wakes_a_waiter_on_another() {
    let Some((a, b, _db)) = two_nodes() else {
        return;
    };
    // The first wait starts b's listener; once it listens, waits block.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !b.log_wait(0, Duration::from_millis(10)).expect("wait") {
        assert!(Instant::now() < deadline, "the listener never came up");
        std::thread::sleep(Duration::from_millis(10));
    }
    let head = b.log_head().expect("head");
    let woken = std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let started = Instant::now();
            assert!(b.log_wait(head, Duration::from_secs(30)).expect("wait"));
            started.elapsed()
        });
        // One append, once the waiter is (very likely) waiting: without the
        // hint it would sleep its whole 30 s; had it not started waiting
        // yet, its head check sees the append at once.
        std::thread::sleep(Duration::from_millis(300));
        a.log_append("t", "1", T0).expect("append");
        waiter.join().expect("waiter")
    });
    assert!(
        woken < Duration::from_secs(10),
        "woken by the append, not the timeout: {woken:?}"
    );
}
