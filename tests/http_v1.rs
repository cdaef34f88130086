//! Black-box tests of the Open Cloud v1 DataStore API and the messaging
//! endpoints, over real loopback sockets.

mod support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hyper::{Method, StatusCode};
use md5::{Digest, Md5};
use profilestore::testing::spawn_test_server;
use serde_json::{json, Value};
use support::send;

const PREFIX: &str = "/datastores/v1/universes/1/standard-datastores";

/// URL, extra headers, body, expected `datastoreErrorCode`.
type BadCase<'a> = (String, Vec<(&'a str, &'a str)>, Vec<u8>, &'a str);

fn entry_url(base: &str, key: &str, extra: &str) -> String {
    format!("{base}{PREFIX}/datastore/entries/entry?datastoreName=Players&entryKey={key}{extra}")
}

#[tokio::test]
async fn requests_without_the_api_key_are_refused_in_the_gateway_shape() {
    let server = spawn_test_server().await;
    for headers in [vec![], vec![("x-api-key", "wrong")]] {
        let a = send(
            Method::GET,
            &format!("{}{PREFIX}", server.url),
            &headers,
            "",
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            a.json(),
            json!({"errors": [{"code": 0, "message": "Invalid API Key"}]})
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn set_get_delete_with_headers_and_checksums() {
    let server = spawn_test_server().await;
    let key = [("x-api-key", server.api_key.as_str())];
    let body = r#"{"Coins":10,"Items":["a"]}"#;
    let md5 = STANDARD.encode(Md5::digest(body.as_bytes()));
    let set = send(
        Method::POST,
        &entry_url(&server.url, "Player_1", ""),
        &[
            key[0],
            ("content-type", "application/json"),
            ("content-md5", &md5),
            ("roblox-entry-userids", "[269323]"),
            ("roblox-entry-attributes", r#"{"source":"test"}"#),
        ],
        body,
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    let info = set.json();
    let version = info["version"].as_str().expect("version").to_owned();
    assert_eq!(info["deleted"], false);
    assert_eq!(info["contentLength"], body.len());

    let got = send(
        Method::GET,
        &entry_url(&server.url, "Player_1", ""),
        &key,
        "",
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json(), json!({"Coins": 10, "Items": ["a"]}));
    assert_eq!(
        got.header("content-md5"),
        Some(STANDARD.encode(Md5::digest(&got.body)).as_str())
    );
    assert_eq!(got.header("roblox-entry-version"), Some(version.as_str()));
    assert_eq!(got.header("roblox-entry-userids"), Some("[269323]"));
    assert_eq!(
        got.header("roblox-entry-attributes"),
        Some(r#"{"source":"test"}"#)
    );
    let created = got.header("roblox-entry-created-time").expect("created");
    assert!(
        created.ends_with("+00:00") && created.len() == "2022-02-02T23:30:06.5388799+00:00".len(),
        "{created}"
    );
    assert!(got.header("x-request-id").is_some());

    let deleted = send(
        Method::DELETE,
        &entry_url(&server.url, "Player_1", ""),
        &key,
        "",
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = send(
        Method::GET,
        &entry_url(&server.url, "Player_1", ""),
        &key,
        "",
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.json()["errorDetails"][0]["datastoreErrorCode"],
        "EntryNotFound"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn preconditions_answer_412_with_the_current_entry() {
    let server = spawn_test_server().await;
    let key = [("x-api-key", server.api_key.as_str())];
    let first = send(
        Method::POST,
        &entry_url(&server.url, "k", "&exclusiveCreate=True"),
        &key,
        "1",
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    let version = first.json()["version"]
        .as_str()
        .expect("version")
        .to_owned();
    let again = send(
        Method::POST,
        &entry_url(&server.url, "k", "&exclusiveCreate=true"),
        &key,
        "2",
    )
    .await;
    assert_eq!(again.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(again.header("roblox-entry-version"), Some(version.as_str()));
    let matched = send(
        Method::POST,
        &entry_url(&server.url, "k", &format!("&matchVersion={version}")),
        &key,
        "3",
    )
    .await;
    assert_eq!(matched.status, StatusCode::OK);
    let stale = send(
        Method::POST,
        &entry_url(&server.url, "k", &format!("&matchVersion={version}")),
        &key,
        "4",
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let both = send(
        Method::POST,
        &entry_url(
            &server.url,
            "k",
            &format!("&matchVersion={version}&exclusiveCreate=true"),
        ),
        &key,
        "5",
    )
    .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        both.json()["errorDetails"][0]["datastoreErrorCode"],
        "ExclusiveCreateAndMatchVersionCannotBeSet"
    );
    let got = send(Method::GET, &entry_url(&server.url, "k", ""), &key, "").await;
    assert_eq!(got.json(), json!(3), "refused writes changed nothing");
    server.shutdown().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let server = spawn_test_server().await;
    let key = [("x-api-key", server.api_key.as_str())];
    let cases: Vec<BadCase<'_>> = vec![
        (
            entry_url(&server.url, "k", ""),
            vec![("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")],
            b"1".to_vec(),
            "ChecksumMismatch",
        ),
        (
            entry_url(&server.url, "k", ""),
            vec![],
            b"{not json".to_vec(),
            "ContentNotJson",
        ),
        (
            entry_url(&server.url, "k", ""),
            vec![],
            b"[NaN]".to_vec(),
            "ContentNotJson",
        ),
        (
            entry_url(&server.url, "k", ""),
            vec![],
            b"\"\xff\"".to_vec(),
            "ContentNotJson",
        ),
        (
            entry_url(&server.url, &"k".repeat(51), ""),
            vec![],
            b"1".to_vec(),
            "InvalidEntryKey",
        ),
        (
            entry_url(&server.url, "k", ""),
            vec![("roblox-entry-userids", "[1,2,3,4,5]")],
            b"1".to_vec(),
            "InvalidUserIds",
        ),
        (
            entry_url(&server.url, "k", ""),
            vec![("roblox-entry-attributes", "[1]")],
            b"1".to_vec(),
            "InvalidAttributes",
        ),
    ];
    for (url, extra, body, code) in cases {
        let mut headers = key.to_vec();
        headers.extend(extra);
        let a = send(Method::POST, &url, &headers, body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{url}: {:?}", a.body);
        assert_eq!(
            a.json()["errorDetails"][0]["datastoreErrorCode"],
            code,
            "{url}"
        );
    }
    let huge = vec![b' '; 5 * 1024 * 1024];
    let a = send(Method::POST, &entry_url(&server.url, "k", ""), &key, huge).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    let keys = send(
        Method::GET,
        &format!(
            "{}{PREFIX}/datastore/entries?datastoreName=Players",
            server.url
        ),
        &key,
        "",
    )
    .await;
    assert_eq!(keys.json()["keys"], json!([]), "nothing was stored");
    let bad_cursor = send(
        Method::GET,
        &format!(
            "{}{PREFIX}/datastore/entries?datastoreName=Players&cursor=garbage",
            server.url
        ),
        &key,
        "",
    )
    .await;
    assert_eq!(bad_cursor.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_cursor.json()["errorDetails"][0]["datastoreErrorCode"],
        "InvalidCursor"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn listings_increment_and_versions() {
    let server = spawn_test_server().await;
    let key = [("x-api-key", server.api_key.as_str())];
    for (k, scope) in [("a", "global"), ("b", "global"), ("c", "houses")] {
        let url = format!("{}&scope={scope}", entry_url(&server.url, k, ""));
        assert_eq!(
            send(Method::POST, &url, &key, "1").await.status,
            StatusCode::OK
        );
    }
    let list = |q: &str| {
        format!(
            "{}{PREFIX}/datastore/entries?datastoreName=Players{q}",
            server.url
        )
    };
    let global = send(Method::GET, &list("&limit=1"), &key, "").await.json();
    assert_eq!(global["keys"], json!([{"scope": "global", "key": "a"}]));
    let cursor = global["nextPageCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let next = send(
        Method::GET,
        &list(&format!("&limit=1&cursor={cursor}")),
        &key,
        "",
    )
    .await
    .json();
    assert_eq!(next["keys"], json!([{"scope": "global", "key": "b"}]));
    let all = send(Method::GET, &list("&AllScopes=true"), &key, "")
        .await
        .json();
    assert_eq!(all["keys"].as_array().expect("keys").len(), 3);

    let stores = send(Method::GET, &format!("{}{PREFIX}", server.url), &key, "")
        .await
        .json();
    assert_eq!(stores["datastores"][0]["name"], "Players");

    let inc_url = format!("{}{PREFIX}/datastore/entries/entry/increment?datastoreName=Players&entryKey=n&incrementBy=5", server.url);
    let inc = send(Method::POST, &inc_url, &key, "").await;
    assert_eq!(inc.status, StatusCode::OK);
    assert_eq!(inc.json(), json!(5));
    let not_number = format!(
        "{}{PREFIX}/datastore/entries/entry/increment?datastoreName=Players&entryKey=a",
        server.url
    );
    send(
        Method::POST,
        &entry_url(&server.url, "a", ""),
        &key,
        "\"text\"",
    )
    .await;
    let bad = send(Method::POST, &not_number, &key, "").await;
    assert_eq!(
        bad.json()["errorDetails"][0]["datastoreErrorCode"],
        "ExistingValueNotNumeric"
    );

    let versions_url = format!(
        "{}{PREFIX}/datastore/entries/entry/versions?datastoreName=Players&entryKey=a",
        server.url
    );
    let versions = send(Method::GET, &versions_url, &key, "").await.json();
    let items = versions["versions"].as_array().expect("versions").clone();
    assert_eq!(items.len(), 2);
    let desc = send(
        Method::GET,
        &format!("{versions_url}&sortOrder=Descending"),
        &key,
        "",
    )
    .await
    .json();
    assert_eq!(desc["versions"][0]["version"], items[1]["version"]);
    let first = items[0]["version"].as_str().expect("version");
    let version_url = format!(
        "{}{PREFIX}/datastore/entries/entry/versions/version?datastoreName=Players&entryKey=a&versionId={first}",
        server.url
    );
    let old = send(Method::GET, &version_url, &key, "").await;
    assert_eq!(old.json(), json!(1));
    let future = send(
        Method::GET,
        &format!("{versions_url}&startTime=2999-01-01T00:00:00Z"),
        &key,
        "",
    )
    .await
    .json();
    assert_eq!(future["versions"], json!([]));
    server.shutdown().await;
}

#[tokio::test]
async fn publish_and_long_poll_messages() {
    let server = spawn_test_server().await;
    let key = [("x-api-key", server.api_key.as_str())];
    let topic_url = format!(
        "{}/messaging-service/v1/universes/1/topics/PS_test",
        server.url
    );
    let start = send(
        Method::GET,
        &format!("{topic_url}/messages?timeout=0"),
        &key,
        "",
    )
    .await
    .json();
    let cursor = start["cursor"].as_str().expect("cursor").to_owned();
    assert_eq!(start["messages"], json!([]));

    let waiter = {
        let url = format!("{topic_url}/messages?cursor={cursor}&timeout=20");
        let api_key = server.api_key.clone();
        tokio::spawn(async move {
            send(Method::GET, &url, &[("x-api-key", api_key.as_str())], "").await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let published = send(Method::POST, &topic_url, &key, r#"{"message":"hello"}"#).await;
    assert_eq!(published.status, StatusCode::OK);
    let got = waiter.await.expect("task").json();
    assert_eq!(got["messages"][0]["data"], "hello");
    assert!(got["messages"][0]["sent"].as_i64().expect("sent") > 1_600_000_000);

    // Extension: any JSON value; and v2's :publishMessage.
    send(
        Method::POST,
        &topic_url,
        &key,
        r#"{"message":{"LoadCount":3}}"#,
    )
    .await;
    let v2 = send(
        Method::POST,
        &format!("{}/cloud/v2/universes/1:publishMessage", server.url),
        &key,
        r#"{"topic":"PS_test","message":"v2"}"#,
    )
    .await;
    assert_eq!(v2.status, StatusCode::OK);
    let next = got["cursor"].as_str().expect("cursor");
    let rest = send(
        Method::GET,
        &format!("{topic_url}/messages?cursor={next}&timeout=0"),
        &key,
        "",
    )
    .await
    .json();
    let data: Vec<Value> = rest["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["data"].clone())
        .collect();
    assert_eq!(data, vec![json!({"LoadCount": 3}), json!("v2")]);

    let too_big = json!({"message": "x".repeat(1100)}).to_string();
    assert_eq!(
        send(Method::POST, &topic_url, &key, too_big).await.status,
        StatusCode::BAD_REQUEST
    );
    let long_topic = format!(
        "{}/messaging-service/v1/universes/1/topics/{}",
        server.url,
        "t".repeat(81)
    );
    assert_eq!(
        send(Method::POST, &long_topic, &key, r#"{"message":"x"}"#)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_lets_a_long_poll_end_cleanly() {
    let limits = profilestore::http::Limits::default();
    let server = profilestore::testing::spawn_test_server_with(limits.clone()).await;
    let url = format!(
        "{}/messaging-service/v1/universes/1/topics/t/messages?cursor=0&timeout=60",
        server.url
    );
    let key = server.api_key.clone();
    let poll =
        tokio::spawn(
            async move { send(Method::GET, &url, &[("x-api-key", key.as_str())], "").await },
        );
    // Shut down once the poll waits (it holds a long-poll slot); a sleep
    // could shut the server down before the poll even connected.
    support::wait_until("the poll waits", std::time::Duration::from_secs(30), || {
        limits.busy_long_polls() == 1
    })
    .await;
    let started = std::time::Instant::now();
    server.shutdown().await;
    let answer = poll.await.expect("task");
    assert_eq!(answer.status, StatusCode::OK);
    // Long before the poll's own 60 s, however loaded the machine.
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
}
