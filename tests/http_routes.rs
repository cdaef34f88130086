//! Route tables: every family's 405 carries `Allow` (from the table) and
//! its own error body shape; custom `:verb` methods; canonical paths.

mod support;

use hyper::{Method, StatusCode};
use profilestore::testing::spawn_test_server;
use serde_json::json;
use support::send;

#[tokio::test]
async fn method_not_allowed_names_the_route_methods_in_allow() {
    let server = spawn_test_server().await;
    let key = [("x-api-key", server.api_key.as_str())];
    let u = &server.url;
    let v1 = format!("{u}/datastores/v1/universes/1/standard-datastores");
    let v2 = format!("{u}/cloud/v2/universes/1/data-stores");
    let sapi = format!("{u}/session-api/v1/universes/1");
    let cases = [
        // (method, url, Allow, body shape: v1 has `error`, v2 `code`)
        (
            Method::PUT,
            format!("{v1}/datastore/entries/entry?datastoreName=s&entryKey=k"),
            "GET, POST, DELETE",
            "error",
        ),
        (
            Method::GET,
            format!("{v1}/datastore/entries/entry/increment"),
            "POST",
            "error",
        ),
        (Method::PATCH, v1.clone(), "GET", "error"),
        (
            Method::GET,
            format!("{u}/messaging-service/v1/universes/1/topics/t"),
            "POST",
            "error",
        ),
        (
            Method::POST,
            format!("{u}/messaging-service/v1/universes/1/topics/t/messages"),
            "GET",
            "error",
        ),
        (Method::PUT, v2.clone(), "GET", "code"),
        (
            Method::DELETE,
            format!("{v2}/s/entries"),
            "GET, POST",
            "code",
        ),
        (
            Method::POST,
            format!("{v2}/s/entries/k"),
            "GET, PATCH, DELETE",
            "code",
        ),
        (
            // `k:increment` is also a plain id: its methods are the plain ones.
            Method::PUT,
            format!("{v2}/s/scopes/x/entries/k:increment"),
            "GET, PATCH, DELETE",
            "code",
        ),
        (
            Method::GET,
            format!("{u}/cloud/v2/universes/1:publishMessage"),
            "POST",
            "code",
        ),
        (
            Method::GET,
            format!("{sapi}/servers/j"),
            "POST, DELETE",
            "code",
        ),
        (
            Method::DELETE,
            format!("{sapi}/servers/j/sessions/p/k"),
            "GET, PATCH",
            "code",
        ),
        (
            Method::DELETE,
            format!("{sapi}/servers/j/sessions/p/k:save"),
            "POST",
            "code",
        ),
        (
            Method::GET,
            format!("{sapi}/servers/j/sessions/p/k/messages/1:processed"),
            "POST",
            "code",
        ),
        (
            Method::DELETE,
            format!("{sapi}/stores/p/k"),
            "GET, PUT",
            "code",
        ),
        (
            Method::POST,
            format!("{sapi}/stores/p/k/versions"),
            "GET",
            "code",
        ),
        // HEAD is not GET here: a 405 like any other method.
        (Method::HEAD, format!("{sapi}/servers/j/events"), "GET", ""),
    ];
    for (method, url, allow, shape) in cases {
        let a = send(method.clone(), &url, &key, "").await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {url}");
        assert_eq!(a.header("allow"), Some(allow), "{method} {url}");
        if !shape.is_empty() {
            let body = a.json();
            assert!(body.get(shape).is_some(), "{method} {url}: {body}");
            assert!(body["message"]
                .as_str()
                .unwrap_or("")
                .contains(&*method.to_string()));
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn verbs_canonical_paths_and_not_found() {
    let server = spawn_test_server().await;
    let key = [("x-api-key", server.api_key.as_str())];
    let u = &server.url;
    let entries = format!("{u}/cloud/v2/universes/1/data-stores/s/entries");
    // A suffix that is not a verb of the method is part of the id.
    let created = send(
        Method::POST,
        &format!("{entries}?id=a:increment"),
        &key,
        json!({"value": 1}).to_string(),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK);
    let read = send(Method::GET, &format!("{entries}/a:increment"), &key, "").await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json()["id"], "a:increment");
    let bumped = send(
        Method::POST,
        &format!("{entries}/n:increment"),
        &key,
        json!({"amount": 2}).to_string(),
    )
    .await;
    assert_eq!(bumped.json()["value"], 2);
    // An encoded fixed segment and a trailing slash route as written plainly;
    // an encoded `/` stays inside its segment.
    let plain = send(
        Method::GET,
        &format!("{u}/cloud/v%32/universes/1/data-stores/s/entries/n/"),
        &key,
        "",
    )
    .await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.json()["value"], 2);
    let slash = send(Method::GET, &format!("{entries}/x%2Fy"), &key, "").await;
    assert_eq!(slash.status, StatusCode::NOT_FOUND);
    assert_eq!(slash.json()["code"], "NOT_FOUND");
    // The session API: a POST on a profile path needs a verb.
    let sapi = format!("{u}/session-api/v1/universes/1/servers/j/sessions/p/k");
    for url in [sapi.clone(), format!("{sapi}:frobnicate")] {
        let a = send(Method::POST, &format!("{url}?loadCount=1"), &key, "").await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{url}");
        assert!(a.header("allow").is_none());
    }
    // Unknown paths: the family's shape inside a family, the gateway's outside.
    let v1 = send(
        Method::GET,
        &format!("{u}/datastores/v1/universes/1/nope"),
        &key,
        "",
    )
    .await;
    assert_eq!(
        (v1.status, v1.json()["error"].clone()),
        (StatusCode::NOT_FOUND, json!("NOT_FOUND"))
    );
    let bad_universe = send(
        Method::GET,
        &format!("{u}/datastores/v1/universes/x/nope"),
        &key,
        "",
    )
    .await;
    assert_eq!(bad_universe.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_universe.json()["errorDetails"][0]["datastoreErrorCode"],
        "InvalidUniverseId"
    );
    let gateway = send(
        Method::GET,
        &format!("{u}/cloud/v2/universes/1/places"),
        &key,
        "",
    )
    .await;
    assert_eq!(gateway.status, StatusCode::NOT_FOUND);
    assert_eq!(gateway.json()["errors"][0]["code"], 0);
    server.shutdown().await;
}

/// An answer given without reading the request's body closes the
/// connection (the unread bytes would be taken for the next request's head;
/// rblx-open-cloud sends `{}` with GETs); an answer after reading it keeps
/// the connection.
#[tokio::test]
async fn an_unread_request_body_closes_the_connection() {
    let server = spawn_test_server().await;
    let key = [
        ("x-api-key", server.api_key.as_str()),
        ("content-type", "application/json"),
    ];
    let u = &server.url;
    let unread = [
        (Method::GET, format!("{u}/cloud/v2/universes/1/data-stores")),
        (Method::POST, format!("{u}/no/such/endpoint")),
        (Method::PUT, format!("{u}/cloud/v2/universes/1/data-stores")),
    ];
    for (method, url) in unread {
        let a = send(method.clone(), &url, &key, "{}").await;
        assert_eq!(a.header("connection"), Some("close"), "{method} {url}");
    }
    let read = send(
        Method::POST,
        &format!("{u}/messaging-service/v1/universes/1/topics/t"),
        &key,
        r#"{"message":"hi"}"#,
    )
    .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.header("connection"), None);
    let no_body = send(
        Method::GET,
        &format!("{u}/cloud/v2/universes/1/data-stores"),
        &key,
        "",
    )
    .await;
    assert_eq!(no_body.header("connection"), None);
}
