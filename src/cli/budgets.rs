//! `profilestore budgets [on [--users N] | off]`: Roblox's request budgets
//! of one universe on a running server (the emulator's budgets control).
//!
//! Owns: [`BudgetsArgs`]. Invariants: budgets live in a server's memory,
//! so this needs `--url` (or a server serving the data folder); stdout
//! carries one JSON document, the universe's settings and what is left.

use clap::{Args, Subcommand};

use super::{CliError, ConnectionArgs};
use crate::config::Config;
use crate::remote::Emulator;

/// Show, or turn on or off, the budgets of the universe (`--universe`).
#[derive(Debug, Args)]
pub struct BudgetsArgs {
    /// Show the budget left for this game server (its JobId).
    #[arg(long)]
    job: Option<String>,
    /// Players in that game server.
    #[arg(long, default_value_t = 0)]
    players: u64,
    /// Turn budgets on or off (none: show them).
    #[command(subcommand)]
    command: Option<BudgetsCommand>,
}

/// What to change.
#[derive(Debug, Subcommand)]
pub(super) enum BudgetsCommand {
    /// Budget the universe's requests as Roblox does (300 writes a minute
    /// for Open Cloud at 0 users; 60 + 40 × players per game server).
    On {
        /// The experience's concurrent users (default: unchanged, at first 0).
        #[arg(long)]
        users: Option<u64>,
    },
    /// Stop budgeting the universe's requests.
    Off,
}

/// Runs `profilestore budgets ...`.
pub(super) async fn run(
    args: BudgetsArgs,
    connection: &ConnectionArgs,
    config: &Config,
) -> Result<(), CliError> {
    let emulator = Emulator::new(super::server::client(
        connection,
        config,
        "budgets live in the memory of a running profilestore server",
    )?);
    let universe = config.server.universe;
    let view = match args.command {
        Some(BudgetsCommand::On { users }) => emulator.set_budgets(universe, true, users).await?,
        Some(BudgetsCommand::Off) => emulator.set_budgets(universe, false, None).await?,
        None => {
            let job = args.job.as_deref().map(|j| (j, args.players));
            emulator.budgets(universe, job).await?
        }
    };
    println!("{}", serde_json::to_string(&view).unwrap_or_default());
    Ok(())
}
