//! The shared conformance suite on the PostgreSQL plugin, one fresh
//! database per test (so the tests run in parallel).
//!
//! Without a test server (`scripts/postgres start`) each test prints a
//! skip notice and runs on the memory plugin instead (the suite's macro
//! has no way to skip); `PROFILESTORE_REQUIRE_POSTGRES=1` makes a missing
//! server fail instead.

use profilestore_plugin_api::conformance::Subject;
use profilestore_plugin_api::Durability;
use profilestore_postgres::test_server::{open, TestDatabase};

fn subject() -> Subject {
    match TestDatabase::create() {
        Some(db) => Subject {
            plugin: Box::new(open(db.url(), Durability::Off)),
            // Drops the database after the plugin.
            guard: Box::new(db),
        },
        None => Subject {
            plugin: Box::new(profilestore_memory::MemoryPlugin::new()),
            guard: Box::new(()),
        },
    }
}

profilestore_plugin_api::conformance_suite!(subject);
