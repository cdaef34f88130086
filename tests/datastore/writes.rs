//! Reads and writes of one key: get, set, update (its transform, conflicts
//! and concurrent updates), increment and remove.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use profilestore::datastore::{
    DataStoreError, ListVersionsOptions, Retention, Transform, VersionId, WriteOptions,
};
use profilestore::plugin_api::NewVersion;
use serde_json::{json, Value};

use super::{opts, service_with, setup, version_count, write};
use crate::support::world::{faulty_memory, T0};

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

/// `get_text` is `get` with the value as its stored compact JSON text (what
/// the v1 get sends as is): same info, text that parses to the same value,
/// nothing for a deleted key.
#[tokio::test]
async fn get_text_is_get_with_the_stored_compact_text() {
    let (ds, _) = setup();
    let value = json!({"Coins": 5, "Items": ["Sword", {"n": 1.5}], "Name": "é\"q"});
    ds.set("k", &value, &opts(&[7], json!({"a": "b"})))
        .await
        .expect("set");
    let text = ds.get_text("k").await.expect("get_text").expect("present");
    let got = ds.get("k").await.expect("get").expect("present");
    assert_eq!(text.info, got.info);
    assert_eq!(text.text, serde_json::to_string(&value).expect("json"));
    assert_eq!(
        serde_json::from_str::<Value>(&text.text).expect("parses"),
        got.value
    );
    ds.remove("k").await.expect("remove");
    assert!(ds.get_text("k").await.expect("get_text").is_none());
    assert!(ds.get_text("never").await.expect("get_text").is_none());
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
