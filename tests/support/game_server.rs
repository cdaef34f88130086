//! Game servers as real processes: the example Rust game server on the
//! remote engine (`examples/game_server.rs`, built if missing) and the
//! Python session API client (`examples/session_api_client.py`), each
//! holding one profile and printing JSON lines (`started`, `message`,
//! `ended`) that arrive on a channel. Killed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The Python session API client.
pub(crate) const PY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/session_api_client.py"
);

/// The example game server, built if this test runs without it.
pub(crate) fn rust_game_server() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_profilestore"));
    let path = bin
        .parent()
        .expect("target dir")
        .join("examples/game_server");
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "game_server"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build --example game_server");
        assert!(status.success());
    }
    path
}

/// A game server process whose stdout JSON lines arrive on a channel.
pub(crate) struct GameServer {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// `examples/game_server.rs` on the remote engine.
    Rust,
    /// `examples/session_api_client.py` on the session API.
    Python,
}

impl GameServer {
    pub(crate) fn start(kind: Kind, url: &str, job: &str, profile: &str) -> Self {
        let mut cmd = match kind {
            Kind::Rust => {
                let mut c = Command::new(rust_game_server());
                c.arg("--fast").args(["--timeout", "60"]);
                c
            }
            Kind::Python => {
                let mut c = Command::new("python3");
                c.args([PY, "hold", "--timeout", "60"]);
                c
            }
        };
        let mut child = cmd
            .args([
                "--url",
                url,
                "--key",
                "k1",
                "--job",
                job,
                "--profile",
                profile,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn a game server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            }
        });
        GameServer { child, lines }
    }

    /// Waits for the next line with `event`, skipping others.
    pub(crate) fn expect(&self, event: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) if v["event"] == event => return v,
                Ok(_) => {}
                Err(e) => panic!("no `{event}` line within {within:?}: {e}"),
            }
        }
    }

    pub(crate) fn sigkill(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for GameServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
