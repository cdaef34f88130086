//! Black-box tests of Open Cloud v2 data store management over loopback:
//! `GET /data-stores` (`filter`, `showDeleted`, `maxPageSize`, `pageToken`),
//! `DELETE /data-stores/{ds}`, `POST /data-stores/{ds}:undelete` and
//! `POST /data-stores:snapshot`, with the client quirks 13 (`state` always
//! present), 14 (snapshot fields always present), 17 (no body) and 18
//! (`True`/`False`).

mod support;

use hyper::{Method, StatusCode};
use profilestore::datastore::WriteOptions;
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::{json, Value};
use support::{send, Answer};

const V2: &str = "/cloud/v2/universes/1";

async fn call(server: &TestServer, method: Method, path: &str, body: &str) -> Answer {
    let key = [("x-api-key", server.api_key.as_str())];
    send(
        method,
        &format!("{}{path}", server.url),
        &key,
        body.to_owned(),
    )
    .await
}

async fn seed(server: &TestServer, names: &[&str]) {
    for name in names {
        let ds = server.datastores.data_store(1, name, "global").unwrap();
        ds.set("k", &json!(1), &WriteOptions::default())
            .await
            .unwrap();
    }
}

async fn list(server: &TestServer, query: &str) -> Value {
    let answer = call(server, Method::GET, &format!("{V2}/data-stores{query}"), "").await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.json()
}

