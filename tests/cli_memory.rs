//! `profilestore memory ...`: sorted map ranges, queue length and peek,
//! hash map items of a running server, found with `--url` or through the
//! data folder's `serve.lock`, and the message when no server runs.

mod support;

use hyper::Method;
use serde_json::{json, Value};
use support::cli::Cli;
use support::process::ServeProcess;

async fn put(s: &ServeProcess, path: &str, body: Value) {
    let url = format!("{}/engine-api/v1/universes/1/memory-store{path}", s.url);
    let method = if path.contains(":add") {
        Method::POST
    } else {
        Method::PUT
    };
    let a = support::send(method, &url, &[("x-api-key", s.key())], body.to_string()).await;
    assert!(a.status.is_success(), "{path}: {:?}", a.body);
}

#[tokio::test]
async fn memory_commands_read_a_running_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::builder(dir.path())
        .storage("sqlite")
        .durability("off")
        .api_key("memkey")
        .start();
    for (k, sk) in [("a", json!(3)), ("b", json!(1)), ("c", json!("s"))] {
        put(
            &server,
            &format!("/sorted-maps/board/items/{k}"),
            json!({"value": k, "expiration": 600, "sortKey": sk}),
        )
        .await;
    }
    for v in 0..3 {
        put(
            &server,
            "/queues/line/items:add",
            json!({"value": v, "expiration": 600, "priority": v}),
        )
        .await;
    }
    for k in ["x", "y"] {
        put(
            &server,
            &format!("/hash-maps/inv/items/{k}"),
            json!({"value": k, "expiration": 600}),
        )
        .await;
    }
    // Through the folder's serve.lock (no --url).
    let local = |args: &[&str]| {
        Cli::on(dir.path(), "sqlite")
            .env("PROFILESTORE_API_KEY", "memkey")
            .args(args)
            .run()
    };
    let lines = local(&["memory", "sorted-map", "board"]).json_lines();
    let keys: Vec<&str> = lines.iter().map(|l| l["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["b", "a", "c"]);
    let down = local(&[
        "memory",
        "sorted-map",
        "board",
        "--descending",
        "--limit",
        "2",
    ])
    .json_lines();
    assert_eq!(
        down.iter()
            .map(|l| l["key"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["c", "a"]
    );
    let queue = local(&["memory", "queue", "line"]).json();
    assert_eq!(queue["size"], json!(3));
    assert_eq!(
        queue["items"][0]["value"],
        json!(2),
        "highest priority first"
    );
    // Peeking hides nothing.
    assert_eq!(
        local(&["memory", "queue", "line"]).json()["visible"],
        json!(3)
    );
    let items = local(&["memory", "hash-map", "inv"]).json_lines();
    assert_eq!(
        items,
        [
            json!({"key": "x", "value": "x"}),
            json!({"key": "y", "value": "y"})
        ]
    );
    // With --url.
    let other = tempfile::tempdir().expect("tempdir");
    let remote = Cli::remote(&server.url, "memkey", other.path())
        .args(["memory", "hash-map", "inv"])
        .run()
        .json_lines();
    assert_eq!(remote.len(), 2);
    server.stop();
}

#[test]
fn without_a_running_server_the_command_says_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Cli::on(dir.path(), "sqlite")
        .args(["memory", "queue", "line"])
        .run();
    out.failure_with(&[
        "no server is serving",
        "profilestore serve --data-dir",
        "--url",
    ]);
}
