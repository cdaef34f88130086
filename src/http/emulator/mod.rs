//! The emulator's control plane over HTTP, `/emulator/v1/...`: what no
//! live experience has (a clock to move, faults on demand, Roblox's request
//! budgets, snapshots of the data).
//!
//! Owns: the one route table of the family, built from one module per
//! control (`clock`, `faults`, `budgets`, `snapshots`), each adding its
//! routes; and **the gate** ([`allowed`]), the one access rule of every
//! control. Invariants: paths are relative to `/emulator/v1` (routes that
//! concern one universe spell `/universes/{universe}` themselves); error
//! bodies have the v2 shape; a control request never leaves stored data
//! half changed; every control handler calls [`allowed`] first, before it
//! reads its body or changes anything.
//!
//! The gate ([`Controls`] on `AppState`):
//! - the controls are on by default when the server listens on loopback,
//!   on any other address only with an explicit setting (`[emulator]
//!   controls = true` in `config.toml`, `serve --emulator-controls`, or
//!   `PROFILESTORE_EMULATOR_CONTROLS=true`); `controls = false` turns them
//!   off on loopback too;
//! - they always need an API key: on a server started without one every
//!   control answers 403 saying to start `serve` with `--api-key` (with a
//!   key, authentication has already happened before routing);
//! - a refusal is a 403 `PERMISSION_DENIED` whose message says which
//!   setting turns the controls on.

pub(super) mod budgets;
pub(super) mod clock;
mod faults;
mod snapshots;

use std::net::SocketAddr;
use std::sync::LazyLock;

use super::error::{ApiError, Style};
use super::router::{Call, Table};

/// Every `/emulator/v1` route.
pub(super) static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let table = Table::new(Style::V2, "no such emulator control");
    let table = clock::routes(table);
    let table = faults::routes(table);
    let table = budgets::routes(table);
    snapshots::routes(table)
});

/// Who may use the control plane: what the gate (`allowed`, called first
/// by every control) decides on, besides the server's API keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Controls {
    /// The address the server listens on.
    pub listen: SocketAddr,
    /// `[emulator] controls` (or its flag and variable): `None` turns the
    /// controls on exactly when `listen` is a loopback address.
    pub setting: Option<bool>,
}

impl Controls {
    /// The controls of a server listening on `listen`, with `setting`.
    pub fn new(listen: SocketAddr, setting: Option<bool>) -> Self {
        Controls { listen, setting }
    }

    /// The gate's rule; `has_api_keys` is whether the server takes keys.
    pub fn check(&self, has_api_keys: bool) -> Result<(), ApiError> {
        const TURN_ON: &str = "`[emulator] controls = true` in config.toml, \
             `profilestore serve --emulator-controls`, or PROFILESTORE_EMULATOR_CONTROLS=true";
        match self.setting {
            Some(false) => {
                return Err(ApiError::forbidden(
                    "the emulator controls are turned off on this server (`[emulator] controls = false`, \
                     `--emulator-controls=false` or PROFILESTORE_EMULATOR_CONTROLS=false); \
                     restart it without that setting to use them",
                ))
            }
            None if !self.listen.ip().is_loopback() => {
                return Err(ApiError::forbidden(format!(
                    "the emulator controls are off on a server listening on {} (not loopback): anyone \
                     who reaches it could move its clock or change its data. Turn them on with {TURN_ON}",
                    self.listen
                )))
            }
            _ => {}
        }
        if !has_api_keys {
            return Err(ApiError::forbidden(
                "the emulator controls always need an API key, and this server takes none: start it \
                 with `profilestore serve --api-key KEY` (or PROFILESTORE_API_KEYS, or `[server] \
                 api_keys` in config.toml) and send the key as `x-api-key`",
            ));
        }
        Ok(())
    }
}

impl Default for Controls {
    /// A loopback server with no setting: controls on (with a key).
    fn default() -> Self {
        Controls::new(SocketAddr::from(([127, 0, 0, 1], 0)), None)
    }
}

/// The gate: every control's handler calls this first and returns its
/// error (a 403 saying what to change) before doing anything:
///
/// ```ignore
/// async fn list(c: Call) -> Reply {
///     super::allowed(&c)?;
///     ...
/// }
/// ```
pub(super) fn allowed(call: &Call) -> Result<(), ApiError> {
    let state = &call.state;
    state.controls.check(state.takes_keys())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(addr: &str, setting: Option<bool>) -> Controls {
        Controls::new(addr.parse().expect("address"), setting)
    }

    fn refusal(c: Controls, keys: bool) -> String {
        let e = c.check(keys).expect_err("refused");
        assert_eq!(e.status, hyper::StatusCode::FORBIDDEN);
        e.message
    }

    #[test]
    fn on_by_default_on_loopback_with_a_key() {
        assert!(at("127.0.0.1:8787", None).check(true).is_ok());
        assert!(at("[::1]:8787", None).check(true).is_ok());
        assert!(at("127.0.0.1:8787", Some(true)).check(true).is_ok());
    }

    #[test]
    fn elsewhere_only_when_turned_on() {
        let m = refusal(at("0.0.0.0:8787", None), true);
        assert!(
            m.contains("0.0.0.0:8787") && m.contains("controls = true"),
            "{m}"
        );
        let m = refusal(at("192.168.1.2:80", None), true);
        assert!(m.contains("--emulator-controls"), "{m}");
        assert!(at("0.0.0.0:8787", Some(true)).check(true).is_ok());
    }

    #[test]
    fn turned_off_even_on_loopback() {
        let m = refusal(at("127.0.0.1:8787", Some(false)), true);
        assert!(m.contains("turned off"), "{m}");
    }

    #[test]
    fn always_need_an_api_key() {
        for c in [at("127.0.0.1:1", None), at("0.0.0.0:1", Some(true))] {
            let m = refusal(c, false);
            assert!(m.contains("--api-key"), "{m}");
        }
    }
}
