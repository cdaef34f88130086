//! Messaging: `/ui/u/{universe}/messaging` (the topics the bus holds: with
//! subscribers or retained messages), a topic's page
//! `/ui/u/{universe}/messaging/topics/{topic}` (its retained messages and
//! a live tail over server-sent events, `.../stream`) and the publish box
//! (`POST /ui/u/{universe}/messaging/publish`).
//!
//! Owns: these pages, the tail's rows and stream, the publish. Invariants:
//! listing and tailing need what subscribing through the API needs
//! (`messaging:subscribe`), publishing what `PublishAsync` over Open Cloud
//! needs (`messaging:publish`), checked before anything is read or sent;
//! a key without publish sees no box; a message is published as Open
//! Cloud sends it (a string), or as JSON when asked; the bus's limits
//! apply (an oversized message is refused, nothing is sent); the tail's
//! stream starts at the cursor the page was rendered at, so no message
//! published in between is missed; every message is escaped (maud).

use std::time::Duration;

use hyper::Method;
use maud::{html, Markup};
use serde_json::Value;

use super::super::error::ApiError;
use super::super::messaging::bus_topic;
use super::super::scopes::Family;
use super::super::sse::{self, Event};
use super::layout::{self, Flash, Nav};
use super::{handler, permission, Ctx, Pages, Reply};
use crate::bus::BusMessage;
use crate::opencloud::codes::DetailCode as D;

/// Retained messages a topic's page shows.
const SHOWN: usize = 200;

/// Adds the topics, a topic's tail and stream, the publish.
pub(super) fn routes(pages: Pages) -> Pages {
    pages
        .get("/u/{universe}/messaging", handler(topics))
        .get("/u/{universe}/messaging/topics/{topic}", handler(topic))
        .get(
            "/u/{universe}/messaging/topics/{topic}/stream",
            handler(stream),
        )
        .post("/u/{universe}/messaging/publish", handler(publish))
}

/// The URL of a topic's page.
pub(super) fn topic_url(universe: u64, topic: &str) -> String {
    format!("/ui/u/{universe}/messaging/topics/{}", layout::enc(topic))
}

fn may_subscribe(c: &Ctx, u: u64, topic: &str) -> Result<(), ApiError> {
    let rest = format!("/topics/{topic}/messages");
    c.need(Family::Messaging, Method::GET, &rest, u, None)
}

fn may_publish(c: &Ctx, u: u64, topic: &str) -> bool {
    let rest = format!("/topics/{topic}");
    c.allowed(&permission(
        Family::Messaging,
        &Method::POST,
        &rest,
        u,
        None,
    ))
}

