//! `GET /healthz` and `GET /readyz`: what load balancers and orchestrators
//! probe.
//!
//! Owns: both answers. Invariants: neither needs an API key (they reveal
//! nothing but whether the server runs and can reach its storage);
//! `/healthz` answers 200 whenever the process serves requests; `/readyz`
//! answers 200 only when the server is not shutting down and a cheap
//! storage read answers within [`PROBE_TIMEOUT`], else 503 naming what is
//! wrong. Other methods on these paths are routed as usual (a 404).

use std::sync::Arc;
use std::time::Duration;

use hyper::{Method, Request, Response};
use serde_json::json;

use super::error::ApiError;
use super::request::{self, Body};
use super::AppState;

/// The longest `/readyz` waits for storage.
pub(super) const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The answer of a health path, `None` for any other request.
pub(super) async fn answer<B>(state: &Arc<AppState>, req: &Request<B>) -> Option<Response<Body>> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    match req.uri().path() {
        "/healthz" => Some(request::json(
            ApiError::readiness_status(true),
            &json!({"status": "ok"}),
        )),
        "/readyz" => Some(ready(state).await),
        _ => None,
    }
}

async fn ready(state: &AppState) -> Response<Body> {
    let mut problems = Vec::new();
    if state.closing.is_cancelled() {
        problems.push("the server is shutting down".to_owned());
    }
    let storage = match state.datastores.storage() {
        None => "remote",
        Some(storage) => match storage.ping(PROBE_TIMEOUT).await {
            Ok(()) => "ok",
            Err(e) => {
                problems.push(format!("storage: {e}"));
                "unreachable"
            }
        },
    };
    let ready = problems.is_empty();
    let body = if ready {
        json!({"status": "ready", "storage": storage})
    } else {
        json!({"status": "not ready", "storage": storage, "problems": problems})
    };
    request::json(ApiError::readiness_status(ready), &body)
}
