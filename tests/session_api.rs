//! The session API over real sockets: sessions with fences, handoffs
//! between game servers, messages with `processed`, events by long-poll
//! and SSE, read-only access, and the final save on shutdown.

mod support;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::{json, Value};
use support::{send, Answer};

struct Api<'a> {
    server: &'a TestServer,
}

impl Api<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/session-api/v1/universes/1/{path}", self.server.url)
    }

    async fn call(&self, method: Method, path: &str, body: Value) -> Answer {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        send(
            method,
            &self.url(path),
            &[("x-api-key", &self.server.api_key)],
            body,
        )
        .await
    }

    async fn start(&self, job: &str, key: &str, extra: Value) -> Answer {
        let mut body =
            json!({"store": "PlayerData", "key": key, "template": {"Coins": 0}, "placeId": 7});
        if let (Some(b), Value::Object(x)) = (body.as_object_mut(), extra) {
            b.extend(x);
        }
        self.call(Method::POST, &format!("servers/{job}/sessions"), body)
            .await
    }

    async fn stored(&self, key: &str) -> Value {
        let ds = self
            .server
            .datastores
            .data_store(1, "PlayerData", "global")
            .expect("ds");
        ds.get(key).await.expect("get").expect("stored").value
    }

    async fn events(&self, job: &str, cursor: &str, timeout: u32) -> (Vec<Value>, String) {
        let a = self
            .call(
                Method::GET,
                &format!("servers/{job}/events?cursor={cursor}&timeout={timeout}"),
                Value::Null,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        let v = a.json();
        (
            v["events"].as_array().expect("events").clone(),
            v["cursor"].as_str().expect("cursor").to_owned(),
        )
    }
}

