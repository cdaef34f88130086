//! The budgets control: turn Roblox's request budgets on or off for a
//! universe and read what is left (`/emulator/v1/universes/{u}/budgets`).
//!
//! Owns: [`Emulator::set_budgets`] and [`Emulator::budgets`]. Invariants:
//! one request each; nothing cached.

use hyper::Method;

use super::super::client::enc;
use super::{Emulator, RemoteError};
use crate::opencloud::emulator::{BudgetSettings, BudgetsView};

impl Emulator {
    /// Turns budgets on (`enabled`) or off for `universe`, with the
    /// experience's concurrent users (`None`: unchanged); the settings
    /// and what is left afterwards.
    pub async fn set_budgets(
        &self,
        universe: u64,
        enabled: bool,
        concurrent_users: Option<u64>,
    ) -> Result<BudgetsView, RemoteError> {
        let body = BudgetSettings {
            enabled,
            concurrent_users,
        };
        let body = serde_json::to_value(&body).unwrap_or_default();
        let path = format!("/emulator/v1/universes/{universe}/budgets");
        self.client().json(Method::PUT, &path, Some(&body)).await
    }

    /// `universe`'s settings and what is left: for game server `job`
    /// (`(job id, players)`) when given, else the experience's.
    pub async fn budgets(
        &self,
        universe: u64,
        job: Option<(&str, u64)>,
    ) -> Result<BudgetsView, RemoteError> {
        let mut path = format!("/emulator/v1/universes/{universe}/budgets");
        if let Some((id, players)) = job {
            path.push_str(&format!("?jobId={}&players={players}", enc(id)));
        }
        self.client().json(Method::GET, &path, None).await
    }
}
