//! The dashboard at `/ui/` over HTTP: sign-in and its session cookie,
//! the redirect of a browser without one, the CSRF check of every form,
//! the same permissions as the API (a read-only key cannot revert), HTML
//! escaping of names, and a server without keys opening directly. The
//! pages themselves are clicked through in a real browser by
//! `tests/browser/dashboard_check.py` (run by `scripts/test`).

mod support;

use hyper::{Method, StatusCode};
use profilestore::http::scopes::ScopedKey;
use profilestore::http::Limits;
use support::net::NetServer;
use support::{send, Answer};

const READER: &str = "reader-key";
const EVIL: &str = "evil-name-key";
const EVIL_NAME: &str = "<script>alert(1)</script>";

async fn server() -> NetServer {
    NetServer::start(Limits::default(), None, |state| {
        state.scoped_keys = vec![
            ScopedKey::new("reader", READER, &["universe:*/datastore:*:read"]),
            ScopedKey::new(EVIL_NAME, EVIL, &["universe:1/datastore:*:read"]),
        ]
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("scopes");
    })
    .await
}

fn origin(s: &NetServer) -> String {
    s.url.clone()
}

async fn get(s: &NetServer, path: &str, cookie: &str) -> Answer {
    send(
        Method::GET,
        &format!("{}{path}", s.url),
        &[("cookie", cookie)],
        "",
    )
    .await
}

