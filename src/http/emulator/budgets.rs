//! The emulator's budgets control over HTTP, and the gate every data
//! request passes.
//!
//! Owns: `PUT /universes/{u}/budgets` (turn Roblox's request budgets on
//! or off for one universe, with its concurrent users) and `GET
//! /universes/{u}/budgets[?jobId=..&players=..]` (the settings and what is
//! left, per `Enum.DataStoreRequestType` name, for that game server: what
//! the Lune environment's `GetRequestBudgetForRequestType` reads); and
//! [`gate`], called by `http::route` before a data request's handler.
//! Invariants: a game server is named by the `x-profilestore-job-id`
//! header (or the session API path's job) with `x-profilestore-players`;
//! anything else is Open Cloud; a throttled request reaches no handler.

mod classify;

use std::collections::BTreeMap;

use hyper::{HeaderMap, Method, StatusCode};

use super::super::error::ApiError;
use super::super::request::{self, Query};
use super::super::router::{handler, Call, Reply, Route, Table};
use super::super::AppState;
use crate::budgets::limits::ENUM_NAMES;
use crate::budgets::{Settings, Throttled};
use crate::opencloud::codes::DetailCode as D;
use crate::opencloud::emulator::{BudgetSettings, BudgetsView};
use classify::Need;

/// Adds this control's routes.
pub(super) fn routes(table: Table) -> Table {
    table.route(
        "/universes/{universe}/budgets",
        Route::new()
            .on(Method::GET, handler(show))
            .on(Method::PUT, handler(set)),
    )
}

/// Waits for (or refuses) the budget a data request to `universe` needs;
/// a request of no data family passes.
pub(in crate::http) async fn gate(
    state: &AppState,
    method: &Method,
    path: &str,
    query: &Query,
    headers: &HeaderMap,
    universe: u64,
) -> Result<(), ApiError> {
    // Checked first: classifying a request reads its path and headers again.
    if !state.budgets.enabled(universe) {
        return Ok(());
    }
    let Some(need) = classify::need(method, path, query, headers) else {
        return Ok(());
    };
    let result: Result<(), Throttled> = match need {
        Need::Memory(units) => state.budgets.memory_units(universe, units),
        Need::Data(charge) => {
            let caller = classify::caller(headers, path);
            state.budgets.acquire(universe, &caller, &charge).await
        }
    };
    Ok(result?)
}

/// The universe of the path.
fn universe(c: &Call) -> Result<u64, ApiError> {
    let id = c.param("universe");
    id.parse().map_err(|_| {
        ApiError::bad_request(D::InvalidUniverseId, format!("`{id}` is not a universe id"))
    })
}

/// The view of `universe`, for game server `job` when given.
pub(in crate::http) fn view(
    state: &AppState,
    universe: u64,
    job: Option<(&str, u64)>,
) -> BudgetsView {
    let report = state.budgets.report(universe, job);
    let usage = state.memory.usage(universe);
    let left = |t: &crate::budgets::RequestType| {
        report
            .remaining
            .iter()
            .find(|(k, _)| k == t)
            .map_or(0, |(_, n)| *n)
    };
    let budgets: BTreeMap<String, u64> = ENUM_NAMES
        .iter()
        .map(|(name, types)| {
            (
                (*name).to_owned(),
                types.iter().map(left).min().unwrap_or(0),
            )
        })
        .collect();
    let experience = report
        .experience
        .iter()
        .filter(|(t, _)| *t != crate::budgets::RequestType::RemoveVersion)
        .map(|(t, n)| (t.name().to_owned(), *n))
        .collect();
    BudgetsView {
        universe: universe.to_string(),
        enabled: report.settings.enabled,
        concurrent_users: report.settings.concurrent_users,
        job_id: job.map(|(j, _)| j.to_owned()),
        players: job.map(|(_, p)| p),
        budgets,
        experience,
        memory_store_request_units: report.memory_units,
        memory_store_bytes: usage.map(|u| u.0),
        memory_store_quota_bytes: usage.map(|u| u.1),
    }
}

async fn show(c: Call) -> Reply {
    super::allowed(&c)?;
    let u = universe(&c)?;
    let players = c.query.number("players", 0u64)?;
    let job = c.query.get("jobId").filter(|j| !j.is_empty());
    let body = view(&c.state, u, job.map(|j| (j, players)));
    Ok(request::json(StatusCode::OK, &body))
}

async fn set(mut c: Call) -> Reply {
    super::allowed(&c)?;
    let u = universe(&c)?;
    let bytes = c.body().await?;
    let asked: BudgetSettings = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            D::ContentNotJson,
            format!("expected {{\"enabled\": <bool>, \"concurrentUsers\": <n?>}}: {e}"),
        )
    })?;
    let before = c.state.budgets.settings(u);
    c.state.budgets.set(
        u,
        Settings {
            enabled: asked.enabled,
            concurrent_users: asked.concurrent_users.unwrap_or(before.concurrent_users),
        },
    );
    Ok(request::json(StatusCode::OK, &view(&c.state, u, None)))
}
