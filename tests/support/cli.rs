//! The `profilestore` command line as a child process: the one CLI runner
//! of the black-box tests.
//!
//! Owns: [`Cli`] (arguments, stdin, environment, working directory, a time
//! limit) and [`CliOutput`] with its assertion helpers. Invariants: the
//! command sees no `PROFILESTORE_*` setting (nor `RUST_BACKTRACE`) from the
//! test runner's environment but the ones the test sets; stdin is the given
//! bytes, then end of file; a run that outlives its time limit is killed
//! (and reported with no exit code) rather than hanging the test.

#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// What a run must not inherit from the test runner.
const CLEARED_ENV: &[&str] = &[
    "PROFILESTORE_ADVERTISE_URL",
    "PROFILESTORE_API_KEY",
    "PROFILESTORE_API_KEYS",
    "PROFILESTORE_CA_CERT",
    "PROFILESTORE_CLUSTER",
    "PROFILESTORE_CONFIG",
    "PROFILESTORE_DATA_DIR",
    "PROFILESTORE_DURABILITY",
    "PROFILESTORE_LISTEN",
    "PROFILESTORE_LOG_FORMAT",
    "PROFILESTORE_LOG",
    "PROFILESTORE_NODE_ID",
    "PROFILESTORE_RETENTION",
    "PROFILESTORE_STORAGE",
    "PROFILESTORE_TLS_CERT",
    "PROFILESTORE_TLS_KEY",
    "PROFILESTORE_UNIVERSE",
    "PROFILESTORE_URL",
    "RUST_BACKTRACE",
];

/// One `profilestore ARGS` run to make.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cli {
    args: Vec<OsString>,
    stdin: Vec<u8>,
    envs: Vec<(OsString, OsString)>,
    dir: Option<PathBuf>,
    limit: Option<Duration>,
}

impl Cli {
    /// `profilestore` with no arguments yet.
    pub(crate) fn new() -> Self {
        Cli::default()
    }

    /// `profilestore --data-dir DIR --storage KIND --durability off`: the
    /// data commands on a local folder.
    pub(crate) fn on(dir: &Path, storage: &str) -> Self {
        Cli::new()
            .arg("--data-dir")
            .arg(dir)
            .args(["--storage", storage, "--durability", "off"])
    }

    /// `profilestore --url URL --key KEY --data-dir DIR`: the data commands
    /// against a running server.
    pub(crate) fn remote(url: &str, key: &str, dir: &Path) -> Self {
        Cli::new()
            .args(["--url", url, "--key", key, "--data-dir"])
            .arg(dir)
    }

    /// One more argument.
    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// More arguments.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// What the command reads on stdin (nothing by default).
    pub(crate) fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = bytes.into();
        self
    }

    /// An environment variable for the command.
    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// The command's working directory.
    pub(crate) fn current_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_owned());
        self
    }

    /// Kills the command if it runs longer than `limit` (a `serve` started
    /// by mistake must fail a test, not hang it).
    pub(crate) fn time_limit(mut self, limit: Duration) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Runs it to completion.
    pub(crate) fn run(&self) -> CliOutput {
        let mut command = Command::new(env!("CARGO_BIN_EXE_profilestore"));
        command.args(&self.args);
        for var in CLEARED_ENV {
            command.env_remove(var);
        }
        for (k, v) in &self.envs {
            command.env(k, v);
        }
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn profilestore");
        let mut input = child.stdin.take().expect("stdin");
        let stdin = self.stdin.clone();
        let writer = std::thread::spawn(move || {
            // A command that exits without reading closes the pipe early.
            let _ = input.write_all(&stdin);
        });
        let pid = child.id();
        let (done_tx, done) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = done_tx.send(child.wait_with_output());
        });
        let (output, timed_out) = match self.limit {
            None => (done.recv().expect("waiter"), false),
            Some(limit) => match done.recv_timeout(limit) {
                Ok(output) => (output, false),
                Err(_) => {
                    // Not reaped yet (its waiter has not returned), so the
                    // pid is still this process's.
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                    (done.recv().expect("waiter"), true)
                }
            },
        };
        let output = output.expect("wait for profilestore");
        let _ = writer.join();
        CliOutput {
            args: self.args.clone(),
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            timed_out,
        }
    }
}

/// What one run did.
#[derive(Debug)]
pub(crate) struct CliOutput {
    /// Its arguments (for failure messages).
    pub args: Vec<OsString>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Killed at its time limit.
    pub timed_out: bool,
}

impl CliOutput {
    /// The exit code; `None` when killed by a signal.
    pub(crate) fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Asserts it succeeded; returns stdout.
    pub(crate) fn success(&self) -> String {
        assert!(
            self.status.success(),
            "command failed: {:?}: {}",
            self.args,
            self.stderr
        );
        self.stdout.clone()
    }

    /// Asserts it succeeded; returns stdout as one JSON value.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(self.success().trim()).expect("stdout is JSON")
    }

    /// Asserts it succeeded; returns each line of stdout as JSON.
    pub(crate) fn json_lines(&self) -> Vec<Value> {
        self.success()
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    }

    /// Asserts it failed; returns stderr.
    pub(crate) fn failure(&self) -> String {
        assert!(
            !self.status.success(),
            "command succeeded: {:?}: {}",
            self.args,
            self.stdout
        );
        self.stderr.clone()
    }

    /// Asserts it failed with every one of `texts` on stderr; returns
    /// stderr.
    pub(crate) fn failure_with(&self, texts: &[&str]) -> String {
        let stderr = self.failure();
        for text in texts {
            assert!(
                stderr.contains(text),
                "stderr does not say {text:?}: {stderr}"
            );
        }
        stderr
    }
}
