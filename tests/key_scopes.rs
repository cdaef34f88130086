//! API keys with scopes (`[[server.keys]]`): a scoped key may do what its
//! scopes grant and nothing else (403 in its family's body style: v1's
//! `INSUFFICIENT_SCOPE`, v2's `PERMISSION_DENIED`); an unknown key is a
//! 401; a plain `api_keys` key still does everything.

mod support;

use hyper::{Method, StatusCode};
use profilestore::http::scopes::ScopedKey;
use profilestore::http::Limits;
use serde_json::{json, Value};
use support::net::NetServer;
use support::{send, Answer};

const READER: &str = "reader-key";
const PUBLISHER: &str = "publisher-key";
const EMULATOR: &str = "emulator-key";
const GAME_SERVER: &str = "game-server-key";

fn v1_entry(universe: u64, store: &str) -> String {
    format!(
        "/datastores/v1/universes/{universe}/standard-datastores/datastore/entries/entry\
         ?datastoreName={store}&entryKey=u1"
    )
}

async fn server() -> NetServer {
    NetServer::start(Limits::default(), None, |state| {
        state.scoped_keys = vec![
            ScopedKey::new(
                "leaderboard-reader",
                READER,
                &["universe:1/datastore:Leaderboard:read"],
            ),
            ScopedKey::new("publisher", PUBLISHER, &["universe:1/messaging:publish"]),
            ScopedKey::new("controls", EMULATOR, &["emulator"]),
            ScopedKey::new("game-server", GAME_SERVER, &["universe:*/session:write"]),
        ]
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("scopes");
    })
    .await
}

async fn call(s: &NetServer, key: &str, method: Method, path: &str, body: Value) -> Answer {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let headers = [("x-api-key", key), ("content-type", "application/json")];
    send(method, &format!("{}{path}", s.url), &headers, body).await
}

fn assert_scope_refusal_v1(a: &Answer, needed: &str) {
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{:?}", a.body);
    let body = a.json();
    assert_eq!(body["error"], "INSUFFICIENT_SCOPE", "{body}");
    assert_eq!(
        body["errorDetails"][0]["datastoreErrorCode"],
        "InsufficientScope"
    );
    let message = body["message"].as_str().expect("message");
    assert!(message.contains(needed), "{message}");
    assert!(!message.contains("-key"), "the key is a secret: {message}");
}

fn assert_scope_refusal_v2(a: &Answer, needed: &str) {
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{:?}", a.body);
    let body = a.json();
    assert_eq!(body["code"], "PERMISSION_DENIED", "{body}");
    assert!(
        body["message"].as_str().expect("message").contains(needed),
        "{body}"
    );
}

#[tokio::test]
async fn a_read_scope_on_one_store_reads_it_and_nothing_else() {
    let s = server().await;
    for store in ["Leaderboard", "Other"] {
        let a = call(&s, &s.key, Method::POST, &v1_entry(1, store), json!(1)).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    }
    let a = call(
        &s,
        READER,
        Method::GET,
        &v1_entry(1, "Leaderboard"),
        Value::Null,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let v2 = "/cloud/v2/universes/1/data-stores/Leaderboard/entries/u1";
    let a = call(&s, READER, Method::GET, v2, Value::Null).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);

    let a = call(
        &s,
        READER,
        Method::POST,
        &v1_entry(1, "Leaderboard"),
        json!(2),
    )
    .await;
    assert_scope_refusal_v1(&a, "universe:1/datastore:Leaderboard:write");
    let a = call(&s, READER, Method::PATCH, v2, json!({"value": 2})).await;
    assert_scope_refusal_v2(&a, "universe:1/datastore:Leaderboard:write");
    let a = call(&s, READER, Method::GET, &v1_entry(1, "Other"), Value::Null).await;
    assert_scope_refusal_v1(&a, "universe:1/datastore:Other:read");
    let a = call(
        &s,
        READER,
        Method::GET,
        &v1_entry(2, "Leaderboard"),
        Value::Null,
    )
    .await;
    assert_scope_refusal_v1(&a, "universe:2/datastore:Leaderboard:read");
    let list = "/datastores/v1/universes/1/standard-datastores";
    let a = call(&s, READER, Method::GET, list, Value::Null).await;
    assert_scope_refusal_v1(&a, "universe:1/datastore:*:read");
    let ordered = "/cloud/v2/universes/1/ordered-data-stores/Leaderboard/scopes/global/entries";
    let a = call(&s, READER, Method::GET, ordered, Value::Null).await;
    assert_scope_refusal_v2(&a, "universe:1/ordered-datastore:Leaderboard:read");
    // The refused write changed nothing.
    let a = call(
        &s,
        &s.key,
        Method::GET,
        &v1_entry(1, "Leaderboard"),
        Value::Null,
    )
    .await;
    assert_eq!(a.json(), json!(1));
    s.shutdown().await;
}

