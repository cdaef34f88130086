//! Profiles: `/ui/u/{universe}/profiles` (a form to open a store and key)
//! and `/ui/u/{universe}/profiles/{store}/{key}`: a key in ProfileStore's
//! layout decoded (`engine::document`): its data, the active session
//! (place, job, session GUID) and lock age, load count, `MetaTags`, user
//! ids, pending messages, a form to send a message (`POST .../message`,
//! `MessageAsync` as `profilestore profile message` sends it), and its
//! lock history (`history.rs` renders it).
//!
//! Owns: these pages and the send. Invariants: the page needs what reading
//! the entry through Open Cloud needs; sending needs what the session
//! API's `:message` needs (`session:write`), checked before anything is
//! parsed or written, and a key without it sees no form; a message goes
//! through the session host's engine (the same session rules as a game
//! server's send); the lock age is measured on the server's clock; a
//! message that is not JSON is shown again with the problem and the typed
//! text, writing nothing.

use hyper::{Method, StatusCode};
use maud::{html, Markup};
use serde_json::Value;

use super::super::error::ApiError;
use super::super::scopes::Family;
use super::diff;
use super::layout::{self, Flash, Nav};
use super::{handler, permission, Ctx, Pages, Reply};
use crate::engine::document::{classify, Messages, ProfileDocument, SessionOwner, Stored};
use crate::sessions::SessionError;

/// Adds the open form, the profile page and the send.
pub(super) fn routes(pages: Pages) -> Pages {
    pages
        .get("/u/{universe}/profiles", handler(open))
        .get("/u/{universe}/profiles/{store}/{key}", handler(show))
        .post(
            "/u/{universe}/profiles/{store}/{key}/message",
            handler(send),
        )
}

/// The URL of a profile's page.
pub(super) fn profile_url(universe: u64, store: &str, key: &str) -> String {
    format!(
        "/ui/u/{universe}/profiles/{}/{}",
        layout::enc(store),
        layout::enc(key)
    )
}

fn open_form(universe: u64, store: &str, key: &str) -> Markup {
    html! {
        form.row #open-profile method="get" action=(format!("/ui/u/{universe}/profiles")) {
            label { "ProfileStore name" input type="text" name="store" value=(store) required; }
            label { "Profile key" input type="text" name="key" value=(key) required; }
            button.primary type="submit" { "Open" }
        }
    }
}

/// The form, or (with `?store=&key=`) a redirect to that profile.
async fn open(c: Ctx) -> Reply {
    let u = c.universe()?;
    let store = c.query.get("store").unwrap_or("").trim();
    let key = c.query.get("key").unwrap_or("");
    if !store.is_empty() && !key.is_empty() {
        return Ok(layout::redirect(&profile_url(u, store, key)));
    }
    let body = html! {
        h1 { "Profiles" }
        section.card {
            p.muted { "A key written by ProfileStore (or ProfileService), decoded: data, the session that holds it, pending messages and its lock history." }
            (open_form(u, store, key))
        }
    };
    Ok(layout::shell(&c, Nav::Profiles, "Profiles", body))
}

/// The Open Cloud v2 path of the entry (what reading is decided on).
fn entry_rest(store: &str, key: &str) -> String {
    format!("/data-stores/{store}/entries/{key}")
}

/// The session API path of the send (what sending is decided on).
fn send_rest(store: &str, key: &str) -> String {
    format!("/stores/{store}/{key}:message")
}

struct Address {
    universe: u64,
    store: String,
    key: String,
}

impl Address {
    fn of(c: &Ctx) -> Result<Self, ApiError> {
        Ok(Address {
            universe: c.universe()?,
            store: c.param("store").to_owned(),
            key: c.param("key").to_owned(),
        })
    }

    fn url(&self) -> String {
        profile_url(self.universe, &self.store, &self.key)
    }

