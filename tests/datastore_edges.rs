//! Black-box tests of the DataStore layer, second part: every limit at its
//! edge through the public calls, version id times and uniqueness, AllScopes
//! addressing, default page sizes and cursors, conflicts injected at the
//! storage boundary, several services sharing one storage, and storage
//! errors. On the in-memory reference plugin and a manual clock.

mod support;

use std::sync::Arc;

use profilestore::clock::ManualClock;
use profilestore::datastore::version_id::ms_to_ticks;
use profilestore::datastore::{
    parse_value_str, parse_value_text, user_ids_from_json, validate, DataStore, DataStoreConfig,
    DataStoreError, DataStoreService, ListKeysOptions, ListVersionsOptions, Precondition,
    Retention, SetOutcome, Transform, VersionId, WriteOptions,
};
use profilestore::faults::FaultyPlugin;
use profilestore::plugin_api::{NewVersion, StorageError, StoragePlugin};
use serde_json::{json, Map, Value};
use support::world::{faulty_memory, memory, World, T0};

fn service_on(
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
    let (service, hand) = service_on(memory(), Retention::PerWrite);
    (
        service.data_store(1, "Players", "global").expect("store"),
        hand,
    )
}

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

#[tokio::test]
async fn keys_at_their_edges() {
    let (ds, _) = setup();
    let none = WriteOptions::default();
    ds.set(&"k".repeat(50), &json!(1), &none)
        .await
        .expect("50 bytes fit");
    for (key, code) in [
        (String::new(), 101),
        ("k".repeat(51), 102),
        ("é".repeat(26), 102),
    ] {
        assert_eq!(
            ds.set(&key, &json!(1), &none).await.unwrap_err().code(),
            Some(code)
        );
        assert_eq!(ds.get(&key).await.unwrap_err().code(), Some(code));
        assert_eq!(ds.remove(&key).await.unwrap_err().code(), Some(code));
    }
    // 25 two-byte characters are 50 bytes: allowed.
    ds.set(&"é".repeat(25), &json!(1), &none)
        .await
        .expect("50 bytes fit");
}

#[tokio::test]
async fn user_ids_at_their_edge() {
    let (ds, _) = setup();
    let info = ds
        .set("four", &json!(1), &ids(&[1, 2, 3, 4]))
        .await
        .expect("4 ids fit");
    assert_eq!(info.user_ids, vec![1, 2, 3, 4]);
    assert_rejected(&ds, "five", &ids(&[1, 2, 3, 4, 5]), 512).await;
    assert_eq!(
        user_ids_from_json(&json!([1, 2, 3, 4])).expect("ints"),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        user_ids_from_json(&json!([1, "2"])).unwrap_err().code(),
        Some(513)
    );
    assert_eq!(
        user_ids_from_json(&json!([0.5])).unwrap_err().code(),
        Some(513)
    );
    assert_eq!(
        user_ids_from_json(&json!({"a": 1})).unwrap_err().code(),
        Some(513)
    );
    assert_eq!(
        user_ids_from_json(&json!([1, 2, 3, 4, 5]))
            .unwrap_err()
            .code(),
        Some(512)
    );
}

#[tokio::test]
async fn metadata_key_length_at_its_edge() {
    let (ds, _) = setup();
    let key50 = "m".repeat(50);
    ds.set("at", &json!(1), &meta(&[(&key50, json!(1))]))
        .await
        .expect("a 50-character key fits");
    assert_rejected(&ds, "over", &meta(&[(&"m".repeat(51), json!(1))]), 511).await;
}

#[tokio::test]
async fn metadata_value_length_at_its_edge() {
    let (ds, _) = setup();
    // A string of 248 characters serializes to 250 with its quotes.
    let at = meta(&[("a", json!("v".repeat(248)))]);
    let info = ds.set("at", &json!(1), &at).await.expect("250 fits");
    assert_eq!(info.metadata["a"], json!("v".repeat(248)));
    assert_rejected(&ds, "over", &meta(&[("a", json!("v".repeat(249)))]), 511).await;
}

