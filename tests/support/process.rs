//! `profilestore serve` as a child process: the one way black-box tests
//! (and the load bench, through `raw_client.rs`) launch the server.
//!
//! Owns: [`ServeBuilder`] (data folder, storage kind, durability, API key,
//! extra flags and environment, what happens to stderr) and
//! [`ServeProcess`], the running server. Invariants: the server always
//! listens on `127.0.0.1:0` and is waited for by reading its one JSON
//! address line from stdout (never by sleeping); the child sees no
//! `PROFILESTORE_*` setting from the test runner's environment but the ones
//! the builder sets (`PROFILESTORE_LOG` passes through unless set); and a
//! [`ServeProcess`] dropped without being stopped is killed and reaped, so
//! no server outlives a failed test.
//!
//! This file is declared by `raw_client.rs` (`#[path]`), so the load bench,
//! which includes `raw_client.rs` on its own, launches the server the same
//! way; test crates reach it as `support::process`.

#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The `PROFILESTORE_*` settings a server must not inherit from the test
/// runner (`PROFILESTORE_LOG` is not one: a developer may set it to see a
/// failing test's server log).
pub(crate) const SETTINGS_ENV: &[&str] = &[
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
    "PROFILESTORE_NODE_ID",
    "PROFILESTORE_RETENTION",
    "PROFILESTORE_STORAGE",
    "PROFILESTORE_TLS_CERT",
    "PROFILESTORE_TLS_KEY",
    "PROFILESTORE_UNIVERSE",
    "PROFILESTORE_URL",
];

/// How long a server may take to print its address line before the test
/// fails (a server that opened its store hangs nowhere near this long).
const ADDRESS_LINE_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the server's stderr goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stderr {
    /// Discarded (the default).
    Null,
    /// Shown with the test's output.
    Inherit,
    /// Collected, returned by [`ServeProcess::stop_with_stderr`].
    Capture,
}

/// How to start one `profilestore serve`; see [`ServeProcess::builder`].
#[derive(Debug)]
pub(crate) struct ServeBuilder {
    exe: PathBuf,
    data_dir: PathBuf,
    storage: Option<String>,
    durability: Option<String>,
    api_key: Option<String>,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    stderr: Stderr,
}

impl ServeBuilder {
    /// `--storage KIND` (without it the server's default, SQLite).
    pub(crate) fn storage(mut self, kind: &str) -> Self {
        self.storage = Some(kind.to_owned());
        self
    }

    /// `--durability MODE`.
    pub(crate) fn durability(mut self, mode: &str) -> Self {
        self.durability = Some(mode.to_owned());
        self
    }

    /// `--api-key KEY`, also remembered as [`ServeProcess::api_key`].
    pub(crate) fn api_key(mut self, key: &str) -> Self {
        self.api_key = Some(key.to_owned());
        self
    }

    /// One more argument after the others.
    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// More arguments after the others.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// An environment variable for the server.
    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// `PROFILESTORE_LOG=level` unless the test runner's environment sets
    /// `PROFILESTORE_LOG` (to keep long runs readable by default).
    pub(crate) fn log_unless_set(self, level: &str) -> Self {
        if std::env::var_os("PROFILESTORE_LOG").is_some() {
            self
        } else {
            self.env("PROFILESTORE_LOG", level)
        }
    }

    /// Where stderr goes (discarded by default).
    pub(crate) fn stderr(mut self, stderr: Stderr) -> Self {
        self.stderr = stderr;
        self
    }

    /// Another executable taking `serve` (the default is this package's
    /// `profilestore`).
    pub(crate) fn exe(mut self, exe: impl Into<PathBuf>) -> Self {
        self.exe = exe.into();
        self
    }

    /// Starts the server and waits for its address line; panics when it
    /// exits without one.
    pub(crate) fn start(self) -> ServeProcess {
        let shown = format!("{:?}", self.command_line());
        self.try_start()
            .unwrap_or_else(|| panic!("profilestore serve exited without an address line: {shown}"))
    }

