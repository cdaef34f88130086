//! Conflicts injected at the storage boundary: increment and remove rerun,
//! exclusive create and `matchVersion` against competing writes.

use profilestore::datastore::{DataStoreError, Precondition, SetOutcome, WriteOptions};
use profilestore::plugin_api::NewVersion;
use serde_json::json;

use super::{assert_nothing_stored, ids, live, setup, versions, wrapped};

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
