//! The conformance suite every storage plugin passes (feature `conformance`).
//!
//! Owns: one public function per behaviour of the [`StoragePlugin`]
//! contract, each panicking with a message naming the broken guarantee, and
//! [`conformance_suite!`](crate::conformance_suite), which stamps out one
//! `#[test]` per function for a plugin factory. Invariants: the same list
//! runs against every plugin; no function reads a clock (times are passed
//! as `now_ms`); each function starts from an empty plugin.

use std::collections::BTreeSet;

use crate::{
    Commit, CommitOutcome, EntryId, Expect, KeyName, KeyQuery, NewVersion, Page, Seq, SortOrder,
    StoragePlugin, StoreId, StoreQuery, Supersede, VersionInfo, VersionQuery,
};

/// A plugin under test plus what keeps it alive (a temporary folder);
/// `plugin` drops first.
pub struct Subject {
    /// The plugin.
    pub plugin: Box<dyn StoragePlugin>,
    /// Dropped after the plugin.
    pub guard: Box<dyn std::any::Any>,
}

impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subject")
            .field("plugin", &self.plugin)
            .finish()
    }
}

mod image;
mod meta;
mod ordered;
mod ordered_range;
mod shared;
pub use image::*;
pub use meta::*;
pub use ordered::*;
pub use ordered_range::*;
pub use shared::*;

const T0: i64 = 1_700_000_000_000;

fn entry(key: &str) -> EntryId {
    EntryId::new(1, "Players", "global", key)
}

fn value(v: &str) -> NewVersion {
    NewVersion {
        deleted: false,
        value: v.to_owned(),
        user_ids: Vec::new(),
        metadata: "{}".to_owned(),
    }
}

fn commit_at(
    p: &dyn StoragePlugin,
    e: &EntryId,
    expect: Expect,
    now_ms: i64,
    v: NewVersion,
) -> CommitOutcome {
    commit_with(p, e, expect, now_ms, v, Supersede::Keep)
}

fn commit_with(
    p: &dyn StoragePlugin,
    e: &EntryId,
    expect: Expect,
    now_ms: i64,
    v: NewVersion,
    supersede: Supersede,
) -> CommitOutcome {
    p.commit(&Commit {
        entry: e.clone(),
        expect,
        now_ms,
        supersede,
        version: v,
    })
    .expect("commit")
}

fn put(p: &dyn StoragePlugin, e: &EntryId, now_ms: i64, v: &str) -> VersionInfo {
    match commit_at(p, e, Expect::Any, now_ms, value(v)) {
        CommitOutcome::Committed(info) => info,
        other => panic!("unconditional commit must succeed, got {other:?}"),
    }
}

fn tombstone(p: &dyn StoragePlugin, e: &EntryId, now_ms: i64) -> VersionInfo {
    match commit_at(p, e, Expect::Any, now_ms, NewVersion::tombstone()) {
        CommitOutcome::Committed(info) => info,
        other => panic!("tombstone commit must succeed, got {other:?}"),
    }
}

fn versions(p: &dyn StoragePlugin, e: &EntryId, order: SortOrder) -> Vec<VersionInfo> {
    let q = VersionQuery {
        order,
        min_ms: None,
        max_ms: None,
        after: None,
        limit: 10_000,
    };
    p.list_versions(e, &q).expect("list_versions").items
}

fn seqs(items: &[VersionInfo]) -> Vec<Seq> {
    items.iter().map(|v| v.seq).collect()
}

fn keys(page: &Page<KeyName>) -> Vec<String> {
    page.items
        .iter()
        .map(|k| format!("{}/{}", k.scope, k.key))
        .collect()
}

fn key_query(scope: Option<&str>, prefix: &str) -> KeyQuery {
    KeyQuery {
        store: StoreId {
            universe: 1,
            name: "Players".to_owned(),
        },
        scope: scope.map(str::to_owned),
        prefix: prefix.to_owned(),
        after: None,
        limit: 1000,
        include_deleted: true,
    }
}

