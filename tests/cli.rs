//! Black-box tests of the `profilestore` data commands: real processes on a
//! temporary data folder, so every command also proves that data written by
//! one run is read back by the next.

mod support;

use serde_json::Value;
use support::cli::{Cli, CliOutput};

fn run(dir: &std::path::Path, storage: &str, args: &[&str]) -> CliOutput {
    Cli::on(dir, storage).args(args).run()
}

fn set_get_round_trip(storage: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = run(
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
    )
    .json();
    let version = set["version"].as_str().expect("version").to_owned();
    assert_eq!(version.len(), 16 + 1 + 10 + 1 + 16 + 1 + 2, "{version}");

    let got = run(dir.path(), storage, &["get", "Players", "Player_1"]).json();
    assert_eq!(got["value"]["Coins"], 10);
    assert_eq!(got["keyInfo"]["version"], version.as_str());
    assert_eq!(got["keyInfo"]["userIds"], serde_json::json!([7]));
    assert_eq!(got["keyInfo"]["metadata"]["source"], "cli");

    let inc = run(
        dir.path(),
        storage,
        &["increment", "Counters", "visits", "--by", "5"],
    )
    .json();
    assert_eq!(inc["value"], 5);

    let removed = run(dir.path(), storage, &["remove", "Players", "Player_1"]).json();
    assert_eq!(removed["value"]["Coins"], 10);
    assert_eq!(
        run(dir.path(), storage, &["get", "Players", "Player_1"]).json(),
        Value::Null
    );

    let versions = run(dir.path(), storage, &["versions", "Players", "Player_1"]).json_lines();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["deleted"], false);
    assert_eq!(versions[1]["deleted"], true);

    // The first version is still readable after the remove.
    let old = run(
        dir.path(),
        storage,
        &["get", "Players", "Player_1", "--version", &version],
    )
    .json();
    assert_eq!(old["value"]["Coins"], 10);

    let stores: Vec<String> = run(dir.path(), storage, &["stores"])
        .json_lines()
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
    run(dir.path(), "sqlite", &["set", "Players", &long_key, "1"]).failure_with(&["102"]);
    assert!(run(dir.path(), "sqlite", &["keys", "Players"])
        .json_lines()
        .is_empty());

    run(dir.path(), "sqlite", &["set", "Players", "k", "{not json"]).failure();
    assert!(run(dir.path(), "sqlite", &["keys", "Players"])
        .json_lines()
        .is_empty());

    run(
        dir.path(),
        "sqlite",
        &["set", "Players", "k", "1", "--metadata", "[1]"],
    )
    .failure_with(&["JSON object"]);
}

#[test]
fn an_unknown_plugin_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    run(dir.path(), "postgres", &["keys", "Players"]).failure_with(&["postgres", "sqlite"]);
}

#[test]
fn all_scopes_listing_names_scope_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    run(
        dir.path(),
        "sqlite",
        &["set", "Houses", "h1", "1", "--scope", "houses"],
    )
    .json();
    run(dir.path(), "sqlite", &["set", "Houses", "p1", "2"]).json();
    let keys = run(dir.path(), "sqlite", &["keys", "Houses", "--all-scopes"]).json_lines();
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
