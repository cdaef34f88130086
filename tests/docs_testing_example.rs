//! The examples of `docs/testing.md`, run, so the page stays true.
//!
//! The Rust example is this file's first section, between the
//! `doc-example` markers; the page shows it verbatim (a test checks the
//! copy). The Luau, Python and TypeScript examples are taken out of the
//! page (every fenced block whose first line is a comment naming a file)
//! and run as a user runs them: Python with `python3 -m unittest`,
//! TypeScript with `tsc` then `node --test`, Luau with Lune from a game
//! folder, each against a real server. A missing tool (`python3`, `node`;
//! `tsc` named by `PROFILESTORE_TSC`; Lune and the ProfileStore module by
//! `PROFILESTORE_LUNE` and `PROFILESTORE_PS_MODULE`) skips that example
//! with a line saying so.

// doc-example:start
use std::time::Duration;

use profilestore::engine::{Engine, EngineConfig, Profile, ProfileStore, StartOptions};
use profilestore::opencloud::emulator::{FaultMatch, FaultSpec};
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::json;

/// The code under test: a game server's daily reward on the ProfileStore
/// engine: 100 coins when the last claim is a day old.
fn claim(profile: &Profile, now_secs: i64) -> bool {
    profile
        .update_data(|data| {
            if now_secs - data["LastClaim"].as_i64().unwrap_or(0) < 24 * 60 * 60 {
                return false;
            }
            data["LastClaim"] = json!(now_secs);
            data["Coins"] = json!(data["Coins"].as_i64().unwrap_or(0) + 100);
            true
        })
        .expect("an active profile")
}

