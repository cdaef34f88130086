//! The remote backend: memory store calls as engine API requests
//! (`docs/engine-api.md`, memory section) to a profilestore server.
//!
//! Owns: [`Remote`], the request of each call and the reading of its
//! answer with the `opencloud::memory` types. Invariants: the handles
//! checked every input before a call gets here; an error answer whose
//! message is one only a server can give (quota, item count, conflict)
//! comes back as that `MemoryStoreError` variant, any other as
//! `Remote(..)`; a queue read that waits gives the server its wait plus
//! the client's timeout.

use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::types::{RangeQuery, SortedWrite};
use super::*;
use crate::opencloud::memory as wire;
use crate::remote::{status_error, RemoteClient, RemoteError};

/// A profilestore server's memory stores.
#[derive(Clone, Debug)]
pub(super) struct Remote {
    client: RemoteClient,
}

fn seg(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

fn expect_json(expect: &Expect) -> Option<Value> {
    match expect {
        Expect::Any => None,
        Expect::Absent => Some(Value::Null),
        Expect::Etag(e) => Some(Value::String(e.clone())),
    }
}

impl Remote {
    pub(super) fn new(client: RemoteClient) -> Self {
        Remote { client }
    }

    fn path(universe: u64, kind: &str, name: &str, rest: &str) -> String {
        format!(
            "/engine-api/v1/universes/{universe}/memory-store/{kind}/{}{rest}",
            seg(name)
        )
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        wait: Duration,
    ) -> Result<T> {
        let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let answer = self.client.send(method, path, &[], bytes, wait).await?;
        if answer.status != StatusCode::OK {
            let e = status_error(&answer);
            if let RemoteError::Status { message, .. } = &e {
                if let Some(known) = MemoryStoreError::from_message(message) {
                    return Err(known);
                }
            }
            return Err(e.into());
        }
        serde_json::from_slice(&answer.body).map_err(|e| {
            self.client
                .protocol(format!("unexpected memory store answer: {e}"))
                .into()
        })
    }

    fn to_json<T: serde::Serialize>(body: &T) -> Option<Value> {
        serde_json::to_value(body).ok()
    }

    pub(super) async fn sorted_put(
        &self,
        universe: u64,
        name: &str,
        w: SortedWrite<'_>,
    ) -> Result<Written<SortedItem>> {
        let path = Self::path(
            universe,
            "sorted-maps",
            name,
            &format!("/items/{}", seg(w.key)),
        );
        let body = wire::Put {
            value: w.value,
            expiration: w.expiration_secs as f64,
            sort_key: w.sort_key,
            expect: expect_json(&w.expect),
        };
        let a: wire::PutAnswer<wire::SortedItem> = self
            .call(Method::PUT, &path, Self::to_json(&body), Duration::ZERO)
            .await?;
        self.written(a, sorted_item)
    }

    /// A conditional `PUT`'s answer as a [`Written`]: a written answer
    /// must carry its item.
    fn written<W, T>(&self, a: wire::PutAnswer<W>, item: fn(W) -> T) -> Result<Written<T>> {
        Ok(match (a.written, a.item.map(item)) {
            (true, Some(item)) => Written::Written {
                new: a.new.unwrap_or(false),
                item,
            },
            (true, None) => {
                return Err(self
                    .client
                    .protocol("a written answer without its item")
                    .into())
            }
            (false, current) => Written::Conflict { current },
        })
    }

    pub(super) async fn sorted_get(
        &self,
        universe: u64,
        name: &str,
        key: &str,
    ) -> Result<Option<SortedItem>> {
        let path = Self::path(
            universe,
            "sorted-maps",
            name,
            &format!("/items/{}", seg(key)),
        );
        let a: wire::ItemAnswer<wire::SortedItem> =
            self.call(Method::GET, &path, None, Duration::ZERO).await?;
        Ok(a.item.map(sorted_item))
    }

    pub(super) async fn sorted_remove(&self, universe: u64, name: &str, key: &str) -> Result<()> {
        let path = Self::path(
            universe,
            "sorted-maps",
            name,
            &format!("/items/{}", seg(key)),
        );
        let _: Value = self
            .call(Method::DELETE, &path, None, Duration::ZERO)
            .await?;
        Ok(())
    }

    pub(super) async fn sorted_range(
        &self,
        universe: u64,
        name: &str,
        q: &RangeQuery,
    ) -> Result<Vec<SortedItem>> {
        let path = Self::path(universe, "sorted-maps", name, "/items:range");
        let body = wire::RangeRequest {
            direction: q.direction,
            count: q.count as i64,
            lower: q.lower.clone(),
            upper: q.upper.clone(),
        };
        let a: wire::Items<wire::RangeItem> = self
            .call(Method::POST, &path, Self::to_json(&body), Duration::ZERO)
            .await?;
        Ok(a.items
            .into_iter()
            .map(|i| SortedItem {
                key: i.key,
                value: i.value,
                sort_key: i.sort_key,
                etag: String::new(),
                expire_ms: 0,
            })
            .collect())
    }

    pub(super) async fn sorted_size(&self, universe: u64, name: &str) -> Result<usize> {
        let path = Self::path(universe, "sorted-maps", name, ":size");
        let a: wire::Size = self.call(Method::GET, &path, None, Duration::ZERO).await?;
        Ok(a.size as usize)
    }

    pub(super) async fn queue_add(
        &self,
        universe: u64,
        name: &str,
        value: Value,
        expiration_secs: u64,
        priority: f64,
    ) -> Result<()> {
        let path = Self::path(universe, "queues", name, "/items:add");
        let body = wire::QueueAdd {
            value,
            expiration: expiration_secs as f64,
            priority,
        };
        let _: Value = self
            .call(Method::POST, &path, Self::to_json(&body), Duration::ZERO)
            .await?;
        Ok(())
    }

    pub(super) async fn queue_read(
        &self,
        universe: u64,
        name: &str,
        o: &ReadOptions,
    ) -> Result<QueueRead> {
        let path = Self::path(universe, "queues", name, "/items:read");
        let body = wire::QueueRead {
            count: o.count as i64,
            all_or_nothing: o.all_or_nothing,
            wait_timeout: o.wait.as_secs_f64(),
            invisibility_timeout: o.invisibility.as_secs_f64(),
        };
        let a: wire::QueueReadAnswer = self
            .call(Method::POST, &path, Self::to_json(&body), o.wait)
            .await?;
        Ok(QueueRead {
            values: a.items,
            id: a.id,
        })
    }

    pub(super) async fn queue_remove(
        &self,
        universe: u64,
        name: &str,
        read_id: &str,
    ) -> Result<()> {
        let path = Self::path(universe, "queues", name, "/items:remove");
        let body = wire::QueueRemove {
            id: read_id.to_owned(),
        };
        let _: Value = self
            .call(Method::POST, &path, Self::to_json(&body), Duration::ZERO)
            .await?;
        Ok(())
    }

    pub(super) async fn queue_size(
        &self,
        universe: u64,
        name: &str,
        exclude_invisible: bool,
    ) -> Result<usize> {
        let path = Self::path(
            universe,
            "queues",
            name,
            &format!(":size?excludeInvisible={exclude_invisible}"),
        );
        let a: wire::Size = self.call(Method::GET, &path, None, Duration::ZERO).await?;
        Ok(a.size as usize)
    }

    pub(super) async fn queue_peek(
        &self,
        universe: u64,
        name: &str,
        count: usize,
    ) -> Result<Vec<QueuedItem>> {
        let path = Self::path(
            universe,
            "queues",
            name,
            &format!("/items:peek?count={count}"),
        );
        let a: wire::Items<wire::PeekItem> =
            self.call(Method::GET, &path, None, Duration::ZERO).await?;
        let time = |t: &str| crate::opencloud::time::parse_time(t).unwrap_or(0);
        Ok(a.items
            .into_iter()
            .map(|i| QueuedItem {
                value: i.value,
                priority: i.priority,
                expire_ms: time(&i.expire_time),
                invisible_until: i.invisible_until.as_deref().map(time),
            })
            .collect())
    }

    pub(super) async fn hash_put(
        &self,
        universe: u64,
        name: &str,
        key: &str,
        value: Value,
        expiration_secs: u64,
        expect: Expect,
    ) -> Result<Written<HashItem>> {
        let path = Self::path(universe, "hash-maps", name, &format!("/items/{}", seg(key)));
        let body = wire::Put {
            value,
            expiration: expiration_secs as f64,
            sort_key: None,
            expect: expect_json(&expect),
        };
        let a: wire::PutAnswer<wire::HashItem> = self
            .call(Method::PUT, &path, Self::to_json(&body), Duration::ZERO)
            .await?;
        self.written(a, hash_item)
    }

    pub(super) async fn hash_get(
        &self,
        universe: u64,
        name: &str,
        key: &str,
    ) -> Result<Option<HashItem>> {
        let path = Self::path(universe, "hash-maps", name, &format!("/items/{}", seg(key)));
        let a: wire::ItemAnswer<wire::HashItem> =
            self.call(Method::GET, &path, None, Duration::ZERO).await?;
        Ok(a.item.map(hash_item))
    }

    pub(super) async fn hash_remove(&self, universe: u64, name: &str, key: &str) -> Result<()> {
        let path = Self::path(universe, "hash-maps", name, &format!("/items/{}", seg(key)));
        let _: Value = self
            .call(Method::DELETE, &path, None, Duration::ZERO)
            .await?;
        Ok(())
    }

    pub(super) async fn hash_page(
        &self,
        universe: u64,
        name: &str,
        count: usize,
        cursor: Option<&str>,
    ) -> Result<HashPage> {
        let cursor = cursor
            .map(|c| format!("&cursor={}", seg(c)))
            .unwrap_or_default();
        let path = Self::path(
            universe,
            "hash-maps",
            name,
            &format!("/items?count={count}{cursor}"),
        );
        let a: wire::HashList = self.call(Method::GET, &path, None, Duration::ZERO).await?;
        Ok(HashPage {
            items: a.items.into_iter().map(|i| (i.key, i.value)).collect(),
            cursor: a.next_cursor,
        })
    }

    /// Open Cloud's `memory-store:flush` (the engine API has no flush).
    pub(super) async fn flush(&self, universe: u64) -> Result<String> {
        let path = format!("/cloud/v2/universes/{universe}/memory-store:flush");
        let op: wire::Operation = self.call(Method::POST, &path, None, Duration::ZERO).await?;
        Ok(op.path.rsplit('/').next().unwrap_or_default().to_owned())
    }
}

fn sorted_item(i: wire::SortedItem) -> SortedItem {
    SortedItem {
        key: i.key,
        value: i.value,
        sort_key: i.sort_key,
        etag: i.etag,
        expire_ms: 0,
    }
}

fn hash_item(i: wire::HashItem) -> HashItem {
    HashItem {
        key: i.key,
        value: i.value,
        etag: i.etag,
        expire_ms: 0,
    }
}
