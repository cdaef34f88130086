//! Reading requests and building responses.
//!
//! Owns: query parameters (names matched case-insensitively, booleans read
//! leniently, as real Open Cloud clients send them), bounded body reading,
//! the API key check, and response builders. Invariants: a body is never
//! read past the configured limit nor for longer than
//! [`BODY_READ_TIMEOUT`]; keys are compared in constant time; an API key
//! never reaches a log.

use std::time::Duration;

use bytes::Bytes;
use std::convert::Infallible;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::error::{ApiError, Style};

/// The response body type of the server: a whole body, or a stream fed
/// by a channel (server-sent events).
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

/// A streamed body: every `Bytes` sent on the returned sender is one chunk;
/// the body ends when the sender is dropped. The channel holds at most
/// `capacity` chunks, so a slow reader slows its writer instead of
/// growing memory.
pub fn channel(capacity: usize) -> (tokio::sync::mpsc::Sender<Bytes>, Body) {
    let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
    (tx, ChannelBody(rx).boxed_unsync())
}

struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// Query parameters, names compared case-insensitively.
#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a request's query string.
    pub fn of<B>(req: &Request<B>) -> Self {
        let pairs = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Query { pairs }
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A required parameter.
    pub fn require(&self, name: &str, detail: &'static str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| {
            ApiError::bad_request(detail, format!("query parameter `{name}` is required"))
        })
    }

    /// A boolean: `true`/`false` in any case (Python clients send `True`).
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None | Some("") | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(ApiError::bad_request(
                "Unknown",
                format!("query parameter `{name}` must be true or false, not `{other}`"),
            )),
        }
    }

    /// A number, or `default` when absent.
    pub fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(default),
            Some(text) => text.parse().map_err(|_| {
                ApiError::bad_request(
                    "Unknown",
                    format!("query parameter `{name}` must be a number"),
                )
            }),
        }
    }
}

/// Checks the `x-api-key` header against the configured keys (constant time).
pub fn authorized(headers: &HeaderMap, keys: &[String]) -> bool {
    if keys.is_empty() {
        return true;
    }
    let Some(given) = headers.get("x-api-key").map(HeaderValue::as_bytes) else {
        return false;
    };
    keys.iter()
        .fold(subtle::Choice::from(0), |ok, key| {
            ok | key.as_bytes().ct_eq(given)
        })
        .into()
}

/// The longest a request body may take to arrive (a 4 MiB value at
/// 70 KB/s), so that a trickled or abandoned upload frees its connection.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads a body of at most `limit` bytes, within [`BODY_READ_TIMEOUT`].
pub async fn body(req: Request<Incoming>, limit: usize) -> Result<Bytes, ApiError> {
    let read = Limited::new(req.into_body(), limit).collect();
    let Ok(read) = tokio::time::timeout(BODY_READ_TIMEOUT, read).await else {
        return Err(ApiError::body_timeout(BODY_READ_TIMEOUT));
    };
    match read {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::too_large(limit)),
        Err(e) => Err(ApiError::bad_request(
            "Unknown",
            format!("could not read the request body: {e}"),
        )),
    }
}

/// A JSON response.
pub fn json(status: StatusCode, value: &Value) -> Response<Body> {
    let mut r = Response::new(full(value.to_string()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// An empty response.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// An error response in `style`.
pub fn error(e: &ApiError, style: Style) -> Response<Body> {
    json(e.status, &e.body(style))
}

/// Adds a header, skipping values that are not valid header text.
pub fn set_header(r: &mut Response<Body>, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}
