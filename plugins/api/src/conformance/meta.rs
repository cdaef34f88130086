//! The conformance functions of metadata records, `purge_store`, and of
//! the ordered capability across a flush or a reopen.
//!
//! Owns: one public function per behaviour (re-exported by the parent).
//! Invariant: `purge_store` is checked against everything it must leave
//! alone (other stores and universes, ordered entries, metadata).

use super::ordered::{oentry, query, range, read, rec, set, write, T0};
use crate::{
    Commit, CommitOutcome, EntryId, Expect, KeyQuery, NewVersion, OrderedExpect, OrderedOutcome,
    SortOrder, StoragePlugin, StoreId, StoreQuery, Supersede, VersionQuery,
};

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

fn commit_plain(p: &dyn StoragePlugin, e: &EntryId, now_ms: i64, v: &str) -> CommitOutcome {
    p.commit(&Commit {
        entry: e.clone(),
        expect: Expect::Any,
        now_ms,
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
}

fn gone() -> StoreId {
    StoreId {
        universe: 1,
        name: "Gone".to_owned(),
    }
}

fn data_stores(p: &dyn StoragePlugin, universe: u64) -> Vec<crate::DataStoreInfo> {
    let q = StoreQuery {
        universe,
        prefix: String::new(),
        after: None,
        limit: 100,
    };
    p.list_data_stores(&q).expect("list").items
}

/// Store `Gone` of universe 1 (three entries: several versions, a
/// tombstone latest) and what must outlive its purge: look-alike stores,
/// the same name in universe 2, an ordered entry and a meta record.
fn purge_fixture(p: &dyn StoragePlugin) -> ([EntryId; 3], [EntryId; 3]) {
    let doomed = [
        EntryId::new(1, "Gone", "global", "a"),
        EntryId::new(1, "Gone", "global", "b"),
        EntryId::new(1, "Gone", "other", "a"),
    ];
    for (i, e) in doomed.iter().enumerate() {
        commit_plain(p, e, T0 + i as i64, "1");
        commit_plain(p, e, T0 + 10, "2");
    }
    commit_plain(p, &doomed[1], T0 + 11, ""); // a tombstone latest
    let kept = [
        EntryId::new(1, "Gone2", "global", "a"),
        EntryId::new(1, "Gon", "eglobal", "a"),
        EntryId::new(2, "Gone", "global", "a"),
    ];
    for e in &kept {
        commit_plain(p, e, T0, "k");
    }
    set(p, &EntryId::new(1, "Gone", "global", "a"), 42);
    p.write_meta("datastore-state/1/Gone", Some("deleted"))
        .expect("meta");
    (doomed, kept)
}

/// `purge_store` removes every entry and version of that standard store
/// only: other stores, other universes, ordered entries and meta stay; the
/// store leaves key and store listings.
pub fn purge_store_removes_only_that_store(p: &dyn StoragePlugin) {
    let (doomed, kept) = purge_fixture(p);
    assert_eq!(p.purge_store(&gone()).expect("purge_store"), 3);
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
        let versions = p.list_versions(e, &all_versions).expect("list");
        assert!(versions.items.is_empty(), "{e:?}");
    }
    for e in &kept {
        let latest = p.read_latest(e).expect("read").expect("kept");
        assert_eq!(latest.value, "k", "{e:?}");
    }
    let ordered = read(p, &EntryId::new(1, "Gone", "global", "a"));
    assert_eq!(ordered, Some(42), "ordered entries untouched");
    let meta = p.read_meta("datastore-state/1/Gone").expect("meta");
    assert_eq!(meta.as_deref(), Some("deleted"));
    let keys = KeyQuery {
        store: gone(),
        scope: None,
        prefix: String::new(),
        after: None,
        limit: 100,
        include_deleted: true,
    };
    assert!(p.list_keys(&keys).expect("list").items.is_empty());
    let names: Vec<String> = data_stores(p, 1).into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["Gon", "Gone2"]);
    assert_eq!(data_stores(p, 2).len(), 1);
}

/// After `purge_store` nothing of the store is left to remove, and a write
/// into it starts a new store (new times) and a new entry (sequence 1).
pub fn purge_store_lets_the_store_start_afresh(p: &dyn StoragePlugin) {
    let (doomed, _) = purge_fixture(p);
    assert_eq!(p.purge_store(&gone()).expect("purge_store"), 3);
    assert_eq!(p.purge_store(&gone()).expect("purge again"), 0);
    match commit_plain(p, &doomed[0], T0 + 100, "new") {
        CommitOutcome::Committed(info) => {
            assert_eq!((info.seq, info.key_created_ms), (1, T0 + 100));
        }
        other => panic!("{other:?}"),
    }
    let info = data_stores(p, 1)
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
