//! The dashboard at `/ui/`: server-rendered HTML pages over the services
//! of [`AppState`], in this process.
//!
//! Owns: the `/ui` family (its own route table of pages, [`Pages`]; `GET /`
//! redirects to `/ui/`), what every page handler gets ([`Ctx`]: state,
//! path parameters, query, form, caller), and the dashboard's state on
//! `AppState` ([`Dashboard`]: signed-in browser sessions, the request
//! monitor, what the overview says about the server). The page shell is
//! `layout.rs`, sign-in and CSRF `auth.rs`, the embedded CSS and JS
//! `assets.rs`; then one module per page group.
//!
//! Invariants: the family authenticates itself (it is answered before the
//! API's key check): with keys configured every page needs a signed-in
//! session (else a redirect to `/ui/sign-in?next=...`); every action
//! checks the permission the equivalent API call needs (`scopes::required`,
//! through [`Ctx::need`]), so a key sees and does in the dashboard exactly
//! what it may through the API; every state-changing request is a POST
//! form that passes the CSRF check (`auth::check_form`) before its handler
//! runs; every value a page shows is escaped (maud) unless it is markup
//! the dashboard built; errors are HTML pages with the status of their
//! `ApiError`; nothing is fetched from the internet (assets are embedded).

mod assets;
mod auth;
mod controls;
mod diff;
mod edit;
mod entry;
mod history;
mod layout;
mod memory;
mod messaging;
mod ordered;
mod overview;
mod profiles;
mod requests;
mod sessions;
mod stores;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};

use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request, Response};

use super::error::ApiError;
use super::monitor::{CallerName, Monitor};
use super::request::{self, Body, Query};
use super::scopes::{self, Caller, Family, Permission};
use super::AppState;
use crate::opencloud::codes::DetailCode as D;

pub(super) use auth::User;

/// What the overview page tells about the server, beyond its services
/// (`serve` fills it from `config.toml`).
#[derive(Clone, Debug)]
pub struct About {
    /// The storage plugin (`sqlite`, `sled`, `memory`, `postgres`).
    pub storage: String,
    /// Its data folder or database (without a password).
    pub location: String,
    /// `full`, `normal` or `off`.
    pub durability: String,
    /// The default universe (`[server] universe`).
    pub universe: u64,
    /// Whether the server answers over TLS (then the dashboard's cookie
    /// is `Secure`: a browser never sends it over plain HTTP).
    pub tls: bool,
}

impl Default for About {
    fn default() -> Self {
        About {
            storage: "memory".to_owned(),
            location: "(in memory)".to_owned(),
            durability: "off".to_owned(),
            universe: 1,
            tls: false,
        }
    }
}

/// The dashboard's state on `AppState`: its browser sessions, the request
/// monitor and [`About`]. Clones share it.
#[derive(Clone, Debug, Default)]
pub struct Dashboard {
    /// Every request the server answered, for `/ui/requests` and the
    /// overview's rates.
    pub monitor: Monitor,
    sessions: Arc<auth::Sessions>,
    about: Arc<About>,
}

impl Dashboard {
    /// A dashboard telling `about` on its overview.
    pub fn new(about: About) -> Self {
        Dashboard {
            about: Arc::new(about),
            ..Dashboard::default()
        }
    }

    /// What the overview tells about the server.
    pub fn about(&self) -> &About {
        &self.about
    }
}

/// What a page handler answers: a page, or an error shown as an HTML page
/// with the error's status.
pub(super) type Reply = Result<Response<Body>, ApiError>;

type BoxReply = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// A page's handler.
pub(super) type Handler = Box<dyn Fn(Ctx) -> BoxReply + Send + Sync>;

/// Boxes an `async fn(Ctx) -> Reply` as a [`Handler`].
pub(super) fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    Box::new(move |c| Box::pin(f(c)))
}

/// The GET and POST handlers of one path pattern.
#[derive(Default)]
struct Methods {
    get: Option<Handler>,
    post: Option<Handler>,
}

/// The dashboard's route table: path patterns (matchit syntax, relative to
/// `/ui`, e.g. `/u/{universe}/data-stores/{store}`) to handlers. Each page
/// module adds its routes with a `routes(Pages) -> Pages` function,
/// chained in [`PAGES`].
#[derive(Default)]
pub(super) struct Pages {
    routes: Vec<(String, Methods)>,
}