#[tokio::test]
async fn a_session_is_fenced_by_its_load_count() {
    let server = spawn_test_server().await;
    let api = Api { server: &server };
    let started = api.start("job-a", "p1", json!({})).await;
    assert_eq!(started.status, StatusCode::OK);
    let profile = started.json()["profile"].clone();
    assert_eq!(profile["data"], json!({"Coins": 0}), "the template");
    let count = profile["loadCount"].as_u64().expect("loadCount");

    let patched = api
        .call(
            Method::PATCH,
            &format!("servers/job-a/sessions/PlayerData/p1?loadCount={count}"),
            json!({"data": {"Coins": 50}, "userIds": [77], "metadata": {"Tier": "gold"}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    let saved = api
        .call(
            Method::POST,
            &format!("servers/job-a/sessions/PlayerData/p1:save?loadCount={count}"),
            Value::Null,
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    let doc = api.stored("p1").await;
    assert_eq!(doc["Data"], json!({"Coins": 50}));
    assert_eq!(doc["UserIds"], json!([77]));
    assert_eq!(doc["RobloxMetaData"], json!({"Tier": "gold"}));

    let stale = api
        .call(
            Method::PATCH,
            &format!(
                "servers/job-a/sessions/PlayerData/p1?loadCount={}",
                count + 5
            ),
            json!({"data": {"Coins": -1}}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.json()["message"]
        .as_str()
        .expect("message")
        .contains(&format!(
            "load count {} is not the active session",
            count + 5
        )));
    let got = api
        .call(
            Method::GET,
            "servers/job-a/sessions/PlayerData/p1",
            Value::Null,
        )
        .await;
    assert_eq!(
        got.json()["data"],
        json!({"Coins": 50}),
        "the stale write changed nothing"
    );

    let ended = api
        .call(
            Method::POST,
            &format!("servers/job-a/sessions/PlayerData/p1:end?loadCount={count}"),
            Value::Null,
        )
        .await;
    assert_eq!(ended.json()["active"], false);
    let after = api
        .call(
            Method::PATCH,
            &format!("servers/job-a/sessions/PlayerData/p1?loadCount={count}"),
            json!({"data": {}}),
        )
        .await;
    assert_eq!(
        after.status,
        StatusCode::CONFLICT,
        "an ended session takes no writes"
    );
    assert_eq!(
        api.stored("p1").await["MetaData"]["ActiveSession"],
        Value::Null
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_second_game_server_takes_the_profile_and_the_first_is_told() {
    let server = spawn_test_server().await;
    let api = Api { server: &server };
    let a = api.start("job-a", "p", json!({})).await.json()["profile"].clone();
    let count_a = a["loadCount"].as_u64().expect("count");
    api.call(
        Method::PATCH,
        &format!("servers/job-a/sessions/PlayerData/p?loadCount={count_a}"),
        json!({"data": {"Coins": 9}}),
    )
    .await;
    let b = tokio::time::timeout(
        Duration::from_secs(30),
        api.start("job-b", "p", json!({"timeoutSeconds": 20})),
    )
    .await
    .expect("in time");
    let b = b.json()["profile"].clone();
    assert_eq!(b["data"], json!({"Coins": 9}), "job-a's final save");
    assert!(b["loadCount"].as_u64().expect("count") > count_a);
    let (events, _) = api.events("job-a", "", 0).await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, ["sessionEnding", "sessionEnded"], "{events:?}");
    assert_eq!(events[0]["reason"], "External");
    let stale = api
        .call(
            Method::PATCH,
            &format!("servers/job-a/sessions/PlayerData/p?loadCount={count_a}"),
            json!({"data": {}}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    server.shutdown().await;
}

#[tokio::test]
async fn messages_reach_the_owner_and_leave_once_processed() {
    let server = spawn_test_server().await;
    let api = Api { server: &server };
    let p = api.start("job-a", "p", json!({})).await.json()["profile"].clone();
    let count = p["loadCount"].as_u64().expect("count");
    let (_, cursor) = api.events("job-a", "", 0).await;
    let sent = api
        .call(
            Method::POST,
            "stores/PlayerData/p:message",
            json!({"message": {"Gift": "Hat"}}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{:?}", sent.body);
    let (events, _) = api.events("job-a", &cursor, 20).await;
    let message = events
        .iter()
        .find(|e| e["type"] == "message")
        .expect("a message event");
    assert_eq!(message["message"], json!({"Gift": "Hat"}));
    let index = message["index"].as_u64().expect("index");
    let done = api
        .call(
            Method::POST,
            &format!(
                "servers/job-a/sessions/PlayerData/p/messages/{index}:processed?loadCount={count}"
            ),
            Value::Null,
        )
        .await;
    assert_eq!(done.json()["processed"], true);
    api.call(
        Method::POST,
        &format!("servers/job-a/sessions/PlayerData/p:save?loadCount={count}"),
        Value::Null,
    )
    .await;
    let queue = &api.stored("p").await["GlobalUpdates"][1];
    assert_eq!(
        queue,
        &json!([]),
        "processed messages leave the stored queue"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn events_stream_as_server_sent_events() {
    let server = spawn_test_server().await;
    let api = Api { server: &server };
    let p = api.start("job-a", "p", json!({})).await.json()["profile"].clone();
    let count = p["loadCount"].as_u64().expect("count");
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = Request::get(api.url("servers/job-a/events"))
        .header("x-api-key", &server.api_key)
        .header("accept", "text/event-stream")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let res = client.request(req).await.expect("stream");
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();
    api.call(
        Method::POST,
        &format!("servers/job-a/sessions/PlayerData/p:end?loadCount={count}"),
        Value::Null,
    )
    .await;
    let text =
        support::read_stream_until(&mut body, "event: sessionEnded", Duration::from_secs(10)).await;
    assert!(
        text.contains("event: sessionEnding") && text.contains("\"reason\":\"Manual\""),
        "{text}"
    );
    assert!(
        text.contains("id: 2"),
        "ids resume with Last-Event-ID: {text}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn read_only_get_versions_and_set() {
    let server = spawn_test_server().await;
    let api = Api { server: &server };
    let p = api.start("job-a", "p", json!({})).await.json()["profile"].clone();
    let count = p["loadCount"].as_u64().expect("count");
    api.call(
        Method::PATCH,
        &format!("servers/job-a/sessions/PlayerData/p?loadCount={count}"),
        json!({"data": {"Coins": 3}}),
    )
    .await;
    api.call(
        Method::POST,
        &format!("servers/job-a/sessions/PlayerData/p:end?loadCount={count}"),
        Value::Null,
    )
    .await;
    let got = api
        .call(Method::GET, "stores/PlayerData/p", Value::Null)
        .await;
    assert_eq!(got.json()["data"], json!({"Coins": 3}));
    let versions = api
        .call(
            Method::GET,
            "stores/PlayerData/p/versions?order=descending&limit=2",
            Value::Null,
        )
        .await;
    let versions = versions.json()["versions"]
        .as_array()
        .expect("versions")
        .clone();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["data"], json!({"Coins": 3}));
    let set = api
        .call(
            Method::PUT,
            "stores/PlayerData/p",
            json!({"data": {"Coins": 100}}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    assert_eq!(api.stored("p").await["Data"], json!({"Coins": 100}));
    let missing = api
        .call(Method::GET, "stores/PlayerData/nobody", Value::Null)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_gives_sessions_their_final_save() {
    let server = spawn_test_server().await;
    let datastores = server.datastores.clone();
    let api = Api { server: &server };
    let p = api.start("job-a", "p", json!({})).await.json()["profile"].clone();
    let count = p["loadCount"].as_u64().expect("count");
    let patched = api
        .call(
            Method::PATCH,
            &format!("servers/job-a/sessions/PlayerData/p?loadCount={count}"),
            json!({"data": {"Coins": 42}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    server.shutdown().await;
    let ds = datastores
        .data_store(1, "PlayerData", "global")
        .expect("ds");
    let doc = ds.get("p").await.expect("get").expect("stored").value;
    assert_eq!(
        doc["Data"],
        json!({"Coins": 42}),
        "the acknowledged change was saved"
    );
    assert_eq!(
        doc["MetaData"]["ActiveSession"],
        Value::Null,
        "and the lock released"
    );
}

#[tokio::test]
async fn bad_requests_are_clear_and_change_nothing() {
    let server = spawn_test_server().await;
    let api = Api { server: &server };
    let no_key = api
        .call(
            Method::POST,
            "servers/job-a/sessions",
            json!({"store": "PlayerData"}),
        )
        .await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    assert!(no_key.json()["message"]
        .as_str()
        .expect("message")
        .contains("`key`"));
    let unknown = api
        .call(
            Method::PATCH,
            "servers/nobody/sessions/PlayerData/p?loadCount=1",
            json!({}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let no_count = api
        .call(
            Method::POST,
            "servers/job-a/sessions/PlayerData/p:save",
            Value::Null,
        )
        .await;
    assert!(no_count.status.is_client_error());
    let not_object = api
        .call(Method::POST, "servers/job-a/sessions", json!(null))
        .await;
    assert!(not_object.status.is_client_error());
    let ds = server
        .datastores
        .data_store(1, "PlayerData", "global")
        .expect("ds");
    assert_eq!(ds.get("p").await.expect("get"), None);
    server.shutdown().await;
}

/// The message of a 409 answer, checked to be the session API's conflict.
fn conflict_message(a: &Answer) -> String {
    assert_eq!(a.status, StatusCode::CONFLICT, "{:?}", a.body);
    assert_eq!(a.json()["code"], "ABORTED", "{:?}", a.body);
    a.json()["message"].as_str().expect("message").to_owned()
}

#[tokio::test]
async fn a_fence_with_no_active_session_says_so_and_what_to_do() {
    let server = spawn_test_server().await;
    let api = Api { server: &server };
    // Never started here: the game server exists, the profile has no session.
    api.start("job-a", "other", json!({})).await;
    let never = api
        .call(
            Method::PATCH,
            "servers/job-a/sessions/PlayerData/p?loadCount=1",
            json!({"data": {"Coins": 1}}),
        )
        .await;
    assert_eq!(
        conflict_message(&never),
        "no session of `p` in `PlayerData` is active for this game server, so load count 1 \
         names none: the session ended (released, taken over by another game server, or its \
         lease expired) or was never started here; nothing was written: start a new session"
    );

    // Ended: the same message, never "the active session's (0)".
    let count = api.start("job-a", "p", json!({})).await.json()["profile"]["loadCount"]
        .as_u64()
        .expect("count");
    api.call(
        Method::POST,
        &format!("servers/job-a/sessions/PlayerData/p:end?loadCount={count}"),
        Value::Null,
    )
    .await;
    for (method, path) in [
        (
            Method::PATCH,
            format!("servers/job-a/sessions/PlayerData/p?loadCount={count}"),
        ),
        (
            Method::POST,
            format!("servers/job-a/sessions/PlayerData/p:save?loadCount={count}"),
        ),
        (
            Method::POST,
            format!("servers/job-a/sessions/PlayerData/p:end?loadCount={count}"),
        ),
    ] {
        let message = conflict_message(&api.call(method, &path, json!({"data": {}})).await);
        assert!(
            message.starts_with(&format!(
                "no session of `p` in `PlayerData` is active for this game server, so load count {count} names none"
            )),
            "{path}: {message}"
        );
        assert!(message.ends_with("start a new session"), "{message}");
        assert!(!message.contains("(0)"), "{message}");
    }

    // Taken over by another game server: job-a has none left, and says so.
    let a = api.start("job-a", "q", json!({})).await.json()["profile"]["loadCount"]
        .as_u64()
        .expect("count");
    tokio::time::timeout(
        Duration::from_secs(30),
        api.start("job-b", "q", json!({"timeoutSeconds": 20})),
    )
    .await
    .expect("in time");
    let taken = conflict_message(
        &api.call(
            Method::PATCH,
            &format!("servers/job-a/sessions/PlayerData/q?loadCount={a}"),
            json!({"data": {}}),
        )
        .await,
    );
    assert!(
        taken.starts_with(&format!(
            "no session of `q` in `PlayerData` is active for this game server, so load count {a}"
        )),
        "{taken}"
    );
    assert!(
        taken.contains("taken over by another game server"),
        "{taken}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_fence_naming_another_session_says_which_holds_it() {
    let server = spawn_test_server().await;
    let api = Api { server: &server };
    let first = api.start("job-a", "p", json!({})).await.json()["profile"]["loadCount"]
        .as_u64()
        .expect("count");
    api.call(
        Method::POST,
        &format!("servers/job-a/sessions/PlayerData/p:end?loadCount={first}"),
        Value::Null,
    )
    .await;
    let second = api.start("job-a", "p", json!({})).await.json()["profile"]["loadCount"]
        .as_u64()
        .expect("count");
    assert!(second > first);
    let old = api
        .call(
            Method::PATCH,
            &format!("servers/job-a/sessions/PlayerData/p?loadCount={first}"),
            json!({"data": {"Coins": -1}}),
        )
        .await;
    assert_eq!(
        conflict_message(&old),
        format!(
            "load count {first} is not the active session of `p` in `PlayerData`: another \
             session of this game server (load count {second}) holds it, so yours was taken \
             over; nothing was written: use load count {second}, or end that session and \
             start again"
        )
    );
    let got = api
        .call(
            Method::GET,
            "servers/job-a/sessions/PlayerData/p",
            Value::Null,
        )
        .await;
    assert_eq!(got.json()["loadCount"], second);
    assert_eq!(
        got.json()["data"],
        json!({"Coins": 0}),
        "nothing was written"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_key_over_50_bytes_is_refused_with_the_unit() {
    let server = spawn_test_server().await;
    let api = Api { server: &server };
    let long = api.start("job-a", &"é".repeat(30), json!({})).await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST, "{:?}", long.body);
    assert_eq!(
        long.json()["message"],
        "102: Key name exceeds the 50 character limit (a key is at most 50 bytes of UTF-8; \
         this one is 60 bytes in 30 characters)."
    );
    let at = api.start("job-a", &"é".repeat(25), json!({})).await;
    assert_eq!(at.status, StatusCode::OK, "50 bytes fit: {:?}", at.body);
    server.shutdown().await;
}
