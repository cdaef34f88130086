//! Open Cloud v2 memory stores: `/cloud/v2/universes/{u}/memory-store/...`.
//!
//! Owns: sorted map items (list with `maxPageSize` <= 100, `pageToken`,
//! `orderBy`, `filter` over `id` and `sortKey`; create, get, PATCH with
//! `allowMissing`, DELETE with `?etag=`), queue items (`items` and
//! `items:add`, `items:read`, `items:discard`), `memory-store:flush` and
//! its operation (`memory-store/operations/{id}` and `operations/{id}`).
//! Invariants: what real clients send is served beside the OpenAPI
//! (`shared/spec/opencloud-ordered-and-memory-quirks.md` rows 1-8, 12,
//! 17-20): body field names in any case, `ttl` as `"30s"` or a number,
//! `invisibilityWindow` or `invisibilityTimeoutSeconds`, `readId` in the
//! query or the body, booleans in any case, no body for a flush; an
//! `allOrNothing` read without enough items is the documented 404.

use std::sync::LazyLock;
use std::time::Duration;

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::super::error::{ApiError, Style};
use super::super::request;
use super::super::router::{handler, Call, Reply, Route, Table};
use super::expiration;
use crate::memorystore::{
    Bound, Direction, Expect, MemoryStoreError, ReadOptions, SortKey, SortedItem, Written,
    DEFAULT_INVISIBILITY_SECS, MAX_EXPIRATION_SECS, MAX_READ_COUNT_OPEN_CLOUD,
};
use crate::opencloud::codes::{DetailCode as D, ErrorCode as C};
use crate::opencloud::memory::{self as wire, field, parse_duration};
use crate::opencloud::time::body_time;

/// Open Cloud v2 memory store routes, after `/cloud/v2/universes/{u}`.
pub(in crate::http) static TABLE_V2: LazyLock<Table> = LazyLock::new(|| {
    let read = || {
        Route::new()
            .on(Method::GET, handler(queue_read))
            .on(Method::POST, handler(queue_read))
    };
    Table::new(Style::V2, "no such memory store endpoint")
        .route(
            "/memory-store/sorted-maps/{map}/items",
            Route::new()
                .on(Method::GET, handler(list))
                .on(Method::POST, handler(create)),
        )
        .route(
            "/memory-store/sorted-maps/{map}/items/{item}",
            Route::new()
                .on(Method::GET, handler(get))
                .on(Method::PATCH, handler(patch))
                .on(Method::DELETE, handler(delete)),
        )
        .route(
            "/memory-store/queues/{queue}/items",
            Route::new().on(Method::POST, handler(enqueue)),
        )
        .route(
            "/memory-store/queues/{queue}/items:add",
            Route::new().on(Method::POST, handler(enqueue)),
        )
        .route("/memory-store/queues/{queue}/items:read", read())
        .route(
            "/memory-store/queues/{queue}/items:discard",
            Route::new().on(Method::POST, handler(discard)),
        )
        .route(
            "/memory-store:flush",
            Route::new().on(Method::POST, handler(flush)),
        )
        .route(
            "/memory-store/operations/{id}",
            Route::new().on(Method::GET, handler(operation)),
        )
        .route(
            "/operations/{id}",
            Route::new().on(Method::GET, handler(operation)),
        )
});

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(D::Unknown, message)
}

fn ok<T: serde::Serialize>(body: &T) -> Reply {
    Ok(request::json(StatusCode::OK, body))
}

/// A body that may be empty (`{}` then).
fn object(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| bad(format!("InvalidRequest: the body is not JSON: {e}")))
}

fn item_body(universe: u64, map: &str, i: SortedItem) -> wire::OcSortedItem {
    let (string_sort_key, numeric_sort_key) = match i.sort_key {
        Some(SortKey::String(s)) => (Some(s), None),
        Some(SortKey::Number(n)) => (None, Some(n)),
        None => (None, None),
    };
    wire::OcSortedItem {
        path: format!(
            "cloud/v2/universes/{universe}/memory-store/sorted-maps/{map}/items/{}",
            i.key
        ),
        value: i.value,
        etag: i.etag,
        expire_time: body_time(i.expire_ms),
        id: i.key,
        string_sort_key,
        numeric_sort_key,
    }
}

