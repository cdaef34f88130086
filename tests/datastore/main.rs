//! Black-box tests of the DataStore layer: Roblox's semantics on the
//! in-memory reference plugin, on a manual clock. One module per group of
//! behaviours; the setup helpers are here.

#[path = "../support/mod.rs"]
mod support;

mod conditions_and_limits;
mod listing;
mod retention;
mod versions;
mod writes;

use std::sync::Arc;

use profilestore::clock::ManualClock;
use profilestore::datastore::{
    DataStore, DataStoreConfig, DataStoreService, ListVersionsOptions, Retention, Transform,
    WriteOptions,
};
use profilestore::plugin_api::StoragePlugin;
use serde_json::{Map, Value};
use support::world::{memory, World};

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
