//! Data store management through the Rust API on simulated time: delete
//! (30-day expiry, entries blocked), undelete (data intact), the purge
//! after the expiry (the name is free again), listings with `show_deleted`,
//! once-a-UTC-day snapshots and the version a snapshot keeps under
//! `per_utc_hour` retention; and the remote backend giving the same answers.

mod support;

use std::sync::Arc;

use profilestore::clock::Clock;
use profilestore::datastore::{
    DataStore, DataStoreError, DataStoreService, ListKeysOptions, ListStoresOptions,
    ListVersionsOptions, Retention, StoreState, Transform, WriteOptions,
};
use profilestore::plugin_api::StoragePlugin;
use profilestore::remote::RemoteClient;
use profilestore::testing::spawn_test_server;
use serde_json::{json, Value};
use support::world::{memory, service_with, T0, UNIVERSE};

const DAY: i64 = 86_400_000;
const MIN: i64 = 60_000;

fn none() -> WriteOptions {
    WriteOptions::default()
}

fn store(service: &DataStoreService, name: &str) -> DataStore {
    service.data_store(UNIVERSE, name, "global").expect("store")
}

async fn names(service: &DataStoreService, show_deleted: bool) -> Vec<(String, StoreState)> {
    let options = ListStoresOptions {
        show_deleted,
        page_size: 100,
        ..ListStoresOptions::default()
    };
    let page = service
        .list_data_stores_with(UNIVERSE, &options)
        .await
        .expect("list");
    page.items.into_iter().map(|s| (s.name, s.state)).collect()
}

fn is_deleted<T: std::fmt::Debug>(r: &Result<T, DataStoreError>, name: &str) -> bool {
    matches!(r, Err(DataStoreError::DataStoreDeleted { name: n }) if n == name)
}

/// Every entry call on `ds` fails with `DataStoreDeleted`.
async fn assert_blocked(ds: &DataStore) {
    let name = ds.name().to_owned();
    assert!(is_deleted(&ds.get("a").await, &name));
    assert!(is_deleted(&ds.set("a", &json!(1), &none()).await, &name));
    assert!(is_deleted(
        &ds.update("a", |_, _| Transform::Cancel).await,
        &name
    ));
    assert!(is_deleted(&ds.increment("n", 1, &none()).await, &name));
    assert!(is_deleted(&ds.remove("a").await, &name));
    assert!(is_deleted(
        &ds.list_keys(&ListKeysOptions::default()).await,
        &name
    ));
    assert!(is_deleted(
        &ds.list_versions("a", &ListVersionsOptions::default()).await,
        &name
    ));
}

#[tokio::test]
async fn delete_hides_the_store_and_blocks_every_entry_call() {
    let (service, hand) = service_with(memory(), Retention::PerWrite);
    let bag = store(&service, "Bag");
    bag.set("a", &json!({"gold": 5}), &none()).await.unwrap();
    store(&service, "Other")
        .set("x", &json!(1), &none())
        .await
        .unwrap();
    hand.advance_ms(MIN);

    let status = service.delete_data_store(UNIVERSE, "Bag").await.unwrap();
    assert_eq!(status.state, StoreState::Deleted);
    assert_eq!(status.created_ms, T0);
    assert_eq!(status.expire_ms, Some(T0 + MIN + 30 * DAY));
    assert_blocked(&bag).await;
    // Another scope of the same store is blocked too; another store is not.
    let scoped = service.data_store(UNIVERSE, "Bag", "other").unwrap();
    assert!(is_deleted(&scoped.get("a").await, "Bag"));
    assert_eq!(
        store(&service, "Other")
            .get("x")
            .await
            .unwrap()
            .unwrap()
            .value,
        json!(1)
    );

    assert_eq!(
        names(&service, false).await,
        [("Other".into(), StoreState::Active)]
    );
    assert_eq!(
        names(&service, true).await,
        [
            ("Bag".into(), StoreState::Deleted),
            ("Other".into(), StoreState::Active)
        ]
    );
    let v1 = service
        .list_data_stores(UNIVERSE, "", 0, None)
        .await
        .unwrap();
    let v1: Vec<&str> = v1.items.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(v1, ["Other"], "ListDataStoresAsync hides deleted stores");

    // Deleting again does nothing: the first expiry stays.
    hand.advance_ms(DAY);
    let again = service.delete_data_store(UNIVERSE, "Bag").await.unwrap();
    assert_eq!(again, status);
}