impl Pages {
    fn methods(&mut self, pattern: &str) -> &mut Methods {
        let at = match self.routes.iter().position(|(p, _)| p == pattern) {
            Some(i) => i,
            None => {
                self.routes.push((pattern.to_owned(), Methods::default()));
                self.routes.len() - 1
            }
        };
        &mut self.routes[at].1
    }

    /// `GET pattern` (HEAD too) runs `h`.
    pub(super) fn get(mut self, pattern: &str, h: Handler) -> Self {
        self.methods(pattern).get = Some(h);
        self
    }

    /// `POST pattern` runs `h`, after the CSRF check, with the form parsed.
    pub(super) fn post(mut self, pattern: &str, h: Handler) -> Self {
        self.methods(pattern).post = Some(h);
        self
    }

    fn build(self) -> matchit::Router<Methods> {
        let mut tree = matchit::Router::new();
        for (pattern, methods) in self.routes {
            if let Err(e) = tree.insert(pattern.clone(), methods) {
                panic!("dashboard route {pattern}: {e}");
            }
        }
        tree
    }
}

/// Every page: one `routes` call per page module.
static PAGES: LazyLock<matchit::Router<Methods>> = LazyLock::new(|| {
    let pages = Pages::default();
    let pages = auth::routes(pages);
    let pages = overview::routes(pages);
    let pages = stores::routes(pages);
    let pages = entry::routes(pages);
    let pages = edit::routes(pages);
    let pages = controls::routes(pages);
    let pages = requests::routes(pages);
    let pages = profiles::routes(messaging::routes(ordered::routes(memory::routes(pages))));
    let pages = sessions::routes(history::routes(pages));
    pages.build()
});

/// A form body's fields (`application/x-www-form-urlencoded`).
#[derive(Debug, Default)]
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Self {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    /// A field's value (the first, when sent twice).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A required field, else a 400 naming it.
    pub(super) fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| {
            ApiError::bad_request(D::Unknown, format!("the form has no `{name}` field"))
        })
    }
}

/// Everything a page handler gets (some fields only some pages read).
#[derive(Debug)]
#[allow(dead_code)]
pub(super) struct Ctx {
    /// The server's state (its services).
    pub state: Arc<AppState>,
    /// GET or POST.
    pub method: Method,
    /// The path and query as the browser sent them (for `?next=` links).
    pub target: String,
    /// The request headers.
    pub headers: HeaderMap,
    /// The query string.
    pub query: Query,
    /// A POST's form (empty for a GET).
    pub form: Form,
    /// Who is signed in, and the session's form token.
    pub user: User,
    /// The flash message the previous action left, shown once.
    pub flash: Option<layout::Flash>,
    params: Vec<(String, String)>,
}

impl Ctx {
    /// The decoded path parameter `name` (empty when the route has none).
    pub(super) fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The `{universe}` path parameter.
    pub(super) fn universe(&self) -> Result<u64, ApiError> {
        let id = self.param("universe");
        id.parse().map_err(|_| {
            ApiError::bad_request(D::InvalidUniverseId, format!("`{id}` is not a universe id"))
        })
    }

    /// The universe pages without one in their path show (the picker's).
    pub(super) fn current_universe(&self) -> u64 {
        self.universe()
            .ok()
            .or_else(|| self.query.get("u").and_then(|u| u.parse().ok()))
            .unwrap_or(self.state.dashboard.about.universe)
    }

    /// The signed-in caller, as the API's permission checks know it.
    pub(super) fn caller(&self) -> Caller<'_> {
        self.user.caller(&self.state)
    }

    /// `Ok` when the caller may do what `p` names, else the API's 403.
    pub(super) fn check(&self, p: &Permission) -> Result<(), ApiError> {
        self.caller().check(p)
    }

    /// Whether the caller may do what `p` names (to hide what it may not).
    pub(super) fn allowed(&self, p: &Permission) -> bool {
        self.check(p).is_ok()
    }

    /// The permission the equivalent API call needs (`family`, `method`,
    /// the API path after its universe, the store it names), checked.
    #[allow(clippy::needless_pass_by_value)]
    pub(super) fn need(
        &self,
        family: Family,
        method: Method,
        rest: &str,
        universe: u64,
        store: Option<&str>,
    ) -> Result<(), ApiError> {
        self.check(&permission(family, &method, rest, universe, store))
    }
}

