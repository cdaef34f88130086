//! The PostgreSQL storage plugin of profilestore: several profilestore
//! processes (nodes) share one database.
//!
//! Owns: [`PostgresPlugin`], [`PostgresOptions`], the schema (`schema.rs`),
//! the connection pool and transaction runner (`pool.rs`) and the mapping
//! of PostgreSQL errors (`error.rs`). Invariants:
//! - every write is one database transaction holding the row locks it
//!   depends on (`SELECT ... FOR UPDATE` of the entry's head row, see
//!   `ops.rs`); nothing is locked inside this process, so any number of
//!   processes can share one database; serialization failures and
//!   deadlocks (SQLSTATE 40001, 40P01) are retried a bounded number of
//!   times with a short backoff;
//! - a failure that may have committed (the connection was lost during
//!   `COMMIT`) is reported as [`StorageError::Unavailable`], never as a
//!   clean refusal: the DataStore layer above verifies such writes;
//! - every call has bounded waits: the connect timeout, the pool checkout
//!   timeout and a `statement_timeout` on each connection;
//! - the database records its format version in `ps_format`; a database of
//!   another version is refused at open;
//! - keys, scopes and names are stored as `BYTEA`, so they compare
//!   bytewise (as in the other plugins) and may hold any byte;
//! - the connection is unencrypted (`NoTls`): use it on a trusted network
//!   or a local socket.

#![warn(missing_docs)]

mod error;
mod image;
mod listen;
mod ops;
mod ordered;
mod plugin;
mod pool;
mod schema;
mod shared;
#[cfg(feature = "test-server")]
pub mod test_server;

use std::sync::Arc;
use std::time::Duration;

use profilestore_plugin_api::{Durability, StorageError, StorageResult};

pub use error::describe_url;

/// How a [`PostgresPlugin`] connects and how long it waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Most connections kept open by this process (each call holds one).
    pub pool_size: u32,
    /// How long opening one TCP connection (and its startup) may take.
    pub connect_timeout: Duration,
    /// How long a call waits for a free pooled connection.
    pub checkout_timeout: Duration,
    /// `statement_timeout` of every connection: the longest one SQL
    /// statement (lock waits included) may run.
    pub statement_timeout: Duration,
    /// Durability of commits: [`Durability::Full`] sets
    /// `synchronous_commit = on` (an acknowledged commit is flushed to the
    /// server's WAL); `Normal` and `Off` set `synchronous_commit = off`
    /// (a crash of profilestore loses nothing, a crash of the database
    /// server may lose its last fraction of a second of commits, never
    /// corrupting anything).
    pub durability: Durability,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            checkout_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30),
            durability: Durability::Full,
        }
    }
}

/// The PostgreSQL plugin: one database, shared with other processes.
///
/// `postgres::Client` drives a tokio runtime of its own, which must neither
/// block nor be dropped on a thread running async tasks: calls come
/// through profilestore's storage bridge (off the async workers), and
/// [`PostgresPlugin::open`] and dropping the plugin are safe anywhere
/// (they do their connection work on a thread of their own).
#[derive(Debug)]
pub struct PostgresPlugin {
    pool: Arc<pool::Pool>,
    listener: listen::Listener,
}

impl PostgresPlugin {
    /// Connects to the database at `url` (`postgres://user@host:port/db`,
    /// or the key/value form libpq accepts), creates the schema when it is
    /// missing and checks its format version. Blocks; may be called from
    /// async code (it connects on a thread of its own).
    pub fn open(url: &str, options: PostgresOptions) -> StorageResult<PostgresPlugin> {
        on_own_thread(|| {
            let pool = Arc::new(pool::Pool::open(url, &options)?);
            let plugin = PostgresPlugin {
                pool,
                listener: listen::Listener::default(),
            };
            schema::ensure(&plugin.pool)?;
            Ok(plugin)
        })
    }

    /// The database this plugin uses, without its password.
    pub fn address(&self) -> &str {
        self.pool.address()
    }
}

impl Drop for PostgresPlugin {
    fn drop(&mut self) {
        // The pool's connections must close off any async worker: a thread
        // takes over the pool and drops it once it holds the last handle
        // (this field's handle goes right after this function).
        let pool = Arc::clone(&self.pool);
        let spawned = std::thread::Builder::new()
            .name("profilestore-pg-close".to_owned())
            .spawn(move || {
                let mut pool = pool;
                loop {
                    match Arc::try_unwrap(pool) {
                        Ok(last) => return drop(last),
                        Err(shared) => pool = shared,
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
        // No thread: the connections close here (fine off async workers).
        drop(spawned);
    }
}

/// Runs `f` on a thread of its own, where `postgres::Client` may block
/// and be dropped even when the caller is an async worker (for rare calls:
/// opening, test databases).
pub(crate) fn on_own_thread<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The error of a database that cannot be reached at open.
pub(crate) fn open_error(address: &str, detail: String) -> StorageError {
    StorageError::Open {
        path: address.to_owned(),
        detail,
    }
}

pub(crate) type Result<T> = StorageResult<T>;
