//! Black-box tests of the Open Cloud v2 DataStore API over loopback.

mod support;

use hyper::{Method, StatusCode};
use profilestore::testing::spawn_test_server;
use serde_json::{json, Value};
use support::send;

#[tokio::test]
async fn entries_create_get_patch_delete_and_increment() {
    let server = spawn_test_server().await;
    let key = [("x-api-key", server.api_key.as_str())];
    let base = format!("{}/cloud/v2/universes/1/data-stores/Inventory", server.url);
    let scoped = format!("{base}/scopes/global/entries");

    let created = send(
        Method::POST,
        &format!("{scoped}?id=users:1"),
        &key,
        json!({"value": {"Iron": 50}, "users": ["users/45348281"], "attributes": {"a": 1}})
            .to_string(),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    let entry = created.json();
    assert_eq!(entry["id"], "users:1", "a ':' stays part of the id");
    assert_eq!(entry["value"], json!({"Iron": 50}));
    assert_eq!(entry["users"], json!(["users/45348281"]));
    assert_eq!(entry["attributes"], json!({"a": 1}));
    assert_eq!(entry["etag"], entry["revisionId"]);
    assert_eq!(
        entry["path"],
        "universes/1/data-stores/Inventory/scopes/global/entries/users:1"
    );
    let first_revision = entry["revisionId"].as_str().expect("revision").to_owned();

    let exists = send(
        Method::POST,
        &format!("{scoped}?id=users:1"),
        &key,
        json!({"value": 1}).to_string(),
    )
    .await;
    assert_eq!(exists.status, StatusCode::BAD_REQUEST);
    assert_eq!(exists.json()["code"], "INVALID_ARGUMENT");

    let latest = send(
        Method::GET,
        &format!("{base}/entries/users:1@latest"),
        &key,
        "",
    )
    .await;
    assert_eq!(
        latest.json()["value"],
        json!({"Iron": 50}),
        "the unscoped form is the global scope"
    );

    let stale = send(
        Method::PATCH,
        &format!("{scoped}/users:1"),
        &key,
        json!({"value": {"Iron": 1}, "etag": "08D9E6A3F2188CFF.0000000009.08D9E6A3F2188CFF.01"})
            .to_string(),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.json()["code"], "ABORTED");
    let patched = send(
        Method::PATCH,
        &format!("{scoped}/users:1"),
        &key,
        json!({"value": {"Iron": 60}, "etag": first_revision}).to_string(),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(
        patched.json()["users"],
        json!([]),
        "a full replace clears users"
    );

    let old = send(
        Method::GET,
        &format!("{scoped}/users:1@{first_revision}"),
        &key,
        "",
    )
    .await;
    assert_eq!(old.json()["value"], json!({"Iron": 50}));
    let bad_rev = send(Method::GET, &format!("{scoped}/users:1@nope"), &key, "").await;
    assert_eq!(bad_rev.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_rev.json()["message"], "Invalid version id.");
    let at_time = send(
        Method::GET,
        &format!("{scoped}/users:1@latest:2999-01-01T00:00:00Z"),
        &key,
        "",
    )
    .await;
    assert_eq!(
        at_time.status,
        StatusCode::BAD_REQUEST,
        "more than ten minutes ahead"
    );

    let missing = send(
        Method::PATCH,
        &format!("{scoped}/nobody"),
        &key,
        json!({"value": 1}).to_string(),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let upsert = send(
        Method::PATCH,
        &format!("{scoped}/nobody?allowMissing=true"),
        &key,
        json!({"value": 1}).to_string(),
    )
    .await;
    assert_eq!(upsert.status, StatusCode::OK);

    let inc = send(
        Method::POST,
        &format!("{scoped}/counter:increment"),
        &key,
        json!({"amount": 3}).to_string(),
    )
    .await;
    assert_eq!(inc.json()["value"], 3);
    let inc = send(
        Method::POST,
        &format!("{scoped}/counter:increment"),
        &key,
        json!({"amount": 4}).to_string(),
    )
    .await;
    assert_eq!(inc.json()["value"], 7);

    let deleted = send(Method::DELETE, &format!("{scoped}/users:1"), &key, "").await;
    assert_eq!(
        (deleted.status, deleted.json()),
        (StatusCode::OK, json!({}))
    );
    let again = send(Method::DELETE, &format!("{scoped}/users:1"), &key, "").await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.json()["code"], "NOT_FOUND");
    server.shutdown().await;
}

#[tokio::test]
async fn listings_scopes_deleted_and_revisions() {
    let server = spawn_test_server().await;
    let key = [("x-api-key", server.api_key.as_str())];
    let base = format!("{}/cloud/v2/universes/1/data-stores/Store", server.url);
    for (scope, id) in [("global", "a"), ("global", "b"), ("houses", "h")] {
        let url = format!("{base}/scopes/{scope}/entries?id={id}");
        assert_eq!(
            send(Method::POST, &url, &key, json!({"value": 1}).to_string())
                .await
                .status,
            StatusCode::OK
        );
    }
    send(
        Method::DELETE,
        &format!("{base}/scopes/global/entries/b"),
        &key,
        "",
    )
    .await;

    let ids = |v: &Value| -> Vec<String> {
        v["dataStoreEntries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let global = send(
        Method::GET,
        &format!("{base}/scopes/global/entries"),
        &key,
        "",
    )
    .await
    .json();
    assert_eq!(ids(&global), vec!["a"], "deleted entries are hidden");
    let shown = send(
        Method::GET,
        &format!("{base}/scopes/global/entries?showDeleted=true"),
        &key,
        "",
    )
    .await
    .json();
    assert_eq!(ids(&shown), vec!["a", "b"]);
    let all = send(Method::GET, &format!("{base}/scopes/-/entries"), &key, "")
        .await
        .json();
    assert_eq!(ids(&all), vec!["a", "h"]);
    assert_eq!(
        all["dataStoreEntries"][1]["path"],
        "universes/1/data-stores/Store/scopes/houses/entries/h"
    );
    let paged = send(
        Method::GET,
        &format!("{base}/scopes/-/entries?maxPageSize=1"),
        &key,
        "",
    )
    .await
    .json();
    let token = paged["nextPageToken"].as_str().expect("token").to_owned();
    let next = send(
        Method::GET,
        &format!("{base}/scopes/-/entries?maxPageSize=1&pageToken={token}"),
        &key,
        "",
    )
    .await
    .json();
    assert_eq!(ids(&next), vec!["h"]);

    let stores = send(
        Method::GET,
        &format!("{}/cloud/v2/universes/1/data-stores", server.url),
        &key,
        "",
    )
    .await
    .json();
    assert_eq!(stores["dataStores"][0]["id"], "Store");
    let filtered = send(
        Method::GET,
        &format!(
            "{}/cloud/v2/universes/1/data-stores?filter=id.startsWith(%22Zz%22)",
            server.url
        ),
        &key,
        "",
    )
    .await
    .json();
    assert_eq!(filtered["dataStores"], json!([]));

    for v in 2..=3 {
        send(
            Method::PATCH,
            &format!("{base}/scopes/global/entries/a"),
            &key,
            json!({"value": v}).to_string(),
        )
        .await;
    }
    let revisions = send(
        Method::GET,
        &format!("{base}/scopes/global/entries/a:listRevisions"),
        &key,
        "",
    )
    .await
    .json();
    let items = revisions["dataStoreEntries"]
        .as_array()
        .expect("revisions")
        .clone();
    assert_eq!(items.len(), 3);
    let newest = items[0]["revisionId"].as_str().expect("id");
    assert!(items[0]["id"]
        .as_str()
        .expect("id")
        .ends_with(&format!("@{newest}")));
    let none = send(
        Method::GET,
        &format!("{base}/scopes/global/entries/a:listRevisions?filter=revision_create_time%20%3E%3D%202999-01-01T00:00:00Z"),
        &key,
        "",
    )
    .await
    .json();
    assert_eq!(none["dataStoreEntries"], json!([]));
    let bad = send(
        Method::GET,
        &format!("{base}/scopes/global/entries/a:listRevisions?filter=nonsense"),
        &key,
        "",
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["code"], "INVALID_ARGUMENT");
    server.shutdown().await;
}
