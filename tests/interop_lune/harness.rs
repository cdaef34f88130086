//! Running Lune scripts from `tests/luau/` for `tests/interop_lune.rs`:
//! finding Lune and the real ProfileStore module, streaming a script's
//! `RESULT {...}` lines, checking its summary, or killing it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Lune and the real module, when configured.
pub(crate) struct LuneSetup {
    bin: PathBuf,
    module: PathBuf,
}

pub(crate) fn lune_setup(test: &str) -> Option<LuneSetup> {
    let bin = std::env::var_os("PROFILESTORE_LUNE").map(PathBuf::from);
    let module = std::env::var_os("PROFILESTORE_PS_MODULE").map(PathBuf::from);
    let required = std::env::var("PROFILESTORE_REQUIRE_LUNE").is_ok_and(|v| v == "1");
    match (bin, module) {
        (Some(bin), Some(module)) if bin.is_file() && module.is_file() => {
            Some(LuneSetup { bin, module })
        }
        _ if required => panic!(
            "PROFILESTORE_REQUIRE_LUNE=1 but PROFILESTORE_LUNE / PROFILESTORE_PS_MODULE do not name files"
        ),
        _ => {
            eprintln!("{test}: skipped: Lune or the ProfileStore module is not set up; run ./scripts/test");
            None
        }
    }
}

/// A running Lune script: its stdout lines as they come, everything it
/// printed (for failure messages).
pub(crate) struct Script {
    name: String,
    child: Child,
    lines: UnboundedReceiver<String>,
    log: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);

pub(crate) fn run_script(
    setup: &LuneSetup,
    name: &str,
    url: &str,
    api_key: &str,
    vars: &[(&str, &str)],
) -> Script {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/luau").join(format!("{name}.luau"));
    run_lune(setup, root, &script, name, url, api_key, vars)
}

/// Runs `lune run SCRIPT` from `dir` (both relative to the repository), as
/// a user runs a game's own tests from the game's folder.
pub(crate) fn run_script_in(
    setup: &LuneSetup,
    dir: &str,
    script: &str,
    url: &str,
    api_key: &str,
) -> Script {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    run_lune(setup, &dir, Path::new(script), script, url, api_key, &[])
}

fn run_lune(
    setup: &LuneSetup,
    dir: &Path,
    script: &Path,
    name: &str,
    url: &str,
    api_key: &str,
    vars: &[(&str, &str)],
) -> Script {
    let mut command = Command::new(&setup.bin);
    command
        .current_dir(dir)
        .arg("run")
        .arg(script)
        .env("PROFILESTORE_URL", url)
        .env("PROFILESTORE_API_KEY", api_key)
        .env("PROFILESTORE_PS_MODULE", &setup.module)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("start lune");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, lines) = unbounded_channel();
    let stdout = child.stdout.take().expect("stdout");
    let out_log = Arc::clone(&log);
    let out_reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            out_log.lock().expect("log").push(line.clone());
            let _ = tx.send(line);
        }
    });
    let stderr = child.stderr.take().expect("stderr");
    let err_log = Arc::clone(&log);
    let err_reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            err_log.lock().expect("log").push(format!("stderr: {line}"));
        }
    });
    Script {
        name: name.to_owned(),
        child,
        lines,
        log,
        readers: vec![out_reader, err_reader],
    }
}

impl Script {
    fn output(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }

    /// The next `RESULT {...}` line.
    pub(crate) async fn result(&mut self) -> Value {
        let wait = async {
            while let Some(line) = self.lines.recv().await {
                if let Some(json) = line.strip_prefix("RESULT ") {
                    return Some(serde_json::from_str::<Value>(json).expect("RESULT is JSON"));
                }
            }
            None
        };
        match tokio::time::timeout(SCRIPT_TIMEOUT, wait).await {
            Ok(Some(v)) => v,
            _ => panic!("{}: no RESULT line; output:\n{}", self.name, self.output()),
        }
    }

    /// Kills the script at once (SIGKILL: no shutdown code runs, as when a
    /// game server crashes) and waits for it to be gone.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
        println!("{} (killed) output:\n{}", self.name, self.output());
    }

    /// Waits (at most `bound`) for the script to exit; its status and
    /// everything it printed.
    pub(crate) async fn exit(mut self, bound: Duration) -> (ExitStatus, String) {
        let mut child = std::mem::replace(
            &mut self.child,
            Command::new("true").spawn().expect("placeholder"),
        );
        let readers = std::mem::take(&mut self.readers);
        // The readers end at end of file: after them the log is complete.
        let status = tokio::time::timeout(
            bound,
            tokio::task::spawn_blocking(move || {
                let status = child.wait().expect("wait");
                for reader in readers {
                    let _ = reader.join();
                }
                status
            }),
        )
        .await;
        let output = self.output();
        match status {
            Ok(s) => (s.expect("join"), output),
            Err(_) => panic!("{}: did not exit in time; output:\n{output}", self.name),
        }
    }

    /// Waits for the script to exit and asserts every check in it passed.
    pub(crate) async fn finish(self) -> String {
        let name = self.name.clone();
        let (status, output) = self.exit(SCRIPT_TIMEOUT).await;
        println!("{name} output:\n{output}");
        assert!(
            status.success() && output.contains("failed=0"),
            "{name} failed ({status}); output:\n{output}"
        );
        output
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
