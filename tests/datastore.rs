//! Black-box tests of the DataStore layer: Roblox's semantics on the
//! in-memory reference plugin, on a manual clock.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use profilestore::clock::ManualClock;
use profilestore::datastore::{
    DataStore, DataStoreConfig, DataStoreError, DataStoreService, ListKeysOptions,
    ListVersionsOptions, Precondition, Retention, SetOutcome, SortOrder, Transform, VersionId,
    WriteOptions,
};
use profilestore::plugin_api::{NewVersion, StoragePlugin};
use serde_json::{json, Map, Value};
use support::world::{faulty_memory, memory, World, T0};

fn service_with(
    plugin: Arc<dyn StoragePlugin>,
    retention: Retention,
) -> (DataStoreService, ManualClock) {
    let config = DataStoreConfig {
        retention,
        ..DataStoreConfig::default()
    };
    let (world, hand) = World::manual(plugin, config);
    (world.datastores, hand)
}

fn setup() -> (DataStore, ManualClock) {
    let (service, hand) = service_with(memory(), Retention::PerWrite);
    (
        service.data_store(1, "Players", "global").expect("store"),
        hand,
    )
}

fn opts(user_ids: &[i64], metadata: Value) -> WriteOptions {
    WriteOptions {
        user_ids: user_ids.to_vec(),
        metadata: match metadata {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    }
}

fn write(value: Value) -> Transform {
    Transform::Write {
        value,
        options: WriteOptions::default(),
    }
}

async fn version_count(ds: &DataStore, key: &str) -> usize {
    ds.list_versions(key, &ListVersionsOptions::default())
        .await
        .expect("list")
        .items
        .len()
}

#[tokio::test]
async fn get_of_a_missing_key_is_none() {
    let (ds, _) = setup();
    assert!(ds.get("nobody").await.expect("get").is_none());
}

#[tokio::test]
async fn set_returns_key_info_and_get_reads_it_back() {
    let (ds, _) = setup();
    let info = ds
        .set("k", &json!({"Coins": 5}), &opts(&[1, 2], json!({"a": "b"})))
        .await
        .expect("set");
    let parsed = VersionId::parse(&info.version).expect("Roblox-shaped version id");
    assert_eq!(parsed.seq, 1);
    assert_eq!((info.created_ms, info.updated_ms), (T0, T0));
    let got = ds.get("k").await.expect("get").expect("present");
    assert_eq!(got.value, json!({"Coins": 5}));
    assert_eq!(got.info, info);
    assert_eq!(got.info.user_ids, vec![1, 2]);
    assert_eq!(got.info.metadata["a"], "b");
}

#[tokio::test]
async fn every_write_replaces_user_ids_and_metadata() {
    let (ds, hand) = setup();
    ds.set("k", &json!(1), &opts(&[1], json!({"a": 1})))
        .await
        .expect("set");
    hand.advance_ms(1000);
    ds.set("k", &json!(2), &WriteOptions::default())
        .await
        .expect("set");
    let got = ds.get("k").await.expect("get").expect("present");
    assert!(got.info.user_ids.is_empty());
    assert!(got.info.metadata.is_empty());
    assert_eq!(got.info.created_ms, T0, "created time is the key's");
    assert_eq!(got.info.updated_ms, T0 + 1000);
}

#[tokio::test]
async fn update_sees_current_value_and_key_info() {
    let (ds, _) = setup();
    ds.set("k", &json!(10), &opts(&[7], json!({"m": true})))
        .await
        .expect("set");
    let written = ds
        .update("k", |value, info| {
            let info = info.expect("key info of the current version");
            assert_eq!(info.user_ids, vec![7]);
            Transform::Write {
                value: json!(value.and_then(Value::as_i64).unwrap_or(0) + 1),
                options: WriteOptions {
                    user_ids: info.user_ids.clone(),
                    metadata: info.metadata.clone(),
                },
            }
        })
        .await
        .expect("update")
        .expect("written");
    assert_eq!(written.value, json!(11));
    assert_eq!(written.info.user_ids, vec![7]);
    assert_eq!(
        ds.get("k").await.expect("get").expect("present").value,
        json!(11)
    );
}

#[tokio::test]
async fn update_on_a_missing_or_deleted_key_sees_nothing() {
    let (ds, _) = setup();
    let mut saw = Vec::new();
    ds.update("k", |v, i| {
        saw.push((v.cloned(), i.is_some()));
        write(json!(1))
    })
    .await
    .expect("update");
    ds.remove("k").await.expect("remove");
    ds.update("k", |v, i| {
        saw.push((v.cloned(), i.is_some()));
        write(json!(2))
    })
    .await
    .expect("update");
    assert_eq!(saw, vec![(None, false), (None, false)]);
}

#[tokio::test]
async fn a_cancelled_update_writes_nothing() {
    let (ds, _) = setup();
    ds.set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    let out = ds
        .update("k", |_, _| Transform::Cancel)
        .await
        .expect("update");
    assert!(out.is_none());
    assert_eq!(version_count(&ds, "k").await, 1);
}

#[tokio::test]
async fn update_reruns_its_transform_on_the_winning_value_after_a_conflict() {
    let plugin = faulty_memory();
    let (service, _) = service_with(plugin.clone(), Retention::PerWrite);
    let ds = service.data_store(1, "Players", "global").expect("store");
    ds.set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    // Another writer commits 100 between the update's read and its write.
    plugin.write_before_next_commit(NewVersion {
        deleted: false,
        value: "100".to_owned(),
        user_ids: vec![],
        metadata: "{}".to_owned(),
    });
    let mut seen = Vec::new();
    let out = ds
        .update("k", |v, _| {
            let n = v.and_then(Value::as_i64).expect("an integer");
            seen.push(n);
            write(json!(n + 1))
        })
        .await
        .expect("update")
        .expect("written");
    assert_eq!(
        seen,
        vec![1, 100],
        "the first result was discarded and the transform re-ran"
    );
    assert_eq!(out.value, json!(101));
    assert_eq!(
        ds.get("k").await.expect("get").expect("present").value,
        json!(101)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_lose_no_increment() {
    let (ds, _) = setup();
    let runs = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let ds = ds.clone();
        let runs = Arc::clone(&runs);
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                ds.update("counter", |v, _| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    write(json!(v.and_then(Value::as_i64).unwrap_or(0) + 1))
                })
                .await
                .expect("update");
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(
        ds.get("counter")
            .await
            .expect("get")
            .expect("present")
            .value,
        json!(400)
    );
    assert!(runs.load(Ordering::SeqCst) >= 400);
    assert_eq!(version_count(&ds, "counter").await, 400);
}

#[tokio::test]
async fn increment_counts_from_zero_and_rejects_non_integers() {
    let (ds, _) = setup();
    let (v, info) = ds
        .increment("n", 5, &opts(&[3], json!({})))
        .await
        .expect("inc");
    assert_eq!(v, 5);
    assert_eq!(info.user_ids, vec![3]);
    assert_eq!(
        ds.increment("n", -7, &WriteOptions::default())
            .await
            .expect("inc")
            .0,
        -2
    );
    ds.set("f", &json!(5.0), &WriteOptions::default())
        .await
        .expect("set");
    assert_eq!(
        ds.increment("f", 1, &WriteOptions::default())
            .await
            .expect("inc")
            .0,
        6
    );
    ds.set("s", &json!("text"), &WriteOptions::default())
        .await
        .expect("set");
    assert!(matches!(
        ds.increment("s", 1, &WriteOptions::default()).await,
        Err(DataStoreError::ExistingValueNotNumeric)
    ));
    ds.set("x", &json!(1.5), &WriteOptions::default())
        .await
        .expect("set");
    assert!(ds
        .increment("x", 1, &WriteOptions::default())
        .await
        .is_err());
    ds.set("big", &json!(i64::MAX), &WriteOptions::default())
        .await
        .expect("set");
    assert!(matches!(
        ds.increment("big", 1, &WriteOptions::default()).await,
        Err(DataStoreError::IncrementOverflow)
    ));
    assert_eq!(
        version_count(&ds, "big").await,
        1,
        "a failed increment stores nothing"
    );
}

#[tokio::test]
async fn remove_writes_a_tombstone_and_returns_the_old_value() {
    let (ds, _) = setup();
    ds.set("k", &json!({"a": 1}), &WriteOptions::default())
        .await
        .expect("set");
    let old = ds
        .remove("k")
        .await
        .expect("remove")
        .expect("previous value");
    assert_eq!(old.value, json!({"a": 1}));
    assert!(ds.get("k").await.expect("get").is_none());
    assert!(
        ds.remove("k").await.expect("remove again").is_none(),
        "already removed: nil, nil"
    );
    let versions = ds
        .list_versions("k", &ListVersionsOptions::default())
        .await
        .expect("list");
    assert_eq!(
        versions.items.iter().map(|v| v.deleted).collect::<Vec<_>>(),
        vec![false, true]
    );
    // The old version is still readable by id.
    let first = &versions.items[0].version;
    assert_eq!(
        ds.get_version("k", first)
            .await
            .expect("get_version")
            .expect("v1")
            .value,
        json!({"a": 1})
    );
    // The tombstone version reads as nothing.
    assert!(ds
        .get_version("k", &versions.items[1].version)
        .await
        .expect("tombstone")
        .is_none());
}

#[tokio::test]
async fn version_ids_are_unique_and_unknown_ones_are_not_valid() {
    let (ds, hand) = setup();
    let mut ids = std::collections::BTreeSet::new();
    for i in 0..20 {
        hand.advance_ms(1);
        ids.insert(
            ds.set("k", &json!(i), &WriteOptions::default())
                .await
                .expect("set")
                .version,
        );
    }
    assert_eq!(ids.len(), 20);
    let err = ds.get_version("k", "not-a-version").await.unwrap_err();
    assert!(
        err.to_string().contains("not valid"),
        "ProfileStore matches 'not valid': {err}"
    );
    let future = VersionId {
        key_created_ms: T0,
        seq: 99,
        created_ms: T0,
    };
    assert!(matches!(
        ds.get_version("k", &future.to_string()).await,
        Err(DataStoreError::InvalidVersion(_))
    ));
}

#[tokio::test]
async fn get_version_at_time_finds_the_version_current_then() {
    let (ds, hand) = setup();
    ds.set("k", &json!("a"), &WriteOptions::default())
        .await
        .expect("set");
    hand.advance_ms(10_000);
    ds.set("k", &json!("b"), &WriteOptions::default())
        .await
        .expect("set");
    let at = |t| ds.get_version_at_time("k", t);
    assert!(at(T0 - 1).await.expect("before").is_none());
    assert_eq!(at(T0).await.expect("t0").expect("a").value, json!("a"));
    assert_eq!(
        at(T0 + 9_999).await.expect("t").expect("a").value,
        json!("a")
    );
    assert_eq!(
        at(T0 + 10_000).await.expect("t").expect("b").value,
        json!("b")
    );
    let now = T0 + 10_000;
    assert!(
        at(now + 600_000).await.is_ok(),
        "exactly ten minutes ahead is allowed"
    );
    assert!(matches!(
        at(now + 600_001).await,
        Err(DataStoreError::InvalidTimestamp)
    ));
    assert!(matches!(at(0).await, Err(DataStoreError::InvalidTimestamp)));
}

#[tokio::test]
async fn list_versions_orders_bounds_and_pages() {
    let (ds, hand) = setup();
    for i in 0..10 {
        ds.set("k", &json!(i), &WriteOptions::default())
            .await
            .expect("set");
        hand.advance_ms(1000);
    }
    let mut options = ListVersionsOptions {
        order: SortOrder::Descending,
        min_ms: Some(T0 + 2000),
        max_ms: Some(T0 + 8000),
        page_size: 3,
        cursor: None,
    };
    let mut seen = Vec::new();
    loop {
        let page = ds.list_versions("k", &options).await.expect("list");
        seen.extend(page.items.iter().map(|v| v.created_ms));
        match page.cursor {
            Some(c) => options.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (2..=8).rev().map(|i| T0 + i * 1000).collect::<Vec<_>>()
    );
    // A cursor from one listing is refused by another.
    let page = ds
        .list_versions(
            "k",
            &ListVersionsOptions {
                page_size: 2,
                ..ListVersionsOptions::default()
            },
        )
        .await
        .expect("list");
    let cursor = page.cursor.expect("more pages");
    let other = ListVersionsOptions {
        order: SortOrder::Descending,
        cursor: Some(cursor),
        page_size: 2,
        ..ListVersionsOptions::default()
    };
    assert!(matches!(
        ds.list_versions("k", &other).await,
        Err(DataStoreError::InvalidCursor)
    ));
    let garbage = ListVersionsOptions {
        cursor: Some("garbage".into()),
        ..ListVersionsOptions::default()
    };
    assert!(matches!(
        ds.list_versions("k", &garbage).await,
        Err(DataStoreError::InvalidCursor)
    ));
    let too_big = ListVersionsOptions {
        page_size: 1025,
        ..ListVersionsOptions::default()
    };
    assert!(ds.list_versions("k", &too_big).await.is_err());
}

#[tokio::test]
async fn list_keys_pages_with_prefix_and_deleted_filter() {
    let (ds, _) = setup();
    for i in 0..7 {
        ds.set(&format!("Player_{i}"), &json!(i), &WriteOptions::default())
            .await
            .expect("set");
    }
    ds.set("Other", &json!(0), &WriteOptions::default())
        .await
        .expect("set");
    ds.remove("Player_3").await.expect("remove");
    let mut options = ListKeysOptions {
        prefix: "Player_".into(),
        page_size: 2,
        ..ListKeysOptions::default()
    };
    let mut all = Vec::new();
    loop {
        let page = ds.list_keys(&options).await.expect("list");
        all.extend(page.items.iter().map(|k| k.key.clone()));
        match page.cursor {
            Some(c) => options.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(all.len(), 7, "deleted keys are listed by default: {all:?}");
    let live = ds
        .list_keys(&ListKeysOptions {
            prefix: "Player_".into(),
            exclude_deleted: true,
            ..ListKeysOptions::default()
        })
        .await
        .expect("list");
    assert!(!live.items.iter().any(|k| k.key == "Player_3"));
    assert_eq!(live.items.len(), 6);
}

#[tokio::test]
async fn all_scopes_addresses_scope_slash_key() {
    let (service, _) = service_with(memory(), Retention::PerWrite);
    let houses = service.data_store(1, "Houses", "houses").expect("store");
    houses
        .set("h1", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    let all = service
        .data_store_all_scopes(1, "Houses")
        .expect("all scopes");
    assert_eq!(
        all.get("houses/h1")
            .await
            .expect("get")
            .expect("present")
            .value,
        json!(1)
    );
    all.set("global/p1", &json!(2), &WriteOptions::default())
        .await
        .expect("set");
    let global = service.data_store(1, "Houses", "global").expect("store");
    assert_eq!(
        global.get("p1").await.expect("get").expect("present").value,
        json!(2)
    );
    let keys = all
        .list_keys(&ListKeysOptions::default())
        .await
        .expect("list");
    let names: Vec<String> = keys
        .items
        .iter()
        .map(|k| format!("{}/{}", k.scope, k.key))
        .collect();
    assert_eq!(names, vec!["global/p1", "houses/h1"]);
    let filtered = all
        .list_keys(&ListKeysOptions {
            prefix: "houses/".into(),
            ..ListKeysOptions::default()
        })
        .await
        .expect("list");
    assert_eq!(filtered.items.len(), 1);
    assert!(matches!(
        all.get("noslash").await,
        Err(DataStoreError::InvalidScope(_))
    ));
}

#[tokio::test]
async fn list_data_stores_shows_only_stores_with_entries() {
    let (service, _) = service_with(memory(), Retention::PerWrite);
    for name in ["A", "B", "C"] {
        let ds = service.data_store(1, name, "global").expect("store");
        ds.set("k", &json!(1), &WriteOptions::default())
            .await
            .expect("set");
    }
    let _unused = service.data_store(1, "Unused", "global").expect("store");
    let first = service
        .list_data_stores(1, "", 2, None)
        .await
        .expect("list");
    assert_eq!(
        first
            .items
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        vec!["A", "B"]
    );
    let rest = service
        .list_data_stores(1, "", 2, first.cursor.as_deref())
        .await
        .expect("list");
    assert_eq!(
        rest.items
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        vec!["C"]
    );
    assert!(rest.cursor.is_none());
}

#[tokio::test]
async fn exclusive_create_and_match_version() {
    let (ds, _) = setup();
    let v = json!(1);
    let none = WriteOptions::default();
    let first = ds
        .set_with("k", &v, &none, &Precondition::ExclusiveCreate)
        .await
        .expect("create");
    let SetOutcome::Written(info) = first else {
        panic!("fresh key must be created")
    };
    match ds
        .set_with("k", &json!(2), &none, &Precondition::ExclusiveCreate)
        .await
        .expect("set")
    {
        SetOutcome::PreconditionFailed { current: Some(c) } => assert_eq!(c.value, json!(1)),
        other => panic!("existing key must fail exclusive create: {other:?}"),
    }
    let matched = ds
        .set_with(
            "k",
            &json!(3),
            &none,
            &Precondition::MatchVersion(info.version.clone()),
        )
        .await
        .expect("match");
    assert!(matches!(matched, SetOutcome::Written(_)));
    let stale = ds
        .set_with(
            "k",
            &json!(4),
            &none,
            &Precondition::MatchVersion(info.version),
        )
        .await
        .expect("stale");
    assert!(matches!(
        stale,
        SetOutcome::PreconditionFailed { current: Some(_) }
    ));
    assert_eq!(
        ds.get("k").await.expect("get").expect("present").value,
        json!(3)
    );
    // A removed key can be created exclusively again.
    ds.remove("k").await.expect("remove");
    assert!(matches!(
        ds.set_with("k", &json!(5), &none, &Precondition::ExclusiveCreate)
            .await
            .expect("recreate"),
        SetOutcome::Written(_)
    ));
}

#[tokio::test]
async fn rejected_writes_store_nothing() {
    let (ds, _) = setup();
    let none = WriteOptions::default();
    assert_eq!(
        ds.set("", &json!(1), &none).await.unwrap_err().code(),
        Some(101)
    );
    assert_eq!(
        ds.set(&"k".repeat(51), &json!(1), &none)
            .await
            .unwrap_err()
            .code(),
        Some(102)
    );
    assert!(ds.set(&"k".repeat(50), &json!(1), &none).await.is_ok());
    let huge = Value::String("x".repeat(4_194_304 - 1));
    assert_eq!(
        ds.set("big", &huge, &none).await.unwrap_err().code(),
        Some(105)
    );
    let at_limit = Value::String("x".repeat(4_194_304 - 2));
    assert!(ds.set("fits", &at_limit, &none).await.is_ok());
    let five = opts(&[1, 2, 3, 4, 5], json!({}));
    assert_eq!(
        ds.set("u", &json!(1), &five).await.unwrap_err().code(),
        Some(512)
    );
    let meta = opts(&[], json!({"k": "v".repeat(249)}));
    assert_eq!(
        ds.set("m", &json!(1), &meta).await.unwrap_err().code(),
        Some(511)
    );
    let err = ds
        .update("u2", |_, _| Transform::Write {
            value: json!(1),
            options: opts(&[1, 2, 3, 4, 5], json!({})),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(512));
    for key in ["big", "u", "m", "u2"] {
        assert_eq!(version_count(&ds, key).await, 0, "{key} stored something");
    }
}

#[tokio::test]
async fn names_and_scopes_are_validated() {
    let (service, _) = service_with(memory(), Retention::PerWrite);
    assert!(service.data_store(1, "", "global").is_err());
    assert!(service.data_store(1, &"n".repeat(51), "global").is_err());
    assert!(service
        .data_store(1, &"n".repeat(50), &"s".repeat(50))
        .is_ok());
    assert!(service.data_store(1, "n", "").is_err());
    assert!(service.data_store(1, "n", &"s".repeat(51)).is_err());
}

#[tokio::test]
async fn per_utc_hour_keeps_one_version_per_hour() {
    let (service, hand) = service_with(memory(), Retention::PerUtcHour);
    let ds = service.data_store(1, "Players", "global").expect("store");
    hand.set_ms(T0 - T0.rem_euclid(3_600_000));
    for i in 0..3 {
        ds.set("k", &json!(i), &WriteOptions::default())
            .await
            .expect("set");
        hand.advance_ms(60_000);
    }
    hand.advance_ms(3_600_000);
    let last = ds
        .set("k", &json!(3), &WriteOptions::default())
        .await
        .expect("set");
    let versions = ds
        .list_versions("k", &ListVersionsOptions::default())
        .await
        .expect("list");
    assert_eq!(versions.items.len(), 2);
    assert_eq!(
        VersionId::parse(&last.version).expect("id").seq,
        4,
        "the sequence still advances"
    );
    let first = ds
        .get_version("k", &versions.items[0].version)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(
        first.value,
        json!(2),
        "later writes in the hour overwrite the backup"
    );
}

#[tokio::test]
async fn superseded_versions_expire_but_the_latest_never_does() {
    let (service, hand) = service_with(memory(), Retention::PerWrite);
    let ds = service.data_store(1, "Players", "global").expect("store");
    ds.set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    hand.advance_ms(1000);
    ds.set("k", &json!(2), &WriteOptions::default())
        .await
        .expect("set");
    ds.set("gone", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    ds.remove("gone").await.expect("remove");
    let day = 86_400_000;
    hand.advance_ms(29 * day);
    assert_eq!(service.purge_expired().await.expect("purge").versions, 0);
    hand.advance_ms(day + 1);
    let stats = service.purge_expired().await.expect("purge");
    assert_eq!((stats.versions, stats.entries), (3, 1));
    assert_eq!(version_count(&ds, "k").await, 1);
    assert_eq!(
        ds.get("k").await.expect("get").expect("latest").value,
        json!(2)
    );
    hand.advance_ms(365 * day);
    service.purge_expired().await.expect("purge");
    assert_eq!(
        ds.get("k").await.expect("get").expect("latest kept").value,
        json!(2)
    );
    let _ = Duration::ZERO;
}

#[tokio::test]
async fn remove_version_deletes_one_version_permanently() {
    let (ds, hand) = setup();
    let v1 = ds
        .set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set")
        .version;
    hand.advance_ms(1);
    ds.set("k", &json!(2), &WriteOptions::default())
        .await
        .expect("set");
    ds.remove_version("k", &v1).await.expect("remove_version");
    assert!(ds.get_version("k", &v1).await.expect("get").is_none());
    assert_eq!(version_count(&ds, "k").await, 1);
    assert!(ds.remove_version("k", &v1).await.is_err(), "already gone");
}
