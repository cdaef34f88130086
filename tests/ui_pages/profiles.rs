//! The profile page (decoding, escaping, sending a message) and the live
//! sessions page (rows only for readable stores, ending in place).

use std::time::Duration;

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::*;

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
    let entry = b
        .page("/ui/u/1/data-stores/PlayerData/entries/Player_1")
        .await;
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
    let page = reader.page("/ui/sessions").await;
    assert!(!page.contains("class=\"held\""), "released: no longer live");
    // A page opened after the changes still lists them, newest first.
    let log = page
        .split("id=\"change-rows\"")
        .nth(1)
        .expect("the change log");
    let (released, started) = (
        log.find("data-kind=\"released\"")
            .expect("released in the log"),
        log.find("data-kind=\"started\"")
            .expect("started in the log"),
    );
    assert!(released < started, "newest first: {log}");
    assert!(
        !other.page("/ui/sessions").await.contains("job-A"),
        "another store's key sees the change log's rows"
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
