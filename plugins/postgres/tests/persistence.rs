//! PostgreSQL-specific guarantees of one database: data (ordered entries,
//! metadata, the message log and records included) survives a reopen in
//! every durability mode, a database of a newer format is refused, two
//! nodes opening a new database at once both succeed, an unreachable
//! server is a clear error naming it (never the password), a server that
//! drops our connections costs no call, a statement blocked past
//! `statement_timeout` is a retryable error, and a connection lost inside
//! `COMMIT` is reported as possibly applied. Skipped without a test server
//! (see `profilestore_postgres::test_server`), except the unreachable case.

use std::time::{Duration, Instant};

use profilestore_plugin_api::codec::FORMAT_VERSION;
use profilestore_plugin_api::conformance::{
    reopen_keeps_everything, reopen_keeps_log_and_records, reopen_keeps_ordered_entries_and_meta,
};
use profilestore_plugin_api::{
    Commit, CommitOutcome, Durability, EntryId, Expect, NewVersion, StorageError, StoragePlugin,
    Supersede,
};
use profilestore_postgres::test_server::{open, raw_client, TestDatabase};
use profilestore_postgres::{PostgresOptions, PostgresPlugin};

const MODES: [Durability; 3] = [Durability::Full, Durability::Normal, Durability::Off];

fn put(p: &dyn StoragePlugin, e: &EntryId, expect: Expect, v: &str) -> CommitOutcome {
    p.commit(&Commit {
        entry: e.clone(),
        expect,
        now_ms: 1_700_000_000_000,
        supersede: Supersede::Keep,
        version: NewVersion {
            deleted: false,
            value: v.to_owned(),
            user_ids: Vec::new(),
            metadata: "{}".to_owned(),
        },
    })
    .expect("commit")
}

#[test]
fn reopen_keeps_everything_in_every_durability_mode() {
    for durability in MODES {
        let Some(db) = TestDatabase::create() else {
            return;
        };
        let url = db.url().to_owned();
        reopen_keeps_everything(&|| -> Box<dyn StoragePlugin> { Box::new(open(&url, durability)) });
        let Some(db) = TestDatabase::create() else {
            return;
        };
        let url = db.url().to_owned();
        reopen_keeps_ordered_entries_and_meta(&|| -> Box<dyn StoragePlugin> {
            Box::new(open(&url, durability))
        });
        let Some(db) = TestDatabase::create() else {
            return;
        };
        let url = db.url().to_owned();
        reopen_keeps_log_and_records(&|| -> Box<dyn StoragePlugin> {
            Box::new(open(&url, durability))
        });
    }
}

#[test]
fn a_newer_format_version_is_refused() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let url = db.url().to_owned();
    drop(open(&url, Durability::Off));
    raw_client(&url)
        .execute(
            "UPDATE ps_format SET value = '99' WHERE key = 'format_version'",
            &[],
        )
        .expect("tamper");
    match PostgresPlugin::open(&url, PostgresOptions::default()) {
        Err(e @ StorageError::UnsupportedFormat { found: 99, .. }) => {
            assert!(e.to_string().contains(&FORMAT_VERSION.to_string()), "{e}");
        }
        other => panic!("expected UnsupportedFormat, got {other:?}"),
    }
}

#[test]
fn nodes_opening_a_new_database_at_once_all_succeed() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let url = db.url().to_owned();
    let plugins: Vec<PostgresPlugin> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| open(&url, Durability::Off)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("open"))
            .collect()
    });
    let e = EntryId::new(1, "S", "global", "k");
    assert!(matches!(
        put(&plugins[0], &e, Expect::Current(None), "1"),
        CommitOutcome::Committed(_)
    ));
    assert_eq!(
        plugins[5]
            .read_latest(&e)
            .expect("read")
            .expect("seen")
            .value,
        "1"
    );
}

