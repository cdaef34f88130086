//! Connections: the r2d2 pool, each connection's prepared-statement cache,
//! and the runners every call goes through.
//!
//! Owns: [`Pool`], [`Db`] (a connection or transaction plus its cache) and
//! the retry loop of transactions. Invariants:
//! - every connection is set up the same way before first use:
//!   `statement_timeout`, `idle_in_transaction_session_timeout` (a stuck
//!   process cannot hold row locks forever) and `synchronous_commit` from
//!   the durability mode;
//! - statements are prepared once per connection and cached by their SQL
//!   text (all SQL is `'static`, so the cache is bounded);
//! - a transaction is retried on SQLSTATE 40001/40P01 at most
//!   [`MAX_ATTEMPTS`] times with a short jittered backoff, on a fresh
//!   transaction each time; a connection found closed at `BEGIN` (a stale
//!   pooled connection after a server restart) is replaced and retried,
//!   since nothing was sent;
//! - a connection lost during `COMMIT` is reported as `Unavailable` saying
//!   the write may have been applied (the caller verifies), never as a
//!   clean failure;
//! - a closed connection is never handed out again (`has_broken`).

use std::collections::HashMap;
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, IsolationLevel, NoTls, Row, Statement, Transaction};
use profilestore_plugin_api::{Durability, StorageError};

use crate::error::{self, Fail};
use crate::{PostgresOptions, Result};

/// Attempts of one transaction before a serialization failure is reported.
pub(crate) const MAX_ATTEMPTS: u32 = 12;

type Cache = HashMap<&'static str, Statement>;

/// A pooled connection: the client and its prepared statements.
pub(crate) struct Conn {
    client: Client,
    cache: Cache,
    /// Set when a call met a lost connection (the client may not know yet).
    broken: bool,
}

/// How one attempt of a transaction ended.
enum Step<R> {
    /// Done: its result (a failure is not worth retrying at once).
    Finished(Result<R>),
    /// A serialization failure or deadlock: retry on a new transaction.
    Retry(StorageError),
    /// The connection was found lost at `BEGIN`: retry once, reconnected.
    Stale(StorageError),
}

/// Opens connections for r2d2 (see the module invariants).
#[derive(Clone, Debug)]
pub(crate) struct Manager {
    config: postgres::Config,
    setup: String,
}

impl Manager {
    /// A new connection, set up (outside the pool).
    pub(crate) fn client(&self) -> std::result::Result<Client, postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        client.batch_execute(&self.setup)?;
        Ok(client)
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> std::result::Result<Conn, postgres::Error> {
        Ok(Conn {
            client: self.client()?,
            cache: Cache::new(),
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> std::result::Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.broken || conn.client.is_closed()
    }
}

/// A connection or transaction with its connection's statement cache.
pub(crate) struct Db<'a, C: GenericClient> {
    client: &'a mut C,
    cache: &'a mut Cache,
}

/// Parameters of one statement.
pub(crate) type Params<'p> = [&'p (dyn ToSql + Sync)];

impl<C: GenericClient> Db<'_, C> {
    fn statement(&mut self, sql: &'static str) -> std::result::Result<Statement, postgres::Error> {
        if let Some(s) = self.cache.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.cache.insert(sql, s.clone());
        Ok(s)
    }

    /// Every row of `sql`.
    pub(crate) fn query(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> std::result::Result<Vec<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query(&s, params)
    }

    /// The row of `sql`, if any (at most one).
    pub(crate) fn opt(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> std::result::Result<Option<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query_opt(&s, params)
    }

    /// Runs `sql`; the number of rows it changed.
    pub(crate) fn exec(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> std::result::Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.execute(&s, params)
    }

    /// The client itself, for statements not worth caching.
    pub(crate) fn raw(&mut self) -> &mut C {
        self.client
    }
}

/// What a transaction body decided.
pub(crate) enum Done<R> {
    /// Commit its writes, then return `R`.
    Commit(R),
    /// It wrote nothing that must stay (a conflict): roll back, return `R`.
    Rollback(R),
}

