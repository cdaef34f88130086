//! Memory stores: `/ui/u/{universe}/memory` (every sorted map, queue and
//! hash map holding an item, with the universe's usage and quota), and one
//! structure each: `.../memory/sorted-maps/{name}` (a range: direction,
//! count, paged after the last item shown), `.../memory/queues/{name}`
//! (size with and without invisible items, a peek at the first items) and
//! `.../memory/hash-maps/{name}` (its items, paged).
//!
//! Owns: these read-only pages. Invariants: every page needs what reading
//! memory stores through Open Cloud needs (`memory-store:read`), checked
//! before anything is read; nothing here changes a structure (a queue is
//! peeked, never read: its items stay visible); Roblox's count limits
//! apply (a count out of range is a 400 page); every view is a link.

use hyper::Method;
use maud::{html, Markup};
use serde_json::Value;

use super::super::error::ApiError;
use super::super::scopes::Family;
use super::layout::{self, Nav};
use super::{handler, Ctx, Pages, Reply};
use crate::memorystore::{Bound, Direction, SortKey, StructureKind};

/// Adds the index and the three structure pages.
pub(super) fn routes(pages: Pages) -> Pages {
    pages
        .get("/u/{universe}/memory", handler(index))
        .get("/u/{universe}/memory/sorted-maps/{name}", handler(sorted))
        .get("/u/{universe}/memory/queues/{name}", handler(queue))
        .get("/u/{universe}/memory/hash-maps/{name}", handler(hash))
}

fn segment(kind: StructureKind) -> &'static str {
    match kind {
        StructureKind::SortedMap => "sorted-maps",
        StructureKind::Queue => "queues",
        StructureKind::HashMap => "hash-maps",
    }
}

fn label(kind: StructureKind) -> &'static str {
    match kind {
        StructureKind::SortedMap => "sorted map",
        StructureKind::Queue => "queue",
        StructureKind::HashMap => "hash map",
    }
}

/// The URL of a structure's page.
pub(super) fn structure_url(universe: u64, kind: StructureKind, name: &str) -> String {
    format!(
        "/ui/u/{universe}/memory/{}/{}",
        segment(kind),
        layout::enc(name)
    )
}

fn may_read(c: &Ctx, u: u64) -> Result<(), ApiError> {
    c.need(Family::Memory, Method::GET, "/memory-store", u, None)
}

fn crumbs(u: u64) -> Markup {
    html! { div.crumbs { a href=(format!("/ui/u/{u}/memory")) { "Universe " (u) " · memory stores" } } }
}

fn json(v: &Value) -> String {
    v.to_string()
}

fn expires(ms: i64) -> String {
    layout::time(ms)
}