/// A same-origin form POST, as a browser sends it.
async fn post(s: &NetServer, path: &str, cookie: &str, form: &str) -> Answer {
    let o = origin(s);
    let headers = [
        ("cookie", cookie),
        ("origin", o.as_str()),
        ("sec-fetch-site", "same-origin"),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    send(
        Method::POST,
        &format!("{}{path}", s.url),
        &headers,
        form.to_owned(),
    )
    .await
}

/// Signs in with `key`; the session cookie (`name=value`).
async fn sign_in(s: &NetServer, key: &str) -> String {
    let a = post(s, "/ui/sign-in", "", &format!("key={key}&next=%2Fui%2F")).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{:?}", a.body);
    let set = a.header("set-cookie").expect("a cookie");
    set.split(';').next().expect("name=value").to_owned()
}

/// The form token of a page.
fn csrf(page: &Answer) -> String {
    let html = String::from_utf8_lossy(&page.body);
    let at = html.find("name=\"csrf\" value=\"").expect("a form token") + 19;
    html[at..].split('"').next().expect("value").to_owned()
}

fn text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

async fn write(s: &NetServer, key: &str, value: &str) -> String {
    let path = format!(
        "{}/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=Players&entryKey={key}",
        s.url
    );
    let a = send(
        Method::POST,
        &path,
        &[("x-api-key", s.key.as_str())],
        value.to_owned(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    a.json()["version"].as_str().expect("version").to_owned()
}

#[tokio::test]
async fn without_a_session_pages_redirect_to_sign_in_and_posts_are_refused() {
    let s = server().await;
    let a = get(&s, "/ui/u/1/data-stores?prefix=P", "").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(
        a.header("location"),
        Some("/ui/sign-in?next=%2Fui%2Fu%2F1%2Fdata-stores%3Fprefix%3DP")
    );
    let a = get(&s, "/ui/controls", "ps_session=made-up").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = post(&s, "/ui/controls/faults/clear", "ps_session=made-up", "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(text(&a).contains("<!DOCTYPE html>"), "an HTML error page");
    let a = get(&s, "/", "").await;
    assert_eq!(
        (a.status, a.header("location")),
        (StatusCode::SEE_OTHER, Some("/ui/"))
    );
    s.shutdown().await;
}

#[tokio::test]
async fn sign_in_sets_a_browser_session_cookie_and_sign_out_drops_it() {
    let s = server().await;
    let a = post(&s, "/ui/sign-in", "", "key=wrong&next=%2Fui%2F").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.header("set-cookie").is_none());
    assert!(text(&a).contains("not one this server accepts"));
    let a = post(
        &s,
        "/ui/sign-in",
        "",
        &format!("key={}&next=%2Fui%2Fcontrols", s.key),
    )
    .await;
    assert_eq!(a.header("location"), Some("/ui/controls"));
    let set = a.header("set-cookie").expect("cookie").to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(set.contains(flag), "{set}");
    }
    let lower = set.to_ascii_lowercase();
    assert!(
        !lower.contains("max-age") && !lower.contains("expires"),
        "{set}"
    );
    let cookie = set.split(';').next().expect("pair").to_owned();
    let page = get(&s, "/ui/", &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(text(&page).contains("Overview"));
    // An open redirect is not possible.
    let a = post(
        &s,
        "/ui/sign-in",
        "",
        &format!("key={}&next=https%3A%2F%2Fevil.example", s.key),
    )
    .await;
    assert_eq!(a.header("location"), Some("/ui/"));
    let out = post(
        &s,
        "/ui/sign-out",
        &cookie,
        &format!("csrf={}", csrf(&page)),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out
        .header("set-cookie")
        .expect("cleared")
        .contains("Max-Age=0"));
    assert_eq!(get(&s, "/ui/", &cookie).await.status, StatusCode::SEE_OTHER);
    s.shutdown().await;
}

#[tokio::test]
async fn a_form_from_another_origin_or_without_the_token_is_refused() {
    let s = server().await;
    let cookie = sign_in(&s, &s.key.clone()).await;
    let page = get(&s, "/ui/controls", &cookie).await;
    let token = csrf(&page);
    let url = format!("{}/ui/controls/snapshots", s.url);
    let form = format!("csrf={token}&id=snap1");
    let form_type = ("content-type", "application/x-www-form-urlencoded");
    let cross = [
        ("cookie", cookie.as_str()),
        ("sec-fetch-site", "cross-site"),
        form_type,
    ];
    let a = send(Method::POST, &url, &cross, form.clone()).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", text(&a));
    let evil = [
        ("cookie", cookie.as_str()),
        ("origin", "http://evil.example"),
        form_type,
    ];
    let a = send(Method::POST, &url, &evil, form.clone()).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = post(&s, "/ui/controls/snapshots", &cookie, "id=snap1").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "no token");
    let a = post(
        &s,
        "/ui/controls/snapshots",
        &cookie,
        "csrf=forged&id=snap1",
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "a wrong token");
    let listed = get(&s, "/ui/controls", &cookie).await;
    assert!(!text(&listed).contains("snap1"), "nothing was saved");
    let a = post(&s, "/ui/controls/snapshots", &cookie, &form).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    assert!(text(&get(&s, "/ui/controls", &cookie).await).contains("snap1"));
    s.shutdown().await;
}

#[tokio::test]
async fn a_read_only_key_reads_an_entry_but_cannot_revert_edit_or_use_controls() {
    let s = server().await;
    let first = write(&s, "u1", r#"{"coins":1}"#).await;
    write(&s, "u1", r#"{"coins":2}"#).await;
    let cookie = sign_in(&s, READER).await;
    let entry = "/ui/u/1/data-stores/Players/entries/u1";
    let page = get(&s, entry, &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = text(&page);
    assert!(
        html.contains("&quot;coins&quot;: 2") || html.contains("\"coins\": 2"),
        "{html}"
    );
    assert!(
        !html.contains(">Revert<") && !html.contains("edit-link"),
        "no write actions shown"
    );
    let a = post(
        &s,
        &format!("{entry}/revert"),
        &cookie,
        &format!("csrf={}&version={first}", csrf(&page)),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(text(&a).contains("datastore:Players:write"), "{}", text(&a));
    assert_eq!(
        get(&s, &format!("{entry}/edit"), &cookie).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&s, "/ui/controls", &cookie).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&s, "/ui/requests", &cookie).await.status,
        StatusCode::FORBIDDEN
    );
    // The value is unchanged; the full key's revert works.
    let admin = sign_in(&s, &s.key.clone()).await;
    let page = get(&s, entry, &admin).await;
    let a = post(
        &s,
        &format!("{entry}/revert"),
        &admin,
        &format!("csrf={}&version={first}", csrf(&page)),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    assert!(a
        .header("set-cookie")
        .expect("flash")
        .contains("ps_flash=ok"));
    let after = text(&get(&s, entry, &admin).await);
    assert!(after.contains("&quot;coins&quot;: 1"), "{after}");
    assert_eq!(after.matches("data-version=").count(), 3, "a new version");
    s.shutdown().await;
}

#[tokio::test]
async fn names_are_escaped_in_pages() {
    let s = server().await;
    write(
        &s,
        "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        r#"{"a":"</pre><script>x()</script>"}"#,
    )
    .await;
    let cookie = sign_in(&s, EVIL).await;
    let page = text(&get(&s, "/ui/u/1/data-stores/Players", &cookie).await);
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the key's name, escaped: {page}"
    );
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{page}"
    );
    assert!(!page.contains("<img"), "{page}");
    let entry = text(
        &get(
            &s,
            "/ui/u/1/data-stores/Players/entries/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
            &cookie,
        )
        .await,
    );
    assert!(entry.contains("&lt;/pre&gt;&lt;script&gt;x()"), "{entry}");
    assert!(!entry.contains("<script>x()"), "{entry}");
    s.shutdown().await;
}

#[tokio::test]
async fn without_keys_the_dashboard_opens_directly_and_still_checks_forms() {
    let s = NetServer::start(Limits::default(), None, |state| state.api_keys.clear()).await;
    let page = get(&s, "/ui/", "").await;
    assert_eq!(page.status, StatusCode::OK, "{}", text(&page));
    assert!(!text(&page).contains("Sign out"));
    let a = get(&s, "/ui/sign-in", "").await;
    assert_eq!(a.header("location"), Some("/ui/"));
    // The controls always need a key (as /emulator/v1 does).
    let a = get(&s, "/ui/controls", "").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(text(&a).contains("--api-key"));
    let a = post(&s, "/ui/sign-out", "", "csrf=wrong").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    s.shutdown().await;
}

#[tokio::test]
async fn assets_are_embedded_with_a_long_cache_and_the_monitor_names_callers() {
    let s = server().await;
    let cookie = sign_in(&s, &s.key.clone()).await;
    let page = text(&get(&s, "/ui/requests", &cookie).await);
    let css = page
        .split("href=\"")
        .find_map(|p| p.split('"').next().filter(|h| h.ends_with(".css")))
        .expect("a stylesheet");
    let a = get(&s, css, "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a
        .header("cache-control")
        .expect("cache")
        .contains("immutable"));
    assert_eq!(
        get(&s, "/ui/assets/ui.0.css", "").await.status,
        StatusCode::NOT_FOUND
    );
    let reader = [("x-api-key", READER)];
    let probe = format!("{}/cloud/v2/universes/7/data-stores/Probe/entries/k", s.url);
    assert_eq!(
        send(Method::GET, &probe, &reader, "").await.status,
        StatusCode::NOT_FOUND
    );
    let page = text(&get(&s, "/ui/requests", &cookie).await);
    let row = page
        .split("<tr")
        .find(|r| r.contains("/data-stores/Probe/"))
        .expect("the probe's row");
    assert!(
        row.contains(">reader<") && row.contains(">404<") && row.contains(">7<"),
        "{row}"
    );
    let rows = page.split("<tr").skip(1);
    assert!(
        !rows.clone().any(|r| r.contains("/ui/assets/")),
        "assets are not recorded"
    );
    s.shutdown().await;
}
