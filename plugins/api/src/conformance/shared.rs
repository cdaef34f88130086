//! The conformance functions of the shared capability: the message log and
//! versioned records (`crate::shared`).
//!
//! Owns: one public function per behaviour (re-exported by the parent).
//! Invariant: the concurrency checks read while others write, so a plugin
//! that numbers messages out of commit order, or swaps records with a lock
//! that does not cover the check, fails them.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::{LogMessage, RecordExpect, RecordOutcome, RecordWrite, StoragePlugin, StoreImage};

use super::T0;

fn seqs(messages: &[LogMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}

fn swapped(outcome: RecordOutcome) -> Option<u64> {
    match outcome {
        RecordOutcome::Swapped { version } => version,
        RecordOutcome::Conflict { current } => {
            panic!("expected a swap, got a conflict with {current:?}")
        }
    }
}

/// Appends get growing numbers from 1 and read back in order, exactly.
pub fn log_append_numbers_and_reads_in_order(p: &dyn StoragePlugin) {
    assert_eq!(p.log_head().expect("head"), 0, "an empty log's head is 0");
    assert!(p.log_read(0, 10).expect("read").is_empty());
    let a = p.log_append("t1", r#"{"n":1}"#, T0).expect("append");
    let b = p.log_append("t2", "\"é\\u0000\"", T0 + 1).expect("append");
    let c = p.log_append("t1", "3", T0 + 2).expect("append");
    assert!(a >= 1 && a < b && b < c, "numbers grow: {a} {b} {c}");
    assert_eq!(p.log_head().expect("head"), c);
    let all = p.log_read(0, 10).expect("read");
    assert_eq!(seqs(&all), vec![a, b, c]);
    assert_eq!(all[0].topic, "t1");
    assert_eq!(all[0].data, r#"{"n":1}"#);
    assert_eq!(all[0].sent_ms, T0);
    assert_eq!(all[1].data, "\"é\\u0000\"", "data round-trips exactly");
    assert_eq!(seqs(&p.log_read(a, 10).expect("read")), vec![b, c]);
    assert_eq!(seqs(&p.log_read(a, 1).expect("read")), vec![b], "limit");
    assert!(p.log_read(c, 10).expect("read").is_empty());
}

/// Trimming removes exactly the messages sent before the cutoff, and the
/// numbers go on from the head (never reused, even with the log empty).
pub fn log_trim_keeps_newer_and_never_reuses_numbers(p: &dyn StoragePlugin) {
    let a = p.log_append("t", "1", T0).expect("append");
    let b = p.log_append("t", "2", T0 + 10).expect("append");
    assert_eq!(p.log_trim(T0 + 10).expect("trim"), 1);
    assert_eq!(seqs(&p.log_read(0, 10).expect("read")), vec![b]);
    assert_eq!(p.log_trim(T0 + 11).expect("trim"), 1);
    assert!(p.log_read(0, 10).expect("read").is_empty());
    assert_eq!(p.log_head().expect("head"), b, "the head survives trimming");
    let c = p.log_append("t", "3", T0 + 20).expect("append");
    assert!(c > b && b > a, "numbers are never reused: {a} {b} {c}");
}

/// Messages and records are not part of an image: an import leaves them.
pub fn log_and_records_are_not_in_images(p: &dyn StoragePlugin) {
    let a = p.log_append("t", "1", T0).expect("append");
    swapped(
        p.record_swap("node/1", RecordExpect::Absent, Some("up"))
            .expect("swap"),
    );
    p.import_image(&StoreImage::default()).expect("import");
    assert_eq!(seqs(&p.log_read(0, 10).expect("read")), vec![a]);
    assert_eq!(
        p.record_read("node/1").expect("read").expect("kept").value,
        "up"
    );
}

/// A reader that keeps reading after the last number it saw, while four
/// threads append, sees every message exactly once and in number order.
pub fn log_concurrent_appends_are_read_once_in_order(p: &dyn StoragePlugin) {
    const THREADS: usize = 4;
    const EACH: usize = 50;
    let done = AtomicBool::new(false);
    let appended = std::sync::Mutex::new(Vec::new());
    let read = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut seen = Vec::new();
            let mut last = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let batch = p.log_read(last, 17).expect("read");
                if let Some(m) = batch.last() {
                    last = m.seq;
                }
                seen.extend(seqs(&batch));
                if finished && batch.is_empty() {
                    return seen;
                }
            }
        });
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let appended = &appended;
                s.spawn(move || {
                    for i in 0..EACH {
                        let n = p.log_append("t", &format!("{t}{i}"), T0).expect("append");
                        appended.lock().expect("list").push(n);
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().expect("writer");
        }
        done.store(true, Ordering::SeqCst);
        reader.join().expect("reader")
    });
    let mut appended = appended.into_inner().expect("list");
    appended.sort_unstable();
    assert_eq!(appended.len(), THREADS * EACH);
    assert!(
        read.windows(2).all(|w| w[0] < w[1]),
        "read in order, once each"
    );
    assert_eq!(read, appended, "the reader missed or invented messages");
}