#[tokio::test]
async fn unknown_and_missing_keys_are_401() {
    let s = server().await;
    let a = call(
        &s,
        "not-a-key",
        Method::GET,
        &v1_entry(1, "Leaderboard"),
        Value::Null,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = send(
        Method::GET,
        &format!("{}{}", s.url, v1_entry(1, "Leaderboard")),
        &[],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    s.shutdown().await;
}

#[tokio::test]
async fn a_messaging_scope_publishes_and_does_nothing_else() {
    let s = server().await;
    let v1 = "/messaging-service/v1/universes/1/topics/news";
    let a = call(&s, PUBLISHER, Method::POST, v1, json!({"message": "hi"})).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let v2 = "/cloud/v2/universes/1:publishMessage";
    let a = call(
        &s,
        PUBLISHER,
        Method::POST,
        v2,
        json!({"topic": "news", "message": "hi"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = call(
        &s,
        PUBLISHER,
        Method::POST,
        "/cloud/v2/universes/2:publishMessage",
        json!({"topic": "news", "message": "hi"}),
    )
    .await;
    assert_scope_refusal_v2(&a, "universe:2/messaging:publish");
    let poll = "/messaging-service/v1/universes/1/topics/news/messages?timeout=0";
    let a = call(&s, PUBLISHER, Method::GET, poll, Value::Null).await;
    assert_scope_refusal_v1(&a, "universe:1/messaging:subscribe");
    let a = call(
        &s,
        PUBLISHER,
        Method::GET,
        &v1_entry(1, "Leaderboard"),
        Value::Null,
    )
    .await;
    assert_scope_refusal_v1(&a, "universe:1/datastore:Leaderboard:read");
    s.shutdown().await;
}

#[tokio::test]
async fn the_emulator_controls_need_the_emulator_scope() {
    let s = server().await;
    let a = call(&s, EMULATOR, Method::GET, "/emulator/v1/clock", Value::Null).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    for key in [READER, PUBLISHER, GAME_SERVER] {
        let a = call(&s, key, Method::GET, "/emulator/v1/clock", Value::Null).await;
        assert_scope_refusal_v2(&a, "emulator");
    }
    let a = call(
        &s,
        EMULATOR,
        Method::GET,
        &v1_entry(1, "Leaderboard"),
        Value::Null,
    )
    .await;
    assert_scope_refusal_v1(&a, "datastore:Leaderboard:read");
    s.shutdown().await;
}

#[tokio::test]
async fn the_session_api_needs_the_session_scope() {
    let s = server().await;
    let path = "/session-api/v1/universes/5/stores/Profiles/u1";
    let a = call(&s, GAME_SERVER, Method::GET, path, Value::Null).await;
    assert_ne!(a.status, StatusCode::FORBIDDEN, "{:?}", a.body);
    assert_ne!(a.status, StatusCode::UNAUTHORIZED);
    let a = call(&s, READER, Method::GET, path, Value::Null).await;
    assert_scope_refusal_v2(&a, "universe:5/session:write");
    // A game server key reads no data store directly.
    let a = call(
        &s,
        GAME_SERVER,
        Method::GET,
        &v1_entry(5, "Profiles"),
        Value::Null,
    )
    .await;
    assert_scope_refusal_v1(&a, "universe:5/datastore:Profiles:read");
    s.shutdown().await;
}

#[tokio::test]
async fn a_plain_api_key_still_does_everything() {
    let s = server().await;
    let key = s.key.clone();
    let a = call(&s, &key, Method::POST, &v1_entry(9, "Any"), json!(1)).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = call(
        &s,
        &key,
        Method::GET,
        "/datastores/v1/universes/9/standard-datastores",
        Value::Null,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = call(
        &s,
        &key,
        Method::POST,
        "/messaging-service/v1/universes/9/topics/t",
        json!({"message": "m"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = call(&s, &key, Method::GET, "/emulator/v1/clock", Value::Null).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = call(
        &s,
        &key,
        Method::GET,
        "/session-api/v1/universes/9/stores/P/u1",
        Value::Null,
    )
    .await;
    assert!(a.status != StatusCode::FORBIDDEN && a.status != StatusCode::UNAUTHORIZED);
    s.shutdown().await;
}

#[test]
fn config_keys_read_key_env_and_refuse_bad_scopes() {
    use profilestore::config::Config;
    use std::path::Path;
    let var = "PROFILESTORE_TEST_SCOPED_KEY_7F3A";
    let text = format!(
        "[[server.keys]]\nname = \"tool\"\nkey_env = \"{var}\"\n\
         scopes = [\"universe:123/datastore:Leaderboard:read\", \"emulator\"]\n"
    );
    let config = Config::from_toml(&text, Path::new("config.toml")).expect("valid");
    assert!(config.takes_keys());
    let e = config.scoped_keys().expect_err("unset variable");
    assert!(e.to_string().contains(var), "{e}");
    // SAFETY of the test: the variable is this test's own.
    std::env::set_var(var, "from-env");
    let keys = config.scoped_keys().expect("keys");
    assert_eq!(keys[0].name, "tool");
    std::env::remove_var(var);
    for (bad, expect) in [
        (
            "name = \"t\"\nkey = \"k\"\nscopes = [\"universe:1/datastore:S:delete\"]",
            "universe:1/datastore:S:delete",
        ),
        (
            "name = \"t\"\nscopes = []",
            "exactly one of `key` and `key_env`",
        ),
        (
            "name = \"t\"\nkey = \"k\"\nkey_env = \"V\"\nscopes = []",
            "exactly one",
        ),
        ("key = \"k\"\nscopes = []", "name"),
    ] {
        let text = format!("[[server.keys]]\n{bad}\n");
        let e = Config::from_toml(&text, Path::new("config.toml")).expect_err(bad);
        assert!(e.to_string().contains(expect), "{e}");
    }
}

#[test]
fn serve_takes_scoped_keys_from_config_toml() {
    use support::process::ServeProcess;
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[[server.keys]]\nname = \"reader\"\nkey = \"r1\"\n\
         scopes = [\"universe:1/datastore:Leaderboard:read\"]\n",
    )
    .expect("write");
    let server = ServeProcess::builder(dir.path())
        .storage("memory")
        .arg("--config")
        .arg(&config)
        .start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let get = format!("{}{}", server.url, v1_entry(1, "Leaderboard"));
        let a = send(Method::GET, &get, &[("x-api-key", "r1")], "").await;
        assert_eq!(
            a.status,
            StatusCode::NOT_FOUND,
            "read allowed: {:?}",
            a.body
        );
        let a = send(Method::POST, &get, &[("x-api-key", "r1")], "1").await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        let a = send(Method::GET, &get, &[], "").await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "scoped keys alone require a key"
        );
    });
    assert!(server.stop().success());
}
