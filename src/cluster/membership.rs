//! Membership: this node's heartbeat record and the list of live nodes.
//!
//! Owns: [`Cluster::heartbeat`], the heartbeat task
//! ([`Cluster::spawn`]), [`Cluster::nodes`], leaving, and the record
//! calls every part of the module makes (through [`crate::storage::Storage`]).
//! Invariants: a heartbeat writes `expires = now + lease` on the
//! membership clock and is renewed every lease / 3, so one late or failed
//! renewal does not make a live node look dead; the task belongs to the
//! node's tracker and stops on its token.

use std::time::Duration;

use profilestore_plugin_api::{RecordExpect, RecordOutcome, SharedRecord};

use super::records::{self, NodeInfo, NODE_PREFIX};
use super::{Cluster, ClusterError};

impl Cluster {
    pub(super) async fn read(&self, name: &str) -> Result<Option<SharedRecord>, ClusterError> {
        let name = name.to_owned();
        Ok(self
            .inner
            .storage
            .call(move |p| p.record_read(&name))
            .await?)
    }

    pub(super) async fn swap(
        &self,
        name: &str,
        expect: RecordExpect,
        value: Option<String>,
    ) -> Result<RecordOutcome, ClusterError> {
        let name = name.to_owned();
        Ok(self
            .inner
            .storage
            .call(move |p| p.record_swap(&name, expect, value.as_deref()))
            .await?)
    }

    pub(super) async fn list(&self, prefix: &str) -> Result<Vec<SharedRecord>, ClusterError> {
        let prefix = prefix.to_owned();
        Ok(self
            .inner
            .storage
            .call(move |p| p.record_list(&prefix))
            .await?)
    }

    /// Writes this node's heartbeat (live for one more lease), then
    /// applies a newer shared clock offset.
    pub async fn heartbeat(&self) -> Result<(), ClusterError> {
        let now = self.now_ms();
        let lease = i64::try_from(self.lease().as_millis()).unwrap_or(i64::MAX);
        let info = NodeInfo {
            id: self.node_id().to_owned(),
            url: self.url().to_owned(),
            heartbeat_ms: now,
            expires_ms: now.saturating_add(lease),
        };
        let name = records::node_name(self.node_id());
        self.swap(&name, RecordExpect::Any, Some(records::encode(&info)))
            .await?;
        self.sync_clock().await?;
        Ok(())
    }

    /// A live node by id (`None`: no record, or its lease ran out).
    pub async fn node(&self, id: &str) -> Result<Option<NodeInfo>, ClusterError> {
        let name = records::node_name(id);
        let Some(record) = self.read(&name).await? else {
            return Ok(None);
        };
        let info: NodeInfo = records::decode(&name, &record.value)?;
        Ok(info.is_live(self.now_ms()).then_some(info))
    }

    /// The live nodes, by id.
    pub async fn nodes(&self) -> Result<Vec<NodeInfo>, ClusterError> {
        let now = self.now_ms();
        let mut live = Vec::new();
        for record in self.list(NODE_PREFIX).await? {
            let info: NodeInfo = records::decode(&record.name, &record.value)?;
            if info.is_live(now) {
                live.push(info);
            }
        }
        Ok(live)
    }

    /// Joins (one heartbeat, so the node is live before it serves), then
    /// renews every lease / 3 until shutdown, on the node's tracker.
    pub async fn spawn(&self) -> Result<(), ClusterError> {
        self.heartbeat().await?;
        tracing::info!(
            node = self.node_id(),
            url = self.url(),
            "joined the cluster"
        );
        let node = self.clone();
        let every = (self.lease() / 3).max(Duration::from_millis(10));
        let task = self.inner.tasks.spawn(async move {
            let closing = node.inner.closing.clone();
            loop {
                tokio::select! {
                    () = node.inner.time.sleep(every) => {}
                    () = closing.cancelled() => return,
                }
                if let Err(e) = node.heartbeat().await {
                    tracing::warn!(error = %e, "cluster heartbeat failed; retrying");
                }
            }
        });
        *self.inner.heartbeat.lock() = Some(task.abort_handle());
        Ok(())
    }

    /// Removes this node's heartbeat record.
    pub(super) async fn leave(&self) -> Result<(), ClusterError> {
        let name = records::node_name(self.node_id());
        self.swap(&name, RecordExpect::Any, None).await?;
        Ok(())
    }
}
