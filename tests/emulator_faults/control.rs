//! The control itself: listing, deleting, validation, the Rust client and
//! the CLI.

use super::*;

#[tokio::test]
async fn delete_one_and_clear_all() {
    let s = spawn_test_server().await;
    let a = fault(&s, json!({"effect": "error"})).await;
    let b = fault(&s, json!({"effect": "throttle"})).await;
    assert_ne!(a["id"], b["id"]);
    let id = a["id"].as_str().unwrap();
    let del = call(
        &s,
        Method::DELETE,
        &format!("/emulator/v1/faults/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(del.status, StatusCode::OK);
    let again = call(
        &s,
        Method::DELETE,
        &format!("/emulator/v1/faults/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.json()["code"], "NOT_FOUND");
    let list = listed(&s).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], b["id"]);
    assert_eq!(
        v1_get(&s, "S", "k").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let clear = call(&s, Method::DELETE, "/emulator/v1/faults", Value::Null).await;
    assert_eq!(clear.status, StatusCode::OK);
    assert!(listed(&s).await.is_empty());
    assert_eq!(v1_get(&s, "S", "k").await.status, StatusCode::NOT_FOUND);
    s.shutdown().await;
}

#[tokio::test]
async fn invalid_faults_are_400_with_the_reason_and_add_nothing() {
    let s = spawn_test_server().await;
    for (body, text) in [
        (json!({"effect": "explode"}), "unknown effect `explode`"),
        (
            json!({"effect": "error", "match": {"operations": ["sett"]}}),
            "unknown operation `sett`",
        ),
        (
            json!({"effect": "error", "probability": 1.5}),
            "probability must be from 0 to 1",
        ),
        (json!({"effect": "latency"}), "needs latencyMs"),
        (
            json!({"effect": "latency", "latencyMs": 600_001}),
            "latencyMs is at most 600000",
        ),
        (
            json!({"effect": "error", "latencyMs": 5}),
            "latencyMs only goes with",
        ),
        (
            json!({"effect": "error", "tims": 1}),
            "unknown field `tims`",
        ),
        (json!({"match": {}}), "missing field `effect`"),
    ] {
        let a = call(&s, Method::POST, "/emulator/v1/faults", body.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        let j = a.json();
        assert_eq!(j["code"], "INVALID_ARGUMENT", "{j}");
        let message = j["message"].as_str().unwrap_or_default();
        assert!(message.contains(text), "{body}: {message}");
    }
    assert!(listed(&s).await.is_empty());
    s.shutdown().await;
}

#[tokio::test]
async fn the_rust_client_adds_lists_and_removes_faults() {
    let s = spawn_test_server().await;
    let emulator = s.emulator();
    let info = emulator
        .fault(&FaultSpec {
            matches: FaultMatch {
                operations: vec!["increment".into()],
                ..FaultMatch::default()
            },
            effect: "error".into(),
            times: Some(1),
            ..FaultSpec::default()
        })
        .await
        .expect("fault");
    let ds = s.datastores.data_store(1, "S", "global").expect("ds");
    let err = ds
        .increment("n", 1, &Default::default())
        .await
        .expect_err("faulted");
    assert!(err.to_string().starts_with("502:"), "{err}");
    assert_eq!(
        ds.increment("n", 1, &Default::default())
            .await
            .expect("second")
            .0,
        1
    );
    let listed = emulator.faults().await.expect("list");
    assert_eq!((listed[0].fired, listed[0].remaining), (1, Some(0)));
    emulator.remove_fault(&info.id).await.expect("remove");
    assert!(
        emulator.remove_fault(&info.id).await.is_err(),
        "already gone"
    );
    emulator
        .fault(&FaultSpec {
            effect: "nope".into(),
            ..FaultSpec::default()
        })
        .await
        .expect_err("refused");
    emulator.clear_faults().await.expect("clear");
    assert!(emulator.faults().await.expect("list").is_empty());
    s.shutdown().await;
}

/// Runs the CLI against `s` off the runtime's threads.
async fn cli(s: &TestServer, dir: &std::path::Path, args: &[&str]) -> support::cli::CliOutput {
    let (url, key, dir) = (s.url.clone(), s.api_key.clone(), dir.to_owned());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        support::cli::Cli::remote(&url, &key, &dir).args(args).run()
    })
    .await
    .expect("cli")
}

#[tokio::test]
async fn the_cli_adds_lists_and_clears_faults() {
    let s = spawn_test_server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let add = [
        "faults",
        "add",
        "--effect",
        "error",
        "--operations",
        "set,update",
        "--store",
        "S",
        "--entry-key",
        "k",
        "--times",
        "3",
        "--universe",
        "1",
    ];
    let added = cli(&s, d, &add).await.json();
    assert_eq!(
        added["match"],
        json!({"universe": 1, "dataStore": "S", "key": "k", "operations": ["set", "update"]})
    );
    assert_eq!(added["remaining"], 3);
    assert_eq!(
        v1_set(&s, "S", "k", json!(1)).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let lines = cli(&s, d, &["faults", "list"]).await.json_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0]["fired"].clone(), lines[0]["remaining"].clone()),
        (json!(1), json!(2))
    );
    let bad = cli(&s, d, &["faults", "add", "--effect", "latency"])
        .await
        .failure();
    assert!(bad.contains("latencyMs"), "{bad}");
    let id = added["id"].as_str().unwrap().to_owned();
    cli(&s, d, &["faults", "clear", &id]).await.success();
    assert!(listed(&s).await.is_empty());
    cli(&s, d, &["faults", "add", "--effect", "throttle"])
        .await
        .success();
    assert_eq!(listed(&s).await.len(), 1);
    cli(&s, d, &["faults", "clear"]).await.success();
    assert!(listed(&s).await.is_empty());
    s.shutdown().await;
}
