//! MemoryStoreService over HTTP: the engine API
//! (`/engine-api/v1/universes/{u}/memory-store/...`, what the Luau client
//! and remote services call, exactly as `docs/engine-api.md` says) here,
//! Open Cloud v2 (`/cloud/v2/universes/{u}/memory-store/...`,
//! `memory-store:flush` and its operations) in `memory_v2.rs`.
//!
//! Owns: the engine table, reading its bodies, and queue reads that wait.
//! Invariants: a read that waits holds a long-poll slot (`server.
//! max_long_polls`; none free is a 429), waits at most the long-poll cap
//! ([`super::messaging::MAX_POLL`]) and ends, answering what is there, when
//! the server shuts down; statuses come from `error.rs`.

use std::sync::LazyLock;
use std::time::Duration;

use hyper::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{ApiError, Style};
use super::request::{self, Query};
use super::router::{handler, Call, Reply, Route, Table};
use crate::memorystore::{
    Expect, MemoryStoreError, ReadOptions, SortedItem, Written, DEFAULT_WAIT_SECS,
    MAX_EXPIRATION_SECS,
};
use crate::opencloud::codes::DetailCode as D;
use crate::opencloud::memory as wire;
use crate::opencloud::time::body_time;

#[path = "memory_v2.rs"]
mod v2;

pub(super) use v2::TABLE_V2;

/// Engine API memory store routes, after `/engine-api/v1/universes/{u}`.
pub(super) static ENGINE: LazyLock<Table> = LazyLock::new(|| {
    let sorted_item = Route::new()
        .on(Method::GET, handler(sorted_get))
        .on(Method::PUT, handler(sorted_put))
        .on(Method::DELETE, handler(sorted_remove));
    let hash_item = Route::new()
        .on(Method::GET, handler(hash_get))
        .on(Method::PUT, handler(hash_put))
        .on(Method::DELETE, handler(hash_remove));
    Table::new(Style::V2, "no such engine API endpoint")
        .route("/memory-store/sorted-maps/{map}/items/{key}", sorted_item)
        .route(
            "/memory-store/sorted-maps/{map}/items:range",
            Route::new().on(Method::POST, handler(sorted_range)),
        )
        .route(
            "/memory-store/sorted-maps/{map}",
            Route::new()
                .verb("size", Method::GET, handler(sorted_size))
                .verb_required(),
        )
        .route(
            "/memory-store/queues/{queue}/items:add",
            Route::new().on(Method::POST, handler(queue_add)),
        )
        .route(
            "/memory-store/queues/{queue}/items:read",
            Route::new().on(Method::POST, handler(queue_read)),
        )
        .route(
            "/memory-store/queues/{queue}/items:remove",
            Route::new().on(Method::POST, handler(queue_remove)),
        )
        .route(
            "/memory-store/queues/{queue}/items:peek",
            Route::new().on(Method::GET, handler(queue_peek)),
        )
        .route(
            "/memory-store/queues/{queue}",
            Route::new()
                .verb("size", Method::GET, handler(queue_size))
                .verb_required(),
        )
        .route("/memory-store/hash-maps/{map}/items/{key}", hash_item)
        .route(
            "/memory-store/hash-maps/{map}/items",
            Route::new().on(Method::GET, handler(hash_list)),
        )
});

/// A JSON body of type `T`, else a 400 saying what is wrong.
pub(super) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            D::Unknown,
            format!("InvalidRequest: the body does not fit: {e}"),
        )
    })
}

/// An expiration in seconds as sent (a number), checked and rounded up.
pub(super) fn expiration(secs: f64) -> Result<u64, MemoryStoreError> {
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_EXPIRATION_SECS as f64 {
        return Err(MemoryStoreError::InvalidExpiration { given: secs });
    }
    Ok(secs.ceil() as u64)
}

fn ok<T: serde::Serialize>(body: &T) -> Reply {
    Ok(request::json(StatusCode::OK, body))
}

fn empty() -> Reply {
    ok(&crate::opencloud::v2::Empty {})
}

fn expect(given: Option<Value>) -> Result<Expect, ApiError> {
    match given {
        None => Ok(Expect::Any),
        Some(Value::Null) => Ok(Expect::Absent),
        Some(Value::String(e)) => Ok(Expect::Etag(e)),
        Some(_) => Err(ApiError::bad_request(
            D::Unknown,
            "InvalidRequest: `expect` is null or an etag string",
        )),
    }
}

fn put_answer<I, T: serde::Serialize>(w: Written<I>, shown: impl Fn(I) -> T) -> Reply {
    let answer = match w {
        Written::Written { new, item } => wire::PutAnswer {
            written: true,
            new: Some(new),
            item: Some(shown(item)),
        },
        Written::Conflict { current } => wire::PutAnswer {
            written: false,
            new: None,
            item: current.map(shown),
        },
    };
    ok(&answer)
}

fn sorted_wire(i: SortedItem) -> wire::SortedItem {
    wire::SortedItem {
        key: i.key,
        value: i.value,
        sort_key: i.sort_key,
        etag: i.etag,
    }
}

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

async fn sorted_get(c: Call) -> Reply {
    let map = c.state.memory.sorted_map(c.universe, c.param("map"));
    let item = map.get_item(c.param("key")).await?;
    ok(&wire::ItemAnswer {
        item: item.map(sorted_wire),
    })
}

async fn sorted_put(mut c: Call) -> Reply {
    let body: wire::Put = parse(&c.body().await?)?;
    let map = c.state.memory.sorted_map(c.universe, c.param("map"));
    let secs = expiration(body.expiration)?;
    let w = map
        .put(
            c.param("key"),
            body.value,
            secs,
            body.sort_key,
            expect(body.expect)?,
        )
        .await?;
    put_answer(w, sorted_wire)
}

