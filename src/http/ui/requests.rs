//! The live request monitor, `/ui/requests`: the requests the server
//! answers (method, path, status, latency, universe, caller), newest
//! first, live over server-sent events (`/ui/requests/stream`).
//!
//! Owns: the page, its row markup and its stream. Invariants: both need
//! the operator's permission (`emulator`, as `/cluster/v1` does: the
//! monitor shows every universe's requests); the stream sends each row as
//! markup built (and escaped) here, which the dashboard's JS adds as it
//! comes; a viewer that lags skips rows instead of slowing requests; the
//! stream itself is not recorded (`monitor::Monitor::records`).

use std::time::Duration;

use maud::{html, Markup};
use tokio::sync::broadcast::error::RecvError;

use super::super::monitor::Seen;
use super::super::scopes::Permission;
use super::super::sse::{self, Event};
use super::layout::{self, Nav};
use super::{handler, Ctx, Pages, Reply};

/// Adds the monitor's page and stream.
pub(super) fn routes(pages: Pages) -> Pages {
    pages
        .get("/requests", handler(page))
        .get("/requests/stream", handler(stream))
}

/// One row of the table.
fn row(s: &Seen) -> Markup {
    let class = format!("status-{}", s.status / 100);
    html! {
        tr data-seq=(s.seq) {
            td.num { (s.seq) }
            td { code { (s.method) } }
            td.mono { (s.path) }
            td.num class=(class) { (s.status) }
            td.num { (format!("{:.1}", s.latency_ms)) " ms" }
            td { @if let Some(u) = s.universe { (u) } @else { "—" } }
            td { (s.caller) }
        }
    }
}

async fn page(c: Ctx) -> Reply {
    c.check(&Permission::Emulator)?;
    let recent = c.state.dashboard.monitor.recent();
    let body = html! {
        h1 { "Requests " span #live-state.live-state.off { "connecting" } }
        p.muted { "Every request the server answers, newest first (the last 200 are kept; this page's own stream and the dashboard's assets are left out)." }
        section.card {
            table #requests {
                thead { tr {
                    th.num { "#" } th { "Method" } th { "Path" } th.num { "Status" }
                    th.num { "Latency" } th { "Universe" } th { "Caller" }
                } }
                tbody #request-rows data-live="/ui/requests/stream" data-status="live-state" data-max="500" {
                    @if recent.is_empty() { tr.empty { td colspan="7" { "No request yet." } } }
                    @for s in recent.iter().rev() { (row(s)) }
                }
            }
        }
    };
    Ok(layout::shell(&c, Nav::Requests, "Requests", body))
}

/// The event of one row: `{"html": "<tr>...</tr>"}`.
fn event(s: &Seen) -> Event {
    let html = row(s).into_string();
    Event {
        id: s.seq.to_string(),
        kind: "row".to_owned(),
        data: serde_json::json!({ "html": html }).to_string(),
    }
}

/// Rows sent in one chunk at most.
const BATCH: usize = 64;

async fn stream(c: Ctx) -> Reply {
    c.check(&Permission::Emulator)?;
    let rx = c.state.dashboard.monitor.subscribe();
    sse::stream(&c.state, rx, |mut rx, wait: Duration| async move {
        let first = match tokio::time::timeout(wait, rx.recv()).await {
            Err(_) | Ok(Err(RecvError::Lagged(_))) => return Some((Vec::new(), rx)),
            Ok(Err(RecvError::Closed)) => return None,
            Ok(Ok(s)) => s,
        };
        let mut events = vec![event(&first)];
        while events.len() < BATCH {
            match rx.try_recv() {
                Ok(s) => events.push(event(&s)),
                Err(_) => break,
            }
        }
        Some((events, rx))
    })
}
