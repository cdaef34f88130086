//! The conformance functions of sorted ordered reads: `(value, key)`
//! order over ties, inclusive bounds, extreme values and paging.
//!
//! Owns: one public function per behaviour (re-exported by the parent).
//! Invariant: every expected answer comes from the model
//! [`expected`](super::ordered::expected), never from the plugin.

use super::ordered::{all_pages, expected, oentry, query, range, read, rec, set};
use crate::{OrderedQuery, OrderedRecord, SortOrder, StoragePlugin};

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
