//! MemoryStoreService over Open Cloud v2: every memory-store endpoint,
//! the quirks real clients rely on
//! (`shared/spec/opencloud-ordered-and-memory-quirks.md` rows 1-8, 12,
//! 17-20), and flush with operation polling on both paths.

mod support;

use hyper::{Method, StatusCode};
use profilestore::testing::spawn_test_server;
use serde_json::{json, Value};
use support::call;

const E: &str = "/engine-api/v1/universes/1/memory-store";
const OC: &str = "/cloud/v2/universes/1/memory-store";

#[tokio::test]
async fn open_cloud_sorted_map_items() {
    let s = spawn_test_server().await;
    // Documented: `?id=` and lowerCamel fields.
    let made = call(
        &s,
        Method::POST,
        &format!("{OC}/sorted-maps/m/items?id=k1"),
        json!({"value": 1, "ttl": "30s", "numericSortKey": 3}),
    )
    .await;
    assert_eq!(made.status, StatusCode::OK);
    let made = made.json();
    assert_eq!(
        made["path"],
        json!("cloud/v2/universes/1/memory-store/sorted-maps/m/items/k1")
    );
    assert_eq!(made["numericSortKey"], json!(3.0));
    // rblx-open-cloud / openblox: `Id` in the body, capitalised fields.
    let rblx = call(
        &s,
        Method::POST,
        &format!("{OC}/sorted-maps/m/items"),
        json!({"Id": "k2", "Value": 2, "Ttl": "30s", "StringSortKey": "z"}),
    )
    .await
    .json();
    assert_eq!(
        (rblx["id"].clone(), rblx["stringSortKey"].clone()),
        (json!("k2"), json!("z"))
    );
    call(
        &s,
        Method::POST,
        &format!("{OC}/sorted-maps/m/items?id=k3"),
        json!({"value": 3, "ttl": "30s", "numericSortKey": 1}),
    )
    .await;
    let dup = call(
        &s,
        Method::POST,
        &format!("{OC}/sorted-maps/m/items?id=k1"),
        json!({"value": 1}),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    // rblx-open-cloud reads `error == "ALREADY_EXISTS"`.
    assert_eq!(dup.json()["error"], json!("ALREADY_EXISTS"));
    assert_eq!(dup.json()["code"], json!("ABORTED"));
    let got = call(
        &s,
        Method::GET,
        &format!("{OC}/sorted-maps/m/items/k1"),
        Value::Null,
    )
    .await;
    assert_eq!(got.json()["value"], json!(1));
    let missing = call(
        &s,
        Method::GET,
        &format!("{OC}/sorted-maps/m/items/none"),
        Value::Null,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // List: order, page size, tokens, `orderBy` as "desc" or "id desc", filters.
    let page = call(
        &s,
        Method::GET,
        &format!("{OC}/sorted-maps/m/items?maxPageSize=2"),
        Value::Null,
    )
    .await
    .json();
    let ids = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&page), ["k3", "k1"]);
    let token = page["nextPageToken"].as_str().unwrap().to_owned();
    let next = call(
        &s,
        Method::GET,
        &format!("{OC}/sorted-maps/m/items?maxPageSize=2&pageToken={token}"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(ids(&next), ["k2"]);
    assert!(next.get("nextPageToken").is_none());
    for order in ["desc", "id%20desc"] {
        let down = call(
            &s,
            Method::GET,
            &format!("{OC}/sorted-maps/m/items?maxPageSize=100&orderBy={order}"),
            Value::Null,
        )
        .await
        .json();
        assert_eq!(ids(&down), ["k2", "k1", "k3"]);
    }
    let filter = "sortKey%20%3E%201%20%26%26%20sortKey%20%3C%20%22zz%22";
    let filtered = call(
        &s,
        Method::GET,
        &format!("{OC}/sorted-maps/m/items?maxPageSize=100&filter={filter}"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(ids(&filtered), ["k1", "k2"]);
    // PATCH: allowMissing (also `True`), keeps what the body leaves out.
    let absent = call(
        &s,
        Method::PATCH,
        &format!("{OC}/sorted-maps/m/items/new"),
        json!({"value": 9}),
    )
    .await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND);
    let created = call(
        &s,
        Method::PATCH,
        &format!("{OC}/sorted-maps/m/items/new?allowMissing=True"),
        json!({"Value": 9}),
    )
    .await;
    assert_eq!(created.json()["value"], json!(9));
    let patched = call(
        &s,
        Method::PATCH,
        &format!("{OC}/sorted-maps/m/items/k1"),
        json!({"value": 10}),
    )
    .await
    .json();
    assert_eq!(
        (patched["value"].clone(), patched["numericSortKey"].clone()),
        (json!(10), json!(3.0))
    );
    // DELETE with `?etag=`.
    let stale = call(
        &s,
        Method::DELETE,
        &format!("{OC}/sorted-maps/m/items/k1?etag=old"),
        Value::Null,
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let etag = patched["etag"].as_str().unwrap();
    let del = call(
        &s,
        Method::DELETE,
        &format!("{OC}/sorted-maps/m/items/k1?etag={etag}"),
        Value::Null,
    )
    .await;
    assert_eq!(del.status, StatusCode::OK);
    s.shutdown().await;
}

#[tokio::test]
async fn open_cloud_queue_items() {
    let s = spawn_test_server().await;
    let doc = call(
        &s,
        Method::POST,
        &format!("{OC}/queues/q/items"),
        json!({"data": {"a": 1}, "ttl": "60s", "priority": 1}),
    )
    .await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.json()["data"], json!({"a": 1}));
    let rblx = call(
        &s,
        Method::POST,
        &format!("{OC}/queues/q/items:add"),
        json!({"Data": "b", "Ttl": 60, "Priority": 0}),
    )
    .await;
    assert_eq!(rblx.status, StatusCode::OK);
    // rblx: invisibilityTimeoutSeconds, allOrNothing=False.
    let read = call(
        &s,
        Method::GET,
        &format!(
            "{OC}/queues/q/items:read?count=1&allOrNothing=False&invisibilityTimeoutSeconds=30"
        ),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(read["id"], read["readId"]);
    // `data` holds the values (what both clients read), `items` the items.
    assert_eq!(read["data"], json!([{"a": 1}]));
    assert_eq!(read["items"][0]["data"], json!({"a": 1}));
    let id = read["id"].as_str().unwrap().to_owned();
    // Documented: invisibilityWindow="30s"; the first item is invisible.
    let second = call(
        &s,
        Method::GET,
        &format!("{OC}/queues/q/items:read?count=5&invisibilityWindow=30s"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(second["items"][0]["data"], json!("b"));
    // allOrNothing with too few visible items: the documented 404.
    let short = call(
        &s,
        Method::GET,
        &format!("{OC}/queues/q/items:read?count=2&allOrNothing=true"),
        Value::Null,
    )
    .await;
    assert_eq!(short.status, StatusCode::NOT_FOUND);
    // Discard: `?readId=` (clients) and `readId` in the body (documented).
    let d1 = call(
        &s,
        Method::POST,
        &format!("{OC}/queues/q/items:discard?readId={id}"),
        Value::Null,
    )
    .await;
    assert_eq!(d1.status, StatusCode::OK);
    let id2 = second["readId"].as_str().unwrap();
    let d2 = call(
        &s,
        Method::POST,
        &format!("{OC}/queues/q/items:discard"),
        json!({"readId": id2}),
    )
    .await;
    assert_eq!(d2.status, StatusCode::OK);
    let size = call(&s, Method::GET, &format!("{E}/queues/q:size"), Value::Null)
        .await
        .json();
    assert_eq!(size, json!({"size": 0}));
    let none = call(
        &s,
        Method::POST,
        &format!("{OC}/queues/q/items:discard"),
        Value::Null,
    )
    .await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    // Open Cloud reads up to 200 (larger counts are coerced).
    for _ in 0..3 {
        call(
            &s,
            Method::POST,
            &format!("{OC}/queues/big/items"),
            json!({"data": 1}),
        )
        .await;
    }
    let many = call(
        &s,
        Method::GET,
        &format!("{OC}/queues/big/items:read?count=500"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (many.status, many.json()["items"].as_array().unwrap().len()),
        (StatusCode::OK, 3)
    );
    s.shutdown().await;
}

#[tokio::test]
async fn flush_returns_an_operation_to_poll_on_both_paths() {
    let s = spawn_test_server().await;
    call(
        &s,
        Method::PUT,
        &format!("{E}/sorted-maps/m/items/a"),
        json!({"value": 1, "expiration": 60}),
    )
    .await;
    call(
        &s,
        Method::PUT,
        "/engine-api/v1/universes/2/memory-store/sorted-maps/m/items/a",
        json!({"value": 1, "expiration": 60}),
    )
    .await;
    // rblx sends no body.
    let op = call(&s, Method::POST, &format!("{OC}:flush"), Value::Null).await;
    assert_eq!(op.status, StatusCode::OK);
    let op = op.json();
    assert_eq!(op["done"], json!(true));
    let path = op["path"].as_str().unwrap();
    assert!(
        path.starts_with("cloud/v2/universes/1/operations/"),
        "{path}"
    );
    let id = path.rsplit('/').next().unwrap();
    // openblox polls `path.split("/")[5]`.
    assert_eq!(path.split('/').nth(5), Some(id));
    for poll in [
        format!("{OC}/operations/{id}"),
        format!("/cloud/v2/universes/1/operations/{id}"),
    ] {
        let got = call(&s, Method::GET, &poll, Value::Null).await;
        assert_eq!(
            (got.status, got.json()["done"].clone()),
            (StatusCode::OK, json!(true)),
            "{poll}"
        );
    }
    let other = call(
        &s,
        Method::GET,
        &format!("/cloud/v2/universes/2/operations/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let flushed = call(
        &s,
        Method::GET,
        &format!("{E}/sorted-maps/m:size"),
        Value::Null,
    )
    .await
    .json();
    assert_eq!(flushed, json!({"size": 0}));
    let kept = call(
        &s,
        Method::GET,
        "/engine-api/v1/universes/2/memory-store/sorted-maps/m:size",
        Value::Null,
    )
    .await
    .json();
    assert_eq!(kept, json!({"size": 1}));
    let with_body = call(&s, Method::POST, &format!("{OC}:flush"), json!({})).await;
    assert_eq!(with_body.status, StatusCode::OK);
    s.shutdown().await;
}
