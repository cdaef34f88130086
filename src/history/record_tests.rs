use super::*;
use crate::opencloud::history::{LockChangeKind, LockOwner};

fn event(t: i64) -> LockEvent {
    LockEvent {
        kind: LockChangeKind::Started,
        universe: 1,
        store: "S".into(),
        scope: "global".into(),
        key: "k".into(),
        owner: LockOwner {
            place_id: 1,
            job_id: "j".into(),
            session_id: None,
        },
        load_count: 1,
        time_ms: t,
        time: String::new(),
        previous: None,
        asked_for: false,
    }
}

fn times(events: &[LockEvent]) -> Vec<i64> {
    events.iter().map(|e| e.time_ms).collect()
}

/// No head yet.
fn empty() -> Stored {
    Stored {
        version: None,
        head: Head::default(),
    }
}

/// Applies `append` as a store would: the new head at a new version.
fn applied(a: &Append, version: u64) -> Stored {
    Stored {
        version: Some(version),
        head: serde_json::from_str(a.head.value.as_deref().expect("a head")).expect("decodes"),
    }
}

#[test]
fn names_escape_slashes_so_parts_never_run_together() {
    assert_eq!(name(1, "S", "global", "k"), "history/1/S/global/k");
    assert_eq!(name(1, "a/b", "global", "c"), "history/1/a%2Fb/global/c");
    assert_ne!(name(1, "a/b", "c", "d"), name(1, "a", "b/c", "d"));
    assert_eq!(name(2, "%2F", "s", "k"), "history/2/%252F/s/k");
    assert_eq!(
        chunk_name("history/1/S/global/k", 7),
        "history/1/S/global/k/00000000000000000007"
    );
    assert!(
        chunk_name("h", 9) < chunk_name("h", 10),
        "name order is number order"
    );
    assert_eq!(cutoff(10_000, Duration::from_secs(3)), 7_000);
    assert_eq!(cutoff(0, Duration::MAX), -i64::MAX);
}

#[test]
fn appends_rewrite_a_bounded_head_and_seal_full_ones_whole() {
    let mut stored = empty();
    let mut seals = Vec::new();
    for t in 0..100 {
        let a = append("h", &stored, vec![event(t)], 0, 1000);
        assert_eq!(a.head.name, "h");
        let expect = stored
            .version
            .map_or(RecordExpect::Absent, RecordExpect::Version);
        assert_eq!(a.head.expect, expect, "the head is compare-and-swapped");
        assert!(a.removes.is_empty());
        let head_len = a.head.value.as_deref().map_or(0, str::len);
        assert!(
            head_len < 300 * (CHUNK + 1),
            "the head stays small: {head_len}"
        );
        if let Some(seal) = &a.seal {
            assert_eq!(seal.expect, RecordExpect::Absent, "a chunk is written once");
            let sealed: Vec<LockEvent> =
                serde_json::from_str(seal.value.as_deref().expect("events")).expect("decodes");
            assert_eq!(sealed.len(), CHUNK, "a full head is sealed whole");
            seals.push((seal.name.clone(), times(&sealed)));
        }
        stored = applied(&a, t as u64 + 1);
    }
    assert_eq!(seals.len(), 3, "100 events: three sealed chunks and a head");
    assert_eq!(seals[0].0, chunk_name("h", 0));
    assert_eq!(seals[2].1, (64..96).collect::<Vec<_>>());
    assert_eq!(times(&stored.head.events), (96..100).collect::<Vec<_>>());
    assert_eq!(stored.head.last().map(|e| e.time_ms), Some(99));
}

#[test]
fn appends_remove_chunks_beyond_the_newest_max_and_the_retention() {
    let mut stored = empty();
    let mut removed = Vec::new();
    for t in 0..(CHUNK as i64 * 6) {
        let a = append("h", &stored, vec![event(t)], 0, 2 * CHUNK);
        removed.extend(a.removes.iter().map(|r| (r.name.clone(), r.value.clone())));
        stored = applied(&a, t as u64 + 1);
    }
    let kept: Vec<u64> = stored.head.chunks.iter().map(|c| c.n).collect();
    // One chunk plus the head's full CHUNK events hold the newest 2 * CHUNK.
    assert_eq!(kept, vec![4]);
    let gone: Vec<_> = (0..4).map(|n| (chunk_name("h", n), None)).collect();
    assert_eq!(removed, gone, "each chunk is removed once, oldest first");
    // The retention drops whole chunks: the full head is sealed as chunk
    // 5, and both 4 and 5 end before the cutoff.
    let a = append("h", &stored, vec![event(1000)], 200, 2 * CHUNK);
    let names: Vec<&str> = a.removes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, [chunk_name("h", 4), chunk_name("h", 5)]);
    let head = applied(&a, 999).head;
    assert!(head.chunks.is_empty());
    assert_eq!(times(&head.events), [1000]);
    // ... and the head's own older events.
    let small = Stored {
        version: Some(1),
        head: Head {
            events: vec![event(1), event(2), event(3)],
            ..Head::default()
        },
    };
    let head = applied(&append("h", &small, vec![event(10)], 2, 100), 2).head;
    assert_eq!(times(&head.events), [2, 3, 10]);
    let head = applied(&append("h", &small, vec![event(10)], 0, 2), 2).head;
    assert_eq!(times(&head.events), [3, 10], "and beyond the newest max");
}

#[test]
fn the_first_layout_and_unreadable_heads_decode() {
    let old = serde_json::to_string(&vec![event(1), event(2)]).expect("json");
    let head = decode("h", &old);
    assert_eq!(times(&head.events), [1, 2]);
    assert!(head.chunks.is_empty());
    assert_eq!(decode("h", "not json"), Head::default());
    // A first-layout list past CHUNK is sealed whole by the next append.
    let big: Vec<LockEvent> = (0..1000).map(event).collect();
    let stored = Stored {
        version: Some(4),
        head: decode("h", &serde_json::to_string(&big).expect("json")),
    };
    let a = append("h", &stored, vec![event(2000)], 0, 1000);
    assert!(a.seal.is_some());
    let head = applied(&a, 5).head;
    assert_eq!(head.chunks.len(), 1);
    assert_eq!(times(&head.events), [2000]);
}