/// A never-written entry reads as absent everywhere.
pub fn missing_entry_reads_as_none(p: &dyn StoragePlugin) {
    let e = entry("nobody");
    assert!(p.read_latest(&e).expect("read").is_none());
    assert!(p.read_version(&e, 1).expect("read").is_none());
    assert!(versions(p, &e, SortOrder::Ascending).is_empty());
    assert!(!p.remove_version(&e, 1).expect("remove_version"));
}

/// A commit is read back with its value, user ids, metadata and times.
pub fn commit_then_read_latest(p: &dyn StoragePlugin) {
    let e = entry("a");
    let v = NewVersion {
        deleted: false,
        value: r#"{"Coins":10}"#.to_owned(),
        user_ids: vec![1, 2_312_310],
        metadata: r#"{"k":"v"}"#.to_owned(),
    };
    let info = match commit_at(p, &e, Expect::Any, T0, v.clone()) {
        CommitOutcome::Committed(i) => i,
        other => panic!("{other:?}"),
    };
    assert_eq!(info.seq, 1);
    assert_eq!(info.created_ms, T0);
    assert_eq!(info.key_created_ms, T0);
    assert!(!info.deleted);
    assert_eq!(info.content_length, v.value.len() as u64);
    let got = p.read_latest(&e).expect("read").expect("present");
    assert_eq!(got.info, info);
    assert_eq!(got.value, v.value);
    assert_eq!(got.user_ids, v.user_ids);
    assert_eq!(got.metadata, v.metadata);
}

/// Sequence numbers start at 1 and grow by one per commit.
pub fn sequence_starts_at_one_and_increments(p: &dyn StoragePlugin) {
    let e = entry("a");
    let got: Vec<Seq> = (0..5).map(|i| put(p, &e, T0 + i, "1").seq).collect();
    assert_eq!(got, vec![1, 2, 3, 4, 5]);
    // Another entry has its own sequence.
    assert_eq!(put(p, &entry("b"), T0, "1").seq, 1);
}

/// A writer with a clock behind the latest version does not move time back.
pub fn created_time_never_goes_backwards(p: &dyn StoragePlugin) {
    let e = entry("a");
    put(p, &e, T0 + 5_000, "1");
    let second = put(p, &e, T0, "2");
    assert_eq!(second.created_ms, T0 + 5_000);
}

/// The key's creation time carries over live versions and restarts after a tombstone.
pub fn key_created_time_carries_over_and_resets_after_tombstone(p: &dyn StoragePlugin) {
    let e = entry("a");
    put(p, &e, T0, "1");
    assert_eq!(put(p, &e, T0 + 10, "2").key_created_ms, T0);
    let t = tombstone(p, &e, T0 + 20);
    assert_eq!(t.key_created_ms, T0);
    assert_eq!(put(p, &e, T0 + 30, "3").key_created_ms, T0 + 30);
}

/// `Expect::Current(None)` writes only when there is no current version.
pub fn expect_absent_succeeds_only_when_absent(p: &dyn StoragePlugin) {
    let e = entry("a");
    assert!(matches!(
        commit_at(p, &e, Expect::Current(None), T0, value("1")),
        CommitOutcome::Committed(_)
    ));
    match commit_at(p, &e, Expect::Current(None), T0 + 1, value("2")) {
        CommitOutcome::Conflict { current: Some(c) } => {
            assert_eq!(c.info.seq, 1);
            assert_eq!(c.value, "1");
        }
        other => panic!("expected a conflict carrying the current version, got {other:?}"),
    }
    assert_eq!(
        versions(p, &e, SortOrder::Ascending).len(),
        1,
        "a conflict wrote something"
    );
}

