//! Test databases on a PostgreSQL server started for tests (feature
//! `test-server`; `scripts/postgres start DIR` starts one and prints its
//! URL).
//!
//! Owns: [`fresh_database`] and the two environment variables tests read.
//! Invariants: each call creates a new, empty database with a name unique
//! to this process and call (process id and a counter), so tests using one
//! each can run in parallel; without a server the caller is told to skip,
//! unless [`REQUIRE_VAR`] is `1`, which turns the skip into a failure;
//! the first call of a process drops, in a background thread, the test
//! databases of processes that have ended (their pid is in the name), so a
//! long-lived test server does not fill the disk.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;

/// The admin URL of the test server, as `scripts/postgres start` prints it.
pub const URL_VAR: &str = "PROFILESTORE_TEST_POSTGRES_URL";

/// Set to `1` to make a missing test server fail the tests instead of
/// skipping them (CI sets it).
pub const REQUIRE_VAR: &str = "PROFILESTORE_REQUIRE_POSTGRES";

/// The sorted-read statements of the ordered capability, for plan checks.
pub const ORDERED_RANGE_SQL: [&str; 4] = crate::ordered::RANGE_SQL;

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

/// Drops the `ps_test_{pid}_{n}` databases of processes that no longer
/// run (Linux only: elsewhere there is no `/proc` to ask, so nothing is
/// dropped). Best effort: another process may drop them at the same time.
fn sweep(client: &mut postgres::Client) {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(rows) = client.query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'ps\\_test\\_%'",
        &[],
    ) else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let Some(pid) = pid else { continue };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

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
/// server is configured (see [`server_url`]). The database stays until the
/// sweep of a later test process (see the module doc); tests that can hold
/// a guard use [`TestDatabase`], which drops it at the end.
pub fn fresh_database() -> Option<String> {
    TestDatabase::create().map(TestDatabase::keep)
}

/// A fresh test database, dropped (with its connections) when this is.
#[derive(Debug)]
pub struct TestDatabase {
    admin: String,
    name: String,
    url: String,
    keep: bool,
}

impl TestDatabase {
    /// Creates one; `None` when no server is configured (see
    /// [`server_url`]).
    pub fn create() -> Option<TestDatabase> {
        let admin = server_url()?;
        Some(crate::on_own_thread(|| TestDatabase::create_at(admin)))
    }

    fn create_at(admin: String) -> TestDatabase {
        let name = format!(
            "ps_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut client = connect_admin(&admin);
        SWEEP.call_once(|| {
            // In the background: the tests need not wait for the drops.
            let admin = admin.clone();
            std::thread::spawn(move || {
                if let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls) {
                    sweep(&mut c);
                }
            });
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
        let url = with_database(&admin, &name);
        TestDatabase {
            admin,
            name,
            url,
            keep: false,
        }
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Keeps the database after this guard (returns its URL).
    pub fn keep(mut self) -> String {
        self.keep = true;
        std::mem::take(&mut self.url)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        // Best effort: a later sweep removes what this leaves.
        crate::on_own_thread(|| {
            if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
                let _ = c.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ));
            }
        });
    }
}

fn connect_admin(admin: &str) -> postgres::Client {
    postgres::Client::connect(admin, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "cannot reach the PostgreSQL test server at {}: {e}; is it running (`scripts/postgres start DIR`)?",
            crate::describe_url(admin)
        )
    })
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
