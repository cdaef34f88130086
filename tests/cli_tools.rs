//! The CLI's profile, export/import and `--url` commands, and `serve
//! --import/--export-on-exit`, as real processes.

mod support;

use serde_json::{json, Value};
use support::cli::{Cli, CliOutput};
use support::process::{ServeBuilder, ServeProcess};

fn cli(dir: &std::path::Path, args: &[&str]) -> CliOutput {
    Cli::on(dir, "sqlite").args(args).run()
}

/// A server on a memory store accepting key `k1`.
fn serve(dir: &std::path::Path) -> ServeBuilder {
    ServeProcess::builder(dir)
        .api_key("k1")
        .durability("off")
        .storage("memory")
}

fn seed(dir: &std::path::Path) {
    cli(
        dir,
        &[
            "set",
            "Players",
            "a",
            r#"{"Coins":1}"#,
            "--user-id",
            "7",
            "--metadata",
            r#"{"m":"x"}"#,
        ],
    )
    .success();
    cli(dir, &["set", "Players", "b", "[1,2]", "--scope", "s2"]).success();
    cli(dir, &["set", "Guilds", "g", r#""text""#]).success();
    cli(dir, &["set", "Guilds", "gone", "1"]).success();
    cli(dir, &["remove", "Guilds", "gone"]).success();
}

fn sorted_lines(text: &str) -> Vec<Value> {
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    lines.sort_by_key(|l| format!("{}/{}/{}", l["datastore"], l["scope"], l["key"]));
    lines
}

#[test]
fn export_then_import_reproduces_every_live_entry() {
    let src = tempfile::tempdir().expect("tempdir");
    seed(src.path());
    let exported = cli(src.path(), &["export"]).success();
    let lines = sorted_lines(&exported);
    assert_eq!(lines.len(), 3, "deleted keys are not exported: {exported}");
    assert_eq!(
        lines[1],
        json!({"datastore": "Players", "scope": "global", "key": "a", "value": {"Coins": 1},
               "userIds": [7], "metadata": {"m": "x"}})
    );
    let file = src.path().join("export.jsonl");
    std::fs::write(&file, &exported).expect("write");
    let dst = tempfile::tempdir().expect("tempdir");
    let imported = cli(dst.path(), &["import", file.to_str().expect("utf-8")]).json();
    assert_eq!(imported["imported"], 3);
    assert_eq!(sorted_lines(&cli(dst.path(), &["export"]).success()), lines);
    let only = cli(dst.path(), &["export", "--datastore", "Guilds"]).success();
    assert_eq!(only.lines().count(), 1);
}

#[test]
fn an_import_with_a_bad_line_names_it_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"datastore\":\"S\",\"key\":\"k1\",\"value\":1}\n{\"datastore\":\"S\",\"key\":\"\",\"value\":2}\n",
    )
    .expect("write");
    cli(dir.path(), &["import", file.to_str().expect("utf-8")])
        .failure_with(&["line 2", "nothing was imported"]);
    // The good first line was not written either.
    cli(dir.path(), &["get", "S", "k1"]).failure_with(&[r#"key "k1" not found"#]);
}

#[test]
fn an_import_error_says_its_position_once_in_plain_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"datastore\":\"S\",\"key\":\"k1\",\"value\":1}\n{not json\n",
    )
    .expect("write");
    let err = cli(dir.path(), &["import", file.to_str().expect("utf-8")]).failure_with(&[
        "line 2: 104:",
        "not valid JSON",
        "(at column 2); nothing was imported",
    ]);
    assert!(!err.contains(".;"), "{err}");
    assert_eq!(err.matches("column").count(), 1, "{err}");
    assert!(!err.contains("line 1"), "{err}");
}

