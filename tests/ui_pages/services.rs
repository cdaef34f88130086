//! The messaging (publish permissions, escaping, the tail's stream),
//! ordered data store and memory store pages.

use std::time::Duration;

use hyper::{Method, StatusCode};
use serde_json::json;

use super::*;

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
    // Paged after the last item shown, by key and sort key.
    let path = format!("{mem}/sorted-maps/Lb/items?id=k2");
    let a = api(
        &s,
        Method::POST,
        &path,
        json!({"value": 2, "numericSortKey": 5, "ttl": "300s"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", text(&a));
    let page = b.page("/ui/u/1/memory/sorted-maps/Lb?count=1").await;
    assert!(
        page.contains(">k1<") && !page.contains(">k2<"),
        "the smallest first"
    );
    let next = page
        .split("<div class=\"pager\"><a href=\"")
        .nth(1)
        .expect("a next page")
        .split('"')
        .next()
        .expect("href");
    let page = b
        .page(&format!(
            "/ui/u/1/memory/sorted-maps/Lb{}",
            next.replace("&amp;", "&")
        ))
        .await;
    assert!(
        page.contains(">k2<") && !page.contains(">k1<"),
        "then the next: {next}"
    );
    // A hash map, two pages of one item.
    for k in ["h1", "h2"] {
        let path = format!("/engine-api/v1/universes/1/memory-store/hash-maps/Bag/items/{k}");
        let a = api(
            &s,
            Method::PUT,
            &path,
            json!({"value": {"k": k}, "expiration": 300}),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", text(&a));
    }
    let page = b.page("/ui/u/1/memory/hash-maps/Bag?count=1").await;
    assert!(page.contains(">h1<") && !page.contains(">h2<"), "one item");
    let next = page
        .split("<div class=\"pager\"><a href=\"")
        .nth(1)
        .expect("a next page")
        .split('"')
        .next()
        .expect("href");
    let page = b
        .page(&format!(
            "/ui/u/1/memory/hash-maps/Bag{}",
            next.replace("&amp;", "&")
        ))
        .await;
    assert!(
        page.contains(">h2<") && !page.contains(">h1<"),
        "the second item"
    );
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
