//! sled-specific guarantees: data (ordered entries and
//! metadata records included) survives a reopen, every durability mode
//! works (reopening right after a drop included), a database of an unknown
//! format is refused, and an unusable or held path is a clear error.

use profilestore_plugin_api::conformance::{
    reopen_keeps_everything, reopen_keeps_ordered_entries_and_meta,
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
fn an_unknown_format_version_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sled");
    drop(SledPlugin::open(&path, Durability::Off).expect("create"));
    {
        let db = sled::open(&path).expect("raw");
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
