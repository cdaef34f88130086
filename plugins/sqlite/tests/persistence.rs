//! SQLite-specific guarantees: data (ordered entries and
//! metadata records included) survives a reopen, every durability
//! mode works, a file of an unknown format is refused, and an unusable path
//! is a clear error.

use profilestore_plugin_api::codec::FORMAT_VERSION;
use profilestore_plugin_api::conformance::{
    reopen_keeps_everything, reopen_keeps_ordered_entries_and_meta,
};
use profilestore_plugin_api::{Durability, StorageError, StoragePlugin};
use profilestore_sqlite::SqlitePlugin;

#[test]
fn reopen_in_every_durability_mode() {
    for durability in [Durability::Full, Durability::Normal, Durability::Off] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/db.sqlite3");
        reopen_keeps_everything(&|| -> Box<dyn StoragePlugin> {
            Box::new(SqlitePlugin::open(&path, durability).expect("open"))
        });
    }
}

#[test]
fn ordered_entries_and_meta_survive_a_reopen_in_every_durability_mode() {
    for durability in [Durability::Full, Durability::Normal, Durability::Off] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite3");
        reopen_keeps_ordered_entries_and_meta(&|| -> Box<dyn StoragePlugin> {
            Box::new(SqlitePlugin::open(&path, durability).expect("open"))
        });
    }
}

#[test]
fn an_unknown_format_version_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.sqlite3");
    drop(SqlitePlugin::open(&path, Durability::Off).expect("create"));
    let raw = rusqlite::Connection::open(&path).expect("raw");
    raw.execute(
        "UPDATE meta SET value = '99' WHERE key = 'format_version'",
        [],
    )
    .expect("tamper");
    drop(raw);
    match SqlitePlugin::open(&path, Durability::Off) {
        Err(e @ StorageError::UnsupportedFormat { found: 99, .. }) => {
            assert!(e.to_string().contains(&FORMAT_VERSION.to_string()), "{e}");
        }
        other => panic!("expected UnsupportedFormat, got {other:?}"),
    }
}

#[test]
fn an_unusable_path_is_an_open_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"not a folder").expect("write");
    let path = blocker.join("db.sqlite3");
    match SqlitePlugin::open(&path, Durability::Off) {
        Err(e @ StorageError::Open { .. }) => assert!(e.to_string().contains("file"), "{e}"),
        other => panic!("expected Open error, got {other:?}"),
    }
}
