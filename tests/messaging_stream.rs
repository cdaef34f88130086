//! The messaging subscribe endpoint as server-sent events, `since=`
//! starts, and cursors that survive a restart of the server's bus.

mod support;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use profilestore::testing::spawn_test_server;
use serde_json::json;
use support::{read_stream_until, send};

async fn read_until(body: &mut hyper::body::Incoming, needle: &str) -> String {
    read_stream_until(body, needle, Duration::from_secs(10)).await
}

#[tokio::test]
async fn messages_stream_as_server_sent_events_and_resume_by_last_event_id() {
    let server = spawn_test_server().await;
    let url = format!(
        "{}/messaging-service/v1/universes/1/topics/news/messages",
        server.url
    );
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let open = |last: Option<String>| {
        let mut req = Request::get(&url)
            .header("x-api-key", &server.api_key)
            .header("accept", "text/event-stream");
        if let Some(id) = last {
            req = req.header("last-event-id", id);
        }
        client.request(req.body(Full::new(Bytes::new())).expect("request"))
    };
    let res = open(None).await.expect("stream");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();
    read_until(&mut body, ": connected").await;
    server
        .bus
        .publish("news", &json!({"n": 1}))
        .await
        .expect("publish");
    let text = read_until(&mut body, "\n\n").await;
    assert!(text.contains("event: message"), "{text}");
    assert!(text.contains(r#"data: {"data":{"n":1},"sent":"#), "{text}");
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .expect("an id")
        .to_owned();
    drop(body);

    server
        .bus
        .publish("news", &json!({"n": 2}))
        .await
        .expect("publish");
    let res = open(Some(id)).await.expect("resumed stream");
    let mut body = res.into_body();
    let text = read_until(&mut body, "\"n\":2").await;
    assert!(
        !text.contains("\"n\":1"),
        "resumes after the last seen event: {text}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn since_starts_at_a_time_and_foreign_cursors_replay_what_is_kept() {
    let server = spawn_test_server().await;
    let topic = format!(
        "{}/messaging-service/v1/universes/1/topics/t/messages",
        server.url
    );
    let key = [("x-api-key", server.api_key.as_str())];
    server
        .bus
        .publish("t", &json!("old"))
        .await
        .expect("publish");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let since = profilestore::clock::Clock::system().now_ms();
    server
        .bus
        .publish("t", &json!("new"))
        .await
        .expect("publish");
    let got = send(
        Method::GET,
        &format!("{topic}?since={since}&timeout=0"),
        &key,
        "",
    )
    .await;
    let body = got.json();
    let data: Vec<_> = body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["data"].clone())
        .collect();
    assert_eq!(data, [json!("new")]);

    // A cursor from another bus (a restarted server) replays what is kept.
    let foreign = send(
        Method::GET,
        &format!("{topic}?cursor=0000abcd-99&timeout=0"),
        &key,
        "",
    )
    .await;
    assert_eq!(
        foreign.json()["messages"]
            .as_array()
            .expect("messages")
            .len(),
        2
    );
    let bad = send(
        Method::GET,
        &format!("{topic}?cursor=zz-1&timeout=0"),
        &key,
        "",
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    server.shutdown().await;
}