#[test]
fn an_unreachable_server_is_an_open_error_naming_it_without_the_password() {
    let options = PostgresOptions {
        connect_timeout: Duration::from_secs(2),
        ..PostgresOptions::default()
    };
    // Port 1 on loopback: nothing listens there.
    let started = Instant::now();
    let err = PostgresPlugin::open("postgres://alice:s3cret@127.0.0.1:1/game", options)
        .expect_err("nothing listens on port 1");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by the connect timeout"
    );
    let text = err.to_string();
    assert!(matches!(err, StorageError::Open { .. }), "{err:?}");
    assert!(text.contains("postgres://alice@127.0.0.1:1/game"), "{text}");
    assert!(text.contains("check that the server is running"), "{text}");
    assert!(!text.contains("s3cret"), "the password leaked: {text}");
    let bad = PostgresPlugin::open("postgres://u:s3cret@[::1", PostgresOptions::default())
        .expect_err("not a URL");
    assert!(!bad.to_string().contains("s3cret"), "{bad}");
}

#[test]
fn connections_killed_by_the_server_cost_no_call() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let url = db.url().to_owned();
    let p = open(&url, Durability::Off);
    let e = EntryId::new(1, "S", "global", "k");
    put(&p, &e, Expect::Any, "1");
    let mut admin = raw_client(&url);
    let killed = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND application_name = 'profilestore'",
            &[],
        )
        .expect("terminate");
    assert!(
        !killed.is_empty(),
        "the plugin's pooled connection was there"
    );
    // The pooled connection is dead: a read and a commit each find out at
    // their first statement, reconnect and go on.
    assert_eq!(
        p.read_latest(&e)
            .expect("read after the kill")
            .expect("kept")
            .value,
        "1"
    );
    admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND application_name = 'profilestore'",
            &[],
        )
        .expect("terminate");
    assert!(matches!(
        put(&p, &e, Expect::Current(Some(1)), "2"),
        CommitOutcome::Committed(_)
    ));
}

#[test]
fn a_commit_blocked_past_statement_timeout_is_unavailable() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let url = db.url().to_owned();
    let options = PostgresOptions {
        statement_timeout: Duration::from_millis(300),
        durability: Durability::Off,
        ..PostgresOptions::default()
    };
    let p = PostgresPlugin::open(&url, options).expect("open");
    let e = EntryId::new(1, "S", "global", "k");
    put(&p, &e, Expect::Any, "1");
    // Another client holds the entry's head row locked.
    let mut other = raw_client(&url);
    let mut tx = other.transaction().expect("begin");
    tx.query("SELECT 1 FROM ps_entries FOR UPDATE", &[])
        .expect("lock");
    let started = Instant::now();
    let err = p
        .commit(&Commit {
            entry: e.clone(),
            expect: Expect::Any,
            now_ms: 1_700_000_000_001,
            supersede: Supersede::Keep,
            version: NewVersion::tombstone(),
        })
        .expect_err("the lock outlives the statement timeout");
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "bounded wait");
    tx.rollback().expect("release");
    assert!(!p.read_latest(&e).expect("read").expect("kept").info.deleted);
}

#[test]
fn a_connection_lost_during_commit_is_reported_as_maybe_applied() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let url = db.url().to_owned();
    let p = open(&url, Durability::Off);
    let e = EntryId::new(1, "S", "global", "k");
    put(&p, &e, Expect::Any, "1");
    // A deferred trigger runs inside COMMIT and kills its own backend
    // there: the client loses the connection while committing.
    let mut admin = raw_client(&url);
    admin
        .batch_execute(
            "CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;
             CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON ps_versions
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die();",
        )
        .expect("trigger");
    let err = p
        .commit(&Commit {
            entry: e.clone(),
            expect: Expect::Current(Some(1)),
            now_ms: 1_700_000_000_001,
            supersede: Supersede::Keep,
            version: NewVersion::tombstone(),
        })
        .expect_err("the connection died in COMMIT");
    match &err {
        StorageError::Unavailable(text) => {
            assert!(text.contains("may or may not have been applied"), "{text}");
        }
        other => panic!("an ambiguous commit must be Unavailable, got {other:?}"),
    }
    admin
        .batch_execute("DROP TRIGGER die_at_commit ON ps_versions")
        .expect("drop trigger");
    // The dead connection left the pool: the next calls work.
    let latest = p.read_latest(&e).expect("read").expect("kept");
    assert_eq!(
        latest.info.seq, 1,
        "the backend died before the commit landed"
    );
    assert!(matches!(
        put(&p, &e, Expect::Current(Some(1)), "2"),
        CommitOutcome::Committed(_)
    ));
}