/// `Expect::Current(Some(seq))` writes on a match and conflicts otherwise, writing nothing.
pub fn expect_version_matches_or_conflicts(p: &dyn StoragePlugin) {
    let e = entry("a");
    put(p, &e, T0, "1");
    put(p, &e, T0 + 1, "2");
    match commit_at(p, &e, Expect::Current(Some(1)), T0 + 2, value("stale")) {
        CommitOutcome::Conflict { current: Some(c) } => {
            assert_eq!((c.info.seq, c.value.as_str()), (2, "2"));
        }
        other => panic!("stale expectation must conflict, got {other:?}"),
    }
    match commit_at(p, &e, Expect::Current(Some(2)), T0 + 3, value("3")) {
        CommitOutcome::Committed(i) => assert_eq!(i.seq, 3),
        other => panic!("matching expectation must commit, got {other:?}"),
    }
    assert_eq!(
        p.read_latest(&e).expect("read").expect("present").value,
        "3"
    );
    // Expecting a version on a missing entry conflicts with no current version.
    assert!(matches!(
        commit_at(p, &entry("none"), Expect::Current(Some(1)), T0, value("x")),
        CommitOutcome::Conflict { current: None }
    ));
    assert!(p.read_latest(&entry("none")).expect("read").is_none());
}

/// `Expect::Current` also matches a tombstone as the current version.
pub fn expect_matches_a_tombstone(p: &dyn StoragePlugin) {
    let e = entry("a");
    put(p, &e, T0, "1");
    let t = tombstone(p, &e, T0 + 1);
    assert!(matches!(
        commit_at(p, &e, Expect::Current(None), T0 + 2, value("x")),
        CommitOutcome::Conflict { current: Some(_) }
    ));
    assert!(matches!(
        commit_at(p, &e, Expect::Current(Some(t.seq)), T0 + 2, value("2")),
        CommitOutcome::Committed(_)
    ));
}

/// A tombstone is the latest version, listed as deleted with no content.
pub fn tombstone_is_latest_and_listed(p: &dyn StoragePlugin) {
    let e = entry("a");
    put(p, &e, T0, "1");
    let t = tombstone(p, &e, T0 + 1);
    assert!(t.deleted);
    assert_eq!(t.content_length, 0);
    let latest = p.read_latest(&e).expect("read").expect("the tombstone");
    assert!(latest.info.deleted);
    assert!(latest.value.is_empty());
    let listed = versions(p, &e, SortOrder::Ascending);
    assert_eq!(
        listed.iter().map(|v| v.deleted).collect::<Vec<_>>(),
        vec![false, true]
    );
    // The old value stays readable.
    assert_eq!(p.read_version(&e, 1).expect("read").expect("v1").value, "1");
}

/// Every version is readable by sequence; other sequences are absent.
pub fn read_each_version(p: &dyn StoragePlugin) {
    let e = entry("a");
    for i in 1..=3 {
        put(p, &e, T0 + i, &i.to_string());
    }
    for i in 1..=3u64 {
        let r = p.read_version(&e, i).expect("read").expect("present");
        assert_eq!(r.value, i.to_string());
        assert_eq!(r.info.seq, i);
    }
    assert!(p.read_version(&e, 4).expect("read").is_none());
    assert!(p.read_version(&e, 0).expect("read").is_none());
}

/// Versions list in both orders, bounded by creation time (inclusive).
pub fn list_versions_order_and_time_bounds(p: &dyn StoragePlugin) {
    let e = entry("a");
    for i in 0..5 {
        put(p, &e, T0 + i * 1000, "v");
    }
    assert_eq!(
        seqs(&versions(p, &e, SortOrder::Ascending)),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(
        seqs(&versions(p, &e, SortOrder::Descending)),
        vec![5, 4, 3, 2, 1]
    );
    for order in [SortOrder::Ascending, SortOrder::Descending] {
        let q = VersionQuery {
            order,
            min_ms: Some(T0 + 1000),
            max_ms: Some(T0 + 3000),
            after: None,
            limit: 100,
        };
        let mut got = seqs(&p.list_versions(&e, &q).expect("list").items);
        got.sort_unstable();
        assert_eq!(got, vec![2, 3, 4], "bounds are inclusive ({order:?})");
    }
}

/// Paging with `after` and `limit` visits every version exactly once.
pub fn list_versions_pages_cover_everything_once(p: &dyn StoragePlugin) {
    let e = entry("a");
    for i in 0..7 {
        put(p, &e, T0 + i, "v");
    }
    for order in [SortOrder::Ascending, SortOrder::Descending] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let q = VersionQuery {
                order,
                min_ms: None,
                max_ms: None,
                after,
                limit: 3,
            };
            let page = p.list_versions(&e, &q).expect("list");
            assert!(page.items.len() <= 3);
            seen.extend(seqs(&page.items));
            if !page.more {
                break;
            }
            after = page.items.last().map(|v| v.seq);
        }
        let mut expected: Vec<Seq> = (1..=7).collect();
        if order == SortOrder::Descending {
            expected.reverse();
        }
        assert_eq!(seen, expected, "{order:?}");
    }
}

