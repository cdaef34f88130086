//! The shared capability on sled: the message log and versioned records.
//!
//! Owns: the `shared_log` (number, big-endian, to a postcard `(topic, data,
//! sent_ms)`), `shared_records` (name to a postcard `(version, value)`) and
//! `shared_counters` trees. Invariants: an append and a swap are each one
//! sled transaction that also moves its counter, so two writers never take
//! the same number and a number is visible only once its transaction
//! committed (numbers follow commit order); counters only grow.

use profilestore_plugin_api::shared::record_matches;
use profilestore_plugin_api::{
    LogMessage, RecordExpect, RecordOutcome, RecordWrite, SharedRecord, StorageError, StorageResult,
};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;

use crate::ops::tx_error;
use crate::{corrupt, sled_error, SledPlugin};

type TxResult<T> = Result<T, ConflictableTransactionError<StorageError>>;

fn abort(what: &str, e: impl std::fmt::Display) -> ConflictableTransactionError<StorageError> {
    ConflictableTransactionError::Abort(corrupt(what, e))
}

/// Adds one to counter `name` inside a transaction.
fn next(counters: &TransactionalTree, name: &str) -> TxResult<u64> {
    let n = match counters.get(name)? {
        Some(b) => {
            u64::from_be_bytes(<[u8; 8]>::try_from(b.as_ref()).map_err(|e| abort("counter", e))?)
        }
        None => 0,
    } + 1;
    counters.insert(name, &n.to_be_bytes())?;
    Ok(n)
}

fn decode_record(name: &[u8], bytes: &[u8]) -> StorageResult<SharedRecord> {
    let (version, value): (u64, String) =
        postcard::from_bytes(bytes).map_err(|e| corrupt("shared record", e))?;
    let name = String::from_utf8(name.to_vec()).map_err(|e| corrupt("shared record name", e))?;
    Ok(SharedRecord {
        name,
        version,
        value,
    })
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("postcard encodes tuples of strings and numbers")
}

impl SledPlugin {
    pub(crate) fn log_put(&self, topic: &str, data: &str, sent_ms: i64) -> StorageResult<u64> {
        let body = encode(&(topic, data, sent_ms));
        let seq = (&self.shared_counters, &self.shared_log)
            .transaction(|(counters, log)| {
                let seq = next(counters, "log")?;
                log.insert(&seq.to_be_bytes(), body.as_slice())?;
                Ok(seq)
            })
            .map_err(tx_error)?;
        self.after_write()?;
        Ok(seq)
    }

    pub(crate) fn log_get(&self, after: u64, limit: usize) -> StorageResult<Vec<LogMessage>> {
        let Some(start) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        self.shared_log
            .range(start.to_be_bytes()..)
            .take(limit)
            .map(|item| {
                let (k, v) = item.map_err(sled_error)?;
                let seq = u64::from_be_bytes(
                    <[u8; 8]>::try_from(k.as_ref()).map_err(|e| corrupt("log number", e))?,
                );
                let (topic, data, sent_ms): (String, String, i64) =
                    postcard::from_bytes(&v).map_err(|e| corrupt("log message", e))?;
                Ok(LogMessage {
                    seq,
                    topic,
                    data,
                    sent_ms,
                })
            })
            .collect()
    }

    pub(crate) fn log_top(&self) -> StorageResult<u64> {
        match self.shared_counters.get("log").map_err(sled_error)? {
            Some(b) => Ok(u64::from_be_bytes(
                <[u8; 8]>::try_from(b.as_ref()).map_err(|e| corrupt("counter", e))?,
            )),
            None => Ok(0),
        }
    }

    pub(crate) fn log_cut(&self, cutoff_ms: i64) -> StorageResult<u64> {
        let mut removed = 0;
        for item in self.shared_log.iter() {
            let (k, v) = item.map_err(sled_error)?;
            let (_, _, sent_ms): (String, String, i64) =
                postcard::from_bytes(&v).map_err(|e| corrupt("log message", e))?;
            if sent_ms < cutoff_ms && self.shared_log.remove(k).map_err(sled_error)?.is_some() {
                removed += 1;
            }
        }
        self.after_write()?;
        Ok(removed)
    }

    pub(crate) fn record_get(&self, name: &str) -> StorageResult<Option<SharedRecord>> {
        match self.shared_records.get(name).map_err(sled_error)? {
            Some(b) => decode_record(name.as_bytes(), &b).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn record_put(
        &self,
        name: &str,
        expect: RecordExpect,
        value: Option<&str>,
    ) -> StorageResult<RecordOutcome> {
        let outcome = (&self.shared_counters, &self.shared_records)
            .transaction(|(counters, records)| swap(counters, records, name, expect, value))
            .map_err(tx_error)?;
        if matches!(outcome, RecordOutcome::Swapped { .. }) {
            self.after_write()?;
        }
        Ok(outcome)
    }

    /// Every write in one sled transaction (which sees its own writes),
    /// then one flush.
    pub(crate) fn record_put_all(
        &self,
        writes: &[RecordWrite],
    ) -> StorageResult<Vec<RecordOutcome>> {
        let outcomes = (&self.shared_counters, &self.shared_records)
            .transaction(|(counters, records)| {
                writes
                    .iter()
                    .map(|w| swap(counters, records, &w.name, w.expect, w.value.as_deref()))
                    .collect::<TxResult<Vec<_>>>()
            })
            .map_err(tx_error)?;
        if outcomes
            .iter()
            .any(|o| matches!(o, RecordOutcome::Swapped { .. }))
        {
            self.after_write()?;
        }
        Ok(outcomes)
    }

    pub(crate) fn record_all(&self, prefix: &str) -> StorageResult<Vec<SharedRecord>> {
        self.shared_records
            .scan_prefix(prefix)
            .map(|item| {
                let (k, v) = item.map_err(sled_error)?;
                decode_record(&k, &v)
            })
            .collect()
    }
}

/// One checked swap inside a transaction.
fn swap(
    counters: &TransactionalTree,
    records: &TransactionalTree,
    name: &str,
    expect: RecordExpect,
    value: Option<&str>,
) -> TxResult<RecordOutcome> {
    let current = match records.get(name)? {
        Some(b) => {
            Some(decode_record(name.as_bytes(), &b).map_err(ConflictableTransactionError::Abort)?)
        }
        None => None,
    };
    if !record_matches(expect, current.as_ref()) {
        return Ok(RecordOutcome::Conflict { current });
    }
    let Some(v) = value else {
        records.remove(name)?;
        return Ok(RecordOutcome::Swapped { version: None });
    };
    let version = next(counters, "record")?;
    records.insert(name, encode(&(version, v)))?;
    Ok(RecordOutcome::Swapped {
        version: Some(version),
    })
}
