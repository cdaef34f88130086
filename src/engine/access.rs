//! The DataStore access probe of one engine (`DataStoreState`).
//!
//! Owns: [`DataStoreState`] and the probe: one write to `____PS`, as the
//! Luau module does, read the module's way. Invariants: the probe runs at
//! most once per engine (concurrent callers wait for the one answer) and
//! its answer never changes afterwards; only a refusal (no access) or an
//! unreachable store (no internet) sends stores to their mocks, a passing
//! failure counts as access.

use serde_json::Value;
use tokio::sync::OnceCell;

use crate::datastore::{DataStoreService, WriteOptions};

/// Whether the engine can use the real DataStore (`DataStoreState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataStoreState {
    /// Not probed yet.
    NotReady,
    /// The DataStore works.
    Access,
    /// The DataStore refused access: stores use their mocks.
    NoAccess,
    /// The DataStore could not be reached: stores use their mocks.
    NoInternet,
}

/// The probe's one answer.
#[derive(Debug, Default)]
pub(crate) struct AccessProbe {
    answer: OnceCell<DataStoreState>,
}

impl AccessProbe {
    /// Probes DataStore access once, as the Luau module does with a write
    /// to `____PS`: a refusal means no access and an unreachable store no
    /// internet (stores then use their mocks for the server's lifetime).
    /// Any other failure is transient and counts as access, as in the Luau
    /// module: falling back to mocks on a passing error would silently keep
    /// every later session of this server out of real storage.
    pub(crate) async fn run(&self, datastores: &DataStoreService, universe: u64) -> DataStoreState {
        *self
            .answer
            .get_or_init(|| async {
                let probe = datastores.data_store(universe, "____PS", "global");
                let now = Value::from(datastores.clock().now_secs());
                match probe {
                    Ok(ds) => match ds.set("____PS", &now, &WriteOptions::default()).await {
                        Ok(_) => DataStoreState::Access,
                        Err(e) => probe_failure(&e),
                    },
                    Err(_) => DataStoreState::NoAccess,
                }
            })
            .await
    }

    /// The answer so far (`NotReady` before the probe ran).
    pub(crate) fn state(&self) -> DataStoreState {
        self.answer
            .get()
            .copied()
            .unwrap_or(DataStoreState::NotReady)
    }
}

/// What a failed access probe means (the Luau module's reading of the
/// `SetAsync` error: `ConnectFail` is no internet, `403` or "must publish"
/// is no access, anything else is a passing failure of a working store).
fn probe_failure(e: &crate::datastore::DataStoreError) -> DataStoreState {
    use crate::datastore::DataStoreError;
    use crate::remote::RemoteError;
    use profilestore_plugin_api::StorageError;
    let state = match e {
        DataStoreError::Storage(StorageError::Unavailable(_)) => DataStoreState::Access,
        DataStoreError::Storage(_) | DataStoreError::Remote(RemoteError::Unreachable { .. }) => {
            DataStoreState::NoInternet
        }
        DataStoreError::Remote(r) if r.is_transient() => DataStoreState::Access,
        _ => DataStoreState::NoAccess,
    };
    match state {
        DataStoreState::Access => {
            tracing::warn!(error = %e, "DataStore access probe failed transiently: assuming access");
        }
        _ => tracing::warn!(error = %e, ?state, "no DataStore access: stores use their mocks"),
    }
    state
}