#[tokio::test]
async fn metadata_total_at_its_edge() {
    let (ds, _) = setup();
    // Keys "a" and "b" (2) + values of 200 and 98 serialized characters = 300.
    let at = meta(&[("a", json!("v".repeat(198))), ("b", json!("v".repeat(96)))]);
    ds.set("at", &json!(1), &at).await.expect("300 fits");
    let over = meta(&[("a", json!("v".repeat(198))), ("b", json!("v".repeat(97)))]);
    assert_rejected(&ds, "over", &over, 511).await;
    assert_eq!(
        validate::metadata_from_json(&json!("text"))
            .unwrap_err()
            .code(),
        Some(513)
    );
    let err = validate::metadata_from_json(&json!([])).unwrap_err();
    assert!(err.to_string().contains("metadata"), "{err}");
}

#[tokio::test]
async fn value_size_is_the_compact_json_length() {
    let (ds, _) = setup();
    let none = WriteOptions::default();
    // ["x...x"] is the string's length + 4 bytes, compact.
    let at = json!(["x".repeat(4_194_304 - 4)]);
    ds.set("at", &at, &none).await.expect("exactly 4 MiB fits");
    let over = json!(["x".repeat(4_194_304 - 3)]);
    let err = ds.set("over", &over, &none).await.unwrap_err();
    assert_eq!(err.code(), Some(105));
    assert!(
        err.to_string().contains("4194305"),
        "the size is given: {err}"
    );
    assert_nothing_stored(&ds, "over").await;
    let err = ds
        .update("over", |_, _| Transform::Write {
            value: over.clone(),
            options: WriteOptions::default(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(105));
    assert_nothing_stored(&ds, "over").await;
}

#[test]
fn value_text_is_checked_with_its_position() {
    let err = parse_value_text(b"{\"a\": [1, NaN]}").unwrap_err();
    assert_eq!(err.code(), Some(104));
    assert!(
        err.to_string().contains("NaN") && err.to_string().contains("column"),
        "{err}"
    );
    let err = parse_value_str("{\"a\": Infinity}").unwrap_err();
    assert!(err.to_string().contains("infinity"), "{err}");
    let err = parse_value_text(b"[\"ok\", \"\xc3\x28\"]").unwrap_err();
    assert_eq!(err.code(), Some(104));
    assert!(
        err.to_string().contains("UTF-8") && err.to_string().contains("byte 8"),
        "{err}"
    );
    let err = parse_value_str("{\"a\": 1,}").unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
    assert_eq!(
        parse_value_str(" {\"a\": [1, 2.5]} ").expect("json"),
        json!({"a": [1, 2.5]})
    );
    let err = validate::check_f64("root.Coins", f64::NEG_INFINITY).unwrap_err();
    assert_eq!(err.code(), Some(104));
    assert!(err.to_string().contains("root.Coins"), "{err}");
    assert!(validate::check_f64("root.Coins", f64::MAX).is_ok());
}

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
async fn key_info_times_and_version_format() {
    let (ds, hand) = setup();
    let first = ds
        .set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    hand.advance_ms(1234);
    let second = ds
        .set("k", &json!(2), &WriteOptions::default())
        .await
        .expect("set");
    let t1 = T0 + 1234;
    assert_eq!((second.created_ms, second.updated_ms), (T0, t1));
    assert_eq!(
        second.version,
        format!(
            "{:016X}.{:010X}.{:016X}.01",
            ms_to_ticks(T0),
            2,
            ms_to_ticks(t1)
        )
    );
    assert_eq!(
        first.version,
        format!(
            "{:016X}.0000000001.{:016X}.01",
            ms_to_ticks(T0),
            ms_to_ticks(T0)
        )
    );
    // The spec's sample: 08D9E6A3F2188CFF is 2022-02-02T23:30:06.5388799Z.
    let sample = VersionId::parse("08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.01").expect("id");
    assert_eq!(sample.key_created_ms, 1_643_844_606_538);
    // A version read back carries that version's own times.
    let old = ds
        .get_version("k", &first.version)
        .await
        .expect("get")
        .expect("v1");
    assert_eq!((old.info.created_ms, old.info.updated_ms), (T0, T0));
    assert_eq!(old.info.version, first.version);
    // After a remove, the next write starts a new object.
    hand.advance_ms(1000);
    ds.remove("k").await.expect("remove");
    hand.advance_ms(1000);
    let again = ds
        .set("k", &json!(3), &WriteOptions::default())
        .await
        .expect("set");
    assert_eq!(again.created_ms, t1 + 2000);
    assert_eq!(VersionId::parse(&again.version).expect("id").seq, 4);
}

#[tokio::test]
async fn version_ids_never_repeat_even_after_removing_versions() {
    let (ds, hand) = setup();
    let mut issued = Vec::new();
    for i in 0..3 {
        issued.push(
            ds.set("k", &json!(i), &WriteOptions::default())
                .await
                .expect("set")
                .version,
        );
    }
    ds.remove_version("k", &issued[2])
        .await
        .expect("remove latest");
    assert!(
        ds.get("k").await.expect("get").is_none(),
        "no current version"
    );
    assert!(
        ds.remove("k").await.expect("remove").is_none(),
        "nothing to remove"
    );
    issued.push(
        ds.set("k", &json!(9), &WriteOptions::default())
            .await
            .expect("set")
            .version,
    );
    hand.advance_ms(1);
    issued.push(
        ds.increment("n", 1, &WriteOptions::default())
            .await
            .expect("inc")
            .1
            .version,
    );
    let removed = ds.remove("k").await.expect("remove").expect("was live");
    assert_eq!(
        removed.info.version, issued[3],
        "remove returns the removed version's info"
    );
    issued.push(versions(&ds, "k").await.pop().expect("tombstone"));
    let mut unique = issued.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), issued.len(), "{issued:?}");
    assert_eq!(VersionId::parse(&issued[3]).expect("id").seq, 4);
}