/// Keys of one scope, with prefix, ordering, and no leaks from other stores.
pub fn list_keys_in_one_scope(p: &dyn StoragePlugin) {
    for k in ["b2", "a1", "b1", "c"] {
        put(p, &entry(k), T0, "1");
    }
    put(p, &EntryId::new(1, "Players", "other", "a0"), T0, "1");
    put(p, &EntryId::new(1, "Others", "global", "a"), T0, "1");
    put(p, &EntryId::new(2, "Players", "global", "a"), T0, "1");
    let all = p.list_keys(&key_query(Some("global"), "")).expect("list");
    assert_eq!(
        keys(&all),
        vec!["global/a1", "global/b1", "global/b2", "global/c"]
    );
    assert!(!all.more);
    let b = p.list_keys(&key_query(Some("global"), "b")).expect("list");
    assert_eq!(keys(&b), vec!["global/b1", "global/b2"]);
}

/// All scopes: `scope/key` order and prefix matched against `scope/key`.
pub fn list_keys_across_scopes(p: &dyn StoragePlugin) {
    put(p, &EntryId::new(1, "Players", "houses", "h1"), T0, "1");
    put(p, &EntryId::new(1, "Players", "global", "p1"), T0, "1");
    put(p, &EntryId::new(1, "Players", "global", "p2"), T0, "1");
    let all = p.list_keys(&key_query(None, "")).expect("list");
    assert_eq!(keys(&all), vec!["global/p1", "global/p2", "houses/h1"]);
    let houses = p.list_keys(&key_query(None, "houses/")).expect("list");
    assert_eq!(keys(&houses), vec!["houses/h1"]);
    let gp2 = p.list_keys(&key_query(None, "global/p2")).expect("list");
    assert_eq!(keys(&gp2), vec!["global/p2"]);
}

/// Deleted keys are listed only when asked for.
pub fn list_keys_with_and_without_deleted(p: &dyn StoragePlugin) {
    put(p, &entry("live"), T0, "1");
    put(p, &entry("gone"), T0, "1");
    tombstone(p, &entry("gone"), T0 + 1);
    let with = p.list_keys(&key_query(Some("global"), "")).expect("list");
    assert_eq!(keys(&with), vec!["global/gone", "global/live"]);
    let mut q = key_query(Some("global"), "");
    q.include_deleted = false;
    assert_eq!(keys(&p.list_keys(&q).expect("list")), vec!["global/live"]);
}

/// Key pages with `after` and `limit` visit every key exactly once, in order.
pub fn list_keys_pages(p: &dyn StoragePlugin) {
    let names: BTreeSet<String> = (0..11).map(|i| format!("k{i:02}")).collect();
    for n in &names {
        put(p, &entry(n), T0, "1");
    }
    let mut seen = Vec::new();
    let mut q = key_query(Some("global"), "");
    q.limit = 4;
    loop {
        let page = p.list_keys(&q).expect("list");
        assert!(page.items.len() <= 4);
        seen.extend(page.items.iter().map(|k| k.key.clone()));
        if !page.more {
            break;
        }
        q.after = page.items.last().cloned();
    }
    assert_eq!(seen, names.into_iter().collect::<Vec<_>>());
}