#[tokio::test]
async fn the_deleted_state_survives_a_new_service_on_the_same_database() {
    let plugin = memory();
    let (service, _hand) = service_with(plugin.clone(), Retention::PerWrite);
    store(&service, "Bag")
        .set("a", &json!(1), &none())
        .await
        .unwrap();
    service.delete_data_store(UNIVERSE, "Bag").await.unwrap();
    // A restarted process reads the meta records once.
    let (restarted, _hand) = service_with(plugin as Arc<dyn StoragePlugin>, Retention::PerWrite);
    assert_blocked(&store(&restarted, "Bag")).await;
    assert_eq!(names(&restarted, true).await[0].1, StoreState::Deleted);
}

/// Two nodes on one database: with `shared_state_refresh`, a delete made
/// through one is refused by the other once the interval passed (and the
/// undelete likewise); without it, the other keeps its cached state.
#[tokio::test]
async fn a_delete_reaches_another_node_within_the_refresh_interval() {
    use profilestore::datastore::DataStoreConfig;
    let plugin: Arc<dyn StoragePlugin> = memory();
    let (clock, hand) = Clock::manual(T0);
    let shared = DataStoreConfig {
        shared_state_refresh: Some(std::time::Duration::from_secs(1)),
        ..DataStoreConfig::default()
    };
    let one = DataStoreService::new(Arc::clone(&plugin), clock.clone(), shared.clone());
    let two = DataStoreService::new(Arc::clone(&plugin), clock.clone(), shared);
    let alone = DataStoreService::new(plugin, clock, DataStoreConfig::default());
    for node in [&one, &two, &alone] {
        store(node, "Bag")
            .set("a", &json!(1), &none())
            .await
            .expect("set");
    }
    one.delete_data_store(UNIVERSE, "Bag")
        .await
        .expect("delete");
    store(&two, "Bag")
        .set("a", &json!(2), &none())
        .await
        .expect("within the interval the other node still has its cached state");
    hand.advance_ms(1000);
    assert_blocked(&store(&two, "Bag")).await;
    assert!(
        store(&alone, "Bag").get("a").await.is_ok(),
        "a service without the refresh reads its state once"
    );
    one.undelete_data_store(UNIVERSE, "Bag")
        .await
        .expect("undelete");
    hand.advance_ms(1000);
    let got = store(&two, "Bag").get("a").await.expect("live again");
    assert_eq!(got.map(|e| e.value), Some(json!(2)));
}

#[tokio::test]
async fn undelete_restores_entries_and_versions_intact() {
    let (service, hand) = service_with(memory(), Retention::PerWrite);
    let bag = store(&service, "Bag");
    bag.set("a", &json!(1), &none()).await.unwrap();
    hand.advance_ms(MIN);
    bag.set("a", &json!(2), &none()).await.unwrap();
    bag.set("b", &json!("x"), &none()).await.unwrap();
    service.delete_data_store(UNIVERSE, "Bag").await.unwrap();
    hand.advance_ms(10 * DAY);

    let status = service.undelete_data_store(UNIVERSE, "Bag").await.unwrap();
    assert_eq!(status.state, StoreState::Active);
    assert_eq!(status.expire_ms, None);
    assert_eq!(status.created_ms, T0);
    assert_eq!(bag.get("a").await.unwrap().unwrap().value, json!(2));
    assert_eq!(bag.get("b").await.unwrap().unwrap().value, json!("x"));
    let versions = bag
        .list_versions("a", &ListVersionsOptions::default())
        .await
        .unwrap();
    assert_eq!(versions.items.len(), 2);
    bag.set("c", &json!(3), &none()).await.unwrap();
    assert_eq!(
        names(&service, false).await,
        [("Bag".into(), StoreState::Active)]
    );

    assert!(matches!(
        service.undelete_data_store(UNIVERSE, "Bag").await,
        Err(DataStoreError::DataStoreNotDeleted { .. })
    ));
    assert!(matches!(
        service.undelete_data_store(UNIVERSE, "Nope").await,
        Err(DataStoreError::DataStoreNotFound { .. })
    ));
    assert!(matches!(
        service.delete_data_store(UNIVERSE, "Nope").await,
        Err(DataStoreError::DataStoreNotFound { .. })
    ));
    assert!(matches!(
        service.delete_data_store(UNIVERSE, "").await,
        Err(DataStoreError::InvalidDataStoreName(_))
    ));
}

