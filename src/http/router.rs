//! Route tables on `matchit`: one [`Table`] per API family, each route a
//! path pattern with the methods (and `:verb` custom methods) it takes.
//!
//! Owns: the lookup of a method and a canonical path, the 404/405 decision
//! (405 answers carry the route's `Allow` list), custom-method verbs in the
//! last path segment (`entries/{id}:increment`, `sessions/{store}/{key}:save`)
//! and the percent-decoding of path parameters. Invariants: a 405 or 404
//! follows from the table alone, never from a handler; a parameter is
//! percent-decoded exactly once; a segment whose `:suffix` is not one of
//! the route's verbs (for that method) is a plain name (`users:1` is a key).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};

use super::error::{ApiError, Style};
use super::request::{Body, Query};
use super::AppState;

/// What a handler answers: a response, or an error the family renders.
pub(super) type Reply = Result<Response<Body>, ApiError>;

type BoxReply = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// A route's handler.
pub(super) type Handler = Box<dyn Fn(Call) -> BoxReply + Send + Sync>;

/// Boxes an `async fn(Call) -> Reply` as a [`Handler`].
pub(super) fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Call) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    Box::new(move |call| Box::pin(f(call)))
}

/// Everything a handler gets: the state, the request, the universe of the
/// path, the decoded path parameters and the parsed query.
#[derive(Debug)]
pub(super) struct Call {
    /// The server's state.
    pub state: Arc<AppState>,
    /// The request's method, URI and headers.
    pub head: hyper::http::request::Parts,
    body: Option<Incoming>,
    /// Set once the body is read (see [`BodyRead`]).
    body_read: BodyRead,
    /// The universe named by the path.
    pub universe: u64,
    /// The query string, already checked.
    pub query: Query,
    params: Vec<(&'static str, String)>,
}

impl Call {
    /// The decoded path parameter `name` (the route's pattern names it;
    /// for a verb route, the last one is without its `:verb`).
    pub(super) fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The request headers.
    pub(super) fn headers(&self) -> &hyper::HeaderMap {
        &self.head.headers
    }

    /// The request body, read (within the body limit and time) when the
    /// returned future runs; it borrows nothing, so a handler can check
    /// its path and query before reading. A second call reads nothing.
    pub(super) fn body(
        &mut self,
    ) -> impl Future<Output = Result<Bytes, ApiError>> + Send + 'static {
        let body = self.body.take();
        self.body_read.mark();
        let limit = self.state.max_body_bytes;
        let timeout = self.state.limits.body_read_timeout;
        async move {
            match body {
                Some(b) => super::request::body(b, limit, timeout).await,
                None => Ok(Bytes::new()),
            }
        }
    }

