//! Reading requests and building responses.
//!
//! Owns: query parameters (names matched case-insensitively, booleans read
//! leniently, as real Open Cloud clients send them), bounded body reading,
//! and response builders (the API key check is `scopes::identify`). Invariants: a body is never
//! read past the configured limit nor for longer than the configured
//! time ([`super::Limits::body_read_timeout`], default
//! [`BODY_READ_TIMEOUT`]); an API key
//! never reaches a log.

use std::time::Duration;

use bytes::Bytes;
use std::convert::Infallible;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};

use super::error::{ApiError, Style};
use crate::opencloud::codes::DetailCode as D;

/// The response body type of the server: a whole body, or a stream fed
/// by a channel (server-sent events).
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A new request id: 32 lowercase hex digits (a UUID's simple form), a
/// random prefix drawn once per process and a counter, so ids are unique
/// within a process and, with overwhelming likelihood, across processes.
/// Cheaper than a random UUID per request (no system call for randomness).
pub fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: std::sync::LazyLock<u64> =
        std::sync::LazyLock::new(|| uuid::Uuid::new_v4().as_u64_pair().0);
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}{n:016x}", *PREFIX)
}

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
    /// Parses a request's query string (see [`Query::parse`]).
    pub fn of<B>(req: &Request<B>) -> Result<Self, ApiError> {
        Query::parse(req.uri().query().unwrap_or(""))
    }

    /// Parses a query string: `&`-separated `name=value` pairs, `+` as a
    /// space, percent-decoded. A name or value that does not decode to
    /// UTF-8 is a 400 (never replaced by U+FFFD, which would name another
    /// key or store).
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let decode = |part: &str| {
            // Copied only when there is a `+` to turn into a space.
            let spaced = if part.contains('+') {
                std::borrow::Cow::Owned(part.replace('+', " "))
            } else {
                std::borrow::Cow::Borrowed(part)
            };
            percent_decode(&spaced, "the query string")
        };
        let mut pairs = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(Query { pairs })
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A required parameter.
    pub fn require(&self, name: &str, detail: D) -> Result<&str, ApiError> {
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
                D::Unknown,
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
                    D::Unknown,
                    format!("query parameter `{name}` must be a number"),
                )
            }),
        }
    }
}

/// A wait in seconds from the query parameter `name` (`default` when
/// absent): a number from 0 to `max`, else a 400 (`NaN`, infinities,
/// negative and larger numbers are refused, never clamped).
pub fn wait_seconds(
    q: &Query,
    name: &str,
    default: Duration,
    max: Duration,
) -> Result<Duration, ApiError> {
    let secs = q.number(name, default.as_secs_f64())?;
    if !(0.0..=max.as_secs_f64()).contains(&secs) {
        return Err(ApiError::bad_request(
            D::Unknown,
            format!(
                "query parameter `{name}` must be a number of seconds from 0 to {}",
                max.as_secs()
            ),
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A header's text: `None` when absent, a 400 when present but not
/// visible ASCII (a header we read is never silently ignored).
pub fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| {
            ApiError::bad_request(
                D::Unknown,
                format!("the {name} header must be visible ASCII text"),
            )
        }),
    }
}

/// Splits a request path into percent-decoded segments (leading and
/// trailing `/` ignored); a segment that does not decode to UTF-8 is a 400.
pub fn path_segments(path: &str) -> Result<Vec<String>, ApiError> {
    path.trim_matches('/')
        .split('/')
        .map(|s| percent_decode(s, "the request path"))
        .collect()
}

/// The path the route tables match: `/` and the segments of
/// [`path_segments`] (leading and trailing `/` dropped), each written back
/// with only `%` and `/` percent-encoded, so that an encoded character of
/// a fixed segment (`v%31`) matches as the character and an encoded `/`
/// stays inside its segment; an empty segment is written `%` (which no
/// segment is otherwise), so that it still fills a parameter (an empty job
/// id is a 400 of its handler, not a 404). A path that needs no change is
/// borrowed; one that does not decode to UTF-8 is a 400.
pub fn canonical_path(path: &str) -> Result<std::borrow::Cow<'_, str>, ApiError> {
    let trimmed = path.trim_matches('/');
    if !trimmed.contains('%')
        && !trimmed.contains("//")
        && path.len() == trimmed.len() + 1
        && path.starts_with('/')
    {
        return Ok(std::borrow::Cow::Borrowed(path));
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in trimmed.split('/') {
        out.push('/');
        if segment.is_empty() && !trimmed.is_empty() {
            out.push('%');
        }
        for c in percent_decode(segment, "the request path")?.chars() {
            match c {
                '%' => out.push_str("%25"),
                '/' => out.push_str("%2F"),
                c => out.push(c),
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// Percent-decodes `text`; bytes that are not UTF-8 are a 400 naming
/// `what`, never replaced by U+FFFD (which would name another key or store).
fn percent_decode(text: &str, what: &str) -> Result<String, ApiError> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| {
            ApiError::bad_request(
                D::Unknown,
                format!("{what} is not valid UTF-8 once percent-decoded"),
            )
        })
}

/// The default longest a request body may take to arrive (a 4 MiB value
/// at 70 KB/s), so that a trickled or abandoned upload frees its
/// connection ([`super::Limits::body_read_timeout`]).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads a body of at most `limit` bytes, within `timeout` (else a 408).
pub async fn body(body: Incoming, limit: usize, timeout: Duration) -> Result<Bytes, ApiError> {
    let read = Limited::new(body, limit).collect();
    let Ok(read) = tokio::time::timeout(timeout, read).await else {
        return Err(ApiError::body_timeout(timeout));
    };
    match read {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::too_large(limit)),
        Err(e) => Err(ApiError::bad_request(
            D::Unknown,
            format!("could not read the request body: {e}"),
        )),
    }
}

/// A JSON response of any serializable body (compact JSON).
pub fn json<T: serde::Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    let mut r = Response::new(full(serde_json::to_vec(value).unwrap_or_default()));
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

/// An error response in `style`; a 405 carries its `Allow` header.
pub fn error(e: &ApiError, style: Style) -> Response<Body> {
    let mut r = Response::new(full(e.body(style)));
    *r.status_mut() = e.status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if !e.allow.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&e.allow.join(", ")) {
            r.headers_mut().insert(hyper::header::ALLOW, v);
        }
    }
    r
}

/// Adds a header, skipping values that are not valid header text.
pub fn set_header(r: &mut Response<Body>, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::request_id;

    #[test]
    fn request_ids_are_uuid_shaped_and_never_repeat() {
        let ids: Vec<String> = (0..1000).map(|_| request_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 32, "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{id}"
            );
        }
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        // One process, one prefix: the counter tells them apart.
        assert!(ids.iter().all(|id| id[..16] == ids[0][..16]));
    }
}
