//! The conformance functions of the ordered capability: ordered entries
//! (CAS writes, sorted index-backed reads), metadata records and
//! `purge_store`.
//!
//! Owns: one public function per behaviour, re-exported by
//! [`conformance`](crate::conformance) so
//! [`conformance_suite!`](crate::conformance_suite) names them. Invariants
//! as the parent's: no clock, each function starts from an empty plugin,
//! expected orders are computed from a plain model (a sorted `Vec`), never
//! from the plugin.

use crate::{
    Commit, CommitOutcome, EntryId, Expect, KeyQuery, NewVersion, OrderedExpect, OrderedOutcome,
    OrderedQuery, OrderedRecord, OrderedWrite, SortOrder, StoragePlugin, StoreId, StoreQuery,
    Supersede, VersionQuery,
};

const T0: i64 = 1_700_000_000_000;

fn oentry(key: &str) -> EntryId {
    EntryId::new(1, "Board", "global", key)
}

fn write(
    p: &dyn StoragePlugin,
    e: &EntryId,
    expect: OrderedExpect,
    value: Option<i64>,
) -> OrderedOutcome {
    p.ordered_write(&OrderedWrite {
        entry: e.clone(),
        expect,
        value,
    })
    .expect("ordered_write")
}

fn set(p: &dyn StoragePlugin, e: &EntryId, value: i64) {
    let got = write(p, e, OrderedExpect::Any, Some(value));
    assert!(
        matches!(got, OrderedOutcome::Written { .. }),
        "an unconditional ordered write must succeed, got {got:?}"
    );
}

fn read(p: &dyn StoragePlugin, e: &EntryId) -> Option<i64> {
    p.ordered_read(e).expect("ordered_read")
}

fn query(order: SortOrder) -> OrderedQuery {
    OrderedQuery {
        store: StoreId {
            universe: 1,
            name: "Board".to_owned(),
        },
        scope: "global".to_owned(),
        order,
        min: None,
        max: None,
        after: None,
        limit: 1000,
    }
}

fn rec(value: i64, key: &str) -> OrderedRecord {
    OrderedRecord {
        value,
        key: key.to_owned(),
    }
}

fn range(p: &dyn StoragePlugin, q: &OrderedQuery) -> Vec<OrderedRecord> {
    p.ordered_range(q).expect("ordered_range").items
}

/// Reads every page of `q` (its `limit` is the page size), checking that
/// `more` is true exactly on pages followed by another.
fn all_pages(p: &dyn StoragePlugin, q: &OrderedQuery) -> Vec<OrderedRecord> {
    let mut q = q.clone();
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        let page = p.ordered_range(&q).expect("ordered_range");
        assert!(page.items.len() <= q.limit, "a page holds at most `limit`");
        seen.extend(page.items.iter().cloned());
        if !page.more {
            return seen;
        }
        assert!(!page.items.is_empty(), "`more` on an empty page");
        q.after = page.items.last().cloned();
    }
    panic!("paging never ended");
}

/// The model's answer: `records` sorted, filtered by the bounds, reversed
/// for descending.
fn expected(records: &[OrderedRecord], q: &OrderedQuery) -> Vec<OrderedRecord> {
    let mut out: Vec<OrderedRecord> = records
        .iter()
        .filter(|r| q.min.is_none_or(|m| r.value >= m) && q.max.is_none_or(|m| r.value <= m))
        .cloned()
        .collect();
    out.sort();
    if q.order == SortOrder::Descending {
        out.reverse();
    }
    out
}

/// A never-written ordered entry reads as absent and lists nothing.
pub fn ordered_missing_entry_reads_as_none(p: &dyn StoragePlugin) {
    assert_eq!(read(p, &oentry("nobody")), None);
    assert!(range(p, &query(SortOrder::Ascending)).is_empty());
    let page = p
        .ordered_range(&query(SortOrder::Descending))
        .expect("range");
    assert!(page.items.is_empty() && !page.more);
}

/// A write is read back; an overwrite returns the value it replaced.
pub fn ordered_write_then_read(p: &dyn StoragePlugin) {
    let e = oentry("a");
    assert_eq!(
        write(p, &e, OrderedExpect::Any, Some(10)),
        OrderedOutcome::Written { previous: None }
    );
    assert_eq!(read(p, &e), Some(10));
    assert_eq!(
        write(p, &e, OrderedExpect::Any, Some(-3)),
        OrderedOutcome::Written { previous: Some(10) }
    );
    assert_eq!(read(p, &e), Some(-3));
    // The index follows the overwrite: one record, with the new value.
    assert_eq!(range(p, &query(SortOrder::Ascending)), vec![rec(-3, "a")]);
}

