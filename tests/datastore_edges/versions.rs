//! Key info times, version id format and uniqueness, which versions are
//! valid, reads by time of a removed key, and per-hour retention of a
//! removed value.

use profilestore::datastore::version_id::ms_to_ticks;
use profilestore::datastore::{DataStoreError, Retention, VersionId, WriteOptions};
use serde_json::json;

use super::{service_on, setup, versions};
use crate::support::world::{memory, T0};

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