    /// Starts the server and waits for its address line; `None` when it
    /// exited without one (it could not open its store, say).
    pub(crate) fn try_start(self) -> Option<ServeProcess> {
        let mut command = Command::new(&self.exe);
        command.args(self.command_line());
        for var in SETTINGS_ENV {
            command.env_remove(var);
        }
        for (k, v) in &self.envs {
            command.env(k, v);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(match self.stderr {
                Stderr::Null => Stdio::null(),
                Stderr::Inherit => Stdio::inherit(),
                Stderr::Capture => Stdio::piped(),
            });
        let mut child = command.spawn().expect("spawn profilestore serve");
        // Drained from the start, so a verbose server never blocks on a
        // full pipe.
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut out = Vec::new();
                let _ = pipe.read_to_end(&mut out);
                out
            })
        });
        let stdout = child.stdout.take().expect("stdout");
        let (line_tx, line_rx) = mpsc::channel();
        // Reads the address line, then drains the rest of stdout.
        let stdout = std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line);
            let _ = line_tx.send(match read {
                Ok(n) if n > 0 => Some(line),
                _ => None,
            });
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest);
        });
        // From here on a panic kills the server (on drop).
        let mut server = ServeProcess {
            child: Some(child),
            url: String::new(),
            api_key: self.api_key,
            stderr,
            stdout: Some(stdout),
        };
        let line = line_rx
            .recv_timeout(ADDRESS_LINE_TIMEOUT)
            .unwrap_or_else(|_| {
                panic!("profilestore serve printed no address line within {ADDRESS_LINE_TIMEOUT:?}")
            });
        let Some(line) = line else {
            // It exited (or closed stdout) without announcing an address.
            if let Some(mut child) = server.child.take() {
                let _ = child.wait();
            }
            return None;
        };
        let announced: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
        server.url = announced["listening"].as_str().expect("url").to_owned();
        Some(server)
    }

    fn command_line(&self) -> Vec<OsString> {
        let mut line: Vec<OsString> = ["serve", "--listen", "127.0.0.1:0", "--data-dir"]
            .iter()
            .map(OsString::from)
            .collect();
        line.push(self.data_dir.clone().into_os_string());
        if let Some(kind) = &self.storage {
            line.extend(["--storage".into(), kind.into()]);
        }
        if let Some(mode) = &self.durability {
            line.extend(["--durability".into(), mode.into()]);
        }
        if let Some(key) = &self.api_key {
            line.extend(["--api-key".into(), key.into()]);
        }
        line.extend(self.args.iter().cloned());
        line
    }
}

/// A running `profilestore serve`, killed and reaped when dropped.
#[derive(Debug)]
pub(crate) struct ServeProcess {
    /// `None` once stopped or killed.
    child: Option<Child>,
    /// Its announced base URL, e.g. `http://127.0.0.1:54321`.
    pub url: String,
    /// The key given with [`ServeBuilder::api_key`].
    pub api_key: Option<String>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    stdout: Option<JoinHandle<()>>,
}

impl ServeProcess {
    /// A server on data folder `data_dir`, with nothing else set.
    pub(crate) fn builder(data_dir: &Path) -> ServeBuilder {
        ServeBuilder {
            exe: PathBuf::from(env!("CARGO_BIN_EXE_profilestore")),
            data_dir: data_dir.to_owned(),
            storage: None,
            durability: None,
            api_key: None,
            args: Vec::new(),
            envs: Vec::new(),
            stderr: Stderr::Null,
        }
    }

    /// Its API key; panics when it was started without one.
    pub(crate) fn key(&self) -> &str {
        self.api_key.as_deref().expect("started with an API key")
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The child process itself.
    pub(crate) fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("running")
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap: a crash.
    pub(crate) fn kill(mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }

    /// SIGTERM (a graceful stop), then waits for the exit.
    pub(crate) fn stop(self) -> ExitStatus {
        self.stop_with_stderr().0
    }

    /// [`ServeProcess::stop`], with everything the server wrote on stderr
    /// (empty unless started with [`Stderr::Capture`]).
    pub(crate) fn stop_with_stderr(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(sent.success(), "kill -TERM {}", child.id());
        let status = child.wait().expect("wait");
        // Both pipes are at end of file once the process has exited.
        if let Some(stdout) = self.stdout.take() {
            let _ = stdout.join();
        }
        let stderr = self
            .stderr
            .take()
            .map(|t| t.join().expect("stderr reader"))
            .unwrap_or_default();
        (status, String::from_utf8_lossy(&stderr).into_owned())
    }

    /// The process's resident set size in KiB (Linux `/proc`), if readable.
    pub(crate) fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        // A failing test must not leave a server behind.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
