//! The sorted reads of ordered data stores are index range scans of
//! `ps_ordered_by_value`: both ends are index conditions and the index
//! gives the order (no sort, no sequential scan), with the planner's
//! custom plans and with the generic plans prepared statements move to.
//! Skipped without a test server.

use profilestore_plugin_api::Durability;
use profilestore_postgres::test_server::{open, raw_client, TestDatabase, ORDERED_RANGE_SQL};

#[test]
fn ordered_ranges_are_index_range_scans() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let url = db.url().to_owned();
    drop(open(&url, Durability::Off));
    let mut c = raw_client(&url);
    // 3 scopes of 5 000 entries, so a scan of the table would cost more.
    c.batch_execute(
        "INSERT INTO ps_ordered (universe, store, scope, key, value)
         SELECT 1, 'Board'::bytea, convert_to('s' || (i % 3), 'UTF8'),
                convert_to('k' || i, 'UTF8'), (i * 7919) % 10007 - 5000
         FROM generate_series(1, 15000) AS i;
         ANALYZE ps_ordered;",
    )
    .expect("fill");
    let (u, store, scope, key) = (
        1i64,
        b"Board".as_slice(),
        b"s1".as_slice(),
        b"k10".as_slice(),
    );
    for mode in ["auto", "force_generic_plan"] {
        c.batch_execute(&format!("SET plan_cache_mode = {mode}"))
            .expect("mode");
        for (i, sql) in ORDERED_RANGE_SQL.iter().enumerate() {
            let explain = format!("EXPLAIN {sql}");
            let (a, b, limit) = (-100i64, 100i64, 11i64);
            let rows = if i < 2 {
                c.query(&explain, &[&u, &store, &scope, &a, &b, &limit])
            } else {
                c.query(&explain, &[&u, &store, &scope, &a, &key, &b, &limit])
            }
            .expect("explain");
            let plan: Vec<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
            let all = plan.join("\n");
            assert!(
                all.contains("Index Only Scan") && all.contains("ps_ordered_by_value"),
                "{mode}, statement {i}: an index-only scan of the value index:\n{all}"
            );
            assert!(!all.contains("Seq Scan"), "{mode}, statement {i}:\n{all}");
            assert!(
                !all.contains("Sort"),
                "{mode}, statement {i}: no sort step:\n{all}"
            );
            let cond = plan
                .iter()
                .find(|l| l.contains("Index Cond"))
                .unwrap_or_else(|| panic!("no index condition:\n{all}"));
            assert!(
                cond.contains("scope =") && cond.contains('>') && cond.contains('<'),
                "{mode}, statement {i}: the scope and both ends are index conditions:\n{all}"
            );
            assert!(
                !all.contains("Filter"),
                "{mode}, statement {i}: nothing filtered:\n{all}"
            );
        }
    }
}

#[test]
fn log_reads_are_primary_key_range_scans() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let url = db.url().to_owned();
    drop(open(&url, Durability::Off));
    let mut c = raw_client(&url);
    c.batch_execute(
        "INSERT INTO ps_log (seq, topic, data, sent_ms)
         SELECT i, 't'::bytea, '1'::bytea, i FROM generate_series(1, 20000) AS i;
         ANALYZE ps_log;",
    )
    .expect("fill");
    let rows = c
        .query(
            "EXPLAIN SELECT seq, topic, data, sent_ms FROM ps_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&19000i64, &100i64],
        )
        .expect("explain");
    let all: Vec<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
    let all = all.join("\n");
    assert!(all.contains("Index Scan using ps_log_pkey"), "{all}");
    assert!(!all.contains("Sort") && !all.contains("Seq Scan"), "{all}");
}
