//! PostgreSQL errors as [`StorageError`]s.
//!
//! Owns: [`Fail`] (what a transaction body returns), the classification of
//! SQLSTATEs (retry, transient, other) and [`describe_url`], the one way a
//! database is named in messages. Invariants: no message carries a
//! password; a lost connection or a server that refuses work for now is
//! `Unavailable` (retryable), any other database error is `Backend`.

use postgres::error::SqlState;
use profilestore_plugin_api::StorageError;

/// What a transaction body fails with: a database error (classified by the
/// runner) or a storage error of its own (a corrupt record).
#[derive(Debug)]
pub(crate) enum Fail {
    Pg(postgres::Error),
    Storage(StorageError),
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<StorageError> for Fail {
    fn from(e: StorageError) -> Self {
        Fail::Storage(e)
    }
}

/// Whether retrying the whole transaction may succeed at once: a
/// serialization failure or a deadlock victim.
pub(crate) fn is_retry(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// Whether the error says the connection is gone (closed, I/O, timed out,
/// out of step with the server) or the server is going away (SQLSTATE
/// classes 08 and 57P). Errors of our own making (a value that does not
/// convert, a missing column) are not.
pub(crate) fn is_connection_loss(e: &postgres::Error) -> bool {
    use std::error::Error as _;
    if let Some(c) = e.code() {
        let code = c.code();
        return code.starts_with("08") || code.starts_with("57P");
    }
    let io = e
        .source()
        .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some());
    let text = e.to_string();
    e.is_closed()
        || io
        || text.starts_with("timeout")
        || text.starts_with("unexpected message")
        || text.starts_with("error communicating")
}

/// Maps a database error met by `what` (a call name) on `address`.
pub(crate) fn map(e: &postgres::Error, what: &str, address: &str) -> StorageError {
    if is_connection_loss(e) || is_retry(e) {
        return StorageError::Unavailable(format!(
            "PostgreSQL at {address} failed during {what}: {}; the connection is dropped and the next call reconnects",
            detail(e)
        ));
    }
    let code = e.code().map(SqlState::code).unwrap_or_default();
    // Query canceled (statement_timeout), lock timeout, out of resources:
    // the server refuses work for now.
    if code == "57014" || code == "55P03" || code.starts_with("53") {
        return StorageError::Unavailable(format!(
            "PostgreSQL at {address} is overloaded during {what}: {}",
            detail(e)
        ));
    }
    StorageError::Backend(
        format!(
            "PostgreSQL at {address} failed during {what}: {}",
            detail(e)
        )
        .into(),
    )
}

/// The server's message with its SQLSTATE, when it sent one (the
/// error's own text is only `db error` then).
pub(crate) fn detail(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Maps a transaction body's failure.
pub(crate) fn map_fail(f: Fail, what: &str, address: &str) -> StorageError {
    match f {
        Fail::Pg(e) => map(&e, what, address),
        Fail::Storage(e) => e,
    }
}

/// Names the database of a connection URL without its password:
/// `postgres://user@host:port/dbname`. An unparsable URL is named
/// `(invalid PostgreSQL URL)` (it may hold a password).
pub fn describe_url(url: &str) -> String {
    match url.parse::<postgres::Config>() {
        Ok(c) => describe(&c),
        Err(_) => "(invalid PostgreSQL URL)".to_owned(),
    }
}

pub(crate) fn describe(c: &postgres::Config) -> String {
    use postgres::config::Host;
    let hosts: Vec<String> = c
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = c
                .get_ports()
                .get(i)
                .or_else(|| c.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match h {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost:5432".to_owned()
    } else {
        hosts.join(",")
    };
    let user = c.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let db = c.get_dbname().or(c.get_user()).unwrap_or("postgres");
    format!("postgres://{user}{hosts}/{db}")
}

#[cfg(test)]
mod tests {
    use super::describe_url;

    #[test]
    fn urls_are_named_without_their_password() {
        let d = describe_url("postgres://alice:s3cret@db.example:6543/game");
        assert_eq!(d, "postgres://alice@db.example:6543/game");
        assert!(!describe_url("host=h port=7 user=u password=s3cret dbname=d").contains("s3cret"));
        assert_eq!(
            describe_url("postgres://u:pw@[::1"),
            "(invalid PostgreSQL URL)"
        );
    }
}