/// The isolation of a transaction.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Iso {
    /// Writes: each statement sees the latest committed rows and every
    /// decision reads rows it has locked (`FOR UPDATE`).
    Locking,
    /// A consistent read-only snapshot (exports).
    Snapshot,
}

/// The connection pool of one database.
#[derive(Debug)]
pub(crate) struct Pool {
    inner: r2d2::Pool<Manager>,
    manager: Manager,
    address: String,
    checkout_timeout: Duration,
}

fn setup_sql(options: &PostgresOptions) -> String {
    let sync = match options.durability {
        Durability::Full => "on",
        Durability::Normal | Durability::Off => "off",
    };
    let statement_ms = options.statement_timeout.as_millis().max(1);
    // Long enough for any statement of a transaction to finish first.
    let idle_ms = statement_ms.saturating_mul(2).max(10_000);
    format!(
        "SET statement_timeout = {statement_ms}; \
         SET idle_in_transaction_session_timeout = {idle_ms}; \
         SET synchronous_commit = {sync};"
    )
}

impl Pool {
    /// Parses `url`, connects once (so an unreachable database is an
    /// [`StorageError::Open`] naming it) and builds the pool.
    pub(crate) fn open(url: &str, options: &PostgresOptions) -> Result<Pool> {
        let mut config: postgres::Config = url.parse().map_err(|e| {
            crate::open_error(
                &error::describe_url(url),
                format!("not a PostgreSQL connection URL ({e}); expected postgres://user[:password]@host:port/database"),
            )
        })?;
        config
            .connect_timeout(options.connect_timeout)
            .keepalives_idle(Duration::from_secs(30))
            .application_name("profilestore");
        let address = error::describe(&config);
        let manager = Manager {
            config,
            setup: setup_sql(options),
        };
        r2d2::ManageConnection::connect(&manager).map_err(|e| {
            crate::open_error(
                &address,
                format!(
                    "cannot connect to PostgreSQL: {}; check that the server is running and \
                     reachable at that host and port (within {:?}), and that the user and \
                     database exist and may connect",
                    error::detail(&e),
                    options.connect_timeout
                ),
            )
        })?;
        let inner = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(options.checkout_timeout)
            .test_on_check_out(false)
            .idle_timeout(Some(Duration::from_secs(300)))
            .build_unchecked(manager.clone());
        Ok(Pool {
            inner,
            manager,
            address,
            checkout_timeout: options.checkout_timeout,
        })
    }

    /// Opens connections like the pool's (for the log's listener).
    pub(crate) fn manager(&self) -> &Manager {
        &self.manager
    }

