//! The SQLite storage plugin of profilestore.
//!
//! Owns: [`SqlitePlugin`], the schema, the connection pool and the mapping of
//! SQLite errors. Invariants:
//! - every commit is one `BEGIN IMMEDIATE` transaction that checks the
//!   expected version and writes, so several processes sharing the file stay
//!   correct (SQLite's own lock, not ours, serializes writers); commits
//!   arriving together share one transaction and one fsync (group commit,
//!   `group.rs`), and writers of one process queue on an in-process lock
//!   rather than in SQLite's busy handler, which sleeps in growing steps
//!   (tens of ms) and made the p99 of writes under contention about 0.5 s;
//! - WAL mode always; durability sets `synchronous`: `full` loses nothing
//!   acknowledged, `normal` may lose the last commits on power loss or OS
//!   crash (never on a process crash), `off` may lose recent commits on an OS
//!   crash or power loss and is for tests;
//! - the file records its format version in `meta`; a file of another
//!   version is refused at open;
//! - the ordered capability's tables (`ordered`, its index, `meta_records`;
//!   see `ordered.rs`) are created when missing, so files written before
//!   them open unchanged and the format version stays 1;
//! - keys, scopes and names compare bytewise (SQLite's BINARY collation).

#![warn(missing_docs)]

mod group;
mod image;
mod ops;
mod ordered;
mod shared;

use parking_lot::{Mutex, MutexGuard};
use std::path::{Path, PathBuf};
use std::time::Duration;

use profilestore_plugin_api::codec::FORMAT_VERSION;
use profilestore_plugin_api::{
    Commit, CommitOutcome, Durability, OrderedOutcome, OrderedWrite, StorageError, StorageResult,
};
use rusqlite::{Connection, ErrorCode, OptionalExtension};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stores (
    universe   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (universe, name)
) WITHOUT ROWID;
-- One row per entry; it carries the latest version's times so a commit
-- decides from this row alone (the data store's updated time is the
-- largest `updated_ms` of its entries).
CREATE TABLE IF NOT EXISTS entries (
    id                    INTEGER PRIMARY KEY,
    universe              INTEGER NOT NULL,
    store                 TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    key                   TEXT NOT NULL,
    max_seq               INTEGER NOT NULL,
    latest                INTEGER,
    latest_deleted        INTEGER NOT NULL DEFAULT 0,
    latest_created_ms     INTEGER NOT NULL DEFAULT 0,
    latest_key_created_ms INTEGER NOT NULL DEFAULT 0,
    updated_ms            INTEGER NOT NULL,
    UNIQUE (universe, store, scope, key)
);
CREATE TABLE IF NOT EXISTS versions (
    entry          INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    key_created_ms INTEGER NOT NULL,
    created_ms     INTEGER NOT NULL,
    deleted        INTEGER NOT NULL,
    content_length INTEGER NOT NULL,
    record         BLOB NOT NULL,
    PRIMARY KEY (entry, seq)
) WITHOUT ROWID;
-- The ordered capability (ordered.rs). Added after format version 1 was
-- released: created here when missing, so older files gain them at open
-- and older builds ignore them (the format version stays 1).
CREATE TABLE IF NOT EXISTS ordered (
    universe INTEGER NOT NULL,
    store    TEXT NOT NULL,
    scope    TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (universe, store, scope, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ordered_by_value ON ordered (universe, store, scope, value, key);
CREATE TABLE IF NOT EXISTS meta_records (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
";

/// Connections kept open for reuse.
const POOL_SIZE: usize = 8;

/// The SQLite plugin: one database file.
#[derive(Debug)]
pub struct SqlitePlugin {
    path: PathBuf,
    pub(crate) durability: Durability,
    pool: Mutex<Vec<Connection>>,
    writer: Mutex<()>,
    group: group::Group<Commit, CommitOutcome>,
    ordered_group: group::Group<OrderedWrite, OrderedOutcome>,
}

/// Maps a SQLite error: busy and locked are transient.
pub(crate) fn sql_error(err: rusqlite::Error) -> StorageError {
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StorageError::Unavailable(format!("SQLite database is busy: {err}"))
        }
        _ => StorageError::Backend(Box::new(err)),
    }
}

impl SqlitePlugin {
    /// Opens (creating when missing) the database file at `path`, creating
    /// its parent folders.
    pub fn open(path: &Path, durability: Durability) -> StorageResult<SqlitePlugin> {
        let open_error = |detail: String| StorageError::Open {
            path: path.display().to_string(),
            detail,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                open_error(format!("cannot create folder {}: {e}", parent.display()))
            })?;
        }
        let plugin = SqlitePlugin {
            path: path.to_owned(),
            durability,
            pool: Mutex::new(Vec::new()),
            writer: Mutex::new(()),
            group: group::Group::default(),
            ordered_group: group::Group::default(),
        };
        let conn = plugin
            .connect()
            .map_err(|e| open_error(format!("{e}; check that the path is a writable file")))?;
        conn.execute_batch(SCHEMA).map_err(sql_error)?;
        conn.execute_batch(shared::SCHEMA).map_err(sql_error)?;
        let found: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'format_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_error)?;
        match found {
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('format_version', ?1)",
                    [FORMAT_VERSION.to_string()],
                )
                .map_err(sql_error)?;
            }
            Some(v) if v == FORMAT_VERSION.to_string() => {}
            Some(v) => {
                return Err(StorageError::UnsupportedFormat {
                    found: v.parse().unwrap_or(u32::MAX),
                    supported: FORMAT_VERSION,
                })
            }
        }
        plugin.release(conn);
        Ok(plugin)
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open(&self.path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let sync = match self.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
            Durability::Off => "OFF",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync};"
        ))?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    /// Runs `f` on a pooled connection.
    pub(crate) fn with_conn<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> StorageResult<R>,
    ) -> StorageResult<R> {
        let pooled = self.lock_pool().pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect().map_err(sql_error)?,
        };
        let result = f(&mut conn);
        self.release(conn);
        result
    }

    /// Runs the write transaction `f` on a pooled connection, one writer of
    /// this process at a time (see the module invariants: a queue, not a
    /// correctness lock).
    pub(crate) fn with_writer<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> StorageResult<R>,
    ) -> StorageResult<R> {
        // A writer that panicked left no transaction open (rusqlite rolls
        // back on drop), so the lock can be taken over.
        let _turn = self.writer.lock();
        self.with_conn(f)
    }

    fn release(&self, conn: Connection) {
        let mut pool = self.lock_pool();
        if pool.len() < POOL_SIZE {
            pool.push(conn);
        }
    }

    fn lock_pool(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.pool.lock()
    }
}
