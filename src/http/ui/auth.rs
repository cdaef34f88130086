//! Signing in to the dashboard, and its CSRF defence.
//!
//! Owns: browser sessions ([`Sessions`]: a random token to the caller it
//! signed in as, bounded, with an idle expiry), the session cookie, the
//! `/ui/sign-in` and `/ui/sign-out` pages, and the check of every POST
//! form ([`check_form`]). Invariants: with no key configured (the server
//! then only listens on loopback) everyone is signed in; a key is checked
//! by `scopes::identify`, the API's own constant-time comparison, and
//! never stored (a session holds which key it was, not the key); the
//! cookie is `HttpOnly; SameSite=Strict; Path=/ui` (and `Secure` on a TLS
//! server) with no `Max-Age` or `Expires` (the browser forgets it when it
//! closes); a POST passes only
//! when the browser says it comes from this origin (`Sec-Fetch-Site`, else
//! `Origin` against `Host`) **and** it carries the session's form token;
//! `?next=` only ever leads to a dashboard path.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hyper::{HeaderMap, Response};
use maud::html;
use parking_lot::Mutex;

use super::super::error::ApiError;
use super::super::request::Body;
use super::super::scopes::{self, Caller};
use super::super::AppState;
use super::layout::{self, Nav};
use super::{handler, Ctx, Pages, Reply};
use crate::opencloud::headers;

/// The session cookie's name.
pub(super) const COOKIE: &str = "ps_session";
/// The most browser sessions kept at once (the least recently used goes).
pub(super) const MAX_SESSIONS: usize = 1024;
/// A session unused this long is forgotten.
pub(super) const IDLE: Duration = Duration::from_secs(8 * 3600);

/// Adds the sign-in and sign-out pages.
pub(super) fn routes(pages: Pages) -> Pages {
    pages
        .get("/sign-in", handler(sign_in_page))
        .post("/sign-in", handler(sign_in))
        .post("/sign-out", handler(sign_out))
}

/// Pages that need no session (signing in).
pub(super) fn is_open_page(path: &str) -> bool {
    path == "/sign-in"
}

/// Which caller a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// The server takes no key.
    Open,
    /// A plain key (`[server] api_keys`).
    Full,
    /// The scoped key at this index of `AppState::scoped_keys`.
    Scoped(usize),
    /// Not signed in (only the sign-in page sees this).
    Nobody,
}

/// Who is signed in, as a page sees it.
#[derive(Clone, Debug)]
pub(in crate::http) struct User {
    who: Who,
    /// The session's token (`None` on a server without keys).
    token: Option<String>,
    /// The form token every POST of this session must carry.
    pub(super) csrf: String,
    /// What the header and the request monitor call the caller.
    pub(in crate::http) name: String,
}

impl User {
    /// Not signed in.
    pub(super) fn nobody() -> Self {
        User {
            who: Who::Nobody,
            token: None,
            csrf: String::new(),
            name: "?".to_owned(),
        }
    }

    /// Whether this user signed in with a key (and may sign out).
    pub(super) fn signed_in(&self) -> bool {
        self.token.is_some()
    }

    /// The caller the API's permission checks know.
    pub(super) fn caller<'s>(&self, state: &'s AppState) -> Caller<'s> {
        match self.who {
            Who::Open => Caller::Open,
            Who::Full => Caller::Full,
            Who::Scoped(i) => match state.scoped_keys.get(i) {
                Some(k) => Caller::Scoped(k),
                None => Caller::Open,
            },
            // Never reaches a page but the sign-in form; grants nothing.
            Who::Nobody => Caller::Scoped(&NOBODY),
        }
    }
}

static NOBODY: std::sync::LazyLock<scopes::ScopedKey> = std::sync::LazyLock::new(|| {
    let none: &[&str] = &[];
    scopes::ScopedKey::new("(not signed in)", uuid::Uuid::new_v4().to_string(), none)
        .unwrap_or_else(|_| unreachable!("no scope to parse"))
});

#[derive(Debug)]
struct Session {
    who: Who,
    csrf: String,
    last_used: Instant,
}

/// The signed-in browser sessions: token to caller.
#[derive(Debug)]
pub(super) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    /// The form token of a server without keys (one per server run).
    open_csrf: String,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            map: Mutex::default(),
            open_csrf: random_token(),
        }
    }
}