async fn index(c: Ctx) -> Reply {
    let u = c.universe()?;
    may_read(&c, u)?;
    let memory = &c.state.memory;
    let structures = memory.structures(u).await?;
    let usage = memory.current_usage(u).await?;
    let body = html! {
        h1 { "Memory stores" }
        section.card {
            @if let Some((used, quota)) = usage {
                p { "Universe " (u) " uses " strong #memory-usage { (used) " bytes" } " of its " (quota) "-byte quota." }
            }
            @match &structures {
                None => { p.muted { "This server's memory stores live on another server; it cannot list them." } }
                Some(all) => {
                    table #structures {
                        thead { tr { th { "Name" } th { "Kind" } th.num { "Items" } th.num { "Bytes" } } }
                        tbody {
                            @if all.is_empty() { tr.empty { td colspan="4" { "No structure holds an item." } } }
                            @for s in all {
                                tr {
                                    td { a href=(structure_url(u, s.kind, &s.name)) { (s.name) } }
                                    td { (label(s.kind)) } td.num { (s.items) } td.num { (s.bytes) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::shell(&c, Nav::Memory, "Memory stores", body))
}

fn sort_key_text(k: Option<&SortKey>) -> String {
    match k {
        None => String::new(),
        Some(SortKey::Number(n)) => n.to_string(),
        Some(SortKey::String(s)) => s.clone(),
    }
}

/// The exclusive lower (ascending) or upper (descending) bound the page
/// starts after: `after` (a key), `after_sort` and `after_type` (`n`/`s`).
fn after_bound(c: &Ctx) -> Result<Option<Bound>, ApiError> {
    let q = &c.query;
    let Some(key) = q.get("after").filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    let sort = q.get("after_sort").unwrap_or("");
    let sort_key = match q.get("after_type") {
        Some("n") => Some(SortKey::Number(q.number("after_sort", 0f64)?)),
        Some("s") => Some(SortKey::String(sort.to_owned())),
        _ => None,
    };
    Ok(Some(Bound {
        key: Some(key.to_owned()),
        sort_key,
    }))
}

async fn sorted(c: Ctx) -> Reply {
    let u = c.universe()?;
    may_read(&c, u)?;
    let name = c.param("name").to_owned();
    let descending = c.query.get("direction") == Some("descending");
    let count = c.query.number("count", 50usize)?;
    let map = c.state.memory.sorted_map(u, &name);
    let after = after_bound(&c)?;
    let (lower, upper) = if descending {
        (None, after)
    } else {
        (after, None)
    };
    let direction = if descending {
        Direction::Descending
    } else {
        Direction::Ascending
    };
    let items = map.get_range(direction, count, lower, upper).await?;
    let size = map.size().await?;
    let dir = if descending { "descending" } else { "" };
    let next = items.last().filter(|_| items.len() == count).map(|last| {
        let t = match &last.sort_key {
            None => "",
            Some(SortKey::Number(_)) => "n",
            Some(SortKey::String(_)) => "s",
        };
        let sort = sort_key_text(last.sort_key.as_ref());
        let count = count.to_string();
        layout::query(&[
            ("direction", dir),
            ("count", &count),
            ("after", &last.key),
            ("after_sort", &sort),
            ("after_type", t),
        ])
    });
    let body = html! {
        (crumbs(u))
        h1 { (name) " " span.badge { "sorted map" } }
        section.card {
            p { strong #sorted-size { (size) } " live items." }
            form.row method="get" {
                label { "Direction" select name="direction" {
                    option value="ascending" selected[!descending] { "ascending" }
                    option value="descending" selected[descending] { "descending" }
                } }
                label { "Count" input type="number" name="count" min="1" max="200" value=(count); }
                button.primary type="submit" { "Show" }
            }
            table #sorted-items {
                thead { tr { th { "Key" } th { "Sort key" } th { "Value" } th { "Expires" } } }
                tbody {
                    @if items.is_empty() { tr.empty { td colspan="4" { "No item in this range." } } }
                    @for i in &items {
                        tr { td.mono { (i.key) } td { (sort_key_text(i.sort_key.as_ref())) } td { code { (json(&i.value)) } } td { (expires(i.expire_ms)) } }
                    }
                }
            }
            @if let Some(q) = next { div.pager { a href=(q) { "Next items →" } } }
        }
    };
    Ok(layout::shell(&c, Nav::Memory, &name, body))
}

async fn queue(c: Ctx) -> Reply {
    let u = c.universe()?;
    may_read(&c, u)?;
    let name = c.param("name").to_owned();
    let count = c.query.number("count", 50usize)?;
    let q = c.state.memory.queue(u, &name);
    let size = q.size(false).await?;
    let visible = q.size(true).await?;
    let items = q.peek(count).await?;
    let body = html! {
        (crumbs(u))
        h1 { (name) " " span.badge { "queue" } }
        section.card {
            p { strong #queue-size { (size) } " items, " (visible) " visible (the others were read and are not removed yet)." }
            form.row method="get" {
                label { "Peek at" input type="number" name="count" min="1" max="200" value=(count); }
                button.primary type="submit" { "Peek" }
            }
            table #queue-items {
                thead { tr { th.num { "#" } th { "Value" } th.num { "Priority" } th { "Expires" } th { "Invisible until" } } }
                tbody {
                    @if items.is_empty() { tr.empty { td colspan="5" { "The queue is empty." } } }
                    @for (n, i) in items.iter().enumerate() {
                        tr {
                            td.num { (n + 1) } td { code { (json(&i.value)) } } td.num { (i.priority) } td { (expires(i.expire_ms)) }
                            td { @match i.invisible_until { Some(ms) => { (layout::time(ms)) } None => { span.muted { "visible" } } } }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::shell(&c, Nav::Memory, &name, body))
}

async fn hash(c: Ctx) -> Reply {
    let u = c.universe()?;
    may_read(&c, u)?;
    let name = c.param("name").to_owned();
    let count = c.query.number("count", 50usize)?;
    let cursor = c.query.get("cursor").filter(|s| !s.is_empty());
    let page = c
        .state
        .memory
        .hash_map(u, &name)
        .list_items(count, cursor)
        .await?;
    let count_text = count.to_string();
    let body = html! {
        (crumbs(u))
        h1 { (name) " " span.badge { "hash map" } }
        section.card {
            table #hash-items {
                thead { tr { th { "Key" } th { "Value" } } }
                tbody {
                    @if page.items.is_empty() { tr.empty { td colspan="2" { "No item." } } }
                    @for (k, v) in &page.items { tr { td.mono { (k) } td { code { (json(v)) } } } }
                }
            }
            @if let Some(next) = &page.cursor {
                div.pager { a href=(layout::query(&[("count", &count_text), ("cursor", next)])) { "Next page →" } }
            }
        }
    };
    Ok(layout::shell(&c, Nav::Memory, &name, body))
}
