//! Bad input on the command line: every command (`get`, `set`,
//! `increment`, `remove`, `keys`, `versions`, `profile show/message/
//! rollback`, `export`, `import`, `serve`) and `config.toml` given wrong
//! types, over-long names, invalid UTF-8, NaN, huge values, bad version
//! ids and times, bad files and unusable settings. Each must exit non-zero
//! with a message on stderr that says what is wrong, never a panic, and
//! leave the data folder as it was (checked after every case).

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::cli::Cli;

/// One row: arguments after the storage flags, stdin, and the texts the
/// error must contain (any of them, case-insensitive).
struct Case {
    args: Vec<OsString>,
    stdin: Vec<u8>,
    expect: &'static [&'static str],
}

fn case(args: &[&str], expect: &'static [&'static str]) -> Case {
    Case {
        args: args.iter().map(OsString::from).collect(),
        stdin: Vec::new(),
        expect,
    }
}

fn with_stdin(args: &[&str], stdin: Vec<u8>, expect: &'static [&'static str]) -> Case {
    Case {
        stdin,
        ..case(args, expect)
    }
}

/// Runs to completion (killed after 30 s: a `serve` that started by
/// mistake is a failure, not a hang).
fn run(data: &Path, args: &[OsString], stdin: &[u8]) -> (Option<i32>, String, String) {
    let out = Cli::on(data, "sqlite")
        .args(args)
        .stdin(stdin)
        .time_limit(Duration::from_secs(30))
        .run();
    (out.code(), out.stdout, out.stderr)
}

fn ok(data: &Path, args: &[&str]) -> String {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let (code, out, err) = run(data, &args, b"");
    assert_eq!(code, Some(0), "{args:?}: {err}");
    out
}