#[tokio::test]
async fn the_purge_after_thirty_days_removes_the_store_and_frees_its_name() {
    let (service, hand) = service_with(memory(), Retention::PerWrite);
    let bag = store(&service, "Bag");
    bag.set("a", &json!(1), &none()).await.unwrap();
    bag.set("b", &json!(2), &none()).await.unwrap();
    service.delete_data_store(UNIVERSE, "Bag").await.unwrap();

    hand.advance_ms(30 * DAY - 1);
    service.purge_expired().await.unwrap();
    assert_eq!(names(&service, true).await.len(), 1, "not yet expired");

    hand.advance_ms(1);
    assert!(
        matches!(
            service.undelete_data_store(UNIVERSE, "Bag").await,
            Err(DataStoreError::DataStoreNotFound { .. })
        ),
        "an expired store cannot be undeleted"
    );
    let stats = service.purge_expired().await.unwrap();
    assert!(stats.entries >= 2, "{stats:?}");
    assert!(names(&service, true).await.is_empty());

    // The name is free: a new store with no trace of the old one.
    assert_eq!(bag.get("a").await.unwrap(), None);
    bag.set("z", &json!(9), &none()).await.unwrap();
    let listed = service
        .list_data_stores_with(UNIVERSE, &ListStoresOptions::default())
        .await
        .unwrap();
    assert_eq!(listed.items[0].created_ms, T0 + 30 * DAY);
    assert_eq!(listed.items[0].state, StoreState::Active);
    let keys = bag.list_keys(&ListKeysOptions::default()).await.unwrap();
    assert_eq!(keys.items.len(), 1);
}

#[tokio::test]
async fn a_snapshot_is_taken_once_per_utc_day() {
    let (service, hand) = service_with(memory(), Retention::PerWrite);
    let first = service.snapshot(UNIVERSE).await.unwrap();
    assert!(first.new_snapshot_taken);
    assert_eq!(first.latest_ms, T0);
    // T0 is 22:13 UTC: an hour later is the same day.
    hand.advance_ms(60 * MIN);
    let same_day = service.snapshot(UNIVERSE).await.unwrap();
    assert!(!same_day.new_snapshot_taken);
    assert_eq!(same_day.latest_ms, T0);
    // Another universe has its own day.
    assert!(
        service
            .snapshot(UNIVERSE + 1)
            .await
            .unwrap()
            .new_snapshot_taken
    );
    // 01:13 the next UTC day.
    hand.advance_ms(2 * 60 * MIN);
    let next_day = service.snapshot(UNIVERSE).await.unwrap();
    assert!(next_day.new_snapshot_taken);
    assert_eq!(next_day.latest_ms, T0 + 3 * 60 * MIN);
}

async fn values(ds: &DataStore, key: &str) -> Vec<Value> {
    let options = ListVersionsOptions::default();
    let mut out = Vec::new();
    for v in ds.list_versions(key, &options).await.unwrap().items {
        out.push(
            ds.get_version(key, &v.version)
                .await
                .unwrap()
                .unwrap()
                .value,
        );
    }
    out
}

#[tokio::test]
async fn after_a_snapshot_the_next_write_keeps_the_previous_version() {
    let (service, hand) = service_with(memory(), Retention::PerUtcHour);
    let ds = store(&service, "Bag");
    ds.set("k", &json!(1), &none()).await.unwrap();
    hand.advance_ms(MIN);
    // Without a snapshot, a write in the same UTC hour replaces the version.
    ds.set("k", &json!(2), &none()).await.unwrap();
    assert_eq!(values(&ds, "k").await, [json!(2)]);

    hand.advance_ms(MIN);
    assert!(service.snapshot(UNIVERSE).await.unwrap().new_snapshot_taken);
    hand.advance_ms(MIN);
    // The first write after the snapshot keeps the pre-snapshot version...
    ds.set("k", &json!(3), &none()).await.unwrap();
    assert_eq!(values(&ds, "k").await, [json!(2), json!(3)]);
    // ...and later writes that hour replace only post-snapshot versions.
    hand.advance_ms(MIN);
    ds.update("k", |_, _| Transform::Write {
        value: json!(4),
        options: none(),
    })
    .await
    .unwrap();
    assert_eq!(values(&ds, "k").await, [json!(2), json!(4)]);
    // A snapshot in another universe changes nothing here.
    let other = service.data_store(UNIVERSE + 1, "Bag", "global").unwrap();
    other.set("k", &json!(1), &none()).await.unwrap();
    service.snapshot(UNIVERSE).await.unwrap();
    hand.advance_ms(MIN);
    other.set("k", &json!(2), &none()).await.unwrap();
    assert_eq!(values(&other, "k").await, [json!(2)]);
}

#[tokio::test]
async fn listing_pages_with_prefix_and_show_deleted() {
    let (service, _hand) = service_with(memory(), Retention::PerWrite);
    for name in ["a1", "a2", "a3", "a4", "b1"] {
        store(&service, name)
            .set("k", &json!(1), &none())
            .await
            .unwrap();
    }
    service.delete_data_store(UNIVERSE, "a2").await.unwrap();
    let mut options = ListStoresOptions {
        prefix: "a".into(),
        page_size: 2,
        ..ListStoresOptions::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = service
            .list_data_stores_with(UNIVERSE, &options)
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|s| s.name));
        match page.cursor {
            Some(c) => options.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["a1", "a3", "a4"]);
    // A cursor belongs to its listing: with show_deleted it is refused.
    let first = service
        .list_data_stores_with(
            UNIVERSE,
            &ListStoresOptions {
                page_size: 1,
                ..ListStoresOptions::default()
            },
        )
        .await
        .unwrap();
    let other = ListStoresOptions {
        page_size: 1,
        show_deleted: true,
        cursor: first.cursor,
        ..ListStoresOptions::default()
    };
    assert!(matches!(
        service.list_data_stores_with(UNIVERSE, &other).await,
        Err(DataStoreError::InvalidCursor)
    ));
}

