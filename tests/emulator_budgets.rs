//! The budgets control, black-box: `PUT`/`GET
//! /emulator/v1/universes/{u}/budgets`, Open Cloud's 429s once the
//! experience budget runs out (other universes unaffected, off again
//! restores), a game server's queue and its drops, memory-store request
//! units, the Rust client and the CLI. The limits themselves are unit
//! tests in `src/budgets/tests.rs` (on a manual clock).

mod support;

use std::time::Duration;

use hyper::{Method, StatusCode};
use profilestore::remote::{Emulator, RemoteClient};
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::{json, Value};
use support::cli::Cli;
use support::{call_with as call, send, Answer};

async fn budgets(s: &TestServer, universe: u64, body: Value) -> Value {
    let a = call(
        s,
        Method::PUT,
        &format!("/emulator/v1/universes/{universe}/budgets"),
        &[],
        body,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    a.json()
}

fn v1_entry(universe: u64, key: &str) -> String {
    format!("/datastores/v1/universes/{universe}/standard-datastores/datastore/entries/entry?datastoreName=Inventory&entryKey={key}")
}

async fn v1_set(s: &TestServer, universe: u64, key: &str) -> Answer {
    call(
        s,
        Method::POST,
        &v1_entry(universe, key),
        &[("content-type", "application/json")],
        json!({"gold": 1}),
    )
    .await
}

#[tokio::test]
async fn budgets_are_off_by_default_and_put_returns_the_settings() {
    let s = spawn_test_server().await;
    let a = call(
        &s,
        Method::GET,
        "/emulator/v1/universes/5/budgets",
        &[],
        Value::Null,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let v = a.json();
    assert_eq!(v["enabled"], false);
    assert_eq!(v["budgets"]["SetIncrementAsync"], 300);
    let v = budgets(&s, 5, json!({"enabled": true, "concurrentUsers": 10})).await;
    assert_eq!(
        (v["enabled"].clone(), v["concurrentUsers"].clone()),
        (json!(true), json!(10))
    );
    assert_eq!(v["experience"]["StandardWrite"], 300 + 10 * 20);
    assert_eq!(v["experience"]["StandardRead"], 300 + 10 * 40);
    assert_eq!(v["memoryStoreRequestUnits"], 1000 + 10 * 120);
    // concurrentUsers left out: unchanged.
    let v = budgets(&s, 5, json!({"enabled": true})).await;
    assert_eq!(v["concurrentUsers"], 10);
    for bad in [json!({"enabled": "yes"}), json!({"on": true}), json!([])] {
        let a = call(
            &s,
            Method::PUT,
            "/emulator/v1/universes/5/budgets",
            &[],
            bad,
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{:?}", a.body);
    }
    let a = call(
        &s,
        Method::PUT,
        "/emulator/v1/universes/x/budgets",
        &[],
        json!({"enabled": true}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    s.shutdown().await;
}

#[tokio::test]
async fn open_cloud_gets_429_when_the_experience_write_budget_runs_out() {
    let s = spawn_test_server().await;
    // Off: far more than 300 writes a minute go through.
    for i in 0..350 {
        assert_eq!(
            v1_set(&s, 1, &format!("warm{i}")).await.status,
            StatusCode::OK
        );
    }
    budgets(&s, 1, json!({"enabled": true})).await;
    let mut through = 0;
    let refused = loop {
        let a = v1_set(&s, 1, &format!("k{through}")).await;
        if a.status != StatusCode::OK {
            break a;
        }
        through += 1;
        assert!(through < 400, "never throttled");
    };
    // 300 a minute, plus what refilled (5 a second) while we wrote.
    assert!(through >= 300, "{through}");
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let body = refused.json();
    assert_eq!(body["error"], "RESOURCE_EXHAUSTED", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("StandardWriteExperienceThrottled"),
        "{message}"
    );
    // Reads have their own budget; another universe is not budgeted.
    let read = call(&s, Method::GET, &v1_entry(1, "k0"), &[], Value::Null).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(v1_set(&s, 2, "other").await.status, StatusCode::OK);
    // The same limit on v2. The bucket refills on real time (5 a second),
    // so under CPU load a token or two may have come back since the
    // refusal: the v2 writes are refused once those are spent.
    let mut refilled = 0;
    let v2 = loop {
        let a = call(
            &s,
            Method::POST,
            &format!("/cloud/v2/universes/1/data-stores/Inventory/entries?id=v2-{refilled}"),
            &[],
            json!({"value": 1}),
        )
        .await;
        if a.status != StatusCode::OK {
            break a;
        }
        refilled += 1;
        assert!(refilled < 100, "v2 writes are never throttled");
    };
    assert_eq!(v2.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", v2.body);
    assert_eq!(v2.json()["code"], "RESOURCE_EXHAUSTED");
    // Off again: writes go through at once.
    budgets(&s, 1, json!({"enabled": false})).await;
    assert_eq!(v1_set(&s, 1, "after").await.status, StatusCode::OK);
    s.shutdown().await;
}

#[tokio::test]
async fn a_game_server_queues_over_its_budget_drops_past_30_and_off_releases_the_queue() {
    let s = spawn_test_server().await;
    budgets(&s, 1, json!({"enabled": true, "concurrentUsers": 100})).await;
    let job = [
        ("x-profilestore-job-id", "job-a"),
        ("x-profilestore-players", "0"),
    ];
    // 60 + 40 × 0 a minute: the startup burst is one minute of it. The
    // bucket refills on real time (a token a second) while the calls run,
    // slowly on a loaded machine: what refilled is spent too.
    let mut spend = 60;
    for round in 0.. {
        assert!(round < 50, "the budget never ran out");
        for _ in 0..spend {
            let a = call(&s, Method::GET, &v1_entry(1, "k"), &job, Value::Null).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{:?}", a.body);
        }
        let v = call(
            &s,
            Method::GET,
            "/emulator/v1/universes/1/budgets?jobId=job-a&players=0",
            &[],
            Value::Null,
        )
        .await;
        spend = v.json()["budgets"]["GetAsync"].as_u64().unwrap();
        if spend <= 1 {
            break;
        }
    }
    // Open Cloud is not held by that server's budget.
    let oc = call(&s, Method::GET, &v1_entry(1, "k"), &[], Value::Null).await;
    assert_eq!(oc.status, StatusCode::NOT_FOUND);
    let mut tasks = Vec::new();
    for _ in 0..45 {
        let (url, key) = (format!("{}{}", s.url, v1_entry(1, "k")), s.api_key.clone());
        tasks.push(tokio::spawn(async move {
            let h = [("x-api-key", key.as_str()), job[0], job[1]];
            send(Method::GET, &url, &h, String::new()).await
        }));
    }
    // The drops answer at once; the queued wait.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let waiting = || tasks.iter().filter(|t| !t.is_finished()).count();
    while waiting() > 30 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waiting = waiting();
    assert!((25..=30).contains(&waiting), "{waiting} waiting");
    budgets(&s, 1, json!({"enabled": false})).await;
    let mut drops = 0;
    for t in tasks {
        let a = tokio::time::timeout(Duration::from_secs(20), t)
            .await
            .expect("released")
            .expect("task");
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            let message = a.json()["message"].as_str().unwrap_or_default().to_owned();
            assert!(
                message.starts_with("301: GetAsync request dropped."),
                "{message}"
            );
            assert!(
                message.contains("StandardReadGameServerThrottled"),
                "{message}"
            );
            drops += 1;
        } else {
            assert_eq!(a.status, StatusCode::NOT_FOUND);
        }
    }
    assert!((10..=15).contains(&drops), "{drops} dropped");
    s.shutdown().await;
}

#[tokio::test]
async fn memory_store_requests_use_request_units() {
    let s = spawn_test_server().await;
    let units = |v: Value| v["memoryStoreRequestUnits"].as_u64().unwrap();
    let before = units(budgets(&s, 1, json!({"enabled": true})).await);
    assert_eq!(before, 1000);
    for i in 0..3 {
        let path = format!("/cloud/v2/universes/1/memory-store/sorted-maps/m/items?id=k{i}");
        let a = call(
            &s,
            Method::POST,
            &path,
            &[],
            json!({"value": 1, "ttl": "30s"}),
        )
        .await;
        assert!(a.status.is_success(), "{:?}", a.body);
    }
    let a = call(
        &s,
        Method::GET,
        "/emulator/v1/universes/1/budgets",
        &[],
        Value::Null,
    )
    .await;
    let left = units(a.json());
    assert!((997..1000).contains(&left), "{left}");
    let v = call(
        &s,
        Method::GET,
        "/emulator/v1/universes/1/budgets",
        &[],
        Value::Null,
    )
    .await
    .json();
    assert!(v["memoryStoreBytes"].as_u64().unwrap() > 0, "{v}");
    let quota = v["memoryStoreQuotaBytes"].as_u64().unwrap();
    assert!(quota >= 65_536, "64 KB + 1.2 KB × users: {v}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_client_and_the_cli_drive_budgets() {
    let s = spawn_test_server().await;
    let emulator = Emulator::new(RemoteClient::new(&s.url, Some(s.api_key.clone())).unwrap());
    let v = emulator.set_budgets(3, true, Some(2)).await.unwrap();
    assert!(v.enabled);
    assert_eq!(v.concurrent_users, 2);
    let v = emulator.budgets(3, Some(("srv", 4))).await.unwrap();
    assert_eq!(v.job_id.as_deref(), Some("srv"));
    assert_eq!(v.budgets["GetAsync"], 60 + 4 * 40, "the startup burst");
    assert_eq!(v.budgets["GetSortedAsync"], 5 + 4 * 2);
    assert_eq!(v.budgets["SetIncrementSortedAsync"], 30 + 4 * 5);
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &'static [&'static str]| {
        let (url, key, dir) = (s.url.clone(), s.api_key.clone(), dir.path().to_owned());
        tokio::task::spawn_blocking(move || Cli::remote(&url, &key, &dir).args(args).run().json())
    };
    let shown = cli(&["--universe", "3", "budgets"]).await.unwrap();
    assert_eq!(shown["enabled"], true);
    let off = cli(&["--universe", "3", "budgets", "off"]).await.unwrap();
    assert_eq!(off["enabled"], false);
    let on = cli(&["--universe", "4", "budgets", "on", "--users", "7"])
        .await
        .unwrap();
    assert_eq!(
        (on["enabled"].clone(), on["concurrentUsers"].clone()),
        (json!(true), json!(7))
    );
    assert!(!emulator.budgets(3, None).await.unwrap().enabled);
    s.shutdown().await;
}

#[tokio::test]
async fn session_api_calls_use_their_game_servers_budget() {
    let s = spawn_test_server().await;
    budgets(&s, 1, json!({"enabled": true})).await;
    let start = json!({"store": "PlayerData", "key": "p1", "template": {"Coins": 0}, "placeId": 7});
    let path = "/session-api/v1/universes/1/servers/job-s/sessions";
    let a = call(
        &s,
        Method::POST,
        path,
        &[("x-profilestore-players", "1")],
        start,
    )
    .await;
    assert!(a.status.is_success(), "{:?}", a.body);
    let v = call(
        &s,
        Method::GET,
        "/emulator/v1/universes/1/budgets?jobId=job-s&players=1",
        &[],
        Value::Null,
    )
    .await;
    let v = v.json();
    // One UpdateAsync from a startup burst of 60 + 40 × 1 (reads and writes).
    let left = v["budgets"]["UpdateAsync"].as_u64().unwrap();
    assert!((99..100).contains(&left), "{v}");
    assert_eq!(v["jobId"], "job-s");
    // The experience's budgets are shared: Open Cloud sees that write.
    let write = v["experience"]["StandardWrite"].as_u64().unwrap();
    assert!((299..300).contains(&write), "{v}");
    s.shutdown().await;
}