/// Data stores list by name with prefix, paging, times and universe isolation.
pub fn list_data_stores(p: &dyn StoragePlugin) {
    for (i, name) in ["Bans", "Players", "Pets", "Quests"].iter().enumerate() {
        put(
            p,
            &EntryId::new(1, *name, "global", "k"),
            T0 + i as i64,
            "1",
        );
    }
    put(
        p,
        &EntryId::new(1, "Players", "global", "k2"),
        T0 + 100,
        "1",
    );
    put(p, &EntryId::new(2, "Elsewhere", "global", "k"), T0, "1");
    let q = |prefix: &str, after: Option<&str>, limit| StoreQuery {
        universe: 1,
        prefix: prefix.to_owned(),
        after: after.map(str::to_owned),
        limit,
    };
    let all = p.list_data_stores(&q("", None, 100)).expect("list");
    let names: Vec<&str> = all.items.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["Bans", "Pets", "Players", "Quests"]);
    let players = &all.items[2];
    assert_eq!((players.created_ms, players.updated_ms), (T0 + 1, T0 + 100));
    let p_only = p.list_data_stores(&q("P", None, 100)).expect("list");
    assert_eq!(p_only.items.len(), 2);
    let first = p.list_data_stores(&q("", None, 2)).expect("list");
    assert!(first.more);
    let rest = p.list_data_stores(&q("", Some("Pets"), 2)).expect("list");
    assert_eq!(
        rest.items
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Players", "Quests"]
    );
    assert!(!rest.more);
}

/// A data store without any current entry is not listed.
pub fn data_store_without_entries_is_hidden(p: &dyn StoragePlugin) {
    let e = EntryId::new(1, "Empty", "global", "k");
    let v = put(p, &e, T0, "1");
    assert!(p.remove_version(&e, v.seq).expect("remove"));
    let q = StoreQuery {
        universe: 1,
        prefix: String::new(),
        after: None,
        limit: 10,
    };
    assert!(p.list_data_stores(&q).expect("list").items.is_empty());
}

/// Removing an old version keeps the rest; removing the latest leaves no current version.
pub fn remove_version_old_and_latest(p: &dyn StoragePlugin) {
    let e = entry("a");
    for i in 1..=3 {
        put(p, &e, T0 + i, &i.to_string());
    }
    assert!(p.remove_version(&e, 1).expect("remove"));
    assert!(!p.remove_version(&e, 1).expect("remove again"));
    assert_eq!(seqs(&versions(p, &e, SortOrder::Ascending)), vec![2, 3]);
    assert!(p.remove_version(&e, 3).expect("remove latest"));
    assert!(
        p.read_latest(&e).expect("read").is_none(),
        "no current version after removing the latest"
    );
    assert_eq!(
        p.read_version(&e, 2)
            .expect("read")
            .expect("older stays")
            .value,
        "2"
    );
    assert!(p
        .list_keys(&key_query(Some("global"), ""))
        .expect("list")
        .items
        .is_empty());
    // Sequence numbers keep advancing; the entry is writable as missing.
    match commit_at(p, &e, Expect::Current(None), T0 + 10, value("4")) {
        CommitOutcome::Committed(i) => assert_eq!(i.seq, 4),
        other => panic!("{other:?}"),
    }
}

/// Purge removes superseded versions older than the cutoff, never the live latest.
pub fn purge_removes_superseded_versions(p: &dyn StoragePlugin) {
    let e = entry("a");
    put(p, &e, T0, "1");
    put(p, &e, T0 + 100, "2");
    put(p, &e, T0 + 200, "3");
    // Version 1 was superseded at T0+100, version 2 at T0+200.
    let stats = p.purge_expired(T0 + 150).expect("purge");
    assert_eq!(stats.versions, 1);
    assert_eq!(stats.entries, 0);
    assert_eq!(seqs(&versions(p, &e, SortOrder::Ascending)), vec![2, 3]);
    let stats = p.purge_expired(i64::MAX).expect("purge");
    assert_eq!(stats.versions, 1);
    assert_eq!(
        seqs(&versions(p, &e, SortOrder::Ascending)),
        vec![3],
        "the latest never expires"
    );
    assert_eq!(p.read_latest(&e).expect("read").expect("latest").value, "3");
}

