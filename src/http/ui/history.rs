//! Session lock history in the dashboard: a profile's history on its page
//! (newest first, new changes appearing live over
//! `/ui/u/{universe}/profiles/{store}/{key}/history/stream`), and the row
//! markup of a [`LockEvent`] that the live sessions page shares.
//!
//! Owns: the history card, its stream, and the change rows. Invariants:
//! the events are `AppState::history`'s (`crate::history::LockHistory`:
//! recorded from committed writes, kept for its retention); the stream
//! needs what the page needs (reading the entry) and sends only this
//! profile's events; every value is escaped (maud).

use std::time::Duration;

use hyper::Method;
use maud::{html, Markup};
use tokio::sync::broadcast::error::RecvError;

use super::super::scopes::Family;
use super::super::sse::{self, Event};
use super::layout;
use super::{handler, Ctx, Pages, Reply};
use crate::opencloud::history::{LockChangeKind, LockEvent, LockOwner};

/// The history's stream (the page is `profiles.rs`).
pub(super) fn routes(pages: Pages) -> Pages {
    pages.get(
        "/u/{universe}/profiles/{store}/{key}/history/stream",
        handler(stream),
    )
}

/// Events shown on a profile's page at most (the newest).
const SHOWN: usize = 100;

/// A kind's badge: takes green, releases grey, steals and takeovers red.
pub(super) fn kind_badge(kind: LockChangeKind) -> Markup {
    let class = match kind {
        LockChangeKind::Started | LockChangeKind::HandedOff => "badge ok",
        LockChangeKind::Stolen | LockChangeKind::AssumedDead => "badge bad",
        LockChangeKind::Released | LockChangeKind::EndedByShutdown => "badge",
    };
    html! { span class=(class) data-kind=(kind.as_str()) { (kind.as_str().replace('_', " ")) } }
}

/// An owner on one line: place, job, session GUID.
pub(super) fn owner_line(o: &LockOwner) -> Markup {
    html! {
        span.mono { "place " (o.place_id) " · job " (o.job_id) }
        @if let Some(s) = &o.session_id { br; span.mono.muted { (s) } }
    }
}

/// One change of a profile's owner (the profile itself is the page's).
fn row(e: &LockEvent) -> Markup {
    html! {
        tr data-kind=(e.kind.as_str()) {
            td { (layout::time(e.time_ms)) }
            td { (kind_badge(e.kind)) @if e.asked_for { " " span.badge { "asked for" } } }
            td { (owner_line(&e.owner)) }
            td.num { (e.load_count) }
            td { @match &e.previous { Some(p) => { (owner_line(p)) } None => { span.muted { "—" } } } }
        }
    }
}

/// The lock history card of one profile, with its live stream (under
/// `page`, the profile page's URL).
pub(super) async fn section(c: &Ctx, page: &str, u: u64, store: &str, key: &str) -> Markup {
    let events = c.state.history.events(u, store, "global", key).await;
    let stream = format!("{page}/history/stream");
    html! {
        section.card #lock-history {
            h2 { "Lock history " span #history-state.live-state.off { "connecting" } }
            @match &events {
                Err(e) => { p.muted { (e.to_string()) } }
                Ok(events) => {
                    table #history {
                        thead { tr { th { "Time" } th { "Change" } th { "Owner" } th.num { "Load count" } th { "Before" } } }
                        tbody #history-rows data-live=(stream) data-status="history-state" {
                            @if events.is_empty() { tr.empty { td colspan="5" { "No owner change recorded (within the retention)." } } }
                            @for e in events.iter().rev().take(SHOWN) { (row(e)) }
                        }
                    }
                }
            }
        }
    }
}

fn event(e: &LockEvent) -> Event {
    Event {
        id: e.time_ms.to_string(),
        kind: "row".to_owned(),
        data: serde_json::json!({ "html": row(e).into_string() }).to_string(),
    }
}

async fn stream(c: Ctx) -> Reply {
    let u = c.universe()?;
    let (store, key) = (c.param("store").to_owned(), c.param("key").to_owned());
    let rest = format!("/data-stores/{store}/entries/{key}");
    c.need(Family::DataStoresV2, Method::GET, &rest, u, Some(&store))?;
    let rx = c.state.history.subscribe();
    let profile = std::sync::Arc::new((u, store, key));
    sse::stream(&c.state, rx, move |mut rx, wait: Duration| {
        let profile = std::sync::Arc::clone(&profile);
        async move {
            let mine = |e: &LockEvent| {
                (
                    e.universe,
                    e.store.as_str(),
                    e.scope.as_str(),
                    e.key.as_str(),
                ) == (profile.0, profile.1.as_str(), "global", profile.2.as_str())
            };
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Err(_) | Ok(Err(RecvError::Lagged(_))) => return Some((Vec::new(), rx)),
                    Ok(Err(RecvError::Closed)) => return None,
                    Ok(Ok(e)) if mine(&e) => return Some((vec![event(&e)], rx)),
                    Ok(Ok(_)) => {}
                }
            }
        }
    })
}