/// The permission the API call (`family`, `method`, `rest`, `universe`,
/// `store`) needs: `scopes::required`, for pages that only want to know.
pub(super) fn permission(
    family: Family,
    method: &Method,
    rest: &str,
    universe: u64,
    store: Option<&str>,
) -> Permission {
    scopes::required(family, method, rest, universe, store)
}

/// Whether the dashboard answers `method path` (`/`, `/ui` and under it).
pub(super) fn claims(method: &Method, path: &str) -> bool {
    let page = matches!(*method, Method::GET | Method::HEAD | Method::POST);
    page && (path == "/" && method != Method::POST || path == "/ui" || path.starts_with("/ui/"))
}

/// Answers a request [`claims`] said is the dashboard's.
pub(super) async fn answer(
    state: &Arc<AppState>,
    req: Request<Incoming>,
    body_read: &super::router::BodyRead,
) -> Response<Body> {
    let path = req.uri().path();
    if path == "/" || path == "/ui" {
        return layout::redirect("/ui/");
    }
    if let Some(r) = assets::answer(path) {
        return r;
    }
    let (user, response) = match serve(state, req, body_read).await {
        Ok((user, r)) => (Some(user), r),
        Err((user, e)) => {
            let page = layout::error_page(state, user.as_ref(), &e);
            (user, page)
        }
    };
    let mut response = response;
    layout::secure_headers(&mut response);
    if let Some(user) = user {
        response
            .extensions_mut()
            .insert(CallerName(user.name.clone()));
    }
    response
}

type Served = Result<(User, Response<Body>), (Option<User>, ApiError)>;

async fn serve(
    state: &Arc<AppState>,
    req: Request<Incoming>,
    body_read: &super::router::BodyRead,
) -> Served {
    let raw = req.uri().path().to_owned();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| raw.clone(), |p| p.as_str().to_owned());
    let path = request::canonical_path(&raw).map_err(|e| (None, e))?;
    let path = path.strip_prefix("/ui").unwrap_or(&path).to_owned();
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        path
    };
    let query = Query::of(&req).map_err(|e| (None, e))?;
    let method = req.method().clone();
    let not_found = || ApiError::not_found(D::Unknown, format!("no dashboard page at {raw}"));
    let matched = PAGES.at(&path).map_err(|_| (None, not_found()))?;
    let methods = matched.value;
    let params: Vec<(String, String)> = matched
        .params
        .iter()
        .map(|(k, v)| (k.to_owned(), super::router::decode(v)))
        .collect();
    let h = match method {
        Method::GET | Method::HEAD => methods.get.as_ref(),
        _ => methods.post.as_ref(),
    };
    let Some(h) = h else {
        let allowed = match (&methods.get, &methods.post) {
            (Some(_), Some(_)) => vec!["GET", "POST"],
            (Some(_), None) => vec!["GET"],
            _ => vec!["POST"],
        };
        return Err((None, ApiError::method_not_allowed(method.as_str(), allowed)));
    };
    let (head, body) = req.into_parts();
    let open_page = auth::is_open_page(&path);
    let user = match auth::user(state, &head.headers) {
        Some(user) => user,
        None if open_page => User::nobody(),
        None if method == Method::POST => return Err((None, ApiError::unauthorized())),
        None => return Ok((User::nobody(), auth::to_sign_in(&target))),
    };
    let form = if method == Method::POST {
        let limit = state.max_body_bytes;
        let timeout = state.limits.body_read_timeout;
        body_read.mark();
        let bytes = request::body(body, limit, timeout)
            .await
            .map_err(|e| (Some(user.clone()), e))?;
        let form = Form::parse(&bytes);
        auth::check_form(&head.headers, &form, &user, open_page)
            .map_err(|e| (Some(user.clone()), e))?;
        form
    } else {
        Form::default()
    };
    let flash = layout::Flash::of(&head.headers);
    let had_flash = flash.is_some();
    let c = Ctx {
        state: Arc::clone(state),
        method,
        target,
        headers: head.headers,
        query,
        form,
        user: user.clone(),
        flash,
        params,
    };
    match h(c).await {
        Ok(mut r) => {
            if had_flash && !r.headers().contains_key(hyper::header::SET_COOKIE) {
                layout::clear_flash(&mut r);
            }
            Ok((user, r))
        }
        Err(e) => Err((Some(user), e)),
    }
}
