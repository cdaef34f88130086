//! The remote client's call of a server's session lock history.
//!
//! Owns: [`RemoteClient::lock_history`]. Invariant: the path parts are
//! percent-encoded, so any store name, scope and key reach the server as
//! they are.

use hyper::Method;

use super::client::{enc, segment};
use super::{RemoteClient, RemoteError};
use crate::opencloud::history::{LockEvent, LockHistoryPage};

impl RemoteClient {
    /// `GET .../profiles/{store}/{key}/lock-history?scope=`: the owner
    /// changes of one profile, oldest first.
    pub async fn lock_history(
        &self,
        universe: u64,
        store: &str,
        scope: &str,
        key: &str,
    ) -> Result<Vec<LockEvent>, RemoteError> {
        let path = format!(
            "/engine-api/v1/universes/{universe}/profiles/{}/{}/lock-history?scope={}",
            segment(store),
            segment(key),
            enc(scope)
        );
        let page: LockHistoryPage = self.json(Method::GET, &path, None).await?;
        Ok(page
            .events
            .into_iter()
            .map(LockEvent::with_time_text)
            .collect())
    }
}
