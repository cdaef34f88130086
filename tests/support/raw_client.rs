//! A small HTTP client that reports failures instead of panicking, and a
//! handle on a `profilestore serve` child process, shared by the crash
//! harness (`tests/crash.rs`) and the load bench (`benches/load.rs`), which
//! include this file with `#[path]`.
//!
//! Why not `support::send`: a crash harness must tell "the server answered"
//! from "the connection died" (an unknown outcome), and a load run must
//! reuse pooled connections.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// One answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A pooled client that sends one API key.
#[derive(Clone, Debug)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    key: String,
}

impl Http {
    pub fn new(base: &str, key: &str) -> Self {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: base.to_owned(),
            key: key.to_owned(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends `method path_and_query` with `body`; `Err` when no answer came
    /// back (connection refused, reset, closed mid-request).
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Reply, String> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path_and_query}", self.base))
            .header("x-api-key", &self.key);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(body.into()))
            .map_err(|e| e.to_string())?;
        let res = self.client.request(req).await.map_err(|e| e.to_string())?;
        let status = res.status();
        let headers = res.headers().clone();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// A running `profilestore serve`.
#[derive(Debug)]
pub struct ServerProcess {
    pub child: Child,
    pub url: String,
}

impl ServerProcess {
    /// Starts `exe serve` on a free loopback port with `args`, and waits for
    /// its address line. `None` when it exited without one (it could not
    /// open the store); its stderr is inherited when `show_stderr`.
    pub fn start(exe: &str, data_dir: &Path, args: &[&str], show_stderr: bool) -> Option<Self> {
        let mut command = Command::new(exe);
        if std::env::var_os("PROFILESTORE_LOG").is_none() {
            // Refused requests (404s) are logged at info; keep runs readable.
            command.env("PROFILESTORE_LOG", "warn");
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--data-dir", data_dir.to_str().expect("utf-8 path")])
            .args(args)
            .env_remove("PROFILESTORE_LISTEN")
            .env_remove("PROFILESTORE_API_KEYS")
            .env_remove("PROFILESTORE_STORAGE")
            .env_remove("PROFILESTORE_DURABILITY")
            .env_remove("PROFILESTORE_DATA_DIR")
            .stdout(Stdio::piped())
            .stderr(if show_stderr {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("spawn profilestore serve");
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
        if read.map_or(true, |n| n == 0) {
            let _ = child.wait();
            return None;
        }
        let announced: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
        let url = announced["listening"].as_str().expect("url").to_owned();
        Some(ServerProcess { child, url })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// SIGTERM (graceful stop), then reap; true when it exited cleanly.
    pub fn stop(mut self) -> bool {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        sent.success() && self.child.wait().is_ok_and(|s| s.success())
    }

    /// The process's resident set size in KiB (Linux `/proc`), if readable.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // A panicking test must not leave a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