/// An expired latest tombstone takes its entry with it.
pub fn purge_removes_expired_tombstoned_entries(p: &dyn StoragePlugin) {
    let e = entry("gone");
    put(p, &e, T0, "1");
    tombstone(p, &e, T0 + 100);
    put(p, &entry("live"), T0, "1");
    // Nothing expires at the exact cutoff: "before" is strict.
    assert_eq!(
        p.purge_expired(T0 + 100).expect("purge"),
        crate::PurgeStats::default()
    );
    let stats = p.purge_expired(T0 + 101).expect("purge");
    assert_eq!(
        stats,
        crate::PurgeStats {
            versions: 2,
            entries: 1
        }
    );
    assert!(p.read_latest(&e).expect("read").is_none());
    assert!(versions(p, &e, SortOrder::Ascending).is_empty());
    assert_eq!(
        keys(&p.list_keys(&key_query(Some("global"), "")).expect("list")),
        vec!["global/live"]
    );
}

/// Within one window a write replaces the latest; across windows it keeps it.
pub fn replace_same_window_collapses_versions(p: &dyn StoragePlugin) {
    let e = entry("a");
    let hour = 3_600_000;
    let start = T0 - T0.rem_euclid(hour);
    let rule = Supersede::ReplaceSameWindow {
        window_ms: hour,
        not_before_ms: i64::MIN,
    };
    for (i, t) in [start, start + 10, start + 20, start + hour]
        .into_iter()
        .enumerate()
    {
        let out = commit_with(p, &e, Expect::Any, t, value(&i.to_string()), rule);
        assert!(
            matches!(out, CommitOutcome::Committed(ref v) if v.seq == i as u64 + 1),
            "{out:?}"
        );
    }
    let listed = versions(p, &e, SortOrder::Ascending);
    assert_eq!(
        seqs(&listed),
        vec![3, 4],
        "one version per window, sequence still advances"
    );
    assert_eq!(p.read_version(&e, 3).expect("read").expect("v3").value, "2");
}

/// Versions created before `not_before_ms` (a snapshot) are always kept.
pub fn replace_same_window_keeps_snapshotted_versions(p: &dyn StoragePlugin) {
    let e = entry("a");
    let hour = 3_600_000;
    let start = T0 - T0.rem_euclid(hour);
    put(p, &e, start, "1");
    let rule = Supersede::ReplaceSameWindow {
        window_ms: hour,
        not_before_ms: start + 5,
    };
    commit_with(p, &e, Expect::Any, start + 10, value("2"), rule);
    commit_with(p, &e, Expect::Any, start + 20, value("3"), rule);
    assert_eq!(seqs(&versions(p, &e, SortOrder::Ascending)), vec![1, 3]);
}

/// A 4 MiB value, unicode and empty metadata round-trip exactly.
pub fn values_round_trip_exactly(p: &dyn StoragePlugin) {
    let big = format!("\"{}\"", "x".repeat(4 * 1024 * 1024 - 2));
    let e = EntryId::new(1, "Données", "ščope", "ключ/🙂");
    let v = NewVersion {
        deleted: false,
        value: big.clone(),
        user_ids: Vec::new(),
        metadata: "{}".to_owned(),
    };
    commit_at(p, &e, Expect::Any, T0, v);
    let got = p.read_latest(&e).expect("read").expect("present");
    assert_eq!(got.value.len(), big.len());
    assert!(got.value == big);
    assert!(got.user_ids.is_empty());
    assert_eq!(got.metadata, "{}");
    let uni = r#"{"name":"Ünïcødé 🙂","s":"\u0000"}"#;
    put(p, &e, T0 + 1, uni);
    assert_eq!(
        p.read_latest(&e).expect("read").expect("present").value,
        uni
    );
}

