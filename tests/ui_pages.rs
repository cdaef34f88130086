//! The dashboard's profile, messaging, ordered and memory store pages
//! over HTTP (`src/http/ui/{profiles,messaging,ordered,memory}.rs`): what
//! each shows, that every value is escaped, and that sending a message or
//! publishing needs the same scope as the API call it stands for (a key
//! without it sees no form, and its POST is refused with nothing written).
//! The same pages in a real browser: `tests/browser/live_check.py`.

mod support;

use std::time::Duration;

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

#[tokio::test]
async fn a_profile_page_decodes_the_document_and_escapes_its_data() {
    let s = server().await;
    let guid = profile(
        &s,
        "Player_1",
        json!({"coins": 5, "name": "<script>alert(1)</script>"}),
    )
    .await;
    let b = Browser::sign_in(&s, READER).await;
    let page = b.page("/ui/u/1/profiles/PlayerData/Player_1").await;
    for fact in [
        guid.as_str(),
        "job-A",
        ">42<",
        "id=\"load-count\">1<",
        "id=\"user-ids\">7<",
        "lock age",
    ] {
        assert!(page.contains(fact), "{fact} missing");
    }
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped data"
    );
    assert!(!page.contains("<script>alert"), "unescaped data");
    // The entry page of a profile links here (a plain entry does not).
    let entry = b.page("/ui/u/1/data-stores/PlayerData/entries/Player_1").await;
    assert!(entry.contains("id=\"profile-link\" href=\"/ui/u/1/profiles/PlayerData/Player_1\""));
    // The open form leads to the same page.
    let a = b
        .get("/ui/u/1/profiles?store=PlayerData&key=Player_1")
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(
        a.header("location"),
        Some("/ui/u/1/profiles/PlayerData/Player_1")
    );
    s.shutdown().await;
}

