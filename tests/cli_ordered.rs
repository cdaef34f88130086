//! `profilestore ordered top/get/set/remove` as real processes: on a data
//! folder and, with `--url`, on a running server.

mod support;

use std::path::Path;

use serde_json::{json, Value};
use support::cli::{Cli, CliOutput};
use support::process::ServeProcess;

/// A server on a memory store accepting key `k1`.
fn serve(dir: &Path) -> ServeProcess {
    ServeProcess::builder(dir)
        .api_key("k1")
        .durability("off")
        .storage("memory")
        .start()
}

fn remote(server: &ServeProcess, dir: &Path, args: &[&str]) -> CliOutput {
    Cli::remote(&server.url, server.key(), dir)
        .arg("ordered")
        .args(args)
        .run()
}

fn ranks(lines: &[Value]) -> Vec<(String, i64)> {
    lines
        .iter()
        .map(|l| {
            let key = l["key"].as_str().expect("key").to_owned();
            (key, l["value"].as_i64().expect("value"))
        })
        .collect()
}

#[test]
fn set_get_top_remove_on_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(dir.path());
    let run = |args: &[&str]| remote(&server, dir.path(), args);
    for (key, value) in [("ann", "30"), ("bob", "-5"), ("cat", "12"), ("dan", "30")] {
        let out = run(&["set", "Wins", key, value]).json();
        assert_eq!(out["key"], key);
        assert_eq!(out["value"].to_string(), value);
    }
    run(&["set", "Wins", "eve", "99", "--scope", "weekly"]).success();
    assert_eq!(
        run(&["get", "Wins", "cat"]).json(),
        json!({"key": "cat", "value": 12})
    );
    let top = run(&["top", "Wins"]).json_lines();
    assert_eq!(
        ranks(&top),
        [("dan", 30), ("ann", 30), ("cat", 12), ("bob", -5)].map(|(k, v)| (k.to_owned(), v))
    );
    assert_eq!(top[0]["rank"], 1);
    assert_eq!(top[3]["rank"], 4);
    let two = run(&["top", "Wins", "--limit", "2", "--ascending"]).json_lines();
    assert_eq!(
        ranks(&two),
        [("bob".to_owned(), -5), ("cat".to_owned(), 12)]
    );
    let bounded = run(&["top", "Wins", "--min", "-5", "--max", "12"]).json_lines();
    assert_eq!(
        ranks(&bounded),
        [("cat".to_owned(), 12), ("bob".to_owned(), -5)]
    );
    let weekly = run(&["top", "Wins", "--scope", "weekly"]).json_lines();
    assert_eq!(ranks(&weekly), [("eve".to_owned(), 99)]);
    let removed = run(&["remove", "Wins", "cat"]).json();
    assert_eq!(removed, json!({"key": "cat", "previous": 12}));
    let again = run(&["remove", "Wins", "cat"]).json();
    assert_eq!(again, json!({"key": "cat", "previous": null}));
    run(&["get", "Wins", "cat"]).failure_with(&[
        "key \"cat\" not found",
        "in ordered data store \"Wins\" (scope \"global\")",
        "on the server at",
    ]);
    server.stop();
}

#[test]
fn top_reads_past_one_page_of_100() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(dir.path());
    let cli = Cli::remote(&server.url, server.key(), dir.path());
    // 130 entries through the engine API in one process would need a
    // client; 130 CLI runs are the black-box way (each is one request).
    for i in 0..130 {
        let (key, value) = (format!("p{i:03}"), i.to_string());
        cli.clone()
            .args(["ordered", "set", "Big", &key, &value])
            .run()
            .success();
    }
    let top = cli
        .clone()
        .args(["ordered", "top", "Big", "--limit", "120"])
        .run()
        .json_lines();
    assert_eq!(top.len(), 120);
    assert_eq!(top[0], json!({"rank": 1, "key": "p129", "value": 129}));
    assert_eq!(top[119], json!({"rank": 120, "key": "p010", "value": 10}));
    let all = cli
        .clone()
        .args(["ordered", "top", "Big", "--limit", "1000", "--ascending"])
        .run()
        .json_lines();
    assert_eq!(all.len(), 130, "every entry, then the end");
    server.stop();
}

