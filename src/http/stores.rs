//! What DataStore v1 and v2 share: the default scope, scope selection
//! (one scope or every scope) and the data store listing.
//!
//! Owns: [`DEFAULT_SCOPE`], [`data_store`], [`data_store_or_all`],
//! [`list_data_stores`], and [`noted`]: an entry write under the commit
//! note a request's `x-profilestore-commit-note` header names (a remote
//! Rust engine's final save, for the lock history; other values are
//! ignored). Invariants: a request that names no scope
//! addresses `global` (v1 counts an empty `scope=` as none; v2's path
//! always names one or none, and an empty one is refused by validation);
//! listing every scope never takes a scope other than `global` (v1 refuses
//! the combination, v2 spells it `-`).

use super::error::ApiError;
use super::AppState;
use crate::datastore::{DataStore, DataStoreInfo, Listing};

/// Runs an entry write under the commit note `headers` name, if any.
pub(super) async fn noted<F: std::future::Future>(
    headers: &hyper::HeaderMap,
    write: F,
) -> F::Output {
    let note = headers
        .get(crate::opencloud::headers::COMMIT_NOTE)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::datastore::observe::CommitNote::parse);
    match note {
        Some(note) => crate::datastore::observe::with_note(note, write).await,
        None => write.await,
    }
}

/// The scope of a request that names none.
pub(super) const DEFAULT_SCOPE: &str = "global";

/// `scope`, or [`DEFAULT_SCOPE`] when there is none.
pub(super) fn scope_or_default(scope: Option<&str>) -> &str {
    scope.unwrap_or(DEFAULT_SCOPE)
}

/// Data store `name` in `scope` (default `global`).
pub(super) fn data_store(
    state: &AppState,
    universe: u64,
    name: &str,
    scope: Option<&str>,
) -> Result<DataStore, ApiError> {
    Ok(state
        .datastores
        .data_store(universe, name, scope_or_default(scope))?)
}

/// Data store `name` over every scope when `all`, else in `scope`.
pub(super) fn data_store_or_all(
    state: &AppState,
    universe: u64,
    name: &str,
    all: bool,
    scope: Option<&str>,
) -> Result<DataStore, ApiError> {
    if all {
        Ok(state.datastores.data_store_all_scopes(universe, name)?)
    } else {
        data_store(state, universe, name, scope)
    }
}

/// A page of the universe's data stores whose names start with `prefix`.
pub(super) async fn list_data_stores(
    state: &AppState,
    universe: u64,
    prefix: &str,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Listing<DataStoreInfo>, ApiError> {
    Ok(state
        .datastores
        .list_data_stores(universe, prefix, limit, cursor)
        .await?)
}