#[tokio::test]
async fn sending_a_message_needs_session_write_and_reaches_the_profile() {
    let s = server().await;
    profile(&s, "Player_2", json!({"coins": 1})).await;
    let at = "/ui/u/1/profiles/PlayerData/Player_2";
    let reader = Browser::sign_in(&s, READER).await;
    assert!(
        !reader.page(at).await.contains("id=\"send-message\""),
        "a send form for a reader"
    );
    let a = reader
        .post(
            at,
            &format!("{at}/message"),
            &[("message", "{\"gift\": 1}")],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", text(&a));
    assert_eq!(stored(&s, "Player_2").await["messages"], json!([]));

    let sender = Browser::sign_in(&s, SENDER).await;
    let a = sender
        .post(at, &format!("{at}/message"), &[("message", "{bad json")])
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let page = text(&a);
    assert!(
        page.contains("id=\"message-problem\"") && page.contains("{bad json"),
        "the typed text is kept"
    );
    assert_eq!(stored(&s, "Player_2").await["messages"], json!([]));

    let a = sender
        .post(
            at,
            &format!("{at}/message"),
            &[("message", "{\"gift\": \"<i>10</i>\"}")],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    assert_eq!(
        stored(&s, "Player_2").await["messages"],
        json!([[1, {"gift": "<i>10</i>"}]])
    );
    let page = sender.page(at).await;
    assert!(
        page.contains("&lt;i&gt;10&lt;/i&gt;") && !page.contains("<i>10"),
        "escaped message"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn publishing_needs_the_publish_scope_and_the_tail_escapes_messages() {
    let s = server().await;
    let listener = Browser::sign_in(&s, LISTENER).await;
    let topic = "/ui/u/1/messaging/topics/Chat";
    assert!(
        !listener.page(topic).await.contains("id=\"publish\""),
        "a publish box for a listener"
    );
    let a = listener
        .post(
            topic,
            "/ui/u/1/messaging/publish",
            &[("topic", "Chat"), ("message", "hi")],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", text(&a));
    assert!(listener
        .page("/ui/u/1/messaging")
        .await
        .contains("No topic yet."));

    let publisher = Browser::sign_in(&s, PUBLISHER).await;
    let a = publisher
        .post(
            topic,
            "/ui/u/1/messaging/publish",
            &[("topic", "Chat"), ("message", "<b>hi</b>")],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    assert_eq!(a.header("location"), Some(topic));
    let page = listener.page(topic).await;
    assert!(
        page.contains("&lt;b&gt;hi&lt;/b&gt;") && !page.contains("<b>hi"),
        "escaped message"
    );
    assert!(listener
        .page("/ui/u/1/messaging")
        .await
        .contains("href=\"/ui/u/1/messaging/topics/Chat\""));
    // A message over the bus's size limit is refused; nothing is retained.
    let big = "x".repeat(2000);
    let a = publisher
        .post(
            topic,
            "/ui/u/1/messaging/publish",
            &[("topic", "Chat"), ("message", &big)],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", text(&a));
    assert!(!listener.page(topic).await.contains(&big));
    // A reader of data stores may not tail a topic.
    let reader = Browser::sign_in(&s, READER).await;
    assert_eq!(reader.get(topic).await.status, StatusCode::FORBIDDEN);
    s.shutdown().await;
}

#[tokio::test]
async fn the_tail_stream_sends_a_message_published_after_the_page() {
    let s = server().await;
    let b = Browser::sign_in(&s, LISTENER).await;
    let page = b.page("/ui/u/1/messaging/topics/Chat").await;
    let live = page
        .split("data-live=\"")
        .nth(1)
        .expect("a live tail")
        .split('"')
        .next()
        .expect("url");
    let live = live.replace("&amp;", "&");
    // Published between the page and its stream: the stream still sends it.
    let a = api(
        &s,
        Method::POST,
        "/messaging-service/v1/universes/1/topics/Chat",
        json!({"message": "after the page"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = Request::get(format!("{}{live}", s.url))
        .header("cookie", &b.cookie)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let res = client.request(req).await.expect("stream");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();
    let got =
        support::read_stream_until(&mut body, "after the page", Duration::from_secs(20)).await;
    assert!(got.contains("event: row"), "{got}");
    s.shutdown().await;
}

#[tokio::test]
async fn the_ordered_top_n_pages_in_order_and_checks_roblox_limits() {
    let s = server().await;
    for (key, value) in [("a", 5), ("b", 50), ("c", 7)] {
        let path = format!("/ordered-data-stores/v1/universes/1/orderedDataStores/Board/scopes/global/entries?id={key}");
        let a = api(&s, Method::POST, &path, json!({ "value": value })).await;
        assert_eq!(a.status, StatusCode::OK, "{}", text(&a));
    }
    let b = Browser::sign_in(&s, &s.key.clone()).await;
    let page = b.page("/ui/u/1/ordered/Board?size=2").await;
    let (first, second) = (
        page.find("data-key=\"b\"").expect("b"),
        page.find("data-key=\"c\"").expect("c"),
    );
    assert!(
        first < second && !page.contains("data-key=\"a\""),
        "top 2 descending"
    );
    let next = page
        .split("id=\"next-page\" href=\"")
        .nth(1)
        .expect("a next page")
        .split('"')
        .next()
        .expect("href");
    let page = b
        .page(&format!(
            "/ui/u/1/ordered/Board{}",
            next.replace("&amp;", "&")
        ))
        .await;
    assert!(
        page.contains("data-key=\"a\"") && page.contains(">3<"),
        "the rank goes on"
    );
    let page = b.page("/ui/u/1/ordered/Board?order=ascending&size=1").await;
    assert!(page.contains("data-key=\"a\"") && !page.contains("data-key=\"c\""));
    assert!(
        b.page("/ui/u/1/ordered")
            .await
            .contains("href=\"/ui/u/1/ordered/Board\""),
        "seen in requests"
    );
    assert_eq!(
        b.get("/ui/u/1/ordered/Board?size=0").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        b.get("/ui/u/1/ordered/Board?min=10&max=1").await.status,
        StatusCode::BAD_REQUEST
    );
    let reader = Browser::sign_in(&s, READER).await;
    assert_eq!(
        reader.get("/ui/u/1/ordered/Board").await.status,
        StatusCode::FORBIDDEN
    );
    s.shutdown().await;
}

#[tokio::test]
async fn memory_store_pages_list_structures_and_peek_without_reading() {
    let s = server().await;
    let mem = "/cloud/v2/universes/1/memory-store";
    let a = api(
        &s,
        Method::POST,
        &format!("{mem}/queues/Jobs/items"),
        json!({"data": {"job": "<x>"}, "ttl": "300s"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", text(&a));
    let a = api(
        &s,
        Method::POST,
        &format!("{mem}/sorted-maps/Lb/items?id=k1"),
        json!({"value": 1, "numericSortKey": 3, "ttl": "300s"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", text(&a));
    let b = Browser::sign_in(&s, &s.key.clone()).await;
    let index = b.page("/ui/u/1/memory").await;
    assert!(
        index.contains("/ui/u/1/memory/queues/Jobs")
            && index.contains("/ui/u/1/memory/sorted-maps/Lb")
    );
    for _ in 0..2 {
        let q = b.page("/ui/u/1/memory/queues/Jobs").await;
        assert!(
            q.contains("id=\"queue-size\">1<") && q.contains("&lt;x&gt;"),
            "peeked, still there"
        );
    }
    let sorted = b
        .page("/ui/u/1/memory/sorted-maps/Lb?direction=descending")
        .await;
    assert!(sorted.contains(">k1<") && sorted.contains("id=\"sorted-size\">1<"));
    assert_eq!(
        b.get("/ui/u/1/memory/queues/Jobs?count=0").await.status,
        StatusCode::BAD_REQUEST
    );
    let reader = Browser::sign_in(&s, READER).await;
    assert_eq!(
        reader.get("/ui/u/1/memory").await.status,
        StatusCode::FORBIDDEN
    );
    s.shutdown().await;
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

#[tokio::test]
async fn live_sessions_show_only_readable_stores_and_end_rows_in_place() {
    let s = server().await;
    let reader = Browser::sign_in(&s, READER).await;
    let other = Browser::sign_in(&s, OTHER).await;
    let mut stream = open_stream(&s, &reader, "/ui/sessions/stream").await;
    support::read_stream_until(&mut stream, ": connected", Duration::from_secs(20)).await;
    let mut hidden = open_stream(&s, &other, "/ui/sessions/stream").await;
    support::read_stream_until(&mut hidden, ": connected", Duration::from_secs(20)).await;
    // A key with markup in it: escaped in the row, encoded in the link.
    let start = json!({"store": "PlayerData", "key": "<k>", "placeId": 42});
    let a = api(&s, Method::POST, SESSIONS, start).await;
    assert_eq!(a.status, StatusCode::OK, "{}", text(&a));
    let got =
        support::read_stream_until(&mut stream, "event: change", Duration::from_secs(20)).await;
    assert!(
        got.contains("event: lock") && got.contains("&lt;k&gt;") && !got.contains("<k>"),
        "{got}"
    );
    assert!(got.contains("/ui/u/1/profiles/PlayerData/%3Ck%3E"), "{got}");
    let page = reader.page("/ui/sessions").await;
    assert!(
        page.contains("&lt;k&gt;") && page.contains("job-A") && page.contains("class=\"held\"")
    );
    let row_id = page
        .split("class=\"held\" id=\"")
        .nth(1)
        .expect("a row")
        .split('"')
        .next()
        .expect("id")
        .to_owned();
    assert!(
        !other.page("/ui/sessions").await.contains("job-A"),
        "another store's key sees the session"
    );

    let a = api(
        &s,
        Method::POST,
        &format!("{SESSIONS}/PlayerData/%3Ck%3E:end?loadCount=1"),
        Value::Null,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", text(&a));
    let got = support::read_stream_until(&mut stream, "released", Duration::from_secs(20)).await;
    assert!(
        got.contains(&format!("class=\\\"ended\\\" id=\\\"{row_id}\\\"")),
        "the same row ends: {got}"
    );
    assert!(
        !reader.page("/ui/sessions").await.contains("job-A"),
        "released: no longer live"
    );
    // The profile page shows both changes, newest first.
    let page = reader.page("/ui/u/1/profiles/PlayerData/%3Ck%3E").await;
    let (released, started) = (
        page.find("data-kind=\"released\"").expect("released"),
        page.find("data-kind=\"started\"").expect("started"),
    );
    assert!(released < started, "newest first");
    // The other key's stream skipped both: the first row it gets is its own store's.
    let start = json!({"store": "Other", "key": "mine", "placeId": 42});
    let a = api(&s, Method::POST, SESSIONS, start).await;
    assert_eq!(a.status, StatusCode::OK, "{}", text(&a));
    let got =
        support::read_stream_until(&mut hidden, "event: change", Duration::from_secs(20)).await;
    assert!(got.contains("mine") && !got.contains("PlayerData"), "{got}");
    s.shutdown().await;
}