    fn may_read(&self, c: &Ctx) -> Result<(), ApiError> {
        let rest = entry_rest(&self.store, &self.key);
        c.need(
            Family::DataStoresV2,
            Method::GET,
            &rest,
            self.universe,
            Some(&self.store),
        )
    }

    fn may_send(&self, c: &Ctx) -> bool {
        let rest = send_rest(&self.store, &self.key);
        c.allowed(&permission(
            Family::Sessions,
            &Method::POST,
            &rest,
            self.universe,
            Some(&self.store),
        ))
    }
}

/// A message form shown again: the typed text and its problem.
struct Retry {
    text: String,
    problem: String,
}

async fn show(c: Ctx) -> Reply {
    let at = Address::of(&c)?;
    page(&c, &at, None).await
}

async fn page(c: &Ctx, at: &Address, retry: Option<Retry>) -> Reply {
    at.may_read(c)?;
    let ds = c
        .state
        .datastores
        .data_store(at.universe, &at.store, "global")?;
    let entry = ds.get(&at.key).await?;
    let stored = classify(entry.as_ref().map(|e| &e.value));
    let history = super::history::section(c, &at.url(), at.universe, &at.store, &at.key).await;
    let now_ms = c.state.clock.now_ms();
    let body = html! {
        div.crumbs { a href=(format!("/ui/u/{}/profiles", at.universe)) { "Universe " (at.universe) " · profiles" } " / " (at.store) }
        h1 { (at.key) " " span.badge { (at.store) } }
        div.actions {
            a #entry-link href=(super::stores::entry_url(at.universe, &at.store, "global", &at.key)) { "Open as a data store entry (versions, diff, revert)" }
        }
        div.cols {
            div {
                @match &stored {
                    Stored::Profile(doc) => { (profile_card(doc, now_ms)) }
                    Stored::MessagesOnly(_) => {
                        section.card #profile-state { h2 { "No profile yet" } p.muted { "Messages are waiting for the profile's first session." } }
                    }
                    Stored::Missing => {
                        section.card #profile-state { h2 { "No profile" } p.muted { "Nothing is stored under this key (a session creates the profile)." } }
                    }
                    Stored::Foreign(_) => {
                        section.card #profile-state { h2 { "Not a profile" } p.muted { "The value is not in ProfileStore's layout; a session would replace it. Read it as an entry." } }
                    }
                }
                (history)
            }
            div {
                (messages_card(c, at, &stored, retry))
                @if let Stored::Profile(doc) = &stored { (data_card(doc)) }
            }
        }
        section.card { h2 { "Open another profile" } (open_form(at.universe, &at.store, "")) }
    };
    Ok(layout::shell(c, Nav::Profiles, &at.key, body))
}

fn owner(o: &SessionOwner) -> Markup {
    html! {
        dl.facts {
            dt { "Place id" } dd.mono.place { (o.place_id) }
            dt { "Job id" } dd.mono.job { (o.job_id) }
            dt { "Session GUID" } dd.mono.guid { @match &o.session_id { Some(s) => { (s) } None => { span.muted { "none (ProfileService form)" } } } }
        }
    }
}