/// The publish box (`topic` fixed when given).
fn publish_box(c: &Ctx, u: u64, topic: Option<&str>) -> Markup {
    html! {
        form.stack #publish method="post" action=(format!("/ui/u/{u}/messaging/publish")) {
            (layout::csrf(c))
            @match topic {
                Some(t) => { input type="hidden" name="topic" value=(t); }
                None => { label { "Topic" input #publish-topic type="text" name="topic" required maxlength="80"; } }
            }
            label for="publish-message" { "Message (sent as a string, as Open Cloud's publish does)" }
            textarea.short #publish-message name="message" required {}
            label.check { input type="checkbox" name="json" value="1"; " send it as JSON (a table in Luau)" }
            div.actions { button.primary #publish-button type="submit" { "Publish" } }
        }
    }
}

async fn topics(c: Ctx) -> Reply {
    let u = c.universe()?;
    if let Some(t) = c.query.get("topic").filter(|t| !t.is_empty()) {
        return Ok(layout::redirect(&topic_url(u, t)));
    }
    c.need(Family::Messaging, Method::GET, "/topics", u, None)?;
    let all = c.state.bus.topics();
    let body = html! {
        h1 { "Messaging" }
        p.muted { "Topics with subscribers or retained messages (MessagingService keeps one bus for every universe of this server; PS_ topics are ProfileStore sessions')." }
        div.cols {
            section.card {
                table #topics {
                    thead { tr { th { "Topic" } th.num { "Subscribers" } th.num { "Retained" } th { "Last message" } } }
                    tbody {
                        @if all.is_empty() { tr.empty { td colspan="4" { "No topic yet." } } }
                        @for t in &all {
                            tr {
                                td { a href=(topic_url(u, &t.name)) { (t.name) } @if t.name.starts_with("PS_") { " " span.badge { "session" } } }
                                td.num { (t.subscribers) }
                                td.num { (t.retained) }
                                td { @match t.last_ms { Some(ms) => { (layout::time(ms)) } None => { span.muted { "—" } } } }
                            }
                        }
                    }
                }
                form.row method="get" action=(format!("/ui/u/{u}/messaging")) {
                    label { "Tail a topic" input type="text" name="topic" required maxlength="80"; }
                    button type="submit" { "Open" }
                }
            }
            section.card {
                h2 { "Publish" }
                @if may_publish(&c, u, "") { (publish_box(&c, u, None)) }
                @else { p.muted { "Your key may not publish (it needs messaging:publish)." } }
            }
        }
    };
    Ok(layout::shell(&c, Nav::Messaging, "Messaging", body))
}

/// One message of the tail (`seq`: its cursor).
fn row(seq: u64, m: &BusMessage) -> Markup {
    let (text, json) = match &m.data {
        Value::String(s) => (s.clone(), false),
        other => (other.to_string(), true),
    };
    html! {
        tr data-seq=(seq) {
            td.num { (seq) }
            td { (layout::time(m.sent.saturating_mul(1000))) }
            td { code.message { (text) } @if json { " " span.badge { "JSON" } } }
        }
    }
}

async fn topic(c: Ctx) -> Reply {
    let u = c.universe()?;
    let name = c.param("topic").to_owned();
    may_subscribe(&c, u, &name)?;
    let topic = bus_topic(u, &name);
    let bus = &c.state.bus;
    // Everything retained, then the stream from where this read ended.
    let (numbered, end) = bus
        .wait_since_numbered(&topic, Some(0), usize::MAX, Duration::ZERO)
        .await?;
    let live = format!(
        "{}/stream{}",
        topic_url(u, &name),
        layout::query(&[("after", &end.to_string())])
    );
    let shown = numbered.iter().rev().take(SHOWN);
    let subscribers = bus.subscriber_count(&topic);
    let body = html! {
        div.crumbs { a href=(format!("/ui/u/{u}/messaging")) { "Universe " (u) " · messaging" } }
        h1 { (name) " " span #live-state.live-state.off { "connecting" } }
        p.muted { (subscribers) " subscriber(s) here; messages stay readable for the bus's retention window. Newest first; new ones appear as they are published." }
        div.cols {
            section.card {
                table #tail {
                    thead { tr { th.num { "#" } th { "Sent" } th { "Message" } } }
                    tbody #tail-rows data-live=(live) data-status="live-state" data-max="500" {
                        @if numbered.is_empty() { tr.empty { td colspan="3" { "No message retained yet." } } }
                        @for (seq, m) in shown { (row(*seq, m)) }
                    }
                }
            }
            section.card {
                h2 { "Publish to " (name) }
                @if may_publish(&c, u, &name) { (publish_box(&c, u, Some(&name))) }
                @else { p.muted { "Your key may not publish (it needs messaging:publish)." } }
            }
        }
    };
    Ok(layout::shell(&c, Nav::Messaging, &name, body))
}

/// Messages sent in one chunk at most.
const BATCH: usize = 64;

async fn stream(c: Ctx) -> Reply {
    let u = c.universe()?;
    let name = c.param("topic").to_owned();
    may_subscribe(&c, u, &name)?;
    let topic = bus_topic(u, &name);
    let bus = c.state.bus.clone();
    let start = match c.query.get("after").filter(|a| !a.is_empty()) {
        Some(a) => a.parse::<u64>().map_err(|_| {
            ApiError::bad_request(D::InvalidCursor, "after is the cursor the page was read at")
        })?,
        None => bus.read_since(&topic, None, 1)?.1,
    };
    sse::stream(&c.state, start, move |cursor, wait: Duration| {
        let (bus, topic) = (bus.clone(), topic.clone());
        async move {
            let (messages, next) = bus
                .wait_since_numbered(&topic, Some(cursor), BATCH, wait)
                .await
                .ok()?;
            let events = messages
                .iter()
                .map(|(seq, m)| Event {
                    id: seq.to_string(),
                    kind: "row".to_owned(),
                    data: serde_json::json!({ "html": row(*seq, m).into_string() }).to_string(),
                })
                .collect();
            Some((events, next))
        }
    })
}

async fn publish(c: Ctx) -> Reply {
    let u = c.universe()?;
    let name = c.form.require("topic")?.to_owned();
    let rest = format!("/topics/{name}");
    c.need(Family::Messaging, Method::POST, &rest, u, None)?;
    let text = c.form.require("message")?;
    let message = if c.form.get("json").is_some_and(|j| !j.is_empty()) {
        serde_json::from_str::<Value>(text).map_err(|e| {
            ApiError::bad_request(D::ContentNotJson, format!("the message is not JSON: {e}"))
        })?
    } else {
        Value::String(text.to_owned())
    };
    c.state.bus.publish(&bus_topic(u, &name), &message).await?;
    tracing::info!(topic = %name, by = %c.user.name, "published from the dashboard");
    Ok(layout::redirect_flash(
        &topic_url(u, &name),
        &Flash::ok(format!("Published to {name}.")),
    ))
}
