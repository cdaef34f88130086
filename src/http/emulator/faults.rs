//! The emulator's faults control over HTTP: `POST /faults` adds a fault,
//! `GET /faults` lists them with their counters, `DELETE /faults/{id}`
//! removes one, `DELETE /faults` removes all.
//!
//! Owns: these four handlers. Invariants: every handler passes the
//! control plane's gate first; a refused fault changes nothing (400 with
//! the reason); the plan itself (`crate::faults::FaultPlan`) decides
//! validity and ids.

use hyper::{Method, StatusCode};

use super::super::error::ApiError;
use super::super::request;
use super::super::router::{handler, Call, Reply, Route, Table};
use crate::opencloud::codes::DetailCode as D;
use crate::opencloud::emulator::{FaultList, FaultSpec};

/// Adds this control's routes.
pub(super) fn routes(table: Table) -> Table {
    table
        .route(
            "/faults",
            Route::new()
                .on(Method::POST, handler(add))
                .on(Method::GET, handler(list))
                .on(Method::DELETE, handler(clear)),
        )
        .route(
            "/faults/{id}",
            Route::new().on(Method::DELETE, handler(remove)),
        )
}

async fn add(mut c: Call) -> Reply {
    super::allowed(&c)?;
    let body = c.body().await?;
    let spec: FaultSpec = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(D::Unknown, format!("not a fault: {e}")))?;
    let info = c
        .state
        .faults
        .add(spec)
        .map_err(|e| ApiError::fault_spec(&e))?;
    Ok(request::json(StatusCode::OK, &info))
}

async fn list(c: Call) -> Reply {
    super::allowed(&c)?;
    let faults = c.state.faults.list();
    Ok(request::json(StatusCode::OK, &FaultList { faults }))
}

async fn remove(c: Call) -> Reply {
    super::allowed(&c)?;
    let id = c.param("id");
    if c.state.faults.remove(id) {
        Ok(request::json(StatusCode::OK, &serde_json::json!({})))
    } else {
        Err(ApiError::not_found(
            D::NotFound,
            format!("no fault `{id}` (see GET /emulator/v1/faults)"),
        ))
    }
}

async fn clear(c: Call) -> Reply {
    super::allowed(&c)?;
    c.state.faults.clear();
    Ok(request::json(StatusCode::OK, &serde_json::json!({})))
}
