//! The dashboard's page shell and the small builders every page uses.
//!
//! Owns: [`shell`] (the HTML document: header with the universe picker
//! and the signed-in key, the nav with a link to every page ([`NAV`]), the
//! flash message, the body), the error page, redirects, flash messages
//! (a short-lived cookie read once), the security headers of every
//! answer, and helpers for links ([`enc`], [`query`]), times and POST
//! buttons ([`post_form`]). Invariants: every page links the CSS and JS
//! by their content-hashed URLs; no inline script or style (the
//! `Content-Security-Policy` forbids them); every value is escaped by
//! maud unless the dashboard built it as markup.

use hyper::header::{HeaderValue, CONTENT_TYPE, SET_COOKIE};
use hyper::{HeaderMap, Response, StatusCode};
use maud::{html, Markup, DOCTYPE};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::super::error::ApiError;
use super::super::request::{self, Body};
use super::super::AppState;
use super::{assets, Ctx, User};

/// The sections of the nav; a page says which it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Nav {
    /// No section (sign-in, errors).
    None,
    /// `/ui/`.
    Overview,
    /// `/ui/u/{u}/data-stores...`.
    DataStores,
    /// `/ui/u/{u}/profiles...`.
    Profiles,
    /// `/ui/sessions`.
    Sessions,
    /// `/ui/u/{u}/messaging...`.
    Messaging,
    /// `/ui/u/{u}/ordered...`.
    Ordered,
    /// `/ui/u/{u}/memory...`.
    Memory,
    /// `/ui/controls`.
    Controls,
    /// `/ui/requests`.
    Requests,
}

/// One nav link: its section, its label, and its URL (`{u}` is replaced
/// by the current universe).
pub(super) struct NavLink {
    section: Nav,
    label: &'static str,
    href: &'static str,
}

/// Every page of the nav, in order. A new page group adds its line here.
pub(super) const NAV: &[NavLink] = &[
    NavLink {
        section: Nav::Overview,
        label: "Overview",
        href: "/ui/",
    },
    NavLink {
        section: Nav::DataStores,
        label: "Data stores",
        href: "/ui/u/{u}/data-stores",
    },
    NavLink {
        section: Nav::Profiles,
        label: "Profiles",
        href: "/ui/u/{u}/profiles",
    },
    NavLink {
        section: Nav::Sessions,
        label: "Sessions",
        href: "/ui/sessions",
    },
    NavLink {
        section: Nav::Messaging,
        label: "Messaging",
        href: "/ui/u/{u}/messaging",
    },
    NavLink {
        section: Nav::Ordered,
        label: "Ordered",
        href: "/ui/u/{u}/ordered",
    },
    NavLink {
        section: Nav::Memory,
        label: "Memory",
        href: "/ui/u/{u}/memory",
    },
    NavLink {
        section: Nav::Controls,
        label: "Controls",
        href: "/ui/controls",
    },
    NavLink {
        section: Nav::Requests,
        label: "Requests",
        href: "/ui/requests",
    },
];

/// A message shown once on the next page (after a redirect).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::http) struct Flash {
    /// `true` for success, `false` for a problem.
    pub ok: bool,
    /// The text.
    pub text: String,
}

const FLASH_COOKIE: &str = "ps_flash";

/// What a cookie value may hold unencoded.
const COOKIE_SAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');
/// What a path segment may hold unencoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl Flash {
    /// A success message.
    pub(super) fn ok(text: impl Into<String>) -> Self {
        Flash {
            ok: true,
            text: text.into(),
        }
    }

    /// A problem.
    pub(super) fn problem(text: impl Into<String>) -> Self {
        Flash {
            ok: false,
            text: text.into(),
        }
    }

    /// The flash a request carries.
    pub(super) fn of(headers: &HeaderMap) -> Option<Self> {
        let raw = cookie(headers, FLASH_COOKIE)?;
        let text = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()?;
        let (kind, text) = text.split_once(':')?;
        (!text.is_empty()).then(|| Flash {
            ok: kind == "ok",
            text: text.chars().take(500).collect(),
        })
    }

    fn render(&self) -> Markup {
        let class = if self.ok { "flash ok" } else { "flash error" };
        html! { p class=(class) role="status" { (self.text) } }
    }
}

/// A cookie's value from a request's `Cookie` headers.
pub(super) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(hyper::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Percent-encodes one path segment (a store or key name in a link).
pub(super) fn enc(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// `?name=value&...` (empty values left out; `""` when none is left).
pub(super) fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        s.append_pair(k, v);
    }
    let q = s.finish();
    if q.is_empty() {
        q
    } else {
        format!("?{q}")
    }
}

/// An epoch-ms time as `2024-05-01 12:00:00 UTC`.
pub(super) fn time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000);
    match t {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => ms.to_string(),
    }
}

/// A duration as `3 d 4 h`, `5 min 2 s`, `12 s`.
pub(super) fn duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// The hidden form-token field every POST form carries.
pub(super) fn csrf(c: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(c.user.csrf); }
}

