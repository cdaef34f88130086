//! The dashboard's CSS and JavaScript, embedded in the binary at build
//! time (`assets/ui.css`, `assets/ui.js`: the dashboard's own, no
//! third-party code, nothing fetched from the internet).
//!
//! Owns: their URLs (`/ui/assets/ui.{hash}.css`, a content hash computed
//! at compile time, so a new build never meets a stale cached copy) and
//! serving them. Invariants: an asset is served only under its current
//! hashed name, with a year-long `immutable` cache header; any other name
//! under `/ui/assets/` is a 404; assets need no sign-in (they hold no data).

use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::super::request::{self, Body};

const CSS: &str = include_str!("assets/ui.css");
const JS: &str = include_str!("assets/ui.js");

/// FNV-1a, 64 bits: a content hash that runs at compile time.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const CSS_HASH: u64 = fnv1a(CSS.as_bytes());
const JS_HASH: u64 = fnv1a(JS.as_bytes());

/// The stylesheet's URL.
pub(super) fn css_url() -> String {
    format!("/ui/assets/ui.{CSS_HASH:016x}.css")
}

/// The script's URL.
pub(super) fn js_url() -> String {
    format!("/ui/assets/ui.{JS_HASH:016x}.js")
}

/// The answer of an asset path; `None` for a path outside `/ui/assets/`.
pub(super) fn answer(path: &str) -> Option<Response<Body>> {
    let name = path.strip_prefix("/ui/assets/")?;
    let found = if path == css_url() {
        Some((CSS, "text/css; charset=utf-8"))
    } else if path == js_url() {
        Some((JS, "text/javascript; charset=utf-8"))
    } else {
        None
    };
    let Some((text, kind)) = found else {
        let mut r = request::empty(StatusCode::NOT_FOUND);
        tracing::debug!(name, "no such dashboard asset");
        r.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Some(r);
    };
    let mut r = Response::new(request::full(text));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_served_under_their_hash_only() {
        let css = answer(&css_url()).expect("an answer");
        assert_eq!(css.status(), StatusCode::OK);
        assert!(css.headers()[CACHE_CONTROL]
            .to_str()
            .expect("text")
            .contains("immutable"));
        assert_eq!(answer(&js_url()).expect("js").status(), StatusCode::OK);
        let stale = answer("/ui/assets/ui.0000000000000000.css").expect("an answer");
        assert_eq!(stale.status(), StatusCode::NOT_FOUND);
        assert!(answer("/ui/controls").is_none());
    }
}