/// `ttl` (`"30s"` or seconds) as whole seconds; `None` when absent.
fn ttl(body: &Value) -> Result<Option<u64>, ApiError> {
    match field(body, "ttl") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let secs = parse_duration(v)
                .ok_or_else(|| bad("InvalidRequest: ttl is a duration such as \"30s\""))?;
            Ok(Some(expiration(secs)?))
        }
    }
}

/// The sort key of a body: `numericSortKey` or `stringSortKey` (any case).
fn sort_key(body: &Value) -> Result<Option<Option<SortKey>>, ApiError> {
    if let Some(n) = field(body, "numericSortKey").filter(|v| !v.is_null()) {
        let n = n.as_f64().ok_or(MemoryStoreError::InvalidSortKey)?;
        return Ok(Some(Some(SortKey::Number(n))));
    }
    if let Some(s) = field(body, "stringSortKey").filter(|v| !v.is_null()) {
        let s = s.as_str().ok_or(MemoryStoreError::InvalidSortKey)?;
        return Ok(Some(Some(SortKey::String(s.to_owned()))));
    }
    Ok(None)
}

async fn get(c: Call) -> Reply {
    let (map, id) = (c.param("map"), c.param("item"));
    let item = c
        .state
        .memory
        .sorted_map(c.universe, map)
        .get_item(id)
        .await?;
    let item = item.ok_or_else(|| {
        ApiError::not_found(D::NotFound, format!("no item `{id}` in sorted map `{map}`"))
    })?;
    ok(&item_body(c.universe, map, item))
}

async fn create(mut c: Call) -> Reply {
    let body = object(&c.body().await?)?;
    let map = c.param("map").to_owned();
    let id = c
        .query
        .get("id")
        .map(str::to_owned)
        .or_else(|| {
            field(&body, "id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .ok_or_else(|| {
            bad("InvalidRequest: the item id is required (`?id=` or `id` in the body)")
        })?;
    let value = field(&body, "value").cloned().unwrap_or(Value::Null);
    let secs = ttl(&body)?.unwrap_or(MAX_EXPIRATION_SECS);
    let sk = sort_key(&body)?.flatten();
    let sorted = c.state.memory.sorted_map(c.universe, &map);
    match sorted.put(&id, value, secs, sk, Expect::Absent).await? {
        Written::Written { item, .. } => ok(&item_body(c.universe, &map, item)),
        Written::Conflict { .. } => Err(ApiError::already_exists(format!(
            "ALREADY_EXISTS: item `{id}` already exists in sorted map `{map}`"
        ))),
    }
}

async fn patch(mut c: Call) -> Reply {
    let body = object(&c.body().await?)?;
    let allow_missing = c.query.flag("allowMissing")? || c.query.flag("allowIfMissing")?;
    let (map, id) = (c.param("map").to_owned(), c.param("item").to_owned());
    let sorted = c.state.memory.sorted_map(c.universe, &map);
    let now = c.state.memory.clock().now_ms();
    let current = sorted.get_item(&id).await?;
    let Some(current) = current else {
        if !allow_missing {
            return Err(ApiError::not_found(
                D::NotFound,
                format!(
                    "no item `{id}` in sorted map `{map}`; pass allowMissing=true to create it"
                ),
            ));
        }
        let value = field(&body, "value").cloned().unwrap_or(Value::Null);
        let secs = ttl(&body)?.unwrap_or(MAX_EXPIRATION_SECS);
        let sk = sort_key(&body)?.flatten();
        let w = sorted.put(&id, value, secs, sk, Expect::Absent).await?;
        return written(c.universe, &map, w);
    };
    let value = field(&body, "value").cloned().unwrap_or(current.value);
    let left = u64::try_from((current.expire_ms - now + 999) / 1000)
        .unwrap_or(1)
        .max(1);
    let secs = ttl(&body)?.unwrap_or(left);
    let sk = sort_key(&body)?.unwrap_or(current.sort_key);
    let w = sorted
        .put(&id, value, secs, sk, Expect::Etag(current.etag))
        .await?;
    written(c.universe, &map, w)
}

fn written(universe: u64, map: &str, w: Written<SortedItem>) -> Reply {
    match w {
        Written::Written { item, .. } => ok(&item_body(universe, map, item)),
        Written::Conflict { .. } => Err(MemoryStoreError::UpdateConflict.into()),
    }
}

async fn delete(c: Call) -> Reply {
    let (map, id) = (c.param("map"), c.param("item"));
    let sorted = c.state.memory.sorted_map(c.universe, map);
    if let Some(etag) = c.query.get("etag").filter(|e| !e.is_empty()) {
        let current = sorted.get_item(id).await?;
        if current.is_some_and(|i| i.etag != etag) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                C::Aborted,
                D::Unknown,
                format!("the etag of item `{id}` is not `{etag}`: it changed since it was read"),
            ));
        }
    }
    sorted.remove(id).await?;
    ok(&json!({}))
}

