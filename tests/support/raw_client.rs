//! A small HTTP client that reports failures instead of panicking, shared
//! by the crash harness (`tests/crash/`, through `support`) and the load
//! bench (`benches/load.rs`, which includes this file with `#[path]`), and
//! the one way to launch `profilestore serve` ([`process`], declared here so
//! the bench gets it too).
//!
//! Why not `support::send`: a crash harness must tell "the server answered"
//! from "the connection died" (an unknown outcome), and a load run must
//! reuse pooled connections.

#![allow(dead_code)]

use std::path::Path;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// One answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A pooled client that sends one API key.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    key: String,
}

impl Http {
    pub(crate) fn new(base: &str, key: &str) -> Self {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: base.to_owned(),
            key: key.to_owned(),
        }
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Sends `method path_and_query` with `body`; `Err` when no answer came
    /// back (connection refused, reset, closed mid-request).
    pub(crate) async fn call(
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

#[path = "process.rs"]
pub(crate) mod process;

/// The load bench's handle on a `profilestore serve` (`benches/load.rs`):
/// [`process::ServeProcess`] under the name and signatures it uses.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    server: process::ServeProcess,
    pub url: String,
}

impl ServerProcess {
    /// Starts `exe serve` on a free loopback port with `args`, and waits for
    /// its address line. `None` when it exited without one (it could not
    /// open the store); its stderr is inherited when `show_stderr`.
    pub(crate) fn start(
        exe: &str,
        data_dir: &Path,
        args: &[&str],
        show_stderr: bool,
    ) -> Option<Self> {
        let server = process::ServeProcess::builder(data_dir)
            .exe(exe)
            .args(args)
            // Refused requests (404s) are logged at info; keep runs readable.
            .log_unless_set("warn")
            .stderr(if show_stderr {
                process::Stderr::Inherit
            } else {
                process::Stderr::Null
            })
            .try_start()?;
        let url = server.url.clone();
        Some(ServerProcess { server, url })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// SIGKILL, then reap.
    pub(crate) fn kill(self) {
        self.server.kill();
    }

    /// SIGTERM (graceful stop), then reap; true when it exited cleanly.
    pub(crate) fn stop(self) -> bool {
        self.server.stop().success()
    }

    /// The process's resident set size in KiB (Linux `/proc`), if readable.
    pub(crate) fn rss_kib(&self) -> Option<u64> {
        self.server.rss_kib()
    }
}