/// `log_wait` returns (hint or not) within a bounded time, and at once
/// when a message above `after` already exists.
pub fn log_wait_is_bounded(p: &dyn StoragePlugin) {
    let a = p.log_append("t", "1", T0).expect("append");
    let started = std::time::Instant::now();
    p.log_wait(a - 1, Duration::from_secs(30)).expect("wait");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "log_wait blocked although a message above `after` exists"
    );
    p.log_wait(a, Duration::from_millis(20))
        .expect("a short wait ends");
}

/// Swaps check absent / version / any; removes; a read gives the value.
pub fn record_swap_checks_its_expectation(p: &dyn StoragePlugin) {
    assert_eq!(p.record_read("lease/a").expect("read"), None);
    let v1 = swapped(
        p.record_swap("lease/a", RecordExpect::Absent, Some("x"))
            .expect("swap"),
    )
    .expect("a version");
    let again = p
        .record_swap("lease/a", RecordExpect::Absent, Some("y"))
        .expect("swap");
    let RecordOutcome::Conflict { current: Some(cur) } = again else {
        panic!("Absent must conflict with an existing record, got {again:?}");
    };
    assert_eq!((cur.version, cur.value.as_str()), (v1, "x"));
    let v2 = swapped(
        p.record_swap("lease/a", RecordExpect::Version(v1), Some("y"))
            .expect("swap"),
    )
    .expect("a version");
    assert!(v2 > v1, "versions grow: {v1} then {v2}");
    let stale = p
        .record_swap("lease/a", RecordExpect::Version(v1), Some("z"))
        .expect("swap");
    assert!(
        matches!(stale, RecordOutcome::Conflict { .. }),
        "a stale version conflicts"
    );
    let read = p.record_read("lease/a").expect("read").expect("present");
    assert_eq!(
        (read.name.as_str(), read.version, read.value.as_str()),
        ("lease/a", v2, "y")
    );
    let v3 = swapped(
        p.record_swap("lease/a", RecordExpect::Any, Some(""))
            .expect("swap"),
    )
    .expect("a version");
    assert_eq!(
        p.record_read("lease/a")
            .expect("read")
            .expect("present")
            .value,
        ""
    );
    assert_eq!(
        swapped(
            p.record_swap("lease/a", RecordExpect::Version(v3), None)
                .expect("remove")
        ),
        None
    );
    assert_eq!(p.record_read("lease/a").expect("read"), None);
    let absent = p
        .record_swap("lease/a", RecordExpect::Version(v3), None)
        .expect("swap");
    assert!(matches!(absent, RecordOutcome::Conflict { current: None }));
    assert_eq!(
        swapped(
            p.record_swap("never", RecordExpect::Any, None)
                .expect("remove absent")
        ),
        None
    );
}

