//! `GET /metrics`: the server's metrics in Prometheus's text format, and
//! the API family each request is counted under.
//!
//! Owns: the answer of `/metrics` and [`family_of`]. Invariants: with
//! metrics on, `/metrics` needs a valid API key like any request unless
//! `[metrics] public = true` (then it is answered before authentication,
//! as `/healthz` is); with metrics off it is a 404 saying how to turn them
//! on; other methods on the path are routed as usual (a 404). A request's
//! family is decided from its raw path's prefix alone, so every request
//! (a 401, a path that does not decode) has one, from a fixed set.

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response};

use super::error::{ApiError, Style};
use super::request::{self, Body};
use super::AppState;
use crate::metrics::ApiFamily;
use crate::opencloud::codes::DetailCode as D;

/// The path of the metrics.
pub(super) const PATH: &str = "/metrics";

/// The answer of `/metrics` to a caller who is `authorized` (a valid key,
/// or none needed), `None` when the request is not for `/metrics` or needs
/// the 401 of any unauthorized request.
pub(super) fn answer<B>(
    state: &AppState,
    req: &Request<B>,
    authorized: bool,
) -> Option<Response<Body>> {
    if req.uri().path() != PATH || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    let metrics = &state.metrics;
    let Some(text) = metrics.render() else {
        let e = ApiError::not_found(
            D::Unknown,
            "metrics are off on this server: set `enabled = true` in the `[metrics]` section of \
             config.toml (the default) and restart it",
        );
        return Some(request::error(&e, Style::Gateway));
    };
    if !(authorized || metrics.is_public()) {
        return None;
    }
    let mut r = Response::new(request::full(text));
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    Some(r)
}

/// The API family of a request for `path` (the raw path).
pub(super) fn family_of(path: &str) -> ApiFamily {
    let Some(path) = path.strip_prefix('/') else {
        return ApiFamily::Other;
    };
    let (first, rest) = path.split_once('/').unwrap_or((path, ""));
    match first {
        "datastores" => ApiFamily::DataStoresV1,
        "ordered-data-stores" => ApiFamily::Ordered,
        "messaging-service" => ApiFamily::Messaging,
        "session-api" => ApiFamily::Sessions,
        "engine-api" => ApiFamily::Engine,
        "emulator" => ApiFamily::Emulator,
        "cluster" => ApiFamily::Cluster,
        "healthz" | "readyz" => ApiFamily::Health,
        "ui" => ApiFamily::Ui,
        "metrics" => ApiFamily::Metrics,
        "cloud" => cloud_family(rest),
        _ => ApiFamily::Other,
    }
}

/// The family of `/cloud/{rest}`: `v2/universes/{u}[:publishMessage]/...`.
fn cloud_family(rest: &str) -> ApiFamily {
    let Some(after) = rest.strip_prefix("v2/universes/") else {
        return ApiFamily::Other;
    };
    let (universe, rest) = after.split_once('/').unwrap_or((after, ""));
    if universe.ends_with(":publishMessage") {
        return ApiFamily::Messaging;
    }
    let resource = rest.split(['/', ':']).next().unwrap_or("");
    match resource {
        "data-stores" => ApiFamily::DataStoresV2,
        "ordered-data-stores" => ApiFamily::Ordered,
        "memory-store" | "operations" => ApiFamily::Memory,
        _ => ApiFamily::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_told_from_its_path() {
        for (path, family) in [
            (
                "/datastores/v1/universes/1/standard-datastores",
                ApiFamily::DataStoresV1,
            ),
            (
                "/cloud/v2/universes/1/data-stores/s/entries/k",
                ApiFamily::DataStoresV2,
            ),
            (
                "/cloud/v2/universes/1/data-stores:snapshot",
                ApiFamily::DataStoresV2,
            ),
            (
                "/ordered-data-stores/v1/universes/1/orderedDataStores",
                ApiFamily::Ordered,
            ),
            (
                "/cloud/v2/universes/1/ordered-data-stores/s",
                ApiFamily::Ordered,
            ),
            (
                "/cloud/v2/universes/1/memory-store/queues/q",
                ApiFamily::Memory,
            ),
            (
                "/cloud/v2/universes/1/memory-store:flush",
                ApiFamily::Memory,
            ),
            ("/cloud/v2/universes/1/operations/x", ApiFamily::Memory),
            (
                "/messaging-service/v1/universes/1/topics/t",
                ApiFamily::Messaging,
            ),
            ("/cloud/v2/universes/1:publishMessage", ApiFamily::Messaging),
            ("/session-api/v1/universes/1/sessions", ApiFamily::Sessions),
            ("/engine-api/v1/universes/1/memory-store", ApiFamily::Engine),
            ("/emulator/v1/clock", ApiFamily::Emulator),
            ("/cluster/v1/nodes", ApiFamily::Cluster),
            ("/healthz", ApiFamily::Health),
            ("/readyz", ApiFamily::Health),
            ("/ui/", ApiFamily::Ui),
            ("/metrics", ApiFamily::Metrics),
            ("/cloud/v2/universes/1/places", ApiFamily::Other),
            ("/cloud/v1", ApiFamily::Other),
            ("/", ApiFamily::Other),
            ("", ApiFamily::Other),
            ("/nope", ApiFamily::Other),
        ] {
            assert_eq!(family_of(path), family, "{path}");
        }
    }
}
