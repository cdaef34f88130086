//! Graceful shutdown: once the server stops accepting, a request already
//! in flight (its body still arriving) is served to the end and its write
//! is kept.

use std::time::Duration;

use profilestore::testing::spawn_test_server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_request_in_flight_at_shutdown_is_served_and_kept() {
    let server = spawn_test_server().await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let datastores = server.datastores.clone();
    let body = br#"{"coins":5}"#;
    let mut conn = TcpStream::connect(&addr).await.expect("connect");
    let head = format!(
        "POST /datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=s&entryKey=k HTTP/1.1\r\n\
         host: x\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        server.api_key,
        body.len()
    );
    conn.write_all(head.as_bytes()).await.expect("head");
    conn.write_all(&body[..4]).await.expect("half a body");
    let stopping = tokio::spawn(server.shutdown());
    // Stopped accepting: new connections are refused (the listener is gone).
    while TcpStream::connect(&addr).await.is_ok() {
        tokio::task::yield_now().await;
    }
    assert!(!stopping.is_finished(), "shutdown waits for the request");
    conn.write_all(&body[4..]).await.expect("rest of the body");
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.expect("answer");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    tokio::time::timeout(Duration::from_secs(30), stopping)
        .await
        .expect("shutdown ends once the request is served")
        .expect("task");
    let ds = datastores.data_store(1, "s", "global").expect("store");
    let entry = ds.get("k").await.expect("read").expect("kept");
    assert_eq!(entry.value, serde_json::json!({"coins": 5}));
}
