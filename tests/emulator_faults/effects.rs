//! What each effect does, and how `match`, `times` and `probability`
//! choose the calls it fires on.

use super::*;

#[tokio::test]
async fn error_fails_the_call_and_changes_nothing() {
    let s = spawn_test_server().await;
    let f = fault(
        &s,
        json!({"match": {"operations": ["set"]}, "effect": "error"}),
    )
    .await;
    assert!(f["id"].as_str().is_some_and(|id| !id.is_empty()), "{f}");
    let a = v1_set(&s, "S", "k", json!(1)).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", a.body);
    let message = a.json()["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.starts_with("502: API Services rejected request"),
        "{message}"
    );
    assert_eq!(stored(&s, "S", "k").await, None, "an error writes nothing");
    // Reads are not in its operations.
    assert_eq!(v1_get(&s, "S", "k").await.status, StatusCode::NOT_FOUND);
    s.shutdown().await;
}

#[tokio::test]
async fn an_ambiguous_write_lands_although_the_caller_got_an_error() {
    let s = spawn_test_server().await;
    fault(
        &s,
        json!({"match": {"operations": ["set"]}, "effect": "ambiguous", "times": 1}),
    )
    .await;
    let a = v1_set(&s, "S", "k", json!({"Coins": 5})).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", a.body);
    let read = v1_get(&s, "S", "k").await;
    assert_eq!(read.status, StatusCode::OK, "the write is there");
    assert_eq!(read.json(), json!({"Coins": 5}));
    // On a read, ambiguous is an error.
    fault(
        &s,
        json!({"match": {"operations": ["get"]}, "effect": "ambiguous"}),
    )
    .await;
    assert_eq!(
        v1_get(&s, "S", "k").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    s.shutdown().await;
}

#[tokio::test]
async fn throttle_is_429_resource_exhausted_with_roblox_text() {
    let s = spawn_test_server().await;
    fault(
        &s,
        json!({"match": {"operations": ["get"]}, "effect": "throttle"}),
    )
    .await;
    let a = v1_get(&s, "S", "k").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", a.body);
    let body = a.json();
    assert_eq!(body["error"], "RESOURCE_EXHAUSTED", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("StandardReadExperienceThrottled"),
        "{message}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn latency_waits_then_runs_the_call() {
    let s = spawn_test_server().await;
    fault(
        &s,
        json!({"match": {"operations": ["set"]}, "effect": "latency", "latencyMs": 300}),
    )
    .await;
    let start = Instant::now();
    let a = v1_set(&s, "S", "k", json!(7)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(stored(&s, "S", "k").await, Some(json!(7)));
    s.shutdown().await;
}

#[tokio::test]
async fn match_fields_narrow_a_fault() {
    let s = spawn_test_server().await;
    for m in [
        json!({"universe": 2}),
        json!({"dataStore": "Other"}),
        json!({"key": "other"}),
        json!({"operations": ["remove"]}),
    ] {
        fault(&s, json!({"match": m, "effect": "error"})).await;
    }
    assert_eq!(
        v1_set(&s, "S", "k", json!(1)).await.status,
        StatusCode::OK,
        "none matches"
    );
    let fired: Vec<u64> = listed(&s)
        .await
        .iter()
        .map(|f| f["fired"].as_u64().unwrap())
        .collect();
    assert_eq!(fired, [0, 0, 0, 0]);
    for (store, key) in [("S", "k"), ("Other", "k"), ("S", "other")] {
        let a = v1_set(&s, store, key, json!(1)).await;
        let expected = if store == "S" && key == "k" {
            StatusCode::OK
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        assert_eq!(a.status, expected, "{store}/{key}");
    }
    let universe2 = call(
        &s,
        Method::GET,
        "/datastores/v1/universes/2/standard-datastores/datastore/entries/entry?datastoreName=S&entryKey=k",
        Value::Null,
    )
    .await;
    assert_eq!(universe2.status, StatusCode::INTERNAL_SERVER_ERROR);
    let remove = call(&s, Method::DELETE, &v1("S", "k"), Value::Null).await;
    assert_eq!(remove.status, StatusCode::INTERNAL_SERVER_ERROR);
    let fired: Vec<u64> = listed(&s)
        .await
        .iter()
        .map(|f| f["fired"].as_u64().unwrap())
        .collect();
    assert_eq!(fired, [1, 1, 1, 1]);
    s.shutdown().await;
}

#[tokio::test]
async fn times_stops_a_fault_and_the_list_counts() {
    let s = spawn_test_server().await;
    let f = fault(&s, json!({"effect": "error", "times": 2})).await;
    assert_eq!(
        (f["fired"].clone(), f["remaining"].clone()),
        (json!(0), json!(2))
    );
    for expected in [500, 500, 404, 404] {
        assert_eq!(v1_get(&s, "S", "k").await.status.as_u16(), expected);
    }
    let list = listed(&s).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], f["id"]);
    assert_eq!(
        (list[0]["fired"].clone(), list[0]["remaining"].clone()),
        (json!(2), json!(0))
    );
    s.shutdown().await;
}

#[tokio::test]
async fn probability_fires_on_a_share_of_calls_deterministically() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let s = spawn_test_server().await;
        fault(
            &s,
            json!({"match": {"operations": ["get"]}, "effect": "error", "probability": 0.5}),
        )
        .await;
        let mut failed = Vec::new();
        for _ in 0..40 {
            failed.push(v1_get(&s, "S", "k").await.status == StatusCode::INTERNAL_SERVER_ERROR);
        }
        let fired = listed(&s).await[0]["fired"].as_u64().unwrap();
        assert_eq!(fired, failed.iter().filter(|f| **f).count() as u64);
        assert!((8..=32).contains(&fired), "{fired} of 40");
        runs.push(failed);
        s.shutdown().await;
    }
    assert_eq!(
        runs[0], runs[1],
        "the same calls fire on every run (seeded)"
    );
}