#[tokio::test]
async fn the_remote_backend_gives_the_same_answers() {
    let server = spawn_test_server().await;
    let client = RemoteClient::new(&server.url, Some(server.api_key.clone())).unwrap();
    let service = DataStoreService::remote(client, Clock::system());
    let bag = store(&service, "Bag");
    bag.set("a", &json!(1), &none()).await.unwrap();
    store(&service, "Other")
        .set("x", &json!(1), &none())
        .await
        .unwrap();

    let deleted = service.delete_data_store(UNIVERSE, "Bag").await.unwrap();
    assert_eq!(deleted.state, StoreState::Deleted);
    let expire = deleted.expire_ms.expect("expireTime");
    assert!((expire - deleted.created_ms - 30 * DAY).abs() < 60_000);
    assert_eq!(
        service.delete_data_store(UNIVERSE, "Bag").await.unwrap(),
        deleted
    );
    assert_blocked(&bag).await;
    assert_eq!(
        names(&service, false).await,
        [("Other".into(), StoreState::Active)]
    );
    assert_eq!(names(&service, true).await.len(), 2);

    let restored = service.undelete_data_store(UNIVERSE, "Bag").await.unwrap();
    assert_eq!(restored.state, StoreState::Active);
    assert_eq!(restored.expire_ms, None);
    assert_eq!(bag.get("a").await.unwrap().unwrap().value, json!(1));
    assert!(matches!(
        service.undelete_data_store(UNIVERSE, "Bag").await,
        Err(DataStoreError::DataStoreNotDeleted { .. })
    ));
    assert!(matches!(
        service.delete_data_store(UNIVERSE, "Nope").await,
        Err(DataStoreError::DataStoreNotFound { .. })
    ));
    assert!(matches!(
        service.undelete_data_store(UNIVERSE, "Nope").await,
        Err(DataStoreError::DataStoreNotFound { .. })
    ));

    let first = service.snapshot(UNIVERSE).await.unwrap();
    assert!(first.new_snapshot_taken);
    let second = service.snapshot(UNIVERSE).await.unwrap();
    assert!(!second.new_snapshot_taken);
    assert_eq!(second.latest_ms, first.latest_ms);
}

#[tokio::test]
async fn entry_calls_read_the_state_from_the_cache_not_from_storage() {
    let plugin = memory();
    let (service, _hand) = service_with(plugin.clone(), Retention::PerWrite);
    let bag = store(&service, "Bag");
    bag.set("a", &json!(1), &none()).await.unwrap();
    // Another process marks the store deleted behind this service's back:
    // this service keeps its cached state (no meta read per entry call)...
    let record = r#"{"state":"DELETED","createdMs":0,"deletedMs":0,"expireMs":9000000000000}"#;
    plugin
        .write_meta(&format!("datastore-state/{UNIVERSE}/Bag"), Some(record))
        .unwrap();
    assert_eq!(bag.get("a").await.unwrap().unwrap().value, json!(1));
    // ...and a service started afterwards sees it.
    let (later, _hand) = service_with(plugin, Retention::PerWrite);
    assert!(is_deleted(&store(&later, "Bag").get("a").await, "Bag"));
}

#[tokio::test]
async fn a_page_hiding_deleted_stores_checks_at_most_512() {
    let (service, _hand) = service_with(memory(), Retention::PerWrite);
    for i in 0..600 {
        let name = format!("d{i:03}");
        store(&service, &name)
            .set("k", &json!(1), &none())
            .await
            .unwrap();
        service.delete_data_store(UNIVERSE, &name).await.unwrap();
    }
    store(&service, "live")
        .set("k", &json!(1), &none())
        .await
        .unwrap();
    let mut options = ListStoresOptions::default();
    let first = service
        .list_data_stores_with(UNIVERSE, &options)
        .await
        .unwrap();
    assert!(
        first.items.is_empty(),
        "512 deleted stores checked, none shown"
    );
    options.cursor = Some(first.cursor.expect("a token to go on with"));
    let second = service
        .list_data_stores_with(UNIVERSE, &options)
        .await
        .unwrap();
    let names: Vec<&str> = second.items.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["live"]);
    assert_eq!(second.cursor, None);
}