/// A POST form to `action` with the form token, `fields` and a submit
/// button labelled `label` (`class`: `primary`, `danger` or `""`).
// Markup is taken by value, as templates build it in place.
#[allow(clippy::needless_pass_by_value)]
pub(super) fn post_form(c: &Ctx, action: &str, label: &str, class: &str, fields: Markup) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf(c))
            (fields)
            button class=(class) type="submit" { (label) }
        }
    }
}

/// A whole page of `nav`'s section, titled `title`, status 200.
pub(super) fn shell(c: &Ctx, nav: Nav, title: &str, body: Markup) -> Response<Body> {
    let universe = c.current_universe();
    let markup = document(
        &c.state,
        Some(&c.user),
        c.flash.as_ref(),
        universe,
        nav,
        title,
        body,
    );
    html_response(StatusCode::OK, markup)
}

/// [`shell`] with another status (a form shown again with its problem).
pub(super) fn shell_status(
    c: &Ctx,
    status: StatusCode,
    nav: Nav,
    title: &str,
    body: Markup,
) -> Response<Body> {
    let mut r = shell(c, nav, title, body);
    *r.status_mut() = status;
    r
}

fn html_response(status: StatusCode, markup: Markup) -> Response<Body> {
    let mut r = Response::new(request::full(markup.into_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

#[allow(clippy::needless_pass_by_value)]
fn document(
    state: &AppState,
    user: Option<&User>,
    flash: Option<&Flash>,
    universe: u64,
    nav: Nav,
    title: &str,
    body: Markup,
) -> Markup {
    let show_nav = user.is_some_and(|u| u.name != "?");
    let mut universes = state.dashboard.monitor.universes();
    universes.push(state.dashboard.about().universe);
    universes.push(universe);
    universes.sort_unstable();
    universes.dedup();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · profilestore" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href=(assets::css_url());
                script src=(assets::js_url()) defer {}
            }
            body {
                header.top {
                    a.brand href="/ui/" { "profilestore" }
                    @if show_nav {
                        nav {
                            @for link in NAV {
                                @let href = link.href.replace("{u}", &universe.to_string());
                                @if link.section == nav {
                                    a.current href=(href) aria-current="page" { (link.label) }
                                } @else {
                                    a href=(href) { (link.label) }
                                }
                            }
                        }
                        form.universe method="get" action="/ui/universe" {
                            label for="universe-pick" { "Universe" }
                            input #universe-pick type="number" name="u" min="0" value=(universe) list="universes";
                            datalist #universes { @for u in &universes { option value=(u) {} } }
                            button type="submit" { "Go" }
                        }
                    }
                    @if let Some(u) = user.filter(|u| u.signed_in()) {
                        span.who { "key: " strong { (u.name) } }
                        form.inline method="post" action="/ui/sign-out" {
                            input type="hidden" name="csrf" value=(u.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    @if let Some(f) = flash { (f.render()) }
                    (body)
                }
                footer { "profilestore " (env!("CARGO_PKG_VERSION")) }
            }
        }
    }
}

/// An error as an HTML page with its status (with the nav when `user` is
/// signed in).
pub(super) fn error_page(state: &AppState, user: Option<&User>, e: &ApiError) -> Response<Body> {
    let title = e.status.canonical_reason().unwrap_or("Error");
    let body = html! {
        section.card {
            h1 { (e.status.as_u16()) " " (title) }
            p.flash.error role="alert" { (e.message) }
            p { a href="/ui/" { "Back to the overview" } }
        }
    };
    let universe = state.dashboard.about().universe;
    let page = document(state, user, None, universe, Nav::None, title, body);
    html_response(e.status, page)
}

/// A 303 to `location` (after a POST, or to the sign-in form).
pub(super) fn redirect(location: &str) -> Response<Body> {
    let mut r = request::empty(StatusCode::SEE_OTHER);
    request::set_header(&mut r, "location", location);
    r
}

/// A 303 to `location` that shows `flash` there.
pub(super) fn redirect_flash(location: &str, flash: &Flash) -> Response<Body> {
    let mut r = redirect(location);
    let kind = if flash.ok { "ok" } else { "problem" };
    let value = utf8_percent_encode(&format!("{kind}:{}", flash.text), COOKIE_SAFE).to_string();
    add_cookie(
        &mut r,
        &format!("{FLASH_COOKIE}={value}; Path=/ui; HttpOnly; SameSite=Strict"),
    );
    r
}

/// Drops the flash cookie (it was shown).
pub(super) fn clear_flash(r: &mut Response<Body>) {
    add_cookie(
        r,
        &format!("{FLASH_COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
}

/// Appends a `Set-Cookie` header.
pub(super) fn add_cookie(r: &mut Response<Body>, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(SET_COOKIE, v);
    }
}

/// The headers of every dashboard answer: no framing, no inline code, no
/// sniffing, no caching of pages (assets set their own).
pub(super) fn secure_headers(r: &mut Response<Body>) {
    let h = r.headers_mut();
    let set = |h: &mut HeaderMap, name: &'static str, value: &'static str| {
        if !h.contains_key(name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "same-origin");
    set(h, "x-frame-options", "DENY");
    set(h, "cache-control", "no-store");
}
