//! Writes that are conditional or refused: exclusive create and
//! `matchVersion`, Roblox's limits, and name and scope validation.

use profilestore::datastore::{Precondition, Retention, SetOutcome, Transform, WriteOptions};
use serde_json::{json, Value};

use super::{opts, service_with, setup, version_count};
use crate::support::world::memory;

#[tokio::test]
async fn exclusive_create_and_match_version() {
    let (ds, _) = setup();
    let v = json!(1);
    let none = WriteOptions::default();
    let first = ds
        .set_with("k", &v, &none, &Precondition::ExclusiveCreate)
        .await
        .expect("create");
    let SetOutcome::Written(info) = first else {
        panic!("fresh key must be created")
    };
    match ds
        .set_with("k", &json!(2), &none, &Precondition::ExclusiveCreate)
        .await
        .expect("set")
    {
        SetOutcome::PreconditionFailed { current: Some(c) } => assert_eq!(c.value, json!(1)),
        other => panic!("existing key must fail exclusive create: {other:?}"),
    }
    let matched = ds
        .set_with(
            "k",
            &json!(3),
            &none,
            &Precondition::MatchVersion(info.version.clone()),
        )
        .await
        .expect("match");
    assert!(matches!(matched, SetOutcome::Written(_)));
    let stale = ds
        .set_with(
            "k",
            &json!(4),
            &none,
            &Precondition::MatchVersion(info.version),
        )
        .await
        .expect("stale");
    assert!(matches!(
        stale,
        SetOutcome::PreconditionFailed { current: Some(_) }
    ));
    assert_eq!(
        ds.get("k").await.expect("get").expect("present").value,
        json!(3)
    );
    // A removed key can be created exclusively again.
    ds.remove("k").await.expect("remove");
    assert!(matches!(
        ds.set_with("k", &json!(5), &none, &Precondition::ExclusiveCreate)
            .await
            .expect("recreate"),
        SetOutcome::Written(_)
    ));
}

#[tokio::test]
async fn rejected_writes_store_nothing() {
    let (ds, _) = setup();
    let none = WriteOptions::default();
    assert_eq!(
        ds.set("", &json!(1), &none).await.unwrap_err().code(),
        Some(101)
    );
    assert_eq!(
        ds.set(&"k".repeat(51), &json!(1), &none)
            .await
            .unwrap_err()
            .code(),
        Some(102)
    );
    assert!(ds.set(&"k".repeat(50), &json!(1), &none).await.is_ok());
    let huge = Value::String("x".repeat(4_194_304 - 1));
    assert_eq!(
        ds.set("big", &huge, &none).await.unwrap_err().code(),
        Some(105)
    );
    let at_limit = Value::String("x".repeat(4_194_304 - 2));
    assert!(ds.set("fits", &at_limit, &none).await.is_ok());
    let five = opts(&[1, 2, 3, 4, 5], json!({}));
    assert_eq!(
        ds.set("u", &json!(1), &five).await.unwrap_err().code(),
        Some(512)
    );
    let meta = opts(&[], json!({"k": "v".repeat(249)}));
    assert_eq!(
        ds.set("m", &json!(1), &meta).await.unwrap_err().code(),
        Some(511)
    );
    let err = ds
        .update("u2", |_, _| Transform::Write {
            value: json!(1),
            options: opts(&[1, 2, 3, 4, 5], json!({})),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(512));
    for key in ["big", "u", "m", "u2"] {
        assert_eq!(version_count(&ds, key).await, 0, "{key} stored something");
    }
}

#[tokio::test]
async fn names_and_scopes_are_validated() {
    let (service, _) = service_with(memory(), Retention::PerWrite);
    assert!(service.data_store(1, "", "global").is_err());
    assert!(service.data_store(1, &"n".repeat(51), "global").is_err());
    assert!(service
        .data_store(1, &"n".repeat(50), &"s".repeat(50))
        .is_ok());
    assert!(service.data_store(1, "n", "").is_err());
    assert!(service.data_store(1, "n", &"s".repeat(51)).is_err());
}