/// An ordered entry and the standard entry with the same id are different
/// objects: neither write is visible through the other's calls.
pub fn ordered_namespace_is_separate_from_standard_entries(p: &dyn StoragePlugin) {
    let e = oentry("same");
    p.commit(&Commit {
        entry: e.clone(),
        expect: Expect::Any,
        now_ms: T0,
        supersede: Supersede::Keep,
        version: NewVersion {
            deleted: false,
            value: "7".to_owned(),
            user_ids: Vec::new(),
            metadata: "{}".to_owned(),
        },
    })
    .expect("commit");
    assert_eq!(read(p, &e), None, "a standard entry is not an ordered one");
    assert!(range(p, &query(SortOrder::Ascending)).is_empty());
    set(p, &e, 99);
    assert_eq!(read(p, &e), Some(99));
    let latest = p.read_latest(&e).expect("read").expect("standard entry");
    assert_eq!((latest.value.as_str(), latest.info.seq), ("7", 1));
    write(p, &e, OrderedExpect::Any, None);
    assert!(
        p.read_latest(&e).expect("read").is_some(),
        "ordered removal left the standard entry"
    );
    let keys = KeyQuery {
        store: e.store.clone(),
        scope: None,
        prefix: String::new(),
        after: None,
        limit: 100,
        include_deleted: true,
    };
    assert_eq!(p.list_keys(&keys).expect("list").items.len(), 1);
}

/// `Current(None)` creates only an absent entry; a conflict returns the
/// current value and writes nothing.
pub fn ordered_expect_absent_succeeds_only_when_absent(p: &dyn StoragePlugin) {
    let e = oentry("a");
    assert_eq!(
        write(p, &e, OrderedExpect::Current(None), Some(1)),
        OrderedOutcome::Written { previous: None }
    );
    assert_eq!(
        write(p, &e, OrderedExpect::Current(None), Some(2)),
        OrderedOutcome::Conflict { current: Some(1) }
    );
    assert_eq!(read(p, &e), Some(1));
    assert_eq!(range(p, &query(SortOrder::Ascending)), vec![rec(1, "a")]);
}

/// `Current(Some(v))` writes only over exactly `v`; otherwise it conflicts
/// with the current value (absent included) and writes nothing.
pub fn ordered_expect_value_matches_or_conflicts(p: &dyn StoragePlugin) {
    let e = oentry("a");
    assert_eq!(
        write(p, &e, OrderedExpect::Current(Some(5)), Some(6)),
        OrderedOutcome::Conflict { current: None }
    );
    assert_eq!(
        read(p, &e),
        None,
        "a conflict on an absent entry creates nothing"
    );
    set(p, &e, 5);
    assert_eq!(
        write(p, &e, OrderedExpect::Current(Some(4)), Some(6)),
        OrderedOutcome::Conflict { current: Some(5) }
    );
    assert_eq!(
        write(p, &e, OrderedExpect::Current(Some(4)), None),
        OrderedOutcome::Conflict { current: Some(5) }
    );
    assert_eq!(read(p, &e), Some(5));
    assert_eq!(
        write(p, &e, OrderedExpect::Current(Some(5)), Some(6)),
        OrderedOutcome::Written { previous: Some(5) }
    );
    assert_eq!(read(p, &e), Some(6));
    assert_eq!(range(p, &query(SortOrder::Ascending)), vec![rec(6, "a")]);
}

/// Writing `None` removes an entry (from reads and the index); removing an
/// absent entry is `Written { previous: None }`.
pub fn ordered_remove_and_remove_absent(p: &dyn StoragePlugin) {
    let (a, b) = (oentry("a"), oentry("b"));
    set(p, &a, 1);
    set(p, &b, 2);
    assert_eq!(
        write(p, &a, OrderedExpect::Current(Some(1)), None),
        OrderedOutcome::Written { previous: Some(1) }
    );
    assert_eq!(read(p, &a), None);
    assert_eq!(range(p, &query(SortOrder::Ascending)), vec![rec(2, "b")]);
    assert_eq!(
        write(p, &a, OrderedExpect::Any, None),
        OrderedOutcome::Written { previous: None }
    );
    assert_eq!(
        write(p, &oentry("never"), OrderedExpect::Current(None), None),
        OrderedOutcome::Written { previous: None }
    );
    // A removed entry can be created again.
    assert_eq!(
        write(p, &a, OrderedExpect::Current(None), Some(3)),
        OrderedOutcome::Written { previous: None }
    );
    assert_eq!(
        range(p, &query(SortOrder::Descending)),
        vec![rec(3, "a"), rec(2, "b")]
    );
}

