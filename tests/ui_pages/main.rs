//! The dashboard's profile, live sessions, messaging, ordered and memory
//! store pages over HTTP (`src/http/ui/{profiles,history,sessions,
//! messaging,ordered,memory}.rs`): what
//! each shows, that every value is escaped, and that sending a message or
//! publishing needs the same scope as the API call it stands for (a key
//! without it sees no form, and its POST is refused with nothing written).
//! The same pages in a real browser: `tests/browser/live_check.py`. The
//! helpers (a server with scoped keys, a signed-in browser) are here.

#[path = "../support/mod.rs"]
mod support;

mod profiles;
mod services;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use profilestore::http::scopes::ScopedKey;
use profilestore::http::Limits;
use serde_json::{json, Value};
use support::net::NetServer;
use support::{send, Answer};

/// Reads entries of every data store, nothing else.
const READER: &str = "reader-key-for-ui-pages";
/// Reads data stores and writes sessions (sends messages).
const SENDER: &str = "sender-key-for-ui-pages";
/// Reads one other data store only.
const OTHER: &str = "other-store-key-for-ui-pages";
/// Subscribes to messaging only.
const LISTENER: &str = "listener-key-for-ui-pages";
/// Subscribes and publishes.
const PUBLISHER: &str = "publisher-key-for-ui-pages";

async fn server() -> NetServer {
    NetServer::start(Limits::default(), None, |state| {
        state.scoped_keys = vec![
            ScopedKey::new("reader", READER, &["universe:1/datastore:*:read"]),
            ScopedKey::new(
                "sender",
                SENDER,
                &["universe:1/datastore:*:read", "universe:1/session:write"],
            ),
            ScopedKey::new("other", OTHER, &["universe:1/datastore:Other:read"]),
            ScopedKey::new("listener", LISTENER, &["universe:1/messaging:subscribe"]),
            ScopedKey::new("publisher", PUBLISHER, &["universe:1/messaging:*"]),
        ]
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("scopes");
        state.history.spawn(&state.datastores);
    })
    .await
}

/// A signed-in browser: its session cookie.
struct Browser<'s> {
    server: &'s NetServer,
    cookie: String,
}

impl<'s> Browser<'s> {
    async fn sign_in(server: &'s NetServer, key: &str) -> Browser<'s> {
        let body = form(&[("key", key), ("next", "/ui/")]);
        let a = send(
            Method::POST,
            &format!("{}/ui/sign-in", server.url),
            &[
                ("sec-fetch-site", "same-origin"),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body,
        )
        .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{:?}", a.body);
        let set = a.header("set-cookie").expect("a session cookie");
        let cookie = set.split(';').next().expect("cookie").to_owned();
        Browser { server, cookie }
    }

    async fn get(&self, path: &str) -> Answer {
        let url = format!("{}{path}", self.server.url);
        send(Method::GET, &url, &[("cookie", &self.cookie)], "").await
    }

    /// A page's text (asserting 200).
    async fn page(&self, path: &str) -> String {
        let a = self.get(path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", text(&a));
        text(&a)
    }

    /// Posts `fields` with the form token of the page at `from`.
    async fn post(&self, from: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
        let page = self.page(from).await;
        let token = csrf(&page);
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        let url = format!("{}{action}", self.server.url);
        let headers = [
            ("cookie", self.cookie.as_str()),
            ("sec-fetch-site", "same-origin"),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        send(Method::POST, &url, &headers, form(&all)).await
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

fn text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

/// The form token a page carries (every signed-in page has the sign-out
/// form).
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form token") + 19;
    page[at..].split('"').next().expect("token").to_owned()
}

/// One API call with the plain key.
async fn api(s: &NetServer, method: Method, path: &str, body: Value) -> Answer {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let headers = [
        ("x-api-key", s.key.as_str()),
        ("content-type", "application/json"),
    ];
    send(method, &format!("{}{path}", s.url), &headers, body).await
}

const SESSIONS: &str = "/session-api/v1/universes/1/servers/job-A/sessions";

/// Starts a session of `key` in `PlayerData` on game server `job-A` with
/// `data`, saved; returns its session GUID.
async fn profile(s: &NetServer, key: &str, data: Value) -> String {
    let start = json!({"store": "PlayerData", "key": key, "placeId": 42});
    let a = api(s, Method::POST, SESSIONS, start).await;
    assert_eq!(a.status, StatusCode::OK, "{}", text(&a));
    let session = a.json()["profile"]["sessionId"]
        .as_str()
        .expect("id")
        .to_owned();
    let at = format!("{SESSIONS}/PlayerData/{key}");
    let a = api(
        s,
        Method::PATCH,
        &format!("{at}?loadCount=1"),
        json!({ "data": data, "userIds": [7] }),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", text(&a));
    let a = api(
        s,
        Method::POST,
        &format!("{at}:save?loadCount=1"),
        Value::Null,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", text(&a));
    session
}

/// The stored profile as the session API reads it.
async fn stored(s: &NetServer, key: &str) -> Value {
    let a = api(
        s,
        Method::GET,
        &format!("/session-api/v1/universes/1/stores/PlayerData/{key}"),
        Value::Null,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", text(&a));
    a.json()
}

/// Opens `path` as an event stream with the browser's cookie.
async fn open_stream(s: &NetServer, b: &Browser<'_>, path: &str) -> hyper::body::Incoming {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = Request::get(format!("{}{path}", s.url))
        .header("cookie", &b.cookie)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let res = client.request(req).await.expect("stream");
    assert_eq!(res.status(), StatusCode::OK);
    res.into_body()
}