/// A version read before a remove and re-create conflicts afterwards.
pub fn record_versions_never_repeat(p: &dyn StoragePlugin) {
    let mut seen = BTreeSet::new();
    for round in 0..3 {
        let v = swapped(
            p.record_swap("r", RecordExpect::Absent, Some("v"))
                .expect("create"),
        )
        .expect("a version");
        assert!(seen.insert(v), "version {v} repeated in round {round}");
        let other = swapped(
            p.record_swap("s", RecordExpect::Any, Some("w"))
                .expect("other"),
        )
        .expect("a version");
        assert!(
            seen.insert(other),
            "version {other} repeated across records"
        );
        p.record_swap("r", RecordExpect::Version(v), None)
            .expect("remove");
        let stale = p
            .record_swap("r", RecordExpect::Version(v), Some("again"))
            .expect("swap");
        assert!(matches!(stale, RecordOutcome::Conflict { .. }));
    }
}

/// `record_list` gives exactly the records under a prefix, in name order.
pub fn record_list_by_prefix_in_name_order(p: &dyn StoragePlugin) {
    for name in ["node/b", "node/a", "node/é", "nodes", "nod", "node/Z"] {
        p.record_swap(name, RecordExpect::Any, Some(&format!("v-{name}")))
            .expect("swap");
    }
    p.record_swap("node/gone", RecordExpect::Any, Some("x"))
        .expect("swap");
    p.record_swap("node/gone", RecordExpect::Any, None)
        .expect("remove");
    let names: Vec<String> = p
        .record_list("node/")
        .expect("list")
        .into_iter()
        .map(|r| {
            assert_eq!(r.value, format!("v-{}", r.name));
            r.name
        })
        .collect();
    assert_eq!(names, vec!["node/Z", "node/a", "node/b", "node/é"]);
    assert_eq!(p.record_list("").expect("list all").len(), 6);
}

/// Four threads each add 1 fifty times through read + swap loops: the
/// count is exact (the check and the write are one transaction).
pub fn record_concurrent_swaps_are_exact(p: &dyn StoragePlugin) {
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    loop {
                        let cur = p.record_read("count").expect("read");
                        let (expect, n) = match &cur {
                            None => (RecordExpect::Absent, 0),
                            Some(r) => (
                                RecordExpect::Version(r.version),
                                r.value.parse::<u64>().expect("number"),
                            ),
                        };
                        let out = p
                            .record_swap("count", expect, Some(&(n + 1).to_string()))
                            .expect("swap");
                        if matches!(out, RecordOutcome::Swapped { .. }) {
                            break;
                        }
                    }
                }
            });
        }
    });
    assert_eq!(
        p.record_read("count")
            .expect("read")
            .expect("present")
            .value,
        "200"
    );
}

fn write(name: &str, expect: RecordExpect, value: Option<&str>) -> RecordWrite {
    RecordWrite {
        name: name.to_owned(),
        expect,
        value: value.map(str::to_owned),
    }
}

/// A batch of swaps checks each write against the records as the writes
/// before it left them; a conflict writes nothing and the rest apply.
pub fn record_swap_all_applies_in_order(p: &dyn StoragePlugin) {
    let v1 = swapped(
        p.record_swap("a", RecordExpect::Absent, Some("1"))
            .expect("swap"),
    )
    .expect("a version");
    let outcomes = p
        .record_swap_all(&[
            write("b", RecordExpect::Absent, Some("b1")),
            write("b", RecordExpect::Absent, Some("b2")),
            write("a", RecordExpect::Version(v1), Some("2")),
            write("a", RecordExpect::Version(v1), Some("3")),
            write("gone", RecordExpect::Any, None),
        ])
        .expect("swap all");
    assert_eq!(outcomes.len(), 5, "one outcome per write: {outcomes:?}");
    let RecordOutcome::Swapped { version: Some(b) } = &outcomes[0] else {
        panic!("the first write of b applies, got {:?}", outcomes[0]);
    };
    let RecordOutcome::Conflict { current: Some(cur) } = &outcomes[1] else {
        panic!(
            "the second Absent of b sees the first, got {:?}",
            outcomes[1]
        );
    };
    assert_eq!((cur.version, cur.value.as_str()), (*b, "b1"));
    let RecordOutcome::Swapped { version: Some(a2) } = &outcomes[2] else {
        panic!("a at its version applies, got {:?}", outcomes[2]);
    };
    assert!(
        *a2 > *b && *b > v1,
        "versions grow in order: {v1}, {b}, {a2}"
    );
    assert!(
        matches!(&outcomes[3], RecordOutcome::Conflict { current: Some(c) } if c.value == "2"),
        "a at its old version conflicts with the batch's own write: {:?}",
        outcomes[3]
    );
    assert_eq!(outcomes[4], RecordOutcome::Swapped { version: None });
    let read = |n: &str| {
        p.record_read(n)
            .expect("read")
            .map(|r| (r.version, r.value))
    };
    assert_eq!(read("a"), Some((*a2, "2".to_owned())));
    assert_eq!(read("b"), Some((*b, "b1".to_owned())));
    assert_eq!(p.record_swap_all(&[]).expect("nothing"), Vec::new());
}

