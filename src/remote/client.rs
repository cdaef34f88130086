//! The HTTP client every remote backend shares.
//!
//! Owns: the base URL and API key of one profilestore server, sending a
//! request with a deadline, and turning transport failures and error
//! bodies into [`RemoteError`]. Invariants: every request carries the
//! `x-api-key` header when a key is set; no request waits longer than the
//! client's timeout plus the long-poll time it asked for; the key never
//! reaches an error message or a log; an `https://` server must present a
//! certificate that chains to a public CA (`webpki-roots`) or to the CA
//! file given (`--ca-cert` / `PROFILESTORE_CA_CERT`, see `tls.rs`).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Method, Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::opencloud::codes::{DetailCode, ErrorCode};
use crate::opencloud::errors::AnyError;
use crate::opencloud::headers;

/// Why a call to a remote profilestore server failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RemoteError {
    /// The URL given is not one this client can use.
    #[error("invalid server URL `{url}`: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The CA file to trust (`--ca-cert` / `PROFILESTORE_CA_CERT`) is unusable.
    #[error("cannot use the CA certificate file {path}: {reason}")]
    CaCert {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The server could not be reached or the connection broke (transient).
    #[error("cannot reach the profilestore server at {url}: {reason}")]
    Unreachable {
        /// Base URL.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The server did not answer in time (transient).
    #[error("the profilestore server at {url} did not answer within {secs} s")]
    Timeout {
        /// Base URL.
        url: String,
        /// The deadline.
        secs: u64,
    },
    /// 401: the API key is missing or wrong.
    #[error("the profilestore server at {url} refused the API key (401); pass one of the keys it was started with (`serve --api-key` / PROFILESTORE_API_KEYS); the CLI takes it as --key or PROFILESTORE_API_KEY")]
    Unauthorized {
        /// Base URL.
        url: String,
    },
    /// The call has no Open Cloud request, so a remote service cannot make
    /// it; run it where the data is (the server's own CLI or process).
    #[error("{what} is not available through a remote profilestore server (Open Cloud has no request for it); do it on the server itself, e.g. with the `profilestore` CLI on its data folder")]
    Unsupported {
        /// What was asked.
        what: &'static str,
    },
    /// Any other error answer.
    #[error("the profilestore server answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Open Cloud's status name (`error` in v1, `code` in v2), when the
        /// body had one.
        code: Option<ErrorCode>,
        /// v1's `errorDetails[0].datastoreErrorCode`, when present.
        detail: Option<DetailCode>,
        /// The error message of the body.
        message: String,
    },
    /// The server answered something this client cannot read (a missing
    /// header or field): a version mismatch between client and server.
    #[error("the profilestore server at {url} sent an answer this client cannot read: {reason}")]
    Protocol {
        /// Base URL.
        url: String,
        /// What was wrong with the answer.
        reason: String,
    },
}

impl RemoteError {
    /// True for failures worth retrying (transport, timeouts, 5xx, 429).
    pub fn is_transient(&self) -> bool {
        match self {
            RemoteError::Unreachable { .. } | RemoteError::Timeout { .. } => true,
            RemoteError::Status { status, .. } => *status >= 500 || *status == 429,
            RemoteError::BadUrl { .. }
            | RemoteError::CaCert { .. }
            | RemoteError::Unauthorized { .. }
            | RemoteError::Unsupported { .. }
            | RemoteError::Protocol { .. } => false,
        }
    }
}

/// One answer from the server.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl Answer {
    /// A header's text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A client of one profilestore server; clones share connections.
#[derive(Clone)]
pub struct RemoteClient {
    base: String,
    api_key: Option<String>,
    timeout: Duration,
    /// Boxed: the TLS connector would make every holder of a client (the
    /// remote backends' enums) large.
    http: std::sync::Arc<Client<HttpsConnector<HttpConnector>, Full<Bytes>>>,
}