/// One game server on the test server's data, bus and clock.
fn game_server(server: &TestServer, job: &str) -> ProfileStore {
    let engine = Engine::new(
        server.datastores.clone(),
        server.bus.clone(),
        1, // universe
        1, // place
        job,
        EngineConfig::default(),
    );
    engine
        .store("PlayerData", json!({"Coins": 0, "LastClaim": 0}))
        .expect("store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_claim_waits_a_day_and_the_auto_save_keeps_it() {
    let server = spawn_test_server().await;
    let store = game_server(&server, "server-a");
    let profile = store
        .start_session("Player_1", StartOptions::default())
        .await
        .expect("start")
        .expect("a profile");
    let clock = server.clock();
    assert!(claim(&profile, clock.now_secs()));
    assert!(!claim(&profile, clock.now_secs()), "refused the same day");

    // A day passes at once, for the server and every engine on it; the
    // engine's 5-minute auto-save fires on the way.
    let (saved, mut on_save) = tokio::sync::mpsc::unbounded_channel();
    profile.on_after_save(move |data| {
        let _ = saved.send(data.clone());
    });
    server
        .advance(Duration::from_secs(24 * 60 * 60))
        .await
        .expect("advance");
    assert!(claim(&profile, clock.now_secs()), "paid a day later");
    let first_save = tokio::time::timeout(Duration::from_secs(30), on_save.recv())
        .await
        .expect("the auto-save ran")
        .expect("a save");
    assert!(first_save["Coins"].as_i64().unwrap_or(0) >= 100);
    profile.end_session().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_write_lands_and_a_snapshot_undoes_it() {
    let server = spawn_test_server().await;
    let emulator = server.emulator();
    let players = server
        .datastores
        .data_store(1, "Players", "global")
        .expect("store");
    players
        .set("Player_1", &json!({"Coins": 10}), &Default::default())
        .await
        .expect("seed");
    emulator.snapshot("seeded").await.expect("snapshot");

    // Roblox documents that a write can land and still report failure.
    let fault = FaultSpec {
        matches: FaultMatch {
            data_store: Some("Players".into()),
            operations: vec!["set".into()],
            ..FaultMatch::default()
        },
        effect: "ambiguous".into(),
        times: Some(1),
        ..FaultSpec::default()
    };
    emulator.fault(&fault).await.expect("fault");
    let write = players
        .set("Player_1", &json!({"Coins": 15}), &Default::default())
        .await;
    assert!(write.is_err(), "the caller sees a failure");
    let stored = players.get("Player_1").await.expect("get").expect("entry");
    assert_eq!(stored.value, json!({"Coins": 15}), "but the write landed");

    // Restore before the next test: the data is as seeded again.
    emulator.restore("seeded").await.expect("restore");
    emulator.clear_faults().await.expect("clear");
    let stored = players.get("Player_1").await.expect("get").expect("entry");
    assert_eq!(stored.value, json!({"Coins": 10}));
    server.shutdown().await;
}
// doc-example:end

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The page, and its fenced blocks that name a file: `(language, file, text)`.
fn doc_files() -> Vec<(String, String, String)> {
    let page = std::fs::read_to_string(repo().join("docs/testing.md")).expect("docs/testing.md");
    let mut files = Vec::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        let Some(lang) = line.strip_prefix("```").filter(|l| !l.is_empty()) else {
            continue;
        };
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        let first = body.first().copied().unwrap_or("");
        let name = ["-- ", "# ", "// "]
            .iter()
            .find_map(|p| first.strip_prefix(p))
            .and_then(|rest| rest.split(':').next())
            .filter(|n| n.contains('.') && !n.contains(' '));
        if let Some(name) = name {
            files.push((lang.to_owned(), name.to_owned(), body.join("\n") + "\n"));
        }
    }
    files
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes the page's files of `lang` under `dir`; returns their names.
fn write_files(dir: &Path, lang: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (l, name, text) in doc_files() {
        if l == lang {
            let path = dir.join(&name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
            names.push(name);
        }
    }
    assert!(!names.is_empty(), "docs/testing.md has no {lang} example");
    names
}

fn found(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `command`, failing the test with its output unless it succeeds.
fn run(mut command: Command, what: &str) -> String {
    let out = command.output().expect(what);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{what}:\n{text}");
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

#[test]
fn the_page_shows_the_rust_example_verbatim() {
    let source =
        std::fs::read_to_string(repo().join("tests/docs_testing_example.rs")).expect("read");
    let start = source.find("// doc-example:start\n").expect("start marker") + 21;
    let end = source.find("// doc-example:end").expect("end marker");
    let example = &source[start..end];
    let page = std::fs::read_to_string(repo().join("docs/testing.md")).expect("read");
    assert!(
        page.contains(&format!("```rust\n{example}```")),
        "docs/testing.md's Rust block differs from tests/docs_testing_example.rs"
    );
}

#[test]
fn the_python_example_runs() {
    if !found("python3") {
        eprintln!("python example: skipped: no python3");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    write_files(dir.path(), "python");
    let mut command = Command::new("python3");
    command
        .args(["-m", "unittest", "-v", "test_players"])
        .current_dir(dir.path())
        .env("PROFILESTORE_BIN", env!("CARGO_BIN_EXE_profilestore"));
    let out = run(command, "python3 -m unittest");
    assert!(out.contains("OK"), "{out}");
}

#[test]
fn the_typescript_example_runs() {
    let tsc = std::env::var_os("PROFILESTORE_TSC").map(PathBuf::from);
    let Some(tsc) = tsc.filter(|t| t.is_file()) else {
        eprintln!("typescript example: skipped: PROFILESTORE_TSC does not name tsc");
        return;
    };
    if !found("node") {
        eprintln!("typescript example: skipped: no node");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let names = write_files(dir.path(), "ts");
    let mut compile = Command::new(&tsc);
    compile
        .args(["--strict", "--target", "es2022", "--module", "nodenext"])
        .args(["--moduleResolution", "nodenext", "--types", "node"])
        .args(["--outDir", "out"])
        .args(&names)
        .current_dir(dir.path());
    if let Some(types) = tsc.parent().and_then(Path::parent) {
        // tsc's own node_modules holds @types/node.
        compile.arg("--typeRoots").arg(types.join("@types"));
    }
    run(compile, "tsc");
    let mut test = Command::new("node");
    test.args(["--test", "out/"])
        .current_dir(dir.path())
        .env("PROFILESTORE_BIN", env!("CARGO_BIN_EXE_profilestore"));
    let out = run(test, "node --test");
    assert!(out.contains("# fail 0"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_luau_example_runs_under_lune() {
    let lune = std::env::var_os("PROFILESTORE_LUNE").map(PathBuf::from);
    let module = std::env::var_os("PROFILESTORE_PS_MODULE").map(PathBuf::from);
    let (Some(lune), Some(module)) = (lune.filter(|p| p.is_file()), module.filter(|p| p.is_file()))
    else {
        eprintln!("luau example: skipped: PROFILESTORE_LUNE / PROFILESTORE_PS_MODULE not set");
        return;
    };
    let game = tempfile::tempdir().expect("tempdir");
    write_files(game.path(), "luau");
    let client = repo().join("clients/luau");
    std::fs::write(
        game.path().join(".luaurc"),
        serde_json::json!({"aliases": {"profilestore": client}}).to_string(),
    )
    .expect(".luaurc");
    std::fs::create_dir_all(game.path().join("vendor")).expect("vendor");
    std::fs::copy(&module, game.path().join("vendor/ProfileStore.luau")).expect("module");
    let server = spawn_test_server().await;
    let mut command = Command::new(lune);
    command
        .args(["run", "tests/daily_reward.luau"])
        .current_dir(game.path())
        .env("PROFILESTORE_URL", &server.url)
        .env("PROFILESTORE_API_KEY", &server.api_key);
    let out = tokio::task::spawn_blocking(move || run(command, "lune run tests/daily_reward.luau"))
        .await
        .expect("join");
    assert!(out.contains("0 failed"), "{out}");
    server.shutdown().await;
}