/// The order is `(value, key)` with keys compared as byte strings; ties on
/// the value are broken by the key, and descending reverses the whole order.
pub fn ordered_range_orders_ties_by_key(p: &dyn StoragePlugin) {
    let records = [
        rec(5, "b"),
        rec(5, "a"),
        rec(5, "B"),
        rec(5, "é"),
        rec(5, "z"),
        rec(1, "zz"),
        rec(9, "A"),
        rec(5, "a\u{0}"),
    ];
    for r in &records {
        set(p, &oentry(&r.key.clone()), r.value);
    }
    // Overwriting with the same value changes nothing in the index.
    set(p, &oentry("z"), 5);
    let asc = range(p, &query(SortOrder::Ascending));
    let want = vec![
        rec(1, "zz"),
        rec(5, "B"),
        rec(5, "a"),
        rec(5, "a\u{0}"),
        rec(5, "b"),
        rec(5, "z"),
        rec(5, "é"),
        rec(9, "A"),
    ];
    assert_eq!(asc, want, "ascending (value, key), keys bytewise");
    let mut desc_want = want;
    desc_want.reverse();
    assert_eq!(range(p, &query(SortOrder::Descending)), desc_want);
}

/// `min` and `max` are inclusive, alone or together, in both orders.
pub fn ordered_range_bounds_are_inclusive(p: &dyn StoragePlugin) {
    let records: Vec<OrderedRecord> = (0..20).map(|i| rec(i / 2, &format!("k{i:02}"))).collect();
    for r in &records {
        set(p, &oentry(&r.key), r.value);
    }
    for order in [SortOrder::Ascending, SortOrder::Descending] {
        for (min, max) in [
            (Some(3), None),
            (None, Some(6)),
            (Some(3), Some(6)),
            (Some(4), Some(4)),
            (Some(7), Some(2)),
            (Some(100), None),
        ] {
            let q = OrderedQuery {
                min,
                max,
                ..query(order)
            };
            let got = range(p, &q);
            assert_eq!(
                got,
                expected(&records, &q),
                "{order:?} min {min:?} max {max:?}"
            );
        }
    }
    let q = OrderedQuery {
        min: Some(4),
        max: Some(4),
        ..query(SortOrder::Ascending)
    };
    assert_eq!(range(p, &q), vec![rec(4, "k08"), rec(4, "k09")]);
}

/// Negative values and the extremes of `i64` sort numerically (not as
/// bytes or text) and work as bounds.
pub fn ordered_range_negative_and_extreme_values(p: &dyn StoragePlugin) {
    let values = [
        i64::MIN,
        i64::MIN + 1,
        -1_000_000_000_000,
        -2,
        -1,
        0,
        1,
        10,
        9,
        1 << 40,
        i64::MAX - 1,
        i64::MAX,
    ];
    let records: Vec<OrderedRecord> = values
        .iter()
        .enumerate()
        .map(|(i, v)| rec(*v, &format!("k{i:02}")))
        .collect();
    for r in &records {
        set(p, &oentry(&r.key), r.value);
    }
    for r in &records {
        assert_eq!(read(p, &oentry(&r.key)), Some(r.value), "value round trip");
    }
    for order in [SortOrder::Ascending, SortOrder::Descending] {
        for (min, max) in [
            (None, None),
            (Some(i64::MIN), Some(i64::MAX)),
            (Some(i64::MIN), Some(i64::MIN)),
            (Some(i64::MAX), None),
            (None, Some(-1)),
            (Some(-2), Some(9)),
        ] {
            let q = OrderedQuery {
                min,
                max,
                ..query(order)
            };
            assert_eq!(
                range(p, &q),
                expected(&records, &q),
                "{order:?} {min:?}..={max:?}"
            );
        }
    }
}