    /// The database's name in messages.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    fn checkout(&self) -> Result<r2d2::PooledConnection<Manager>> {
        self.inner.get().map_err(|e| {
            StorageError::Unavailable(format!(
                "no connection to PostgreSQL at {} within {:?}: {e}; check that the server is running and reachable",
                self.address, self.checkout_timeout
            ))
        })
    }

    /// Runs the single-statement read `f` outside a transaction; a
    /// connection lost before an answer is replaced and `f` run again
    /// once (reads have no effect to repeat).
    pub(crate) fn read<R>(
        &self,
        what: &str,
        mut f: impl FnMut(&mut Db<'_, Client>) -> std::result::Result<R, Fail>,
    ) -> Result<R> {
        let mut retried = false;
        loop {
            let mut conn = self.checkout()?;
            let conn = &mut *conn;
            let mut db = Db {
                client: &mut conn.client,
                cache: &mut conn.cache,
            };
            match f(&mut db) {
                Ok(r) => return Ok(r),
                Err(Fail::Pg(e)) if error::is_connection_loss(&e) => {
                    conn.broken = true;
                    if retried {
                        return Err(error::map(&e, what, &self.address));
                    }
                    retried = true;
                }
                Err(e) => return Err(error::map_fail(e, what, &self.address)),
            }
        }
    }

    /// Runs `body` in one transaction, retried as the module says.
    pub(crate) fn transaction<R>(
        &self,
        what: &str,
        iso: Iso,
        mut body: impl FnMut(&mut Db<'_, Transaction<'_>>) -> std::result::Result<Done<R>, Fail>,
    ) -> Result<R> {
        let mut last = None;
        let mut reconnected = false;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt);
            }
            let mut conn = self.checkout()?;
            let conn = &mut *conn;
            let step = self.attempt(conn, what, iso, &mut body);
            match step {
                Step::Finished(result) => return result,
                Step::Retry(e) => last = Some(e),
                Step::Stale(e) if !reconnected => {
                    reconnected = true;
                    last = Some(e);
                }
                Step::Stale(e) => return Err(e),
            }
        }
        Err(StorageError::Unavailable(format!(
            "{what} on PostgreSQL at {} kept meeting concurrent transactions ({MAX_ATTEMPTS} attempts): {}",
            self.address,
            last.map(|e| e.to_string()).unwrap_or_default()
        )))
    }

    /// One attempt of a transaction on `conn`, which it marks broken when
    /// the connection was lost.
    fn attempt<R>(
        &self,
        conn: &mut Conn,
        what: &str,
        iso: Iso,
        body: &mut impl FnMut(&mut Db<'_, Transaction<'_>>) -> std::result::Result<Done<R>, Fail>,
    ) -> Step<R> {
        let builder = conn.client.build_transaction();
        let started = match iso {
            Iso::Locking => builder.isolation_level(IsolationLevel::ReadCommitted),
            Iso::Snapshot => builder
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true),
        }
        .start();
        let mut tx = match started {
            Ok(tx) => tx,
            Err(e) => {
                let mapped = error::map(&e, what, &self.address);
                if error::is_connection_loss(&e) {
                    conn.broken = true;
                    // Nothing was sent: a stale pooled connection.
                    return Step::Stale(mapped);
                }
                return if error::is_retry(&e) {
                    Step::Retry(mapped)
                } else {
                    Step::Finished(Err(mapped))
                };
            }
        };
        let outcome = body(&mut Db {
            client: &mut tx,
            cache: &mut conn.cache,
        });
        let (step, lost) = match outcome {
            Ok(Done::Commit(r)) => match tx.commit() {
                Ok(()) => (Step::Finished(Ok(r)), false),
                Err(e) if error::is_retry(&e) => {
                    (Step::Retry(error::map(&e, what, &self.address)), false)
                }
                Err(e) => (
                    Step::Finished(Err(self.commit_failed(&e, what))),
                    error::is_connection_loss(&e),
                ),
            },
            Ok(Done::Rollback(r)) => {
                // Nothing of it must stay; a lost connection rolls back too.
                let lost = tx.rollback().is_err_and(|e| error::is_connection_loss(&e));
                (Step::Finished(Ok(r)), lost)
            }
            Err(Fail::Pg(e)) if error::is_retry(&e) => {
                (Step::Retry(error::map(&e, what, &self.address)), false)
            }
            Err(Fail::Pg(e)) => (
                Step::Finished(Err(error::map(&e, what, &self.address))),
                error::is_connection_loss(&e),
            ),
            Err(Fail::Storage(e)) => (Step::Finished(Err(e)), false),
        };
        conn.broken |= lost;
        step
    }

    /// A failed `COMMIT`: when the connection was lost (or CockroachDB says
    /// the outcome is unknown) the transaction may have committed.
    fn commit_failed(&self, e: &postgres::Error, what: &str) -> StorageError {
        let unknown = e.code().is_some_and(|c| c.code() == "40003");
        if error::is_connection_loss(e) || unknown {
            return StorageError::Unavailable(format!(
                "the connection to PostgreSQL at {} was lost while committing {what}, so it may or \
                 may not have been applied: read it back before retrying ({})",
                self.address,
                error::detail(e)
            ));
        }
        error::map(e, what, &self.address)
    }
}

/// Sleeps before retry `attempt` (1, 2, ...): 1 ms doubling up to 32 ms,
/// with up to 100% jitter so that retrying transactions spread out.
fn backoff(attempt: u32) {
    let base_us = 1000u64 << attempt.min(5);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = u64::from(nanos) % base_us;
    std::thread::sleep(Duration::from_micros(base_us + jitter));
}
