//! The queue and hash map handles (the sorted map's is in `mod.rs`).
//!
//! Owns: [`Queue`] (`MemoryStoreQueue`) and [`HashMap`]
//! (`MemoryStoreHashMap`): input checks, then one backend arm per call.
//! Invariants: as `mod.rs`; a waiting queue read waits on the service's
//! clock (simulated time works) and answers early as soon as items come.

use serde_json::Value;

use super::error::{self, MemoryStoreError};
use super::types::{check_hash_write, check_structure};
use super::*;

/// A queue (`MemoryStoreQueue`).
#[derive(Clone, Debug)]
pub struct Queue(pub(super) Handle);

impl Queue {
    fn check(&self) -> Result<()> {
        check_structure(&self.0.name, "queue name")
    }

    /// `AddAsync`: adds `value` with `priority` (higher is read first).
    pub async fn add(&self, value: Value, expiration_secs: u64, priority: f64) -> Result<()> {
        let h = &self.0;
        self.check()?;
        error::check_expiration(expiration_secs)?;
        error::check_priority(priority)?;
        let bytes = error::check_value(&value)?;
        match &h.service.backend {
            Backend::Near(n) => {
                let add = n.queue_add(h.universe, &h.name, value, bytes, expiration_secs, priority);
                h.faulted(Op::QueueAdd, None, add).await
            }
            Backend::Remote(r) => {
                r.queue_add(h.universe, &h.name, value, expiration_secs, priority)
                    .await
            }
        }
    }

    /// `ReadAsync`: up to `count` (1..=100) items, waiting up to
    /// `options.wait` for them; read items are invisible for
    /// `options.invisibility` unless removed with the read id.
    pub async fn read(&self, options: ReadOptions) -> Result<QueueRead> {
        let h = &self.0;
        self.check()?;
        options.check(MAX_READ_COUNT)?;
        match &h.service.backend {
            Backend::Near(n) => {
                let read = n.queue_read(h.universe, &h.name, &options);
                let (items, id) = h.faulted(Op::QueueRead, None, read).await?;
                let values = items.into_iter().map(|i| i.value).collect();
                Ok(QueueRead { values, id })
            }
            Backend::Remote(r) => r.queue_read(h.universe, &h.name, &options).await,
        }
    }

    /// A read of up to 200 items with their priorities and expiry times
    /// (Open Cloud's `items:read`). Local and shared backends only: the
    /// engine API reads values (a remote service answers
    /// `Remote(Unsupported)`).
    pub async fn read_items(
        &self,
        options: ReadOptions,
    ) -> Result<(Vec<QueuedItem>, Option<String>)> {
        let h = &self.0;
        self.check()?;
        options.check(MAX_READ_COUNT_OPEN_CLOUD)?;
        match &h.service.backend {
            Backend::Near(n) => {
                let read = n.queue_read(h.universe, &h.name, &options);
                h.faulted(Op::QueueRead, None, read).await
            }
            Backend::Remote(_) => Err(crate::remote::RemoteError::Unsupported {
                what: "an Open Cloud queue read",
            }
            .into()),
        }
    }

    /// `RemoveAsync`: removes the items of a read (nothing once its
    /// invisibility window has ended, or for an unknown id).
    pub async fn remove(&self, read_id: &str) -> Result<()> {
        let h = &self.0;
        self.check()?;
        if read_id.is_empty() {
            return Err(MemoryStoreError::EmptyName { what: "read id" });
        }
        match &h.service.backend {
            Backend::Near(n) => {
                let remove = n.apply(h.universe, |u, cx| Ok(u.queue_remove(cx, &h.name, read_id)));
                h.faulted(Op::QueueRemove, None, remove).await?;
                Ok(())
            }
            Backend::Remote(r) => r.queue_remove(h.universe, &h.name, read_id).await,
        }
    }

    /// `GetSizeAsync`: live items, without invisible ones when
    /// `exclude_invisible`.
    pub async fn size(&self, exclude_invisible: bool) -> Result<usize> {
        let h = &self.0;
        self.check()?;
        match &h.service.backend {
            Backend::Near(n) => {
                let size = |u: &mut universe::Universe, cx: &universe::Ctx<'_>| {
                    u.queue_size(cx, &h.name, exclude_invisible)
                };
                n.view(h.universe, size).await
            }
            Backend::Remote(r) => r.queue_size(h.universe, &h.name, exclude_invisible).await,
        }
    }

    /// The first `count` (1..=200) items in read order, invisible ones
    /// included, changing nothing (inspection: CLI, dashboard).
    pub async fn peek(&self, count: usize) -> Result<Vec<QueuedItem>> {
        let h = &self.0;
        self.check()?;
        error::check_count("count", count, MAX_READ_COUNT_OPEN_CLOUD)?;
        match &h.service.backend {
            Backend::Near(n) => {
                n.view(h.universe, |u, cx| u.queue_peek(cx, &h.name, count))
                    .await
            }
            Backend::Remote(r) => r.queue_peek(h.universe, &h.name, count).await,
        }
    }
}

