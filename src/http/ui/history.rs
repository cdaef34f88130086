//! A profile's lock history on its page (placeholder until the lock
//! history lands).

use maud::{html, Markup};

use super::Ctx;

/// The lock history card of one profile.
pub(super) async fn section(_c: &Ctx, _u: u64, _store: &str, _scope: &str, _key: &str) -> Markup {
    html! { section.card #lock-history { h2 { "Lock history" } p.muted { "Not recorded by this server." } } }
}