#[test]
fn bad_input_is_refused_with_roblox_s_messages_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(dir.path());
    let run = |args: &[&str]| remote(&server, dir.path(), args);
    run(&["set", "Wins", "k", "1.5"]).failure_with(&["104: Can't store 1.5 in DataStore."]);
    run(&["set", "Wins", "k", "ten"]).failure_with(&["103: Can't allow string in DataStore."]);
    run(&["set", "Wins", "k", "9223372036854775808"]).failure_with(&["104:", "64-bit integers"]);
    run(&["set", "Wins", "", "1"]).failure_with(&["101: Key name can't be empty."]);
    let long = "k".repeat(51);
    run(&["set", "Wins", &long, "1"])
        .failure_with(&["102: Key name exceeds the 50 character limit"]);
    run(&["set", "Wins", "k", "1", "--scope", ""]).failure_with(&["Scope is invalid"]);
    run(&["top", "Wins", "--min", "x"]).failure_with(&["106: MinValue must be an integer."]);
    run(&["top", "Wins", "--max", "0.5"]).failure_with(&["106: MaxValue must be an integer."]);
    run(&["top", "Wins", "--min", "3", "--max", "2"])
        .failure_with(&["107: MaxValue must be greater than or equal to MinValue."]);
    run(&["top", "Wins", "--limit", "0"]).failure_with(&["--limit must be at least 1"]);
    assert!(
        run(&["top", "Wins"]).json_lines().is_empty(),
        "nothing was stored"
    );
    let wrong = Cli::remote(&server.url, "nope", dir.path())
        .args(["ordered", "get", "Wins", "k"])
        .run();
    wrong.failure_with(&["refused the API key (401)"]);
    server.stop();
}

#[test]
fn on_a_data_folder_reads_need_the_folder_and_set_creates_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("none");
    let out = Cli::on(&missing, "sqlite")
        .args(["ordered", "get", "Wins", "k"])
        .run();
    out.failure_with(&["no data folder at"]);
    let out = Cli::on(&missing, "sqlite")
        .args(["ordered", "top", "Wins"])
        .run();
    out.failure_with(&["no data folder at"]);
    assert!(!missing.exists(), "a read created nothing");
    // Memory storage: one process, so the entry is gone at the next run.
    let memory = Cli::on(dir.path(), "memory")
        .args(["ordered", "set", "Wins", "k", "-4"])
        .run();
    assert_eq!(memory.json(), json!({"key": "k", "value": -4}));
    let out = Cli::on(dir.path(), "memory")
        .args(["ordered", "get", "Wins", "k"])
        .run();
    out.failure_with(&["key \"k\" not found", "in memory storage"]);
}

#[test]
fn entries_persist_in_the_data_folder_for_each_durable_plugin() {
    for plugin in ["sqlite", "sled"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let cli = || Cli::on(dir.path(), plugin).arg("ordered");
        cli().args(["set", "Wins", "a", "7"]).run().success();
        cli().args(["set", "Wins", "b", "9"]).run().success();
        assert_eq!(
            cli().args(["get", "Wins", "a"]).run().json(),
            json!({"key": "a", "value": 7})
        );
        let top = cli().args(["top", "Wins"]).run().json_lines();
        assert_eq!(
            ranks(&top),
            [("b".to_owned(), 9), ("a".to_owned(), 7)],
            "{plugin}"
        );
        let removed = cli().args(["remove", "Wins", "b"]).run().json();
        assert_eq!(removed["previous"], 9, "{plugin}");
        let out = cli().args(["get", "Wins", "b"]).run();
        out.failure_with(&["key \"b\" not found", &format!("({plugin} storage)")]);
    }
}
