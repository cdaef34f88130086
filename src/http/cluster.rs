//! Several nodes as one service, over HTTP: the session API's calls are
//! served by their game server's home node, and `GET /cluster/v1/nodes`.
//!
//! Owns: the routing of a session API call naming a game server
//! (`/servers/{job}...`) to its home ([`routed`]), the small reverse proxy
//! to another node ([`forward`]: method, path, query, headers with the API
//! key, the body streamed both ways, so long-polls and event streams work
//! through it), and the nodes listing. Invariants: a call carrying
//! [`FORWARDED`](h::FORWARDED) is always handled where it arrives (no
//! loops); a forwarded answer keeps the home node's
//! [`NODE`](h::NODE) header; a game server this node hosted whose home
//! moved is dropped here without final saves (its profiles belong to the
//! new home's sessions); a relayed body ends when this node shuts down.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{HeaderMap, HeaderValue, HOST};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::WaitForCancellationFutureOwned;

use super::error::{ApiError, Style};
use super::request::{self, Body};
use super::router::{handler, Call, Reply, Route, Table};
use super::{first_segment, router, session_api, AppState};
use crate::cluster::{Cluster, Home, NodeInfo};
use crate::opencloud::cluster::{ClusterNode, ClusterNodes};
use crate::opencloud::codes::{DetailCode as D, ErrorCode as C};
use crate::opencloud::emulator::clock_time;
use crate::opencloud::headers as h;

/// The routes after `/cluster/v1`.
pub(super) static TABLE: LazyLock<Table> = LazyLock::new(|| {
    Table::new(
        Style::V2,
        "no such cluster endpoint; see docs/session-api.md",
    )
    .route("/nodes", Route::new().on(Method::GET, handler(nodes)))
});

/// What routing did with a call.
pub(super) enum Routed {
    /// Handle it here.
    Here(Request<Incoming>),
    /// It was forwarded; this is the home node's answer.
    Forwarded(Response<Body>),
}

/// The game server a session API path names (`/servers/{job}...`).
fn game_server_of(rest: &str) -> Option<String> {
    let (first, after) = first_segment(rest);
    if first != "servers" {
        return None;
    }
    let (job, _) = first_segment(after);
    let job = router::decode(job);
    (!job.is_empty() && job != "%").then_some(job)
}

/// Sends a session API call naming a game server to its home: handled
/// here when this node is (or just became) the home, else forwarded.
pub(super) async fn routed(
    state: &Arc<AppState>,
    req: Request<Incoming>,
    table: &'static Table,
    rest: &str,
    universe: u64,
) -> Result<Routed, ApiError> {
    let Some(cluster) = &state.cluster else {
        return Ok(Routed::Here(req));
    };
    if !std::ptr::eq(table, &*session_api::TABLE) || req.headers().contains_key(h::FORWARDED) {
        return Ok(Routed::Here(req));
    }
    let Some(job) = game_server_of(rest) else {
        return Ok(Routed::Here(req));
    };
    match cluster.home(universe, &job).await? {
        Home::Here { .. } => Ok(Routed::Here(req)),
        Home::Elsewhere(node) => {
            if state.sessions.abandon(universe, &job) {
                tracing::warn!(
                    universe,
                    job,
                    home = %node.id,
                    "a game server hosted here moved to another node; dropped here without final saves"
                );
            }
            Ok(Routed::Forwarded(
                forward(state, cluster, &node, &job, req).await?,
            ))
        }
    }
}

/// Headers that belong to one connection, not to the request.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Sends `req` to `node` and relays its answer.
async fn forward(
    state: &AppState,
    cluster: &Cluster,
    node: &NodeInfo,
    job: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let unavailable = |why: String| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            C::Unavailable,
            D::Unknown,
            format!(
                "game server `{job}` is hosted by node `{}` ({}), which did not answer: {why}; \
                 if it is gone, another node takes the game server over within {} s; retry",
                node.id,
                node.url,
                cluster.lease().as_secs_f64()
            ),
        )
    };
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("{}{path}", node.url.trim_end_matches('/'))
        .parse()
        .map_err(|e| unavailable(format!("its URL is not valid: {e}")))?;
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(HOST);
    let me = HeaderValue::from_str(cluster.node_id())
        .map_err(|_| unavailable("this node's id is not a header value".into()))?;
    parts.headers.insert(h::FORWARDED, me);
    parts.version = hyper::Version::HTTP_11;
    let client = proxy_client().map_err(unavailable)?;
    let answer = client
        .request(Request::from_parts(parts, body))
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let (mut parts, body) = answer.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let relay = Relay {
        inner: body,
        closing: Box::pin(state.closing.clone().cancelled_owned()),
    };
    Ok(Response::from_parts(parts, relay.boxed_unsync()))
}

type ProxyClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Incoming>;

/// The one forwarding client of this process: `https://` trusting the
/// public CAs and `PROFILESTORE_CA_CERT` (the nodes' own certificate when
/// it is self-signed or from a private CA). One connection per forwarded
/// call, never pooled: whether the home node answers is decided by a fresh
/// connect, not by a kept connection that may outlive its accept loop.
fn proxy_client() -> Result<&'static ProxyClient, String> {
    static CLIENT: std::sync::OnceLock<Result<ProxyClient, String>> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let ca = std::env::var_os(crate::remote::CA_CERT_ENV).filter(|v| !v.is_empty());
            let connector = crate::remote::https_connector(ca.as_deref().map(std::path::Path::new))
                .map_err(|e| e.to_string())?;
            Ok(Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build(connector))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The home node's answer body, relayed chunk by chunk; it ends when the
/// home node's does, on an error (a body with a length then arrives short,
/// which the client sees), or when this node shuts down.
struct Relay {
    inner: Incoming,
    closing: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl hyper::body::Body for Relay {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.closing.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(Some(Err(e))) => {
                tracing::debug!(error = %e, "a forwarded answer's body broke off");
                Poll::Ready(None)
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        hyper::body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> SizeHint {
        hyper::body::Body::size_hint(&self.inner)
    }
}

/// `GET /cluster/v1/nodes`: the live nodes.
async fn nodes(c: Call) -> Reply {
    let Some(cluster) = &c.state.cluster else {
        return Err(ApiError::not_found(
            D::Unknown,
            "this server runs alone: clustering is off (`[cluster] enabled` in config.toml)",
        ));
    };
    let nodes = cluster
        .nodes()
        .await?
        .into_iter()
        .map(|n| ClusterNode {
            id: n.id,
            url: n.url,
            heartbeat_time: clock_time(n.heartbeat_ms),
            expires_time: clock_time(n.expires_ms),
        })
        .collect();
    let body = ClusterNodes {
        node: cluster.node_id().to_owned(),
        nodes,
    };
    Ok(request::json(StatusCode::OK, &body))
}