#[test]
fn profile_show_message_and_rollback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/profiles/luau_no_session.json"
    ))
    .expect("fixture");
    let first = cli(dir.path(), &["set", "PlayerData", "Player_1", &doc]).json();
    let shown = cli(dir.path(), &["profile", "show", "PlayerData", "Player_1"]).json();
    let original: Value = serde_json::from_str(&doc).expect("fixture JSON");
    assert_eq!(shown["data"], original["Data"]);
    assert_eq!(shown["session"], Value::Null);

    cli(
        dir.path(),
        &[
            "profile",
            "message",
            "PlayerData",
            "Player_1",
            r#"{"Gift":"Hat"}"#,
        ],
    )
    .json();
    let shown = cli(dir.path(), &["profile", "show", "PlayerData", "Player_1"]).json();
    let messages = shown["messages"].as_array().expect("messages");
    assert_eq!(messages.last().expect("one")[1], json!({"Gift": "Hat"}));

    let mut changed = original.clone();
    changed["Data"] = json!({"Wiped": true});
    cli(
        dir.path(),
        &["set", "PlayerData", "Player_1", &changed.to_string()],
    )
    .success();
    let version = first["version"].as_str().expect("version");
    let rolled = cli(
        dir.path(),
        &[
            "profile",
            "rollback",
            "PlayerData",
            "Player_1",
            "--to",
            version,
        ],
    )
    .json();
    assert_eq!(rolled["rolledBackTo"], version);
    let shown = cli(dir.path(), &["profile", "show", "PlayerData", "Player_1"]).json();
    assert_eq!(
        shown["data"], original["Data"],
        "the data of the chosen version"
    );

    cli(
        dir.path(),
        &[
            "profile",
            "rollback",
            "PlayerData",
            "Player_1",
            "--to",
            "someday",
        ],
    )
    .failure_with(&["neither a version id nor a time"]);
}

#[test]
fn data_commands_work_against_a_running_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(dir.path()).start();
    let url = server.url.clone();
    let remote = |args: &[&str]| {
        let mut all = vec!["--url", url.as_str(), "--key", "k1"];
        all.extend_from_slice(args);
        cli(dir.path(), &all)
    };
    remote(&["set", "Players", "p", r#"{"Coins":5}"#]).success();
    let got = remote(&["get", "Players", "p"]).json();
    assert_eq!(got["value"], json!({"Coins": 5}));
    let inc = remote(&["increment", "Players", "n", "--by", "3"]).json();
    assert_eq!(inc["value"], 3);
    let keys = remote(&["keys", "Players"]).success();
    assert_eq!(keys.lines().count(), 2);
    assert_eq!(
        remote(&["versions", "Players", "p"])
            .success()
            .lines()
            .count(),
        1
    );
    // The connection options also work after a data command's name.
    let after = cli(
        dir.path(),
        &["get", "Players", "p", "--url", &url, "--key", "k1"],
    )
    .json();
    assert_eq!(after["value"], json!({"Coins": 5}));
    cli(
        dir.path(),
        &[
            "profile", "show", "Players", "p", "--url", &url, "--key", "k1",
        ],
    )
    .failure_with(&["not a ProfileStore profile"]);
    remote(&["get", "Players", "nobody"]).failure_with(&[
        r#"key "nobody" not found in data store "Players" (scope "global") on the server at"#,
        &url,
    ]);
    let refused = cli(
        dir.path(),
        &["--url", &url, "--key", "nope", "get", "Players", "p"],
    )
    .failure_with(&["refused the API key", "--key", "PROFILESTORE_API_KEY"]);
    assert!(
        !refused.contains("--api-key or"),
        "the CLI's flag is --key: {refused}"
    );
    assert!(server.stop().success());
}

#[test]
fn serve_imports_fixtures_and_exports_on_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let import = dir.path().join("in.jsonl");
    let export = dir.path().join("out.jsonl");
    std::fs::write(
        &import,
        "{\"datastore\":\"S\",\"scope\":\"global\",\"key\":\"k\",\"value\":{\"a\":1}}\n",
    )
    .expect("write");
    let server = serve(dir.path())
        .args([
            "--import",
            import.to_str().expect("utf-8"),
            "--export-on-exit",
            export.to_str().expect("utf-8"),
        ])
        .start();
    let url = server.url.clone();
    let got = cli(dir.path(), &["--url", &url, "--key", "k1", "get", "S", "k"]).json();
    assert_eq!(got["value"], json!({"a": 1}));
    cli(
        dir.path(),
        &["--url", &url, "--key", "k1", "set", "S", "k2", "2"],
    )
    .success();
    assert!(server.stop().success());
    let lines = sorted_lines(&std::fs::read_to_string(&export).expect("export written"));
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["value"], 2);
}