fn profile_card(doc: &ProfileDocument, now_ms: i64) -> Markup {
    let meta = &doc.meta;
    let last_update = meta.last_update.as_f64().unwrap_or(0.0);
    let age_s = (now_ms as f64 / 1000.0 - last_update).max(0.0);
    let age = layout::duration(std::time::Duration::from_secs_f64(age_s));
    let created = meta.profile_create_time.as_f64().unwrap_or(0.0);
    let ids: Vec<String> = doc.user_ids.iter().map(i64::to_string).collect();
    html! {
        section.card #profile-state {
            h2 { "Session" }
            @match &meta.active_session {
                Some(o) => {
                    p { span.badge.ok #session-state { "held" } " lock age " strong #lock-age { (age) } span.muted { " (since LastUpdate " (layout::time((last_update * 1000.0) as i64)) ")" } }
                    div #active-session { (owner(o)) }
                }
                None => { p { span.badge #session-state { "released" } " no game server holds it" } }
            }
            @if let Some(asker) = &meta.force_load_session {
                h3 { "Asked for by (ForceLoadSession)" }
                div #force-load { (owner(asker)) }
            }
            h3 { "Profile" }
            dl.facts #profile-facts {
                dt { "Load count" } dd #load-count { (meta.session_load_count) }
                dt { "Created" } dd { (layout::time((created * 1000.0) as i64)) }
                dt { "User ids" } dd #user-ids { @if ids.is_empty() { span.muted { "none" } } @else { (ids.join(", ")) } }
                dt { "MetaTags" } dd { code #meta-tags { (doc.meta.meta_tags) } }
                dt { "RobloxMetaData" } dd { @if doc.roblox_metadata.is_empty() { span.muted { "none" } } @else { code { (Value::Object(doc.roblox_metadata.clone())) } } }
            }
        }
    }
}

fn data_card(doc: &ProfileDocument) -> Markup {
    html! {
        section.card {
            h2 { "Data" }
            pre.json #profile-data { (diff::pretty(&doc.data)) }
        }
    }
}

fn pending(stored: &Stored) -> Option<&Messages> {
    match stored {
        Stored::Profile(doc) => Some(&doc.messages),
        Stored::MessagesOnly(m) => Some(m),
        Stored::Missing | Stored::Foreign(_) => None,
    }
}

fn messages_card(c: &Ctx, at: &Address, stored: &Stored, retry: Option<Retry>) -> Markup {
    let entries = pending(stored).map_or(&[][..], |m| &m.entries[..]);
    let may_send = at.may_send(c);
    let (text, problem) = match retry {
        Some(r) => (r.text, Some(r.problem)),
        None => (String::new(), None),
    };
    html! {
        section.card {
            h2 { "Pending messages" }
            table #messages {
                thead { tr { th.num { "#" } th { "Message" } } }
                tbody {
                    @if entries.is_empty() { tr.empty { td colspan="2" { "No message is waiting." } } }
                    @for m in entries {
                        tr { td.num { (m.index()) } td { code { (m.payload()) } } }
                    }
                }
            }
            @if may_send {
                h3 { "Send a message" }
                @if let Some(p) = problem { p.flash.error #message-problem role="alert" { (p) } }
                form.stack #send-message method="post" action=(format!("{}/message", at.url())) {
                    (layout::csrf(c))
                    label for="message" { "Message (JSON; the owner's handler receives it, as MessageAsync sends it)" }
                    textarea.short #message name="message" required { (text) }
                    div.actions { button.primary #send type="submit" { "Send" } }
                }
            } @else {
                p.muted { "Your key may not send messages (it needs session:write)." }
            }
        }
    }
}

async fn send(c: Ctx) -> Reply {
    let at = Address::of(&c)?;
    let rest = send_rest(&at.store, &at.key);
    c.need(
        Family::Sessions,
        Method::POST,
        &rest,
        at.universe,
        Some(&at.store),
    )?;
    let text = c.form.require("message")?.to_owned();
    let message = match crate::datastore::parse_value_str(text.trim()) {
        Ok(v) => v,
        Err(e) => {
            let retry = Retry {
                text,
                problem: format!("The message is not valid JSON: {e}. Nothing was sent."),
            };
            let mut r = page(&c, &at, Some(retry)).await?;
            *r.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(r);
        }
    };
    let ps = c.state.sessions.api_store(at.universe, &at.store)?;
    ps.message(&at.key, message)
        .await
        .map_err(SessionError::from)?;
    tracing::info!(store = %at.store, key = %at.key, by = %c.user.name, "message sent from the dashboard");
    Ok(layout::redirect_flash(
        &at.url(),
        &Flash::ok("Message sent: it waits in the profile until its owner handles it."),
    ))
}
