//! The local backend's reads and writes of one key: `GetAsync`,
//! `SetAsync` (with Open Cloud's preconditions), `UpdateAsync`,
//! `IncrementAsync` and `RemoveAsync`.
//!
//! Owns: the compare-and-swap loop of each call. Invariants: those of the
//! local backend (see its module): a write commits only over the version it
//! was decided on; a decision to write nothing is confirmed on storage;
//! at most [`RetryCap::LOCAL`] conflicts are tolerated.

use profilestore_plugin_api::{CommitOutcome, Expect, NewVersion, Supersede};
use serde_json::Value;

use super::{check_write, key_info, live_entry, Local, Snapshot};
use crate::datastore::{
    gave_up, DataStore, DataStoreError, DsResult, Entry, EntryText, KeyInfo, Precondition,
    RetryCap, SetOutcome, Transform, VersionId, WriteOptions,
};

impl Local {
    /// `GetAsync`: the latest value, or `None` if absent or deleted.
    pub(in crate::datastore) async fn get(
        &self,
        ds: &DataStore,
        key: &str,
    ) -> DsResult<Option<Entry>> {
        let id = ds.entry_id(key)?;
        match self.read_latest(&id).await? {
            Some(record) => live_entry(&record),
            None => Ok(None),
        }
    }

    /// [`Local::get`] with the stored JSON text, not parsed.
    pub(in crate::datastore) async fn get_text(
        &self,
        ds: &DataStore,
        key: &str,
    ) -> DsResult<Option<EntryText>> {
        let id = ds.entry_id(key)?;
        match self.read_latest(&id).await? {
            Some(record) if !record.info.deleted => Ok(Some(EntryText {
                text: record.value.clone(),
                info: key_info(&record)?,
            })),
            _ => Ok(None),
        }
    }

    /// Conditional set (Open Cloud v1 `exclusiveCreate` / `matchVersion`).
    ///
    /// `ExclusiveCreate` writes only if the key has no live value; a
    /// competing write that leaves the key non-live (a tombstone) does not
    /// fail it, the attempt is repeated. `MatchVersion` writes only if the
    /// latest version is exactly that id; an id that is not in Roblox's
    /// format is `InvalidVersion`. When the precondition fails nothing is
    /// written and the current live entry (if any) is returned.
    pub(in crate::datastore) async fn set_with(
        &self,
        ds: &DataStore,
        key: &str,
        value: &Value,
        options: &WriteOptions,
        precondition: &Precondition,
    ) -> DsResult<SetOutcome> {
        let id = ds.entry_id(key)?;
        let version = check_write(value, options)?;
        let wanted = match precondition {
            Precondition::MatchVersion(text) => Some(
                VersionId::parse(text)
                    .ok_or_else(|| DataStoreError::InvalidVersion(text.clone()))?,
            ),
            _ => None,
        };
        let mut latest = match precondition {
            Precondition::None => None,
            _ => self.read_latest(&id).await?,
        };
        for _ in 0..RetryCap::LOCAL {
            let expect = match (precondition, &wanted) {
                (Precondition::None, _) => Expect::Any,
                (Precondition::ExclusiveCreate, _) => match &latest {
                    Some(r) if !r.info.deleted => {
                        return Ok(SetOutcome::PreconditionFailed {
                            current: live_entry(r)?,
                        })
                    }
                    other => Expect::Current(other.as_ref().map(|r| r.info.seq)),
                },
                (Precondition::MatchVersion(_), Some(w)) => match &latest {
                    Some(r) if w.names(&r.info) => Expect::Current(Some(r.info.seq)),
                    other => {
                        return Ok(SetOutcome::PreconditionFailed {
                            current: other.as_ref().map(live_entry).transpose()?.flatten(),
                        })
                    }
                },
                (Precondition::MatchVersion(text), None) => {
                    return Err(DataStoreError::InvalidVersion(text.clone()))
                }
            };
            match self
                .commit(
                    &id,
                    expect,
                    version.clone(),
                    self.supersede(ds.universe()),
                    latest.as_ref(),
                )
                .await?
            {
                CommitOutcome::Committed(info) => {
                    return Ok(SetOutcome::Written(Self::written_info(&info, options)))
                }
                // Another write landed between our read and our commit:
                // check the precondition again on what it left.
                CommitOutcome::Conflict { current } => latest = current,
            }
        }
        Err(gave_up("SetAsync", key, RetryCap::LOCAL))
    }

