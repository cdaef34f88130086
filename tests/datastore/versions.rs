//! Versions of a key: ids, reads by id and by time, listings and removal
//! of one version.

use profilestore::datastore::{
    DataStoreError, ListVersionsOptions, SortOrder, VersionId, WriteOptions,
};
use serde_json::json;

use super::{setup, version_count};
use crate::support::world::T0;

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
