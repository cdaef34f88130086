//! Black-box tests of the DataStore layer, second part: every limit at its
//! edge through the public calls, version id times and uniqueness, AllScopes
//! addressing, default page sizes and cursors, conflicts injected at the
//! storage boundary, several services sharing one storage, and storage
//! errors. On the in-memory reference plugin and a manual clock. One module
//! per group of behaviours; the setup helpers and assertions are here.

#[path = "../support/mod.rs"]
mod support;

mod conflicts;
mod limits;
mod listing;
mod storage;
mod versions;

use std::sync::Arc;

use profilestore::datastore::{DataStore, ListVersionsOptions, Retention, Transform, WriteOptions};
use profilestore::faults::FaultyPlugin;
use profilestore::plugin_api::NewVersion;
use serde_json::{json, Map, Value};
use support::world::{faulty_memory, players as setup, service_with as service_on};

/// A store on the memory plugin behind a fault injector, which can slip one
/// competing version in right before the next commit, or fail commits.
fn wrapped() -> (DataStore, Arc<FaultyPlugin>) {
    let plugin = faulty_memory();
    let (service, _) = service_on(plugin.clone(), Retention::PerWrite);
    (
        service.data_store(1, "Players", "global").expect("store"),
        plugin,
    )
}

fn meta(pairs: &[(&str, Value)]) -> WriteOptions {
    let mut metadata = Map::new();
    for (k, v) in pairs {
        metadata.insert((*k).to_owned(), v.clone());
    }
    WriteOptions {
        user_ids: Vec::new(),
        metadata,
    }
}

fn ids(user_ids: &[i64]) -> WriteOptions {
    WriteOptions {
        user_ids: user_ids.to_vec(),
        metadata: Map::new(),
    }
}

fn live(value: &str) -> NewVersion {
    NewVersion {
        deleted: false,
        value: value.to_owned(),
        user_ids: Vec::new(),
        metadata: "{}".to_owned(),
    }
}

async fn versions(ds: &DataStore, key: &str) -> Vec<String> {
    ds.list_versions(key, &ListVersionsOptions::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|v| v.version)
        .collect()
}

/// Asserts a rejected write left no trace.
async fn assert_nothing_stored(ds: &DataStore, key: &str) {
    assert!(
        ds.get(key).await.expect("get").is_none(),
        "{key}: a value was stored"
    );
    assert!(
        versions(ds, key).await.is_empty(),
        "{key}: a version was stored"
    );
}

/// Writes through set, update and increment must all enforce a limit.
async fn assert_rejected(ds: &DataStore, key: &str, options: &WriteOptions, code: u16) {
    let err = ds.set(key, &json!(1), options).await.unwrap_err();
    assert_eq!(err.code(), Some(code), "set {key}: {err}");
    let err = ds
        .update(key, |_, _| Transform::Write {
            value: json!(1),
            options: options.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(code), "update {key}: {err}");
    let err = ds.increment(key, 1, options).await.unwrap_err();
    assert_eq!(err.code(), Some(code), "increment {key}: {err}");
    assert_nothing_stored(ds, key).await;
}