fn ids(page: &Value) -> Vec<String> {
    page["dataStores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn listing_has_state_always_and_expire_time_when_deleted() {
    let server = spawn_test_server().await;
    seed(&server, &["alpha", "apple", "bags"]).await;
    let deleted = call(
        &server,
        Method::DELETE,
        &format!("{V2}/data-stores/apple"),
        "",
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK);

    let page = list(&server, "").await;
    assert_eq!(ids(&page), ["alpha", "bags"], "deleted stores are hidden");
    let first = &page["dataStores"][0];
    assert_eq!(first["path"], "universes/1/data-stores/alpha");
    assert_eq!(first["state"], "ACTIVE", "quirk 13: state is always there");
    assert!(first["createTime"].as_str().unwrap().ends_with('Z'));
    assert!(first.get("expireTime").is_none());
    assert!(page.get("nextPageToken").is_none_or(|t| t == ""));

    // Quirk 18: rblx-open-cloud sends `True`.
    let all = list(&server, "?showDeleted=True").await;
    assert_eq!(ids(&all), ["alpha", "apple", "bags"]);
    let apple = &all["dataStores"][1];
    assert_eq!(apple["state"], "DELETED");
    assert!(apple["expireTime"].is_string());
    assert_eq!(
        list(&server, "?showDeleted=False").await["dataStores"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let filtered = list(&server, "?showDeleted=true&filter=id.startsWith(%22a%22)").await;
    assert_eq!(ids(&filtered), ["alpha", "apple"]);
    let bad = call(
        &server,
        Method::GET,
        &format!("{V2}/data-stores?filter=id%3D%3D%22a%22"),
        "",
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["code"], "INVALID_ARGUMENT");
    let bad_flag = call(
        &server,
        Method::GET,
        &format!("{V2}/data-stores?showDeleted=maybe"),
        "",
    )
    .await;
    assert_eq!(bad_flag.status, StatusCode::BAD_REQUEST);

    // The v1 listing hides the deleted store too.
    let v1 = call(
        &server,
        Method::GET,
        "/datastores/v1/universes/1/standard-datastores",
        "",
    )
    .await;
    let v1: Vec<Value> = v1.json()["datastores"].as_array().unwrap().clone();
    assert_eq!(v1.len(), 2);
}

#[tokio::test]
async fn page_sizes_default_to_10_and_are_capped_at_100() {
    let server = spawn_test_server().await;
    let names: Vec<String> = (0..105).map(|i| format!("s{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    seed(&server, &refs).await;

    let page = list(&server, "").await;
    assert_eq!(ids(&page).len(), 10);
    assert_eq!(ids(&list(&server, "?maxPageSize=0").await).len(), 10);
    assert_eq!(ids(&list(&server, "?maxPageSize=1000").await).len(), 100);
    assert_eq!(ids(&list(&server, "?maxPageSize=7").await).len(), 7);

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(&server, &format!("?maxPageSize=100&pageToken={token}")).await;
        seen.extend(ids(&page));
        match page["nextPageToken"].as_str().filter(|t| !t.is_empty()) {
            Some(t) => token = t.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, names);

    // A token belongs to its listing: another filter refuses it.
    let token = page["nextPageToken"].as_str().unwrap();
    let other = call(
        &server,
        Method::GET,
        &format!("{V2}/data-stores?showDeleted=true&pageToken={token}"),
        "",
    )
    .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn delete_blocks_entries_and_undelete_restores_them() {
    let server = spawn_test_server().await;
    seed(&server, &["Bag"]).await;
    let path = format!("{V2}/data-stores/Bag");

    let deleted = call(&server, Method::DELETE, &path, "").await;
    assert_eq!(deleted.status, StatusCode::OK);
    let body = deleted.json();
    assert_eq!(body["path"], "universes/1/data-stores/Bag");
    assert_eq!(body["id"], "Bag");
    assert_eq!(body["state"], "DELETED");
    let expire = body["expireTime"].as_str().unwrap().to_owned();
    // Deleting again changes nothing.
    let again = call(&server, Method::DELETE, &path, "").await;
    assert_eq!(again.json(), body);

    // Entries are inaccessible, in v2 and v1.
    let entry = call(&server, Method::GET, &format!("{path}/entries/k"), "").await;
    assert_eq!(entry.status, StatusCode::NOT_FOUND);
    assert_eq!(entry.json()["code"], "NOT_FOUND");
    assert!(entry.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("DatastoreDeleted"));
    let listing = call(&server, Method::GET, &format!("{path}/entries"), "").await;
    assert_eq!(listing.status, StatusCode::NOT_FOUND);
    let write = call(
        &server,
        Method::PATCH,
        &format!("{path}/entries/k?allowMissing=true"),
        r#"{"value": 2}"#,
    )
    .await;
    assert_eq!(write.status, StatusCode::NOT_FOUND);
    let v1 = call(
        &server,
        Method::GET,
        "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=Bag&entryKey=k",
        "",
    )
    .await;
    assert_eq!(v1.status, StatusCode::NOT_FOUND);
    assert_eq!(
        v1.json()["errorDetails"][0]["datastoreErrorCode"],
        "DatastoreDeleted"
    );

    // Quirk 17: rblx-open-cloud sends no body.
    let restored = call(&server, Method::POST, &format!("{path}:undelete"), "").await;
    assert_eq!(restored.status, StatusCode::OK, "{:?}", restored.body);
    let restored = restored.json();
    assert_eq!(restored["state"], "ACTIVE");
    assert!(restored.get("expireTime").is_none());
    assert_eq!(restored["createTime"], body["createTime"]);
    let entry = call(&server, Method::GET, &format!("{path}/entries/k"), "").await;
    assert_eq!(entry.json()["value"], 1, "data intact");
    assert_ne!(expire, "");

    // Undeleting an active store is refused; `{}` is the documented body.
    let active = call(&server, Method::POST, &format!("{path}:undelete"), "{}").await;
    assert_eq!(active.status, StatusCode::BAD_REQUEST);
    assert_eq!(active.json()["code"], "INVALID_ARGUMENT");
    let garbage = call(&server, Method::POST, &format!("{path}:undelete"), "nope").await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_stores_are_404_and_methods_are_checked() {
    let server = spawn_test_server().await;
    for (method, path) in [
        (Method::DELETE, format!("{V2}/data-stores/Nope")),
        (Method::POST, format!("{V2}/data-stores/Nope:undelete")),
    ] {
        let answer = call(&server, method, &path, "{}").await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.json()["code"], "NOT_FOUND");
    }
    let get = call(&server, Method::GET, &format!("{V2}/data-stores/Nope"), "").await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    let get = call(
        &server,
        Method::GET,
        &format!("{V2}/data-stores:snapshot"),
        "",
    )
    .await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    let long = "x".repeat(51);
    let bad = call(
        &server,
        Method::DELETE,
        &format!("{V2}/data-stores/{long}"),
        "",
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn snapshot_is_once_per_day_and_always_answers_both_fields() {
    let server = spawn_test_server().await;
    // No body at all is accepted (rblx-open-cloud style).
    let first = call(
        &server,
        Method::POST,
        &format!("{V2}/data-stores:snapshot"),
        "",
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let first = first.json();
    assert_eq!(first["newSnapshotTaken"], true);
    let time = first["latestSnapshotTime"].as_str().unwrap().to_owned();
    assert!(time.ends_with('Z'));
    let second = call(
        &server,
        Method::POST,
        &format!("{V2}/data-stores:snapshot"),
        "{}",
    )
    .await;
    let second = second.json();
    assert_eq!(
        second["newSnapshotTaken"], false,
        "quirk 14: present when false"
    );
    assert_eq!(second["latestSnapshotTime"], time);
    // Another universe has its own.
    let other = call(
        &server,
        Method::POST,
        "/cloud/v2/universes/2/data-stores:snapshot",
        "{}",
    )
    .await;
    assert_eq!(other.json()["newSnapshotTaken"], true);
}

#[tokio::test]
async fn entry_listings_take_filter_show_deleted_and_pages_of_10_to_256() {
    let server = spawn_test_server().await;
    let ds = server.datastores.data_store(1, "Bag", "global").unwrap();
    for i in 0..300 {
        ds.set(&format!("k{i:03}"), &json!(i), &WriteOptions::default())
            .await
            .unwrap();
    }
    ds.remove("k000").await.unwrap();
    let entries = |query: &str| format!("{V2}/data-stores/Bag/entries{query}");
    let count = |v: &Value| v["dataStoreEntries"].as_array().unwrap().len();

    let page = call(&server, Method::GET, &entries(""), "").await.json();
    assert_eq!(count(&page), 10);
    let big = call(&server, Method::GET, &entries("?maxPageSize=1000"), "")
        .await
        .json();
    assert_eq!(count(&big), 256, "higher values are set to 256");
    let filtered = call(
        &server,
        Method::GET,
        &entries("?filter=id.startsWith(%22k00%22)&showDeleted=False"),
        "",
    )
    .await
    .json();
    assert_eq!(
        count(&filtered),
        9,
        "k001..k009: the removed k000 is hidden"
    );
    let with_deleted = call(
        &server,
        Method::GET,
        &entries("?filter=id.startsWith(%22k00%22)&showDeleted=True"),
        "",
    )
    .await
    .json();
    assert_eq!(count(&with_deleted), 10);
}
