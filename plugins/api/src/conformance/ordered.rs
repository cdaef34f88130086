//! The conformance functions of ordered entries: reads, CAS writes,
//! removal, namespaces and concurrency; and the helpers shared with
//! `ordered_range.rs` (sorted reads) and `meta.rs` (metadata records,
//! `purge_store`, flush and reopen).
//!
//! Owns: one public function per behaviour, re-exported by
//! [`conformance`](crate::conformance) so
//! [`conformance_suite!`](crate::conformance_suite) names them. Invariants
//! as the parent's: no clock, each function starts from an empty plugin,
//! expected orders are computed from a plain model (a sorted `Vec`), never
//! from the plugin.

use crate::{
    Commit, EntryId, Expect, KeyQuery, NewVersion, OrderedExpect, OrderedOutcome, OrderedQuery,
    OrderedRecord, OrderedWrite, SortOrder, StoragePlugin, StoreId, Supersede,
};

pub(super) const T0: i64 = 1_700_000_000_000;

pub(super) fn oentry(key: &str) -> EntryId {
    EntryId::new(1, "Board", "global", key)
}

pub(super) fn write(
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

pub(super) fn set(p: &dyn StoragePlugin, e: &EntryId, value: i64) {
    let got = write(p, e, OrderedExpect::Any, Some(value));
    assert!(
        matches!(got, OrderedOutcome::Written { .. }),
        "an unconditional ordered write must succeed, got {got:?}"
    );
}

pub(super) fn read(p: &dyn StoragePlugin, e: &EntryId) -> Option<i64> {
    p.ordered_read(e).expect("ordered_read")
}

pub(super) fn query(order: SortOrder) -> OrderedQuery {
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

pub(super) fn rec(value: i64, key: &str) -> OrderedRecord {
    OrderedRecord {
        value,
        key: key.to_owned(),
    }
}

pub(super) fn range(p: &dyn StoragePlugin, q: &OrderedQuery) -> Vec<OrderedRecord> {
    p.ordered_range(q).expect("ordered_range").items
}

/// Reads every page of `q` (its `limit` is the page size), checking that
/// `more` is true exactly on pages followed by another.
pub(super) fn all_pages(p: &dyn StoragePlugin, q: &OrderedQuery) -> Vec<OrderedRecord> {
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
pub(super) fn expected(records: &[OrderedRecord], q: &OrderedQuery) -> Vec<OrderedRecord> {
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
