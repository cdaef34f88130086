//! The emulator clock across nodes: one offset in `cluster/clock`.
//!
//! Owns: [`Cluster::advance_clock`] (the cluster's `clock:advance`) and
//! [`Cluster::sync_clock`] (applying a newer offset here). Invariants: the
//! shared offset only grows; an advance is one compare-and-swap of
//! `max(shared, local) + by`, so two nodes advancing at once both count;
//! a node applies an offset only forward (the adjustable clock's offset
//! only grows), and never past [`MAX_OFFSET`].

use std::time::Duration;

use profilestore_plugin_api::{RecordExpect, RecordOutcome};

use super::records::{self, ClockRecord, CLOCK};
use super::{Cluster, ClusterError, MAX_SWAPS};
use crate::clock::{ClockError, MAX_OFFSET};

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Cluster {
    /// The shared offset and the record's version (`None`: never advanced).
    async fn shared_offset(&self) -> Result<(Duration, Option<u64>), ClusterError> {
        match self.read(CLOCK).await? {
            None => Ok((Duration::ZERO, None)),
            Some(record) => {
                let clock: ClockRecord = records::decode(CLOCK, &record.value)?;
                Ok((
                    Duration::from_nanos(clock.offset_nanos),
                    Some(record.version),
                ))
            }
        }
    }

    /// Moves this node's clock up to `target` if it is behind.
    fn apply(&self, target: Duration) -> Result<(), ClockError> {
        let _one = self.inner.apply.lock();
        let clock = &self.inner.emulated;
        let current = clock.offset();
        if target > current && clock.is_adjustable() {
            clock.advance(target - current)?;
        }
        Ok(())
    }

    /// Applies the shared offset here when it is ahead of this node's;
    /// returns this node's offset.
    pub async fn sync_clock(&self) -> Result<Duration, ClusterError> {
        let (shared, _) = self.shared_offset().await?;
        self.apply(shared)?;
        Ok(self.inner.emulated.offset())
    }

    /// Moves every node's clock ahead by `by`: this one at once, the
    /// others at their next heartbeat or clock read. Returns the new offset.
    pub async fn advance_clock(&self, by: Duration) -> Result<Duration, ClusterError> {
        if by.is_zero() {
            return Err(ClockError::NotForward.into());
        }
        if !self.inner.emulated.is_adjustable() {
            return Err(ClockError::NotAdjustable("server").into());
        }
        for _ in 0..MAX_SWAPS {
            let (shared, version) = self.shared_offset().await?;
            let base = shared.max(self.inner.emulated.offset());
            let target = base.saturating_add(by);
            if target > MAX_OFFSET {
                return Err(ClockError::TooFar {
                    max_days: MAX_OFFSET.as_secs() / 86_400,
                    offset_secs: base.as_secs_f64(),
                }
                .into());
            }
            let expect = version.map_or(RecordExpect::Absent, RecordExpect::Version);
            let record = ClockRecord {
                offset_nanos: nanos(target),
            };
            let outcome = self
                .swap(CLOCK, expect, Some(records::encode(&record)))
                .await?;
            if let RecordOutcome::Swapped { .. } = outcome {
                self.apply(target)?;
                return Ok(self.inner.emulated.offset());
            }
        }
        Err(ClusterError::Contended(CLOCK.to_owned()))
    }
}
