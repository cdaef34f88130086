//! `profilestore clock` and `profilestore clock advance 10m`: a running
//! server's clock, and moving it ahead.
//!
//! Owns: [`ClockCommand`], the duration syntax of `advance`
//! ([`parse_duration`]: `90s`, `10m`, `2h`, `30d`, `1h30m`; a bare number
//! is seconds); the server is found by `cli::server`. Invariants: the
//! clock lives in a server (nothing is on disk), so without one the
//! command fails saying how to start or name one; stdout carries one JSON
//! document, the clock after the command.

use std::time::Duration;

use clap::Subcommand;

use super::{CliError, ConnectionArgs};
use crate::config::Config;
use crate::remote::emulator::Emulator;

/// What to do with the clock (nothing: show it).
#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Move the server's clock ahead (time never moves backward): `90s`,
    /// `10m`, `2h`, `30d`, `1h30m`, or a number of seconds. Prints the
    /// clock after the move.
    Advance {
        /// How far.
        #[arg(value_parser = parse_duration, allow_hyphen_values = true)]
        by: Duration,
    },
}

/// Runs `clock` (no subcommand: show) or `clock advance BY`.
pub(super) async fn run(
    command: Option<ClockCommand>,
    args: &ConnectionArgs,
    config: &Config,
) -> Result<(), CliError> {
    let emulator = Emulator::new(super::server::client(
        args,
        config,
        "the clock belongs to a running profilestore server",
    )?);
    let state = match command {
        None => emulator.clock().await?,
        Some(ClockCommand::Advance { by }) => {
            let state = emulator.advance(by).await?;
            eprintln!(
                "moved the clock ahead by {} s ({} s in all)",
                by.as_secs_f64(),
                state.offset_seconds
            );
            state
        }
    };
    println!("{}", serde_json::to_string(&state).unwrap_or_default());
    Ok(())
}

/// A duration: one or more `<number><unit>` parts (`s`, `m`, `h`, `d`;
/// `1h30m`, `1.5h`), or a bare number of seconds. More than zero.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let shape = || {
        format!("`{text}` is not a duration: write e.g. 90s, 10m, 2h, 30d, 1h30m, or a number of seconds")
    };
    if text.is_empty() {
        return Err(shape());
    }
    let mut total = 0.0_f64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().map_err(|_| shape())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "" if digits == text.len() => 1.0,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3_600.0,
            "d" => 86_400.0,
            _ => return Err(shape()),
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    if !total.is_finite() || total <= 0.0 {
        return Err(format!(
            "`{text}` does not move the clock: time only moves forward, by more than zero"
        ));
    }
    if total > crate::clock::MAX_OFFSET.as_secs_f64() {
        return Err(format!(
            "`{text}` is too far: the clock moves at most {} days ahead in all",
            crate::clock::MAX_OFFSET.as_secs() / 86_400
        ));
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        let secs = |t: &str| parse_duration(t).expect(t).as_secs_f64();
        assert_eq!(secs("90s"), 90.0);
        assert_eq!(secs("10m"), 600.0);
        assert_eq!(secs("2h"), 7_200.0);
        assert_eq!(secs("30d"), 2_592_000.0);
        assert_eq!(secs("1h30m"), 5_400.0);
        assert_eq!(secs("1.5h"), 5_400.0);
        assert_eq!(secs("700"), 700.0);
        assert_eq!(secs("0.5"), 0.5);
        for bad in [
            "", "10x", "m", "1h30", "-5m", "0", "0s", "1..2s", "10 m", "1e9d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