/// A hash map (`MemoryStoreHashMap`).
#[derive(Clone, Debug)]
pub struct HashMap(pub(super) Handle);

impl HashMap {
    fn check(&self, key: &str) -> Result<()> {
        check_structure(&self.0.name, "hash map name")?;
        error::check_key(key)
    }

    /// `SetAsync`: writes `key`; returns true when it did not exist (the
    /// engine method returns the opposite, true when an existing key was
    /// overwritten: the Luau client inverts this).
    pub async fn set(&self, key: &str, value: Value, expiration_secs: u64) -> Result<bool> {
        match self.put(key, value, expiration_secs, Expect::Any).await? {
            Written::Written { new, .. } => Ok(new),
            Written::Conflict { .. } => Err(MemoryStoreError::UpdateConflict),
        }
    }

    /// A conditional write.
    pub async fn put(
        &self,
        key: &str,
        value: Value,
        expiration_secs: u64,
        expect: Expect,
    ) -> Result<Written<HashItem>> {
        let h = &self.0;
        let bytes = check_hash_write(&h.name, key, &value, expiration_secs)?;
        match &h.service.backend {
            Backend::Near(n) => {
                let put = n.apply(h.universe, |u, cx| {
                    let v = value.clone();
                    u.hash_put(cx, &h.name, key, v, bytes, expiration_secs, &expect)
                });
                h.faulted(Op::HashMapSet, Some(key), put).await
            }
            Backend::Remote(r) => {
                r.hash_put(h.universe, &h.name, key, value, expiration_secs, expect)
                    .await
            }
        }
    }

    /// `GetAsync`.
    pub async fn get(&self, key: &str) -> Result<Option<Value>> {
        Ok(self.get_item(key).await?.map(|i| i.value))
    }

    /// The whole item of `key`.
    pub async fn get_item(&self, key: &str) -> Result<Option<HashItem>> {
        let h = &self.0;
        self.check(key)?;
        match &h.service.backend {
            Backend::Near(n) => {
                let get = n.view(h.universe, |u, cx| u.hash_get(cx, &h.name, key));
                h.faulted(Op::HashMapGet, Some(key), get).await
            }
            Backend::Remote(r) => r.hash_get(h.universe, &h.name, key).await,
        }
    }

    /// `UpdateAsync`: as [`SortedMap::update`], on values.
    pub async fn update(
        &self,
        key: &str,
        expiration_secs: u64,
        mut transform: impl FnMut(Option<Value>) -> Option<Value>,
    ) -> Result<Option<Value>> {
        error::check_expiration(expiration_secs)?;
        let mut backoff = update_backoff();
        for _ in 0..UPDATE_RETRIES {
            let current = self.get_item(key).await?;
            let expect = expect_of(current.as_ref().map(|i| i.etag.as_str()));
            let Some(value) = transform(current.map(|i| i.value)) else {
                return Ok(None);
            };
            match self
                .put(key, value.clone(), expiration_secs, expect)
                .await?
            {
                Written::Written { .. } => return Ok(Some(value)),
                Written::Conflict { .. } => self.0.service.clock.sleep(backoff.fail()).await,
            }
        }
        Err(MemoryStoreError::UpdateConflict)
    }

    /// `RemoveAsync`.
    pub async fn remove(&self, key: &str) -> Result<()> {
        let h = &self.0;
        self.check(key)?;
        match &h.service.backend {
            Backend::Near(n) => {
                let remove = n.apply(h.universe, |u, _| Ok(u.hash_remove(&h.name, key)));
                h.faulted(Op::HashMapRemove, Some(key), remove).await?;
                Ok(())
            }
            Backend::Remote(r) => r.hash_remove(h.universe, &h.name, key).await,
        }
    }

    /// `ListItemsAsync`: a page of up to `count` (1..=200) items after
    /// `cursor` (from the previous page).
    pub async fn list_items(&self, count: usize, cursor: Option<&str>) -> Result<HashPage> {
        let h = &self.0;
        check_structure(&h.name, "hash map name")?;
        error::check_count("count", count, MAX_LIST_COUNT)?;
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(hash_map::parse_cursor(c).ok_or(MemoryStoreError::InvalidCursor)?),
        };
        match &h.service.backend {
            Backend::Near(n) => {
                let after = after.as_deref();
                let page = n.view(h.universe, |u, cx| u.hash_page(cx, &h.name, count, after));
                h.faulted(Op::HashMapList, None, page).await
            }
            Backend::Remote(r) => r.hash_page(h.universe, &h.name, count, cursor).await,
        }
    }
}