/// 244 random bits from the OS (two v4 UUIDs), as 64 hex digits.
fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Sessions {
    /// A new session for `who`; returns its token. Expired sessions go
    /// first, then the least recently used one when full.
    fn open(&self, who: Who, now: Instant) -> String {
        let mut map = self.map.lock();
        map.retain(|_, s| now.duration_since(s.last_used) < IDLE);
        if map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(t, _)| t.clone());
            if let Some(t) = oldest {
                map.remove(&t);
            }
        }
        let token = random_token();
        let session = Session {
            who,
            csrf: random_token(),
            last_used: now,
        };
        map.insert(token.clone(), session);
        token
    }

    /// The session of `token`, renewed; `None` when unknown or idle too long.
    fn find(&self, token: &str, now: Instant) -> Option<(Who, String)> {
        let mut map = self.map.lock();
        let s = map.get_mut(token)?;
        if now.duration_since(s.last_used) >= IDLE {
            map.remove(token);
            return None;
        }
        s.last_used = now;
        Some((s.who, s.csrf.clone()))
    }

    fn close(&self, token: &str) {
        self.map.lock().remove(token);
    }

    /// How many sessions are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().len()
    }
}

/// The signed-in user of a request, `None` when it has no valid session.
pub(super) fn user(state: &AppState, headers: &HeaderMap) -> Option<User> {
    let sessions = &state.dashboard.sessions;
    if !state.takes_keys() {
        return Some(User {
            who: Who::Open,
            token: None,
            csrf: sessions.open_csrf.clone(),
            name: "-".to_owned(),
        });
    }
    let token = layout::cookie(headers, COOKIE)?;
    let (who, csrf) = sessions.find(token, Instant::now())?;
    Some(User {
        who,
        token: Some(token.to_owned()),
        csrf,
        name: name_of(state, who),
    })
}

fn name_of(state: &AppState, who: Who) -> String {
    match who {
        Who::Scoped(i) => state
            .scoped_keys
            .get(i)
            .map_or_else(|| "?".to_owned(), |k| k.name.clone()),
        Who::Full => "key".to_owned(),
        Who::Open => "-".to_owned(),
        Who::Nobody => "?".to_owned(),
    }
}

/// Where a browser without a session goes: the sign-in form, coming back
/// to `target` after.
pub(super) fn to_sign_in(target: &str) -> Response<Body> {
    let next = layout::query(&[("next", target)]);
    layout::redirect(&format!("/ui/sign-in{next}"))
}

/// `next` if it is a dashboard path, else the overview (no open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/ui/") && !n.contains("//") && !n.contains('\\') => n,
        _ => "/ui/",
    }
}

/// The CSRF check of a POST: from this origin, with the session's token
/// (the sign-in form has no session yet: the origin check alone).
pub(super) fn check_form(
    headers: &HeaderMap,
    form: &super::Form,
    user: &User,
    open_page: bool,
) -> Result<(), ApiError> {
    let refuse = |why: &str| {
        ApiError::forbidden(format!(
            "refused a form that may not come from this dashboard ({why}); reload the page and try again"
        ))
    };
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match (text("sec-fetch-site"), text("origin")) {
        (Some(site), _) if site != "same-origin" => return Err(refuse("Sec-Fetch-Site")),
        (None, Some(origin)) => {
            let host = text("host").unwrap_or("");
            let same = ["http://", "https://"]
                .iter()
                .any(|s| origin.strip_prefix(s) == Some(host));
            if !same {
                return Err(refuse("Origin"));
            }
        }
        _ => {}
    }
    if open_page {
        return Ok(());
    }
    let given = form.get("csrf").unwrap_or("");
    let ok: bool = subtle::ConstantTimeEq::ct_eq(given.as_bytes(), user.csrf.as_bytes()).into();
    if user.csrf.is_empty() || !ok {
        return Err(refuse("no valid form token"));
    }
    Ok(())
}

async fn sign_in_page(c: Ctx) -> Reply {
    if !c.state.takes_keys() {
        return Ok(layout::redirect(safe_next(c.query.get("next"))));
    }
    Ok(form_page(&c, c.query.get("next"), None))
}

