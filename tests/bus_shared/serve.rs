//! `serve` with `[messaging] delivery = "shared"` (a real process on
//! SQLite): messages go through the file's message log, a graceful stop
//! ends the bus's tasks, and a cursor from before a restart stays valid
//! (the epoch is stored), resuming with what was published meanwhile; the
//! restarted server still serves what the log retained from before.

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::support::process::ServeProcess;
use super::support::send;

const TOPIC: &str = "/messaging-service/v1/universes/1/topics/t";

async fn request(server: &ServeProcess, method: Method, path: &str, body: String) -> Value {
    let url = format!("{}{path}", server.url);
    let answer = send(method, &url, &[("x-api-key", server.key())], body).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    if answer.body.is_empty() {
        Value::Null
    } else {
        answer.json()
    }
}

async fn publish(server: &ServeProcess, message: &str) {
    let body = json!({"message": message}).to_string();
    request(server, Method::POST, TOPIC, body).await;
}

fn start(dir: &std::path::Path, config: &std::path::Path) -> ServeProcess {
    ServeProcess::builder(dir)
        .api_key("k1")
        .durability("off")
        .args(["--config", config.to_str().expect("utf-8")])
        .start()
}

#[tokio::test]
async fn a_shared_bus_on_sqlite_keeps_cursors_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[messaging]\ndelivery = \"shared\"\n").expect("write");
    let first = start(dir.path(), &config);
    let path = format!("{TOPIC}/messages?timeout=0");
    let begin = request(&first, Method::GET, &path, String::new()).await;
    publish(&first, "one").await;
    let cursor = begin["cursor"].as_str().expect("cursor").to_owned();
    let path = format!("{TOPIC}/messages?timeout=10&cursor={cursor}");
    let read = request(&first, Method::GET, &path, String::new()).await;
    assert_eq!(read["messages"][0]["data"], "one");
    let after_one = read["cursor"].as_str().expect("cursor").to_owned();
    assert!(first.stop().success(), "a graceful stop");

    let second = start(dir.path(), &config);
    publish(&second, "two").await;
    let path = format!("{TOPIC}/messages?timeout=10&cursor={after_one}");
    let resumed = request(&second, Method::GET, &path, String::new()).await;
    let messages = resumed["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1, "{resumed}");
    assert_eq!(messages[0]["data"], "two", "resumes after `one`: {resumed}");
    let epoch = |c: &str| c.split_once('-').expect("epoch-n").0.to_owned();
    let next = resumed["cursor"].as_str().expect("cursor");
    assert_eq!(epoch(next), epoch(&after_one), "one epoch across restarts");
    // The log outlived the process: the retention window is still readable.
    let path = format!("{TOPIC}/messages?timeout=0&cursor={cursor}");
    let all = request(&second, Method::GET, &path, String::new()).await;
    let all: Vec<&Value> = all["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .collect();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(
        (&all[0]["data"], &all[1]["data"]),
        (&json!("one"), &json!("two"))
    );
    assert!(second.stop().success());
}
