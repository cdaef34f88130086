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

use profilestore::datastore::{DataStore, ListVersionsOptions, Transform, WriteOptions};
use serde_json::{Map, Value};
use support::world::{players as setup, service_with};

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
