//! One entry: `/ui/u/{universe}/data-stores/{store}/entries/{key}` (its
//! value as formatted JSON, key info, versions, a side-by-side diff of any
//! two (`?a=V&b=V`), any version on its own (`?version=V`)) and its
//! one-click revert (`POST .../revert`). Editing is `edit.rs`.
//!
//! Owns: the entry page and the revert. Invariants: the page needs what
//! reading the entry through Open Cloud needs, a revert what reading and
//! writing it need (a read-only key sees no revert button, and its POST is
//! refused); a revert writes the old version's value, user ids and
//! attributes as a **new** version (as Roblox's Data Stores Manager does),
//! so nothing is lost and the revert itself can be undone.

use hyper::Method;
use maud::{html, Markup};

use super::super::error::ApiError;
use super::super::scopes::Family;
use super::diff;
use super::layout::{self, Flash, Nav};
use super::stores::{crumbs, entry_url};
use super::{handler, permission, Ctx, Pages, Reply};
use crate::datastore::{
    DataStore, Entry, KeyInfo, ListVersionsOptions, SortOrder, VersionSummary, WriteOptions,
};
use crate::opencloud::codes::DetailCode as D;

/// Versions per page.
const VERSIONS: usize = 50;

/// Adds the entry page and the revert.
pub(super) fn routes(pages: Pages) -> Pages {
    pages
        .get(ENTRY, handler(show))
        .post(&format!("{ENTRY}/revert"), handler(revert))
}

/// The entry's route pattern.
pub(super) const ENTRY: &str = "/u/{universe}/data-stores/{store}/entries/{key}";

/// What an entry page addresses: universe, store, scope, key.
pub(super) struct Address {
    pub universe: u64,
    pub store: String,
    pub scope: String,
    pub key: String,
}

impl Address {
    /// The entry of a request (`scope` from the query or the form, default
    /// `global`).
    pub(super) fn of(c: &Ctx) -> Result<Self, ApiError> {
        let scope = c
            .form
            .get("scope")
            .or_else(|| c.query.get("scope"))
            .filter(|s| !s.is_empty())
            .unwrap_or("global");
        Ok(Address {
            universe: c.universe()?,
            store: c.param("store").to_owned(),
            scope: scope.to_owned(),
            key: c.param("key").to_owned(),
        })
    }

    /// The page's URL.
    pub(super) fn url(&self) -> String {
        entry_url(self.universe, &self.store, &self.scope, &self.key)
    }

    /// The URL of `action` under the entry (`edit`, `revert`), with its scope.
    pub(super) fn action(&self, action: &str) -> String {
        let url = self.url();
        match url.split_once('?') {
            Some((path, q)) => format!("{path}/{action}?{q}"),
            None => format!("{url}/{action}"),
        }
    }

    /// The data store.
    pub(super) fn store(&self, c: &Ctx) -> Result<DataStore, ApiError> {
        Ok(c.state
            .datastores
            .data_store(self.universe, &self.store, &self.scope)?)
    }

    /// The Open Cloud v2 path of the entry (what its permission is decided on).
    fn rest(&self) -> String {
        format!("/data-stores/{}/entries/{}", self.store, self.key)
    }

    /// Checks that the caller may read the entry.
    pub(super) fn may_read(&self, c: &Ctx) -> Result<(), ApiError> {
        let store = Some(self.store.as_str());
        c.need(
            Family::DataStoresV2,
            Method::GET,
            &self.rest(),
            self.universe,
            store,
        )
    }

    /// Whether the caller may write the entry (the API's PATCH of it).
    pub(super) fn may_write(&self, c: &Ctx) -> bool {
        let p = permission(
            Family::DataStoresV2,
            &Method::PATCH,
            &self.rest(),
            self.universe,
            Some(&self.store),
        );
        c.allowed(&p)
    }

    /// Checks that the caller may write the entry.
    pub(super) fn need_write(&self, c: &Ctx) -> Result<(), ApiError> {
        let store = Some(self.store.as_str());
        c.need(
            Family::DataStoresV2,
            Method::PATCH,
            &self.rest(),
            self.universe,
            store,
        )
    }
}

