//! Ordered data stores through the Rust API (`OrderedService`): every
//! method, limit and error, on the local and the remote (engine API,
//! against a test server) backends alike. Paging: `ordered_pages.rs`.

mod support;

use profilestore::clock::Clock;
use profilestore::ordered::{
    OrderedError, OrderedExpect, OrderedOutcome, OrderedService, OrderedTransform,
};
use profilestore::plugin_api::EntryId;
use profilestore::remote::{RemoteClient, RemoteError};
use profilestore::testing::spawn_test_server;
use support::ordered::{backends, board, poke, remote, server_plugin};

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
        assert_eq!(create, OrderedOutcome::Written { previous: None }, "{name}");
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
        let any = ds
            .compare_and_set("k", OrderedExpect::Any, Some(1))
            .await
            .unwrap();
        assert_eq!(any, OrderedOutcome::Written { previous: Some(1) }, "{name}");
        let ok = ds
            .compare_and_set("k", OrderedExpect::Current(Some(1)), None)
            .await
            .unwrap();
        assert_eq!(ok, OrderedOutcome::Written { previous: Some(1) }, "{name}");
        assert_eq!(ds.get("k").await.unwrap(), None, "{name}");
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

#[tokio::test]
async fn storage_failures_are_storage_errors_and_store_nothing() {
    use profilestore::faults::FaultyPlugin;
    use profilestore::plugin_api::StorageError;
    use std::sync::Arc;
    let faulty = Arc::new(FaultyPlugin::new(Arc::new(
        profilestore_memory::MemoryPlugin::new(),
    )));
    let service = OrderedService::new(faulty.clone(), Clock::system());
    let ds = board(&service);
    ds.set("k", 1).await.unwrap();
    faulty.fail_next_commits(1);
    let e = ds.set("k", 2).await.unwrap_err();
    assert!(
        matches!(&e, OrderedError::Storage(StorageError::Unavailable(_))),
        "{e:?}"
    );
    assert!(!e.is_caller_error(), "worth retrying");
    assert_eq!(ds.get("k").await.unwrap(), Some(1), "nothing written");
    faulty.fail_next_commits(1);
    assert!(ds.increment("k", 5).await.is_err());
    assert_eq!(
        ds.increment("k", 5).await.unwrap(),
        6,
        "the retry counts once"
    );
    faulty.fail_all(true);
    for e in [
        ds.get("k").await.unwrap_err(),
        ds.get_sorted(true, 10, None, None).await.unwrap_err(),
        ds.batch_get(&["k".to_owned()]).await.unwrap_err(),
        ds.update("k", |_| OrderedTransform::Write(0))
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(e, OrderedError::Storage(_)), "{e:?}");
    }
    faulty.fail_all(false);
    assert_eq!(ds.get("k").await.unwrap(), Some(6));
}
