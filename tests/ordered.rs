//! Ordered data stores through the Rust API (`OrderedService`): every
//! method, limit and error, paging, and the local and remote (engine API,
//! against a test server) backends giving the same answers.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use profilestore::clock::Clock;
use profilestore::ordered::{
    OrderedDataStore, OrderedEntry, OrderedError, OrderedExpect, OrderedOutcome, OrderedService,
    OrderedTransform, SortedQuery,
};
use profilestore::plugin_api::{EntryId, OrderedWrite, StoragePlugin};
use profilestore::remote::{RemoteClient, RemoteError};
use profilestore::testing::{spawn_test_server, TestServer};

fn local() -> (OrderedService, Arc<dyn StoragePlugin>) {
    let plugin: Arc<dyn StoragePlugin> = Arc::new(profilestore_memory::MemoryPlugin::new());
    (
        OrderedService::new(Arc::clone(&plugin), Clock::system()),
        plugin,
    )
}

fn remote(server: &TestServer) -> OrderedService {
    let client = RemoteClient::new(&server.url, Some(server.api_key.clone())).expect("client");
    OrderedService::remote(client, Clock::system())
}

fn server_plugin(server: &TestServer) -> Arc<dyn StoragePlugin> {
    Arc::clone(server.datastores.storage().expect("local storage").plugin())
}