/// One `filter` term: `id > "a"`, `sortKey < 5`, `sortKey > "s"`.
fn term(t: &str, lower: &mut Bound, upper: &mut Bound) -> Result<(), ApiError> {
    let t = t.trim();
    let (name, op, rest) = ["<", ">"]
        .iter()
        .find_map(|op| t.split_once(op).map(|(n, r)| (n.trim(), *op, r.trim())))
        .ok_or_else(|| {
            bad(format!(
                "InvalidRequest: filter term `{t}` is not `field < value` or `field > value`"
            ))
        })?;
    let text = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"'));
    let side = if op == ">" { lower } else { upper };
    match name {
        "id" => {
            side.key = Some(
                text.ok_or_else(|| bad("InvalidRequest: an id filter compares with a \"string\""))?
                    .to_owned(),
            );
        }
        "sortKey" => {
            side.sort_key = Some(match text {
                Some(s) => SortKey::String(s.to_owned()),
                None => SortKey::Number(rest.parse().map_err(|_| {
                    bad("InvalidRequest: a sortKey filter compares with a number or a \"string\"")
                })?),
            });
        }
        other => {
            return Err(bad(format!(
                "InvalidRequest: filter supports id and sortKey, not `{other}`"
            )))
        }
    }
    Ok(())
}

fn page_token(b: &Bound) -> String {
    let text = serde_json::to_string(b).unwrap_or_default();
    let hex: String = text.bytes().map(|x| format!("{x:02x}")).collect();
    format!("s1.{hex}")
}

fn parse_token(t: &str) -> Result<Bound, ApiError> {
    let bad_token = || bad("InvalidRequest: pageToken must come from a previous page");
    let hex = t.strip_prefix("s1.").ok_or_else(bad_token)?;
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    serde_json::from_slice(&bytes.ok_or_else(bad_token)?).map_err(|_| bad_token())
}

async fn list(c: Call) -> Reply {
    let q = &c.query;
    let size = q.number("maxPageSize", 1usize)?.clamp(1, 100);
    let descending = q
        .get("orderBy")
        .is_some_and(|o| o.to_ascii_lowercase().contains("desc"));
    let direction = if descending {
        Direction::Descending
    } else {
        Direction::Ascending
    };
    let (mut lower, mut upper) = (Bound::default(), Bound::default());
    if let Some(f) = q.get("filter").filter(|f| !f.trim().is_empty()) {
        for t in f.split("&&") {
            term(t, &mut lower, &mut upper)?;
        }
    }
    if let Some(t) = q.get("pageToken").filter(|t| !t.is_empty()) {
        let after = parse_token(t)?;
        if descending {
            upper = after;
        } else {
            lower = after;
        }
    }
    let map = c.param("map");
    let sorted = c.state.memory.sorted_map(c.universe, map);
    let mut items = sorted
        .get_range(direction, size + 1, Some(lower), Some(upper))
        .await?;
    let next = (items.len() > size).then(|| {
        items.truncate(size);
        items.last().map(|i| {
            page_token(&Bound {
                key: Some(i.key.clone()),
                sort_key: i.sort_key.clone(),
            })
        })
    });
    let items = items
        .into_iter()
        .map(|i| item_body(c.universe, map, i))
        .collect();
    ok(&wire::OcSortedList {
        items,
        next_page_token: next.flatten(),
    })
}

async fn enqueue(mut c: Call) -> Reply {
    let body = object(&c.body().await?)?;
    let name = c.param("queue").to_owned();
    let data = field(&body, "data").cloned().unwrap_or(Value::Null);
    let secs = ttl(&body)?.unwrap_or(MAX_EXPIRATION_SECS);
    let priority = match field(&body, "priority") {
        None | Some(Value::Null) => 0.0,
        Some(p) => p
            .as_f64()
            .ok_or_else(|| bad("InvalidRequest: priority is a number"))?,
    };
    let queue = c.state.memory.queue(c.universe, &name);
    queue.add(data.clone(), secs, priority).await?;
    let now = c.state.memory.clock().now_ms();
    let id = uuid::Uuid::new_v4().simple().to_string();
    ok(&wire::OcQueueItem {
        path: format!(
            "cloud/v2/universes/{}/memory-store/queues/{name}/items/{id}",
            c.universe
        ),
        data,
        priority,
        expire_time: body_time(now + secs as i64 * 1000),
        id,
    })
}

