//! The emulator's controls, `/ui/controls`: the clock (now, advance),
//! faults (list, add, clear), Roblox's request budgets (on/off, what is
//! left) and snapshots (save, restore, list).
//!
//! Owns: the page and its POST actions, on the same functions and types as
//! `/emulator/v1` (`http/emulator/`, `crate::faults`, `crate::budgets`,
//! `crate::snapshots`). Invariants: everything here passes the control
//! plane's gate (`Controls::check`, the same as `/emulator/v1`: on loopback
//! by default, always with an API key) and needs the `emulator`
//! permission; a refused action changes nothing and says why.

use maud::{html, Markup};

use super::super::emulator::{budgets, clock};
use super::super::error::ApiError;
use super::super::scopes::Permission;
use super::layout::{self, Flash, Nav};
use super::{handler, Ctx, Pages, Reply};
use crate::budgets::Settings;
use crate::opencloud::codes::DetailCode as D;
use crate::opencloud::emulator::{FaultMatch, FaultSpec};

/// Adds the page and its actions.
pub(super) fn routes(pages: Pages) -> Pages {
    pages
        .get("/controls", handler(page))
        .post("/controls/clock", handler(advance))
        .post("/controls/faults", handler(add_fault))
        .post("/controls/faults/clear", handler(clear_faults))
        .post("/controls/faults/remove", handler(remove_fault))
        .post("/controls/budgets", handler(set_budgets))
        .post("/controls/snapshots", handler(save_snapshot))
        .post("/controls/snapshots/restore", handler(restore_snapshot))
}

/// The gate and the permission, before anything.
fn gate(c: &Ctx) -> Result<(), ApiError> {
    c.state.controls.check(c.state.takes_keys())?;
    c.check(&Permission::Emulator)
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(D::Unknown, message)
}

fn back(flash: &Flash, universe: u64) -> Reply {
    Ok(layout::redirect_flash(
        &format!("/ui/controls?u={universe}"),
        flash,
    ))
}

async fn page(c: Ctx) -> Reply {
    gate(&c)?;
    let u = c.current_universe();
    let now = clock::now(&c.state).await?;
    let faults = c.state.faults.list();
    let view = budgets::view(&c.state, u, None);
    let snapshots = c.state.snapshots.list();
    let body = html! {
        h1 { "Emulator controls" }
        div.cols {
            section.card #clock {
                h2 { "Clock" }
                dl.facts {
                    dt { "Now" } dd.mono #clock-now { (now.now) }
                    dt { "Moved ahead" } dd { (format!("{:.0}", now.offset_seconds)) " s" }
                }
                p.muted { "Time only moves forward: sessions, leases, expiries and auto-saves follow at once." }
                (layout::post_form(&c, "/controls/clock", "Advance", "primary", html! {
                    input type="hidden" name="u" value=(u);
                    input type="number" name="seconds" min="0.001" step="any" value="60" aria-label="seconds" required;
                    " s"
                }))
            }
            section.card #budgets {
                h2 { "Request budgets · universe " (u) }
                p {
                    @if view.enabled { span.badge.ok { "on" } " for " (view.concurrent_users) " concurrent users" }
                    @else { span.badge { "off" } " (requests are never throttled)" }
                }
                (layout::post_form(&c, "/controls/budgets", if view.enabled { "Turn off" } else { "Turn on" }, "", html! {
                    input type="hidden" name="u" value=(u);
                    input type="hidden" name="enabled" value=(if view.enabled { "false" } else { "true" });
                    label { "users " input type="number" name="users" min="0" value=(view.concurrent_users); }
                }))
                @if view.enabled {
                    table { thead { tr { th { "Request type" } th.num { "Left" } } } tbody {
                        @for (name, left) in &view.experience { tr { td { (name) } td.num { (left) } } }
                    } }
                }
            }
        }
        section.card #faults {
            h2 { "Faults" }
            (faults_table(&c, &faults, u))
            h3 { "Add a fault" }
            (fault_form(&c, u))
        }
        section.card #snapshots {
            h2 { "Snapshots" }
            p.muted { "A snapshot keeps every store's data and the memory stores in the server's memory; restoring one puts them back whole." }
            table { thead { tr { th { "Id" } th { "Taken" } th.num { "Entries" } th.num { "Versions" } th.num { "Bytes" } th {} } } tbody {
                @if snapshots.is_empty() { tr.empty { td colspan="6" { "No snapshot yet." } } }
                @for s in &snapshots { tr {
                    td.mono { (s.id) } td { (layout::time(s.created_ms)) } td.num { (s.entries) }
                    td.num { (s.versions) } td.num { (s.bytes) }
                    td { (layout::post_form(&c, "/controls/snapshots/restore", "Restore", "small", html! {
                        input type="hidden" name="u" value=(u); input type="hidden" name="id" value=(s.id);
                    })) }
                } }
            } }
            (layout::post_form(&c, "/controls/snapshots", "Save snapshot", "primary", html! {
                input type="hidden" name="u" value=(u);
                input type="text" name="id" placeholder="snapshot id" aria-label="snapshot id" required;
            }))
        }
    };
    Ok(layout::shell(&c, Nav::Controls, "Controls", body))
}

