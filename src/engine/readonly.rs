//! Read-only access: `GetAsync`, `SetAsync`, `VersionQuery`, `RemoveAsync`.
//!
//! Owns: [`ReadOnlyProfile`] (a profile read without a session; it never
//! auto-saves and has no `save`, only [`ReadOnlyProfile::set`]) and
//! [`VersionQuery`]. Invariants: reading never writes (and never reports
//! an overwrite); `set` overwrites data, metadata, user ids and processed
//! messages and clears `ActiveSession` and `ForceLoadSession` in one
//! DataStore update, so a live session elsewhere loses its fence.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::config::EngineError;
use super::document::{classify, ProfileDocument, SessionOwner, Stored};
use super::store::{write_options_of, ProfileStore};
use crate::datastore::{Entry, KeyInfo, ListVersionsOptions, SortOrder, Transform};

/// A profile read without a session.
#[derive(Clone, Debug)]
pub struct ReadOnlyProfile {
    store: ProfileStore,
    key: String,
    doc: ProfileDocument,
    key_info: KeyInfo,
}

fn read(store: &ProfileStore, key: &str, entry: Option<Entry>) -> Option<ReadOnlyProfile> {
    let entry = entry?;
    match classify(Some(&entry.value)) {
        Stored::Profile(doc) => Some(ReadOnlyProfile {
            store: store.clone(),
            key: key.to_owned(),
            doc: *doc,
            key_info: entry.info,
        }),
        _ => None,
    }
}

impl ReadOnlyProfile {
    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `Data`.
    pub fn data(&self) -> &Value {
        &self.doc.data
    }

    /// `Data`, to edit before [`ReadOnlyProfile::set`].
    pub fn data_mut(&mut self) -> &mut Value {
        &mut self.doc.data
    }

    /// `RobloxMetaData`, to edit before [`ReadOnlyProfile::set`].
    pub fn roblox_metadata_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.doc.roblox_metadata
    }

    /// `UserIds`.
    pub fn user_ids(&self) -> &[i64] {
        &self.doc.user_ids
    }

    /// The version's key info.
    pub fn key_info(&self) -> &KeyInfo {
        &self.key_info
    }

    /// `Session`: the owner when this was read, if any.
    pub fn session(&self) -> Option<&SessionOwner> {
        self.doc.meta.active_session.as_ref()
    }

    /// `SessionLoadCount`.
    pub fn session_load_count(&self) -> u64 {
        self.doc.meta.session_load_count
    }

    /// Pending messages (`[index, message]`).
    pub fn messages(&self) -> Vec<(u64, Value)> {
        self.doc
            .messages
            .entries
            .iter()
            .map(|e| (e.index(), e.payload().clone()))
            .collect()
    }

    /// `SetAsync()`: writes `Data`, metadata and user ids over the stored
    /// profile and clears its session, ending any session elsewhere at its
    /// next save.
    pub async fn set(&mut self) -> Result<(), EngineError> {
        let store = &self.store;
        let _turn = store.state().queue(&store.queue_key(&self.key)).await;
        store.state().check_alive()?;
        let mine = self.doc.clone();
        let written = store
            .ds()
            .update(&self.key, |current, _| {
                let mut doc = match classify(current) {
                    Stored::Profile(doc) => *doc,
                    _ => mine.clone(),
                };
                doc.data = mine.data.clone();
                doc.roblox_metadata = mine.roblox_metadata.clone();
                doc.user_ids = mine.user_ids.clone();
                doc.meta.active_session = None;
                doc.meta.force_load_session = None;
                let value = doc.to_value();
                Transform::Write {
                    options: write_options_of(&value),
                    value,
                }
            })
            .await?;
        if let Some(entry) = written {
            if let Stored::Profile(doc) = classify(Some(&entry.value)) {
                self.doc = *doc;
            }
            self.key_info = entry.info;
        }
        Ok(())
    }
}

/// Pages through a key's versions, oldest or newest first (`VersionQuery`).
#[derive(Debug)]
pub struct VersionQuery {
    store: ProfileStore,
    key: String,
    options: tokio::sync::Mutex<(ListVersionsOptions, Vec<String>, bool)>,
}

impl VersionQuery {
    /// The next version as a read-only profile; `None` when done. Concurrent
    /// calls are answered in call order.
    pub async fn next(&self) -> Result<Option<ReadOnlyProfile>, EngineError> {
        let mut guard = self.options.lock().await;
        let (options, buffered, finished) = &mut *guard;
        loop {
            if let Some(version) = buffered.pop() {
                let entry = self.store.ds().get_version(&self.key, &version).await?;
                match read(&self.store, &self.key, entry) {
                    Some(p) => return Ok(Some(p)),
                    None => continue, // a tombstone or a non-profile version
                }
            }
            if *finished {
                return Ok(None);
            }
            let page = self.store.ds().list_versions(&self.key, options).await?;
            // Buffer in reverse so `pop` keeps the listing's order.
            buffered.extend(page.items.into_iter().rev().map(|v| v.version));
            match page.cursor {
                Some(c) => options.cursor = Some(c),
                None => *finished = true,
            }
        }
    }
}

impl ProfileStore {
    /// `GetAsync(key, version?)`: the profile without a session, or `None`
    /// when there is no profile (or the version holds none).
    pub async fn get(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<ReadOnlyProfile>, EngineError> {
        let this = self.data().await;
        let entry = match version {
            Some(v) => this.ds().get_version(key, v).await?,
            None => this.ds().get(key).await?,
        };
        Ok(read(&this, key, entry))
    }

    /// `VersionQuery(key, direction?, min_date?, max_date?)`: dates in epoch
    /// milliseconds, inclusive.
    pub fn version_query(
        &self,
        key: &str,
        order: SortOrder,
        min_ms: Option<i64>,
        max_ms: Option<i64>,
    ) -> VersionQuery {
        VersionQuery {
            store: self.clone(),
            key: key.to_owned(),
            options: tokio::sync::Mutex::new((
                ListVersionsOptions {
                    order,
                    min_ms,
                    max_ms,
                    page_size: 0,
                    cursor: None,
                },
                Vec::new(),
                false,
            )),
        }
    }

    /// `RemoveAsync(key)`: deletes the profile (a tombstone version).
    pub async fn remove(&self, key: &str) -> Result<(), EngineError> {
        let this = self.data().await;
        let _turn = this.state().queue(&this.queue_key(key)).await;
        this.state().check_alive()?;
        this.ds().remove(key).await?;
        Ok(())
    }
}

/// Shared handle type for callers that keep a query across tasks.
pub type SharedVersionQuery = Arc<VersionQuery>;
