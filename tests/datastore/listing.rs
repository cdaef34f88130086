//! Listings of keys and data stores, and AllScopes addressing.

use profilestore::datastore::{DataStoreError, ListKeysOptions, Retention, WriteOptions};
use serde_json::json;

use super::{service_with, setup};
use crate::support::world::memory;

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