/// What the data folder holds: every live entry (export), every data
/// store, and every version of the seeded keys.
fn snapshot(data: &Path) -> String {
    let mut s = ok(data, &["export"]);
    s.push_str(&ok(data, &["stores"]));
    for (store, key) in [("s", "k"), ("s", "c"), ("p", "k"), ("s", "new")] {
        s.push_str(&ok(data, &["versions", store, key]));
    }
    s
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

fn file(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write file");
    path.to_str().expect("utf-8").to_owned()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Cases that need files: config files and import files.
#[rustfmt::skip]
fn file_cases(dir: &Path) -> Vec<Case> {
    let cfg = |name: &str, text: &str| leak(file(dir, name, text.as_bytes()));
    let good = r#"{"datastore":"s","key":"new","value":1}"#;
    let import = |name: &str, bad: &str| {
        leak(file(dir, name, format!("{good}\n{bad}\n{good}\n").as_bytes()))
    };
    let missing = leak(dir.join("missing.toml").to_str().expect("utf-8").to_owned());
    let mut cases = vec![
        case(&["--config", missing, "keys", "s"], &["cannot read config file", "missing.toml"]),
        case(&["--config", cfg("unknown.toml", "[server]\nlisten_addr = \"127.0.0.1:1\"\n"), "keys", "s"], &["listen_addr"]),
        case(&["--config", cfg("section.toml", "[storag]\n"), "keys", "s"], &["storag"]),
        case(&["--config", cfg("type.toml", "[server]\nmax_body_bytes = \"big\"\n"), "keys", "s"], &["max_body_bytes", "invalid type"]),
        case(&["--config", cfg("type2.toml", "[log]\nlevel = 5\n"), "keys", "s"], &["level", "invalid type"]),
        case(&["--config", cfg("syntax.toml", "[server\nlisten = \n"), "keys", "s"], &["invalid config file"]),
        case(&["--config", cfg("listen.toml", "[server]\nlisten = \"nonsense\"\n"), "keys", "s"], &["listen", "socket address"]),
        case(&["--config", cfg("durability.toml", "[storage]\ndurability = \"sometimes\"\n"), "keys", "s"], &["sometimes"]),
        case(&["--config", cfg("steal.toml", "[engine]\nsession_steal_secs = 1e300\n"), "keys", "s"], &["engine.session_steal_secs"]),
        case(&["--config", cfg("expiry.toml", "[datastore]\nversion_expiry_days = 1e300\n"), "keys", "s"], &["datastore.version_expiry_days"]),
        case(&["--config", cfg("nan.toml", "[messaging]\nretention_secs = nan\n"), "keys", "s"], &["messaging.retention_secs"]),
        case(&["--config", cfg("negative.toml", "[server]\nsession_lease_secs = -1\n"), "keys", "s"], &["server.session_lease_secs"]),
        case(&["--config", cfg("conns.toml", "[server]\nmax_connections = 0\n"), "keys", "s"], &["server.max_connections"]),
        case(
            &["--config", cfg("polls.toml", "[server]\nmax_long_polls = 9223372036854775807\n"), "serve", "--listen", "127.0.0.1:0", "--api-key", "k"],
            &["server.max_long_polls"],
        ),
        case(&["--config", cfg("body.toml", "[server]\nmax_body_bytes = 10\n"), "keys", "s"], &["server.max_body_bytes"]),
        case(&["--config", cfg("emptykey.toml", "[server]\napi_keys = [\"\"]\n"), "keys", "s"], &["api_keys"]),
        case(&["--config", cfg("public.toml", "[server]\nlisten = \"0.0.0.0:0\"\n"), "serve"], &["refusing to listen on 0.0.0.0:0 without an API key"]),
        case(&["--config", leak(file(dir, "binary.toml", b"[server]\nlisten = \"\xff\"\n")), "keys", "s"], &["cannot read config file", "UTF-8"]),
        case(&["--config", leak(dir.to_str().expect("utf-8").to_owned()), "keys", "s"], &["cannot read config file"]),
        case(&["--config", cfg("steal2.toml", "[engine]\nsession_steal_secs = 1e300\n"), "serve", "--listen", "127.0.0.1:0"], &["engine.session_steal_secs"]),
    ];
    for (name, bad, expect) in [
        ("notjson.jsonl", "{not json", &["line 2"][..]),
        ("nan.jsonl", r#"{"datastore":"s","key":"n","value":NaN}"#, &["line 2", "NaN"]),
        ("novalue.jsonl", r#"{"datastore":"s","key":"n"}"#, &["line 2", "value"]),
        ("longkey.jsonl", leak(format!(r#"{{"datastore":"s","key":"{}","value":1}}"#, long(51))), &["line 2", "50"]),
        ("scope.jsonl", r#"{"datastore":"s","scope":7,"key":"n","value":1}"#, &["line 2", "scope"]),
        ("users.jsonl", r#"{"datastore":"s","key":"n","value":1,"userIds":[1,2,3,4,5]}"#, &["line 2", "UserID"]),
        ("meta.jsonl", r#"{"datastore":"s","key":"n","value":1,"metadata":[1]}"#, &["line 2"]),
        ("array.jsonl", "[1,2,3]", &["line 2"]),
        ("nested.jsonl", leak("[".repeat(100_000)), &["line 2"]),
    ] {
        let path = import(name, bad);
        cases.push(case(&["import", path], expect));
        cases.push(case(&["serve", "--listen", "127.0.0.1:0", "--import", path], expect));
    }
    let mut bytes = format!("{good}\n").into_bytes();
    bytes.extend_from_slice(b"{\"datastore\":\"s\",\"key\":\"n\xff\",\"value\":1}\n");
    let invalid = leak(file(dir, "invalid.jsonl", &bytes));
    cases.push(case(&["import", invalid], &["line 2", "UTF-8"]));
    cases.push(with_stdin(&["import", "-"], format!("{good}\n{{bad\n").into_bytes(), &["stdin line 2"]));
    cases.push(case(&["import", leak(dir.join("nope.jsonl").to_str().expect("utf-8").to_owned())], &["cannot read", "nope.jsonl"]));
    cases.push(case(&["import", leak(dir.to_str().expect("utf-8").to_owned())], &["directory"]));
    let out_dir = leak(dir.join("no/such/dir/out.jsonl").to_str().expect("utf-8").to_owned());
    cases.push(case(&["export", "--out", out_dir], &["cannot create", "out.jsonl"]));
    cases.push(case(&["serve", "--listen", "127.0.0.1:0", "--api-key", "k", "--export-on-exit", out_dir], &["cannot create", "out.jsonl"]));
    cases
}

#[rustfmt::skip]
fn command_cases() -> Vec<Case> {
    let l51 = leak(long(51));
    let version = "08DA7B3C1F2E4A00.0000000001.08DA7B3C1F2E4A00.01";
    let mut cases = vec![
        case(&["get"], &["required"]),
        case(&["get", "s"], &["required"]),
        case(&["get", l51, "k"], &["50"]),
        case(&["get", "s", l51], &["50"]),
        case(&["get", "s", ""], &["empty", "key"]),
        case(&["get", "", "k"], &["empty"]),
        case(&["get", "s", "k", "--scope", l51], &["scope"]),
        case(&["get", "s", "k", "--version", "garbage"], &["garbage"]),
        case(&["get", "s", "k", "--universe", "-1"], &["universe", "-1"]),
        case(&["get", "s", "k", "--universe", "NaN"], &["universe", "NaN"]),
        case(&["get", "s", "k", "--storage", "floppy"], &["floppy"]),
        case(&["get", "s", "k", "--durability", "sometimes"], &["sometimes"]),
        case(&["get", "s", "k", "--retention", "never"], &["never"]),
        case(&["get", "s", "k", "--url", "not-a-url"], &["not-a-url"]),
        case(&["get", "s", "k", "--url", "ftp://127.0.0.1:1"], &["http://"]),
        case(&["frobnicate"], &["frobnicate"]),
        case(&["set", "s", "k"], &["required"]),
        case(&["set", "s", "k", "{not json"], &["JSON"]),
        case(&["set", "s", "k", "NaN"], &["NaN"]),
        case(&["set", "s", "k", "[Infinity]"], &["infinity"]),
        case(&["set", "s", "k", "1e999"], &["JSON"]),
        case(&["set", l51, "k", "1"], &["50"]),
        case(&["set", "s", l51, "1"], &["50"]),
        case(&["set", "s", "k", "1", "--scope", ""], &["scope"]),
        case(&["set", "s", "k", "1", "--user-id", "1", "--user-id", "2", "--user-id", "3", "--user-id", "4", "--user-id", "5"], &["UserID", "4"]),
        case(&["set", "s", "k", "1", "--user-id", "abc"], &["abc"]),
        case(&["set", "s", "k", "1", "--user-id", "99999999999999999999"], &["99999999999999999999"]),
        case(&["set", "s", "k", "1", "--metadata", "[1]"], &["--metadata must be a JSON object"]),
        case(&["set", "s", "k", "1", "--metadata", "{bad"], &["--metadata must be a JSON object"]),
        case(&["set", "s", "k", "1", "--metadata", leak(format!("{{\"a\":\"{}\"}}", long(400)))], &["metadata", "attribute"]),
        with_stdin(&["set", "s", "k", "-"], b"\"\xff\xfe\"".to_vec(), &["UTF-8"]),
        with_stdin(&["set", "s", "k", "-"], vec![b'['; 100_000], &["JSON"]),
        with_stdin(&["set", "s", "k", "-"], format!("\"{}\"", long(4 * 1024 * 1024)).into_bytes(), &["4194304", "size"]),
        with_stdin(&["set", "s", "k", "-"], Vec::new(), &["JSON"]),
        case(&["increment", "s", "k"], &["not an integer", "NotNumeric"]),
        case(&["increment", "s", "c"], &["64-bit", "TooLarge"]),
        case(&["increment", "s", "c", "--by", "1.5"], &["1.5"]),
        case(&["increment", "s", "c", "--by", "99999999999999999999"], &["99999999999999999999"]),
        case(&["increment", "s", l51], &["50"]),
        case(&["remove", l51, "k"], &["50"]),
        case(&["remove", "s", l51], &["50"]),
        case(&["remove", "s", ""], &["empty"]),
        case(&["keys"], &["required"]),
        case(&["keys", l51], &["50"]),
        case(&["keys", "s", "--scope", l51], &["scope"]),
        case(&["versions", "s", l51], &["50"]),
        case(&["versions", l51, "k"], &["50"]),
        case(&["versions", "s", ""], &["empty"]),
        case(&["profile"], &["profile"]),
        case(&["profile", "show", "p", l51], &["50"]),
        case(&["profile", "show", l51, "k"], &["50"]),
        case(&["profile", "show", "p", "k", "--version", "garbage"], &["garbage"]),
        case(&["profile", "show", "s", "k"], &["not a ProfileStore profile"]),
        case(&["profile", "message", "p", "k", "{bad"], &["JSON"]),
        case(&["profile", "message", "p", "k", "NaN"], &["NaN"]),
        case(&["profile", "message", "p", l51, "1"], &["50"]),
        case(&["profile", "rollback", "p", "k"], &["--to"]),
        case(&["profile", "rollback", "p", "k", "--to", "yesterday"], &["neither a version id nor a time"]),
        case(&["profile", "rollback", "p", "k", "--to", "0"], &["nothing was written"]),
        case(&["profile", "rollback", "p", "k", "--to", "9999-12-31T23:59:59-23:59"], &["neither a version id nor a time"]),
        case(&["profile", "rollback", "p", "k", "--to", version], &["version"]),
        case(&["profile", "rollback", "s", "k", "--to", "99999999999999"], &["not a ProfileStore profile", "nothing was written", "profile"]),
        case(&["export", "--datastore", l51], &["50"]),
        case(&["serve", "--listen", "nonsense"], &["nonsense"]),
        case(&["serve", "--listen", "0.0.0.0:0"], &["without an API key"]),
        case(&["serve", "--listen", "[::]:0"], &["without an API key"]),
        case(&["serve", "--listen", "127.0.0.1:0", "--api-key", ""], &["API key cannot be empty"]),
        case(&["serve", "--listen", "127.0.0.1:0", "--import", "/nonexistent/fixtures.jsonl"], &["cannot read", "fixtures.jsonl"]),
    ];
    // Invalid UTF-8 in arguments.
    for args in [
        vec![OsString::from("get"), OsString::from("s"), OsString::from_vec(b"k\xff".to_vec())],
        vec![OsString::from("set"), OsString::from("s"), OsString::from("k"), OsString::from_vec(b"\"\xff\"".to_vec())],
        vec![OsString::from("keys"), OsString::from("s"), OsString::from("--prefix"), OsString::from_vec(b"\xc3\x28".to_vec())],
    ] {
        cases.push(Case {
            args,
            stdin: Vec::new(),
            expect: &["UTF-8", "utf8", "utf-8"],
        });
    }
    cases
}

fn seed(data: &Path) {
    ok(data, &["set", "s", "k", r#"{"a":1}"#]);
    ok(data, &["set", "s", "k", r#"{"a":2}"#]);
    ok(data, &["set", "s", "c", "9223372036854775807"]);
    // A profile, written the way a game server writes one.
    let doc = r#"{"Data":{"coins":1},"MetaData":{"ProfileCreateTime":1700000000,"SessionLoadCount":1,"LastUpdate":1700000000,"MetaTags":{}},"RobloxMetaData":{},"UserIds":[],"GlobalUpdates":[0,[]]}"#;
    ok(data, &["set", "p", "k", doc]);
}

#[test]
fn every_command_refuses_bad_input_with_a_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = dir.path().join("data");
    seed(&data);
    let mut before = snapshot(&data);
    let start = before.clone();
    // A port in use, for `serve`.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = busy.local_addr().expect("addr").to_string();
    let mut cases = command_cases();
    cases.push(case(
        &["serve", "--listen", leak(busy), "--api-key", "k"],
        &["cannot listen", "another server"],
    ));
    cases.extend(file_cases(dir.path()));

    let mut failures = Vec::new();
    for c in &cases {
        let (code, _out, err) = run(&data, &c.args, &c.stdin);
        let shown = format!(
            "{:?}",
            c.args
                .iter()
                .map(|a| a.to_string_lossy().chars().take(60).collect::<String>())
                .collect::<Vec<_>>()
        );
        let lower = err.to_lowercase();
        if code == Some(0) || code.is_none() {
            failures.push(format!("{shown}: exit {code:?} (expected a failure)"));
        } else if lower.contains("panicked") || lower.contains("backtrace") {
            failures.push(format!("{shown}: panicked: {err}"));
        } else if !lower.contains("error") {
            failures.push(format!("{shown}: no `error` on stderr: {err}"));
        } else if !c.expect.iter().any(|e| lower.contains(&e.to_lowercase())) {
            failures.push(format!(
                "{shown}: stderr does not say {:?}: {err}",
                c.expect
            ));
        }
        let now = snapshot(&data);
        if now != before {
            failures.push(format!("{shown}: changed the data folder"));
            before = now;
        }
    }
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for c in &cases {
        let mut args = c.args.iter().map(|a| a.to_string_lossy().into_owned());
        let mut name = args.next().unwrap_or_default();
        if name == "--config" {
            args.next();
            name = format!("config file ({})", args.next().unwrap_or_default());
        } else if name == "profile" {
            name = format!("profile {}", args.next().unwrap_or_default());
        }
        *counts.entry(name).or_default() += 1;
    }
    for (name, n) in &counts {
        println!("{n:4} cases  {name}");
    }
    println!("{:4} CLI cases in all", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(start, snapshot(&data));
}
