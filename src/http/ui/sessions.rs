//! Live sessions: `/ui/sessions`, which game server holds which profile
//! (place, job, session GUID, load count), since when, its last save and
//! when its auto-save is due; below, every owner change (start, release,
//! handoff, steal, assume-dead takeover, shutdown) as it happens. Both
//! tables follow `/ui/sessions/stream` (server-sent events): a take adds
//! or replaces the profile's row, a release ends it in place.
//!
//! Owns: the page, its rows and its stream. Invariants: the locks and
//! changes are `AppState::history`'s (`live()`: the profiles this node saw
//! taken and not released; `subscribe()`: every change once recorded);
//! a row is shown (and streamed) only when the caller may read that
//! profile's data store through the API, so a scoped key sees its own
//! stores' sessions and no other; a profile's row has one id (a hash of
//! universe, store, scope and key) so its next change replaces it; every
//! value is escaped (maud).

use std::hash::{Hash, Hasher};
use std::time::Duration;

use hyper::Method;
use maud::{html, Markup};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::super::scopes::Family;
use super::super::sse::{self, Event};
use super::history::{kind_badge, owner_line};
use super::layout::{self, Nav};
use super::profiles::profile_url;
use super::{handler, permission, Ctx, Pages, Reply};
use crate::opencloud::history::{LiveLock, LockEvent};

/// Adds the page and its stream.
pub(super) fn routes(pages: Pages) -> Pages {
    pages
        .get("/sessions", handler(page))
        .get("/sessions/stream", handler(stream))
}

/// Whether the caller may read `store` of `universe` (see its sessions).
fn may_see(c: &Ctx, universe: u64, store: &str, key: &str) -> bool {
    let rest = format!("/data-stores/{store}/entries/{key}");
    c.allowed(&permission(
        Family::DataStoresV2,
        &Method::GET,
        &rest,
        universe,
        Some(store),
    ))
}

/// The one element id of a profile's live row.
fn row_id(universe: u64, store: &str, scope: &str, key: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (universe, store, scope, key).hash(&mut h);
    format!("lock-{:016x}", h.finish())
}

fn profile_cell(universe: u64, store: &str, scope: &str, key: &str) -> Markup {
    html! {
        td { span.muted { (universe) " · " (store) " · " } a.key href=(profile_url(universe, store, key)) { (key) } @if scope != "global" { " " span.badge { (scope) } } }
    }
}

/// A held profile.
fn live_row(l: &LiveLock) -> Markup {
    html! {
        tr.held id=(row_id(l.universe, &l.store, &l.scope, &l.key)) data-job=(l.owner.job_id) {
            (profile_cell(l.universe, &l.store, &l.scope, &l.key))
            td { (owner_line(&l.owner)) }
            td.num { (l.load_count) }
            td { (layout::time(l.since_ms)) }
            td { (layout::time(l.last_save_ms)) }
            td { (layout::time(l.auto_save_due_ms)) }
            td { span.badge.ok.state { "held" } }
        }
    }
}

/// A profile's row after `e`: held by its new owner, or ended.
fn changed_row(e: &LockEvent, auto_save: Duration) -> Markup {
    if e.kind.takes() {
        let due = e.time_ms + i64::try_from(auto_save.as_millis()).unwrap_or(0);
        return live_row(&LiveLock {
            universe: e.universe,
            store: e.store.clone(),
            scope: e.scope.clone(),
            key: e.key.clone(),
            owner: e.owner.clone(),
            load_count: e.load_count,
            since_ms: e.time_ms,
            last_save_ms: e.time_ms,
            auto_save_due_ms: due,
        });
    }
    html! {
        tr.ended id=(row_id(e.universe, &e.store, &e.scope, &e.key)) data-job=(e.owner.job_id) {
            (profile_cell(e.universe, &e.store, &e.scope, &e.key))
            td { (owner_line(&e.owner)) }
            td.num { (e.load_count) }
            td colspan="3" { "ended " (layout::time(e.time_ms)) }
            td { span.badge.state { (e.kind.as_str().replace('_', " ")) } }
        }
    }
}

/// One line of the change log.
fn change_row(e: &LockEvent) -> Markup {
    html! {
        tr data-kind=(e.kind.as_str()) {
            td { (layout::time(e.time_ms)) }
            td { (kind_badge(e.kind)) }
            (profile_cell(e.universe, &e.store, &e.scope, &e.key))
            td { (owner_line(&e.owner)) }
            td { @match &e.previous { Some(p) => { (owner_line(p)) } None => { span.muted { "—" } } } }
        }
    }
}

async fn page(c: Ctx) -> Reply {
    let live: Vec<LiveLock> = c
        .state
        .history
        .live()
        .into_iter()
        .filter(|l| may_see(&c, l.universe, &l.store, &l.key))
        .collect();
    // Newest first, as the stream inserts them.
    let mut changes: Vec<LockEvent> = c
        .state
        .history
        .recent()
        .into_iter()
        .filter(|e| may_see(&c, e.universe, &e.store, &e.key))
        .collect();
    changes.reverse();
    let body = html! {
        h1 { "Live sessions " span #live-state.live-state.off { "connecting" } }
        p.muted { "Profiles a game server holds, as this server saw their sessions' writes (the session API's game servers, engines and Luau modules on this server's data stores). Rows change as sessions start, hand off and end." }
        section.card {
            table #sessions {
                thead { tr {
                    th { "Profile" } th { "Held by" } th.num { "Load count" } th { "Since" }
                    th { "Last save" } th { "Auto-save due" } th { "State" }
                } }
                tbody #session-rows data-live="/ui/sessions/stream" data-event="lock" data-status="live-state" data-max="1000" {
                    @if live.is_empty() { tr.empty { td colspan="7" { "No profile is held." } } }
                    @for l in &live { (live_row(l)) }
                }
            }
        }
        section.card {
            h2 { "Owner changes" }
            table #changes {
                thead { tr { th { "Time" } th { "Change" } th { "Profile" } th { "Owner" } th { "Before" } } }
                tbody #change-rows data-live="/ui/sessions/stream" data-event="change" data-max="200" {
                    @if changes.is_empty() { tr.empty { td colspan="5" { "Changes appear here as they happen." } } }
                    @for e in &changes { (change_row(e)) }
                }
            }
        }
    };
    Ok(layout::shell(&c, Nav::Sessions, "Live sessions", body))
}

async fn stream(c: Ctx) -> Reply {
    let rx = c.state.history.subscribe();
    let auto_save = c.state.history.config().auto_save_period;
    let c = std::sync::Arc::new(c);
    let state = std::sync::Arc::clone(&c.state);
    sse::stream(&state, rx, move |mut rx, wait: Duration| {
        let c = std::sync::Arc::clone(&c);
        async move {
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let e = match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Err(_) | Ok(Err(RecvError::Lagged(_))) => return Some((Vec::new(), rx)),
                    Ok(Err(RecvError::Closed)) => return None,
                    Ok(Ok(e)) => e,
                };
                if !may_see(&c, e.universe, &e.store, &e.key) {
                    continue;
                }
                let id = format!("{}-{}", e.time_ms, e.load_count);
                let lock = changed_row(&e, auto_save).into_string();
                let change = change_row(&e).into_string();
                let events = vec![
                    Event {
                        id: id.clone(),
                        kind: "lock".to_owned(),
                        data: json!({ "html": lock }).to_string(),
                    },
                    Event {
                        id,
                        kind: "change".to_owned(),
                        data: json!({ "html": change }).to_string(),
                    },
                ];
                return Some((events, rx));
            }
        }
    })
}
