//! MessagingService over HTTP across the nodes of a test cluster (real
//! sockets and time; every wait is on an event, with generous bounds).

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use profilestore::testing::{spawn_test_cluster, TestServer};
use serde_json::{json, Value};

use super::support::{call, read_stream_until, send};

fn topic_path(topic: &str) -> String {
    format!("/messaging-service/v1/universes/1/topics/{topic}")
}

async fn publish(node: &TestServer, topic: &str, message: &str) {
    let answer = call(
        node,
        Method::POST,
        &topic_path(topic),
        json!({"message": message}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
}

/// One long-poll; `cursor` is sent as it is.
async fn poll(node: &TestServer, topic: &str, cursor: Option<&str>, timeout: u32) -> Value {
    poll_at(&node.url, &node.api_key, topic, cursor, timeout).await
}

/// [`poll`] on the node at `url` with `key`.
async fn poll_at(url: &str, key: &str, topic: &str, cursor: Option<&str>, timeout: u32) -> Value {
    let position = cursor.map_or(String::new(), |c| format!("&cursor={c}"));
    let path = format!("{}/messages?timeout={timeout}{position}", topic_path(topic));
    let url = format!("{url}{path}");
    let answer = send(Method::GET, &url, &[("x-api-key", key)], Bytes::new()).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.json()
}

fn data(poll: &Value) -> Vec<Value> {
    poll["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["data"].clone())
        .collect()
}

#[tokio::test]
async fn a_publish_on_node_1_reaches_a_long_poll_on_node_2() {
    let nodes = spawn_test_cluster(2).await;
    let start = poll(&nodes[1], "news", None, 0).await;
    let cursor = start["cursor"].as_str().expect("cursor").to_owned();
    let waiting = {
        let (url, key) = (nodes[1].url.clone(), nodes[1].api_key.clone());
        let cursor = cursor.clone();
        tokio::spawn(async move { poll_at(&url, &key, "news", Some(&cursor), 30).await })
    };
    // The poll is waiting once node 2 holds the topic's waiter; publishing
    // before that is fine too (the cursor covers it).
    let sent = Instant::now();
    publish(&nodes[0], "news", "hello").await;
    let got = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("answered in time")
        .expect("task");
    let latency = sent.elapsed();
    assert_eq!(data(&got), vec![json!("hello")]);
    eprintln!("cross-node long-poll latency: {latency:?}");
    assert!(latency < Duration::from_secs(5), "{latency:?}");
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test]
async fn a_cursor_from_node_1_resumes_on_node_2() {
    let nodes = spawn_test_cluster(2).await;
    let start = poll(&nodes[0], "t", None, 0).await;
    publish(&nodes[0], "t", "one").await;
    let first = poll(&nodes[0], "t", start["cursor"].as_str(), 10).await;
    assert_eq!(data(&first), vec![json!("one")]);
    publish(&nodes[1], "t", "two").await;
    publish(&nodes[0], "t", "three").await;
    let cursor = first["cursor"].as_str().expect("cursor");
    // Node 2 may not have read node 1's last publish yet: poll until both.
    let mut seen = Vec::new();
    let mut at = cursor.to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.len() < 2 && Instant::now() < deadline {
        let next = poll(&nodes[1], "t", Some(&at), 10).await;
        seen.extend(data(&next));
        at = next["cursor"].as_str().expect("cursor").to_owned();
    }
    assert_eq!(
        seen,
        vec![json!("two"), json!("three")],
        "nothing missed, nothing repeated"
    );
    for node in nodes {
        node.shutdown().await;
    }
}

async fn read_until(body: &mut hyper::body::Incoming, needle: &str) -> String {
    read_stream_until(body, needle, Duration::from_secs(20)).await
}

#[tokio::test]
async fn an_sse_subscription_on_node_2_receives_publishes_from_node_1_with_resumable_ids() {
    let nodes = spawn_test_cluster(2).await;
    // Another topic's traffic makes this topic's log numbers non-consecutive.
    publish(&nodes[0], "other", "x").await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let url = format!("{}{}/messages", nodes[1].url, topic_path("live"));
    let open = |last: Option<String>| {
        let mut req = Request::get(&url)
            .header("x-api-key", &nodes[1].api_key)
            .header("accept", "text/event-stream");
        if let Some(id) = last {
            req = req.header("last-event-id", id);
        }
        client.request(req.body(Full::new(Bytes::new())).expect("request"))
    };
    let mut body = open(None).await.expect("stream").into_body();
    read_until(&mut body, ": connected").await;
    publish(&nodes[0], "live", "a").await;
    publish(&nodes[0], "other", "y").await;
    publish(&nodes[0], "live", "b").await;
    let text = read_until(&mut body, "\"b\"").await;
    assert!(text.contains(r#"data: {"data":"a","sent":"#), "{text}");
    let first_id = text
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .expect("an id")
        .to_owned();
    drop(body);
    // Resuming after "a" on node 1 gives "b" and nothing before it.
    let client1 = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = Request::get(format!("{}{}/messages", nodes[0].url, topic_path("live")))
        .header("x-api-key", &nodes[0].api_key)
        .header("accept", "text/event-stream")
        .header("last-event-id", first_id)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let mut resumed = client1.request(req).await.expect("stream").into_body();
    let text = read_until(&mut resumed, "\"b\"").await;
    assert!(
        !text.contains("\"a\""),
        "resumes after the last seen event: {text}"
    );
    drop(resumed);
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test]
async fn a_publish_while_the_shared_log_is_unreachable_is_a_retryable_503() {
    let faulty = std::sync::Arc::new(profilestore::faults::FaultyPlugin::new(
        super::support::world::memory(),
    ));
    let nodes = profilestore::testing::spawn_test_cluster_on(faulty.clone(), 2).await;
    faulty.fail_all(true);
    let answer = call(
        &nodes[0],
        Method::POST,
        &topic_path("t"),
        json!({"message": "lost"}),
    )
    .await;
    faulty.fail_all(false);
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        answer.body
    );
    let text = String::from_utf8_lossy(&answer.body).to_string();
    assert!(
        text.contains("message log") && text.contains("retry"),
        "{text}"
    );
    publish(&nodes[0], "t", "after").await;
    for node in nodes {
        node.shutdown().await;
    }
}