    /// The decoded path parameter `name`, `None` when the route has none.
    pub(super) fn param_opt(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a request's body was read by its handler. An answer given
/// before a body arrived must close the connection: the unread bytes would
/// otherwise be taken as the next request's head, and a client reusing the
/// keep-alive connection meets a reset (seen with rblx-open-cloud, which
/// sends `{}` with GETs).
#[derive(Clone, Debug, Default)]
pub(super) struct BodyRead(Arc<std::sync::atomic::AtomicBool>);

impl BodyRead {
    pub(super) fn mark(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the handler read the body.
    pub(super) fn is_read(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The methods of one path pattern.
#[derive(Default)]
pub(super) struct Route {
    plain: Vec<(Method, Handler)>,
    verbs: Vec<(&'static str, Method, Handler)>,
    verb_required: bool,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plain: Vec<&Method> = self.plain.iter().map(|(m, _)| m).collect();
        let verbs: Vec<(&str, &Method)> = self.verbs.iter().map(|(v, m, _)| (*v, m)).collect();
        f.debug_struct("Route")
            .field("plain", &plain)
            .field("verbs", &verbs)
            .finish()
    }
}

impl Route {
    /// A route taking no method yet.
    pub(super) fn new() -> Self {
        Route::default()
    }

    /// `method` on the path as it is.
    pub(super) fn on(mut self, method: Method, h: Handler) -> Self {
        self.plain.push((method, h));
        self
    }

    /// `method` on `{last}:verb` (the handler sees `last` without it).
    pub(super) fn verb(mut self, verb: &'static str, method: Method, h: Handler) -> Self {
        self.verbs.push((verb, method, h));
        self
    }

    /// A method that takes verbs here takes nothing else: another (or no)
    /// `:suffix` with it is a 404 naming the verbs, not a plain call.
    pub(super) fn verb_required(mut self) -> Self {
        self.verb_required = true;
        self
    }
}

/// One API family's routes, with its error body shape.
pub(super) struct Table {
    tree: matchit::Router<Route>,
    /// The family's error body shape.
    pub style: Style,
    not_found: &'static str,
    /// Paths outside this prefix get this 404 message instead.
    outside: Option<(&'static str, &'static str)>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").field("style", &self.style).finish()
    }
}

/// A matched route: the handler and its decoded parameters.
pub(super) type Found = (&'static Handler, Vec<(&'static str, String)>);

impl Table {
    /// An empty table; `not_found` is the message of its 404s.
    pub(super) fn new(style: Style, not_found: &'static str) -> Self {
        Table {
            tree: matchit::Router::new(),
            style,
            not_found,
            outside: None,
        }
    }

    /// Paths that are not `prefix` or under it get a 404 saying `message`.
    pub(super) fn outside(mut self, prefix: &'static str, message: &'static str) -> Self {
        self.outside = Some((prefix, message));
        self
    }

    /// Adds `pattern` (matchit syntax, `/`-rooted, relative to the
    /// family's prefix). Tables are built once at start-up; a bad pattern
    /// is a bug, caught by every test.
    pub(super) fn route(mut self, pattern: &str, route: Route) -> Self {
        if let Err(e) = self.tree.insert(pattern, route) {
            panic!("route {pattern}: {e}");
        }
        self
    }

    /// The 404 of this family.
    pub(super) fn not_found(&self) -> ApiError {
        ApiError::not_found(crate::opencloud::codes::DetailCode::Unknown, self.not_found)
    }

    /// The handler of `method` on `path` (canonical: see
    /// [`super::request::canonical_path`]), else the family's 404 or a 405
    /// with the route's methods.
    pub(super) fn find(&'static self, method: &Method, path: &str) -> Result<Found, ApiError> {
        if let Some((prefix, message)) = self.outside {
            let under = path
                .strip_prefix(prefix)
                .is_some_and(|r| r.is_empty() || r.starts_with('/'));
            if !under {
                return Err(ApiError::not_found(
                    crate::opencloud::codes::DetailCode::Unknown,
                    message,
                ));
            }
        }
        let matched = self.tree.at(path).map_err(|_| self.not_found())?;
        let route = matched.value;
        let mut params: Vec<(&'static str, String)> =
            matched.params.iter().map(|(k, v)| (k, decode(v))).collect();
        let verb_call = params
            .last()
            .and_then(|(_, v)| v.rsplit_once(':'))
            .and_then(|(name, verb)| {
                let found = route
                    .verbs
                    .iter()
                    .find(|(v, m, _)| *v == verb && m == method);
                found.map(|(_, _, h)| (name.len(), h))
            });
        if let Some((name, h)) = verb_call {
            if let Some((_, last)) = params.last_mut() {
                last.truncate(name);
            }
            return Ok((h, params));
        }
        if let Some((_, h)) = route.plain.iter().find(|(m, _)| m == method) {
            return Ok((h, params));
        }
        let with_method: Vec<&str> = route
            .verbs
            .iter()
            .filter(|(_, m, _)| m == method)
            .map(|(v, _, _)| *v)
            .collect();
        if route.verb_required && !with_method.is_empty() {
            return Err(ApiError::not_found(
                crate::opencloud::codes::DetailCode::Unknown,
                format!("expected `…:{}` here", with_method.join("` or `…:")),
            ));
        }
        let verb = params
            .last()
            .and_then(|(_, v)| v.rsplit_once(':'))
            .map(|(_, v)| v)
            .filter(|v| route.verbs.iter().any(|(rv, _, _)| rv == v));
        // With a known verb, a route whose methods need verbs lists the
        // verb's methods; another lists its plain ones (the segment is
        // also a plain name there).
        let mut allowed: Vec<&'static str> = match verb.filter(|_| route.verb_required) {
            Some(v) => route
                .verbs
                .iter()
                .filter(|(rv, _, _)| *rv == v)
                .map(|(_, m, _)| m.as_str())
                .collect(),
            None => route.plain.iter().map(|(m, _)| m.as_str()).collect(),
        };
        allowed.dedup();
        if allowed.is_empty() {
            Err(self.not_found())
        } else {
            Err(ApiError::method_not_allowed(method.as_str(), allowed))
        }
    }
}

/// Runs a matched handler.
pub(super) async fn call(
    found: Found,
    state: Arc<AppState>,
    req: Request<Incoming>,
    universe: u64,
    query: Query,
    body_read: BodyRead,
) -> Reply {
    let (h, params) = found;
    let (head, body) = req.into_parts();
    h(Call {
        state,
        head,
        body: Some(body),
        body_read,
        universe,
        query,
        params,
    })
    .await
}

/// Decodes a parameter of a canonical path (checked UTF-8 already; only
/// `%25` and `%2F` remain encoded there, and a lone `%` is an empty
/// segment: see [`super::request::canonical_path`]).
pub(super) fn decode(raw: &str) -> String {
    if raw == "%" {
        String::new()
    } else if raw.contains('%') {
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned()
    } else {
        raw.to_owned()
    }
}
