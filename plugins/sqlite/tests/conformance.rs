//! The shared conformance suite on the SQLite plugin (durability `off`, so
//! the suite measures behaviour, not the disk).

use profilestore_plugin_api::conformance::Subject;
use profilestore_plugin_api::Durability;
use profilestore_sqlite::SqlitePlugin;

fn subject() -> Subject {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = SqlitePlugin::open(&dir.path().join("db.sqlite3"), Durability::Off).expect("open");
    Subject {
        plugin: Box::new(plugin),
        guard: Box::new(dir),
    }
}

profilestore_plugin_api::conformance_suite!(subject);
