//! `[emulator]`: the control plane's settings (`/emulator/v1`).
//!
//! Owns: the section's shape and defaults. Invariants: with no setting the
//! controls follow the listen address (on for loopback only); the gate
//! itself (`http::Controls`) decides, with the API keys.

use serde::Deserialize;

/// `[emulator]`: who may use the emulator controls.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmulatorSection {
    /// `controls`: `true` turns the controls on on any listen address,
    /// `false` off everywhere; unset (the default), on when the server
    /// listens on loopback. They always need an API key.
    pub controls: Option<bool>,
}
