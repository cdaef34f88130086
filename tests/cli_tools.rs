//! The CLI's profile, export/import and `--url` commands, and `serve
//! --import/--export-on-exit`, as real processes.

mod support;

use std::process::{Command, Output};

use serde_json::{json, Value};
use support::{serve_process, stop_process};

fn cli(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_profilestore"))
        .args(["--storage", "sqlite", "--durability", "off", "--data-dir"])
        .arg(dir)
        .args(args)
        .env_remove("PROFILESTORE_STORAGE")
        .env_remove("PROFILESTORE_DATA_DIR")
        .env_remove("PROFILESTORE_URL")
        .env_remove("PROFILESTORE_API_KEY")
        .output()
        .expect("run profilestore")
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn ok_json(output: &Output) -> Value {
    serde_json::from_str(ok(output).trim()).expect("stdout is JSON")
}

fn seed(dir: &std::path::Path) {
    ok(&cli(
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
    ));
    ok(&cli(
        dir,
        &["set", "Players", "b", "[1,2]", "--scope", "s2"],
    ));
    ok(&cli(dir, &["set", "Guilds", "g", r#""text""#]));
    ok(&cli(dir, &["set", "Guilds", "gone", "1"]));
    ok(&cli(dir, &["remove", "Guilds", "gone"]));
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
    let exported = ok(&cli(src.path(), &["export"]));
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
    let imported = ok_json(&cli(dst.path(), &["import", file.to_str().expect("utf-8")]));
    assert_eq!(imported["imported"], 3);
    assert_eq!(sorted_lines(&ok(&cli(dst.path(), &["export"]))), lines);
    let only = ok(&cli(dst.path(), &["export", "--datastore", "Guilds"]));
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
    let out = cli(dir.path(), &["import", file.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2") && err.contains("nothing was imported"),
        "{err}"
    );
    let got = ok_json(&cli(dir.path(), &["get", "S", "k1"]));
    assert_eq!(
        got,
        Value::Null,
        "the good first line was not written either"
    );
}

#[test]
fn profile_show_message_and_rollback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/profiles/luau_no_session.json"
    ))
    .expect("fixture");
    let first = ok_json(&cli(dir.path(), &["set", "PlayerData", "Player_1", &doc]));
    let shown = ok_json(&cli(
        dir.path(),
        &["profile", "show", "PlayerData", "Player_1"],
    ));
    let original: Value = serde_json::from_str(&doc).expect("fixture JSON");
    assert_eq!(shown["data"], original["Data"]);
    assert_eq!(shown["session"], Value::Null);

    ok_json(&cli(
        dir.path(),
        &[
            "profile",
            "message",
            "PlayerData",
            "Player_1",
            r#"{"Gift":"Hat"}"#,
        ],
    ));
    let shown = ok_json(&cli(
        dir.path(),
        &["profile", "show", "PlayerData", "Player_1"],
    ));
    let messages = shown["messages"].as_array().expect("messages");
    assert_eq!(messages.last().expect("one")[1], json!({"Gift": "Hat"}));

    let mut changed = original.clone();
    changed["Data"] = json!({"Wiped": true});
    ok(&cli(
        dir.path(),
        &["set", "PlayerData", "Player_1", &changed.to_string()],
    ));
    let version = first["version"].as_str().expect("version");
    let rolled = ok_json(&cli(
        dir.path(),
        &[
            "profile",
            "rollback",
            "PlayerData",
            "Player_1",
            "--to",
            version,
        ],
    ));
    assert_eq!(rolled["rolledBackTo"], version);
    let shown = ok_json(&cli(
        dir.path(),
        &["profile", "show", "PlayerData", "Player_1"],
    ));
    assert_eq!(
        shown["data"], original["Data"],
        "the data of the chosen version"
    );

    let bad = cli(
        dir.path(),
        &[
            "profile",
            "rollback",
            "PlayerData",
            "Player_1",
            "--to",
            "someday",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("neither a version id nor a time"));
}

#[test]
fn data_commands_work_against_a_running_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut server, url) = serve_process(dir.path(), &["--storage", "memory"]);
    let remote = |args: &[&str]| {
        let mut all = vec!["--url", url.as_str(), "--key", "k1"];
        all.extend_from_slice(args);
        cli(dir.path(), &all)
    };
    ok(&remote(&["set", "Players", "p", r#"{"Coins":5}"#]));
    let got = ok_json(&remote(&["get", "Players", "p"]));
    assert_eq!(got["value"], json!({"Coins": 5}));
    let inc = ok_json(&remote(&["increment", "Players", "n", "--by", "3"]));
    assert_eq!(inc["value"], 3);
    let keys = ok(&remote(&["keys", "Players"]));
    assert_eq!(keys.lines().count(), 2);
    assert_eq!(
        ok(&remote(&["versions", "Players", "p"])).lines().count(),
        1
    );
    let wrong = cli(
        dir.path(),
        &["--url", &url, "--key", "nope", "get", "Players", "p"],
    );
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("refused the API key"));
    assert!(stop_process(&mut server).success());
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
    let (mut server, url) = serve_process(
        dir.path(),
        &[
            "--storage",
            "memory",
            "--import",
            import.to_str().expect("utf-8"),
            "--export-on-exit",
            export.to_str().expect("utf-8"),
        ],
    );
    let got = ok_json(&cli(
        dir.path(),
        &["--url", &url, "--key", "k1", "get", "S", "k"],
    ));
    assert_eq!(got["value"], json!({"a": 1}));
    ok(&cli(
        dir.path(),
        &["--url", &url, "--key", "k1", "set", "S", "k2", "2"],
    ));
    assert!(stop_process(&mut server).success());
    let lines = sorted_lines(&std::fs::read_to_string(&export).expect("export written"));
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["value"], 2);
}