async fn sorted_remove(c: Call) -> Reply {
    let map = c.state.memory.sorted_map(c.universe, c.param("map"));
    map.remove(c.param("key")).await?;
    empty()
}

async fn sorted_range(mut c: Call) -> Reply {
    let body: wire::RangeRequest = parse(&c.body().await?)?;
    let map = c.state.memory.sorted_map(c.universe, c.param("map"));
    let items = map
        .get_range(body.direction, count(body.count), body.lower, body.upper)
        .await?;
    let items = items
        .into_iter()
        .map(|i| wire::RangeItem {
            key: i.key,
            value: i.value,
            sort_key: i.sort_key,
        })
        .collect();
    ok(&wire::Items { items })
}

async fn sorted_size(c: Call) -> Reply {
    let size = c
        .state
        .memory
        .sorted_map(c.universe, c.param("map"))
        .size()
        .await?;
    ok(&wire::Size { size: size as u64 })
}

async fn queue_add(mut c: Call) -> Reply {
    let body: wire::QueueAdd = parse(&c.body().await?)?;
    let queue = c.state.memory.queue(c.universe, c.param("queue"));
    queue
        .add(body.value, expiration(body.expiration)?, body.priority)
        .await?;
    empty()
}

/// `waitTimeout`: -1 is the default 30 s; other negatives and NaN are
/// refused; longer waits are cut to the long-poll cap.
fn wait_of(secs: f64) -> Result<Duration, MemoryStoreError> {
    let secs = if secs == -1.0 {
        DEFAULT_WAIT_SECS
    } else {
        secs
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(MemoryStoreError::InvalidNumber {
            what: "waitTimeout",
            rule: "must be -1 or a number of seconds from 0 up",
            given: secs,
        });
    }
    Ok(Duration::from_secs_f64(secs).min(super::messaging::MAX_POLL))
}

async fn queue_read(mut c: Call) -> Reply {
    let body: wire::QueueRead = parse(&c.body().await?)?;
    let invisibility = body.invisibility_timeout;
    if !invisibility.is_finite() || invisibility <= 0.0 {
        return Err(MemoryStoreError::InvalidNumber {
            what: "invisibilityTimeout",
            rule: "must be a number of seconds above 0",
            given: invisibility,
        }
        .into());
    }
    let options = ReadOptions {
        count: count(body.count),
        all_or_nothing: body.all_or_nothing,
        wait: wait_of(body.wait_timeout)?,
        invisibility: Duration::from_secs_f64(invisibility.min(1e9)),
    };
    let queue = c.state.memory.queue(c.universe, c.param("queue"));
    let read = if options.wait.is_zero() {
        queue.read(options).await?
    } else {
        let state = &c.state;
        let _slot = state
            .limits
            .try_long_poll()
            .ok_or_else(|| ApiError::too_many_long_polls(state.limits.max_long_polls))?;
        tokio::select! {
            r = queue.read(options) => r?,
            () = state.closing.cancelled() => {
                queue.read(ReadOptions { wait: Duration::ZERO, ..options }).await?
            }
        }
    };
    ok(&wire::QueueReadAnswer {
        items: read.values,
        id: read.id,
    })
}

async fn queue_remove(mut c: Call) -> Reply {
    let body: wire::QueueRemove = parse(&c.body().await?)?;
    let queue = c.state.memory.queue(c.universe, c.param("queue"));
    queue.remove(&body.id).await?;
    empty()
}

async fn queue_size(c: Call) -> Reply {
    let exclude = c.query.flag("excludeInvisible")?;
    let queue = c.state.memory.queue(c.universe, c.param("queue"));
    let size = queue.size(exclude).await?;
    ok(&wire::Size { size: size as u64 })
}

async fn queue_peek(c: Call) -> Reply {
    let n = c.query.number("count", 10i64)?;
    let queue = c.state.memory.queue(c.universe, c.param("queue"));
    let items = queue.peek(count(n)).await?;
    let items = items
        .into_iter()
        .map(|i| wire::PeekItem {
            value: i.value,
            priority: i.priority,
            expire_time: body_time(i.expire_ms),
            invisible_until: i.invisible_until.map(body_time),
        })
        .collect();
    ok(&wire::Items { items })
}

fn hash_wire(i: crate::memorystore::HashItem) -> wire::HashItem {
    wire::HashItem {
        key: i.key,
        value: i.value,
        etag: i.etag,
    }
}

async fn hash_get(c: Call) -> Reply {
    let map = c.state.memory.hash_map(c.universe, c.param("map"));
    let item = map.get_item(c.param("key")).await?;
    ok(&wire::ItemAnswer {
        item: item.map(hash_wire),
    })
}

async fn hash_put(mut c: Call) -> Reply {
    let body: wire::Put = parse(&c.body().await?)?;
    let map = c.state.memory.hash_map(c.universe, c.param("map"));
    let secs = expiration(body.expiration)?;
    let w = map
        .put(c.param("key"), body.value, secs, expect(body.expect)?)
        .await?;
    put_answer(w, hash_wire)
}

async fn hash_remove(c: Call) -> Reply {
    let map = c.state.memory.hash_map(c.universe, c.param("map"));
    map.remove(c.param("key")).await?;
    empty()
}

async fn hash_list(c: Call) -> Reply {
    let q: &Query = &c.query;
    let n = q.number("count", 0i64)?;
    let cursor = q.get("cursor");
    let map = c.state.memory.hash_map(c.universe, c.param("map"));
    let page = map.list_items(count(n), cursor).await?;
    let items = page
        .items
        .into_iter()
        .map(|(key, value)| wire::HashListItem { key, value })
        .collect();
    ok(&wire::HashList {
        items,
        next_cursor: page.cursor,
    })
}
