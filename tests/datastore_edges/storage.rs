//! Several services sharing one storage, and storage errors.

use std::sync::Arc;

use profilestore::datastore::{DataStoreError, Retention, Transform, WriteOptions};
use profilestore::plugin_api::{StorageError, StoragePlugin};
use serde_json::{json, Value};

use super::{assert_nothing_stored, service_on, wrapped};
use crate::support::world::memory;

#[tokio::test]
async fn services_sharing_one_storage_see_each_others_writes() {
    let plugin: Arc<dyn StoragePlugin> = memory();
    let (a, _) = service_on(Arc::clone(&plugin), Retention::PerWrite);
    let (b, _) = service_on(plugin, Retention::PerWrite);
    let a = a.data_store(1, "Players", "global").expect("store");
    let b = b.data_store(1, "Players", "global").expect("store");
    let none = WriteOptions::default();

    // A's last write of k was 1; B then writes 5. A transform that would
    // cancel on 1 must not cancel on A's memory of it.
    a.set("k", &json!(1), &none).await.expect("set");
    b.set("k", &json!(5), &none).await.expect("set");
    let out = a
        .update("k", |v, _| match v.and_then(Value::as_i64) {
            Some(1) => Transform::Cancel,
            n => Transform::Write {
                value: json!(n.unwrap_or(0) + 1),
                options: WriteOptions::default(),
            },
        })
        .await
        .expect("update");
    assert_eq!(out.expect("written").value, json!(6));

    // A removed k, B recreated it: A's remove deletes B's value.
    a.remove("k").await.expect("remove");
    b.set("k", &json!(7), &none).await.expect("set");
    let old = a.remove("k").await.expect("remove").expect("B's value");
    assert_eq!(old.value, json!(7));
    assert!(b.get("k").await.expect("get").is_none());

    // Increments from both sides add up.
    for _ in 0..5 {
        a.increment("n", 1, &none).await.expect("inc");
        b.increment("n", 10, &none).await.expect("inc");
    }
    assert_eq!(a.get("n").await.expect("get").expect("n").value, json!(55));
}

#[tokio::test]
async fn storage_errors_are_storage_errors() {
    let (ds, plugin) = wrapped();
    plugin.fail_next_commits(u32::MAX);
    let err = ds
        .set("k", &json!(1), &WriteOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DataStoreError::Storage(StorageError::Unavailable(_))),
        "{err}"
    );
    assert!(!err.is_caller_error());
    assert_eq!(err.code(), None);
    let err = ds
        .update("k", |_, _| Transform::Write {
            value: json!(1),
            options: WriteOptions::default(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, DataStoreError::Storage(_)));
    plugin.fail_next_commits(0);
    assert_nothing_stored(&ds, "k").await;
}