#[tokio::test]
async fn only_versions_issued_for_this_key_are_valid() {
    let (ds, hand) = setup();
    let v1 = ds
        .set("a", &json!(1), &WriteOptions::default())
        .await
        .expect("set")
        .version;
    hand.advance_ms(5000);
    ds.set("b", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    // Same sequence, other times: another key's id.
    let err = ds.get_version("b", &v1).await.unwrap_err();
    assert!(err.to_string().contains("not valid"), "{err}");
    // A tampered time on an existing sequence.
    let mut id = VersionId::parse(&v1).expect("id");
    id.created_ms += 1;
    assert!(matches!(
        ds.get_version("a", &id.to_string()).await,
        Err(DataStoreError::InvalidVersion(_))
    ));
    assert!(matches!(
        ds.remove_version("a", "garbage").await,
        Err(DataStoreError::InvalidVersion(_))
    ));
    // Lowercase hex names the same version.
    assert!(ds
        .get_version("a", &v1.to_lowercase())
        .await
        .expect("get")
        .is_some());
}

#[tokio::test]
async fn get_version_at_time_of_a_removed_key_is_none() {
    let (ds, hand) = setup();
    ds.set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    hand.advance_ms(1000);
    ds.remove("k").await.expect("remove");
    hand.advance_ms(1000);
    ds.set("k", &json!(2), &WriteOptions::default())
        .await
        .expect("set");
    let at = |t| ds.get_version_at_time("k", t);
    assert_eq!(at(T0 + 999).await.expect("at").expect("v1").value, json!(1));
    assert!(
        at(T0 + 1000).await.expect("at").is_none(),
        "the tombstone was current"
    );
    assert_eq!(
        at(T0 + 2000).await.expect("at").expect("v3").value,
        json!(2)
    );
    assert!(matches!(
        at(-5).await,
        Err(DataStoreError::InvalidTimestamp)
    ));
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

#[tokio::test]
async fn increment_reruns_on_a_conflicting_write() {
    let (ds, plugin) = wrapped();
    ds.set("n", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    plugin.write_before_next_commit(live("100"));
    let (value, info) = ds.increment("n", 5, &ids(&[9])).await.expect("inc");
    assert_eq!(value, 105, "applied on the competing value");
    assert_eq!(info.user_ids, vec![9]);
    assert_eq!(versions(&ds, "n").await.len(), 3);

    // A competing write of a non-number makes the increment fail, cleanly.
    plugin.write_before_next_commit(live("\"text\""));
    assert!(matches!(
        ds.increment("n", 1, &WriteOptions::default()).await,
        Err(DataStoreError::ExistingValueNotNumeric)
    ));
    assert_eq!(
        versions(&ds, "n").await.len(),
        4,
        "only the competing write"
    );
}

#[tokio::test]
async fn remove_reruns_on_a_conflicting_write() {
    let (ds, plugin) = wrapped();
    ds.set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    plugin.write_before_next_commit(live("2"));
    let old = ds.remove("k").await.expect("remove").expect("previous");
    assert_eq!(old.value, json!(2), "returns the value it actually deleted");
    assert!(ds.get("k").await.expect("get").is_none());
}

#[tokio::test]
async fn exclusive_create_against_competing_writes() {
    let (ds, plugin) = wrapped();
    let none = WriteOptions::default();
    // A competing live value wins: precondition failed, nothing of ours stored.
    plugin.write_before_next_commit(live("100"));
    match ds
        .set_with("k", &json!(1), &none, &Precondition::ExclusiveCreate)
        .await
        .expect("set")
    {
        SetOutcome::PreconditionFailed { current: Some(c) } => assert_eq!(c.value, json!(100)),
        other => panic!("expected a failed precondition, got {other:?}"),
    }
    assert_eq!(versions(&ds, "k").await.len(), 1);
    // A competing tombstone leaves the key non-live: the create goes through.
    ds.remove("k").await.expect("remove");
    plugin.write_before_next_commit(NewVersion::tombstone());
    let out = ds
        .set_with("k", &json!(2), &none, &Precondition::ExclusiveCreate)
        .await
        .expect("set");
    assert!(matches!(out, SetOutcome::Written(_)), "{out:?}");
    assert_eq!(
        ds.get("k").await.expect("get").expect("live").value,
        json!(2)
    );
}

#[tokio::test]
async fn match_version_checks_the_latest_version_id() {
    let (ds, hand) = setup();
    let none = WriteOptions::default();
    let v1 = ds.set("k", &json!(1), &none).await.expect("set").version;
    hand.advance_ms(1);
    let other = ds
        .set("other", &json!(1), &none)
        .await
        .expect("set")
        .version;
    assert!(matches!(
        ds.set_with(
            "k",
            &json!(2),
            &none,
            &Precondition::MatchVersion("nope".into())
        )
        .await,
        Err(DataStoreError::InvalidVersion(_))
    ));
    match ds
        .set_with("k", &json!(2), &none, &Precondition::MatchVersion(other))
        .await
        .expect("set")
    {
        SetOutcome::PreconditionFailed { current: Some(c) } => assert_eq!(c.info.version, v1),
        out => panic!("another key's version must not match: {out:?}"),
    }
    // A missing key matches no version.
    assert!(matches!(
        ds.set_with(
            "missing",
            &json!(1),
            &none,
            &Precondition::MatchVersion(v1.clone())
        )
        .await
        .expect("set"),
        SetOutcome::PreconditionFailed { current: None }
    ));
    assert_nothing_stored(&ds, "missing").await;
    let written = ds
        .set_with("k", &json!(3), &ids(&[5]), &Precondition::MatchVersion(v1))
        .await
        .expect("set");
    let SetOutcome::Written(info) = written else {
        panic!("the latest version id matches")
    };
    assert_eq!(info.user_ids, vec![5]);
}

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
async fn per_utc_hour_never_overwrites_a_removed_value() {
    let (service, hand) = service_on(memory(), Retention::PerUtcHour);
    let ds = service.data_store(1, "Players", "global").expect("store");
    hand.set_ms(T0 - T0.rem_euclid(3_600_000));
    let v1 = ds
        .set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set")
        .version;
    hand.advance_ms(1000);
    ds.remove("k").await.expect("remove");
    hand.advance_ms(1000);
    ds.set("k", &json!(2), &WriteOptions::default())
        .await
        .expect("set");
    let listed = versions(&ds, "k").await;
    assert_eq!(
        listed.first(),
        Some(&v1),
        "the removed value is still a version"
    );
    assert_eq!(
        ds.get_version("k", &v1)
            .await
            .expect("get")
            .expect("kept")
            .value,
        json!(1)
    );
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
