//! Editing an entry: `GET/POST /ui/u/{universe}/data-stores/{store}/entries/{key}/edit`.
//!
//! Owns: the edit form (value as JSON, user ids, attributes) and its save
//! with a version check, as Open Cloud's `matchVersion` (or
//! `exclusiveCreate` for a key with no value). Invariants: the form needs
//! what writing the entry through the API needs; a save lands only if the
//! entry is still at the version the form was opened on; a conflict or a
//! bad value writes nothing, says what happened, and shows the form again
//! with the user's text as typed (after a conflict, with the current
//! value beside it and the form now expecting the current version).

use hyper::StatusCode;
use maud::{html, Markup};
use serde_json::{Map, Value};

use super::super::error::ApiError;
use super::diff;
use super::entry::{facts, Address, ENTRY};
use super::layout::{self, Flash, Nav};
use super::stores::crumbs;
use super::{handler, Ctx, Pages, Reply};
use crate::datastore::{parse_value_text, validate, Entry, Precondition, SetOutcome, WriteOptions};
use crate::opencloud::codes::DetailCode as D;

/// Adds the edit form and its save.
pub(super) fn routes(pages: Pages) -> Pages {
    let path = format!("{ENTRY}/edit");
    pages.get(&path, handler(form)).post(&path, handler(save))
}

/// What the form shows.
struct Draft<'a> {
    value: &'a str,
    user_ids: &'a str,
    attributes: &'a str,
    /// The version the save expects (empty: the key has no value).
    version: &'a str,
}

fn page(
    c: &Ctx,
    at: &Address,
    draft: &Draft<'_>,
    problem: Option<&str>,
    current: Option<&Entry>,
) -> Markup {
    html! {
        (crumbs(at.universe, Some(&at.store)))
        h1 { "Edit " a href=(at.url()) { (at.key) } }
        @if let Some(p) = problem { p.flash.error #edit-problem role="alert" { (p) } }
        div.cols {
            section.card {
                form.stack #edit-form method="post" action=(at.action("edit")) {
                    (layout::csrf(c))
                    input type="hidden" name="scope" value=(at.scope);
                    input type="hidden" name="version" value=(draft.version);
                    label for="value" { "Value (JSON)" }
                    textarea #value name="value" spellcheck="false" { (draft.value) }
                    label for="user-ids" { "User ids (comma-separated, at most 4)" }
                    input #user-ids type="text" name="user_ids" value=(draft.user_ids);
                    label for="attributes" { "Attributes (a JSON object)" }
                    input #attributes type="text" name="attributes" value=(draft.attributes);
                    div.actions {
                        button.primary #save type="submit" { "Save as a new version" }
                        a href=(at.url()) { "Cancel" }
                    }
                    p.muted {
                        @if draft.version.is_empty() { "Saves only if the key still has no value." }
                        @else { "Saves only if the entry is still at version " code { (draft.version) } "." }
                    }
                }
            }
            @if let Some(e) = current {
                section.card #current {
                    h2 { "Current value" }
                    pre.json { (diff::pretty(&e.value)) }
                    h3 { "Key info" } (facts(&e.info))
                }
            }
        }
    }
}

async fn form(c: Ctx) -> Reply {
    let at = Address::of(&c)?;
    at.may_read(&c)?;
    at.need_write(&c)?;
    let current = at.store(&c)?.get(&at.key).await?;
    let (value, ids, attrs, version) = match &current {
        Some(e) => (
            diff::pretty(&e.value),
            e.info
                .user_ids
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            if e.info.metadata.is_empty() {
                String::new()
            } else {
                Value::Object(e.info.metadata.clone()).to_string()
            },
            e.info.version.clone(),
        ),
        None => (
            "{}\n".to_owned(),
            String::new(),
            String::new(),
            String::new(),
        ),
    };
    let draft = Draft {
        value: &value,
        user_ids: &ids,
        attributes: &attrs,
        version: &version,
    };
    let body = page(&c, &at, &draft, None, None);
    Ok(layout::shell(
        &c,
        Nav::DataStores,
        &format!("Edit {}", at.key),
        body,
    ))
}

/// The write options the form asks for.
fn options(user_ids: &str, attributes: &str) -> Result<WriteOptions, ApiError> {
    let bad = |what: &str| ApiError::bad_request(D::Unknown, what.to_owned());
    let user_ids = user_ids
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| bad("user ids must be whole numbers, separated by commas"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    validate::user_ids(&user_ids)?;
    let metadata = match attributes.trim() {
        "" => Map::new(),
        text => {
            let v: Value = serde_json::from_str(text)
                .map_err(|_| bad("the attributes must be a JSON object"))?;
            validate::metadata_from_json(&v)?
        }
    };
    Ok(WriteOptions { user_ids, metadata })
}

async fn save(c: Ctx) -> Reply {
    let at = Address::of(&c)?;
    at.may_read(&c)?;
    at.need_write(&c)?;
    let f = &c.form;
    let draft = Draft {
        value: f.get("value").unwrap_or(""),
        user_ids: f.get("user_ids").unwrap_or(""),
        attributes: f.get("attributes").unwrap_or(""),
        version: f.get("version").unwrap_or(""),
    };
    let again = |status: StatusCode, problem: &str, draft: &Draft<'_>, current: Option<&Entry>| {
        let body = page(&c, &at, draft, Some(problem), current);
        layout::shell_status(
            &c,
            status,
            Nav::DataStores,
            &format!("Edit {}", at.key),
            body,
        )
    };
    let parsed = parse_value_text(draft.value.as_bytes())
        .map_err(ApiError::from)
        .and_then(|v| Ok((v, options(draft.user_ids, draft.attributes)?)));
    let (value, options) = match parsed {
        Ok(p) => p,
        Err(e) => {
            return Ok(again(
                e.status,
                &format!("Not saved: {}", e.message),
                &draft,
                None,
            ))
        }
    };
    let precondition = if draft.version.is_empty() {
        Precondition::ExclusiveCreate
    } else {
        Precondition::MatchVersion(draft.version.to_owned())
    };
    let ds = at.store(&c)?;
    match ds
        .set_with(&at.key, &value, &options, &precondition)
        .await?
    {
        SetOutcome::Written(info) => {
            tracing::info!(store = %at.store, key = %at.key, version = %info.version, by = %c.user.name, "edited from the dashboard");
            let flash = Flash::ok(format!("Saved: the value is now version {}.", info.version));
            Ok(layout::redirect_flash(&at.url(), &flash))
        }
        SetOutcome::PreconditionFailed { current } => {
            let now = current.as_ref().map_or("", |e| e.info.version.as_str());
            let problem = if draft.version.is_empty() {
                "Not saved: the entry was written by someone else since you opened this form. Your text is kept below; compare it with the current value, then save again to replace it.".to_owned()
            } else {
                format!(
                    "Not saved: the entry changed since you opened this form (you edited version {}, it is now {}). Your text is kept below; compare it with the current value, then save again to replace it.",
                    draft.version,
                    if now.is_empty() { "removed" } else { now }
                )
            };
            let next = Draft {
                version: now,
                ..draft
            };
            let status = ApiError::precondition_failed(String::new()).status;
            Ok(again(status, &problem, &next, current.as_ref()))
        }
    }
}