fn version_not_found(v: &str) -> ApiError {
    ApiError::not_found(
        D::VersionNotFound,
        format!("version {v} not found (it was deleted or expired)"),
    )
}

/// The key info of a version as facts.
pub(super) fn facts(info: &KeyInfo) -> Markup {
    let ids: Vec<String> = info.user_ids.iter().map(i64::to_string).collect();
    html! {
        dl.facts #key-info {
            dt { "Version" } dd.mono #entry-version { (info.version) }
            dt { "Written" } dd { (layout::time(info.updated_ms)) }
            dt { "Created" } dd { (layout::time(info.created_ms)) }
            dt { "User ids" } dd { @if ids.is_empty() { span.muted { "none" } } @else { (ids.join(", ")) } }
            dt { "Attributes" } dd {
                @if info.metadata.is_empty() { span.muted { "none" } }
                @else { code { (serde_json::Value::Object(info.metadata.clone())) } }
            }
        }
    }
}

async fn show(c: Ctx) -> Reply {
    let at = Address::of(&c)?;
    at.may_read(&c)?;
    let ds = at.store(&c)?;
    let q = &c.query;
    let current = ds.get(&at.key).await?;
    let options = ListVersionsOptions {
        order: SortOrder::Descending,
        page_size: VERSIONS,
        cursor: q
            .get("vcursor")
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
        ..ListVersionsOptions::default()
    };
    let versions = ds.list_versions(&at.key, &options).await?;
    let chosen = q.get("version").filter(|v| !v.is_empty());
    let shown: Option<Entry> = match chosen {
        Some(v) => Some(
            ds.get_version(&at.key, v)
                .await?
                .ok_or_else(|| version_not_found(v))?,
        ),
        None => current.clone(),
    };
    let latest = versions
        .items
        .first()
        .filter(|_| options.cursor.is_none())
        .map(|v| v.version.clone());
    let compare = match (q.get("a"), q.get("b")) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => {
            Some(compare(&ds, &at.key, a, b).await?)
        }
        _ => None,
    };
    let writable = at.may_write(&c);
    let body = html! {
        (crumbs(at.universe, Some(&at.store)))
        h1 { (at.key) @if at.scope != "global" { " " span.badge { "scope " (at.scope) } } }
        @if let Some(diff) = compare { section.card #compare-result { h2 { "Compare versions" } (diff) } }
        div.cols {
            section.card {
                @match (&shown, chosen) {
                    (Some(e), Some(v)) => {
                        h2 { "Version " code { (v) } }
                        @if latest.as_deref() != Some(v) && writable {
                            div.actions { (revert_button(&c, &at, v, "Revert to this version")) }
                        }
                        pre.json #entry-value { (diff::pretty(&e.value)) }
                    }
                    (Some(e), None) => {
                        h2 { "Current value" }
                        div.actions {
                            @if writable { a #edit-link href=(at.action("edit")) { "Edit" } }
                            @if at.scope == "global" && e.value.get("MetaData").is_some() { a #profile-link href=(super::profiles::profile_url(at.universe, &at.store, &at.key)) { "Open as a profile" } }
                        }
                        pre.json #entry-value { (diff::pretty(&e.value)) }
                    }
                    (None, _) => {
                        h2 { "No current value" }
                        p.muted { "The key was removed (or never written); its versions are listed beside." }
                        @if writable { div.actions { a #edit-link href=(at.action("edit")) { "Write a value" } } }
                    }
                }
                @if let Some(e) = &shown { h3 { "Key info" } (facts(&e.info)) }
            }
            section.card {
                h2 { "Versions" }
                (versions_table(&c, &at, &versions.items, latest.as_deref(), writable))
                @if let Some(next) = &versions.cursor {
                    @let scope = if at.scope == "global" { "" } else { at.scope.as_str() };
                    div.pager { a href=(layout::query(&[("scope", scope), ("vcursor", next)])) { "Older versions →" } }
                }
            }
        }
    };
    Ok(layout::shell(&c, Nav::DataStores, &at.key, body))
}

/// The side-by-side diff of versions `a` (left) and `b`.
async fn compare(ds: &DataStore, key: &str, a: &str, b: &str) -> Result<Markup, ApiError> {
    let old = ds
        .get_version(key, a)
        .await?
        .ok_or_else(|| version_not_found(a))?;
    let new = ds
        .get_version(key, b)
        .await?
        .ok_or_else(|| version_not_found(b))?;
    let title = |v: &str, e: &Entry| format!("{v} ({})", layout::time(e.info.updated_ms));
    Ok(diff::side_by_side(
        &old.value,
        &new.value,
        &title(a, &old),
        &title(b, &new),
    ))
}

fn revert_button(c: &Ctx, at: &Address, version: &str, label: &str) -> Markup {
    let fields = html! {
        input type="hidden" name="version" value=(version);
        input type="hidden" name="scope" value=(at.scope);
    };
    layout::post_form(c, &at.action("revert"), label, "small", fields)
}

fn versions_table(
    c: &Ctx,
    at: &Address,
    versions: &[VersionSummary],
    latest: Option<&str>,
    writable: bool,
) -> Markup {
    let live: Vec<&VersionSummary> = versions.iter().filter(|v| !v.deleted).collect();
    let default_b = live.first().map(|v| v.version.as_str());
    let default_a = live.get(1).map(|v| v.version.as_str()).or(default_b);
    let a = c.query.get("a").or(default_a);
    let b = c.query.get("b").or(default_b);
    let chosen = c.query.get("version");
    let url = at.url();
    let path = url.split('?').next().unwrap_or(&url).to_owned();
    html! {
        form #compare method="get" action=(path) {
            @if at.scope != "global" { input type="hidden" name="scope" value=(at.scope); }
        }
        table #versions {
            thead { tr { th { "A" } th { "B" } th { "Version" } th { "Written" } th.num { "Bytes" } th {} } }
            tbody {
                @if versions.is_empty() { tr.empty { td colspan="6" { "No version." } } }
                @for v in versions {
                    @let class = if v.deleted { "deleted" } else if chosen == Some(v.version.as_str()) { "selected" } else { "" };
                    tr class=(class) data-version=(v.version) {
                        @if v.deleted { td {} td {} } @else {
                            td { input type="radio" name="a" value=(v.version) form="compare" checked[a == Some(v.version.as_str())] aria-label="compare from"; }
                            td { input type="radio" name="b" value=(v.version) form="compare" checked[b == Some(v.version.as_str())] aria-label="compare to"; }
                        }
                        td.version {
                            @if v.deleted { (v.version) " " span.badge { "removed" } }
                            @else { a href=(version_url(at, &v.version)) { (v.version) } }
                            @if latest == Some(v.version.as_str()) { " " span.badge.ok { "latest" } }
                        }
                        td.when { (layout::time(v.created_ms)) }
                        td.num { (v.content_length) }
                        td {
                            @if writable && !v.deleted && latest != Some(v.version.as_str()) {
                                (revert_button(c, at, &v.version, "Revert"))
                            }
                        }
                    }
                }
            }
        }
        @if live.len() >= 2 { div.actions { button #compare-button type="submit" form="compare" { "Compare A → B" } } }
    }
}

fn version_url(at: &Address, version: &str) -> String {
    let scope = if at.scope == "global" {
        ""
    } else {
        at.scope.as_str()
    };
    let url = at.url();
    let path = url.split('?').next().unwrap_or(&url);
    format!(
        "{path}{}",
        layout::query(&[("scope", scope), ("version", version)])
    )
}

async fn revert(c: Ctx) -> Reply {
    let at = Address::of(&c)?;
    at.may_read(&c)?;
    at.need_write(&c)?;
    let version = c.form.require("version")?.to_owned();
    let ds = at.store(&c)?;
    let old = ds
        .get_version(&at.key, &version)
        .await?
        .ok_or_else(|| version_not_found(&version))?;
    let options = WriteOptions {
        user_ids: old.info.user_ids.clone(),
        metadata: old.info.metadata.clone(),
    };
    let info = ds.set(&at.key, &old.value, &options).await?;
    tracing::info!(store = %at.store, key = %at.key, from = %version, to = %info.version, by = %c.user.name, "reverted from the dashboard");
    let flash = Flash::ok(format!(
        "Reverted to version {version}: the value is now version {}.",
        info.version
    ));
    Ok(layout::redirect_flash(&at.url(), &flash))
}
