//! The overview page, `/ui/`: what the server is and what it holds.
//!
//! Owns: the overview (storage backend and location, durability,
//! retention, universes, counts of stores, keys and live sessions, request
//! rates, uptime, version) and `/ui/universe` (the header's universe
//! picker). Invariants: counting is bounded ([`MAX_STORES`],
//! [`MAX_KEYS`]: a larger count shows as "N+"); counts of data the caller
//! may not list show as "—" (the same permission as listing the stores
//! through the API).

use hyper::Method;
use maud::{html, Markup};

use super::super::error::ApiError;
use super::super::scopes::Family;
use super::layout::{self, Nav};
use super::{handler, permission, Ctx, Pages, Reply};
use crate::datastore::{ListKeysOptions, ListStoresOptions, Retention};

/// At most this many data stores are counted.
const MAX_STORES: usize = 1000;
/// At most this many keys are counted (over every store).
const MAX_KEYS: usize = 10_000;

/// Adds the overview and the universe picker.
pub(super) fn routes(pages: Pages) -> Pages {
    pages
        .get("/", handler(overview))
        .get("/universe", handler(pick_universe))
}

/// The header's picker: `?u=N` to that universe's data stores.
async fn pick_universe(c: Ctx) -> Reply {
    let u: u64 = c.query.number("u", c.current_universe())?;
    Ok(layout::redirect(&format!("/ui/u/{u}/data-stores")))
}

/// A count, and whether it stopped at its bound.
struct Count(usize, bool);

impl Count {
    fn show(&self) -> String {
        if self.1 {
            format!("{}+", self.0)
        } else {
            self.0.to_string()
        }
    }
}

/// The data stores and keys of `universe` (live ones), bounded.
async fn count(c: &Ctx, universe: u64) -> Result<(Count, Count), ApiError> {
    let ds = &c.state.datastores;
    let mut names = Vec::new();
    let mut options = ListStoresOptions {
        page_size: 100,
        ..ListStoresOptions::default()
    };
    loop {
        let page = ds.list_data_stores_with(universe, &options).await?;
        names.extend(page.items.into_iter().map(|s| s.name));
        match page.cursor {
            Some(cur) if names.len() < MAX_STORES => options.cursor = Some(cur),
            _ => break,
        }
    }
    let stores = Count(names.len().min(MAX_STORES), names.len() >= MAX_STORES);
    let mut keys = 0usize;
    'stores: for name in names.iter().take(MAX_STORES) {
        let store = ds.data_store_all_scopes(universe, name)?;
        let mut options = ListKeysOptions {
            page_size: 1000,
            exclude_deleted: true,
            ..ListKeysOptions::default()
        };
        loop {
            let page = store.list_keys(&options).await?;
            keys += page.items.len();
            if keys >= MAX_KEYS {
                break 'stores;
            }
            match page.cursor {
                Some(cur) => options.cursor = Some(cur),
                None => break,
            }
        }
    }
    Ok((stores, Count(keys.min(MAX_KEYS), keys >= MAX_KEYS)))
}

async fn overview(c: Ctx) -> Reply {
    let state = &c.state;
    let about = state.dashboard.about();
    let u = c.current_universe();
    let may_list = c.allowed(&permission(
        Family::DataStoresV2,
        &Method::GET,
        "/data-stores",
        u,
        None,
    ));
    let counts = if may_list {
        Some(count(&c, u).await?)
    } else {
        None
    };
    let (servers, sessions) = state.sessions.live_counts();
    let rates = state.dashboard.monitor.rates();
    let mut universes = state.dashboard.monitor.universes();
    universes.push(about.universe);
    universes.sort_unstable();
    universes.dedup();
    let config = state.datastores.config();
    let retention = match config.retention {
        Retention::PerWrite => "per write (every write is a version)",
        Retention::PerUtcHour => "per UTC hour (one version per key and hour)",
    };
    let expiry_days = config.version_expiry.as_secs_f64() / 86_400.0;
    let dash = || "—".to_owned();
    let body = html! {
        h1 { "Overview" }
        div.grid {
            (stat("Data stores", &counts.as_ref().map_or_else(dash, |c| c.0.show()), &format!("in universe {u}")))
            (stat("Keys", &counts.as_ref().map_or_else(dash, |c| c.1.show()), "live keys, every scope"))
            (stat("Live sessions", &sessions.to_string(), &format!("on {servers} game server(s) of the session API")))
            (stat("Requests / s", &format!("{:.1}", rates.per_second_10s), &format!("last 10 s; {:.2} over 60 s; {} in all", rates.per_second_60s, rates.total)))
        }
        div.cols {
            section.card {
                h2 { "Server" }
                dl.facts {
                    dt { "Version" } dd { "profilestore " (env!("CARGO_PKG_VERSION")) }
                    dt { "Uptime" } dd { (layout::duration(state.dashboard.monitor.uptime())) }
                    dt { "Storage" } dd { code { (about.storage) } }
                    dt { "Location" } dd { code { (about.location) } }
                    dt { "Durability" } dd { code { (about.durability) } }
                    dt { "Retention" } dd { (retention) }
                    dt { "Versions kept" } dd { (format!("{expiry_days:.0}")) " days" }
                    dt { "Server time" } dd { (layout::time(state.clock.now_ms())) }
                    dt { "API keys" } dd { (keys_text(&c)) }
                    dt { "Controls" } dd { (controls_text(&c)) }
                    @if let Some(cluster) = &state.cluster {
                        dt { "Cluster node" } dd { code { (cluster.node_id()) } }
                    }
                }
            }
            section.card {
                h2 { "Universes" }
                p.muted { "The default universe and those requests named since the server started." }
                ul {
                    @for id in &universes {
                        li { a href=(format!("/ui/u/{id}/data-stores")) { "Universe " (id) } }
                    }
                }
                p { a href="/ui/requests" { "Watch requests live →" } }
            }
        }
    };
    Ok(layout::shell(&c, Nav::Overview, "Overview", body))
}

fn stat(title: &str, value: &str, note: &str) -> Markup {
    html! {
        section.card {
            h3 { (title) }
            div.stat { (value) }
            div.muted { (note) }
        }
    }
}

fn keys_text(c: &Ctx) -> String {
    let s = &c.state;
    match (s.api_keys.len(), s.scoped_keys.len()) {
        (0, 0) => "none (loopback only; the dashboard opens without signing in)".to_owned(),
        (plain, scoped) => format!("{plain} plain, {scoped} scoped"),
    }
}

fn controls_text(c: &Ctx) -> String {
    match c.state.controls.check(c.state.takes_keys()) {
        Ok(()) => "on".to_owned(),
        Err(e) => format!("off: {}", e.message),
    }
}