/// Both backends, each with the plugin its data lands in.
async fn backends() -> (
    TestServer,
    Vec<(&'static str, OrderedService, Arc<dyn StoragePlugin>)>,
) {
    let server = spawn_test_server().await;
    let (service, plugin) = local();
    let remote = remote(&server);
    let server_side = server_plugin(&server);
    (
        server,
        vec![("local", service, plugin), ("remote", remote, server_side)],
    )
}

fn board(service: &OrderedService) -> OrderedDataStore {
    service.data_store(7, "Board", "global").expect("store")
}

fn poke(plugin: &Arc<dyn StoragePlugin>, key: &str, value: i64) {
    let write = OrderedWrite {
        entry: EntryId::new(7, "Board", "global", key),
        expect: OrderedExpect::Any,
        value: Some(value),
    };
    plugin.ordered_write(&write).expect("direct write");
}

#[tokio::test]
async fn get_set_remove_round_trip_on_both_backends() {
    let (server, all) = backends().await;
    for (name, service, plugin) in &all {
        let ds = board(service);
        assert_eq!(ds.get("alice").await.unwrap(), None, "{name}");
        ds.set("alice", 5).await.unwrap();
        assert_eq!(ds.get("alice").await.unwrap(), Some(5), "{name}");
        let stored = plugin
            .ordered_read(&EntryId::new(7, "Board", "global", "alice"))
            .unwrap();
        assert_eq!(stored, Some(5), "{name}: the write reached its storage");
        ds.set("alice", -3).await.unwrap();
        assert_eq!(ds.remove("alice").await.unwrap(), Some(-3), "{name}");
        assert_eq!(ds.get("alice").await.unwrap(), None, "{name}");
        assert_eq!(ds.remove("alice").await.unwrap(), None, "{name}");
        let other = service.data_store(7, "Board", "weekly").unwrap();
        ds.set("bob", 1).await.unwrap();
        assert_eq!(
            other.get("bob").await.unwrap(),
            None,
            "{name}: scopes are apart"
        );
        let universe = service.data_store(8, "Board", "global").unwrap();
        assert_eq!(
            universe.get("bob").await.unwrap(),
            None,
            "{name}: universes too"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn increment_counts_from_zero_and_refuses_overflow() {
    let (server, all) = backends().await;
    for (name, service, _) in &all {
        let ds = board(service);
        assert_eq!(ds.increment("c", 3).await.unwrap(), 3, "{name}");
        assert_eq!(ds.increment("c", -10).await.unwrap(), -7, "{name}");
        ds.set("big", i64::MAX - 1).await.unwrap();
        assert_eq!(ds.increment("big", 1).await.unwrap(), i64::MAX, "{name}");
        let e = ds.increment("big", 1).await.unwrap_err();
        assert!(
            matches!(e, OrderedError::IncrementOverflow),
            "{name}: {e:?}"
        );
        assert_eq!(
            ds.get("big").await.unwrap(),
            Some(i64::MAX),
            "{name}: nothing stored"
        );
        ds.set("small", i64::MIN).await.unwrap();
        let e = ds.increment("small", -1).await.unwrap_err();
        assert!(
            matches!(e, OrderedError::IncrementOverflow),
            "{name}: {e:?}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn update_writes_cancels_removes_and_reruns_on_conflict() {
    let (server, all) = backends().await;
    for (name, service, plugin) in &all {
        let ds = board(service);
        let mut seen = Vec::new();
        let v = ds
            .update("u", |cur| {
                seen.push(cur);
                OrderedTransform::Write(cur.unwrap_or(0) + 10)
            })
            .await
            .unwrap();
        assert_eq!((v, seen), (Some(10), vec![None]), "{name}");
        let v = ds.update("u", |_| OrderedTransform::Cancel).await.unwrap();
        assert_eq!(v, None, "{name}: a cancelled update returns nil");
        assert_eq!(
            ds.get("u").await.unwrap(),
            Some(10),
            "{name}: and writes nothing"
        );
        let outcome = ds
            .update_detailed("u", |_| OrderedTransform::Cancel)
            .await
            .unwrap();
        assert!(!outcome.written && outcome.value == Some(10), "{name}");
        // Another writer lands between the read and the write: the
        // transform runs again on the new value.
        let mut calls = Vec::new();
        let v = ds
            .update("u", |cur| {
                calls.push(cur);
                if calls.len() == 1 {
                    poke(plugin, "u", 100);
                }
                OrderedTransform::Write(cur.unwrap_or(0) + 1)
            })
            .await
            .unwrap();
        assert_eq!(calls, vec![Some(10), Some(100)], "{name}");
        assert_eq!(v, Some(101), "{name}");
        assert_eq!(ds.get("u").await.unwrap(), Some(101), "{name}");
        let v = ds.update("u", |_| OrderedTransform::Remove).await.unwrap();
        assert_eq!(v, None, "{name}");
        assert_eq!(ds.get("u").await.unwrap(), None, "{name}: removed");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn update_gives_up_on_a_key_that_always_conflicts() {
    let (server, all) = backends().await;
    for (name, service, plugin) in &all {
        let ds = board(service);
        let mut n = 0;
        let e = ds
            .update("hot", |_| {
                n += 1;
                poke(plugin, "hot", n);
                OrderedTransform::Write(-1)
            })
            .await
            .unwrap_err();
        let expected = if *name == "local" { 10_000 } else { 1000 };
        assert!(
            matches!(&e, OrderedError::TooManyConflicts { key, attempts } if key == "hot" && *attempts == expected),
            "{name}: {e:?}"
        );
        assert!(!e.is_caller_error());
        assert_ne!(
            ds.get("hot").await.unwrap(),
            Some(-1),
            "{name}: never written"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn compare_and_set_checks_the_expected_value() {
    let (server, all) = backends().await;
    for (name, service, _) in &all {
        let ds = board(service);
        let create = ds
            .compare_and_set("k", OrderedExpect::Current(None), Some(1))
            .await
            .unwrap();
        assert!(matches!(create, OrderedOutcome::Written { .. }), "{name}");
        let again = ds
            .compare_and_set("k", OrderedExpect::Current(None), Some(2))
            .await
            .unwrap();
        assert_eq!(
            again,
            OrderedOutcome::Conflict { current: Some(1) },
            "{name}"
        );
        let stale = ds
            .compare_and_set("k", OrderedExpect::Current(Some(5)), None)
            .await
            .unwrap();
        assert_eq!(
            stale,
            OrderedOutcome::Conflict { current: Some(1) },
            "{name}"
        );
        let ok = ds
            .compare_and_set("k", OrderedExpect::Current(Some(1)), None)
            .await
            .unwrap();
        assert!(matches!(ok, OrderedOutcome::Written { .. }), "{name}");
        assert_eq!(ds.get("k").await.unwrap(), None, "{name}");
    }
    server.shutdown().await;
}

/// 25 entries: values 0..=12 twice (keys `a..` and `b..`) minus one.
async fn seed(ds: &OrderedDataStore) -> Vec<OrderedEntry> {
    let mut all = Vec::new();
    for i in 0..25i64 {
        let key = format!("{}{:02}", if i % 2 == 0 { "a" } else { "b" }, i / 2);
        ds.set(&key, i / 2).await.unwrap();
        all.push(OrderedEntry { key, value: i / 2 });
    }
    all.sort_by(|x, y| (x.value, &x.key).cmp(&(y.value, &y.key)));
    all
}

async fn read_all(
    ds: &OrderedDataStore,
    ascending: bool,
    size: usize,
    min: Option<i64>,
    max: Option<i64>,
) -> (Vec<OrderedEntry>, Vec<usize>) {
    let mut pages = ds.get_sorted(ascending, size, min, max).await.unwrap();
    let mut all = pages.current_page().to_vec();
    let mut sizes = vec![pages.current_page().len()];
    while !pages.is_finished() {
        pages.advance().await.unwrap();
        all.extend(pages.current_page().iter().cloned());
        sizes.push(pages.current_page().len());
    }
    let e = pages.advance().await.unwrap_err();
    assert!(matches!(e, OrderedError::NoMorePages), "{e:?}");
    assert_eq!(e.to_string(), "No pages to advance to.");
    (all, sizes)
}

#[tokio::test]
async fn sorted_pages_follow_value_then_key_with_bounds() {
    let (server, all) = backends().await;
    for (name, service, _) in &all {
        let ds = board(service);
        let sorted = seed(&ds).await;
        let (asc, sizes) = read_all(&ds, true, 10, None, None).await;
        assert_eq!(asc, sorted, "{name}: ascending by value, then key");
        assert_eq!(sizes, vec![10, 10, 5], "{name}");
        let (desc, _) = read_all(&ds, false, 7, None, None).await;
        let mut reversed = sorted.clone();
        reversed.reverse();
        assert_eq!(desc, reversed, "{name}: descending reverses both");
        let (bounded, _) = read_all(&ds, true, 3, Some(4), Some(6)).await;
        let expected: Vec<_> = sorted
            .iter()
            .filter(|e| (4..=6).contains(&e.value))
            .cloned()
            .collect();
        assert_eq!(bounded, expected, "{name}: bounds are inclusive");
        let (one, sizes) = read_all(&ds, false, 100, Some(12), Some(12)).await;
        assert_eq!((one.len(), sizes), (1, vec![1]), "{name}: min == max");
        let (none, sizes) = read_all(&ds, true, 5, Some(50), None).await;
        assert!(
            none.is_empty() && sizes == vec![0],
            "{name}: empty range, one empty page"
        );
        // Exactly a page's worth: the page is the last one.
        let (exact, sizes) = read_all(&ds, true, 25, None, None).await;
        assert_eq!((exact.len(), sizes), (25, vec![25]), "{name}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_cursor_resumes_its_own_listing_only() {
    let (server, all) = backends().await;
    for (name, service, _) in &all {
        let ds = board(service);
        let sorted = seed(&ds).await;
        let query = SortedQuery {
            ascending: true,
            page_size: 4,
            min: None,
            max: None,
        };
        let first = ds.list(&query, None).await.unwrap();
        let cursor = first.cursor.clone().expect("more pages");
        let second = ds.list(&query, Some(&cursor)).await.unwrap();
        assert_eq!(second.entries, sorted[4..8], "{name}");
        // A write between pages does not repeat or skip the others.
        ds.remove(&sorted[9].key).await.unwrap();
        let third = ds.list(&query, second.cursor.as_deref()).await.unwrap();
        assert_eq!(third.entries[..1], sorted[8..9], "{name}");
        assert_eq!(third.entries[1..], sorted[10..13], "{name}");
        for other in [
            SortedQuery {
                ascending: false,
                ..query.clone()
            },
            SortedQuery {
                min: Some(1),
                ..query.clone()
            },
        ] {
            let e = ds.list(&other, Some(&cursor)).await.unwrap_err();
            assert!(matches!(e, OrderedError::InvalidCursor), "{name}: {e:?}");
        }
        let elsewhere = service.data_store(7, "Board", "weekly").unwrap();
        let e = elsewhere.list(&query, Some(&cursor)).await.unwrap_err();
        assert!(matches!(e, OrderedError::InvalidCursor), "{name}: {e:?}");
        let e = ds.list(&query, Some("garbage!")).await.unwrap_err();
        assert!(matches!(e, OrderedError::InvalidCursor), "{name}: {e:?}");
        // A different page size may resume (Roblox pages keep their size).
        let wider = SortedQuery {
            page_size: 100,
            ..query.clone()
        };
        let rest = ds.list(&wider, Some(&cursor)).await.unwrap();
        assert_eq!(rest.entries.len(), 20, "{name}");
        assert_eq!(rest.cursor, None, "{name}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn batch_get_leaves_out_absent_keys() {
    let (server, all) = backends().await;
    for (name, service, _) in &all {
        let ds = board(service);
        ds.set("coins", 100).await.unwrap();
        ds.set("gems", 50).await.unwrap();
        let keys: Vec<String> = ["coins", "gems", "nothing"].map(String::from).to_vec();
        let got = ds.batch_get(&keys).await.unwrap();
        let expected = BTreeMap::from([("coins".to_owned(), 100), ("gems".to_owned(), 50)]);
        assert_eq!(got, expected, "{name}");
        let hundred: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
        assert!(ds.batch_get(&hundred).await.unwrap().is_empty(), "{name}");
    }
    server.shutdown().await;
}

/// Every refused call, with its code; nothing is stored by any of them.
async fn refusals(service: &OrderedService) -> Vec<(String, Option<u16>)> {
    let ds = board(service);
    let long = "k".repeat(51);
    let mut out = Vec::new();
    let mut push = |r: Result<(), OrderedError>| {
        let e = r.expect_err("refused");
        assert!(e.is_caller_error(), "{e:?}");
        out.push((e.to_string(), e.code()));
    };
    push(ds.get("").await.map(drop));
    push(ds.get(&long).await.map(drop));
    push(ds.set("", 1).await);
    push(ds.set(&long, 1).await);
    push(ds.increment("", 1).await.map(drop));
    push(ds.remove(&long).await.map(drop));
    push(
        ds.update("", |_| OrderedTransform::Write(1))
            .await
            .map(drop),
    );
    for size in [0, 101, 1000] {
        push(ds.get_sorted(true, size, None, None).await.map(drop));
    }
    push(ds.get_sorted(true, 10, Some(5), Some(4)).await.map(drop));
    push(ds.batch_get(&[]).await.map(drop));
    let many: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
    push(ds.batch_get(&many).await.map(drop));
    push(
        ds.batch_get(&["ok".to_owned(), long.clone()])
            .await
            .map(drop),
    );
    push(service.data_store(7, "", "global").map(drop));
    push(service.data_store(7, &long, "global").map(drop));
    push(service.data_store(7, "Board", "").map(drop));
    push(service.data_store(7, "Board", &long).map(drop));
    let (asc, _) = (ds.get_sorted(true, 100, None, None).await.unwrap(), ());
    assert!(asc.current_page().is_empty(), "nothing was stored");
    out
}

#[tokio::test]
async fn limits_and_errors_are_roblox_s_and_the_same_on_both_backends() {
    let (server, all) = backends().await;
    let local = refusals(&all[0].1).await;
    let remote = refusals(&all[1].1).await;
    assert_eq!(
        local, remote,
        "the remote backend checks first, with the same rules"
    );
    let codes: Vec<Option<u16>> = local.iter().map(|(_, c)| *c).collect();
    assert_eq!(
        codes,
        [
            [
                Some(101),
                Some(102),
                Some(101),
                Some(102),
                Some(101),
                Some(102),
                Some(101)
            ]
            .as_slice(),
            &[Some(106), Some(106), Some(106), Some(107)],
            &[None, None, Some(102), None, None, None, None],
        ]
        .concat()
    );
    assert_eq!(local[0].0, "101: Key name can't be empty.");
    assert!(
        local[1]
            .0
            .starts_with("102: Key name exceeds the 50 character limit"),
        "{}",
        local[1].0
    );
    assert_eq!(
        local[7].0,
        "106: PageSize must be within a predefined range."
    );
    assert_eq!(
        local[10].0,
        "107: MaxValue must be greater than or equal to MinValue."
    );
    assert_eq!(local[11].0, "BatchGetAsync takes 1 to 100 keys (got 0).");
    assert_eq!(local[12].0, "BatchGetAsync takes 1 to 100 keys (got 101).");
    server.shutdown().await;
}

#[tokio::test]
async fn fifty_byte_keys_and_odd_characters_work_on_both_backends() {
    let (server, all) = backends().await;
    for (name, service, _) in &all {
        let ds = board(service);
        let keys = [
            "k".repeat(50),
            "é".repeat(25),
            "a/b".to_owned(),
            "x:increment".to_owned(),
            "100%".to_owned(),
            "..".to_owned(),
            "sp ace+plus?q=1#h".to_owned(),
        ];
        for (i, key) in keys.iter().enumerate() {
            let i = i64::try_from(i).unwrap();
            ds.set(key, i).await.unwrap();
            assert_eq!(
                ds.increment(key, 10).await.unwrap(),
                i + 10,
                "{name}: {key}"
            );
            assert_eq!(ds.get(key).await.unwrap(), Some(i + 10), "{name}: {key}");
        }
        let got = ds.batch_get(&keys).await.unwrap();
        assert_eq!(got.len(), keys.len(), "{name}");
        let pages = ds.get_sorted(true, 100, None, None).await.unwrap();
        let listed: Vec<&str> = pages
            .current_page()
            .iter()
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(
            listed,
            keys.iter().map(String::as_str).collect::<Vec<_>>(),
            "{name}"
        );
        for key in &keys {
            assert!(ds.remove(key).await.unwrap().is_some(), "{name}: {key}");
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_scripted_session_gives_the_same_answers_locally_and_remotely() {
    let (server, all) = backends().await;
    let mut transcripts = Vec::new();
    for (_, service, _) in &all {
        let ds = service.data_store(3, "Wins", "season-1").unwrap();
        let mut t: Vec<String> = Vec::new();
        for (i, player) in ["p1", "p2", "p3", "p4", "p5"].iter().enumerate() {
            let i = i64::try_from(i).unwrap();
            t.push(format!("{:?}", ds.increment(player, i * 3 - 4).await));
        }
        t.push(format!("{:?}", ds.set("p3", 42).await));
        t.push(format!(
            "{:?}",
            ds.update("p2", |c| OrderedTransform::Write(c.unwrap_or(0) * 2))
                .await
        ));
        t.push(format!("{:?}", ds.remove("p5").await));
        t.push(format!("{:?}", ds.get("p5").await));
        let keys: Vec<String> = ["p1", "p5", "p9", "p3"].map(String::from).to_vec();
        t.push(format!("{:?}", ds.batch_get(&keys).await));
        let mut pages = ds.get_sorted(false, 2, Some(-10), Some(100)).await.unwrap();
        loop {
            t.push(format!(
                "{:?} {}",
                pages.current_page(),
                pages.is_finished()
            ));
            if pages.is_finished() {
                break;
            }
            pages.advance().await.unwrap();
        }
        t.push(format!(
            "{:?}",
            ds.get_sorted(true, 0, None, None).await.map(drop)
        ));
        transcripts.push(t);
    }
    assert_eq!(transcripts[0], transcripts[1]);
    assert!(
        transcripts[0]
            .iter()
            .any(|l| l.contains("\"p3\", value: 42")),
        "{:?}",
        transcripts[0]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn remote_reads_what_the_server_holds_and_reports_a_wrong_key() {
    let server = spawn_test_server().await;
    let plugin = server_plugin(&server);
    poke(&plugin, "seeded", 9);
    let ds = board(&remote(&server));
    assert_eq!(ds.get("seeded").await.unwrap(), Some(9));
    // An ordered entry and a standard entry of the same name are apart.
    let standard = server.datastores.data_store(7, "Board", "global").unwrap();
    standard
        .set("seeded", &serde_json::json!("text"), &Default::default())
        .await
        .unwrap();
    assert_eq!(ds.get("seeded").await.unwrap(), Some(9));
    let client = RemoteClient::new(&server.url, Some("wrong".to_owned())).unwrap();
    let wrong = board(&OrderedService::remote(client, Clock::system()));
    let e = wrong.get("seeded").await.unwrap_err();
    assert!(
        matches!(e, OrderedError::Remote(RemoteError::Unauthorized { .. })),
        "{e:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_error() {
    let server = spawn_test_server().await;
    let service = remote(&server);
    server.shutdown().await;
    let e = board(&service).get("k").await.unwrap_err();
    assert!(
        matches!(e, OrderedError::Remote(_)) && !e.is_caller_error(),
        "{e:?}"
    );
}
