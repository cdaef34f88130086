//! Structured logs: `serve --log-format json` (or `[log] format = "json"`,
//! or PROFILESTORE_LOG_FORMAT) writes one JSON object a line on stderr.

mod support;

use std::path::Path;

use serde_json::Value;
use support::process::{ServeProcess, Stderr};

/// Every stderr line of a server started with `configure`, after one
/// request, each parsed as JSON (panics on a line that is not).
fn log_lines(
    configure: impl FnOnce(support::process::ServeBuilder) -> support::process::ServeBuilder,
) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("dir");
    let builder = ServeProcess::builder(dir.path())
        .storage("memory")
        .api_key("secret-key-9q")
        .env("PROFILESTORE_LOG", "info")
        .stderr(Stderr::Capture);
    let server = configure(builder).start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        // Refused (wrong key): logged at info inside the request span.
        let url = format!(
            "{}/datastores/v1/universes/1/standard-datastores",
            server.url
        );
        let a = support::send(hyper::Method::GET, &url, &[("x-api-key", "bad-key-7z")], "").await;
        assert_eq!(a.status, hyper::StatusCode::UNAUTHORIZED);
    });
    let (status, stderr) = server.stop_with_stderr();
    assert!(status.success(), "{stderr}");
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn assert_structured(lines: &[Value]) {
    let serving = lines
        .iter()
        .find(|l| l["fields"]["message"] == "profilestore is serving")
        .unwrap_or_else(|| panic!("no start line in {lines:?}"));
    assert_eq!(serving["level"], "INFO");
    assert!(serving["timestamp"].is_string(), "{serving}");
    assert!(serving["fields"]["addr"]
        .as_str()
        .is_some_and(|a| a.starts_with("127.0.0.1:")));
    let refused = lines
        .iter()
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("API key"))
        })
        .unwrap_or_else(|| panic!("no refusal line in {lines:?}"));
    assert_eq!(refused["span"]["name"], "request", "{refused}");
    assert_eq!(refused["span"]["method"], "GET");
    assert!(refused["span"]["id"].is_string());
    let text = serde_json::to_string(lines).expect("json");
    assert!(
        !text.contains("secret-key-9q") && !text.contains("bad-key-7z"),
        "keys reach no log: {text}"
    );
}

#[test]
fn serve_log_format_json_writes_one_json_object_a_line() {
    let lines = log_lines(|b| b.args(["--log-format", "json"]));
    assert_structured(&lines);
}

#[test]
fn the_variable_and_config_toml_turn_json_logs_on_too() {
    let lines = log_lines(|b| b.env("PROFILESTORE_LOG_FORMAT", "json"));
    assert_structured(&lines);
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[log]\nformat = \"json\"\n").expect("write");
    let lines = log_lines(|b| b.arg("--config").arg(Path::new(&config)));
    assert_structured(&lines);
}