/// A batch may write, replace and remove many records at once; they all
/// read back, and a removal in a batch removes.
pub fn record_swap_all_writes_and_removes_many(p: &dyn StoragePlugin) {
    let names: Vec<String> = (0..50).map(|i| format!("many/{i:03}")).collect();
    let create: Vec<RecordWrite> = names
        .iter()
        .map(|n| write(n, RecordExpect::Absent, Some(n)))
        .collect();
    let versions: Vec<u64> = p
        .record_swap_all(&create)
        .expect("create")
        .into_iter()
        .map(|o| swapped(o).expect("a version"))
        .collect();
    let listed = p.record_list("many/").expect("list");
    assert_eq!(listed.len(), 50);
    let again: Vec<RecordWrite> = names
        .iter()
        .zip(&versions)
        .map(|(n, v)| {
            let keep = n.ends_with('0');
            write(n, RecordExpect::Version(*v), keep.then_some("kept"))
        })
        .collect();
    for o in p.record_swap_all(&again).expect("replace") {
        assert!(matches!(o, RecordOutcome::Swapped { .. }), "{o:?}");
    }
    let left = p.record_list("many/").expect("list");
    assert_eq!(left.len(), 5, "the removes of a batch remove: {left:?}");
    assert!(left.iter().all(|r| r.value == "kept"));
}

/// For durable plugins: the log's messages and head, and the records with
/// their versions, are there after a reopen; numbering goes on.
pub fn reopen_keeps_log_and_records(open: &dyn Fn() -> Box<dyn StoragePlugin>) {
    let (a, v) = {
        let p = open();
        let a = p.log_append("t", "1", T0).expect("append");
        let v = swapped(
            p.record_swap("r", RecordExpect::Absent, Some("x"))
                .expect("swap"),
        );
        let batch = [write("batch/1", RecordExpect::Absent, Some("b"))];
        assert!(matches!(
            p.record_swap_all(&batch).expect("swap all")[..],
            [RecordOutcome::Swapped { version: Some(_) }]
        ));
        p.flush().expect("flush");
        (a, v.expect("a version"))
    };
    let p = open();
    assert_eq!(seqs(&p.log_read(0, 10).expect("read")), vec![a]);
    assert_eq!(p.log_head().expect("head"), a);
    assert!(p.log_append("t", "2", T0).expect("append") > a);
    let b = p.record_read("batch/1").expect("read");
    assert_eq!(
        b.map(|b| b.value),
        Some("b".to_owned()),
        "a batch is durable"
    );
    let r = p.record_read("r").expect("read").expect("kept");
    assert_eq!((r.version, r.value.as_str()), (v, "x"));
    let next = swapped(
        p.record_swap("q", RecordExpect::Absent, Some("y"))
            .expect("swap"),
    );
    assert!(
        next.expect("a version") > v,
        "versions go on after a reopen"
    );
}
