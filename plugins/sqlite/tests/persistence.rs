//! SQLite-specific guarantees: data (ordered entries and metadata records
//! included) survives a reopen, every durability mode works, a file of an
//! unknown format is refused, a file of the release before the ordered
//! capability opens and gains it, and an unusable path is a clear error.

use profilestore_plugin_api::codec::FORMAT_VERSION;
use profilestore_plugin_api::conformance::{
    reopen_keeps_everything, reopen_keeps_log_and_records, reopen_keeps_ordered_entries_and_meta,
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
fn reopen_keeps_the_message_log_and_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.sqlite3");
    reopen_keeps_log_and_records(&|| -> Box<dyn StoragePlugin> {
        Box::new(SqlitePlugin::open(&path, Durability::Full).expect("open"))
    });
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

#[test]
fn a_file_written_before_the_ordered_capability_opens_and_gains_it() {
    use profilestore_plugin_api::{EntryId, OrderedExpect, OrderedOutcome, OrderedWrite};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.sqlite3");
    let e = EntryId::new(1, "Players", "global", "a");
    {
        let p = SqlitePlugin::open(&path, Durability::Off).expect("create");
        let commit = profilestore_plugin_api::Commit {
            entry: e.clone(),
            expect: profilestore_plugin_api::Expect::Any,
            now_ms: 1_700_000_000_000,
            supersede: profilestore_plugin_api::Supersede::Keep,
            version: profilestore_plugin_api::NewVersion {
                deleted: false,
                value: "1".to_owned(),
                user_ids: Vec::new(),
                metadata: "{}".to_owned(),
            },
        };
        p.commit(&commit).expect("commit");
    }
    // What a file of the previous release looks like: no ordered tables.
    let raw = rusqlite::Connection::open(&path).expect("raw");
    raw.execute_batch("DROP TABLE ordered; DROP TABLE meta_records;")
        .expect("downgrade");
    drop(raw);
    let p = SqlitePlugin::open(&path, Durability::Off).expect("an old file opens");
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