/// Many threads incrementing one counter through CAS retries lose nothing.
pub fn concurrent_compare_and_swap_increments_are_exact(p: &dyn StoragePlugin) {
    const THREADS: usize = 8;
    const EACH: usize = 50;
    let e = entry("counter");
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..EACH {
                    loop {
                        let latest = p.read_latest(&e).expect("read");
                        let n: u64 = latest.as_ref().map_or(0, |r| r.value.parse().expect("int"));
                        let expect = Expect::Current(latest.map(|r| r.info.seq));
                        if let CommitOutcome::Committed(_) =
                            commit_at(p, &e, expect, T0, value(&(n + 1).to_string()))
                        {
                            break;
                        }
                    }
                }
            });
        }
    });
    let total = (THREADS * EACH) as u64;
    assert_eq!(
        p.read_latest(&e).expect("read").expect("present").value,
        total.to_string()
    );
    let listed = seqs(&versions(p, &e, SortOrder::Ascending));
    assert_eq!(
        listed,
        (1..=total).collect::<Vec<_>>(),
        "every version id is distinct"
    );
}

/// Concurrent writers on different keys (which a plugin may group into one
/// transaction) each get exactly their own acknowledged versions back.
pub fn concurrent_commits_to_different_keys_all_land(p: &dyn StoragePlugin) {
    const THREADS: usize = 8;
    const EACH: u64 = 25;
    let acknowledged: Vec<(EntryId, Vec<VersionInfo>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    let e = entry(&format!("writer-{t}"));
                    let infos = (1..=EACH)
                        .map(|i| put(p, &e, T0 + i as i64, &format!("{t}-{i}")))
                        .collect();
                    (e, infos)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for (e, infos) in acknowledged {
        assert_eq!(seqs(&infos), (1..=EACH).collect::<Vec<_>>(), "{e:?}");
        assert_eq!(versions(p, &e, SortOrder::Ascending), infos, "{e:?}");
        for (i, info) in infos.iter().enumerate() {
            let record = p.read_version(&e, info.seq).expect("read").expect("kept");
            assert_eq!(
                record.value,
                format!("{}-{}", &e.key["writer-".len()..], i + 1)
            );
        }
    }
}

/// Of many concurrent "must not exist" creates, exactly one wins.
pub fn concurrent_exclusive_creates_have_one_winner(p: &dyn StoragePlugin) {
    let e = entry("race");
    let wins: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let e = &e;
                s.spawn(move || {
                    matches!(
                        commit_at(p, e, Expect::Current(None), T0, value(&i.to_string())),
                        CommitOutcome::Committed(_)
                    )
                })
            })
            .map(|h| h.join().expect("thread"))
            .collect();
        handles.into_iter().filter(|w| *w).count()
    });
    assert_eq!(wins, 1);
    assert_eq!(versions(p, &e, SortOrder::Ascending).len(), 1);
}

/// Flushing succeeds and keeps the data readable.
pub fn flush_keeps_data(p: &dyn StoragePlugin) {
    put(p, &entry("a"), T0, "1");
    p.flush().expect("flush");
    assert_eq!(
        p.read_latest(&entry("a"))
            .expect("read")
            .expect("present")
            .value,
        "1"
    );
}

/// For durable plugins: everything committed before a reopen is there after
/// it (versions, keys, data stores, the sequence counter, removals).
/// `open` opens the same database each time it is called.
pub fn reopen_keeps_everything(open: &dyn Fn() -> Box<dyn StoragePlugin>) {
    let e = entry("a");
    {
        let p = open();
        put(&*p, &e, T0, "1");
        put(&*p, &e, T0 + 1, "2");
        put(&*p, &entry("b"), T0, "x");
        tombstone(&*p, &entry("b"), T0 + 2);
        let v = put(&*p, &entry("c"), T0, "3");
        assert!(p.remove_version(&entry("c"), v.seq).expect("remove"));
        p.flush().expect("flush");
    }
    let p = open();
    assert_eq!(p.read_latest(&e).expect("read").expect("a").value, "2");
    assert_eq!(seqs(&versions(&*p, &e, SortOrder::Ascending)), vec![1, 2]);
    assert!(
        p.read_latest(&entry("b"))
            .expect("read")
            .expect("b")
            .info
            .deleted
    );
    assert!(p.read_latest(&entry("c")).expect("read").is_none());
    assert_eq!(
        keys(&p.list_keys(&key_query(Some("global"), "")).expect("list")),
        vec!["global/a", "global/b"]
    );
    let stores = StoreQuery {
        universe: 1,
        prefix: String::new(),
        after: None,
        limit: 10,
    };
    assert_eq!(p.list_data_stores(&stores).expect("list").items.len(), 1);
    // The counter survived: the next commit continues the sequence.
    assert_eq!(put(&*p, &entry("c"), T0 + 5, "4").seq, 2);
    assert_eq!(put(&*p, &e, T0 + 5, "3").seq, 3);
}

