//! Version retention: one version per UTC hour, expiry of superseded
//! versions.

use std::time::Duration;

use profilestore::datastore::{ListVersionsOptions, Retention, VersionId, WriteOptions};
use serde_json::json;

use super::{service_with, version_count};
use crate::support::world::{memory, T0};

#[tokio::test]
async fn per_utc_hour_keeps_one_version_per_hour() {
    let (service, hand) = service_with(memory(), Retention::PerUtcHour);
    let ds = service.data_store(1, "Players", "global").expect("store");
    hand.set_ms(T0 - T0.rem_euclid(3_600_000));
    for i in 0..3 {
        ds.set("k", &json!(i), &WriteOptions::default())
            .await
            .expect("set");
        hand.advance_ms(60_000);
    }
    hand.advance_ms(3_600_000);
    let last = ds
        .set("k", &json!(3), &WriteOptions::default())
        .await
        .expect("set");
    let versions = ds
        .list_versions("k", &ListVersionsOptions::default())
        .await
        .expect("list");
    assert_eq!(versions.items.len(), 2);
    assert_eq!(
        VersionId::parse(&last.version).expect("id").seq,
        4,
        "the sequence still advances"
    );
    let first = ds
        .get_version("k", &versions.items[0].version)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(
        first.value,
        json!(2),
        "later writes in the hour overwrite the backup"
    );
}

#[tokio::test]
async fn superseded_versions_expire_but_the_latest_never_does() {
    let (service, hand) = service_with(memory(), Retention::PerWrite);
    let ds = service.data_store(1, "Players", "global").expect("store");
    ds.set("k", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    hand.advance_ms(1000);
    ds.set("k", &json!(2), &WriteOptions::default())
        .await
        .expect("set");
    ds.set("gone", &json!(1), &WriteOptions::default())
        .await
        .expect("set");
    ds.remove("gone").await.expect("remove");
    let day = 86_400_000;
    hand.advance_ms(29 * day);
    assert_eq!(service.purge_expired().await.expect("purge").versions, 0);
    hand.advance_ms(day + 1);
    let stats = service.purge_expired().await.expect("purge");
    assert_eq!((stats.versions, stats.entries), (3, 1));
    assert_eq!(version_count(&ds, "k").await, 1);
    assert_eq!(
        ds.get("k").await.expect("get").expect("latest").value,
        json!(2)
    );
    hand.advance_ms(365 * day);
    service.purge_expired().await.expect("purge");
    assert_eq!(
        ds.get("k").await.expect("get").expect("latest kept").value,
        json!(2)
    );
    let _ = Duration::ZERO;
}