/// `invisibilityWindow` (`"30s"`) or `invisibilityTimeoutSeconds` (what
/// the clients send), default 30 s.
fn invisibility(c: &Call) -> Result<Duration, ApiError> {
    let given = c
        .query
        .get("invisibilityWindow")
        .or_else(|| c.query.get("invisibilityTimeoutSeconds"));
    let secs = match given.filter(|g| !g.is_empty()) {
        None => DEFAULT_INVISIBILITY_SECS,
        Some(g) => parse_duration(&Value::String(g.to_owned()))
            .filter(|s| *s > 0.0)
            .ok_or_else(|| bad("InvalidRequest: invisibilityWindow is a number of seconds above 0 ending with `s`"))?,
    };
    Ok(Duration::from_secs_f64(
        secs.min(MAX_EXPIRATION_SECS as f64),
    ))
}

async fn queue_read(mut c: Call) -> Reply {
    // rblx-open-cloud sends `{}` with this GET; read it, so the answer never
    // races a body still arriving on a keep-alive connection.
    let _ = c.body().await?;
    let count = c
        .query
        .number("count", 1usize)?
        .clamp(1, MAX_READ_COUNT_OPEN_CLOUD);
    let all_or_nothing = c.query.flag("allOrNothing")?;
    let options = ReadOptions {
        count,
        all_or_nothing,
        wait: Duration::ZERO,
        invisibility: invisibility(&c)?,
    };
    let name = c.param("queue");
    let (items, id) = c
        .state
        .memory
        .queue(c.universe, name)
        .read_items(options)
        .await?;
    if all_or_nothing && id.is_none() {
        return Err(ApiError::not_found(D::NotFound, format!("NoItemFound: fewer than {count} items are visible in queue `{name}` (allOrNothing)")));
    }
    let id = id.unwrap_or_default();
    let items: Vec<wire::OcQueueItem> = items
        .into_iter()
        .enumerate()
        .map(|(n, i)| wire::OcQueueItem {
            path: format!(
                "cloud/v2/universes/{}/memory-store/queues/{name}/items/{id}-{n}",
                c.universe
            ),
            data: i.value,
            priority: i.priority,
            expire_time: body_time(i.expire_ms),
            id: format!("{id}-{n}"),
        })
        .collect();
    ok(&wire::OcRead {
        read_id: id.clone(),
        data: items.iter().map(|i| i.data.clone()).collect(),
        items,
        id,
    })
}

async fn discard(mut c: Call) -> Reply {
    let body = object(&c.body().await?)?;
    let from_query = c.query.get("readId").map(str::to_owned);
    let id = from_query
        .or_else(|| {
            field(&body, "readId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .filter(|i| !i.is_empty())
        .ok_or_else(|| {
            bad("InvalidRequest: readId is required (`?readId=` or `readId` in the body)")
        })?;
    c.state
        .memory
        .queue(c.universe, c.param("queue"))
        .remove(&id)
        .await?;
    ok(&json!({}))
}

fn operation_body(universe: u64, id: &str) -> wire::Operation {
    wire::Operation {
        // With the `cloud/v2` prefix, as the docs describe it: openblox
        // polls `path.split("/")[5]`.
        path: format!("cloud/v2/universes/{universe}/operations/{id}"),
        done: true,
        response: json!({"@type": wire::FLUSH_RESPONSE_TYPE}),
    }
}

async fn flush(mut c: Call) -> Reply {
    object(&c.body().await?)?;
    let id = c.state.memory.flush(c.universe).await?;
    ok(&operation_body(c.universe, &id))
}

async fn operation(c: Call) -> Reply {
    let id = c.param("id");
    if !c.state.memory.flush_operation(c.universe, id).await? {
        return Err(ApiError::not_found(
            D::NotFound,
            format!("no operation `{id}` in universe {}", c.universe),
        ));
    }
    ok(&operation_body(c.universe, id))
}
