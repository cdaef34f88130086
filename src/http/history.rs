//! The engine API's session lock history: `GET /engine-api/v1/universes/
//! {u}/profiles/{store}/{key}/lock-history?scope=global`, a profile's
//! owner changes, oldest first (`docs/engine-api.md`).
//!
//! Owns: the route table and its handler. Invariants: the store name,
//! scope and key are validated with the DataStore rules before anything is
//! read; the permission is a read of data store `store`
//! (`scopes::required`); the body is [`LockHistoryPage`].

use std::sync::LazyLock;

use hyper::{Method, StatusCode};

use super::error::Style;
use super::request;
use super::router::{handler, Call, Reply, Route, Table};
use super::stores::scope_or_default;
use crate::datastore::validate;
use crate::opencloud::history::LockHistoryPage;

/// The prefix of this table's paths (after the universe).
pub(super) const PREFIX: &str = "/profiles";

/// The lock history's routes.
pub(super) static TABLE: LazyLock<Table> = LazyLock::new(|| {
    Table::new(Style::V2, "no such engine API endpoint").route(
        "/profiles/{store}/{key}/lock-history",
        Route::new().on(Method::GET, handler(lock_history)),
    )
});

async fn lock_history(c: Call) -> Reply {
    let (store, key) = (c.param("store"), c.param("key"));
    let scope = scope_or_default(c.query.get("scope"));
    validate::data_store_name(store)?;
    validate::scope(scope)?;
    validate::key(key)?;
    let events = c
        .state
        .history
        .events(c.universe, store, scope, key)
        .await?;
    Ok(request::json(StatusCode::OK, &LockHistoryPage { events }))
}
