//! The conformance functions of whole-store images and `purge_universe`.
//!
//! Owns: one public function per behaviour (re-exported by the parent).
//! Invariants: every function builds a store with each kind of content
//! (several versions, a tombstone, a removed latest version, a superseded
//! version, ordered entries, metadata records) in more than one universe,
//! and checks through the ordinary reads as well as through a second
//! export.

use crate::{
    Commit, CommitOutcome, EntryId, Expect, KeyQuery, NewVersion, OrderedExpect, OrderedWrite,
    SortOrder, StoragePlugin, StoreId, StoreImage, StoreQuery, Supersede, VersionQuery,
};

const T0: i64 = 1_700_000_000_000;

fn put(p: &dyn StoragePlugin, e: &EntryId, now_ms: i64, v: &str, deleted: bool) -> u64 {
    let version = if deleted {
        NewVersion::tombstone()
    } else {
        NewVersion {
            deleted: false,
            value: v.to_owned(),
            user_ids: vec![7, 8],
            metadata: r#"{"m":1}"#.to_owned(),
        }
    };
    let c = Commit {
        entry: e.clone(),
        expect: Expect::Any,
        now_ms,
        supersede: Supersede::Keep,
        version,
    };
    match p.commit(&c).expect("commit") {
        CommitOutcome::Committed(info) => info.seq,
        other => panic!("an unconditional commit must land: {other:?}"),
    }
}

fn oset(p: &dyn StoragePlugin, e: &EntryId, value: Option<i64>) {
    p.ordered_write(&OrderedWrite {
        entry: e.clone(),
        expect: OrderedExpect::Any,
        value,
    })
    .expect("ordered write");
}

/// Fills `universe` with one of everything; returns its entries.
fn fill(p: &dyn StoragePlugin, universe: u64) -> Vec<EntryId> {
    let a = EntryId::new(universe, "Players", "global", "a");
    let b = EntryId::new(universe, "Players", "other", "b");
    let gone = EntryId::new(universe, "Bank", "global", "gone");
    let removed = EntryId::new(universe, "Bank", "global", "removed");
    put(p, &a, T0, "1", false);
    put(p, &a, T0 + 10, "2", false);
    put(p, &a, T0 + 20, "\"three\"", false);
    put(p, &b, T0 + 5, "{\"x\":[1,2]}", false);
    put(p, &gone, T0 + 1, "10", false);
    put(p, &gone, T0 + 2, "", true);
    put(p, &removed, T0 + 3, "5", false);
    let seq = put(p, &removed, T0 + 4, "6", false);
    assert!(p.remove_version(&removed, seq).expect("remove"));
    oset(p, &EntryId::new(universe, "Top", "global", "k1"), Some(-3));
    oset(p, &EntryId::new(universe, "Top", "global", "k2"), Some(99));
    oset(p, &EntryId::new(universe, "Top", "s2", "k1"), Some(0));
    p.write_meta(
        &format!("datastore-state/{universe}/Bank"),
        Some("{\"d\":1}"),
    )
    .expect("meta");
    p.write_meta(&format!("snapshot/{universe}"), Some("{\"latestMs\":5}"))
        .expect("meta");
    vec![a, b, gone, removed]
}

fn image(p: &dyn StoragePlugin) -> StoreImage {
    p.export_image().expect("export_image")
}

/// Changes everything `fill` made, and adds more.
fn scribble(p: &dyn StoragePlugin, universe: u64, entries: &[EntryId]) {
    for (i, e) in entries.iter().enumerate() {
        put(p, e, T0 + 1000 + i as i64, "\"changed\"", i % 2 == 0);
    }
    put(
        p,
        &EntryId::new(universe, "New", "global", "n"),
        T0 + 2000,
        "1",
        false,
    );
    oset(p, &EntryId::new(universe, "Top", "global", "k1"), None);
    oset(p, &EntryId::new(universe, "Top", "global", "k3"), Some(4));
    p.write_meta(&format!("snapshot/{universe}"), None)
        .expect("meta");
    p.write_meta("other/meta", Some("x")).expect("meta");
}

