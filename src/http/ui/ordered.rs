//! Ordered data stores: `/ui/u/{universe}/ordered` (open a store by name;
//! the stores this server was asked about recently) and
//! `/ui/u/{universe}/ordered/{store}` (its top N: descending or ascending,
//! page size, optional minimum and maximum, one page at a time with a link
//! to the next).
//!
//! Owns: both pages. Invariants: the top N needs what listing the store's
//! entries through Open Cloud needs (`ordered-datastore:NAME:read`),
//! checked before anything is read; Roblox's limits apply as for
//! `GetSortedAsync` (a page size outside 1..=100 or a minimum above the
//! maximum is a 400 page); every page is a link (order, size, bounds and
//! cursor in the URL). Ordered data stores cannot be listed (Roblox has no
//! such call), so the index names the stores seen in the request monitor.

use hyper::Method;
use maud::{html, Markup};

use super::super::scopes::Family;
use super::layout::{self, Nav};
use super::{handler, Ctx, Pages, Reply};
use crate::ordered::SortedQuery;

/// Adds the index and a store's top N.
pub(super) fn routes(pages: Pages) -> Pages {
    pages
        .get("/u/{universe}/ordered", handler(index))
        .get("/u/{universe}/ordered/{store}", handler(top))
}

/// The URL of a store's top N.
pub(super) fn store_url(universe: u64, store: &str) -> String {
    format!("/ui/u/{universe}/ordered/{}", layout::enc(store))
}

fn open_form(universe: u64) -> Markup {
    html! {
        form.row #open-ordered method="get" action=(format!("/ui/u/{universe}/ordered")) {
            label { "Ordered data store" input type="text" name="store" required; }
            button.primary type="submit" { "Open" }
        }
    }
}

/// The ordered stores of `universe` named by the requests the monitor kept.
fn recent_stores(c: &Ctx, universe: u64) -> Vec<String> {
    let mut names: Vec<String> = c
        .state
        .dashboard
        .monitor
        .recent()
        .iter()
        .filter(|s| s.universe == Some(universe))
        .filter_map(|s| store_in_path(&s.path))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The ordered store an API path names (v1, v2 and the engine API).
fn store_in_path(path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or(path);
    let parts: Vec<&str> = path.split('/').collect();
    let name = parts.windows(2).find_map(|w| {
        let marker = matches!(
            w[0],
            "orderedDataStores" | "ordered-data-stores" | "ordered"
        );
        (marker && !w[1].is_empty() && w[1] != "v1").then_some(w[1])
    })?;
    let name = percent_encoding::percent_decode_str(name)
        .decode_utf8()
        .ok()?;
    Some(name.into_owned())
}

async fn index(c: Ctx) -> Reply {
    let u = c.universe()?;
    if let Some(s) = c
        .query
        .get("store")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        return Ok(layout::redirect(&store_url(u, s)));
    }
    let recent = recent_stores(&c, u);
    let body = html! {
        h1 { "Ordered data stores" }
        section.card {
            (open_form(u))
            h3 { "Seen in recent requests" }
            @if recent.is_empty() { p.muted { "None yet (ordered data stores cannot be listed; open one by name)." } }
            ul #recent-ordered { @for s in &recent { li { a href=(store_url(u, s)) { (s) } } } }
        }
    };
    Ok(layout::shell(&c, Nav::Ordered, "Ordered data stores", body))
}

/// What the top-N form asks (all in the URL).
struct Ask {
    scope: String,
    ascending: bool,
    size: usize,
    min: Option<i64>,
    max: Option<i64>,
    cursor: Option<String>,
}

impl Ask {
    fn of(c: &Ctx) -> Result<Self, super::super::error::ApiError> {
        let q = &c.query;
        let bound = |name: &str| -> Result<Option<i64>, super::super::error::ApiError> {
            match q.get(name).map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(_) => q.number(name, 0i64).map(Some),
            }
        };
        Ok(Ask {
            scope: q
                .get("scope")
                .filter(|s| !s.is_empty())
                .unwrap_or("global")
                .to_owned(),
            ascending: q.get("order") == Some("ascending"),
            size: q.number("size", 20usize)?,
            min: bound("min")?,
            max: bound("max")?,
            cursor: q.get("cursor").filter(|s| !s.is_empty()).map(str::to_owned),
        })
    }

    /// The query string of this ask with `cursor`.
    fn link(&self, cursor: &str) -> String {
        let (size, min, max) = (
            self.size.to_string(),
            self.min.map(|v| v.to_string()).unwrap_or_default(),
            self.max.map(|v| v.to_string()).unwrap_or_default(),
        );
        let scope = if self.scope == "global" {
            ""
        } else {
            &self.scope
        };
        let order = if self.ascending { "ascending" } else { "" };
        layout::query(&[
            ("scope", scope),
            ("order", order),
            ("size", &size),
            ("min", &min),
            ("max", &max),
            ("cursor", cursor),
        ])
    }
}

async fn top(c: Ctx) -> Reply {
    let u = c.universe()?;
    let store = c.param("store").to_owned();
    let ask = Ask::of(&c)?;
    let rest = format!("/ordered-data-stores/{store}/scopes/{}/entries", ask.scope);
    c.need(Family::Ordered, Method::GET, &rest, u, Some(&store))?;
    let ds = c.state.ordered.data_store(u, &store, &ask.scope)?;
    let query = SortedQuery {
        ascending: ask.ascending,
        page_size: ask.size,
        min: ask.min,
        max: ask.max,
    };
    let page = ds.list(&query, ask.cursor.as_deref()).await?;
    let first_rank = c.query.number("rank", 1usize)?;
    let next_rank = (first_rank + page.entries.len()).to_string();
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let body = html! {
        div.crumbs { a href=(format!("/ui/u/{u}/ordered")) { "Universe " (u) " · ordered data stores" } }
        h1 { (store) @if ask.scope != "global" { " " span.badge { "scope " (ask.scope) } } }
        section.card {
            form.row #top-form method="get" action=(store_url(u, &store)) {
                label { "Scope" input type="text" name="scope" value=(ask.scope); }
                label { "Order" select name="order" {
                    option value="descending" selected[!ask.ascending] { "descending (top)" }
                    option value="ascending" selected[ask.ascending] { "ascending" }
                } }
                label { "Page size" input type="number" name="size" min="1" max="100" value=(ask.size); }
                label { "Minimum" input type="number" name="min" value=(opt(ask.min)); }
                label { "Maximum" input type="number" name="max" value=(opt(ask.max)); }
                button.primary #top-button type="submit" { "Show" }
            }
            table #top {
                thead { tr { th.num { "Rank" } th { "Key" } th.num { "Value" } } }
                tbody {
                    @if page.entries.is_empty() { tr.empty { td colspan="3" { "No entry in this range." } } }
                    @for (i, e) in page.entries.iter().enumerate() {
                        tr data-key=(e.key) { td.num { (first_rank + i) } td.mono { (e.key) } td.num.value { (e.value) } }
                    }
                }
            }
            @if let Some(next) = &page.cursor {
                div.pager { a #next-page href=(format!("{}&rank={next_rank}", ask.link(next))) { "Next page →" } }
            }
        }
    };
    Ok(layout::shell(&c, Nav::Ordered, &store, body))
}
