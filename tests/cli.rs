//! Black-box tests of the `profilestore` data commands: real processes on a
//! temporary data folder, so every command also proves that data written by
//! one run is read back by the next.

use std::process::{Command, Output};

use serde_json::Value;

fn run(dir: &std::path::Path, storage: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_profilestore"))
        .args(["--data-dir", dir.to_str().expect("utf-8 path")])
        .args(["--storage", storage, "--durability", "off"])
        .args(args)
        .env_remove("PROFILESTORE_STORAGE")
        .env_remove("PROFILESTORE_DATA_DIR")
        .output()
        .expect("run profilestore")
}

fn ok_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

fn lines(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn set_get_round_trip(storage: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = ok_json(&run(
        dir.path(),
        storage,
        &[
            "set",
            "Players",
            "Player_1",
            r#"{"Coins":10}"#,
            "--user-id",
            "7",
            "--metadata",
            r#"{"source":"cli"}"#,
        ],
    ));
    let version = set["version"].as_str().expect("version").to_owned();
    assert_eq!(version.len(), 16 + 1 + 10 + 1 + 16 + 1 + 2, "{version}");

    let got = ok_json(&run(dir.path(), storage, &["get", "Players", "Player_1"]));
    assert_eq!(got["value"]["Coins"], 10);
    assert_eq!(got["keyInfo"]["version"], version.as_str());
    assert_eq!(got["keyInfo"]["userIds"], serde_json::json!([7]));
    assert_eq!(got["keyInfo"]["metadata"]["source"], "cli");

    let inc = ok_json(&run(
        dir.path(),
        storage,
        &["increment", "Counters", "visits", "--by", "5"],
    ));
    assert_eq!(inc["value"], 5);

    let removed = ok_json(&run(
        dir.path(),
        storage,
        &["remove", "Players", "Player_1"],
    ));
    assert_eq!(removed["value"]["Coins"], 10);
    assert_eq!(
        ok_json(&run(dir.path(), storage, &["get", "Players", "Player_1"])),
        Value::Null
    );

    let versions = lines(&run(
        dir.path(),
        storage,
        &["versions", "Players", "Player_1"],
    ));
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["deleted"], false);
    assert_eq!(versions[1]["deleted"], true);

    // The first version is still readable after the remove.
    let old = ok_json(&run(
        dir.path(),
        storage,
        &["get", "Players", "Player_1", "--version", &version],
    ));
    assert_eq!(old["value"]["Coins"], 10);

    let stores: Vec<String> = lines(&run(dir.path(), storage, &["stores"]))
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(stores, vec!["Counters".to_owned(), "Players".to_owned()]);
}

#[test]
fn sqlite_data_survives_between_runs() {
    set_get_round_trip("sqlite");
}

#[test]
fn sled_data_survives_between_runs() {
    set_get_round_trip("sled");
}

#[test]
fn a_rejected_write_says_why_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long_key = "k".repeat(51);
    let out = run(dir.path(), "sqlite", &["set", "Players", &long_key, "1"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("102"), "{stderr}");
    assert!(lines(&run(dir.path(), "sqlite", &["keys", "Players"])).is_empty());

    let out = run(dir.path(), "sqlite", &["set", "Players", "k", "{not json"]);
    assert!(!out.status.success());
    assert!(lines(&run(dir.path(), "sqlite", &["keys", "Players"])).is_empty());

    let out = run(
        dir.path(),
        "sqlite",
        &["set", "Players", "k", "1", "--metadata", "[1]"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("JSON object"), "{stderr}");
}

#[test]
fn an_unknown_plugin_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(dir.path(), "postgres", &["keys", "Players"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("postgres") && stderr.contains("sqlite"),
        "{stderr}"
    );
}

#[test]
fn all_scopes_listing_names_scope_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    ok_json(&run(
        dir.path(),
        "sqlite",
        &["set", "Houses", "h1", "1", "--scope", "houses"],
    ));
    ok_json(&run(dir.path(), "sqlite", &["set", "Houses", "p1", "2"]));
    let keys = lines(&run(
        dir.path(),
        "sqlite",
        &["keys", "Houses", "--all-scopes"],
    ));
    let names: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "{}/{}",
                k["scope"].as_str().unwrap(),
                k["key"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names, vec!["global/p1".to_owned(), "houses/h1".to_owned()]);
}