/// An export holds every version with its times, the sequence counters,
/// tombstones, removed latest versions, store times, ordered entries and
/// metadata; an import of it into an empty plugin reads back the same.
pub fn image_export_holds_everything(p: &dyn StoragePlugin) {
    let entries = fill(p, 1);
    let img = image(p);
    assert_eq!(img.entries.len(), 4, "every entry: {img:?}");
    assert_eq!(img.version_count(), 7, "every version");
    assert_eq!(img.ordered.len(), 3, "every ordered entry");
    assert_eq!(img.meta.len(), 2, "every meta record");
    assert!(img.stores.len() >= 2, "every data store");
    let a = &img
        .entries
        .iter()
        .find(|e| e.entry == entries[0])
        .expect("a");
    assert_eq!(a.max_seq, 3);
    assert_eq!(a.latest, Some(3));
    assert_eq!(a.versions[0].value, "1");
    assert_eq!(a.versions[0].user_ids, vec![7, 8]);
    assert_eq!(a.versions[0].metadata, r#"{"m":1}"#);
    assert_eq!(a.versions[2].info.created_ms, T0 + 20);
    let removed = img
        .entries
        .iter()
        .find(|e| e.entry == entries[3])
        .expect("removed");
    assert_eq!(
        (removed.max_seq, removed.latest),
        (2, None),
        "a removed latest stays removed"
    );
    let again = image(p);
    assert_eq!(img, again, "two exports of the same store are equal");
}

/// Restoring an image over changed data brings back exactly the image:
/// every read, listing and the next sequence number agree with it.
pub fn image_import_replaces_what_was_there(p: &dyn StoragePlugin) {
    let entries = fill(p, 1);
    fill(p, 2);
    let img = image(p);
    scribble(p, 1, &entries);
    assert_ne!(image(p), img, "the scribble changed something");
    p.import_image(&img).expect("import_image");
    assert_eq!(
        image(p),
        img,
        "after an import the plugin holds exactly the image"
    );
    // Through the ordinary reads too.
    let a = p.read_latest(&entries[0]).expect("read").expect("a exists");
    assert_eq!((a.info.seq, a.value.as_str()), (3, "\"three\""));
    let gone = p
        .read_latest(&entries[2])
        .expect("read")
        .expect("tombstone");
    assert!(gone.info.deleted, "the tombstone is back");
    assert_eq!(p.read_latest(&entries[3]).expect("read"), None);
    assert_eq!(
        p.read_latest(&EntryId::new(1, "New", "global", "n"))
            .expect("read"),
        None
    );
    assert_eq!(
        p.ordered_read(&EntryId::new(1, "Top", "global", "k1"))
            .expect("o"),
        Some(-3)
    );
    assert_eq!(
        p.ordered_read(&EntryId::new(1, "Top", "global", "k3"))
            .expect("o"),
        None
    );
    assert_eq!(p.read_meta("other/meta").expect("meta"), None);
    assert!(p.read_meta("snapshot/1").expect("meta").is_some());
    let versions = p
        .list_versions(
            &entries[0],
            &VersionQuery {
                order: SortOrder::Ascending,
                min_ms: None,
                max_ms: None,
                after: None,
                limit: 10,
            },
        )
        .expect("versions");
    let seqs: Vec<u64> = versions.items.iter().map(|v| v.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    // Sequence counters came back: the removed latest (2) is never reused.
    assert_eq!(put(p, &entries[3], T0 + 5000, "7", false), 3);
    let keys = p
        .list_keys(&KeyQuery {
            store: StoreId {
                universe: 1,
                name: "Players".into(),
            },
            scope: None,
            prefix: String::new(),
            after: None,
            limit: 10,
            include_deleted: true,
        })
        .expect("keys");
    assert_eq!(keys.items.len(), 2);
    let stores = p
        .list_data_stores(&StoreQuery {
            universe: 1,
            prefix: String::new(),
            after: None,
            limit: 10,
        })
        .expect("stores");
    let names: Vec<&str> = stores.items.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["Bank", "Players"],
        "`New` is gone with the import"
    );
    let players = &stores.items[1];
    assert_eq!((players.created_ms, players.updated_ms), (T0, T0 + 20));
}

/// An image moves between plugins' instances and into an empty one; an
/// empty image empties the plugin.
pub fn image_import_of_empty_image_empties(p: &dyn StoragePlugin) {
    let img = {
        fill(p, 3);
        image(p)
    };
    p.import_image(&StoreImage::default())
        .expect("import empty");
    assert_eq!(image(p), StoreImage::default(), "nothing is left");
    assert_eq!(
        p.read_latest(&EntryId::new(3, "Players", "global", "a"))
            .expect("read"),
        None
    );
    p.import_image(&img).expect("import back");
    assert_eq!(image(p), img);
    p.import_image(&img)
        .expect("importing the same image twice");
    assert_eq!(
        image(p),
        img,
        "importing over identical data changes nothing"
    );
}

/// `purge_universe` removes the universe's entries, stores, ordered
/// entries and meta records, and leaves other universes (10 shares the
/// digits of 1) and universe-less meta records alone.
pub fn purge_universe_leaves_other_universes(p: &dyn StoragePlugin) {
    fill(p, 1);
    fill(p, 10);
    p.write_meta("other/meta", Some("x")).expect("meta");
    let before = image(p);
    let removed = p.purge_universe(1).expect("purge_universe");
    assert_eq!(removed, 4 + 3, "four standard and three ordered entries");
    let after = image(p);
    let of = |img: &StoreImage, u: u64| {
        let mut img = img.clone();
        img.stores.retain(|s| s.store.universe == u);
        img.entries.retain(|e| e.entry.store.universe == u);
        img.ordered.retain(|o| o.entry.store.universe == u);
        img.meta
            .retain(|m| crate::image::meta_universe(&m.name) == Some(u));
        img
    };
    assert_eq!(of(&after, 1), StoreImage::default(), "universe 1 is empty");
    assert_eq!(of(&after, 10), of(&before, 10), "universe 10 is untouched");
    assert_eq!(
        p.read_meta("other/meta").expect("meta").as_deref(),
        Some("x")
    );
    assert_eq!(
        p.purge_universe(1).expect("again"),
        0,
        "a second purge finds nothing"
    );
    // The universe starts afresh.
    assert_eq!(
        put(
            p,
            &EntryId::new(1, "Players", "global", "a"),
            T0 + 9,
            "1",
            false
        ),
        1
    );
}

/// An import the backing store refuses (two images of one entry) changes
/// nothing; a plugin that accepts it must hold one of them afterwards.
pub fn image_import_that_fails_changes_nothing(p: &dyn StoragePlugin) {
    fill(p, 4);
    let before = image(p);
    let mut bad = before.clone();
    let mut twin = bad.entries[0].clone();
    twin.max_seq += 5;
    bad.entries.push(twin);
    bad.meta.clear();
    match p.import_image(&bad) {
        Err(_) => assert_eq!(image(p), before, "a failed import changed something"),
        Ok(()) => assert!(image(p).meta.is_empty(), "an accepted import lands whole"),
    }
}