impl std::fmt::Debug for RemoteClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: show only whether there is one.
        f.debug_struct("RemoteClient")
            .field("base", &self.base)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl RemoteClient {
    /// A client of the server at `url` (`http://host:port` or
    /// `https://host:port`, optionally with a path prefix). An https
    /// server's certificate must chain to a public CA or to the PEM file
    /// named by `PROFILESTORE_CA_CERT` (see [`RemoteClient::with_ca_cert`]).
    pub fn new(url: &str, api_key: Option<String>) -> Result<Self, RemoteError> {
        let ca = std::env::var_os(super::tls::CA_CERT_ENV).filter(|v| !v.is_empty());
        RemoteClient::with_ca_cert(url, api_key, ca.as_deref().map(std::path::Path::new))
    }

    /// [`RemoteClient::new`] trusting the certificates of the PEM file `ca`
    /// too (a private CA, or a self-signed server certificate), besides
    /// the public CAs.
    pub fn with_ca_cert(
        url: &str,
        api_key: Option<String>,
        ca: Option<&std::path::Path>,
    ) -> Result<Self, RemoteError> {
        let base = url.trim().trim_end_matches('/').to_owned();
        let bad = |reason: &str| RemoteError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(bad("it must start with http:// or https://"));
        }
        base.parse::<hyper::Uri>()
            .map_err(|e| bad(&e.to_string()))?;
        let connector = super::tls::connector(ca)?;
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build::<_, Full<Bytes>>(connector)
            .into();
        Ok(RemoteClient {
            base,
            api_key: api_key.filter(|k| !k.is_empty()),
            timeout: Duration::from_secs(30),
            http,
        })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Sends one request to `path` (which starts with `/` and may carry a
    /// query) and reads the whole answer. `wait` is how long the server may
    /// legitimately hold the request (long-polls); it is added to the
    /// timeout. Error statuses are returned as answers, not errors: callers
    /// decide what a 404 or 412 means.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        wait: Duration,
    ) -> Result<Answer, RemoteError> {
        let uri = format!("{}{}", self.base, path);
        let mut req = Request::builder().method(method).uri(&uri);
        if let Some(key) = &self.api_key {
            req = req.header(headers::API_KEY, key);
        }
        if !body.is_empty() {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body)).map_err(|e| RemoteError::BadUrl {
            url: uri.clone(),
            reason: e.to_string(),
        })?;
        let limit = self.timeout + wait;
        let call = async {
            let res = self
                .http
                .request(req)
                .await
                .map_err(|e| self.unreachable(&e))?;
            let status = res.status();
            let headers = res.headers().clone();
            let body = res
                .into_body()
                .collect()
                .await
                .map_err(|e| self.unreachable(&e))?
                .to_bytes();
            Ok(Answer {
                status,
                headers,
                body,
            })
        };
        let answer =
            tokio::time::timeout(limit, call)
                .await
                .map_err(|_| RemoteError::Timeout {
                    url: self.base.clone(),
                    secs: limit.as_secs(),
                })??;
        if answer.status == StatusCode::UNAUTHORIZED {
            return Err(RemoteError::Unauthorized {
                url: self.base.clone(),
            });
        }
        Ok(answer)
    }

    /// [`send`](Self::send), then any status other than `ok` is an error.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        ok: &[StatusCode],
    ) -> Result<Answer, RemoteError> {
        let answer = self.send(method, path, &[], body, Duration::ZERO).await?;
        if ok.contains(&answer.status) {
            Ok(answer)
        } else {
            Err(status_error(&answer))
        }
    }

    /// Sends `body` as JSON (none when `None`) and reads a `200` answer
    /// as `T`; any other status is the error its body names, a body
    /// that is not a `T` a [`RemoteError::Protocol`]. The one request of
    /// the JSON APIs (engine API, memory stores).
    pub async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, RemoteError> {
        let bytes = match body {
            Some(b) => Bytes::from(serde_json::to_vec(b).unwrap_or_default()),
            None => Bytes::new(),
        };
        let answer = self.expect(method, path, bytes, &[StatusCode::OK]).await?;
        serde_json::from_slice(&answer.body).map_err(|e| {
            self.protocol(format!(
                "the answer to {path} is not a {}: {e}",
                std::any::type_name::<T>()
            ))
        })
    }

    /// The error of an answer this client cannot read.
    pub(crate) fn protocol(&self, reason: impl Into<String>) -> RemoteError {
        RemoteError::Protocol {
            url: self.base.clone(),
            reason: reason.into(),
        }
    }

    fn unreachable(&self, e: &(dyn std::error::Error + 'static)) -> RemoteError {
        // hyper's own message ("client error (Connect)") hides the cause
        // (a certificate the client does not trust, a refused connection).
        let mut reason = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            reason = format!("{reason}: {cause}");
            source = cause.source();
        }
        RemoteError::Unreachable {
            url: self.base.clone(),
            reason,
        }
    }
}

/// The error an error answer stands for: the v1 body (`error`, `message`,
/// `errorDetails`), the v2 and session API body (`code`, `message`) or the
/// gateway's (`errors[0].message`), read with the server's own types.
pub(crate) fn status_error(answer: &Answer) -> RemoteError {
    let parsed = AnyError::parse(&answer.body);
    let message = parsed.as_ref().map_or("", AnyError::message);
    RemoteError::Status {
        status: answer.status.as_u16(),
        code: parsed.as_ref().and_then(AnyError::code),
        detail: parsed.as_ref().and_then(AnyError::detail),
        message: if message.is_empty() {
            String::from_utf8_lossy(&answer.body).into_owned()
        } else {
            message.to_owned()
        },
    }
}

/// Percent-encodes one path segment (everything but `A-Za-z0-9-_~`), so
/// a key holding `/`, `?`, `%`, `:` or dots (`..`) stays one segment.
pub(crate) fn segment(value: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(value, KEEP).to_string()
}

/// Percent-encodes one query value.
pub(crate) fn enc(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opencloud::errors::V1Error;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn error_bodies_of_every_family_are_read_with_the_wire_types() {
        let v1 = V1Error::new(
            ErrorCode::InvalidArgument,
            DetailCode::InvalidVersionId,
            "bad id",
        );
        let e = status_error(&answer(400, &serde_json::to_string(&v1).expect("json")));
        match e {
            RemoteError::Status {
                status: 400,
                code,
                detail,
                message,
            } => {
                assert_eq!(code, Some(ErrorCode::InvalidArgument));
                assert_eq!(detail, Some(DetailCode::InvalidVersionId));
                assert_eq!(message, "bad id");
            }
            other => panic!("{other:?}"),
        }
        let v2 = r#"{"code":"NOT_FOUND","message":"no entry","details":[]}"#;
        match status_error(&answer(404, v2)) {
            RemoteError::Status {
                code,
                detail,
                message,
                ..
            } => {
                assert_eq!((code, detail), (Some(ErrorCode::NotFound), None));
                assert_eq!(message, "no entry");
            }
            other => panic!("{other:?}"),
        }
        let gateway = r#"{"errors":[{"code":0,"message":"Invalid API Key"}]}"#;
        match status_error(&answer(403, gateway)) {
            RemoteError::Status {
                code: None,
                message,
                ..
            } => assert_eq!(message, "Invalid API Key"),
            other => panic!("{other:?}"),
        }
        match status_error(&answer(502, "upstream down")) {
            RemoteError::Status {
                status: 502,
                message,
                ..
            } => assert_eq!(message, "upstream down"),
            other => panic!("{other:?}"),
        }
    }
}