/// Pages resumed with `after` cover every matching record exactly once, in
/// order, in both orders, with and without bounds, whatever the page size;
/// a cursor need not be a stored record.
pub fn ordered_pages_cover_everything_once(p: &dyn StoragePlugin) {
    let records: Vec<OrderedRecord> = (0..57)
        .map(|i: i64| rec((i * 7) % 13 - 6, &format!("k{:02}", (i * 31) % 57)))
        .collect();
    for r in &records {
        set(p, &oentry(&r.key), r.value);
    }
    for order in [SortOrder::Ascending, SortOrder::Descending] {
        for (min, max) in [
            (None, None),
            (Some(-2), None),
            (None, Some(3)),
            (Some(-4), Some(4)),
        ] {
            for limit in [1, 2, 5, 13, 57, 100] {
                let q = OrderedQuery {
                    min,
                    max,
                    limit,
                    ..query(order)
                };
                assert_eq!(
                    all_pages(p, &q),
                    expected(&records, &q),
                    "{order:?} {min:?}..={max:?} pages of {limit}"
                );
            }
        }
        // A cursor between stored records resumes right after it.
        let cursor = rec(0, "k30x");
        let q = OrderedQuery {
            after: Some(cursor.clone()),
            ..query(order)
        };
        let want: Vec<OrderedRecord> = expected(&records, &query(order))
            .into_iter()
            .filter(|r| match order {
                SortOrder::Ascending => *r > cursor,
                SortOrder::Descending => *r < cursor,
            })
            .collect();
        assert_eq!(range(p, &q), want, "{order:?} after a non-stored cursor");
        // A cursor outside the bounds: the bound still applies.
        let q = OrderedQuery {
            after: Some(rec(-100, "")),
            min: Some(2),
            max: Some(4),
            ..query(order)
        };
        let want: Vec<OrderedRecord> = match order {
            SortOrder::Ascending => expected(&records, &q),
            SortOrder::Descending => Vec::new(),
        };
        assert_eq!(range(p, &q), want, "{order:?} cursor below the bounds");
    }
}

/// Scopes, ordered data stores and universes hold separate entries.
pub fn ordered_scopes_stores_universes_are_isolated(p: &dyn StoragePlugin) {
    let here = oentry("k");
    let others = [
        EntryId::new(1, "Board", "other", "k"),
        EntryId::new(1, "Board2", "global", "k"),
        EntryId::new(1, "Boar", "dglobal", "k"),
        EntryId::new(2, "Board", "global", "k"),
    ];
    set(p, &here, 1);
    for (i, e) in others.iter().enumerate() {
        set(p, e, 10 + i as i64);
    }
    assert_eq!(read(p, &here), Some(1));
    for (i, e) in others.iter().enumerate() {
        assert_eq!(read(p, e), Some(10 + i as i64), "{e:?}");
    }
    assert_eq!(range(p, &query(SortOrder::Ascending)), vec![rec(1, "k")]);
    let q = OrderedQuery {
        scope: "other".to_owned(),
        ..query(SortOrder::Ascending)
    };
    assert_eq!(range(p, &q), vec![rec(10, "k")]);
    let q = OrderedQuery {
        store: StoreId {
            universe: 2,
            name: "Board".to_owned(),
        },
        ..query(SortOrder::Descending)
    };
    assert_eq!(range(p, &q), vec![rec(13, "k")]);
    write(p, &here, OrderedExpect::Any, None);
    for (i, e) in others.iter().enumerate() {
        assert_eq!(
            read(p, e),
            Some(10 + i as i64),
            "removal stayed in its scope: {e:?}"
        );
    }
}

/// Many threads incrementing one ordered entry through CAS retries lose
/// nothing, and the index holds exactly one record for it.
pub fn ordered_concurrent_increments_are_exact(p: &dyn StoragePlugin) {
    const THREADS: usize = 8;
    const EACH: usize = 50;
    let e = oentry("counter");
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..EACH {
                    loop {
                        let current = read(p, &e);
                        let next = current.unwrap_or(0) + 1;
                        let got = write(p, &e, OrderedExpect::Current(current), Some(next));
                        if matches!(got, OrderedOutcome::Written { .. }) {
                            break;
                        }
                    }
                }
            });
        }
    });
    let total = (THREADS * EACH) as i64;
    assert_eq!(read(p, &e), Some(total));
    assert_eq!(
        range(p, &query(SortOrder::Ascending)),
        vec![rec(total, "counter")]
    );
}

