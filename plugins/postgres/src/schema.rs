//! The schema and its format version.
//!
//! Owns: [`SCHEMA`] and [`ensure`]. Invariants: the schema is created with
//! `CREATE ... IF NOT EXISTS` in one transaction, retried when another node
//! creates it at the same moment (PostgreSQL then reports a duplicate
//! object, which the retry sees as already there); `ps_format` holds the
//! format version ([`FORMAT_VERSION`], shared with the record codec) and a
//! database of another version is refused with
//! [`StorageError::UnsupportedFormat`].
//!
//! Every key part and name is `BYTEA` (bytewise order, any byte); the
//! version records are the shared codec's bytes (`plugins/api/src/codec.rs`).

use postgres::Transaction;
use profilestore_plugin_api::codec::FORMAT_VERSION;
use profilestore_plugin_api::StorageError;

use crate::error::Fail;
use crate::pool::{Db, Done, Iso, Pool};
use crate::Result;

/// The tables. `ps_entries` is one head row per entry: it carries the
/// latest version's times, so a commit decides from this (locked) row
/// alone; a data store's updated time is its entries' largest `updated_ms`.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ps_format (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ps_stores (
    universe   BIGINT NOT NULL,
    name       BYTEA NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (universe, name)
);
CREATE TABLE IF NOT EXISTS ps_entries (
    universe              BIGINT NOT NULL,
    store                 BYTEA NOT NULL,
    scope                 BYTEA NOT NULL,
    key                   BYTEA NOT NULL,
    max_seq               BIGINT NOT NULL,
    latest                BIGINT,
    latest_deleted        BOOLEAN NOT NULL DEFAULT FALSE,
    latest_created_ms     BIGINT NOT NULL DEFAULT 0,
    latest_key_created_ms BIGINT NOT NULL DEFAULT 0,
    updated_ms            BIGINT NOT NULL,
    PRIMARY KEY (universe, store, scope, key)
);
CREATE TABLE IF NOT EXISTS ps_versions (
    universe       BIGINT NOT NULL,
    store          BYTEA NOT NULL,
    scope          BYTEA NOT NULL,
    key            BYTEA NOT NULL,
    seq            BIGINT NOT NULL,
    key_created_ms BIGINT NOT NULL,
    created_ms     BIGINT NOT NULL,
    deleted        BOOLEAN NOT NULL,
    content_length BIGINT NOT NULL,
    record         BYTEA NOT NULL,
    PRIMARY KEY (universe, store, scope, key, seq)
);
CREATE TABLE IF NOT EXISTS ps_ordered (
    universe BIGINT NOT NULL,
    store    BYTEA NOT NULL,
    scope    BYTEA NOT NULL,
    key      BYTEA NOT NULL,
    value    BIGINT NOT NULL,
    PRIMARY KEY (universe, store, scope, key)
);
CREATE INDEX IF NOT EXISTS ps_ordered_by_value ON ps_ordered (universe, store, scope, value, key);
CREATE TABLE IF NOT EXISTS ps_meta_records (
    name  BYTEA PRIMARY KEY,
    value BYTEA NOT NULL
);
";

/// Attempts at creating the schema while other nodes create it too.
const SCHEMA_ATTEMPTS: u32 = 5;

fn create(db: &mut Db<'_, Transaction<'_>>) -> std::result::Result<Done<Option<String>>, Fail> {
    db.raw().batch_execute(SCHEMA)?;
    db.raw().batch_execute(crate::shared::SCHEMA)?;
    db.exec(
        "INSERT INTO ps_format (key, value) VALUES ('format_version', $1) ON CONFLICT (key) DO NOTHING",
        &[&FORMAT_VERSION.to_string()],
    )?;
    let found = db
        .opt(
            "SELECT value FROM ps_format WHERE key = 'format_version'",
            &[],
        )?
        .map(|r| r.get::<_, String>(0));
    Ok(Done::Commit(found))
}

/// Whether `e` is another node's concurrent `CREATE ... IF NOT EXISTS`
/// (duplicate key in the catalog, duplicate table or object).
fn is_creation_race(e: &StorageError) -> bool {
    let text = e.to_string();
    ["23505", "42P07", "42710"]
        .iter()
        .any(|code| text.contains(&format!("SQLSTATE {code}")))
}

/// Creates the schema when missing and checks the format version.
pub(crate) fn ensure(pool: &Pool) -> Result<()> {
    let mut attempt = 0;
    let found = loop {
        attempt += 1;
        match pool.transaction("schema creation", Iso::Locking, create) {
            Err(e) if attempt < SCHEMA_ATTEMPTS && is_creation_race(&e) => continue,
            other => break other?,
        }
    };
    match found {
        Some(v) if v == FORMAT_VERSION.to_string() => Ok(()),
        Some(v) => Err(StorageError::UnsupportedFormat {
            found: v.parse().unwrap_or(u32::MAX),
            supported: FORMAT_VERSION,
        }),
        None => Err(StorageError::Corrupt {
            what: "ps_format".to_owned(),
            detail: "the format version row is missing right after it was written".to_owned(),
        }),
    }
}
