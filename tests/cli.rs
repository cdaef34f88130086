//! Black-box tests of the `profilestore` data commands: real processes on a
//! temporary data folder, so every command also proves that data written by
//! one run is read back by the next.

mod support;

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
    // A removed key is not found: an error, not `null` with success.
    run(dir.path(), storage, &["get", "Players", "Player_1"])
        .failure_with(&[r#"key "Player_1" not found"#]);

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
    run(dir.path(), "mysql", &["keys", "Players"]).failure_with(&["mysql", "sqlite"]);
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

#[test]
fn get_of_a_missing_key_fails_and_says_where_it_looked() {
    let dir = tempfile::tempdir().expect("tempdir");
    run(dir.path(), "sqlite", &["set", "Players", "a", "1"]).success();
    let out = run(dir.path(), "sqlite", &["get", "Players", "nobody"]);
    assert_ne!(out.code(), Some(0));
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", out.stdout);
    let shown = std::fs::canonicalize(dir.path()).expect("canonical");
    out.failure_with(&[
        r#"error: key "nobody" not found in data store "Players" (scope "global") in "#,
        shown.to_str().expect("utf-8"),
        "sqlite",
    ]);
    run(
        dir.path(),
        "sqlite",
        &["profile", "show", "PlayerData", "nobody"],
    )
    .failure_with(&[r#"profile "nobody" not found in ProfileStore "PlayerData""#]);
}

#[test]
fn reading_a_missing_data_folder_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No --data-dir: the default ./data of the working folder.
    let read = |args: &[&str]| {
        Cli::new()
            .args(["--durability", "off"])
            .args(args)
            .current_dir(dir.path())
            .run()
    };
    for args in [
        &["get", "Players", "a"][..],
        &["keys", "Players"],
        &["versions", "Players", "a"],
        &["stores"],
        &["export"],
        &["profile", "show", "PlayerData", "a"],
    ] {
        read(args).failure_with(&["no data folder at", "data", "--data-dir", "--url"]);
        assert!(
            !dir.path().join("data").exists(),
            "{args:?} created the data folder"
        );
    }
    // A write creates it.
    read(&["set", "Players", "a", "1"]).success();
    assert!(dir.path().join("data/profilestore.sqlite3").exists());
    assert_eq!(read(&["get", "Players", "a"]).json()["value"], 1);
    // A folder without the chosen plugin's data is named too.
    read(&["--storage", "sled", "keys", "Players"]).failure_with(&["no sled data in", "--storage"]);
    assert!(!dir.path().join("data/sled").exists());
}

#[test]
fn retention_takes_both_spellings_in_flags_variables_and_the_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    for spelling in ["per-write", "per_write", "per-utc-hour", "per_utc_hour"] {
        run(
            dir.path(),
            "sqlite",
            &["--retention", spelling, "set", "S", "k", "1"],
        )
        .success();
        Cli::on(dir.path(), "sqlite")
            .env("PROFILESTORE_RETENTION", spelling)
            .args(["set", "S", "k", "2"])
            .run()
            .success();
        let config = dir.path().join(format!("{spelling}.toml"));
        std::fs::write(
            &config,
            format!("[datastore]\nretention = \"{spelling}\"\n"),
        )
        .expect("write");
        run(
            dir.path(),
            "sqlite",
            &[
                "--config",
                config.to_str().expect("utf-8"),
                "set",
                "S",
                "k",
                "3",
            ],
        )
        .success();
    }
    // The spellings really choose the mode: three quick writes are three
    // versions per write, and at most two per UTC hour (one if no hour
    // starts between them).
    for (spelling, most) in [("per_write", 3), ("per_utc_hour", 2)] {
        let fresh = tempfile::tempdir().expect("tempdir");
        for value in ["1", "2", "3"] {
            run(
                fresh.path(),
                "sqlite",
                &["--retention", spelling, "set", "S", "k", value],
            )
            .success();
        }
        let versions = run(fresh.path(), "sqlite", &["versions", "S", "k"]).json_lines();
        assert!(
            versions.len() <= most && (most == 2 || versions.len() == 3),
            "{spelling}: {versions:?}"
        );
    }
}

#[test]
fn export_to_a_file_reports_its_count_in_words_on_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    run(dir.path(), "sqlite", &["set", "S", "a", "1"]).success();
    let out_file = dir.path().join("out.jsonl");
    let out = run(
        dir.path(),
        "sqlite",
        &["export", "--out", out_file.to_str().expect("utf-8")],
    );
    out.success();
    assert_eq!(out.stderr.trim(), "exported 1 entry");
    assert!(out.stdout.is_empty());
    run(dir.path(), "sqlite", &["set", "S", "b", "1"]).success();
    let out = run(
        dir.path(),
        "sqlite",
        &["export", "--out", out_file.to_str().expect("utf-8")],
    );
    assert_eq!(out.stderr.trim(), "exported 2 entries");
}
