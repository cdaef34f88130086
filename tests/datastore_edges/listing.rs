//! AllScopes addressing, and default and largest page sizes with cursors.

use profilestore::datastore::{
    DataStoreError, ListKeysOptions, ListVersionsOptions, Retention, WriteOptions,
};
use serde_json::json;

use super::service_on;
use crate::support::world::memory;

#[tokio::test]
async fn all_scopes_keys_are_scope_slash_key_with_valid_parts() {
    let (service, _) = service_on(memory(), Retention::PerWrite);
    let all = service
        .data_store_all_scopes(1, "Houses")
        .expect("all scopes");
    assert_eq!(all.scope(), None);
    let none = WriteOptions::default();
    let err = all.set("noslash", &json!(1), &none).await.unwrap_err();
    assert!(matches!(err, DataStoreError::InvalidScope(_)));
    assert!(
        err.to_string().contains("scope/key"),
        "names the problem: {err}"
    );
    assert!(matches!(
        all.set("/k", &json!(1), &none).await,
        Err(DataStoreError::InvalidScope(_))
    ));
    assert!(matches!(
        all.set(&format!("{}/k", "s".repeat(51)), &json!(1), &none)
            .await,
        Err(DataStoreError::InvalidScope(_))
    ));
    assert_eq!(
        all.set("s/", &json!(1), &none).await.unwrap_err().code(),
        Some(101)
    );
    let long = format!("s/{}", "k".repeat(51));
    assert_eq!(
        all.set(&long, &json!(1), &none).await.unwrap_err().code(),
        Some(102)
    );
    // The key part may itself contain a slash; the scope is before the first.
    all.set("houses/a/b", &json!(1), &none).await.expect("set");
    let houses = service.data_store(1, "Houses", "houses").expect("store");
    assert_eq!(
        houses
            .get("a/b")
            .await
            .expect("get")
            .expect("present")
            .value,
        json!(1)
    );
    for (scope, key) in [
        ("houses", "h1"),
        ("houses", "h2"),
        ("hovel", "x"),
        ("global", "p"),
    ] {
        let ds = service.data_store(1, "Houses", scope).expect("store");
        ds.set(key, &json!(1), &none).await.expect("set");
    }
    assert!(service.data_store_all_scopes(1, "").is_err());

    // The prefix is matched against "scope/key", across page boundaries.
    let mut options = ListKeysOptions {
        prefix: "ho".into(),
        page_size: 1,
        ..ListKeysOptions::default()
    };
    let mut names = Vec::new();
    loop {
        let page = all.list_keys(&options).await.expect("list");
        names.extend(page.items.iter().map(|k| format!("{}/{}", k.scope, k.key)));
        match page.cursor {
            Some(c) => options.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        names,
        vec!["houses/a/b", "houses/h1", "houses/h2", "hovel/x"]
    );
    let page = all
        .list_keys(&ListKeysOptions {
            prefix: "houses/h".into(),
            ..ListKeysOptions::default()
        })
        .await
        .expect("list");
    assert_eq!(page.items.len(), 2);
    assert!(page.cursor.is_none());
    // A scoped listing matches the prefix against the key alone.
    let page = houses
        .list_keys(&ListKeysOptions {
            prefix: "h".into(),
            ..ListKeysOptions::default()
        })
        .await
        .expect("list");
    assert_eq!(
        page.items
            .iter()
            .map(|k| k.key.as_str())
            .collect::<Vec<_>>(),
        vec!["h1", "h2"]
    );
}

#[tokio::test]
async fn default_and_largest_page_sizes() {
    let (service, _) = service_on(memory(), Retention::PerWrite);
    let none = WriteOptions::default();
    let ds = service.data_store(1, "Players", "global").expect("store");
    for i in 0..1030 {
        ds.set("k", &json!(i), &none).await.expect("set");
    }
    let page = ds
        .list_versions("k", &ListVersionsOptions::default())
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1024, "0 means 1024");
    let rest = ListVersionsOptions {
        cursor: page.cursor,
        ..ListVersionsOptions::default()
    };
    let rest = ds.list_versions("k", &rest).await.expect("rest");
    assert_eq!(rest.items.len(), 6);
    assert!(rest.cursor.is_none());
    let max = ListVersionsOptions {
        page_size: 1024,
        ..ListVersionsOptions::default()
    };
    assert_eq!(
        ds.list_versions("k", &max).await.expect("1024").items.len(),
        1024
    );
    let over = ListVersionsOptions {
        page_size: 1025,
        ..ListVersionsOptions::default()
    };
    assert!(matches!(
        ds.list_versions("k", &over).await,
        Err(DataStoreError::InvalidPageSize { max: 1024 })
    ));

    for i in 0..60 {
        ds.set(&format!("key{i:02}"), &json!(i), &none)
            .await
            .expect("set");
    }
    let keys = ds
        .list_keys(&ListKeysOptions::default())
        .await
        .expect("keys");
    assert_eq!(keys.items.len(), 50, "0 means 50");
    let other_prefix = ListKeysOptions {
        prefix: "key".into(),
        cursor: keys.cursor.clone(),
        ..ListKeysOptions::default()
    };
    assert!(matches!(
        ds.list_keys(&other_prefix).await,
        Err(DataStoreError::InvalidCursor)
    ));
    let other_store = service.data_store(1, "Players", "other").expect("store");
    let moved = ListKeysOptions {
        cursor: keys.cursor,
        ..ListKeysOptions::default()
    };
    assert!(matches!(
        other_store.list_keys(&moved).await,
        Err(DataStoreError::InvalidCursor)
    ));

    for i in 0..40 {
        let store = service
            .data_store(1, &format!("S{i:02}"), "global")
            .expect("store");
        store.set("k", &json!(1), &none).await.expect("set");
    }
    let stores = service
        .list_data_stores(1, "S", 0, None)
        .await
        .expect("stores");
    assert_eq!(stores.items.len(), 32, "0 means 32");
    let rest = service
        .list_data_stores(1, "S", 0, stores.cursor.as_deref())
        .await
        .expect("rest");
    assert_eq!(rest.items.len(), 8);
    assert!(rest.cursor.is_none());
    assert!(matches!(
        service
            .list_data_stores(1, "T", 0, stores.cursor.as_deref())
            .await,
        Err(DataStoreError::InvalidCursor)
    ));
    assert!(matches!(
        service.list_data_stores(1, "", 0, Some("%%%")).await,
        Err(DataStoreError::InvalidCursor)
    ));
}