/// A metadata record is written, read, overwritten and removed.
pub fn meta_write_read_overwrite_remove(p: &dyn StoragePlugin) {
    assert_eq!(p.read_meta("datastore-state/1/A").expect("read"), None);
    p.write_meta("datastore-state/1/A", Some(r#"{"state":"active"}"#))
        .expect("write");
    assert_eq!(
        p.read_meta("datastore-state/1/A").expect("read").as_deref(),
        Some(r#"{"state":"active"}"#)
    );
    p.write_meta("datastore-state/1/A", Some(r#"{"state":"deleted"}"#))
        .expect("overwrite");
    assert_eq!(
        p.read_meta("datastore-state/1/A").expect("read").as_deref(),
        Some(r#"{"state":"deleted"}"#)
    );
    p.write_meta("datastore-state/1/A", None).expect("remove");
    assert_eq!(p.read_meta("datastore-state/1/A").expect("read"), None);
    p.write_meta("never-written", None)
        .expect("removing an absent record is fine");
    // The empty text and unicode round-trip exactly.
    p.write_meta("x", Some("")).expect("write");
    assert_eq!(p.read_meta("x").expect("read").as_deref(), Some(""));
    p.write_meta("y", Some("é\u{0}\"")).expect("write");
    assert_eq!(p.read_meta("y").expect("read").as_deref(), Some("é\u{0}\""));
}

/// `list_meta` returns exactly the records under a prefix, in name order
/// (bytewise), and none removed.
pub fn meta_list_by_prefix_in_name_order(p: &dyn StoragePlugin) {
    for name in [
        "snap/2", "snap/10", "snap/1", "snapshot", "sna", "state/1", "snap/é", "snap/Z",
    ] {
        p.write_meta(name, Some(&format!("v-{name}")))
            .expect("write");
    }
    p.write_meta("snap/gone", Some("x")).expect("write");
    p.write_meta("snap/gone", None).expect("remove");
    let names = |prefix: &str| -> Vec<String> {
        p.list_meta(prefix)
            .expect("list_meta")
            .into_iter()
            .map(|r| {
                assert_eq!(r.value, format!("v-{}", r.name), "value of {}", r.name);
                r.name
            })
            .collect()
    };
    assert_eq!(
        names("snap/"),
        vec!["snap/1", "snap/10", "snap/2", "snap/Z", "snap/é"]
    );
    assert_eq!(
        names("snap"),
        vec!["snap/1", "snap/10", "snap/2", "snap/Z", "snap/é", "snapshot"]
    );
    assert_eq!(names("state/"), vec!["state/1"]);
    assert!(names("nothing").is_empty());
    assert_eq!(names("").len(), 8);
}

/// `purge_store` removes every entry and version of that standard store
/// only: other stores, other universes, ordered entries and meta stay; the
/// store leaves key and store listings, and a new write starts afresh.
pub fn purge_store_removes_only_that_store(p: &dyn StoragePlugin) {
    let put = |e: &EntryId, now: i64, v: &str| {
        p.commit(&Commit {
            entry: e.clone(),
            expect: Expect::Any,
            now_ms: now,
            supersede: Supersede::Keep,
            version: if v.is_empty() {
                NewVersion::tombstone()
            } else {
                NewVersion {
                    deleted: false,
                    value: v.to_owned(),
                    user_ids: vec![1],
                    metadata: "{}".to_owned(),
                }
            },
        })
        .expect("commit")
    };
    let doomed = [
        EntryId::new(1, "Gone", "global", "a"),
        EntryId::new(1, "Gone", "global", "b"),
        EntryId::new(1, "Gone", "other", "a"),
    ];
    for (i, e) in doomed.iter().enumerate() {
        put(e, T0 + i as i64, "1");
        put(e, T0 + 10, "2");
    }
    put(&doomed[1], T0 + 11, ""); // a tombstone latest
    let kept = [
        EntryId::new(1, "Gone2", "global", "a"),
        EntryId::new(1, "Gon", "eglobal", "a"),
        EntryId::new(2, "Gone", "global", "a"),
    ];
    for e in &kept {
        put(e, T0, "k");
    }
    set(p, &EntryId::new(1, "Gone", "global", "a"), 42);
    p.write_meta("datastore-state/1/Gone", Some("deleted"))
        .expect("meta");
    let store = StoreId {
        universe: 1,
        name: "Gone".to_owned(),
    };
    assert_eq!(p.purge_store(&store).expect("purge_store"), 3);
    let all_versions = VersionQuery {
        order: SortOrder::Ascending,
        min_ms: None,
        max_ms: None,
        after: None,
        limit: 100,
    };
    for e in &doomed {
        assert!(p.read_latest(e).expect("read").is_none(), "{e:?}");
        assert!(p.read_version(e, 1).expect("read").is_none(), "{e:?}");
        assert!(p
            .list_versions(e, &all_versions)
            .expect("list")
            .items
            .is_empty());
    }
    for e in &kept {
        assert_eq!(
            p.read_latest(e).expect("read").expect("kept").value,
            "k",
            "{e:?}"
        );
    }
    assert_eq!(
        read(p, &EntryId::new(1, "Gone", "global", "a")),
        Some(42),
        "ordered entries untouched"
    );
    assert_eq!(
        p.read_meta("datastore-state/1/Gone")
            .expect("meta")
            .as_deref(),
        Some("deleted")
    );
    let keys = KeyQuery {
        store: store.clone(),
        scope: None,
        prefix: String::new(),
        after: None,
        limit: 100,
        include_deleted: true,
    };
    assert!(p.list_keys(&keys).expect("list").items.is_empty());
    let stores = |universe| {
        let q = StoreQuery {
            universe,
            prefix: String::new(),
            after: None,
            limit: 100,
        };
        p.list_data_stores(&q).expect("list").items
    };
    let names: Vec<String> = stores(1).into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["Gon", "Gone2"]);
    assert_eq!(stores(2).len(), 1);
    assert_eq!(p.purge_store(&store).expect("purge again"), 0);
    // Writing into the purged store starts a new store and a new entry.
    match put(&doomed[0], T0 + 100, "new") {
        CommitOutcome::Committed(info) => {
            assert_eq!((info.seq, info.key_created_ms), (1, T0 + 100))
        }
        other => panic!("{other:?}"),
    }
    let info = stores(1)
        .into_iter()
        .find(|s| s.name == "Gone")
        .expect("listed again");
    assert_eq!((info.created_ms, info.updated_ms), (T0 + 100, T0 + 100));
}

/// Flushing keeps ordered entries and metadata readable.
pub fn ordered_and_meta_survive_flush(p: &dyn StoragePlugin) {
    set(p, &oentry("a"), 3);
    set(p, &oentry("b"), -3);
    p.write_meta("m", Some("v")).expect("meta");
    p.flush().expect("flush");
    assert_eq!(read(p, &oentry("a")), Some(3));
    assert_eq!(
        range(p, &query(SortOrder::Descending)),
        vec![rec(3, "a"), rec(-3, "b")]
    );
    assert_eq!(p.read_meta("m").expect("meta").as_deref(), Some("v"));
}

/// For durable plugins: ordered entries (with their index and removals)
/// and metadata records are there after a reopen. `open` opens the same
/// database each time it is called.
pub fn reopen_keeps_ordered_entries_and_meta(open: &dyn Fn() -> Box<dyn StoragePlugin>) {
    {
        let p = open();
        set(&*p, &oentry("a"), 3);
        set(&*p, &oentry("b"), -3);
        set(&*p, &oentry("c"), i64::MAX);
        write(&*p, &oentry("c"), OrderedExpect::Any, None);
        set(&*p, &oentry("d"), 3);
        p.write_meta("snap/1", Some("one")).expect("meta");
        p.write_meta("snap/2", Some("two")).expect("meta");
        p.write_meta("snap/2", None).expect("meta");
    }
    let p = open();
    assert_eq!(read(&*p, &oentry("a")), Some(3));
    assert_eq!(read(&*p, &oentry("c")), None);
    assert_eq!(
        range(&*p, &query(SortOrder::Descending)),
        vec![rec(3, "d"), rec(3, "a"), rec(-3, "b")]
    );
    let meta = p.list_meta("snap/").expect("list_meta");
    assert_eq!(meta.len(), 1);
    assert_eq!(
        (meta[0].name.as_str(), meta[0].value.as_str()),
        ("snap/1", "one")
    );
    // CAS still sees the stored values.
    assert_eq!(
        write(&*p, &oentry("a"), OrderedExpect::Current(Some(3)), Some(4)),
        OrderedOutcome::Written { previous: Some(3) }
    );
}