fn form_page(c: &Ctx, next: Option<&str>, problem: Option<&str>) -> Response<Body> {
    let body = html! {
        section.card.narrow {
            h1 { "Sign in" }
            p.muted { "This server takes API keys. Enter one: the dashboard then shows and does what that key may through the API. You stay signed in until you close the browser or sign out." }
            @if let Some(p) = problem { p.flash.error role="alert" { (p) } }
            form method="post" action="/ui/sign-in" {
                input type="hidden" name="next" value=(safe_next(next));
                label for="key" { "API key" }
                input #key type="password" name="key" autocomplete="current-password" required autofocus;
                button.primary type="submit" { "Sign in" }
            }
        }
    };
    layout::shell(c, Nav::None, "Sign in", body)
}

async fn sign_in(c: Ctx) -> Reply {
    let next = c.form.get("next").map(str::to_owned);
    let key = c.form.get("key").unwrap_or("").trim();
    let mut given = HeaderMap::new();
    let caller = hyper::header::HeaderValue::from_str(key)
        .ok()
        .and_then(|v| {
            given.insert(headers::API_KEY, v);
            scopes::identify(&given, &c.state.api_keys, &c.state.scoped_keys)
        });
    let who = match caller {
        Some(Caller::Full) => Who::Full,
        Some(Caller::Scoped(k)) => {
            let i = c
                .state
                .scoped_keys
                .iter()
                .position(|s| std::ptr::eq(s, k))
                .unwrap_or(usize::MAX);
            Who::Scoped(i)
        }
        Some(Caller::Open) => return Ok(layout::redirect(safe_next(next.as_deref()))),
        None => {
            let mut r = form_page(
                &c,
                next.as_deref(),
                Some("That key is not one this server accepts."),
            );
            *r.status_mut() = ApiError::unauthorized().status;
            return Ok(r);
        }
    };
    let token = c.state.dashboard.sessions.open(who, Instant::now());
    tracing::info!(key = %name_of(&c.state, who), "signed in to the dashboard");
    let mut r = layout::redirect(safe_next(next.as_deref()));
    let cookie = session_cookie(&token, c.state.dashboard.about.tls);
    layout::add_cookie(&mut r, &cookie);
    Ok(r)
}

async fn sign_out(c: Ctx) -> Reply {
    if let Some(token) = &c.user.token {
        c.state.dashboard.sessions.close(token);
    }
    let mut r = layout::redirect("/ui/sign-in");
    let cookie = format!(
        "{}; Max-Age=0",
        session_cookie("", c.state.dashboard.about.tls)
    );
    layout::add_cookie(&mut r, &cookie);
    Ok(r)
}

/// The session cookie holding `token`; `Secure` on a TLS server.
fn session_cookie(token: &str, tls: bool) -> String {
    let secure = if tls { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/ui; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_secure_exactly_on_tls_servers() {
        let plain = session_cookie("t", false);
        assert_eq!(
            plain,
            format!("{COOKIE}=t; Path=/ui; HttpOnly; SameSite=Strict")
        );
        assert_eq!(session_cookie("t", true), format!("{plain}; Secure"));
    }

    #[test]
    fn sessions_expire_when_idle_and_stay_bounded() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let token = s.open(Who::Full, t0);
        assert_eq!(s.find(&token, t0 + IDLE / 2).map(|f| f.0), Some(Who::Full));
        // Used at IDLE / 2: still valid just before IDLE / 2 + IDLE.
        assert!(s
            .find(&token, t0 + IDLE / 2 + IDLE - Duration::from_secs(1))
            .is_some());
        let later = t0 + IDLE * 3;
        assert!(s.find(&token, later).is_none());
        for _ in 0..(MAX_SESSIONS + 10) {
            s.open(Who::Open, later);
        }
        assert_eq!(s.len(), MAX_SESSIONS);
    }

    #[test]
    fn next_only_leads_into_the_dashboard() {
        assert_eq!(safe_next(Some("/ui/controls")), "/ui/controls");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/ui//evil",
            "/x",
            "/ui\\x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/ui/", "{bad}");
        }
        assert_eq!(safe_next(None), "/ui/");
    }

    #[test]
    fn a_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            hyper::header::COOKIE,
            "a=1; ps_session=tok; b=2".parse().expect("header"),
        );
        assert_eq!(layout::cookie(&h, COOKIE), Some("tok"));
        assert_eq!(layout::cookie(&h, "c"), None);
    }
}