fn faults_table(c: &Ctx, faults: &[crate::opencloud::emulator::FaultInfo], u: u64) -> Markup {
    html! {
        table { thead { tr { th { "Id" } th { "Effect" } th { "Matches" } th.num { "Fired" } th.num { "Left" } th {} } } tbody {
            @if faults.is_empty() { tr.empty { td colspan="6" { "No fault: every call behaves." } } }
            @for f in faults { tr {
                td.mono { (f.id) }
                td { (f.effect) @if let Some(ms) = f.latency_ms { " " (ms) " ms" } }
                td.mono { (serde_json::to_string(&f.matches).unwrap_or_default()) }
                td.num { (f.fired) }
                td.num { @match f.remaining { Some(n) => { (n) } None => { "∞" } } }
                td { (layout::post_form(c, "/controls/faults/remove", "Remove", "small", html! {
                    input type="hidden" name="u" value=(u); input type="hidden" name="id" value=(f.id);
                })) }
            } }
        } }
        @if !faults.is_empty() {
            div.actions { (layout::post_form(c, "/controls/faults/clear", "Clear all faults", "danger", html! { input type="hidden" name="u" value=(u); })) }
        }
    }
}

fn fault_form(c: &Ctx, u: u64) -> Markup {
    html! {
        form.row method="post" action="/ui/controls/faults" {
            (layout::csrf(c))
            input type="hidden" name="u" value=(u);
            label { "Effect" select name="effect" {
                option value="error" { "error" } option value="ambiguous" { "ambiguous" }
                option value="throttle" { "throttle" } option value="latency" { "latency" }
            } }
            label { "Universe" input type="number" name="universe" min="0" placeholder="any"; }
            label { "Store or topic" input type="text" name="data_store" placeholder="any"; }
            label { "Key" input type="text" name="key" placeholder="any"; }
            label { "Operations" input type="text" name="operations" placeholder="any (comma-separated)"; }
            label { "Times" input type="number" name="times" min="1" placeholder="∞"; }
            label { "Probability" input type="number" name="probability" min="0" max="1" step="any" placeholder="1"; }
            label { "Latency ms" input type="number" name="latency_ms" min="0"; }
            button.primary type="submit" { "Add fault" }
        }
    }
}

/// The universe a control form came from (for the way back).
fn from(c: &Ctx) -> u64 {
    c.form
        .get("u")
        .and_then(|u| u.parse().ok())
        .unwrap_or_else(|| c.current_universe())
}

async fn advance(c: Ctx) -> Reply {
    gate(&c)?;
    let seconds: f64 = c
        .form
        .require("seconds")?
        .trim()
        .parse()
        .map_err(|_| bad("`seconds` must be a number"))?;
    let by = clock::checked_seconds(seconds).map_err(bad)?;
    let now = clock::advance_by(&c.state, by).await?;
    back(
        &Flash::ok(format!(
            "The clock moved {seconds} s ahead: it is now {}.",
            now.now
        )),
        from(&c),
    )
}

/// An optional number field.
fn number<T: std::str::FromStr>(c: &Ctx, name: &str) -> Result<Option<T>, ApiError> {
    match c.form.get(name).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| bad(format!("`{name}` must be a number"))),
    }
}

async fn add_fault(c: Ctx) -> Reply {
    gate(&c)?;
    let text = |name: &str| {
        c.form
            .get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let spec = FaultSpec {
        matches: FaultMatch {
            universe: number(&c, "universe")?,
            data_store: text("data_store"),
            key: text("key"),
            operations: text("operations")
                .map(|o| {
                    o.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        },
        effect: c.form.require("effect")?.to_owned(),
        times: number(&c, "times")?,
        probability: number(&c, "probability")?,
        latency_ms: number(&c, "latency_ms")?,
    };
    let info = c
        .state
        .faults
        .add(spec)
        .map_err(|e| ApiError::fault_spec(&e))?;
    back(&Flash::ok(format!("Fault {} added.", info.id)), from(&c))
}

async fn clear_faults(c: Ctx) -> Reply {
    gate(&c)?;
    c.state.faults.clear();
    back(&Flash::ok("Every fault removed."), from(&c))
}

async fn remove_fault(c: Ctx) -> Reply {
    gate(&c)?;
    let id = c.form.require("id")?;
    let flash = if c.state.faults.remove(id) {
        Flash::ok(format!("Fault {id} removed."))
    } else {
        Flash::problem(format!("No fault {id} (it was removed already)."))
    };
    back(&flash, from(&c))
}

async fn set_budgets(c: Ctx) -> Reply {
    gate(&c)?;
    let u = from(&c);
    let enabled = c.form.require("enabled")? == "true";
    let before = c.state.budgets.settings(u);
    let users = number(&c, "users")?.unwrap_or(before.concurrent_users);
    c.state.budgets.set(
        u,
        Settings {
            enabled,
            concurrent_users: users,
        },
    );
    let what = if enabled {
        format!("on for {users} concurrent users")
    } else {
        "off".to_owned()
    };
    back(
        &Flash::ok(format!("Request budgets of universe {u} are {what}.")),
        u,
    )
}

async fn save_snapshot(c: Ctx) -> Reply {
    gate(&c)?;
    let info = c.state.snapshots.save(c.form.require("id")?.trim()).await?;
    back(
        &Flash::ok(format!(
            "Snapshot {} saved ({} entries).",
            info.id, info.entries
        )),
        from(&c),
    )
}

async fn restore_snapshot(c: Ctx) -> Reply {
    gate(&c)?;
    let info = c.state.snapshots.restore(c.form.require("id")?).await?;
    back(
        &Flash::ok(format!("Snapshot {} restored.", info.id)),
        from(&c),
    )
}