/// Stamps out one `#[test]` per conformance function for a plugin factory
/// `fn() -> Subject`. Use at the top level of an integration test file:
/// `profilestore_plugin_api::conformance_suite!(subject);`
#[macro_export]
macro_rules! conformance_suite {
    ($factory:path) => {
        $crate::conformance_suite!(@tests $factory;
            missing_entry_reads_as_none,
            commit_then_read_latest,
            sequence_starts_at_one_and_increments,
            created_time_never_goes_backwards,
            key_created_time_carries_over_and_resets_after_tombstone,
            expect_absent_succeeds_only_when_absent,
            expect_version_matches_or_conflicts,
            expect_matches_a_tombstone,
            tombstone_is_latest_and_listed,
            read_each_version,
            list_versions_order_and_time_bounds,
            list_versions_pages_cover_everything_once,
            list_keys_in_one_scope,
            list_keys_across_scopes,
            list_keys_with_and_without_deleted,
            list_keys_pages,
            list_data_stores,
            data_store_without_entries_is_hidden,
            remove_version_old_and_latest,
            purge_removes_superseded_versions,
            purge_removes_expired_tombstoned_entries,
            replace_same_window_collapses_versions,
            replace_same_window_keeps_snapshotted_versions,
            values_round_trip_exactly,
            concurrent_compare_and_swap_increments_are_exact,
            concurrent_commits_to_different_keys_all_land,
            concurrent_exclusive_creates_have_one_winner,
            flush_keeps_data,
            ordered_missing_entry_reads_as_none,
            ordered_write_then_read,
            ordered_namespace_is_separate_from_standard_entries,
            ordered_expect_absent_succeeds_only_when_absent,
            ordered_expect_value_matches_or_conflicts,
            ordered_remove_and_remove_absent,
            ordered_range_orders_ties_by_key,
            ordered_range_bounds_are_inclusive,
            ordered_range_negative_and_extreme_values,
            ordered_pages_cover_everything_once,
            ordered_scopes_stores_universes_are_isolated,
            ordered_concurrent_increments_are_exact,
            meta_write_read_overwrite_remove,
            meta_list_by_prefix_in_name_order,
            purge_store_removes_only_that_store,
            purge_store_lets_the_store_start_afresh,
            ordered_and_meta_survive_flush,
            image_export_holds_everything,
            image_import_replaces_what_was_there,
            image_import_of_empty_image_empties,
            image_import_that_fails_changes_nothing,
            purge_universe_leaves_other_universes,
            log_append_numbers_and_reads_in_order,
            log_trim_keeps_newer_and_never_reuses_numbers,
            log_and_records_are_not_in_images,
            log_concurrent_appends_are_read_once_in_order,
            log_wait_is_bounded,
            record_swap_checks_its_expectation,
            record_versions_never_repeat,
            record_list_by_prefix_in_name_order,
            record_concurrent_swaps_are_exact,
            record_swap_all_applies_in_order,
            record_swap_all_writes_and_removes_many,
        );
    };
    (@tests $factory:path; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let subject: $crate::conformance::Subject = $factory();
                $crate::conformance::$name(&*subject.plugin);
            }
        )*
    };
}