    /// `UpdateAsync`: calls `transform(current value, current key info)` and
    /// commits its result if no other write happened meanwhile, re-running it
    /// otherwise. Returns `None` when the transform cancelled, else the value
    /// written and its key info. The transform sees `None, None` for a
    /// missing or deleted key.
    pub(in crate::datastore) async fn update<F>(
        &self,
        ds: &DataStore,
        key: &str,
        mut transform: F,
    ) -> DsResult<Option<Entry>>
    where
        F: FnMut(Option<&Value>, Option<&KeyInfo>) -> Transform + Send,
    {
        let id = ds.entry_id(key)?;
        let mut snapshot = self.snapshot(&id).await?;
        for _ in 0..RetryCap::LOCAL {
            let current = snapshot
                .record
                .as_deref()
                .map(live_entry)
                .transpose()?
                .flatten();
            let decision = match &current {
                Some(e) => transform(Some(&e.value), Some(&e.info)),
                None => transform(None, None),
            };
            let (value, options) = match decision {
                Transform::Cancel if snapshot.from_storage => return Ok(None),
                // The cancel was decided on a cached guess: confirm it on
                // the stored latest version, re-running if that differs.
                Transform::Cancel => match self.confirm(&id, snapshot).await? {
                    Ok(()) => return Ok(None),
                    Err(fresh) => {
                        snapshot = fresh;
                        continue;
                    }
                },
                Transform::Write { value, options } => (value, options),
            };
            let version = check_write(&value, &options)?;
            let expect = Expect::Current(snapshot.seq());
            let supersede = self.supersede(ds.universe());
            let previous = snapshot.record.as_deref();
            match self
                .commit(&id, expect, version, supersede, previous)
                .await?
            {
                CommitOutcome::Committed(info) => {
                    let info = Self::written_info(&info, &options);
                    return Ok(Some(Entry { value, info }));
                }
                CommitOutcome::Conflict { current } => snapshot = Snapshot::stored(current),
            }
        }
        Err(gave_up("UpdateAsync", key, RetryCap::LOCAL))
    }

    /// `IncrementAsync`: adds `delta` to an integer value (missing counts as
    /// 0); returns the new value and key info.
    pub(in crate::datastore) async fn increment(
        &self,
        ds: &DataStore,
        key: &str,
        delta: i64,
        options: &WriteOptions,
    ) -> DsResult<(i64, KeyInfo)> {
        let mut failure = None;
        let written = self
            .update(ds, key, |current, _| {
                let base = match current {
                    None => 0,
                    Some(Value::Number(n)) => match n.as_i64().or_else(|| {
                        n.as_f64()
                            .filter(|f| f.fract() == 0.0 && f.abs() <= 9.007_199_254_740_992e15)
                            .map(|f| f as i64)
                    }) {
                        Some(i) => i,
                        None => {
                            failure = Some(DataStoreError::ExistingValueNotNumeric);
                            return Transform::Cancel;
                        }
                    },
                    Some(_) => {
                        failure = Some(DataStoreError::ExistingValueNotNumeric);
                        return Transform::Cancel;
                    }
                };
                match base.checked_add(delta) {
                    Some(sum) => {
                        failure = None;
                        Transform::Write {
                            value: Value::from(sum),
                            options: options.clone(),
                        }
                    }
                    None => {
                        failure = Some(DataStoreError::IncrementOverflow);
                        Transform::Cancel
                    }
                }
            })
            .await?;
        match (written, failure) {
            (_, Some(err)) => Err(err),
            (Some(entry), None) => Ok((entry.value.as_i64().unwrap_or_default(), entry.info)),
            (None, None) => unreachable!("increment only cancels with a failure"),
        }
    }

    /// `RemoveAsync`: writes a tombstone and returns the value before it, or
    /// `None` (writing nothing) if the key was already absent or deleted.
    /// The tombstone never replaces the version it deletes, whatever the
    /// retention, so a removed value stays recoverable until it expires.
    pub(in crate::datastore) async fn remove(
        &self,
        ds: &DataStore,
        key: &str,
    ) -> DsResult<Option<Entry>> {
        let id = ds.entry_id(key)?;
        let mut snapshot = self.snapshot(&id).await?;
        for _ in 0..RetryCap::LOCAL {
            let Some(record) = snapshot.record.clone().filter(|r| !r.info.deleted) else {
                if snapshot.from_storage {
                    return Ok(None);
                }
                match self.confirm(&id, snapshot).await? {
                    Ok(()) => return Ok(None),
                    Err(fresh) => {
                        snapshot = fresh;
                        continue;
                    }
                }
            };
            let expect = Expect::Current(Some(record.info.seq));
            match self
                .commit(
                    &id,
                    expect,
                    NewVersion::tombstone(),
                    Supersede::Keep,
                    Some(&*record),
                )
                .await?
            {
                CommitOutcome::Committed(_) => return live_entry(&record),
                CommitOutcome::Conflict { current } => snapshot = Snapshot::stored(current),
            }
        }
        Err(gave_up("RemoveAsync", key, RetryCap::LOCAL))
    }
}
