//! Data stores and their keys: `/ui/u/{universe}/data-stores` (prefix
//! search, deleted stores, paging) and `/ui/u/{universe}/data-stores/{store}`
//! (its keys: prefix search, one scope or all, deleted keys, paging).
//!
//! Owns: both listings and the "open a store by name" form. Invariants:
//! each listing needs what the equivalent Open Cloud v2 listing needs
//! (`GET /data-stores`: every store; `GET /data-stores/{store}/entries`:
//! that store), checked before anything is read; a caller who may not list
//! every store can still open one by name; every listing is one page with
//! a link to the next (its cursor in the URL), so every view is a link.

use hyper::Method;
use maud::{html, Markup};

use super::super::scopes::Family;
use super::layout::{self, Nav};
use super::{handler, permission, Ctx, Pages, Reply};
use crate::datastore::{ListKeysOptions, ListStoresOptions, StoreState};

/// Rows per page.
const PAGE: usize = 50;

/// Adds the two listings and the open-by-name redirect.
pub(super) fn routes(pages: Pages) -> Pages {
    pages
        .get("/u/{universe}/data-stores", handler(list_stores))
        .get("/u/{universe}/open-store", handler(open_store))
        .get("/u/{universe}/data-stores/{store}", handler(list_keys))
}

/// The URL of a store's keys.
pub(super) fn store_url(universe: u64, store: &str) -> String {
    format!("/ui/u/{universe}/data-stores/{}", layout::enc(store))
}

/// The URL of an entry of `store` in `scope`.
pub(super) fn entry_url(universe: u64, store: &str, scope: &str, key: &str) -> String {
    let scope = if scope == "global" { "" } else { scope };
    format!(
        "{}/entries/{}{}",
        store_url(universe, store),
        layout::enc(key),
        layout::query(&[("scope", scope)])
    )
}

/// The breadcrumbs above a store's pages.
pub(super) fn crumbs(universe: u64, store: Option<&str>) -> Markup {
    html! {
        div.crumbs {
            a href=(format!("/ui/u/{universe}/data-stores")) { "Universe " (universe) " · data stores" }
            @if let Some(s) = store { " / " a href=(store_url(universe, s)) { (s) } }
        }
    }
}

fn open_form(universe: u64) -> Markup {
    html! {
        form.row method="get" action=(format!("/ui/u/{universe}/open-store")) {
            label { "Open a data store by name" input type="text" name="store" required; }
            button type="submit" { "Open" }
        }
    }
}

async fn open_store(c: Ctx) -> Reply {
    let u = c.universe()?;
    let name = c.query.get("store").unwrap_or("").trim();
    Ok(layout::redirect(&store_url(u, name)))
}

async fn list_stores(c: Ctx) -> Reply {
    let u = c.universe()?;
    let q = &c.query;
    let prefix = q.get("prefix").unwrap_or("").to_owned();
    let deleted = q.flag("deleted")?;
    let may_list = c.allowed(&permission(
        Family::DataStoresV2,
        &Method::GET,
        "/data-stores",
        u,
        None,
    ));
    let page = if may_list {
        let options = ListStoresOptions {
            prefix: prefix.clone(),
            page_size: PAGE,
            cursor: q.get("cursor").filter(|c| !c.is_empty()).map(str::to_owned),
            show_deleted: deleted,
        };
        Some(
            c.state
                .datastores
                .list_data_stores_with(u, &options)
                .await?,
        )
    } else {
        None
    };
    let flag = if deleted { "1" } else { "" };
    let body = html! {
        (crumbs(u, None))
        h1 { "Data stores" }
        section.card {
            form.row method="get" {
                label { "Name prefix" input type="search" name="prefix" value=(prefix); }
                label.check { input type="checkbox" name="deleted" value="1" checked[deleted]; " include deleted stores" }
                button.primary type="submit" { "Search" }
            }
            @if let Some(page) = &page {
                table #stores {
                    thead { tr { th { "Name" } th { "Created" } th { "State" } } }
                    tbody {
                        @if page.items.is_empty() { tr.empty { td colspan="3" { "No data store holds an entry yet." } } }
                        @for s in &page.items {
                            tr class=(if s.state == StoreState::Deleted { "deleted" } else { "" }) {
                                td { a href=(store_url(u, &s.name)) { (s.name) } }
                                td { (layout::time(s.created_ms)) }
                                td {
                                    @match s.expire_ms {
                                        Some(ms) => { span.badge.bad { "deleted" } " purged " (layout::time(ms)) }
                                        None => { span.badge.ok { "active" } }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(next) = &page.cursor {
                    div.pager { a href=(layout::query(&[("prefix", &prefix), ("deleted", flag), ("cursor", next)])) { "Next page →" } }
                }
            } @else {
                p.muted { "Your key may not list every data store of this universe; open one by name." }
            }
            (open_form(u))
        }
    };
    Ok(layout::shell(&c, Nav::DataStores, "Data stores", body))
}

async fn list_keys(c: Ctx) -> Reply {
    let u = c.universe()?;
    let store = c.param("store").to_owned();
    let q = &c.query;
    let rest = format!("/data-stores/{store}/entries");
    c.need(Family::DataStoresV2, Method::GET, &rest, u, Some(&store))?;
    let all = q.flag("all")?;
    let deleted = q.flag("deleted")?;
    let scope = q.get("scope").filter(|s| !s.is_empty()).unwrap_or("global");
    let prefix = q.get("prefix").unwrap_or("").to_owned();
    let ds = if all {
        c.state.datastores.data_store_all_scopes(u, &store)?
    } else {
        c.state.datastores.data_store(u, &store, scope)?
    };
    let options = ListKeysOptions {
        prefix: prefix.clone(),
        page_size: PAGE,
        cursor: q.get("cursor").filter(|c| !c.is_empty()).map(str::to_owned),
        exclude_deleted: !deleted,
    };
    let page = ds.list_keys(&options).await?;
    let (all_flag, deleted_flag) = (if all { "1" } else { "" }, if deleted { "1" } else { "" });
    let body = html! {
        (crumbs(u, Some(&store)))
        h1 { (store) }
        section.card {
            form.row method="get" {
                label { "Key prefix" input type="search" name="prefix" value=(prefix) placeholder=(if all { "scope/key…" } else { "key…" }); }
                label { "Scope" input type="text" name="scope" value=(scope); }
                label.check { input type="checkbox" name="all" value="1" checked[all]; " every scope" }
                label.check { input type="checkbox" name="deleted" value="1" checked[deleted]; " deleted keys" }
                button.primary type="submit" { "Search" }
            }
            table #keys {
                thead { tr { th { "Key" } th { "Scope" } } }
                tbody {
                    @if page.items.is_empty() { tr.empty { td colspan="2" { "No key matches." } } }
                    @for k in &page.items {
                        tr {
                            td { a href=(entry_url(u, &store, &k.scope, &k.key)) { (k.key) } }
                            td { (k.scope) }
                        }
                    }
                }
            }
            @if let Some(next) = &page.cursor {
                div.pager {
                    a href=(layout::query(&[("prefix", &prefix), ("scope", scope), ("all", all_flag), ("deleted", deleted_flag), ("cursor", next)])) { "Next page →" }
                }
            }
        }
    };
    Ok(layout::shell(&c, Nav::DataStores, &store, body))
}
