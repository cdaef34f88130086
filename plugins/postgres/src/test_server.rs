//! Test databases on a PostgreSQL server started for tests (feature
//! `test-server`; `scripts/postgres start DIR` starts one and prints its
//! URL).
//!
//! Owns: [`fresh_database`] and the two environment variables tests read.
//! Invariants: each call creates a new, empty database with a name unique
//! to this process and call (process id and a counter), so tests using one
//! each can run in parallel; without a server the caller is told to skip,
//! unless [`REQUIRE_VAR`] is `1`, which turns the skip into a failure.

use std::sync::atomic::{AtomicU32, Ordering};

/// The admin URL of the test server, as `scripts/postgres start` prints it.
pub const URL_VAR: &str = "PROFILESTORE_TEST_POSTGRES_URL";

/// Set to `1` to make a missing test server fail the tests instead of
/// skipping them (CI sets it).
pub const REQUIRE_VAR: &str = "PROFILESTORE_REQUIRE_POSTGRES";

/// The sorted-read statements of the ordered capability, for plan checks.
pub const ORDERED_RANGE_SQL: [&str; 4] = crate::ordered::RANGE_SQL;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The admin URL of the test server, or `None` (with a printed notice)
/// when [`URL_VAR`] is unset. Panics when it is unset and [`REQUIRE_VAR`]
/// is `1`.
pub fn server_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") {
                panic!(
                    "{REQUIRE_VAR}=1 but {URL_VAR} is not set: start a test server with \
                     `eval \"$(scripts/postgres start /tmp/profilestore-pg)\"; export {URL_VAR}` \
                     (and `scripts/postgres stop /tmp/profilestore-pg` afterwards)"
                );
            }
            eprintln!(
                "skipped: no PostgreSQL test server ({URL_VAR} is unset; `scripts/postgres start DIR` starts one)"
            );
            None
        }
    }
}

/// A new empty database on the test server; its URL. `None` when no
/// server is configured (see [`server_url`]).
pub fn fresh_database() -> Option<String> {
    let admin = server_url()?;
    let name = format!(
        "ps_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "cannot reach the PostgreSQL test server at {}: {e}; is it running (`scripts/postgres start DIR`)?",
            crate::describe_url(&admin)
        )
    });
    // A database left by an earlier run with the same process id.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        client
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e:?}"));
    }
    Some(with_database(&admin, &name))
}

/// Opens the plugin on `url` with `durability` and otherwise default
/// options, panicking on failure (tests only).
pub fn open(url: &str, durability: profilestore_plugin_api::Durability) -> crate::PostgresPlugin {
    let options = crate::PostgresOptions {
        durability,
        ..crate::PostgresOptions::default()
    };
    crate::PostgresPlugin::open(url, options)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", crate::describe_url(url)))
}

/// A plain client on `url` (for tampering and plan checks).
pub fn raw_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to {}: {e:?}", crate::describe_url(url)))
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // The key/value form: a later key wins.
        return format!("{url} dbname={name}");
    };
    let rest = &url[scheme_end + 3..];
    let query = rest.find('?').map_or("", |i| &rest[i..]);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    format!(
        "{}{}/{name}{query}",
        &url[..scheme_end + 3],
        &rest[..authority_end]
    )
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5/t1"
        );
        assert_eq!(
            with_database("postgresql://u:p@h:5/db?sslmode=disable", "t"),
            "postgresql://u:p@h:5/t?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t"), "postgres://h/t");
        assert_eq!(
            with_database("host=h user=u", "t"),
            "host=h user=u dbname=t"
        );
    }
}
