//! sled-specific guarantees: data (ordered entries and
//! metadata records included) survives a reopen, every durability mode
//! works (reopening right after a drop included), a database of an unknown
//! format is refused, a folder of the release before the ordered capability
//! opens and gains it, and an unusable or held path is a clear error.

use profilestore_plugin_api::conformance::{
    reopen_keeps_everything, reopen_keeps_log_and_records, reopen_keeps_ordered_entries_and_meta,
};
use profilestore_plugin_api::{Durability, StorageError, StoragePlugin};
use profilestore_sled::SledPlugin;

#[test]
fn reopen_in_every_durability_mode() {
    for durability in [Durability::Full, Durability::Normal, Durability::Off] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sled");
        reopen_keeps_everything(&|| -> Box<dyn StoragePlugin> {
            Box::new(SledPlugin::open(&path, durability).expect("open"))
        });
    }
}

#[test]
fn ordered_entries_and_meta_survive_a_reopen_in_every_durability_mode() {
    for durability in [Durability::Full, Durability::Normal, Durability::Off] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sled");
        reopen_keeps_ordered_entries_and_meta(&|| -> Box<dyn StoragePlugin> {
            Box::new(SledPlugin::open(&path, durability).expect("open"))
        });
    }
}

#[test]
fn reopen_keeps_the_message_log_and_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sled");
    reopen_keeps_log_and_records(&|| -> Box<dyn StoragePlugin> {
        Box::new(SledPlugin::open(&path, Durability::Full).expect("open"))
    });
}

/// Opens the folder with sled itself, waiting for the lock a dropped
/// `SledPlugin` releases once sled's background threads stop (later under
/// CPU load: the plugin's own open waits the same way).
fn open_raw(path: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(e) if std::time::Instant::now() < deadline => {
                assert!(e.to_string().contains("lock"), "raw open: {e}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("raw open: {e}"),
        }
    }
}

#[test]
fn an_unknown_format_version_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sled");
    drop(SledPlugin::open(&path, Durability::Off).expect("create"));
    {
        let db = open_raw(&path);
        db.open_tree("meta")
            .expect("meta")
            .insert("format_version", &99u32.to_be_bytes())
            .expect("tamper");
        db.flush().expect("flush");
    }
    match SledPlugin::open(&path, Durability::Off) {
        Err(StorageError::UnsupportedFormat { found: 99, .. }) => {}
        other => panic!("expected UnsupportedFormat, got {other:?}"),
    }
}

#[test]
fn an_unusable_path_is_an_open_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"not a folder").expect("write");
    match SledPlugin::open(&blocker.join("sled"), Durability::Off) {
        Err(e @ StorageError::Open { .. }) => assert!(e.to_string().contains("file"), "{e}"),
        other => panic!("expected Open error, got {other:?}"),
    }
}

#[test]
fn a_folder_held_open_elsewhere_is_a_clear_error_after_a_short_wait() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sled");
    let _held = SledPlugin::open(&path, Durability::Off).expect("first open");
    match SledPlugin::open(&path, Durability::Off) {
        Err(e @ StorageError::Open { .. }) => {
            assert!(
                e.to_string()
                    .contains("not used by another running profilestore"),
                "{e}"
            );
            assert!(
                e.to_string()
                    .contains("another process holds this sled folder"),
                "{e}"
            );
        }
        other => panic!("expected Open error, got {other:?}"),
    }
}

#[test]
fn a_folder_written_before_the_ordered_capability_opens_and_gains_it() {
    use profilestore_plugin_api::{
        Commit, EntryId, Expect, NewVersion, OrderedExpect, OrderedOutcome, OrderedWrite, Supersede,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sled");
    let e = EntryId::new(1, "Players", "global", "a");
    {
        let p = SledPlugin::open(&path, Durability::Off).expect("create");
        let commit = Commit {
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
        };
        p.commit(&commit).expect("commit");
    }
    // What a folder of the previous release looks like: no ordered trees.
    {
        let db = open_raw(&path);
        for tree in ["ordered_values", "ordered_index", "meta_records"] {
            assert!(db.drop_tree(tree).expect("drop"), "{tree} existed");
        }
        db.flush().expect("flush");
    }
    let p = SledPlugin::open(&path, Durability::Off).expect("an old folder opens");
    assert_eq!(p.read_latest(&e).expect("read").expect("kept").value, "1");
    let w = OrderedWrite {
        entry: e.clone(),
        expect: OrderedExpect::Current(None),
        value: Some(5),
    };
    assert_eq!(
        p.ordered_write(&w).expect("ordered"),
        OrderedOutcome::Written { previous: None }
    );
    p.write_meta("m", Some("v")).expect("meta");
    assert_eq!(p.read_meta("m").expect("meta").as_deref(), Some("v"));
}
